"""The built-in folk corpus: monophonic tunes from music21's shipped ABC files, written as MIDI.

Three collections ship inside the ``music21`` package (no download needed):

* ``essen``: the Essen folk song collection (``essenFolksong/*.abc``, many tunes per file);
* ``oneills``: O'Neill's *Music of Ireland* (1850 tunes; ``oneills1850/*.abc``);
* ``ryans``: Ryan's *Mammoth Collection* (``ryansMammoth/*.abc``, one tune per file).

Each tune becomes one single-instrument MIDI file at 120 bpm (``<out>/<split>/<collection>/
<abc stem>-<position>.mid``). The melody is written from ``score.flatten().stripTies().notes``
rather than music21's own MIDI writer, which fails on about a fifth of the Essen tunes:
grace notes are dropped, chords and same-onset notes keep their highest pitch, and a note is
cut at the next onset, so every file is a clean monophonic line.

The train/eval split (about 90/10) hashes each tune's music (its ABC body without titles,
numbers and notes), so a tune that appears twice lands in one split; exact repeats are
written once. Running the builder again skips the files that exist.

The built corpus ships with the package (``folk_corpus.tar.xz``, see ``corpus_archive``), so
the command line unpacks it in seconds; ``--rebuild`` builds it from music21 (minutes), and a
test rebuilds a sample and checks it equals the shipped files byte for byte.

Command line: ``python -m symusic.data.corpus --out data/folk [--rebuild] [--workers N]
[--limit N]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pretty_midi

from symusic.atomic import atomic_write
from symusic.data.corpus_archive import ARCHIVE, remove_stale_temporaries_under, unpack
from symusic.data.workers import die_with_parent
from symusic.progress import bar as progress_bar

COLLECTIONS = {"essen": "essenFolksong", "oneills": "oneills1850", "ryans": "ryansMammoth"}
SPLITS = ("train", "eval")
EVAL_PERCENT = 10
TEMPO = 120.0
RESOLUTION = 480  # ticks per quarter note: divisible by 3 and 4, so triplets stay exact-ish
VELOCITY = 80
TUNES_PER_S_PER_CORE = 14  # building from ABC: 11,499 tunes took about 7 min on 2 idle cores

# ABC header fields that name or describe a tune without changing its notes.
_DESCRIPTIVE_FIELD = re.compile(r"^\s*[XTNORBZSHCDFGAWw]:")

LICENCE_NOTE = (
    "Tunes from the corpus shipped with music21 (BSD-licensed software; corpus/license.txt: "
    "encodings are distributed with the permission of their encoders and, to music21's "
    "knowledge, are out of copyright in the United States or licensed for use, possibly with "
    "restrictions on commercial use). The Essen folk songs (encoded under Helmut Schaffrath, "
    "ABC by Seymour Shlien) are distributed with music21 with permission for non-commercial "
    "distribution and use (corpus/essenFolksong/license.txt). O'Neill's Music of Ireland "
    "(1850 tunes, published 1903) and Ryan's Mammoth Collection (1883) are traditional tunes "
    "in printed collections in the public domain; their ABC transcriptions are by volunteers "
    "named in each tune's Z: field. Use this corpus for research and non-commercial work."
)


@dataclass(frozen=True)
class Tune:
    """One tune of an ABC file: where it comes from and its ABC text."""

    collection: str  # key of COLLECTIONS
    source: str  # path inside music21's corpus, e.g. "essenFolksong/altdeu10.abc"
    position: int  # 1-based position of the tune in its file
    text: str

    @property
    def music_key(self) -> str:
        """Stable hash of the tune's music (ABC body without descriptive fields)."""
        body = "\n".join(
            line.strip() for line in self.text.splitlines()
            if line.strip() and not _DESCRIPTIVE_FIELD.match(line)
        )
        return hashlib.sha1(body.encode("utf-8")).hexdigest()

    @property
    def split(self) -> str:
        """``"eval"`` for about EVAL_PERCENT % of tunes (by music hash), else ``"train"``."""
        return "eval" if int(self.music_key[:8], 16) % 100 < EVAL_PERCENT else "train"

    def relative_path(self) -> Path:
        """Where the tune's MIDI goes, relative to the corpus root."""
        stem = Path(self.source).stem
        return Path(self.split, self.collection, f"{stem}-{self.position:04d}.mid")


def music21_corpus_dir() -> Path:
    """The folder of music21's shipped corpus."""
    import music21

    return Path(music21.__file__).parent / "corpus"


def split_abc_tunes(text: str) -> list[str]:
    """Split an ABC file's text into one string per tune (each starting at its ``X:`` line)."""
    tunes: list[list[str]] = []
    for line in text.splitlines():
        if line.lstrip().startswith("X:"):
            tunes.append([])
        if tunes:
            tunes[-1].append(line)
    return ["\n".join(lines) for lines in tunes]


def list_tunes(corpus_dir: Path | None = None) -> list[Tune]:
    """Every tune of the three collections, in a fixed order (collection, file, position)."""
    corpus_dir = corpus_dir or music21_corpus_dir()
    tunes = []
    for collection, folder in COLLECTIONS.items():
        for path in sorted((corpus_dir / folder).glob("*.abc")):
            text = path.read_text(encoding="utf-8", errors="replace")
            for position, tune_text in enumerate(split_abc_tunes(text), start=1):
                tunes.append(Tune(collection, f"{folder}/{path.name}", position, tune_text))
    return tunes


def select_tunes(tunes: list[Tune], limit: int | None) -> list[Tune]:
    """Drop exact repeats of a tune's music; with ``limit``, keep a small mixed sample.

    The sample takes the collections in turn and fills each split in proportion
    (at least one eval tune when ``limit >= 2``), so a tiny corpus still has both splits.
    """
    seen: set[str] = set()
    unique = []
    for tune in tunes:
        if tune.music_key not in seen:
            seen.add(tune.music_key)
            unique.append(tune)
    if limit is None:
        return unique
    n_eval = max(1, round(limit * EVAL_PERCENT / 100)) if limit >= 2 else 0
    quota = {"train": limit - n_eval, "eval": n_eval}
    by_collection = [[t for t in unique if t.collection == c] for c in COLLECTIONS]
    chosen = []
    for rank in range(max(map(len, by_collection))):
        for tunes_of_collection in by_collection:
            if rank < len(tunes_of_collection):
                tune = tunes_of_collection[rank]
                if quota[tune.split] > 0:
                    quota[tune.split] -= 1
                    chosen.append(tune)
        if not any(quota.values()):
            break
    return chosen


def score_to_midi(score) -> pretty_midi.PrettyMIDI:
    """A music21 score as a one-instrument, monophonic PrettyMIDI at 120 bpm.

    Offsets are in quarter notes; a pickup bar is shifted right so the first downbeat falls
    on a bar line. Raises ``ValueError`` if the score has no notes.
    """
    flat = score.flatten()
    shift = 0.0
    measures = score.parts[0].getElementsByClass("Measure") if score.parts else []
    if measures and measures[0].paddingLeft:
        shift = float(measures[0].paddingLeft)
    onsets: dict[float, tuple[int, float]] = {}  # onset (quarters) -> (highest pitch, end)
    for element in flat.stripTies().notes:
        quarters = float(element.duration.quarterLength)
        if element.duration.isGrace or quarters <= 0 or not getattr(element, "pitches", ()):
            continue
        start = float(element.offset) + shift
        pitch = max(p.midi for p in element.pitches)
        if start not in onsets or pitch > onsets[start][0]:
            onsets[start] = (pitch, start + quarters)
    if not onsets:
        raise ValueError("no notes")
    seconds_per_quarter = 60.0 / TEMPO
    midi = pretty_midi.PrettyMIDI(resolution=RESOLUTION, initial_tempo=TEMPO)
    title = score.metadata.title if score.metadata and score.metadata.title else ""
    instrument = pretty_midi.Instrument(program=0, name=title[:60])
    starts = sorted(onsets)
    for start, next_start in zip(starts, starts[1:] + [float("inf")], strict=True):
        pitch, end = onsets[start]
        end = min(end, next_start)  # a new onset ends the note before it (ornaments overlap)
        instrument.notes.append(pretty_midi.Note(
            VELOCITY, pitch, start * seconds_per_quarter, end * seconds_per_quarter))
    midi.instruments.append(instrument)
    last = None
    for signature in flat.getElementsByClass("TimeSignature"):
        meter = (signature.numerator, signature.denominator)
        if meter[0] < 1 or meter[1] < 1 or meter[1] & (meter[1] - 1):
            continue  # MIDI can only say x/2^n (O'Neill has a few odd meters such as 3/3)
        if meter != last:
            at = 0.0 if last is None else (float(signature.offset) + shift) * seconds_per_quarter
            midi.time_signature_changes.append(pretty_midi.TimeSignature(*meter, at))
            last = meter
    return midi


def write_tune_midi(tune: Tune, out_dir: str) -> tuple[str, str | None]:
    """Parse ``tune`` and write its MIDI under ``out_dir`` atomically.

    Returns ``(relative path, None)`` on success, ``(relative path, reason)`` on failure; never
    raises, so one bad tune cannot stop a pool.
    """
    relative = tune.relative_path()
    target = Path(out_dir) / relative
    try:
        from music21 import converter

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            midi = score_to_midi(converter.parse(tune.text, format="abc"))
        with atomic_write(target) as handle:
            midi.write(handle)
        return str(relative), None
    except Exception as error:  # noqa: BLE001 - a corpus tune that fails is reported, not fatal
        return str(relative), f"{type(error).__name__}: {error}"[:200]


def _write_chunk(chunk: list[Tune], out_dir: str) -> list[tuple[str, str | None]]:
    return [write_tune_midi(tune, out_dir) for tune in chunk]


def _init_worker(parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group: the parent handles it, the workers end with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)


def _build_from_abc(todo: list[Tune], out: Path, workers: int, show_progress: bool,
                    failures: dict[str, str]) -> None:
    """Parse and write ``todo`` with music21, in ``workers`` processes; record failures."""
    bar = progress_bar(total=len(todo), desc="building", unit="tune", enabled=show_progress)
    try:
        if workers == 1 or len(todo) < 2:
            for relative, reason in (write_tune_midi(t, str(out)) for t in todo):
                if reason:
                    failures[relative] = reason
                bar.update()
            return
        chunks = [todo[i:i + 16] for i in range(0, len(todo), 16)]
        # a kill -9 of this process must not leave the workers running (they die with it)
        pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(os.getpid(),))
        try:
            for chunk_results in pool.map(_write_chunk, chunks, [str(out)] * len(chunks)):
                for relative, reason in chunk_results:
                    if reason:
                        failures[relative] = reason
                bar.update(len(chunk_results))
        except BaseException:  # Ctrl-C: drop the queued chunks instead of waiting for them
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    finally:
        bar.close()


def build_corpus(out_dir: str | os.PathLike, limit: int | None = None,
                 workers: int | None = None, progress: bool = True, rebuild: bool = False,
                 archive: str | os.PathLike | None = None) -> dict:
    """Write the folk corpus under ``out_dir`` (``train/`` and ``eval/``) and its manifest.

    The files come from the shipped ``archive`` (default ``ARCHIVE``; seconds) where it holds
    the same tune as the installed music21; the rest, or all with ``rebuild`` (minutes), are
    built from music21's ABC files. ``limit`` keeps a small mixed sample (e.g. 40 tunes for
    tests); ``workers`` processes build (default ``os.cpu_count()``; 1 builds in this
    process). Files that exist are kept. ``progress`` prints what is done, with bars on a
    terminal. Returns the manifest (also written to ``out_dir/manifest.json``). Raises
    ``ValueError`` for a ``limit`` or ``workers`` below 1 and ``ArchiveError`` for a damaged
    archive.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be 1 or more, got {limit}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be 1 or more, got {workers}")
    out = Path(out_dir)
    archive = Path(ARCHIVE if archive is None else archive)
    say = print if progress else (lambda *_args, **_kwargs: None)
    remove_stale_temporaries_under(out)  # what a killed build left half-written
    tunes = list_tunes()
    chosen = select_tunes(tunes, limit)
    todo = [t for t in chosen if not (out / t.relative_path()).exists()]
    failures: dict[str, str] = {}
    source = None
    if todo and not rebuild and archive.is_file():
        say(f"folk corpus: unpacking {len(todo):,} tunes from the shipped {archive.name} into "
            f"{out} (a few seconds)", flush=True)
        unpacked = unpack(archive, out, {t.relative_path().as_posix(): t.music_key
                                         for t in todo}, show_progress=progress)
        failures.update(unpacked.failed)
        done = unpacked.answered()
        todo = [t for t in todo if t.relative_path().as_posix() not in done]
        source = unpacked.source if unpacked.written else None
    if todo:
        workers = min(workers or os.cpu_count() or 1, len(todo))
        minutes = len(todo) / TUNES_PER_S_PER_CORE / min(workers, os.cpu_count() or 1) / 60
        say(f"folk corpus: building {len(todo):,} tunes from music21's ABC files with "
            f"{workers} process(es) (about {max(minutes, 0.1):.1f} min on idle cores)",
            flush=True)
        _build_from_abc(todo, out, workers, progress, failures)
    manifest = describe_corpus(out, tunes, chosen, failures)
    if source:
        manifest["unpacked_from"] = f"{archive.name}, built from the {source}"
    with atomic_write(out / "manifest.json", "w") as handle:
        handle.write(json.dumps(manifest, indent=2) + "\n")
    return manifest


def describe_corpus(out: Path, tunes: list[Tune], chosen: list[Tune],
                    failures: dict[str, str]) -> dict:
    """The manifest: source, licence, and per collection the tunes found and files per split."""
    import music21

    collections = {}
    for name, folder in COLLECTIONS.items():
        found = [t for t in tunes if t.collection == name]
        mine = [t for t in chosen if t.collection == name]
        collections[name] = {
            "folder": f"music21/corpus/{folder}",
            "abc_files": len({t.source for t in found}),
            "tunes_found": len(found),
            "exact_repeats_skipped": len(found) - len({t.music_key for t in found}),
            "files": {s: sum((out / t.relative_path()).exists() for t in mine if t.split == s)
                      for s in SPLITS},
        }
    return {
        "source": f"music21 {music21.__version__} corpus (shipped with the package)",
        "tempo_bpm": TEMPO,
        "split": f"sha1 of each tune's ABC music body; {EVAL_PERCENT} % eval, the rest train",
        "tunes_selected": len(chosen),
        "collections": collections,
        "files": {s: sum(c["files"][s] for c in collections.values()) for s in SPLITS},
        "failed": failures,
        "licence": LICENCE_NOTE,
    }


if __name__ == "__main__":
    from symusic.data.corpus_cli import main

    sys.exit(main())
