"""The melody token vocabulary, as Magenta's MusicVAE one-hot melody encoding.

A melody is a sequence of 16th-note steps (4 steps per quarter note, 16 per bar).
Each step holds one token:

* ``NO_EVENT`` (0): nothing new happens; the previous note or rest goes on;
* ``NOTE_OFF`` (1): the sounding note stops; silence follows;
* ``2 .. 89``: a note onset of MIDI pitch ``token - 2 + MIN_PITCH`` (21..108, the piano range).
"""

from __future__ import annotations

import numpy as np

NO_EVENT = 0
NOTE_OFF = 1
MIN_PITCH = 21
MAX_PITCH = 108
FIRST_PITCH_TOKEN = 2
NUM_CLASSES = FIRST_PITCH_TOKEN + MAX_PITCH - MIN_PITCH + 1  # 90

STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 4 * STEPS_PER_QUARTER  # a bar is always four quarter notes


def pitch_to_token(pitch: int) -> int:
    """Token id of a note onset at MIDI ``pitch`` (21..108)."""
    if not MIN_PITCH <= pitch <= MAX_PITCH:
        raise ValueError(f"pitch {pitch} is outside {MIN_PITCH}..{MAX_PITCH}")
    return pitch - MIN_PITCH + FIRST_PITCH_TOKEN


def token_to_pitch(token: int) -> int:
    """MIDI pitch of an onset token (2..89)."""
    if not FIRST_PITCH_TOKEN <= token < NUM_CLASSES:
        allowed = f"{FIRST_PITCH_TOKEN}..{NUM_CLASSES - 1}"
        raise ValueError(f"token {token} is not a note onset (allowed {allowed})")
    return token - FIRST_PITCH_TOKEN + MIN_PITCH


def onset_tokens_to_pitches(tokens: np.ndarray) -> np.ndarray:
    """:func:`token_to_pitch` of an array of onset tokens (unchecked): ``int64``, same shape."""
    return np.asarray(tokens, dtype=np.int64) - FIRST_PITCH_TOKEN + MIN_PITCH


def shift_bounds(low_pitch: int | np.ndarray,
                 high_pitch: int | np.ndarray) -> tuple[int | np.ndarray, int | np.ndarray]:
    """The semitone shifts ``(lowest, highest)`` that keep notes from ``low_pitch`` to
    ``high_pitch`` inside ``MIN_PITCH..MAX_PITCH`` (ints or arrays alike)."""
    return MIN_PITCH - low_pitch, MAX_PITCH - high_pitch


def is_onset(token: int) -> bool:
    """Whether ``token`` starts a note."""
    return FIRST_PITCH_TOKEN <= token < NUM_CLASSES
