"""Magenta's data converters as symusic's data settings, both ways.

A magenta.js ``config.json`` names its ``dataConverter`` (type and arguments); symusic keeps
the same facts as the representation, extraction and window length a checkpoint records.
symusic has Magenta's ``MelodyConverter`` (90 tokens: no event, note-off, pitches 21-108) and
``DrumsConverter`` (the nine classes of note-seq's pitch map, 512 tokens, a 10-wide roll into
the encoder), ``TrioConverter`` (a lead and a bass melody and the drums' 512 tokens, one-hots
of 90, 90 and 512 into the encoder) and ``GrooveConverter`` (27 numbers a step;
``humanize`` and ``tapify`` become the same data settings, and ``magenta_feedback`` is set:
Magenta's decoder feeds back every predicted velocity and offset); every other converter is
refused in one line naming what symusic lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from symusic.data import tokens as melody_tokens
from symusic.data.groove_windows import ROLAND_DRUM_PITCH_CLASSES
from symusic.data.representation import get_representation
from symusic.data.settings import DataSettings
from symusic.musicvae.model.vae import CheckpointError

MAX_STEPS = 4096  # the longest window a symusic checkpoint may hold

# converters symusic has no counterpart for, and what each would need
MISSING = {
    "DrumRollConverter": "drums as a roll with a NADE decoder",
    "DrumsOneHotConverter": "drums with one-hot encoder input (symusic's drum encoder reads "
                            "the 10-wide roll)",
    "TrioRhythmConverter": "trio with rhythm controls",
    "MultitrackConverter": "multitrack",
    "MelodyRhythmConverter": "melody with rhythm controls",
    "MelodyShapeConverter": "melody with contour controls",
}
MELODY_ARGS = {"numSteps", "numSegments", "minPitch", "maxPitch", "ignorePolyphony"}
DRUMS_ARGS = {"numSteps", "numSegments", "pitchClasses"}
# fixedVelocities: Magenta's Python option, which magenta.js ignores (its tapify zeroes the
# velocities anyway); symusic writes and reads it so a TF config's model keeps it
GROOVE_ARGS = {"numSteps", "numSegments", "humanize", "tapify", "fixedVelocities",
               "splitInstruments", "pitchClasses", "stepsPerQuarter"}
# magenta.js's TrioConverter: two MelodyConverters (lead, bass) and a DrumsOneHotConverter
TRIO_ARGS = {"numSteps", "numSegments", "melArgs", "bassArgs", "drumsArgs"}
TRIO_PART_ARGS = {"melArgs": {"minPitch", "maxPitch", "ignorePolyphony", "numSteps"},
                  "bassArgs": {"minPitch", "maxPitch", "ignorePolyphony", "numSteps"},
                  "drumsArgs": {"pitchClasses", "numSteps"}}
ALLOWED_ARGS = {"MelodyConverter": MELODY_ARGS, "DrumsConverter": DRUMS_ARGS,
                "GrooveConverter": GROOVE_ARGS, "TrioConverter": TRIO_ARGS}
# magenta.js's DEFAULT_DRUM_PITCH_CLASSES (core/constants.ts): the same nine classes, written
# with the same first pitches as symusic's (note-seq's), though a few input pitches (22, 26,
# 43, 52) are read into other classes or none
MAGENTAJS_DRUM_PITCH_CLASSES = [
    [36, 35], [38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85],
    [42, 44, 54, 68, 69, 70, 71, 73, 78, 80], [46, 67, 72, 74, 79, 81],
    [45, 29, 41, 61, 64, 84], [48, 47, 60, 63, 77, 86, 87], [50, 30, 43, 62, 76, 83],
    [49, 55, 57, 58], [51, 52, 53, 59, 82],
]

ROLAND_CLASSES = [list(pitches) for pitches in ROLAND_DRUM_PITCH_CLASSES]


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
    if kind not in ALLOWED_ARGS:
        raise CheckpointError(f"{where}: unknown dataConverter {kind[:60]!r}")
    if not isinstance(args, dict):
        raise CheckpointError(f"{where}: dataConverter.args must be an object")
    allowed = ALLOWED_ARGS[kind]
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
        _check_pitches(args, kind, where)
        settings = DataSettings(representation="melody", extraction="magenta")
    elif kind == "TrioConverter":
        _check_trio_parts(args, where)
        settings = DataSettings(representation="trio", extraction="magenta")
    else:
        _check_drum_classes(args, kind, where)
        settings = (DataSettings(representation="drums", extraction="magenta")
                    if kind == "DrumsConverter" else _groove_settings(args, segments, where))
    return ConverterSettings(settings, steps, segments)


def _check_pitches(args: dict, kind: str, where: str) -> None:
    pitches = (args.get("minPitch"), args.get("maxPitch"))
    if pitches != (melody_tokens.MIN_PITCH, melody_tokens.MAX_PITCH):
        raise CheckpointError(
            f"{where}: {kind} pitches {str(pitches[0])[:20]}-{str(pitches[1])[:20]}; symusic's "
            f"melody tokens are pitches {melody_tokens.MIN_PITCH}-{melody_tokens.MAX_PITCH}")


def _check_drum_classes(args: dict, kind: str, where: str) -> None:
    classes = args.get("pitchClasses")
    known = ([MAGENTAJS_DRUM_PITCH_CLASSES] if kind != "GrooveConverter"
             else [MAGENTAJS_DRUM_PITCH_CLASSES, ROLAND_CLASSES])
    if classes is not None and classes not in known:
        raise CheckpointError(f"{where}: {kind} with its own pitchClasses; symusic has "
                              "Magenta's nine default classes only"
                              + (" (and GrooVAE's Roland ones)" if kind == "GrooveConverter"
                                 else ""))


def _check_trio_parts(args: dict, where: str) -> None:
    """A TrioConverter's part converters: melody and bass on symusic's pitches, the drums on
    Magenta's nine classes."""
    for key, allowed in TRIO_PART_ARGS.items():
        part = args.get(key)
        if not isinstance(part, dict):
            raise CheckpointError(f"{where}: TrioConverter.{key} must be an object (magenta.js "
                                  "builds the part's converter from it)")
        unknown = sorted(set(part) - allowed)
        if unknown:
            raise CheckpointError(f"{where}: TrioConverter.{key} argument {unknown[0][:60]!r} "
                                  f"is not one symusic reads ({', '.join(sorted(allowed))})")
        if key == "drumsArgs":
            _check_drum_classes(part, f"TrioConverter.{key}", where)
        else:
            _check_pitches(part, f"TrioConverter.{key}", where)


def _groove_settings(args: dict, segments: int | None, where: str) -> DataSettings:
    """A GrooveConverter's arguments as groove data settings (one line for what symusic's
    groove steps cannot hold)."""
    if args.get("splitInstruments"):
        raise CheckpointError(f"{where}: GrooveConverter with splitInstruments (one step per "
                              "drum): symusic does not have it")
    if args.get("stepsPerQuarter", 4) != 4:
        raise CheckpointError(f"{where}: GrooveConverter stepsPerQuarter "
                              f"{str(args.get('stepsPerQuarter'))[:20]}; symusic's grooves have "
                              "4 steps a quarter")
    if segments is not None:
        raise CheckpointError(f"{where}: a hierarchical GrooVAE (numSegments): symusic's "
                              "groove models are flat")
    flags = {}
    for flag, setting in (("humanize", "humanize"), ("tapify", "tapify"),
                          ("fixedVelocities", "fixed_velocities")):
        if not isinstance(args.get(flag, False), bool):
            raise CheckpointError(f"{where}: GrooveConverter.{flag} must be true or false")
        flags[setting] = args.get(flag, False)
    return DataSettings(representation="groove", extraction="magenta", magenta_feedback=True,
                        **flags)


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
    if settings.representation == "trio":
        pitches = {"minPitch": melody_tokens.MIN_PITCH, "maxPitch": melody_tokens.MAX_PITCH,
                   "ignorePolyphony": True}
        return {"type": "TrioConverter", "args": {**args, "melArgs": dict(pitches),
                                                  "bassArgs": dict(pitches), "drumsArgs": {}}}
    if settings.representation == "groove":
        if settings.fixed_velocities and not (settings.tapify or settings.humanize):
            raise CheckpointError("magenta.js's GrooveConverter has no fixed-velocities input "
                                  "(the model's fixed_velocities without tapify or humanize)")
        # the pitch classes symusic reads MIDI with (Magenta's groovae configs'), so that
        # magenta.js's converter reads a user's MIDI the same way
        return {"type": "GrooveConverter",
                "args": {**args, "humanize": settings.humanize, "tapify": settings.tapify,
                         "fixedVelocities": settings.fixed_velocities,
                         "pitchClasses": ROLAND_CLASSES}}
    raise CheckpointError(f"magenta.js has no converter for the {settings.representation} "
                          "representation")
