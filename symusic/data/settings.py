"""What a model's data was read with: the representation, the extraction and the programs.

A checkpoint records :class:`DataSettings` (as plain types, :meth:`DataSettings.to_dict`), so
every tool that reads a user's MIDI file for a model reads it as the model's training data was
read. Two extractions exist:

* ``"magenta"`` (the default): Magenta's MusicVAE melody converter, window for window: the
  file is split at tempo and time-signature changes, pieces whose bar is not 16 steps are
  dropped, each piece is quantised on its own tempo, melodies are cut at 100 bars;
* ``"any_meter"``: a 16th-note grid on the file's ticks that ignores tempo changes and keeps
  music in any meter, cut into 16-step chunks (for corpora in 3/4 or 6/8, such as the folk one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Extraction = Literal["magenta", "any_meter"]
EXTRACTIONS: tuple[str, ...] = ("magenta", "any_meter")
DEFAULT_EXTRACTION: Extraction = "magenta"
LEGACY_EXTRACTION: Extraction = "any_meter"  # what checkpoints without data settings used
DEFAULT_PROGRAMS: tuple[int, ...] = tuple(range(32))  # piano, chromatic perc., organ, guitar
# the groove flags a checkpoint records when set: three input transformations, and
# magenta_feedback (the decoder feeds back every predicted velocity and offset, as Magenta does)
INPUT_SETTINGS: tuple[str, ...] = ("humanize", "tapify", "fixed_velocities", "magenta_feedback")


def check_extraction(value: object) -> Extraction:
    """``value`` if it names an extraction; ``ValueError`` naming the allowed ones otherwise."""
    if value not in EXTRACTIONS:
        allowed = ", ".join(repr(e) for e in EXTRACTIONS)
        raise ValueError(f"extraction must be one of {allowed}, got {value!r}")
    return value  # type: ignore[return-value]


def check_programs(values: Iterable[object]) -> tuple[int, ...]:
    """Sorted distinct General MIDI programs; ``ValueError`` unless each is an int in 0..127."""
    try:
        programs = tuple(sorted(set(values)))
    except TypeError:
        raise ValueError("programs must be a list of integers 0..127") from None
    if not programs or not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 127
                               for p in programs):
        raise ValueError(f"programs must be a non-empty list of integers 0..127, got {values!r}")
    return programs


@dataclass(frozen=True)
class DataSettings:
    """How MIDI files become training windows for a model (stored in its checkpoint)."""

    representation: str = "melody"
    extraction: Extraction = DEFAULT_EXTRACTION
    programs: tuple[int, ...] = DEFAULT_PROGRAMS
    # the groove representation's input transformations (what its encoder reads; Magenta's
    # GrooveConverter options): recorded only when set, so other checkpoints keep their dicts
    humanize: bool = False
    tapify: bool = False
    fixed_velocities: bool = False
    # a free-running step feeds back the predicted velocities and offsets even where no hit
    # is drawn (Magenta's GrooveLstmDecoder._sample, magenta.js's GrooveDecoder); symusic's
    # default zeroes them there, as in every training window
    magenta_feedback: bool = False

    def __post_init__(self) -> None:
        # imported here: the representations import the extraction, which imports this module
        from symusic.data.representation import get_representation

        representation = get_representation(self.representation)  # ValueError: the known
        check_extraction(self.extraction)
        if self.extraction not in representation.extractions:
            raise ValueError(f"the {self.representation} representation reads MIDI by the "
                             f"{' or '.join(representation.extractions)} extraction, not "
                             f"{self.extraction!r}")
        object.__setattr__(self, "programs", check_programs(self.programs))
        for flag in INPUT_SETTINGS:
            value = getattr(self, flag)
            if not isinstance(value, bool):
                raise ValueError(f"{flag} must be true or false, got {value!r}")
            if value and flag not in representation.input_settings:
                raise ValueError(f"{flag} is a setting of the groove representation, not "
                                 f"of {self.representation!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (a ``weights_only`` checkpoint load takes them)."""
        flags = {flag: True for flag in INPUT_SETTINGS if getattr(self, flag)}
        return {"representation": self.representation, "extraction": self.extraction,
                "programs": list(self.programs), **flags}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DataSettings:
        """Inverse of :meth:`to_dict`; ``ValueError`` for anything else."""
        if not isinstance(values, Mapping):
            raise ValueError(f"data settings must be a dict, got {type(values).__name__}")
        unknown = set(values) - {"representation", "extraction", "programs", *INPUT_SETTINGS}
        if unknown:
            raise ValueError(f"unknown data settings {sorted(unknown)}")
        return cls(representation=values.get("representation", "melody"),
                   extraction=values.get("extraction", DEFAULT_EXTRACTION),
                   programs=tuple(values.get("programs", DEFAULT_PROGRAMS)),
                   **{flag: values.get(flag, False) for flag in INPUT_SETTINGS})

    @classmethod
    def legacy(cls, training_config: Mapping[str, Any] | None = None) -> DataSettings:
        """What a checkpoint written before data settings were recorded was trained with:
        ``any_meter``, and the programs of its training config if it has them, else 0..31."""
        programs = DEFAULT_PROGRAMS
        if isinstance(training_config, Mapping) and training_config.get("programs"):
            programs = tuple(training_config["programs"])
        return cls(extraction=LEGACY_EXTRACTION, programs=programs)

    def with_programs(self, programs: Iterable[int]) -> DataSettings:
        """The same settings reading other programs (a deliberate widening by the user)."""
        return dataclasses.replace(self, programs=tuple(programs))

    def describe(self) -> str:
        """E.g. ``melody, magenta extraction, programs 0-31`` (``drums, magenta extraction,
        the drum channel``: drums are not read by program)."""
        from symusic.data.melody import describe_programs
        from symusic.data.representation import get_representation

        tracks = (f"programs {describe_programs(self.programs)}"
                  if get_representation(self.representation).reads_programs
                  else "the drum channel")
        flags = "".join(f", {flag.replace('_', ' ')}" for flag in INPUT_SETTINGS
                        if getattr(self, flag))
        return f"{self.representation}, {self.extraction} extraction, {tracks}{flags}"
