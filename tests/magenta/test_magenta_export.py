"""``symusic export-magenta``: what folds exactly is written, what does not is one line.

(That magenta.js runs the exported folders as symusic does is test_magentajs_parity.py's.)
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from magenta_layout import FLAT_TRIO, HIER_TRIO, magenta_spec, magenta_variables
from test_magentajs_parity import FLAT_CONFIG, HIER_CONFIG
from test_magentajs_trio import FLAT_CONFIG as FLAT_TRIO_CONFIG
from test_magentajs_trio import HIER_CONFIG as HIER_TRIO_CONFIG

from symusic.data.settings import DataSettings
from symusic.magenta.export import magenta_variables as exported_variables
from symusic.magenta.folder import write_tfjs_folder
from symusic.musicvae.model.config import ModelConfig
from symusic.musicvae.model.vae import MusicVAE
from symusic.musicvae.tools.generate import main as symusic


def model_of(config: dict, representation: str = "melody") -> MusicVAE:
    torch.manual_seed(0)
    return MusicVAE(ModelConfig.from_dict(config, seq_len=32),
                    DataSettings(representation=representation)).eval()


@pytest.mark.parametrize(("config", "representation"), [
    (FLAT_CONFIG, "melody"), (HIER_CONFIG, "melody"), (FLAT_CONFIG, "drums"),
    (FLAT_TRIO_CONFIG, "trio"), (HIER_TRIO_CONFIG, "trio"),
])
def test_an_export_imports_back_to_the_same_decoding(tmp_path, config, representation):
    model = model_of(config, representation)
    model.save(tmp_path / "m.pt")
    assert symusic(["export-magenta", str(tmp_path / "m.pt"), str(tmp_path / "js")]) == 0
    spec = json.loads((tmp_path / "js/config.json").read_text())
    assert spec["dataConverter"]["args"]["numSteps"] == 32
    back = MusicVAE.load(tmp_path / "js").eval()
    z = torch.randn(6, 8, generator=torch.Generator().manual_seed(1))
    assert torch.equal(back.decode(z, temperature=0), model.decode(z, temperature=0))
    tokens = model.decode(z, temperature=0)
    torch.testing.assert_close(back.encode(tokens)[0], model.encode(tokens)[0], atol=1e-5,
                               rtol=0)


@pytest.mark.parametrize("sizes", [FLAT_TRIO, HIER_TRIO], ids=["flat", "hier"])
def test_an_imported_magentajs_trio_exports_back_to_its_own_variables(tmp_path, sizes):
    variables = magenta_variables(sizes, seed=3)
    model = MusicVAE.load(write_tfjs_folder(tmp_path / "js", magenta_spec(sizes), variables))
    spec, again = exported_variables(model)
    assert spec == magenta_spec(sizes)
    assert set(again) == set(variables)
    # the conductor's input row only ever multiplies its zero input: symusic keeps it at zero
    conductor_input = "decoder/hierarchical_level_0/cell_0/lstm_cell/kernel"
    if conductor_input in variables:
        assert not again[conductor_input][0].any()
        again[conductor_input][0] = variables[conductor_input][0]
    for name, value in variables.items():
        np.testing.assert_allclose(again[name], value, atol=1e-6, rtol=0, err_msg=name)


def without_zero_start(config: dict) -> dict:
    changed = copy.deepcopy(config)
    del changed["seq_decoder_args"]["params"]["decoder_args"]["params"]["start_input"]
    return changed


REFUSED = {
    "a learned start token": (without_zero_start(FLAT_CONFIG),
                              "learned a start-token embedding"),
    "a two-layer encoder": ({**FLAT_CONFIG, "encoder_params": {
        "embed_size": 12, "hidden_size": 16, "n_layers": 2}}, "its encoder has 2 layers"),
    "a hierarchical encoder under a flat decoder": ({**FLAT_CONFIG, "encoder_params": {
        "embed_size": 12, "hidden_size": 16, "n_layers": 1, "segment_length": 16}},
        "a hierarchical encoder with a hierarchical decoder only"),
    "a conductor over a flat encoder": ({**HIER_CONFIG, "encoder_params": {
        "embed_size": 12, "hidden_size": 16, "n_layers": 1}}, "segment_length = 16"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_what_does_not_fold_is_refused_in_one_line(tmp_path, capsys, case):
    config, reason = REFUSED[case]
    model_of(config).save(tmp_path / "m.pt")
    code = symusic(["export-magenta", str(tmp_path / "m.pt"), str(tmp_path / "js")])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "magenta.js cannot run this model exactly" in err and reason in err, err
    assert not (tmp_path / "js" / "config.json").exists()


def test_a_quantized_export_is_smaller_and_close(tmp_path):
    model = model_of(FLAT_CONFIG)
    model.save(tmp_path / "m.pt")
    sizes = {}
    for quantize in (None, "uint8", "uint16"):
        out = tmp_path / f"js-{quantize}"
        assert symusic(["export-magenta", str(tmp_path / "m.pt"), str(out)]
                       + ([] if quantize is None else ["--quantize", quantize])) == 0
        sizes[quantize] = (out / "group1-shard1of1").stat().st_size
        back = MusicVAE.load(out)
        for name, value in back.state_dict().items():
            if name.startswith("encoder.mu"):
                np.testing.assert_allclose(value.numpy(), model.state_dict()[name].numpy(),
                                           atol=2e-2 if quantize == "uint8" else 1e-4)
    assert sizes["uint8"] * 4 == sizes[None] and sizes["uint16"] * 2 == sizes[None]
