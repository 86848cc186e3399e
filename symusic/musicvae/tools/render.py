"""Token melodies out to the senses: piano-roll pictures, MIDI files and WAV audio.

Used by the generation CLI and by training for its periodic samples. MIDI is written by the
model's representation (``symusic.data.representation``: its ``write_midi``, the one MIDI
writer, and its note view); this module adds the pictures and, when FluidSynth and a General
MIDI soundfont are installed, the sound.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pretty_midi

from symusic.data.representation import MELODY, Representation

MAX_ROWS = 12  # more melodies than this are drawn joined on one axis
DPI = 100
SOUNDFONT_ENV = "SYMUSIC_SOUNDFONT"
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # Debian / Ubuntu: fluid-soundfont-gm
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",  # Arch, Fedora
    "/usr/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
)
INSTALL_HINT = (
    "install FluidSynth and a General MIDI soundfont "
    "(Debian/Ubuntu: apt-get install fluidsynth fluid-soundfont-gm; "
    "macOS: brew install fluid-synth and set SYMUSIC_SOUNDFONT=/path/to/soundfont.sf2)"
)


class AudioUnavailableError(RuntimeError):
    """FluidSynth or a soundfont is missing, or synthesis failed; the message says why."""


# --- piano rolls ---------------------------------------------------------------------------


NOTE_COLOR, REFERENCE_COLOR = "tab:blue", "0.78"
# The picture costs about the same whatever the input: the notes of an axis go into one
# collection per colour (not a patch each), and grid lines, bar numbers, titles and the lines
# between joined melodies are thinned to at most these many.
MAX_BAR_LINES, MAX_BAR_TICKS, MAX_LABELS = 240, 32, 24
MIN_EDGE_PX = 3.0  # narrower steps than this get no white edge, which would hide the notes


def _pitch_label(value: float, _position: object) -> str:
    return pretty_midi.note_number_to_name(int(value)) if value == int(value) else ""


def _nice_stride(count: float, limit: int) -> int:
    """The first of 1, 2, 5, 10, 20, 50, ... that thins ``count`` items to ``limit`` or fewer."""
    scale = 1
    while True:
        for factor in (1, 2, 5):
            if count <= limit * factor * scale:
                return factor * scale
        scale *= 10


def _note_boxes(melodies, offsets, height: float, representation: Representation) -> np.ndarray:
    """The notes of ``melodies`` (placed at step ``offsets``) as rectangles ``[N, 4, 2]``."""
    # a grid of rows (drums: one per class) draws each note on its pitch's row
    row_of = {p: i for i, p in enumerate(representation.row_pitches or ())}
    rows = [(off + start, max(end - start, 0.5), row_of.get(pitch, pitch))
            for m, off in zip(melodies, offsets, strict=True) if m is not None
            for pitch, start, end in representation.notes(m)]
    if not rows:
        return np.zeros((0, 4, 2))
    x, w, y = np.asarray(rows, dtype=np.float64).T
    corners = [(x, y - height / 2), (x + w, y - height / 2), (x + w, y + height / 2),
               (x, y + height / 2)]
    return np.stack([np.stack(c, axis=1) for c in corners], axis=1)


def _draw_roll(ax, melodies, offsets, titles, references, representation: Representation,
               pitch_range: tuple[float, float], px_per_step: float) -> None:
    """One axis: ``melodies`` placed at step ``offsets``, ``references`` (or Nones) beneath."""
    from matplotlib.collections import PolyCollection
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    lo, hi = pitch_range
    steps_per_bar, steps_per_beat = representation.steps_per_bar, representation.steps_per_quarter
    total = max(off + len(m) for m, off in zip(melodies, offsets, strict=True))
    bars = -(-total // steps_per_bar)
    if bars * steps_per_bar // steps_per_beat <= MAX_BAR_LINES:
        ax.vlines(range(0, total + 1, steps_per_beat), lo, hi, color="0.93", lw=0.5, zorder=0)
    bar_stride = steps_per_bar * _nice_stride(bars, MAX_BAR_LINES)
    ax.vlines(range(0, total + 1, bar_stride), lo, hi, color="0.6", lw=0.8, zorder=1)
    edge = {"edgecolor": "white", "linewidth": 0.6} if px_per_step >= MIN_EDGE_PX else {}
    for group, color, height, zorder in ((references, REFERENCE_COLOR, 0.95, 2),
                                         (melodies, NOTE_COLOR, 0.6, 3)):
        boxes = _note_boxes(group, offsets, height, representation)
        if len(boxes):
            ax.add_collection(PolyCollection(boxes, facecolor=color, zorder=zorder, **edge))
    few = len(melodies) <= MAX_LABELS
    for m, off in zip(melodies, offsets, strict=True):
        if few and not representation.onsets(m).any():
            ax.text(off + len(m) / 2, (lo + hi) / 2, "(no notes)", ha="center", va="center",
                    color="0.5", fontsize=8)
    joins = offsets[1 :: _nice_stride(len(melodies), MAX_BAR_LINES)]
    if joins:
        ax.vlines(joins, lo, hi, color="black", lw=1.5 if few else 0.6, zorder=4)
    if titles is not None:
        every = _nice_stride(len(titles), MAX_LABELS)
        for title, off in list(zip(titles, offsets, strict=True))[::every]:
            ax.text(off + 0.5, hi - 0.5, title, va="top", fontsize=7, color="0.25")
    ax.set_xlim(0, total)
    ax.set_ylim(lo, hi)
    bar_ticks = range(0, total + 1, steps_per_bar * _nice_stride(bars, MAX_BAR_TICKS))
    ax.set_xticks(list(bar_ticks), [str(s // steps_per_bar + 1) for s in bar_ticks], fontsize=7)
    if representation.row_labels:
        ax.set_yticks(range(len(representation.row_labels)), representation.row_labels)
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(_pitch_label))
    ax.tick_params(axis="y", labelsize=7)


def plot_pianoroll(
    melodies: Sequence[np.ndarray],
    path: str | Path,
    titles: Sequence[str] | None = None,
    representation: Representation = MELODY,
    joined: bool | None = None,
    references: Sequence[np.ndarray] | None = None,
    reference_label: str = "reference",
) -> Path:
    """Draw token melodies (each ``[T]``) as a piano roll PNG at ``path``.

    One panel per melody, or (``joined=True``, the default beyond ``MAX_ROWS`` melodies)
    all on one axis, one after another, separated by a thick line. Bar lines are grey,
    beat lines faint; the x axis counts bars from 1, the y axis names pitches (C4 = 60), or
    the representation's rows (drums: a grid of its classes, kick at the bottom);
    ``representation`` gives the notes of the tokens and the bar length.
    ``references`` (one per melody, e.g. the originals under their reconstructions) are
    drawn beneath in light grey, named ``reference_label`` in the legend. The cost is
    bounded for any length (one note collection per colour, thinned grid lines and labels):
    a long input comes out as an overview, at most 60 inches wide. Returns ``path``.
    """
    # matplotlib is imported here, not at the top: it costs a second or two at start-up,
    # which the command lines' quick paths (errors, --help) need not pay.
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    parts = getattr(representation, "part_representations", None)
    if parts:  # a step of several parts (the trio): a lane each
        from symusic.musicvae.tools.lanes import plot_lanes

        return plot_lanes(melodies, path, parts, representation.part_names, titles, references,
                          reference_label)
    melodies = [np.asarray(m) for m in melodies]
    if not melodies:
        raise ValueError("no melodies to plot")
    for name, other in (("titles", titles), ("references", references)):
        if other is not None and len(other) != len(melodies):
            raise ValueError(f"{len(other)} {name} for {len(melodies)} melodies")
    refs = [None] * len(melodies) if references is None else [np.asarray(r) for r in references]
    if representation.row_labels:  # a drum grid: every row, in order
        pitch_range = (-0.5, len(representation.row_labels) - 0.5)
    else:
        pitches = [p for m in [*melodies, *(r for r in refs if r is not None)]
                   for p, _, _ in representation.notes(m)]
        lo, hi = (min(pitches), max(pitches)) if pitches else (60, 72)
        if hi - lo < 12:
            lo, hi = (lo + hi) // 2 - 6, (lo + hi) // 2 + 6
        pitch_range = (lo - 1.5, hi + 1.5)
    if joined is None:
        joined = len(melodies) > MAX_ROWS
    if joined:
        offsets = np.cumsum([0] + [len(m) for m in melodies[:-1]]).tolist()
        total_steps = sum(len(m) for m in melodies)
        width = min(4 + total_steps / 24, 60)
        fig = Figure(figsize=(width, 3), layout="constrained")
        axes = [fig.add_subplot()]
        _draw_roll(axes[0], melodies, offsets, titles, refs, representation, pitch_range,
                   px_per_step=width * DPI / max(total_steps, 1))
    else:
        longest = max(len(m) for m in melodies)
        width = min(4 + longest / 12, 30)
        fig = Figure(figsize=(width, 0.4 + 1.8 * len(melodies)), layout="constrained")
        axes = list(fig.subplots(len(melodies), 1, squeeze=False)[:, 0])
        for i, ax in enumerate(axes):
            _draw_roll(ax, [melodies[i]], [0], None, [refs[i]], representation, pitch_range,
                       px_per_step=width * DPI / max(longest, 1))
            if titles is not None:
                ax.set_title(titles[i], fontsize=8, loc="left")
    axes[-1].set_xlabel("bar", fontsize=8)
    if references is not None:
        axes[0].legend(handles=[Patch(color=NOTE_COLOR, label="notes"),
                                Patch(color=REFERENCE_COLOR, label=reference_label)],
                       loc="upper right", fontsize=7, framealpha=0.9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def write_melodies_with_roll(
    melodies: Sequence[np.ndarray],
    out_dir: str | Path,
    stem: str,
    tempo: float = 120.0,
    program: int = 0,
    titles: Sequence[str] | None = None,
    references: Sequence[np.ndarray] | None = None,
    reference_label: str = "reference",
    representation: Representation = MELODY,
) -> tuple[Path, Path]:
    """Write ``out_dir/stem.mid`` (the melodies one after another) and ``out_dir/stem.png``
    (see :func:`plot_pianoroll` for ``titles`` and the ``references`` drawn beneath), the
    tokens read as ``representation`` says.

    Returns ``(mid_path, png_path)``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mid_path, png_path = out_dir / f"{stem}.mid", out_dir / f"{stem}.png"
    melodies = [np.asarray(m) for m in melodies]
    representation.write_midi(melodies, mid_path, tempo=tempo, program=program)
    plot_pianoroll(melodies, png_path, titles=titles, references=references,
                   reference_label=reference_label, representation=representation)
    return mid_path, png_path


# --- audio ---------------------------------------------------------------------------------


def find_soundfont(explicit: str | Path | None = None) -> Path | None:
    """The soundfont to use: ``explicit``, else ``$SYMUSIC_SOUNDFONT``, else a system GM one."""
    for candidate in (explicit, os.environ.get(SOUNDFONT_ENV), *SOUNDFONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def audio_problem(soundfont: str | Path | None = None) -> str | None:
    """Why audio cannot be rendered here (what to install), or None when it can."""
    if soundfont is not None and not Path(soundfont).is_file():
        return f"soundfont {soundfont} does not exist"
    if shutil.which("fluidsynth") is None and not _has_pyfluidsynth():
        return f"the fluidsynth program is not installed: {INSTALL_HINT}"
    if find_soundfont(soundfont) is None:
        return f"no General MIDI soundfont found: {INSTALL_HINT}"
    return None


def _has_pyfluidsynth() -> bool:
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def render_audio(
    midi_path: str | Path,
    wav_path: str | Path | None = None,
    soundfont: str | Path | None = None,
    sample_rate: int = 44100,
    timeout_s: float = 300.0,
) -> Path:
    """Synthesise ``midi_path`` to a WAV file (default: same name, ``.wav``) with FluidSynth.

    Uses the ``fluidsynth`` program, or pretty_midi's ``fluidsynth()`` when only the
    pyfluidsynth binding is installed. Raises ``AudioUnavailableError`` (its message says
    what to install) when neither is there, when no soundfont is found, or when synthesis
    fails. Returns the WAV path.
    """
    problem = audio_problem(soundfont)
    if problem:
        raise AudioUnavailableError(problem)
    sf2 = find_soundfont(soundfont)
    midi_path = Path(midi_path)
    wav_path = Path(wav_path) if wav_path is not None else midi_path.with_suffix(".wav")
    if shutil.which("fluidsynth"):
        # absolute paths: a relative one starting with "-" would be read as an option
        cmd = ["fluidsynth", "-ni", "-q", "-g", "0.8", "-r", str(sample_rate), "-F",
               str(wav_path.absolute()), str(sf2.absolute()), str(midi_path.absolute())]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as err:
            raise AudioUnavailableError(f"fluidsynth took over {timeout_s:.0f} s") from err
        if done.returncode != 0 or not wav_path.is_file():
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise AudioUnavailableError(f"fluidsynth failed on {midi_path}: {last[0]}")
        return wav_path
    import pretty_midi

    audio = pretty_midi.PrettyMIDI(str(midi_path)).fluidsynth(fs=sample_rate, sf2_path=str(sf2))
    peak = float(np.abs(audio).max()) or 1.0
    pcm = (audio / peak * 0.8 * 32767).astype("<i2")
    with wave.open(str(wav_path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return wav_path
