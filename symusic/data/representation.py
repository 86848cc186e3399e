"""The representation seam: what a model's tokens mean, after Magenta's data converters.

A :class:`Representation` owns everything that depends on what a token is: the vocabulary size
and the token meanings, MIDI files to windows of tokens and tokens back to MIDI, the windows'
shape, transposition, and the note view that metrics, rendering and the studio read. The model
only sees ``vocab_size``; every other layer asks the representation instead of the token
constants. :class:`MelodyRepresentation` (Magenta's monophonic melody, 90 tokens; the code in
``tokens``, ``melody``, ``extraction`` and ``midi_io``) is the first, :class:`DrumsRepresentation`
(Magenta's 9-class drums, 512 tokens; ``drum_tracks``) the second. :data:`REPRESENTATIONS` is
the one registry (``DataSettings`` validates its ``representation`` against it).

Besides the vocabulary, a representation says what the encoder reads of each token
(:meth:`Representation.encoder_input_table`: a learned embedding, or fixed features such as
the drums' hit bits), the dtype its tokens are stored in, and the extractions it supports.

A checkpoint records the representation's name and vocabulary size (:meth:`Representation.record`)
and loading checks them (:func:`check_recorded`).

Shapes: a window is ``[T]`` tokens, ``T`` a whole number of bars; a batch of windows ``[N, T]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from symusic.data import drum_tracks, midi_io
from symusic.data import tokens as melody_tokens
from symusic.data.extraction import MAX_BARS, FileExtraction, locate_file_melodies, why_no_melody
from symusic.data.melody import MAX_STEPS, clear_leading_note_offs

if TYPE_CHECKING:
    import pretty_midi

    from symusic.data.settings import DataSettings

Note = tuple[int, int, int]  # (MIDI pitch, start step, end step)


class Representation:
    """What a model's tokens are. Subclasses set the class attributes and implement the
    methods their callers need (a toy for the model alone needs only the attributes)."""

    name: ClassVar[str]
    vocab_size: ClassVar[int]
    no_event: ClassVar[int]  # "nothing new at this step": note accuracy leaves these steps out
    steps_per_quarter: ClassVar[int] = 4
    steps_per_bar: ClassVar[int] = 16
    token_dtype: ClassVar[type] = np.uint8  # how the cache and windows store tokens
    extractions: ClassVar[tuple[str, ...]] = ("magenta",)  # the DataSettings it supports
    sequence_name: ClassVar[str] = "melody"  # what one extracted sequence is, for messages
    row_labels: ClassVar[tuple[str, ...] | None] = None  # a grid's rows (None: a pitch axis)
    row_pitches: ClassVar[tuple[int, ...] | None] = None  # the pitch each row's notes have
    reads_programs: ClassVar[bool] = True  # whether DataSettings.programs choose its tracks
    # the model head that reads and writes its steps (symusic.musicvae.model.step_io.STEP_IO)
    step_io_kind: ClassVar[str] = "categorical"
    # a window's items: one token a step (``()``) as int64, or e.g. a groove's 27 floats
    item_shape: ClassVar[tuple[int, ...]] = ()
    window_dtype: ClassVar[type] = np.int64  # what a dataset item holds
    keeps_empty_windows: ClassVar[bool] = True  # under the magenta extraction
    input_settings: ClassVar[tuple[str, ...]] = ()  # DataSettings flags its model reads

    @property
    def part_sizes(self) -> tuple[int, ...]:
        """The vocabularies of a step's parts: one part, the whole vocabulary (the trio sets
        its three)."""
        return (self.vocab_size,)

    def encoder_input_table(self) -> np.ndarray | None:
        """What the encoder reads of each token: ``float32 [vocab_size, F]`` fixed features,
        or ``None`` for a learned embedding (the model's ``embed_size``)."""
        return None

    # --- the windows' shape ---------------------------------------------------------------

    def window_length(self, bars: int) -> int:
        """Tokens in a window of ``bars`` bars."""
        return bars * self.steps_per_bar

    def bars_in(self, steps: int) -> int:
        """Whole bars in ``steps`` tokens (``ValueError`` unless ``steps`` is whole bars)."""
        if steps <= 0 or steps % self.steps_per_bar:
            raise ValueError(f"{steps} steps is not a whole number of {self.steps_per_bar}-step "
                             "bars")
        return steps // self.steps_per_bar

    # --- the tokens -----------------------------------------------------------------------

    def check_tokens(self, tokens: np.ndarray | Sequence[int]) -> np.ndarray:
        """``tokens`` (any shape) as ``int64``; ``ValueError`` unless each is in the vocabulary."""
        array = np.asarray(tokens).astype(np.int64)
        if array.size and (array.min() < 0 or array.max() >= self.vocab_size):
            raise ValueError(f"tokens must lie in 0..{self.vocab_size - 1}")
        return array

    def vocabulary(self) -> dict[str, int]:
        """The token meanings a client needs to draw windows (plain ints, for JSON)."""
        return {"vocab_size": self.vocab_size, "no_event": self.no_event,
                "steps_per_quarter": self.steps_per_quarter, "steps_per_bar": self.steps_per_bar}

    def record(self) -> dict[str, Any]:
        """What a checkpoint stores of this representation (plain types)."""
        return {"name": self.name, "vocab_size": self.vocab_size}

    # --- the note view --------------------------------------------------------------------

    def onsets(self, tokens: np.ndarray) -> np.ndarray:
        """Which steps of ``tokens`` (``[..., T]``) start a note: ``bool``, same shape."""
        raise NotImplementedError

    def onset_pitches(self, window: np.ndarray) -> np.ndarray:
        """The MIDI pitches of the onsets of one window ``[T]``, in order: ``int64 [n]``."""
        raise NotImplementedError

    def notes(self, window: np.ndarray) -> list[Note]:
        """The notes of one window ``[T]`` as ``(pitch, start step, end step)``;
        ``ValueError`` for a token outside the vocabulary."""
        raise NotImplementedError

    # --- transposition --------------------------------------------------------------------

    def pitch_bounds(self, windows: np.ndarray) -> np.ndarray:
        """Lowest and highest pitch of each window ``[N, T]``: ``int64 [N, 2]`` (a window
        without notes gets bounds that allow any shift)."""
        raise NotImplementedError

    def shift_bounds(self, low_pitch: int | np.ndarray, high_pitch: int | np.ndarray,
                     ) -> tuple[int | np.ndarray, int | np.ndarray]:
        """The semitone shifts ``(lowest, highest)`` that keep notes from ``low_pitch`` to
        ``high_pitch`` in range (ints or arrays alike)."""
        raise NotImplementedError

    def transpose(self, window: np.ndarray, shift: int) -> np.ndarray:
        """``window`` ``[T]`` moved ``shift`` semitones, the shift clamped to keep every note
        in range; a new array, same dtype."""
        raise NotImplementedError

    # --- MIDI to tokens and back ----------------------------------------------------------

    def extract(self, midi: pretty_midi.PrettyMIDI, settings: DataSettings,
                max_steps: int = MAX_STEPS, max_bars: int = MAX_BARS) -> FileExtraction:
        """Every token sequence of ``midi`` as ``settings`` say (extraction and programs), each
        with its instrument and start time; sequences are whole bars."""
        raise NotImplementedError

    def why_none(self, midi: pretty_midi.PrettyMIDI, settings: DataSettings) -> str:
        """A short reason :meth:`extract` found nothing in a readable file."""
        raise NotImplementedError

    def cut_window(self, sequence: np.ndarray, start: int, length: int) -> np.ndarray:
        """The window ``sequence[start:start + length]`` as a sequence of its own (a copy)."""
        return self.as_windows(sequence[start:start + length])

    def as_windows(self, rows: np.ndarray) -> np.ndarray:
        """Windows ``[..., T]`` cut out of longer sequences as sequences of their own (what
        :meth:`cut_window` does, for many at once): a copy."""
        return np.array(rows, copy=True)

    def to_midi(self, windows: np.ndarray | Sequence[np.ndarray], tempo: float = 120.0,
                program: int = 0, gap_bars: int = 0,
                velocity: int = midi_io.DEFAULT_VELOCITY) -> pretty_midi.PrettyMIDI:
        """One-instrument MIDI of ``windows`` (``[T]``, ``[N, T]`` or a list of ``[T_i]``)
        played one after another, ``gap_bars`` apart."""
        raise NotImplementedError

    def write_midi(self, windows: np.ndarray | Sequence[np.ndarray], path: str | os.PathLike,
                   tempo: float = 120.0, program: int = 0, gap_bars: int = 0,
                   velocity: int = midi_io.DEFAULT_VELOCITY) -> Path:
        """:meth:`to_midi` written to the ``.mid`` file ``path`` (folders made); returns it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.to_midi(windows, tempo, program, gap_bars, velocity).write(str(path))
        return path


class MelodyRepresentation(Representation):
    """Magenta's monophonic melody: one token a 16th-note step, ``NO_EVENT``, ``NOTE_OFF`` or a
    note onset of pitch 21..108 (:mod:`symusic.data.tokens`)."""

    name = "melody"
    vocab_size = melody_tokens.NUM_CLASSES
    no_event = melody_tokens.NO_EVENT
    steps_per_quarter = melody_tokens.STEPS_PER_QUARTER
    steps_per_bar = melody_tokens.STEPS_PER_BAR
    extractions = ("magenta", "any_meter")

    def vocabulary(self) -> dict[str, int]:
        """The base meanings plus ``note_off``, ``first_pitch_token`` and ``min_pitch``."""
        return {**super().vocabulary(), "note_off": melody_tokens.NOTE_OFF,
                "first_pitch_token": melody_tokens.FIRST_PITCH_TOKEN,
                "min_pitch": melody_tokens.MIN_PITCH}

    def onsets(self, tokens: np.ndarray) -> np.ndarray:
        """Steps holding an onset token: ``bool``, the shape of ``tokens``."""
        return np.asarray(tokens) >= melody_tokens.FIRST_PITCH_TOKEN

    def onset_pitches(self, window: np.ndarray) -> np.ndarray:
        """The pitches of the onset tokens of ``window`` ``[T]``, in order: ``int64 [n]``."""
        window = np.asarray(window)
        return melody_tokens.onset_tokens_to_pitches(window[self.onsets(window)])

    def notes(self, window: np.ndarray) -> list[Note]:
        """A note lasts until the next onset, a ``NOTE_OFF`` or the end of the window."""
        return midi_io.melody_notes(window)

    def pitch_bounds(self, windows: np.ndarray) -> np.ndarray:
        """Per window ``[N, T]``: ``int64 [N, 2]``; ``(MAX_PITCH, MIN_PITCH)`` without notes."""
        rows = np.asarray(windows).astype(np.int64)
        onset = self.onsets(rows)
        low = np.where(onset, rows, melody_tokens.pitch_to_token(melody_tokens.MAX_PITCH))
        high = np.where(onset, rows, melody_tokens.pitch_to_token(melody_tokens.MIN_PITCH))
        return melody_tokens.onset_tokens_to_pitches(
            np.column_stack([low.min(axis=1), high.max(axis=1)]))

    def shift_bounds(self, low_pitch: int | np.ndarray, high_pitch: int | np.ndarray,
                     ) -> tuple[int | np.ndarray, int | np.ndarray]:
        """Shifts that keep ``low_pitch..high_pitch`` inside 21..108."""
        return melody_tokens.shift_bounds(low_pitch, high_pitch)

    def transpose(self, window: np.ndarray, shift: int) -> np.ndarray:
        """Onset tokens move ``shift`` (clamped to keep pitches in 21..108); others stay."""
        window = np.asarray(window)
        if not shift:
            return window.copy()
        (low, high), = self.pitch_bounds(window[None]).tolist()
        shift = int(np.clip(shift, *self.shift_bounds(low, high)))
        moved = window.astype(np.int64)
        moved[self.onsets(window)] += shift
        return moved.astype(window.dtype)

    def extract(self, midi: pretty_midi.PrettyMIDI, settings: DataSettings,
                max_steps: int = MAX_STEPS, max_bars: int = MAX_BARS) -> FileExtraction:
        """The melodies of ``midi`` (``uint8 [16 * bars]`` each), by the settings'
        extraction from the tracks of their programs."""
        return locate_file_melodies(midi, settings.extraction, settings.programs, max_steps,
                                    max_bars)

    def why_none(self, midi: pretty_midi.PrettyMIDI, settings: DataSettings) -> str:
        """E.g. ``drums only`` or ``no 4/4 section`` (the scan counts files by these)."""
        return why_no_melody(midi, settings.programs, settings.extraction)

    def cut_window(self, sequence: np.ndarray, start: int, length: int) -> np.ndarray:
        """The window with every ``NOTE_OFF`` before its first onset made ``NO_EVENT``, as
        training cuts windows (a new ``Melody`` in note-seq does the same)."""
        return clear_leading_note_offs(sequence[start:start + length])

    def as_windows(self, rows: np.ndarray) -> np.ndarray:
        """Every ``NOTE_OFF`` before a window's first onset made ``NO_EVENT``."""
        return clear_leading_note_offs(rows)

    def to_midi(self, windows: np.ndarray | Sequence[np.ndarray], tempo: float = 120.0,
                program: int = 0, gap_bars: int = 0,
                velocity: int = midi_io.DEFAULT_VELOCITY) -> pretty_midi.PrettyMIDI:
        """Step ``s`` sounds at ``s * 60 / tempo / 4`` seconds; reading the file back with
        the ``any_meter`` extraction gives the same tokens."""
        return midi_io.melodies_to_midi(windows, tempo, program, gap_bars, velocity)


class Unpitched:
    """Transposition for drum representations (drums, grooves): a drum class is not a pitch,
    so no window ever moves."""

    def pitch_bounds(self, windows: np.ndarray) -> np.ndarray:
        """Zeros: drums have no pitch range to keep."""
        return np.zeros((len(windows), 2), dtype=np.int64)

    def shift_bounds(self, low_pitch: int | np.ndarray, high_pitch: int | np.ndarray,
                     ) -> tuple[int | np.ndarray, int | np.ndarray]:
        """No shift at all: a drum class is not a pitch."""
        zero = np.zeros_like(np.asarray(low_pitch, dtype=np.int64))
        return (zero, zero.copy()) if zero.ndim else (0, 0)

    def transpose(self, window: np.ndarray, shift: int) -> np.ndarray:
        """A copy: drums never move."""
        return np.array(window, copy=True)


class DrumsRepresentation(Unpitched, Representation):
    """Magenta's drums (``DrumsConverter``): one token a 16th-note step, the set of the nine
    drum classes hit there, bit ``c`` for class ``c`` (0: no hit); the encoder reads each
    step as its 9 hit bits plus a "no hit" bit (``roll_input``). Drums do not transpose."""

    name = "drums"
    vocab_size = drum_tracks.VOCAB_SIZE
    no_event = 0
    steps_per_quarter = drum_tracks.STEPS_PER_QUARTER
    steps_per_bar = drum_tracks.STEPS_PER_BAR
    token_dtype = drum_tracks.TOKEN_DTYPE
    sequence_name = "drum track"
    row_labels = drum_tracks.CLASS_NAMES
    row_pitches = drum_tracks.OUTPUT_PITCHES
    reads_programs = False

    def encoder_input_table(self) -> np.ndarray:
        """``float32 [512, 10]``: the class bits and the no-hit bit of each token."""
        return drum_tracks.roll_table()

    def vocabulary(self) -> dict[str, Any]:
        """The base meanings plus the classes' ``class_names`` and ``class_pitches`` (the
        General MIDI drum pitch each is written with)."""
        return {**super().vocabulary(), "class_names": list(drum_tracks.CLASS_NAMES),
                "class_pitches": list(drum_tracks.OUTPUT_PITCHES)}

    def onsets(self, tokens: np.ndarray) -> np.ndarray:
        """Steps with any hit."""
        return np.asarray(tokens) != 0

    def onset_pitches(self, window: np.ndarray) -> np.ndarray:
        """The output pitch of every hit, by step then class."""
        return np.array([p for p, _, _ in drum_tracks.drum_hits(window)], dtype=np.int64)

    def notes(self, window: np.ndarray) -> list[Note]:
        """Every hit as ``(output pitch, step, step + 1)``."""
        return drum_tracks.drum_hits(self.check_tokens(window))

    def extract(self, midi: pretty_midi.PrettyMIDI, settings: DataSettings,
                max_steps: int = MAX_STEPS, max_bars: int = MAX_BARS) -> FileExtraction:
        """The drum tracks of ``midi`` (``uint16 [16 * bars]`` each; ``programs`` do not
        apply: drums are the tracks on the drum channel)."""
        return drum_tracks.locate_drum_tracks(midi, max_bars)

    def why_none(self, midi: pretty_midi.PrettyMIDI, settings: DataSettings) -> str:
        """E.g. ``no drum track`` (a melody file) or ``no 4/4 section``."""
        return drum_tracks.why_no_drums(midi)

    def to_midi(self, windows: np.ndarray | Sequence[np.ndarray], tempo: float = 120.0,
                program: int = 0, gap_bars: int = 0,
                velocity: int = drum_tracks.OUTPUT_VELOCITY) -> pretty_midi.PrettyMIDI:
        """The drum channel, each class at its General MIDI pitch, each hit a step long
        (``program`` does not apply)."""
        return drum_tracks.drums_to_midi(windows, tempo, gap_bars, velocity)


MELODY = MelodyRepresentation()
DRUMS = DrumsRepresentation()
REPRESENTATIONS: dict[str, Representation] = {MELODY.name: MELODY, DRUMS.name: DRUMS}


# name -> the module that defines it and adds it to REPRESENTATIONS (imported on first use:
# it subclasses Representation, so this module cannot import it up front)
REPRESENTATION_MODULES: dict[str, str] = {"groove": "symusic.data.groove_representation",
                                            "trio": "symusic.data.trio_representation"}


def get_representation(name: str) -> Representation:
    """The representation called ``name``; ``ValueError`` naming the known ones otherwise."""
    if isinstance(name, str) and name not in REPRESENTATIONS and name in REPRESENTATION_MODULES:
        import importlib

        importlib.import_module(REPRESENTATION_MODULES[name])
    try:
        return REPRESENTATIONS[name]
    except (KeyError, TypeError):
        # the built-ins, the lazily imported ones in their declared order, then any added later
        # (the order must not depend on which module was imported first)
        names = dict.fromkeys([MELODY.name, DRUMS.name, *REPRESENTATION_MODULES, *REPRESENTATIONS])
        known = ", ".join(repr(n) for n in names)
        raise ValueError(f"unknown representation {name!r} (known: {known})") from None


def check_recorded(recorded: Mapping[str, Any] | None) -> Representation:
    """The representation a checkpoint recorded (``None``: one written before this was
    recorded, a melody model); ``ValueError`` when it is unknown or its vocabulary differs."""
    if recorded is None:
        return MELODY
    if not isinstance(recorded, Mapping):
        raise ValueError(f"the recorded representation must be a dict, got "
                         f"{type(recorded).__name__}")
    representation = get_representation(recorded.get("name"))
    if recorded.get("vocab_size") != representation.vocab_size:
        raise ValueError(f"the model's {representation.name} vocabulary has "
                         f"{recorded.get('vocab_size')!r} tokens; this version's has "
                         f"{representation.vocab_size}")
    return representation
