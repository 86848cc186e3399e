"""Generate from a trained checkpoint: ``python -m symusic.musicvae.generate`` (or ``symusic``).

Subcommands::

    symusic sample      --checkpoint C --num N --temperature T [--prior P] [--seed S] --out DIR
    symusic interpolate --checkpoint C --start A.mid --end B.mid --steps K --out DIR
                        [--track I] [--bar B]
    symusic reconstruct --checkpoint C --input X.mid --out DIR [--track I]
    symusic encode      --checkpoint C --input DIR --out z.npy [--batch-size B]
    symusic import-magenta MAGENTAJS_FOLDER --out model.pt [--half] [--config-out FILE]
    symusic export-magenta CHECKPOINT OUT_DIR [--quantize uint8|uint16|float16]

Every MIDI file written gets a piano-roll PNG beside it, and a WAV with ``--audio``.
The model work is ``symusic.musicvae.inference.TrainedModel``'s; this module is the command line.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from symusic.data import midi_windows as mw
from symusic.data.representation import MELODY, Representation
from symusic.errors import InputError, printable
from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.model.prior import PRIORS
from symusic.musicvae.tools.cli import (
    add_device_argument,
    check_output_file,
    check_output_folder,
    run_cli,
)
from symusic.musicvae.tools.groove import add_groove_commands
from symusic.musicvae.tools.magenta import add_magenta_commands
from symusic.musicvae.tools.render import (
    AudioUnavailableError,
    audio_problem,
    render_audio,
    write_melodies_with_roll,
)

PROG = "symusic"
MAX_NUM = MAX_STEPS = 1000  # each melody is a MIDI file and a PNG: more is a batch job
MIN_TEMPO, MAX_TEMPO = 4.0, 1000.0  # BPM; a MIDI file's slowest tempo is about 3.6
DESCRIPTION = "Sample, interpolate, reconstruct and encode melodies with a MusicVAE checkpoint."
EXAMPLES = """examples:
  symusic sample --checkpoint best.pt --num 8 --temperature 0.5 --out samples --audio
  symusic interpolate --checkpoint best.pt --start a.mid --end b.mid --steps 7 --out morph
  symusic interpolate --checkpoint best.pt --start song.mid --track 1 --bar 8 --end b.mid ...
  symusic reconstruct --checkpoint best.pt --input tune.mid --out recon
  symusic encode --checkpoint best.pt --input midi_folder --out latents/z.npy

Every MIDI file written gets a piano-roll PNG beside it (and a WAV with --audio).
"""


# --- writing -------------------------------------------------------------------------------


class Writer:
    """Writes melodies as MIDI + PNG (+ WAV with ``--audio``) and lists what it wrote."""

    def __init__(self, out_dir: Path, args: argparse.Namespace) -> None:
        if not MIN_TEMPO <= args.tempo <= MAX_TEMPO:
            raise InputError(f"--tempo must be {MIN_TEMPO:g} to {MAX_TEMPO:g} BPM, "
                             f"got {args.tempo}")
        if args.seed is not None and not 0 <= args.seed < 2**64:
            raise InputError(f"--seed must be 0 to 2**64 - 1, got {args.seed}")
        out_dir = check_output_folder(out_dir)
        if not 0 <= args.program <= 127:
            raise InputError(f"--program must be a General MIDI program 0..127, "
                             f"got {args.program}")
        self.out_dir, self.tempo, self.program = out_dir, args.tempo, args.program
        self.audio = args.audio
        self.soundfont = args.soundfont
        self.written: list[Path] = []
        # the loaded model's (set once it is loaded: the options are checked before the load)
        self.representation: Representation = MELODY
        if self.audio and (problem := audio_problem(self.soundfont)):
            print(f"{PROG}: note: no audio will be written: {problem}", file=sys.stderr)
            self.audio = False

    def write(self, melodies: Sequence[np.ndarray], stem: str,
              titles: Sequence[str] | None = None,
              originals: Sequence[np.ndarray] | None = None) -> Path:
        """Write ``stem.mid``, ``stem.png`` (and ``stem.wav``); return the MIDI path.

        ``originals`` are drawn in grey beneath the notes of the piano roll."""
        mid, png = write_melodies_with_roll(melodies, self.out_dir, stem, tempo=self.tempo,
                                            program=self.program, titles=titles,
                                            references=originals, reference_label="original",
                                            representation=self.representation)
        self.written += [mid, png]
        if self.audio:
            try:
                self.written.append(render_audio(mid, soundfont=self.soundfont))
            except AudioUnavailableError as err:
                print(f"{PROG}: note: no audio for {mid.name}: {err}", file=sys.stderr)
        return mid

    def report(self) -> None:
        """Tell the user where the files are."""
        kinds = sorted({p.suffix for p in self.written})
        print(f"wrote {len(self.written)} files ({', '.join(kinds)}) to {self.out_dir}")


def _check_temperature(temperature: float) -> None:
    if not 0 <= temperature < float("inf"):
        raise InputError(f"--temperature must be 0 (argmax) or a positive number, "
                         f"got {temperature}")


# --- subcommands ---------------------------------------------------------------------------


def cmd_sample(args: argparse.Namespace) -> None:
    """``sample``: melodies from the prior, one file each and all joined."""
    if not 1 <= args.num <= MAX_NUM:
        raise InputError(f"--num must be 1 to {MAX_NUM}, got {args.num}")
    _check_temperature(args.temperature)
    writer = Writer(Path(args.out), args)
    model = TrainedModel.load(args.checkpoint, args.device)
    writer.representation = model.representation
    melodies = model.sample(args.num, args.temperature, args.seed, args.prior)
    if args.prior == "auto" and model.model.prior is not None:
        print(f"z drawn from the model's prior: {model.prior_name} (--prior normal for "
              "N(0, I))")
    width = len(str(args.num))
    titles = [f"sample {i + 1:0{width}d}" for i in range(args.num)]
    for i, melody in enumerate(melodies):
        writer.write([melody], f"sample_{i + 1:0{width}d}", titles=[titles[i]])
    writer.write(list(melodies), "samples", titles=titles)
    writer.report()


def cmd_interpolate(args: argparse.Namespace) -> None:
    """``interpolate``: slerp between the windows of two files, each step and all joined."""
    if not 2 <= args.steps <= MAX_STEPS:
        raise InputError(f"--steps must be 2 to {MAX_STEPS} (both ends are included), "
                         f"got {args.steps}")
    _check_temperature(args.temperature)
    writer = Writer(Path(args.out), args)
    model = TrainedModel.load(args.checkpoint, args.device)
    writer.representation = model.representation
    ends = []
    for which, path in (("start", args.start), ("end", args.end)):
        track = getattr(args, f"{which}_track")
        bar = getattr(args, f"{which}_bar")
        window, source = model.pick_window(path, args.track if track is None else track,
                                           args.bar if bar is None else bar)
        chosen = (" (its first window; --bar picks another)"
                  if args.bar is None and bar is None else "")
        print(f"{which}: {path}, track {source.track}, melody {source.melody}, "
              f"bar {source.bar}{chosen}, {model.bars} bars")
        ends.append(window)
    z, tokens = model.interpolate(ends[0], ends[1], args.steps, args.temperature, args.seed)
    width = len(str(args.steps))
    titles = [f"step {i + 1:0{width}d} of {args.steps}" for i in range(args.steps)]
    for i, melody in enumerate(tokens):
        writer.write([melody], f"interp_{i + 1:0{width}d}", titles=[titles[i]])
    writer.write(list(tokens), "interpolation", titles=titles)
    writer.write(ends, "inputs", titles=["start (input)", "end (input)"])
    np.save(Path(args.out) / "interpolation_z.npy", z)
    writer.written.append(Path(args.out) / "interpolation_z.npy")
    writer.report()


def cmd_reconstruct(args: argparse.Namespace) -> None:
    """``reconstruct``: every non-overlapping window of a file through the model, in order."""
    _check_temperature(args.temperature)
    writer = Writer(Path(args.out), args)
    model = TrainedModel.load(args.checkpoint, args.device)
    writer.representation = model.representation
    windows, sources = model.file_windows(args.input, args.track)
    recon = model.reconstruct(windows, args.temperature, args.seed)
    titles = [f"window at bar {s.bar} (melody {s.melody})" for s in sources]
    writer.write(list(recon), "reconstruction", titles=titles, originals=list(windows))
    writer.write(list(windows), "original", titles=titles)
    accuracy = float(np.mean(recon == windows))
    print(f"{len(windows)} windows of {model.bars} bars from track {sources[0].track}; "
          f"token accuracy {accuracy:.3f}")
    writer.report()


def cmd_encode(args: argparse.Namespace) -> None:
    """``encode``: mu of every window of every file in a folder, with an index CSV."""
    for name in ("hop_bars", "batch_size"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be 1 or more, "
                             f"got {getattr(args, name)}")
    out = Path(args.out)
    if out.suffix != ".npy":
        out = out.with_name(out.name + ".npy")  # as np.save would name it
    index = out.with_name(out.name.removesuffix(".npy") + ".index.csv")
    for path in (out, index):
        check_output_file(path)
    model = TrainedModel.load(args.checkpoint, args.device, args.batch_size)
    files = mw.midi_files(args.input)
    hop = model.representation.window_length(args.hop_bars)
    skipped: dict[str, str] = {}
    found = list(model.folder_windows(tqdm(files, desc="reading", unit="file", disable=None),
                                      hop, skipped=skipped))
    for path, reason in skipped.items():
        print(printable(f"{PROG}: note: skipped {path}: {reason}"), file=sys.stderr)
    if not found:
        raise InputError(f"{args.input}: no melody of {model.bars} bars or more in any of its "
                         f"{len(files)} MIDI files")
    windows = np.stack([w for w, _ in found])
    z = model.encode(windows, progress=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, z)
    with index.open("w", newline="") as handle:
        fields = ["row", *(f.name for f in dataclasses.fields(mw.WindowSource))]
        rows = csv.DictWriter(handle, fieldnames=fields)
        rows.writeheader()
        for row, (_, source) in enumerate(found):
            where = dataclasses.asdict(source)
            rows.writerow({"row": row, **where, "file": printable(str(where["file"]))})
    used = len({source.file for _, source in found})
    print(f"encoded {len(z)} window{'s' if len(z) != 1 else ''} from {used} "
          f"file{'s' if used != 1 else ''}: {out} {tuple(z.shape)}, index {index}")


# --- argument parsing ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``symusic`` command."""
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--checkpoint", required=True,
                        help="model checkpoint (.pt) or a shipped model's name "
                             "(see `symusic models`)")
    add_device_argument(common)
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--out", required=True, help="output folder")
    output.add_argument("--tempo", type=float, default=120.0,
                        help=f"BPM of the MIDI written, {MIN_TEMPO:g} to {MAX_TEMPO:g} "
                             f"(default %(default)s)")
    output.add_argument("--program", type=int, default=0, help="GM program (0 = piano)")
    output.add_argument("--audio", action="store_true",
                        help="also render WAV with FluidSynth and a GM soundfont")
    output.add_argument("--soundfont", default=None, help="soundfont .sf2 for --audio")
    output.add_argument("--seed", type=int, default=None, help="random seed")

    p = sub.add_parser("sample", parents=[common, output], help="melodies from the prior")
    p.add_argument("--num", type=int, default=8,
                   help=f"how many, at most {MAX_NUM} (default %(default)s)")
    p.add_argument("--temperature", type=float, default=0.5,
                   help="0 = argmax, higher = more adventurous (default %(default)s)")
    p.add_argument("--prior", choices=PRIORS, default="auto",
                   help="where z is drawn from: normal = N(0, I), fitted = the mixture fitted "
                        "to the model's codes (tools.fit_prior), auto = fitted where the model "
                        "has one (default)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("interpolate", parents=[common, output],
                       help="morph between the melodies of two MIDI files")
    p.add_argument("--start", required=True, help="MIDI file of the first melody")
    p.add_argument("--end", required=True, help="MIDI file of the last melody")
    p.add_argument("--steps", type=int, default=7,
                   help=f"steps, both ends included, at most {MAX_STEPS} (default %(default)s)")
    p.add_argument("--track", type=int, default=None,
                   help="MIDI track (instrument index) to read, when a file has several")
    p.add_argument("--bar", type=int, default=None,
                   help="the file's bar the window starts on, from 0 (a DAW's bar 1); "
                        "default: the first window; a wrong value lists the possible ones")
    for which in ("start", "end"):
        p.add_argument(f"--{which}-track", type=int, default=None, help=f"--track for --{which}")
        p.add_argument(f"--{which}-bar", type=int, default=None, help=f"--bar for --{which}")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = argmax (default)")
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("reconstruct", parents=[common, output],
                       help="encode and decode every window of a MIDI file")
    p.add_argument("--input", required=True, help="MIDI file")
    p.add_argument("--track", type=int, default=None, help="MIDI track, when several")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = argmax (default)")
    p.set_defaults(func=cmd_reconstruct)

    p = sub.add_parser("encode", parents=[common],
                       help="latent vectors (mu) of every window of a folder of MIDI files")
    p.add_argument("--input", required=True, help="folder of MIDI files (searched recursively)")
    p.add_argument("--out", required=True, help="output .npy; the index goes beside it")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--hop-bars", type=int, default=1, help="bars between window starts")
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("models", help="list the models that ship with symusic "
                                      "(use a name as --checkpoint)")
    p.set_defaults(func=cmd_models)

    add_magenta_commands(sub)
    add_groove_commands(sub)
    return parser


def cmd_models(args: argparse.Namespace) -> None:
    """``symusic models``: the shipped models and their headline figures."""
    from symusic.musicvae.pretrained import format_models_table, shipped_models

    print(format_models_table(shipped_models()))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``symusic`` and ``python -m symusic.musicvae.generate``."""
    args = build_parser().parse_args(argv)
    return run_cli(PROG, args.func, args)


if __name__ == "__main__":
    sys.exit(main())
