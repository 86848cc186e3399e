"""``make demo``: from a fresh clone to a trained model and its melodies, with progress all along.

The phases (after ``make install``, which the Makefile runs first), each announced with what
it does and about how long it takes on 2 idle cores:

1. **corpus**: unpack the built-in folk corpus shipped with the package into ``data/folk``;
2. **training**: the real Sacred experiment on it (the same as ``python -m
   symusic.musicvae.train with config_flat_2bar_small.json -F runs/demo``), with a live bar;
3. **samples**: 8 samples from the prior and an interpolation between two evaluation melodies,
   as MIDI and piano-roll PNG, and as WAV when FluidSynth and a soundfont are installed;
   with the shipped drum model, eight of its beats too (drum MIDI, a drum grid, WAV).

Then a summary: where everything is, the final evaluation, and what to try next. Each phase is
one function of a :class:`Demo` in :data:`PHASES`, so a phase is added by writing one more.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from symusic import progress

CONFIG = Path(__file__).resolve().parent / "musicvae" / "config_flat_2bar_small.json"
PROG = "demo"
SHIPPED_MODEL = "folk-mel-2bar"  # its melodies are written beside the trained model's
DRUM_MODEL, DRUM_SAMPLES = "gmd-drums-2bar", 8  # when shipped: eight of its beats too
# On 2 idle cores of the AVX-512 Xeon (benchmarks/README.md): the flat small model trains
# about 8 steps/s at first and slower as scheduled sampling grows; the first read of the
# corpus (then cached) is 35 CPU-seconds, in 2 processes. The bar shows the real rate.
TRAIN_STEPS_PER_S = 6.0
FIRST_READ_S = 30.0


class DemoError(RuntimeError):
    """A phase could not finish; the message says why (one line)."""


@dataclass
class Demo:
    """What the phases share: the command line, and what each phase made."""

    args: argparse.Namespace
    run_dir: Path | None = None
    checkpoint: Path | None = None
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def num_steps(self) -> int:
        """The training steps the config (or a ``num_steps=N`` override) asks for."""
        steps = json.loads(Path(self.args.config).read_text()).get("num_steps", 0)
        for override in self.args.overrides:
            key, _, value = override.partition("=")
            if key == "num_steps" and value.isdigit():
                steps = int(value)
        return int(steps)


def corpus_phase(demo: Demo) -> None:
    """Unpack the shipped folk corpus (builds only what the archive lacks)."""
    from symusic.atomic import folder_problem
    from symusic.data.corpus import build_corpus
    from symusic.data.corpus_archive import ArchiveError

    if problem := folder_problem(Path(demo.args.corpus), "--corpus"):
        raise DemoError(problem)
    try:
        manifest = build_corpus(demo.args.corpus, limit=demo.args.limit, progress=True)
    except (ArchiveError, OSError) as err:
        raise DemoError(f"the corpus could not be written: {err}") from None
    print(f"{demo.args.corpus}: {manifest['files']['train']:,} train and "
          f"{manifest['files']['eval']:,} eval tunes")


def training_phase(demo: Demo) -> None:
    """Run the Sacred experiment in a child process; a Ctrl-C stops it with a checkpoint."""
    runs = Path(demo.args.runs)
    command = [sys.executable, "-m", "symusic.musicvae.train", "with", demo.args.config,
               *demo.args.overrides, "-F", str(runs)]
    print("$", " ".join(command), flush=True)
    env, note = training_environment()
    if note:
        print(f"note: {note}", flush=True)
    interrupted: list[int] = []
    # The terminal sends Ctrl-C to the child too: it saves a checkpoint and stops; this
    # process waits for that instead of killing it half-way.
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: interrupted.append(signum))
    try:
        code = subprocess.call(command, env=env)
    finally:
        signal.signal(signal.SIGINT, previous)
    demo.run_dir = latest_run(runs)
    demo.checkpoint = demo.run_dir / "checkpoints" / "best.pt"
    if interrupted:
        raise KeyboardInterrupt
    if code != 0:
        raise DemoError(f"training stopped with exit code {code} (its message is above)")
    if not demo.checkpoint.is_file():
        raise DemoError(f"training wrote no {demo.checkpoint} (it stopped before its first "
                        "evaluation)")


def training_environment() -> tuple[dict[str, str], str | None]:
    """The training's environment, and a note when the cores are already busy.

    torch's threads of one operation must all run before it ends: on cores that other jobs
    keep busy they mostly wait for each other. With a load of 9 on 2 cores a step of the demo
    model took over 20 s on 2 threads and 4.7 s on one (benchmarks/README.md, "make demo"),
    so a busy machine trains on one thread (unless ``OMP_NUM_THREADS`` says otherwise).
    """
    env = dict(os.environ)
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on this system
        return env, None
    if load < cores or "OMP_NUM_THREADS" in env:
        return env, None
    env["OMP_NUM_THREADS"] = "1"
    return env, (f"the {cores} cores are busy (load {load:.1f}): training runs on one thread, "
                 "which is faster there, and takes longer than the estimate")


def samples_phase(demo: Demo) -> None:
    """Samples from the prior and an interpolation, from the model just trained and from the
    shipped ``folk-mel-2bar`` beside it: MIDI + PNG, and WAV when possible."""
    from symusic.data.dataset import MelodyCollection, make_eval_loader
    from symusic.musicvae.inference import TrainedModel
    from symusic.musicvae.tools.render import audio_problem

    model = TrainedModel.load(demo.checkpoint)
    eval_dir = json.loads((demo.run_dir / "config.json").read_text())["eval_dir"]
    settings = model.data_settings  # read the eval tunes as training did (its cache is warm)
    melodies = MelodyCollection.from_folder(eval_dir, programs=settings.programs,
                                            extraction=settings.extraction, progress=False)
    windows = next(iter(make_eval_loader(melodies, slice_bar=model.bars,
                                         batch_size=64, num_workers=0)))
    ends = (windows[0].numpy(), windows[-1].numpy())
    no_audio = audio_problem()
    if no_audio:
        demo.notes.append(f"no WAV files: {no_audio}")
    out = demo.run_dir / "demo"
    tasks = _melody_tasks(demo, model, out, ends, with_audio=not no_audio)
    if SHIPPED_MODEL in _shipped_names() and model.bars == 2:
        shipped = TrainedModel.load(SHIPPED_MODEL)
        tasks += _melody_tasks(demo, shipped, out / SHIPPED_MODEL, ends,
                               with_audio=not no_audio)
    if DRUM_MODEL in _shipped_names():
        tasks += _drum_tasks(demo, TrainedModel.load(DRUM_MODEL), out / DRUM_MODEL,
                             with_audio=not no_audio)
    for task in progress.bar(tasks, desc="writing", unit="part"):
        demo.written += task()
    for path in demo.written:
        print(f"  wrote {path}")


def _shipped_names() -> set[str]:
    from symusic.musicvae.pretrained import shipped_models

    return set(shipped_models())


def _melody_tasks(demo: Demo, model, out: Path, ends: tuple[np.ndarray, np.ndarray],
                  with_audio: bool) -> list[Callable[[], list[Path]]]:
    """The writing jobs for one model: its samples, its interpolation between ``ends``, and
    their WAV files when ``with_audio``."""
    from symusic.musicvae.tools.render import (
        AudioUnavailableError,
        render_audio,
        write_melodies_with_roll,
    )

    start, end = ends

    def samples() -> list[Path]:
        drawn = model.sample(demo.args.num_samples, temperature=0.5, seed=0)
        return list(write_melodies_with_roll(list(drawn), out, "samples",
                                             representation=model.representation))

    def interpolation() -> list[Path]:
        _, steps = model.interpolate(start, end, steps=7)
        return list(write_melodies_with_roll(
            [start, *steps, end], out, "interpolation",
            titles=["start (original)", *[f"step {i}" for i in range(7)], "end (original)"],
            representation=model.representation))

    def audio(stem: str) -> Callable[[], list[Path]]:
        def render() -> list[Path]:
            try:
                return [render_audio(out / f"{stem}.mid")]
            except AudioUnavailableError as err:
                demo.notes.append(f"no {stem}.wav: {err}")
                return []
        return render

    return [samples, interpolation] + ([audio("samples"), audio("interpolation")]
                                       if with_audio else [])


def _drum_tasks(demo: Demo, model, out: Path, with_audio: bool) -> list[Callable[[], list[Path]]]:
    """The writing jobs for the shipped drum model: eight beats from its prior (temperature
    0.5) as drum MIDI and a drum grid, and their WAV file when ``with_audio``."""
    from symusic.musicvae.tools.render import (
        AudioUnavailableError,
        render_audio,
        write_melodies_with_roll,
    )

    def beats() -> list[Path]:
        drawn = model.sample(DRUM_SAMPLES, temperature=0.5, seed=0)
        return list(write_melodies_with_roll(list(drawn), out, "drum_samples",
                                             representation=model.representation))

    def audio() -> list[Path]:
        try:
            return [render_audio(out / "drum_samples.mid")]
        except AudioUnavailableError as err:
            demo.notes.append(f"no drum_samples.wav: {err}")
            return []

    return [beats] + ([audio] if with_audio else [])


@dataclass(frozen=True)
class Phase:
    """One step of the demo: its name, what it does, about how long, and the function."""

    name: str
    does: str
    takes: Callable[[Demo], str]
    run: Callable[[Demo], None]


def _training_time(demo: Demo) -> str:
    steps = demo.num_steps()
    minutes = (steps / TRAIN_STEPS_PER_S + FIRST_READ_S) / 60
    return (f"about {max(round(minutes), 1)} min on 2 idle cores for {steps:,} steps, "
            "longer on busy ones; the bar shows the rate and the time left")


PHASES = [
    Phase("corpus", "unpack the built-in folk corpus that ships with the package",
          lambda demo: "a few seconds", corpus_phase),
    Phase("training", "train the small flat 2-bar MusicVAE on it", _training_time,
          training_phase),
    Phase("samples", "write 8 samples and an interpolation as MIDI, piano rolls and WAV, "
          f"and the same from the shipped {SHIPPED_MODEL}",
          lambda demo: "under a minute", samples_phase),
]


def latest_run(runs: Path) -> Path:
    """The newest numbered Sacred run folder under ``runs``."""
    numbered = [p for p in runs.iterdir() if p.is_dir() and p.name.isdigit()] \
        if runs.is_dir() else []
    if not numbered:
        raise DemoError(f"no run folder was written under {runs}")
    return max(numbered, key=lambda p: int(p.name))


def summary(demo: Demo, seconds: float) -> str:
    """What the demo made, how well the model does, and what to try next."""
    info = json.loads((demo.run_dir / "info.json").read_text()) \
        if (demo.run_dir / "info.json").is_file() else {}
    metrics = info.get("final_eval", {})
    wavs = [p for p in demo.written if p.suffix == ".wav"]
    lines = [
        f"Demo finished in {seconds / 60:.1f} min.",
        f"  run folder:  {demo.run_dir}   (Sacred's config, metrics and cout.txt)",
        f"  checkpoint:  {demo.checkpoint}",
        f"  melodies:    {demo.run_dir / 'demo'}   (MIDI for any DAW, PNG piano rolls"
        + (", WAV)" if wavs else ")"),
        *[f"  listen:      {p}" for p in wavs],
        *[f"  note:        {note}" for note in demo.notes],
        "  final evaluation: teacher-forced accuracy "
        f"{metrics.get('teacher_forced_accuracy', np.nan):.3f} (note onsets "
        f"{metrics.get('teacher_forced_note_accuracy', np.nan):.3f}), sampled (greedy) accuracy "
        f"{metrics.get('sampled_accuracy', np.nan):.3f}, "
        f"KL {metrics.get('kl_bits', np.nan):.1f} bits",
        *_shipped_lines(demo),
        "",
        "Next:",
        f"  .venv/bin/python -m symusic.studio {demo.checkpoint} --data "
        f"{demo.args.corpus}/eval   # hear, walk and mix in the browser",
        "  .venv/bin/symusic sample --checkpoint folk-mel-2bar --num 8 --out samples --audio"
        "   # a model trained longer",
        "  README.md, \"Train on your own MIDI\": the same on a folder of your own files",
        f"  .venv/bin/tensorboard --logdir {demo.args.runs}",
    ]
    return "\n".join(lines)


def _shipped_lines(demo: Demo) -> list[str]:
    """The summary's lines on the shipped model whose melodies were written beside ours."""
    from symusic.musicvae.pretrained import shipped_models

    folder = demo.run_dir / "demo" / SHIPPED_MODEL
    shipped = shipped_models().get(SHIPPED_MODEL)
    if shipped is None or not folder.is_dir():
        return []
    f = shipped.figures
    return [
        f"  beside them: {folder}   (the same from the shipped {SHIPPED_MODEL}, trained longer)",
        f"  {SHIPPED_MODEL} (whole eval split): teacher-forced accuracy "
        f"{f['teacher_forced_accuracy']:.3f} (note onsets "
        f"{f['teacher_forced_note_accuracy']:.3f}), sampled (greedy) accuracy "
        f"{f['sampled_accuracy']:.3f}, KL {f['kl_bits']:.1f} bits (docs/MODELS.md)",
    ]


def build_parser() -> argparse.ArgumentParser:
    """The demo's command line (``make demo`` runs it without arguments)."""
    parser = argparse.ArgumentParser(prog="python -m symusic.demo",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="runs/demo", help="Sacred run folder root")
    parser.add_argument("--config", default=str(CONFIG))
    parser.add_argument("--corpus", default="data/folk", help="where the corpus goes")
    parser.add_argument("--limit", type=int, default=None,
                        help="only this many tunes of the corpus (a quick trial)")
    parser.add_argument("--num-samples", type=int, default=8)
    parser.add_argument("overrides", nargs="*", help="Sacred config overrides, e.g. num_steps=500")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run every phase in turn; returns the exit code."""
    parser = build_parser()
    demo = Demo(parser.parse_args(argv))
    for name in ("limit", "num_samples"):
        value = getattr(demo.args, name)
        if value is not None and value < 1:
            print(f"{PROG}: error: --{name.replace('_', '-')} must be 1 or more, got {value}",
                  file=sys.stderr)
            return 2
    started = time.perf_counter()
    for number, phase in enumerate(PHASES, start=1):
        print(f"\n== [{number}/{len(PHASES)}] {phase.name}: {phase.does} "
              f"({phase.takes(demo)}) ==", flush=True)
        phase_started = time.perf_counter()
        try:
            phase.run(demo)
        except DemoError as err:
            print(f"{PROG}: error: {err}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted in the {phase.name} phase", file=sys.stderr)
            return 130
        print(f"   {phase.name} took {time.perf_counter() - phase_started:.0f} s", flush=True)
    print("\n" + summary(demo, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
