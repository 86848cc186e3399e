"""Magenta's data converters as symusic's data settings, both ways.

A magenta.js ``config.json`` names its ``dataConverter`` (type and arguments); symusic keeps
the same facts as the representation, extraction and window length a checkpoint records.
symusic has Magenta's ``MelodyConverter`` (90 tokens: no event, note-off, pitches 21-108) and
``DrumsConverter`` (the nine classes of note-seq's pitch map, 512 tokens, a 10-wide roll into
the encoder); every other converter is refused in one line naming what symusic lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from symusic.data import tokens as melody_tokens
from symusic.data.representation import get_representation
from symusic.data.settings import DataSettings
from symusic.musicvae.model.vae import CheckpointError

MAX_STEPS = 4096  # the longest window a symusic checkpoint may hold

# converters symusic has no counterpart for, and what each would need
MISSING = {
    "DrumRollConverter": "drums as a roll with a NADE decoder",
    "DrumsOneHotConverter": "drums with one-hot encoder input (symusic's drum encoder reads "
                            "the 10-wide roll)",
    "TrioConverter": "trio (melody, bass and drums)",
    "TrioRhythmConverter": "trio with rhythm controls",
    "MultitrackConverter": "multitrack",
    "GrooveConverter": "groove (GrooVAE)",
    "MelodyRhythmConverter": "melody with rhythm controls",
    "MelodyShapeConverter": "melody with contour controls",
}
MELODY_ARGS = {"numSteps", "numSegments", "minPitch", "maxPitch", "ignorePolyphony"}
DRUMS_ARGS = {"numSteps", "numSegments", "pitchClasses"}
# magenta.js's DEFAULT_DRUM_PITCH_CLASSES (core/constants.ts): the same nine classes, written
# with the same first pitches as symusic's (note-seq's), though a few input pitches (22, 26,
# 43, 52) are read into other classes or none
MAGENTAJS_DRUM_PITCH_CLASSES = [
    [36, 35], [38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85],
    [42, 44, 54, 68, 69, 70, 71, 73, 78, 80], [46, 67, 72, 74, 79, 81],
    [45, 29, 41, 61, 64, 84], [48, 47, 60, 63, 77, 86, 87], [50, 30, 43, 62, 76, 83],
    [49, 55, 57, 58], [51, 52, 53, 59, 82],
]


@dataclass(frozen=True)
class ConverterSettings:
    """What a converter fixes for a model: its data settings, window and segments."""

    settings: DataSettings
    seq_len: int  # steps in a window
    n_segments: int | None  # a hierarchical model's subsequences (None: flat)

    @property
    def vocab_size(self) -> int:
        """The tokens of the representation."""
        return get_representation(self.settings.representation).vocab_size


def _whole(args: dict, key: str, where: str, required: bool) -> int | None:
    value = args.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_STEPS:
        raise CheckpointError(f"{where}: dataConverter.args.{key} must be a whole number of "
                              f"steps, 1 to {MAX_STEPS}, got {str(value)[:40]}")
    return value


def settings_from_converter(spec: Any, where: str) -> ConverterSettings:
    """The data settings of a magenta.js ``dataConverter`` entry; ``CheckpointError`` (one
    line) for a converter symusic lacks, unknown arguments or sizes it cannot use."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise CheckpointError(f"{where}: config.json needs a dataConverter with a type")
    kind, args = spec["type"], spec.get("args", {})
    if kind in MISSING:
        raise CheckpointError(f"{where}: a {kind} model ({MISSING[kind]}): symusic does not "
                              "have it")
    if kind not in ("MelodyConverter", "DrumsConverter"):
        raise CheckpointError(f"{where}: unknown dataConverter {kind[:60]!r}")
    if not isinstance(args, dict):
        raise CheckpointError(f"{where}: dataConverter.args must be an object")
    allowed = MELODY_ARGS if kind == "MelodyConverter" else DRUMS_ARGS
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise CheckpointError(f"{where}: {kind} argument {unknown[0][:60]!r} is not one "
                              f"symusic reads ({', '.join(sorted(allowed))})")
    steps = _whole(args, "numSteps", where, required=True)
    segments = _whole(args, "numSegments", where, required=False)
    if steps % 16:
        raise CheckpointError(f"{where}: numSteps {steps} is not whole 16-step bars")
    if segments is not None and steps % segments:
        raise CheckpointError(f"{where}: numSegments {segments} does not divide numSteps "
                              f"{steps}")
    if kind == "MelodyConverter":
        pitches = (args.get("minPitch"), args.get("maxPitch"))
        if pitches != (melody_tokens.MIN_PITCH, melody_tokens.MAX_PITCH):
            raise CheckpointError(
                f"{where}: MelodyConverter pitches {pitches[0]}-{pitches[1]}; symusic's melody "
                f"tokens are pitches {melody_tokens.MIN_PITCH}-{melody_tokens.MAX_PITCH}")
        settings = DataSettings(representation="melody", extraction="magenta")
    else:
        classes = args.get("pitchClasses")
        if classes is not None and classes != MAGENTAJS_DRUM_PITCH_CLASSES:
            raise CheckpointError(f"{where}: DrumsConverter with its own pitchClasses; symusic "
                                  "has Magenta's nine default classes only")
        settings = DataSettings(representation="drums", extraction="magenta")
    return ConverterSettings(settings, steps, segments)


def converter_for(settings: DataSettings, seq_len: int, n_segments: int | None) -> dict:
    """The magenta.js ``dataConverter`` entry of a symusic model's data and window."""
    args: dict[str, Any] = {"numSteps": seq_len}
    if n_segments is not None:
        args["numSegments"] = n_segments
    if settings.representation == "melody":
        return {"type": "MelodyConverter",
                "args": {**args, "minPitch": melody_tokens.MIN_PITCH,
                         "maxPitch": melody_tokens.MAX_PITCH}}
    if settings.representation == "drums":
        return {"type": "DrumsConverter", "args": args}
    raise CheckpointError(f"magenta.js has no converter for the {settings.representation} "
                          "representation")
