# Two commands: `make demo` and `make test`. Both set themselves up on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CORPUS := data/folk

.PHONY: install demo test corpus lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade "pip>=23" -c constraints.txt
	$(PY) -m pip install -c constraints.txt torch==2.13.0
	$(PY) -m pip install -c constraints.txt -e ".[dev]"
	touch $(STAMP)

corpus: $(STAMP)
	$(PY) -m symusic.data.corpus --out $(CORPUS)

demo: corpus
	$(PY) -m symusic.demo

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check symusic tests benchmarks

clean:
	rm -rf $(VENV) runs
