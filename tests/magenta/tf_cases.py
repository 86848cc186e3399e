"""What the TF checkpoint tests share: the fixtures TensorFlow wrote, their magenta.js twins,
the command and its one-line check."""

from __future__ import annotations

import json
from pathlib import Path

from make_tf_fixtures import CONFIG, fixture_variables

from symusic.magenta.folder import write_tfjs_folder
from symusic.magenta.magenta_configs import CONFIGS
from symusic.musicvae.tools.generate import main as symusic

FIXTURE_DIR = Path(__file__).parent / "tf_fixtures"
EXPECTED = json.loads((FIXTURE_DIR / "expected.json").read_text())
# each fixture as a folder, Magenta's .tar, and an .index file
PATHS = {"flat_melody": FIXTURE_DIR / "flat_melody",
         "hier_melody": FIXTURE_DIR / "hier_melody.tar",
         "flat_drums": FIXTURE_DIR / "flat_drums/model.ckpt-7.index",
         "deep_melody": FIXTURE_DIR / "deep_melody",
         "flat_groove": FIXTURE_DIR / "flat_groove",
         "flat_trio": FIXTURE_DIR / "flat_trio", "hier_trio": FIXTURE_DIR / "hier_trio"}


def one_line(capsys, code: int, expected: str) -> None:
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert expected in err, err


def import_magenta(source, tmp_path, *extra) -> int:
    return symusic(["import-magenta", str(source), "--out", str(tmp_path / "m.pt"), *extra])


def magentajs_twin(tmp_path: Path, name: str) -> Path:
    """The same weights as a magenta.js folder with the same Magenta config's converter."""
    spec = {"type": "MusicVAE", "dataConverter": CONFIGS[CONFIG[name]].data_converter()}
    return write_tfjs_folder(tmp_path / "js", spec, fixture_variables(name))
