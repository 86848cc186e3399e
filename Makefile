# Two commands: `make demo` and `make test`. Both set themselves up on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CORPUS := data/folk

.PHONY: install demo test corpus lint bench clean system-packages magentajs

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@echo "== install: .venv with torch (CPU) and the other dependencies, first run only =="
	@echo "   (about 1-2 min when pip's cache holds the wheels; torch is a ~200 MB download otherwise)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade "pip>=23" -c constraints.txt
	$(PY) -m pip install -c constraints.txt torch==2.13.0
	$(PY) -m pip install -c constraints.txt -e ".[dev]"
	# Magenta's own melody code for the parity tests, without its audio/notebook dependencies
	$(PY) -m pip install -c constraints.txt --no-deps note-seq==0.0.5
	touch $(STAMP)

# Unpacks the folk corpus that ships with the package (seconds); --rebuild builds it from music21.
corpus: $(STAMP)
	$(PY) -m symusic.data.corpus --out $(CORPUS)

# Phases after the install: corpus, training, samples (see symusic/demo.py); each says how long.
demo: $(STAMP)
	$(PY) -m symusic.demo

test: $(STAMP) system-packages magentajs
	$(PY) -m pytest -q

# magenta.js itself for the parity tests (tests/magenta/): npm @magenta/music 1.23.1 in a cache
# outside the clone, once (about 260 MB, 20 s on a fast link); the tests skip, saying why,
# when Node or npm is missing or the registry cannot be reached.
MAGENTAJS ?= $(or $(SYMUSIC_MAGENTAJS),$(HOME)/.cache/symusic-magentajs)
magentajs:
	@test -f $(MAGENTAJS)/node_modules/@magenta/music/node/music_vae.js || { \
	  command -v npm >/dev/null && mkdir -p $(MAGENTAJS) && \
	  timeout 300 npm install --prefix $(MAGENTAJS) --no-audit --no-fund --ignore-scripts \
	    --fetch-retries=1 --fetch-timeout=30000 @magenta/music@1.23.1 >/dev/null; } || \
	  echo "note: could not install @magenta/music 1.23.1; the magenta.js parity tests will be skipped"

# Debian packages some tests use: Chromium for the studio's browser test (never
# `playwright install`: it downloads), FluidSynth and a GM soundfont for `--audio`. Tests that
# need them skip with a reason when they are missing and cannot be installed.
SYSTEM_PACKAGES := chromium fluidsynth fluid-soundfont-gm
system-packages:
	@test -x /usr/bin/chromium -a -x /usr/bin/fluidsynth || { command -v apt-get >/dev/null && \
	  [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; } || \
	  echo "note: could not install $(SYSTEM_PACKAGES); the tests that need them will be skipped"

lint: $(STAMP)
	$(VENV)/bin/ruff check symusic tests benchmarks

clean:
	rm -rf $(VENV) runs
