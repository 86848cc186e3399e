"""Config files are data: a jsonpickle or pickle payload never runs, and a bad file is one line.

Sacred reads ``with X.json`` through jsonpickle and ``X.pickle`` through pickle; these run the
real command line on payloads that would create a file if anything executed them.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from symusic.musicvae.model.config import ConfigError
from symusic.musicvae.training.config_file import read_config_file

from .test_train_cli import REPO, tiny_config, write_config


def payload(target: Path) -> dict:
    """What jsonpickle turns into a call of ``os.system("touch target")``."""
    return {"py/reduce": [{"py/function": "os.system"}, {"py/tuple": [f"touch {target}"]}]}


class Touch:
    """Pickles into a call of ``os.system("touch target")``."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def run_cli(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "symusic.musicvae.train", *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def assert_one_line(result: subprocess.CompletedProcess, expected: str, code: int = 2) -> None:
    assert result.returncode == code, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr[-2000:]
    assert expected in result.stderr


def test_a_jsonpickle_payload_in_a_config_file_runs_nothing(folk_dirs, tmp_path):
    target = tmp_path / "created-by-the-payload"
    config = tiny_config(folk_dirs.train, folk_dirs.eval, learning_rate=payload(target))
    path = write_config(tmp_path, "shared.json", config)
    for command in (["with", path, "-F", tmp_path / "runs"], ["print_config", "with", path]):
        result = run_cli(*command)
        assert not target.exists(), "the config file ran code"
        assert_one_line(result, f"config error: {path}: 'learning_rate.py/reduce' is not a "
                                "config key")
    assert not (tmp_path / "runs" / "1" / "checkpoints").exists()


def test_a_jsonpickle_payload_in_a_key_value_update_runs_nothing(folk_dirs, tmp_path):
    target = tmp_path / "created-by-the-payload"
    path = write_config(tmp_path, "plain.json", tiny_config(folk_dirs.train, folk_dirs.eval))
    result = run_cli("with", path, f"learning_rate={payload(target)!r}")
    assert not target.exists(), "the command line ran code"
    assert_one_line(result, "'learning_rate.py/reduce' is not a config key")


def test_a_pickle_config_is_refused_unread(tmp_path):
    target = tmp_path / "created-by-the-pickle"
    path = tmp_path / "config.pickle"
    path.write_bytes(pickle.dumps(Touch(target)))
    result = run_cli("with", path, "-F", tmp_path / "runs")
    assert not target.exists(), "the pickle was loaded"
    assert_one_line(result, f"{path}: pickle config files are refused")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.json", None, "missing.json: no such config file"),
        ("broken.json", '{"batch_size": 8,', "broken.json: not valid JSON: Expecting"),
        ("list.json", "[1, 2]", "list.json: the config must be a JSON object {...}, got a list"),
        ("config.yaml", "batch_size: 8", "config.yaml: config files are JSON (.json)"),
    ],
)
def test_a_bad_config_file_is_one_line_and_exit_2(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_config_file(path)
    if name != "config.yaml":  # the three that gave Sacred tracebacks
        assert_one_line(run_cli("with", path, "-F", tmp_path / "runs"), f"config error: {path}")


def test_sacred_itself_reads_config_files_as_plain_json(tmp_path):
    """The train module swaps Sacred's readers: even a path that skipped our check stays data."""
    from sacred.config.config_files import load_config_file

    import symusic.musicvae.training.experiment  # noqa: F401  (installs the safe readers)

    target = tmp_path / "created-by-the-payload"
    path = tmp_path / "evil.json"
    path.write_text(json.dumps({"x": payload(target)}))
    assert load_config_file(str(path)) == {"x": payload(target)}
    assert not target.exists()
    pickled = tmp_path / "evil.pickle"
    pickled.write_bytes(pickle.dumps(Touch(target)))
    with pytest.raises(ValueError, match="unsupported extension"):
        load_config_file(str(pickled))
    assert not target.exists()
