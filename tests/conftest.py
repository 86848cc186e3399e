"""Shared fixtures: a small real folk corpus and a helper that writes melody MIDI files.

* ``folk_dirs`` (session): ~40 tunes of the built-in corpus (``symusic.data.corpus``),
  as ``FolkDirs(root, train, eval)`` paths; both splits hold 2-bar and 8-bar windows.
  The files are kept in pytest's cache folder (keyed by the corpus code and the music21
  version), so only the first session pays the few seconds it takes to build them.
* ``write_melody_midi(path, notes, ...)``: writes ``notes`` = ``[(pitch, start_step,
  end_step), ...]`` (16th-note steps) as a one-instrument MIDI file and returns the path.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

import pretty_midi
import pytest

FOLK_TUNES = 40


class FolkDirs(NamedTuple):
    """Where the test corpus lies: ``root`` holds ``train/``, ``eval/`` and ``manifest.json``."""

    root: Path
    train: Path
    eval: Path


def write_melody_midi_file(path, notes, tempo: float = 120.0, program: int = 0,
                           is_drum: bool = False, resolution: int = 480,
                           velocity: int = 80) -> Path:
    """Write ``[(pitch, start_step, end_step), ...]`` as a one-instrument MIDI file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seconds_per_step = 60.0 / tempo / 4
    midi = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=tempo)
    instrument = pretty_midi.Instrument(program=program, is_drum=is_drum)
    for pitch, start, end in notes:
        instrument.notes.append(pretty_midi.Note(velocity, pitch, start * seconds_per_step,
                                                 end * seconds_per_step))
    midi.instruments.append(instrument)
    midi.write(str(path))
    return path


@pytest.fixture
def write_melody_midi():
    """The :func:`write_melody_midi_file` helper: ``write_melody_midi(path, notes, **options)``."""
    return write_melody_midi_file


@pytest.fixture(scope="session")
def folk_dirs(request, tmp_path_factory) -> FolkDirs:
    """About 40 real tunes of the built-in corpus, split into ``train/`` and ``eval/``."""
    import music21

    from symusic.data import corpus

    code = Path(corpus.__file__).read_bytes() + music21.__version__.encode()
    name = f"symusic-folk{FOLK_TUNES}-{hashlib.sha1(code).hexdigest()[:10]}"
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    root = Path(cache.mkdir(name)) if cache is not None else tmp_path_factory.mktemp(name)
    corpus.build_corpus(root, limit=FOLK_TUNES, workers=1, progress=False)
    return FolkDirs(root, root / "train", root / "eval")
