"""Config edge cases that passed the safe reading and then failed inside Sacred with a
traceback: one line and exit code 2 each, or, for a byte-order mark, read as it should."""

from __future__ import annotations

import json

import pytest

from symusic.musicvae.training import experiment

from .test_train_cli import tiny_config


def run_main(*argv: str) -> int:
    """``python -m symusic.musicvae.train ARGV`` in this process: its exit code."""
    try:
        experiment.main(["train.py", *map(str, argv)])
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


@pytest.fixture()
def config_path(tmp_path):
    path = tmp_path / "my.json"
    path.write_text(json.dumps(tiny_config(tmp_path / "train", tmp_path / "eval")))
    return path


def test_a_config_file_with_a_byte_order_mark_is_read(config_path, capsys):
    config_path.write_bytes(b"\xef\xbb\xbf" + config_path.read_bytes())
    assert run_main("print_config", "with", config_path) == 0
    assert "batch_size" in capsys.readouterr().out


@pytest.mark.parametrize("update, needle", [
    ("transpose={1, 2}", "transpose: a set is not a config value"),
    ("transpose=b'x'", "transpose: a bytes is not a config value"),
    ("programs=[1, {2}]", "programs: a set is not a config value"),
    ("-m localhost:27017", "--mongo_db needs the pymongo package"),
    ("-s sqlite:///runs.db", "--sql needs the sqlalchemy package"),
    ("-t runs-db", "--tiny_db needs the tinydb package"),
    ("train_dir=", "train_dir: must name a folder"),
    ("eval_dir=' '", "eval_dir: must name a folder"),
])
def test_odd_updates_and_observers_are_one_line(config_path, capsys, update, needle):
    argv = ["with", config_path, *update.split(" ", 1)] if update.startswith("-") \
        else ["with", config_path, update]
    assert run_main(*argv) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [err.strip()] and needle in err, err


def test_an_upper_case_suffix_and_a_yaml_save_are_one_line(config_path, tmp_path, capsys):
    upper = config_path.with_name("MY.JSON")
    upper.write_text(config_path.read_text())
    assert run_main("print_config", "with", upper) == 2
    assert "lower-case .json" in capsys.readouterr().err
    assert run_main("save_config", "with", config_path,
                    f"config_filename={tmp_path / 'x.yaml'}") == 2
    assert "save_config writes JSON only" in capsys.readouterr().err
    assert not (tmp_path / "x.yaml").exists()
