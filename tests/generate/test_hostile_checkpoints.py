"""Hostile checkpoints (a checkpoint is untrusted input): one line each, quickly, before
anything large is read, walked or allocated."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import torch
from test_generate_bad_input import assert_one_line_error, run_module

from symusic.musicvae.model import CheckpointError, MusicVAE
from symusic.musicvae.model import checkpoint_limits as limits
from symusic.musicvae.model.vae import read_checkpoint
from symusic.musicvae.training import checkpoint as ckpt


@pytest.fixture()
def tiny_state(tiny_model_path) -> dict:
    """The tiny model's checkpoint dict, to damage."""
    return torch.load(tiny_model_path, weights_only=True)


def saved(state: dict, path: Path) -> Path:
    torch.save(state, path)
    return path


def shared_tower(levels: int) -> list:
    """A list holding two references to a list holding two references to ...: a few bytes
    per level on disk, 2**levels values to walk."""
    node: list = [1]
    for _ in range(levels):
        node = [node, node]
    return node


@pytest.mark.timeout(180)
def test_a_config_that_nests_one_list_40_levels_is_refused_at_once(tiny_state, tmp_path):
    tiny_state["model_config"]["encoder_params"]["hidden_size"] = shared_tower(40)
    path = saved(tiny_state, tmp_path / "laughs.pt")
    done = run_module("symusic.musicvae.generate", "sample", "--checkpoint", path, "--num", 1,
                      "--out", tmp_path / "out")
    assert_one_line_error(done.returncode, done.stderr, "laughs.pt", "refused: it nests")
    assert len(done.stderr) < 400


def test_a_shallower_tower_of_shared_lists_is_refused_by_its_count(tiny_state, tmp_path):
    tiny_state["model_config"]["encoder_params"]["hidden_size"] = shared_tower(25)
    with pytest.raises(CheckpointError, match="more than 200,000 values besides the weights"):
        read_checkpoint(saved(tiny_state, tmp_path / "tower.pt"))


def test_a_list_that_holds_itself_is_refused(tiny_state, tmp_path):
    loop: list = []
    loop.append(loop)
    tiny_state["model_config"]["z_size"] = loop
    with pytest.raises(CheckpointError, match="more than 32 levels deep"):
        read_checkpoint(saved(tiny_state, tmp_path / "loop.pt"))


def test_huge_text_is_refused(tiny_state, tmp_path):
    tiny_state["note"] = "x" * 2_000_000
    with pytest.raises(CheckpointError, match="more than 1,000,000 characters of text"):
        read_checkpoint(saved(tiny_state, tmp_path / "text.pt"))


def test_a_window_of_a_billion_steps_is_refused(tiny_state, tmp_path):
    tiny_state["model_config"]["seq_len"] = 10**9
    with pytest.raises(CheckpointError, match="1,000,000,000 steps; at most 4,096"):
        MusicVAE.load(saved(tiny_state, tmp_path / "long.pt"))


def test_sizes_beyond_the_weights_are_refused_before_building(tiny_state, tmp_path,
                                                             monkeypatch):
    """A config asking for layers far larger than the tensors the file holds is refused on
    the meta device: the real model is never built."""
    tiny_state["model_config"]["encoder_params"]["hidden_size"] = 1 << 20
    built = []
    monkeypatch.setattr(MusicVAE, "load_state_dict",
                        lambda self, *a, **k: built.append(self))
    with pytest.raises(CheckpointError, match="does not match its weights.*other shapes"):
        MusicVAE.load(saved(tiny_state, tmp_path / "wide.pt"))
    assert not built


def deflated(source: Path, target: Path) -> Path:
    """``source``'s zip entries recompressed (torch writes them stored)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w",
                                                         zipfile.ZIP_DEFLATED) as out:
        for entry in src.infolist():
            out.writestr(entry.filename, src.read(entry.filename))
    return target


def test_a_zip_that_unpacks_far_beyond_its_size_is_refused_before_reading(tiny_state,
                                                                         tmp_path):
    tiny_state["padding"] = torch.zeros(8 * 2**20)  # 32 MB of zeros deflate to ~30 KB
    path = deflated(saved(tiny_state, tmp_path / "plain.pt"), tmp_path / "bomb.pt")
    assert path.stat().st_size < 2**20
    with pytest.raises(CheckpointError, match="unpacks to 33,6.* bytes from"):
        read_checkpoint(path)


def test_the_unpacked_size_has_a_ceiling(tiny_model_path, monkeypatch):
    read_checkpoint(tiny_model_path)
    monkeypatch.setattr(limits, "MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(CheckpointError, match="at most 1,000 bytes"):
        read_checkpoint(tiny_model_path)


def a_training_checkpoint(model: MusicVAE, path: Path, entry: object) -> Path:
    state = model.to_state()
    state["training"] = entry
    return saved(state, path)


@pytest.mark.parametrize("entry, needle", [
    ("oops", "a str where a mapping belongs"),
    ({"step": 3}, "'optimizer' is missing"),
    ({"optimizer": {}, "scheduler": {}, "step": "3", "best_eval_loss": 1.0, "rng": {},
      "data": {}}, "'step' is str"),
    ({"optimizer": {}, "scheduler": {}, "step": 3, "best_eval_loss": 1.0, "rng": {},
      "data": {"epoch": 0}}, "'epoch' and 'index'"),
])
def test_a_damaged_training_entry_is_one_error(tiny_model, tmp_path, entry, needle):
    path = a_training_checkpoint(tiny_model, tmp_path / "t.pt", entry)
    with pytest.raises(CheckpointError, match=needle) as caught:
        ckpt.load_weights(tiny_model, path)
    assert str(path) in str(caught.value)


def test_a_training_state_that_does_not_fit_is_one_error(tiny_model, tmp_path):
    entry = {"optimizer": {"state": {}}, "scheduler": {}, "step": 3, "best_eval_loss": 1.0,
             "rng": {"torch": 1, "python": 2, "numpy": 3}, "data": {"epoch": 0, "index": 4}}
    path = a_training_checkpoint(tiny_model, tmp_path / "t.pt", entry)
    training = ckpt.load_weights(tiny_model, path)
    optimizer = torch.optim.Adam(tiny_model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    with pytest.raises(CheckpointError, match="damaged training state.*does not fit"):
        training.restore(optimizer, scheduler, sampler=None, source=str(path))


def test_the_tiny_checkpoint_still_loads(tiny_model_path):
    buffer = io.BytesIO(tiny_model_path.read_bytes())
    assert zipfile.is_zipfile(buffer)
    assert MusicVAE.load(tiny_model_path).config.seq_len == 32


def test_a_folder_given_as_checkpoint_is_named_a_folder(tmp_path, tiny_model, capsys):
    from symusic.musicvae.tools import generate

    code = generate.main(["sample", "--checkpoint", str(tmp_path), "--out",
                          str(tmp_path / "out"), "--device", "cpu"])
    assert_one_line_error(code, capsys.readouterr().err, "is a folder, not a checkpoint file")
    with pytest.raises(CheckpointError, match="is a folder"):
        ckpt.load_weights(tiny_model, tmp_path)
