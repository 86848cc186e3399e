"""The representation seam: what a model's tokens mean, after Magenta's data converters.

A :class:`Representation` owns everything that depends on what a token is: the vocabulary size
and the token meanings, MIDI files to windows of tokens and tokens back to MIDI, the windows'
shape, transposition, and the note view that metrics, rendering and the studio read. The model
only sees ``vocab_size``; every other layer asks the representation instead of the token
constants. :class:`MelodyRepresentation` (Magenta's monophonic melody, 90 tokens) is the first;
drums or multi-track models come through this seam.

A checkpoint records the representation's name and vocabulary size (:meth:`Representation.record`)
and loading checks them (:func:`check_recorded`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from symusic.data import tokens as melody_tokens


class Representation:
    """What a model's tokens are. Subclasses set ``name`` and ``vocab_size``."""

    name: ClassVar[str]
    vocab_size: ClassVar[int]
    steps_per_bar: ClassVar[int] = melody_tokens.STEPS_PER_BAR

    def window_length(self, bars: int) -> int:
        """Tokens in a window of ``bars`` bars."""
        return bars * self.steps_per_bar

    def bars_in(self, steps: int) -> int:
        """Whole bars in ``steps`` tokens (``ValueError`` unless ``steps`` is whole bars)."""
        if steps <= 0 or steps % self.steps_per_bar:
            raise ValueError(f"{steps} steps is not a whole number of {self.steps_per_bar}-step "
                             "bars")
        return steps // self.steps_per_bar

    def record(self) -> dict[str, Any]:
        """What a checkpoint stores of this representation (plain types)."""
        return {"name": self.name, "vocab_size": self.vocab_size}


class MelodyRepresentation(Representation):
    """Magenta's monophonic melody: one token a 16th-note step, ``NO_EVENT``, ``NOTE_OFF`` or a
    note onset of pitch 21..108 (:mod:`symusic.data.tokens`)."""

    name = "melody"
    vocab_size = melody_tokens.NUM_CLASSES


REPRESENTATIONS: dict[str, Representation] = {"melody": MelodyRepresentation()}


def get_representation(name: str) -> Representation:
    """The representation called ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return REPRESENTATIONS[name]
    except KeyError:
        known = ", ".join(repr(n) for n in REPRESENTATIONS)
        raise ValueError(f"unknown representation {name!r} (known: {known})") from None


def check_recorded(recorded: Mapping[str, Any] | None) -> Representation:
    """The representation a checkpoint recorded (``None``: one written before this was
    recorded, a melody model); ``ValueError`` when it is unknown or its vocabulary differs."""
    if recorded is None:
        return REPRESENTATIONS["melody"]
    if not isinstance(recorded, Mapping):
        raise ValueError(f"the recorded representation must be a dict, got "
                         f"{type(recorded).__name__}")
    representation = get_representation(recorded.get("name"))
    if recorded.get("vocab_size") != representation.vocab_size:
        raise ValueError(f"the model's {representation.name} vocabulary has "
                         f"{recorded.get('vocab_size')!r} tokens; this version's has "
                         f"{representation.vocab_size}")
    return representation
