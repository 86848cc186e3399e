"""The inference API (``TrainedModel``) on the tiny checkpoint, and the rule that only entry
points import the command-line modules."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from symusic.errors import InputError
from symusic.musicvae.inference import TrainedModel

SEQ_LEN = 32
ROOT = Path(__file__).resolve().parents[2] / "symusic"
CLI_MODULES = {"symusic.musicvae.tools.cli", "symusic.musicvae.tools.generate",
               "symusic.musicvae.tools.evaluate", "symusic.musicvae.train",
               "symusic.musicvae.generate", "symusic.musicvae.evaluate",
               "symusic.musicvae.tools.ship", "symusic.musicvae.tools.magenta",
               "symusic.musicvae.tools.groove"}
# the command lines themselves and their `python -m` shims
ENTRY_POINTS = {"musicvae/tools/cli.py", "musicvae/tools/generate.py", "musicvae/tools/evaluate.py",
                "musicvae/train.py", "musicvae/generate.py", "musicvae/evaluate.py",
                "musicvae/tools/ship.py", "musicvae/tools/magenta.py", "musicvae/tools/groove.py",
                "musicvae/tools/add_lookback.py", "musicvae/tools/fit_prior.py",
                "studio/__main__.py"}


def test_load_by_path_reads_the_checkpoint(tiny_model, tiny_model_path):
    trained = TrainedModel.load(tiny_model_path, "cpu")
    assert (trained.seq_len, trained.bars, trained.z_size) == (SEQ_LEN, 2,
                                                                tiny_model.config.z_size)
    assert trained.data_settings == tiny_model.data_settings
    for name, tensor in tiny_model.state_dict().items():
        assert torch.equal(trained.model.state_dict()[name], tensor), name


def test_encode_decode_reconstruct_agree_across_batch_sizes(tiny_model, midi_dir):
    whole, one = TrainedModel(tiny_model), TrainedModel(tiny_model, batch_size=1)
    windows = np.stack([whole.pick_window(midi_dir / f"tune{i}.mid")[0] for i in range(5)])
    mu = whole.encode(windows)
    assert mu.shape == (5, whole.z_size) and mu.dtype == np.float32
    np.testing.assert_allclose(one.encode(windows), mu, atol=1e-5)
    with torch.no_grad():
        expected_mu, _ = tiny_model.encode(torch.as_tensor(windows, dtype=torch.long))
    np.testing.assert_allclose(mu, expected_mu.numpy(), atol=1e-5)
    tokens = whole.decode(mu)
    assert tokens.shape == (5, SEQ_LEN) and tokens.dtype == np.int64
    np.testing.assert_array_equal(one.decode(mu), tokens)
    np.testing.assert_array_equal(whole.reconstruct(windows), tokens)


def test_sample_and_interpolate_are_seeded(tiny_model, midi_dir):
    trained = TrainedModel(tiny_model, batch_size=3)
    a = trained.sample(7, temperature=1.0, seed=4)
    assert a.shape == (7, SEQ_LEN)
    np.testing.assert_array_equal(trained.sample(7, temperature=1.0, seed=4), a)
    start, _ = trained.pick_window(midi_dir / "tune0.mid")
    end, _ = trained.pick_window(midi_dir / "tune1.mid")
    z, tokens = trained.interpolate(start, end, 4)
    assert z.shape == (4, trained.z_size) and tokens.shape == (4, SEQ_LEN)
    np.testing.assert_allclose(z[[0, -1]], trained.encode(np.stack([start, end])), atol=1e-5)
    np.testing.assert_array_equal(tokens[[0, -1]], trained.reconstruct(np.stack([start, end])))
    with pytest.raises(InputError, match="2 or more"):
        trained.interpolate(start, end, 1)


def test_file_windows_follow_the_model_settings(tiny_model, gap_midi):
    windows, sources = TrainedModel(tiny_model).file_windows(gap_midi)
    assert windows.shape == (2, SEQ_LEN)  # one 2-bar window in each 3-bar phrase
    assert [s.bar for s in sources] == [0, 5]


def test_load_errors_are_one_line_input_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        TrainedModel.load(tmp_path / "missing.pt")
    with pytest.raises(InputError, match="^--device: "):
        TrainedModel.load(tmp_path / "missing.pt", "tpu")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts ``a`` and ``a.b``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def test_only_entry_points_import_the_command_line_modules():
    offenders = {str(path.relative_to(ROOT)): sorted(imported_modules(path) & CLI_MODULES)
                 for path in ROOT.rglob("*.py")
                 if str(path.relative_to(ROOT)) not in ENTRY_POINTS}
    assert {k: v for k, v in offenders.items() if v} == {}
