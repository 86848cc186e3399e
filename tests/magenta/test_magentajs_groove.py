"""GrooVAE against magenta.js itself (npm @magenta/music 1.23.1 in Node, its CPU backend).

magenta.js's ``GrooveDecoder`` (music_vae/model.ts) reads 27 outputs a step as 9 hit logits,
9 velocities (sigmoid) and 9 offsets (tanh), a hit where the sigmoid is above 0.5 at
temperature 0, and feeds back ``[hits, velocities, offsets]`` as they are: an imported
GrooVAE records ``magenta_feedback`` so symusic does the same. Its ``encodeTensors`` reads the
27 numbers as given (the converter's humanize and tapify act in ``toTensor``), so it is given
what symusic's encoder reads after the model's input transformation. Required, as for the
token models: mu within 1e-5, every step's outputs within 1e-4, the hits identical.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from magenta_layout import FLAT_GROOVE, magenta_spec, magenta_variables, random_grooves
from magentajs import Run, magentajs_modules, run_magentajs
from model_side import mu_and_z, train_briefly
from step_logits import decode_with_logits

from symusic.data.groove_windows import HITS, transform_input
from symusic.data.settings import DataSettings
from symusic.magenta import export_magenta
from symusic.magenta.export import ExportRefused
from symusic.magenta.folder import write_tfjs_folder
from symusic.musicvae.model.config import ModelConfig
from symusic.musicvae.model.vae import MusicVAE

MU_TOLERANCE = 1e-5
OUTPUT_TOLERANCE = 1e-4

GROOVE_CONFIG = {
    "z_size": 8, "encoder_params": {"embed_size": 27, "hidden_size": 16, "n_layers": 1},
    "seq_decoder_args": {"key": "greedy", "params": {"z_size": 8, "decoder_args": {
        "key": "another", "params": {"z_size": 8, "embed_size": 27, "hidden_size": 20,
                                     "n_layers": 2, "dropout": 0.3}}}}}


def tiny_groove_model(magenta_feedback: bool, steps: int = 8, seed: int = 3) -> MusicVAE:
    """A small humanize GrooVAE trained ``steps`` Adam steps on random grooves."""
    torch.manual_seed(seed)
    settings = DataSettings(representation="groove", humanize=True,
                            magenta_feedback=magenta_feedback)
    model = MusicVAE(ModelConfig.from_dict(GROOVE_CONFIG, seq_len=32), settings)
    return train_briefly(model, random_grooves(np.random.default_rng(seed), 32, 32), steps)


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, tuple[MusicVAE, np.ndarray, np.ndarray, dict]]:
    """An imported and an exported GrooVAE, both run by magenta.js in one Node process:
    ``(model, mu, z, magenta.js's results)``."""
    modules, why = magentajs_modules()
    if modules is None:
        pytest.skip(f"magenta.js is not available: {why}")
    root = tmp_path_factory.mktemp("magentajs-groove")
    imported = write_tfjs_folder(root / "import-groove", magenta_spec(FLAT_GROOVE),
                                 magenta_variables(FLAT_GROOVE, seed=40))
    models = {"import": MusicVAE.load(imported).eval(),
              "export": tiny_groove_model(magenta_feedback=True)}
    folders = {"import": imported, "export": export_magenta(models["export"], root / "export")}
    built, runs = {}, []
    for seed, (name, model) in enumerate(models.items()):
        rng = np.random.default_rng(50 + seed)
        windows = random_grooves(rng, 4, model.config.seq_len)
        mu, z = mu_and_z(model, windows, rng)
        read = transform_input(torch.as_tensor(windows), **model.io.flags).numpy()
        runs.append(Run(folders[name], inputs=read, z=z))
        built[name] = (model, mu, z)
    results = run_magentajs(modules, runs)
    return {name: (*built[name], theirs) for name, theirs in zip(built, results, strict=True)}


def test_an_imported_groovae_keeps_its_converter_and_magentas_feedback(cases):
    model = cases["import"][0]
    assert model.representation.name == "groove"
    assert model.data_settings.humanize and model.data_settings.magenta_feedback
    assert model.config.seq_len == FLAT_GROOVE.steps


@pytest.mark.parametrize("name", ["import", "export"])
def test_groove_mu_is_magentajs(cases, name):
    _, mu, _, theirs = cases[name]
    np.testing.assert_allclose(np.array(theirs["mu_of_inputs"]), mu, atol=MU_TOLERANCE, rtol=0)


@pytest.mark.parametrize("name", ["import", "export"])
def test_groove_steps_at_temperature_0_are_magentajs(cases, name):
    model, _, z, theirs = cases[name]
    decoded, outputs = decode_with_logits(model, z)
    their_outputs = np.array(theirs["logits"])  # [T, N, 27], where magenta.js samples
    their_decoded = np.array(theirs["decoded"])  # [N, T, 27]
    assert their_decoded.shape == decoded.shape
    np.testing.assert_allclose(their_outputs, outputs, atol=OUTPUT_TOLERANCE, rtol=0)
    np.testing.assert_array_equal(their_decoded[..., HITS], decoded[..., HITS])
    np.testing.assert_allclose(their_decoded, decoded, atol=OUTPUT_TOLERANCE, rtol=0)
    hits = decoded[..., HITS]
    assert 0 < hits.mean() < 1  # the case decides something: neither all hits nor none


def test_a_groovae_that_zeroes_its_feedback_is_refused_for_export(tmp_path):
    with pytest.raises(ExportRefused, match="magenta_feedback"):
        export_magenta(tiny_groove_model(magenta_feedback=False, steps=1), tmp_path / "out")
    assert not (tmp_path / "out").exists()
