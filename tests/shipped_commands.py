"""Every command run on a shipped model by its name: what the shipped-model tests share."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from symusic.errors import user_errors
from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.tools import evaluate, generate


def has_window(model: TrainedModel, path: Path) -> bool:
    """Whether ``path`` holds a whole window for ``model``, read as the commands read it."""
    try:
        return len(model.file_windows(path)) > 0
    except user_errors():
        return False


def run_every_command(name: str, files: list[Path], tmp_path: Path,
                      max_windows: int | None = None) -> tuple[Path, dict]:
    """Sample, interpolate, reconstruct, encode and evaluate with the model called ``name``
    on the first two of ``files`` that hold one of its windows, checking what each writes.
    Returns the folder of those two files and the evaluation report."""
    model = TrainedModel.load(name)
    long_enough = list(itertools.islice((f for f in files if has_window(model, f)), 2))
    assert len(long_enough) == 2, f"no files with a {model.bars}-bar window"
    first, second = long_enough
    common = ["--checkpoint", name, "--device", "cpu"]
    assert generate.main(["sample", *common, "--num", "2", "--out", str(tmp_path / "s")]) == 0
    assert len(list((tmp_path / "s").glob("sample_*.mid"))) == 2
    assert generate.main(["interpolate", *common, "--start", str(first), "--end", str(second),
                          "--steps", "3", "--out", str(tmp_path / "i")]) == 0
    assert (tmp_path / "i" / "interpolation.mid").is_file()
    assert generate.main(["reconstruct", *common, "--input", str(first),
                          "--out", str(tmp_path / "r")]) == 0
    assert list((tmp_path / "r").glob("*.mid"))
    folder = tmp_path / "two"
    folder.mkdir()
    for f in long_enough:
        (folder / f.name).write_bytes(f.read_bytes())
    assert generate.main(["encode", *common, "--input", str(folder),
                          "--out", str(tmp_path / "z.npy")]) == 0
    assert (tmp_path / "z.npy").is_file()
    report = tmp_path / "report.json"
    limit = [] if max_windows is None else ["--max-windows", str(max_windows)]
    assert evaluate.main([*common, "--data", str(folder), "--json", str(report),
                          "--num-samples", "4", "--interp-pairs", "1", *limit]) == 0
    return folder, json.loads(report.read_text())
