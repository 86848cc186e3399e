"""The corpus command line (``symusic.data.corpus`` runs :func:`main`).

* ``python -m symusic.data.corpus --out DIR [--rebuild] [--workers N] [--limit N]
  [--pack ARCHIVE]`` (``--name folk``, the default): unpacks the shipped folk corpus (seconds),
  or builds it from music21 with ``--rebuild`` (minutes); maintainers re-make the shipped
  archive with ``--rebuild --pack``.
* ``python -m symusic.data.corpus --name pop909 --from POP909 --out DIR [--limit N]
  [--train-tracks MELODY,BRIDGE]``: writes the melodies of a user's copy of POP909 into
  ``DIR/train`` and ``DIR/eval`` (``pop909``).
* ``python -m symusic.data.corpus --name groove --out DIR [--limit N]``: unpacks the shipped
  Groove MIDI Dataset (drums) into ``DIR/train``, ``DIR/validation`` and ``DIR/test`` by its
  official split (``groove``).
* ``python -m symusic.data.corpus --name lakh-trio --from LMD --out DIR [--limit N]
  [--workers N]``: copies the files of a user's multi-track collection (the Lakh MIDI
  Dataset) that hold a 16-bar trio into ``DIR/train`` and ``DIR/eval`` (``lakh_trio``).

A wrong argument or an output folder that cannot be written is one line on stderr, before any
work.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from symusic.atomic import folder_problem
from symusic.data.corpus import (
    LICENCE_NOTE,
    build_corpus,
    list_tunes,
    select_tunes,
)
from symusic.data.corpus_archive import ArchiveError, pack
from symusic.data.groove import unpack_groove
from symusic.data.lakh_trio import LakhTrioError, prepare_lakh_trio
from symusic.data.pop909 import Pop909Error, prepare_pop909, track_names

PROG = "python -m symusic.data.corpus"


def pack_corpus(corpus_dir: str | os.PathLike, archive: str | os.PathLike,
                limit: int | None = None) -> Path:
    """Pack the corpus built under ``corpus_dir`` (with the same ``limit``) into ``archive``.

    Raises ``ValueError`` when a tune's file is missing and not listed as failed."""
    corpus = Path(corpus_dir)
    manifest = json.loads((corpus / "manifest.json").read_text())
    files: dict[str, str] = {}
    failed: dict[str, tuple[str, str]] = {}
    for tune in select_tunes(list_tunes(), limit):
        name = tune.relative_path().as_posix()
        if name in manifest["failed"]:
            failed[name] = (tune.music_key, manifest["failed"][name])
        elif (corpus / name).is_file():
            files[name] = tune.music_key
        else:
            raise ValueError(f"{corpus} is not a complete build: {name} is missing")
    return pack(corpus, archive, files, failed, manifest, LICENCE_NOTE)


def argument_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments (one line), or None; checked before any work."""
    for name in ("workers", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return f"--{name} must be 1 or more, got {value}"
    if args.name != "folk" and (args.rebuild or args.pack
                                or (args.workers and args.name != "lakh-trio")):
        return f"--rebuild, --pack and --workers are for the folk corpus, not --name {args.name}"
    if args.name != "pop909" and args.train_tracks != ("MELODY",):
        return f"--train-tracks is for --name pop909, not --name {args.name}"
    try:
        track_names(args.train_tracks)
    except Pop909Error as err:
        return f"--train-tracks: {err}"
    if args.name == "pop909" and args.source is None:
        return ("--name pop909 needs --from PATH: the POP909 folder of a copy of "
                "https://github.com/music-x-lab/POP909-Dataset")
    if args.name == "lakh-trio" and args.source is None:
        return ("--name lakh-trio needs --from PATH: a folder of multi-track MIDI files, e.g. "
                "the lmd_full folder of the Lakh MIDI Dataset")
    if args.name in ("folk", "groove") and args.source is not None:
        return f"--from is for --name pop909; the {args.name} corpus ships with the package"
    if args.pack is not None:
        if Path(args.pack).is_dir():
            return f"--pack {args.pack} is a folder, not a file name"
        if problem := folder_problem(Path(args.pack).absolute().parent, "--pack's folder"):
            return problem
    return folder_problem(Path(args.out))


class Stopped(KeyboardInterrupt):
    """SIGTERM, answered as Ctrl-C is: the file being written is dropped, not left half."""

    signum = signal.SIGTERM


def _stop_on_sigterm(_signum, _frame) -> None:
    raise Stopped()


def _interrupted(error: KeyboardInterrupt) -> int:
    """128 + the signal that stopped the command (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + getattr(error, "signum", signal.SIGINT)


def main(argv: list[str] | None = None) -> int:
    """Command line: unpack (or build) the corpus and print one line per collection.

    A wrong argument or an output folder that cannot be written is one line on stderr and
    exit code 2, before any work. Ctrl-C or SIGTERM stops it in one line, keeping the whole
    files written (exit 130 or 143); the next run finishes the job."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    parser = argparse.ArgumentParser(
        prog=PROG, description="Unpack the built-in folk corpus that ships with the package "
        "(seconds), or build it from music21's ABC files with --rebuild (minutes).")
    parser.add_argument("--name", choices=("folk", "pop909", "groove", "lakh-trio"),
                        default="folk",
                        help="which corpus: folk (shipped, the default), pop909 (from a "
                             "copy you downloaded, see --from) or groove (drums, shipped)")
    parser.add_argument("--from", dest="source", metavar="PATH", default=None,
                        help="for --name pop909: the POP909 folder (NNN/NNN.mid song folders); "
                             "for --name lakh-trio: a folder of multi-track MIDI files")
    parser.add_argument("--out", default=None,
                        help="output folder (default data/folk, or data/pop909)")
    parser.add_argument("--rebuild", action="store_true",
                        help="build from music21's ABC files instead of unpacking the shipped "
                             "archive (minutes instead of seconds)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes that build (default: all cores)")
    parser.add_argument("--train-tracks", default=("MELODY",), metavar="TRACKS",
                        type=lambda text: tuple(text.split(",")),
                        help="for --name pop909: the tracks the train files keep, comma-"
                             "separated (MELODY, BRIDGE, PIANO; default MELODY; the eval "
                             "files always keep MELODY alone)")
    parser.add_argument("--limit", type=int, default=None,
                        help="only this many tunes (a mixed sample)")
    parser.add_argument("--pack", metavar="ARCHIVE", default=None,
                        help="then pack the corpus into ARCHIVE (for maintainers, with "
                             "--rebuild: symusic/data/folk_corpus.tar.xz)")
    args = parser.parse_args(argv)
    args.out = args.out or f"data/{args.name.replace('-', '_')}"
    problem = argument_problem(args)
    if problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        return 2
    if args.name == "pop909":
        return prepare_pop909_corpus(args)
    if args.name == "groove":
        return unpack_groove_corpus(args)
    if args.name == "lakh-trio":
        return prepare_lakh_trio_corpus(args)
    started = time.perf_counter()
    try:
        manifest = build_corpus(args.out, limit=args.limit, workers=args.workers,
                                rebuild=args.rebuild)
        if args.pack:
            print(f"packed into {pack_corpus(args.out, args.pack, args.limit)}")
    except ArchiveError as err:
        print(f"{PROG}: error: the shipped corpus archive is damaged ({err}); "
              "--rebuild builds the corpus from music21 instead", file=sys.stderr)
        return 1
    except (OSError, ValueError) as err:
        print(f"{PROG}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as stopped:
        print(f"{PROG}: interrupted; the files written are kept, run again to finish",
              file=sys.stderr)
        return _interrupted(stopped)
    for name, info in manifest["collections"].items():
        print(f"{name}: {info['tunes_found']:,} tunes, train {info['files']['train']:,}, "
              f"eval {info['files']['eval']:,}")
    print(f"{args.out}: {manifest['files']['train']:,} train and {manifest['files']['eval']:,} "
          f"eval files, {len(manifest['failed'])} tune(s) failed (see manifest.json) "
          f"[{time.perf_counter() - started:.1f} s]")
    return 0


def run_corpus_job(job: Callable[[], Any], errors: tuple[type[BaseException], ...],
                   report: Callable[[Any, float], str]) -> int:
    """Run ``job``; print ``report(its result, seconds)`` (exit 0), one line for an error of
    ``errors`` (exit 1), or an interruption (Ctrl-C, SIGTERM)."""
    started = time.perf_counter()
    try:
        result = job()
    except errors as err:
        print(f"{PROG}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as stopped:
        print(f"{PROG}: interrupted; run again to finish", file=sys.stderr)
        return _interrupted(stopped)
    print(report(result, time.perf_counter() - started))
    return 0


def prepare_pop909_corpus(args: argparse.Namespace) -> int:
    """``--name pop909``: write the melodies and print what was written (exit 0, or 1)."""
    def report(manifest: dict, seconds: float) -> str:
        files = manifest["files"]
        return (f"{args.out}: {files['train']:,} train and {files['eval']:,} eval songs, "
                f"{manifest['bars']:,} bars of 4/4 ({manifest['bars_left_out']:,} bars of "
                f"another length left out), {len(manifest['failed'])} song(s) skipped (see "
                f"manifest.json) [{seconds:.1f} s]")

    return run_corpus_job(lambda: prepare_pop909(args.source, args.out, limit=args.limit,
                                                 train_tracks=args.train_tracks),
                          (Pop909Error, OSError), report)


def unpack_groove_corpus(args: argparse.Namespace) -> int:
    """``--name groove``: unpack the shipped drums by split and print the counts (0, or 1)."""
    def report(counts: dict, seconds: float) -> str:
        return (f"{args.out}: the Groove MIDI Dataset (CC BY 4.0, see ATTRIBUTION.md): "
                + ", ".join(f"{part} {n:,}" for part, n in counts.items())
                + f" files [{seconds:.1f} s]")

    return run_corpus_job(lambda: unpack_groove(args.out, limit=args.limit),
                          (ArchiveError, OSError), report)


def prepare_lakh_trio_corpus(args: argparse.Namespace) -> int:
    """``--name lakh-trio``: copy the files with a trio and print the counts (0, or 1)."""
    def report(manifest: dict, seconds: float) -> str:
        files, left_out = manifest["files"], sum(manifest["left_out"].values())
        return (f"{args.out}: {files['train']:,} train and {files['eval']:,} eval files with a "
                f"16-bar trio, {left_out:,} left out (reasons in manifest.json) "
                f"[{seconds:.1f} s]")

    return run_corpus_job(lambda: prepare_lakh_trio(args.source, args.out, limit=args.limit,
                                                    workers=args.workers),
                          (LakhTrioError, OSError), report)


if __name__ == "__main__":
    sys.exit(main())
