"""``symusic humanize`` and ``symusic drumify``: GrooVAE on a user's MIDI file.

    symusic humanize --checkpoint gmd-groovae-2bar-humanize --input beat.mid --out DIR
    symusic drumify  --checkpoint gmd-groovae-2bar-tap2drum --input taps.mid --out DIR [--track I]

Both read the whole file (any length, any one tempo, 4/4), run the model over it two bars at a
time (:mod:`symusic.musicvae.groove_performance`) and write, at the input's tempo and from its
first bar line: ``NAME_input.mid`` (what was read), ``NAME_humanized.mid`` or
``NAME_drumified.mid``, a picture of both (``.png``: timing and velocity) and, with
``--audio``, a WAV of each. Registered on the ``symusic`` parser by ``generate.py``; errors
are its ``run_cli``'s one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from symusic.data import groove_windows as G
from symusic.errors import InputError, printable
from symusic.musicvae.tools.cli import add_device_argument, check_output_folder

PROG = "symusic"


def add_groove_commands(subcommands) -> None:
    """Register ``humanize`` and ``drumify`` on the ``symusic`` parser's subparsers."""
    for name, help_text, default in (
            ("humanize", "make a mechanical drum beat feel played (GrooVAE): timing and "
                         "dynamics", "gmd-groovae-2bar-humanize"),
            ("drumify", "turn a tapped rhythm (the onsets of any track) into a drum beat "
                        "(GrooVAE)", "gmd-groovae-2bar-tap2drum")):
        p = subcommands.add_parser(name, help=help_text)
        p.add_argument("--checkpoint", default=default,
                       help="a GrooVAE checkpoint (.pt) or shipped name (default %(default)s)")
        add_device_argument(p)
        p.add_argument("--input", required=True, help="MIDI file (any length, one tempo, 4/4)")
        p.add_argument("--out", required=True, help="output folder")
        p.add_argument("--temperature", type=float, default=0.0 if name == "humanize" else 0.3,
                       help="0 = the most likely hits; higher = more adventurous "
                            "(default %(default)s" + ("; humanize: with --free-hits)"
                                                      if name == "humanize" else ")"))
        p.add_argument("--seed", type=int, default=None, help="random seed")
        p.add_argument("--audio", action="store_true",
                       help="also render WAV with FluidSynth and a GM soundfont")
        p.add_argument("--soundfont", default=None, help="soundfont .sf2 for --audio")
        if name == "humanize":
            p.add_argument("--free-hits", action="store_true",
                           help="let the model decode the hits too, as Magenta's GrooVAE does "
                                "(it may add or drop some); default: keep the input's hits")
        if name == "drumify":
            p.add_argument("--track", type=int, default=None,
                           help="the track whose onsets are the taps (default: a drum track, "
                                "else the track with the most notes)")
        p.set_defaults(func=cmd_groove, groove_command=name)


def cmd_groove(args: argparse.Namespace) -> None:
    """``humanize`` / ``drumify``: read, perform, write MIDI, the picture and the audio."""
    from symusic.musicvae.groove_performance import perform, read_beat
    from symusic.musicvae.inference import TrainedModel
    from symusic.musicvae.tools.groove_render import plot_groove
    from symusic.musicvae.tools.render import AudioUnavailableError, audio_problem, render_audio

    if not 0 <= args.temperature < float("inf"):
        raise InputError(f"--temperature must be 0 or a positive number, got {args.temperature}")
    if args.seed is not None and not 0 <= args.seed < 2**64:
        raise InputError(f"--seed must be 0 to 2**64 - 1, got {args.seed}")
    out = check_output_folder(args.out)
    taps = args.groove_command == "drumify"
    beat = read_beat(args.input, taps=taps, track=getattr(args, "track", None))
    model = TrainedModel.load(args.checkpoint, args.device)
    if model.representation.name != "groove":
        raise InputError(f"--checkpoint {printable(str(args.checkpoint))}: a "
                         f"{model.representation.name} model; {args.groove_command} needs a "
                         "GrooVAE model (gmd-groovae-2bar-humanize or -tap2drum)")
    keep_hits = not taps and not args.free_hits
    played = perform(model, beat.groove, args.temperature, args.seed, keep_hits=keep_hits)
    stem = Path(args.input).stem
    done = "drumified" if taps else "humanized"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, groove in (("input", beat.groove), (done, played)):
        path = out / f"{stem}_{kind}.mid"
        G.groove_to_midi(groove, tempo=beat.qpm).write(str(path))
        written.append(path)
    picture = plot_groove([beat.groove, played], out / f"{stem}_{done}.png",
                          titles=[f"input: {printable(Path(args.input).name)}, {beat.track}",
                                  f"{done} by {printable(str(args.checkpoint))}"],
                          qpm=beat.qpm)
    written.append(picture)
    if args.audio:
        if problem := audio_problem(args.soundfont):
            print(f"{PROG}: note: no audio written: {problem}", file=sys.stderr)
        else:
            for midi_path in written[:2]:
                try:
                    written.append(render_audio(midi_path, soundfont=args.soundfont))
                except AudioUnavailableError as err:
                    print(f"{PROG}: note: no audio for {midi_path.name}: {err}", file=sys.stderr)
    if beat.cut:
        print(f"{PROG}: note: only the first {beat.bars} bars were read", file=sys.stderr)
    hits_in, hits_out = beat.hits, int(G.hits(played).sum())
    print(f"{beat.bars} bars at {beat.qpm:g} bpm from {beat.track}: {hits_in} hits in, "
          f"{hits_out} out")
    print(f"wrote {len(written)} files to {out}: " + ", ".join(p.name for p in written))
