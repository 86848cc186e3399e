"""Trios against magenta.js itself (npm @magenta/music 1.23.1 in Node, its CPU backend).

magenta.js's ``TrioConverter`` models always decode each part with a core decoder of its own
(``NUM_SPLITS = 3``: ``core_decoder_{0,1,2}/decoder/``, under ``core_decoder/`` below the
conductor), each reading its own part's previous one-hot and z (or the bar's embedding); the
encoder reads the parts' one-hots side by side (90 + 90 + 512). symusic runs them with its
``split`` decoder (``context_every_step``, zeros first). Checked as for the other models, both
ways: mu within 1e-5, every step's logits of every part within 1e-4, identical tokens.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from magenta_layout import (
    FLAT_TRIO,
    HIER_TRIO,
    TRIO_PARTS,
    magenta_spec,
    magenta_variables,
    random_trios,
    trio_one_hots,
)
from magentajs import Run, magentajs_modules, run_magentajs
from model_side import mu_and_z, train_briefly
from step_logits import decode_with_logits

from symusic.data.settings import DataSettings
from symusic.magenta import export_magenta
from symusic.magenta.export import ExportRefused
from symusic.magenta.folder import write_tfjs_folder
from symusic.musicvae.model.config import ModelConfig
from symusic.musicvae.model.vae import MusicVAE

MU_TOLERANCE = 1e-5
LOGIT_TOLERANCE = 1e-4


def split_decoder(hidden_size: int, context_every_step: bool = True) -> dict:
    return {"key": "split", "params": {"embed_size": [6, 7, 9], "hidden_size": hidden_size,
                                       "n_layers": 2, "start_input": "zeros",
                                       "context_every_step": context_every_step}}


FLAT_CONFIG = {
    "z_size": 8, "encoder_params": {"embed_size": 1, "hidden_size": 12, "n_layers": 1},
    "seq_decoder_args": {"key": "greedy", "params": {"z_size": 8,
                                                     "decoder_args": split_decoder(14)}}}
HIER_CONFIG = {
    "z_size": 8, "encoder_params": {"embed_size": 1, "hidden_size": 6, "n_layers": 1,
                                    "segment_length": 16, "segment_hidden_size": 5},
    "seq_decoder_args": {"key": "hier", "params": {
        "z_size": 8, "n_subsequences": 2,
        "conductor_args": {"key": "conductor", "params": {"hidden_size": 7, "c_size": 9,
                                                          "n_layers": 1}},
        # symusic's own split default: the bar's embedding sets the state only (zeros in
        # Magenta's kernel rows for it)
        "seq_decoder_args": {"key": "greedy", "params": {
            "z_size": 9, "decoder_args": split_decoder(11, context_every_step=False)}}}}}


def tiny_trio_model(config: dict, steps: int = 6, seed: int = 5) -> MusicVAE:
    """A small trio model trained ``steps`` Adam steps on random trios."""
    torch.manual_seed(seed)
    model = MusicVAE(ModelConfig.from_dict(config, seq_len=32), DataSettings(representation="trio"))
    return train_briefly(model, random_trios(np.random.default_rng(seed), 32, 32), steps)


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, tuple[MusicVAE, np.ndarray, np.ndarray, dict]]:
    """Imported and exported trios, flat and hierarchical, run by magenta.js in one Node
    process: ``(model, mu, z, magenta.js's results)``."""
    modules, why = magentajs_modules()
    if modules is None:
        pytest.skip(f"magenta.js is not available: {why}")
    root = tmp_path_factory.mktemp("magentajs-trio")
    folders, models = {}, {}
    for seed, (name, sizes) in enumerate({"import-flat": FLAT_TRIO,
                                          "import-hier": HIER_TRIO}.items()):
        folders[name] = write_tfjs_folder(root / name, magenta_spec(sizes),
                                          magenta_variables(sizes, seed=60 + seed))
        models[name] = MusicVAE.load(folders[name]).eval()
    for name, config in {"export-flat": FLAT_CONFIG, "export-hier": HIER_CONFIG}.items():
        models[name] = tiny_trio_model(config)
        folders[name] = export_magenta(models[name], root / name)
    built, runs = {}, []
    for seed, (name, model) in enumerate(models.items()):
        rng = np.random.default_rng(70 + seed)
        windows = random_trios(rng, 4, model.config.seq_len)
        mu, z = mu_and_z(model, windows, rng)
        runs.append(Run(folders[name], inputs=trio_one_hots(windows), z=z))
        built[name] = (model, mu, z)
    results = run_magentajs(modules, runs)
    return {name: (*built[name], theirs) for name, theirs in zip(built, results, strict=True)}


NAMES = ["import-flat", "import-hier", "export-flat", "export-hier"]


def test_an_imported_magentajs_trio_is_a_split_trio_model(cases):
    model = cases["import-hier"][0]
    assert model.representation.name == "trio"
    inner = model.config.seq_decoder_args.params.seq_decoder_args.params.decoder_args
    assert inner.key == "split" and inner.params.embed_size == TRIO_PARTS
    assert inner.params.context_every_step


@pytest.mark.parametrize("name", NAMES)
def test_trio_mu_is_magentajs(cases, name):
    _, mu, _, theirs = cases[name]
    np.testing.assert_allclose(np.array(theirs["mu_of_inputs"]), mu, atol=MU_TOLERANCE, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_trio_tokens_and_step_logits_of_every_part_are_magentajs(cases, name):
    model, _, z, theirs = cases[name]
    tokens, logits = decode_with_logits(model, z)  # [N, T, 3], [T, N, 692]
    their_logits = np.concatenate([np.array(part) for part in theirs["part_logits"]], axis=-1)
    assert their_logits.shape == logits.shape
    np.testing.assert_allclose(their_logits, logits, atol=LOGIT_TOLERANCE, rtol=0)
    decoded = np.array(theirs["decoded"])  # the parts' one-hots side by side
    bounds = np.cumsum((0, *TRIO_PARTS))
    their_tokens = np.stack([decoded[..., lo:hi].argmax(-1)
                             for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)], -1)
    np.testing.assert_array_equal(their_tokens, tokens)
    # the case decides something: a random checkpoint's parts vary, a briefly trained
    # model's drums may settle on "no hit"
    varied = [len(np.unique(tokens[..., part])) > 1 for part in range(3)]
    assert all(varied) if name.startswith("import") else any(varied)


def test_a_trio_decoded_by_one_lstm_over_the_parts_is_refused_for_export(tmp_path):
    config = {**FLAT_CONFIG, "seq_decoder_args": {"key": "greedy", "params": {
        "z_size": 8, "decoder_args": {"key": "another", "params": {
            "z_size": 8, "embed_size": 6, "hidden_size": 10, "n_layers": 1,
            "start_input": "zeros"}}}}}
    with pytest.raises(ExportRefused, match="'split' decoder"):
        export_magenta(tiny_trio_model(config, steps=1), tmp_path / "out")
    assert not (tmp_path / "out").exists()
