"""A folder of good and bad MIDI files for the scan, cache and dataset tests."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import mido
import pretty_midi
import pytest

# what the scan must make of the messy folder (with MAX_BYTES and MAX_STEPS below)
MAX_BYTES = 5_000
MAX_STEPS = 64
EXPECTED_USED = {"good.mid", "upper.MIDI", "sub/deeper.midi", "long.mid"}
EXPECTED_REASONS = {
    "drums.mid": "drums only",
    "violin.mid": "no melodic program",
    "short.mid": "no 4/4 section",  # under magenta; see REASONS_BY_EXTRACTION
    "empty.mid": "empty file",
    "text.mid": "not a MIDI file",
    "truncated.mid": "truncated",
    "zero_tempo.mid": "bad tempo",
    "zero_ticks.mid": "bad ticks per beat",
    "huge.mid": "too large",
}

# short.mid (a short note in 3/4) under each extraction
REASONS_BY_EXTRACTION = {
    "magenta": {"short.mid": "no 4/4 section"},
    "any_meter": {"short.mid": "no melody of a bar or more in 21..108"},
}

TUNE = [(60, 0, 4), (62, 4, 8), (64, 8, 12), (65, 12, 16), (67, 16, 24), (65, 24, 32)]


def write_raw_midi(path: Path, messages, ticks_per_beat: int = 480) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    mido.MidiFile(ticks_per_beat=ticks_per_beat,
                  tracks=[mido.MidiTrack(list(messages))]).save(path)
    return path


class MessyFolder(NamedTuple):
    """The folder and what a scan with ``max_bytes`` and ``max_steps`` must find in it."""

    root: Path
    used: set
    reasons: dict
    max_bytes: int = MAX_BYTES
    max_steps: int = MAX_STEPS
    tune: tuple = tuple(TUNE)

    def reasons_for(self, extraction: str) -> dict:
        """The skip reasons a scan with ``extraction`` must give."""
        return {**self.reasons, **REASONS_BY_EXTRACTION[extraction]}


@pytest.fixture
def messy(tmp_path, write_melody_midi) -> MessyFolder:
    """4 usable files (one longer than MAX_STEPS), 3 without melody, 6 unreadable, 1 .txt."""
    root = tmp_path / "messy"
    write_melody_midi(root / "good.mid", TUNE)
    write_melody_midi(root / "upper.MIDI", [(p + 2, s, e) for p, s, e in TUNE])
    write_melody_midi(root / "sub" / "deeper.midi", [(p - 5, s, e) for p, s, e in TUNE])
    write_melody_midi(root / "long.mid", [(60 + i, 16 * i, 16 * i + 8) for i in range(8)])
    write_melody_midi(root / "drums.mid", TUNE, is_drum=True)
    write_melody_midi(root / "violin.mid", TUNE, program=40)
    short = write_melody_midi(root / "short.mid", [(60, 0, 4)])
    midi = pretty_midi.PrettyMIDI(str(short))
    midi.time_signature_changes = [pretty_midi.TimeSignature(3, 4, 0.0)]
    midi.write(str(short))
    (root / "empty.mid").write_bytes(b"")
    (root / "text.mid").write_text("a text file renamed .mid\n")
    good = (root / "good.mid").read_bytes()
    (root / "truncated.mid").write_bytes(good[: len(good) // 2])
    note = [mido.Message("note_on", note=60, velocity=80, time=0),
            mido.Message("note_off", note=60, velocity=0, time=1920)]
    write_raw_midi(root / "zero_tempo.mid", [mido.MetaMessage("set_tempo", tempo=0)] + note)
    write_raw_midi(root / "zero_ticks.mid", note, ticks_per_beat=0)
    write_raw_midi(root / "huge.mid", [mido.MetaMessage("text", text="x" * 2 * MAX_BYTES)] + note)
    (root / "notes.txt").write_text("not a MIDI file name: ignored\n")
    return MessyFolder(root, set(EXPECTED_USED), dict(EXPECTED_REASONS))
