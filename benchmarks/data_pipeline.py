"""Benchmark of the melody data pipeline on a MIDI folder (the built-in corpus by default).

For each extraction (``magenta``, ``any_meter``) and process count: the first extraction
into a fresh cache (files/s), indexing the 2-bar and 8-bar windows (windows/s); then, for the
first extraction, re-opening the cache (seconds) and drawing training batches (batches/s).
Prints a Markdown table.

    python benchmarks/data_pipeline.py --data data/folk/train [--processes 1 2]
        [--extraction magenta any_meter]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from itertools import islice

from symusic.data.dataset import MelodyCollection, WindowDataset, make_train_loader


def cpu_model() -> str:
    """The CPU model named in /proc/cpuinfo (or the platform's guess)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def time_first_extraction(data: str, processes: int, bars: list[int],
                          extraction: str = "magenta") -> dict:
    """Extract ``data`` into a fresh cache with ``processes``; index its windows."""
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        collection = MelodyCollection.from_folder(data, num_processes=processes, cache_dir=cache,
                                                  progress=False, extraction=extraction)
        seconds = time.perf_counter() - start
        row = {"processes": processes, "files": collection.report.files, "seconds": seconds,
               "summary": collection.report.summary_line(), "extraction": extraction}
        for n in bars:
            start = time.perf_counter()
            windows = len(WindowDataset(collection, n))
            row[f"windows_{n}"] = windows
            row[f"index_seconds_{n}"] = time.perf_counter() - start
    return row


def time_reopen(data: str, repeats: int = 3, extraction: str = "magenta") -> tuple[float, int]:
    """Median seconds to open ``data`` from its (warm) default cache; and its file count."""
    collection = MelodyCollection.from_folder(data, progress=False, extraction=extraction)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        MelodyCollection.from_folder(data, progress=False, extraction=extraction)
        times.append(time.perf_counter() - start)
    return statistics.median(times), collection.report.files


def time_batches(data: str, bars: int, batch_size: int = 64, batches: int = 200,
                 extraction: str = "magenta") -> float:
    """Training batches per second (``num_workers=0``) of ``bars``-bar windows."""
    loader = make_train_loader(MelodyCollection.from_folder(data, progress=False,
                                                            extraction=extraction),
                               batch_size=batch_size, slice_bar=bars, seed=0)
    start = time.perf_counter()
    for _ in islice(loader, batches):
        pass
    return batches / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="data/folk/train", help="MIDI folder")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--bars", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--extraction", nargs="+", default=["magenta", "any_meter"],
                        choices=["magenta", "any_meter"])
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rows = [time_first_extraction(args.data, p, args.bars, e)
            for e in args.extraction for p in args.processes]
    for row in rows[::len(args.processes)]:
        print(f"{args.data} ({row['extraction']}): {row['summary']}")
    windows_header = " | ".join(f"{n}-bar windows | windows/s ({n} bars)" for n in args.bars)
    print(f"\n| extraction | processes | files | first extraction (s) | files/s | "
          f"{windows_header} |")
    print("|---" * (5 + 2 * len(args.bars)) + "|")
    for row in rows:
        cells = " | ".join(
            f"{row[f'windows_{n}']:,} | "
            f"{row[f'windows_{n}'] / (row['seconds'] + row[f'index_seconds_{n}']):,.0f}"
            for n in args.bars)
        print(f"| {row['extraction']} | {row['processes']} | {row['files']:,} | "
              f"{row['seconds']:.1f} | {row['files'] / row['seconds']:,.0f} | {cells} |")
    first = args.extraction[0]
    reopen, files = time_reopen(args.data, extraction=first)
    print(f"\nre-opening the cache of {files:,} files ({first}): {reopen:.3f} s (median of 3)")
    for n in args.bars:
        print(f"training batches of 64 x {n} bars (num_workers=0, {first}): "
              f"{time_batches(args.data, n, extraction=first):,.0f} batches/s")


if __name__ == "__main__":
    main()
