"""symusic against magenta.js itself (npm @magenta/music 1.23.1 in Node, its CPU backend).

Checkpoints in Magenta's exact layout with seeded random weights (flat and hierarchical
melody, flat drums; float32 and tfjs-quantized) are served from 127.0.0.1 to magenta.js and
imported by symusic; both encode the same melodies and decode the same z at temperature 0
(argmax). Required: identical tokens for every sequence, mu within 1e-5, every step's
logits (captured where magenta.js's decoder samples) within 1e-4. Export is checked the same
way: small models trained a few steps by symusic, exported, run in magenta.js.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from magenta_layout import (
    FLAT_DRUMS,
    FLAT_MELODY,
    HIER_MELODY,
    magenta_spec,
    magenta_variables,
    random_drums,
    random_melodies,
)
from magentajs import Run, magentajs_modules, run_magentajs
from model_side import mu_and_z, train_briefly
from step_logits import decode_with_logits

from symusic.data.settings import DataSettings
from symusic.magenta import export_magenta
from symusic.magenta.folder import write_tfjs_folder
from symusic.musicvae.model.config import ModelConfig
from symusic.musicvae.model.vae import MusicVAE

MU_TOLERANCE = 1e-5
LOGIT_TOLERANCE = 1e-4


def encoder_inputs(model: MusicVAE, tokens: np.ndarray) -> np.ndarray:
    """What Magenta's encoder reads: one-hot melody, the drums' roll."""
    table = model.representation.encoder_input_table()
    return np.eye(model.representation.vocab_size, dtype=np.float32)[tokens] if table is None \
        else table[tokens]


def tiny_trained_model(config: dict, representation: str, steps: int, seed: int) -> MusicVAE:
    """A small model trained ``steps`` Adam steps by symusic's own loss on random windows."""
    torch.manual_seed(seed)
    model = MusicVAE(ModelConfig.from_dict(config, seq_len=32),
                     DataSettings(representation=representation))
    windows = random_windows(np.random.default_rng(seed), representation, 64, 32)
    return train_briefly(model, windows, steps)


def random_windows(rng, representation: str, count: int, steps: int) -> np.ndarray:
    return (random_melodies if representation == "melody" else random_drums)(rng, count, steps)


def magenta_ready(decoder: dict) -> dict:
    return {"key": "another", "params": {**decoder, "start_input": "zeros"}}


FLAT_CONFIG = {
    "z_size": 8, "encoder_params": {"embed_size": 12, "hidden_size": 16, "n_layers": 1},
    "seq_decoder_args": {"key": "greedy", "params": {"z_size": 8, "decoder_args": magenta_ready(
        {"z_size": 8, "embed_size": 10, "hidden_size": 20, "n_layers": 2})}}}
HIER_CONFIG = {
    "z_size": 8, "encoder_params": {"embed_size": 12, "hidden_size": 6, "n_layers": 1,
                                    "segment_length": 16, "segment_hidden_size": 5},
    "seq_decoder_args": {"key": "hier", "params": {
        "z_size": 8, "n_subsequences": 2,
        "conductor_args": {"key": "conductor", "params": {"hidden_size": 7, "c_size": 9,
                                                          "n_layers": 2}},
        "seq_decoder_args": {"key": "greedy", "params": {"z_size": 9, "decoder_args":
                             magenta_ready({"z_size": 9, "embed_size": 11, "hidden_size": 13,
                                            "n_layers": 1})}}}}}

# Magenta-layout checkpoints symusic imports: (sizes, quantization)
IMPORTED = {"flat-melody": (FLAT_MELODY, None), "flat-melody-uint8": (FLAT_MELODY, "uint8"),
            "hier-melody": (HIER_MELODY, None), "hier-melody-uint16": (HIER_MELODY, "uint16"),
            "flat-drums": (FLAT_DRUMS, None)}
# symusic models exported: (config, representation, quantization)
EXPORTED = {"flat-melody": (FLAT_CONFIG, "melody", None),
            "hier-melody": (HIER_CONFIG, "melody", None),
            "flat-drums": (FLAT_CONFIG, "drums", None),
            "flat-melody-uint8": (FLAT_CONFIG, "melody", "uint8")}


@dataclass
class Case:
    """A model both sides ran: symusic's model, the windows, the z decoded, magenta.js's
    results."""

    model: MusicVAE
    windows: np.ndarray
    mu: np.ndarray
    z: np.ndarray
    theirs: dict


def _case(model: MusicVAE, folder, rng, count: int = 4) -> tuple[Case, Run]:
    windows = random_windows(rng, model.representation.name, count, model.config.seq_len)
    mu, z = mu_and_z(model, windows, rng)
    run = Run(folder, tokens=windows, inputs=encoder_inputs(model, windows), z=z)
    return Case(model, windows, mu, z, {}), run


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, Case]:
    """Every imported and exported model, run by magenta.js in one Node process."""
    modules, why = magentajs_modules()
    if modules is None:
        pytest.skip(f"magenta.js is not available: {why}")
    root = tmp_path_factory.mktemp("magentajs")
    built: dict[str, tuple[Case, Run]] = {}
    for seed, (name, (sizes, quantization)) in enumerate(IMPORTED.items()):
        folder = write_tfjs_folder(root / f"import-{name}", magenta_spec(sizes),
                                   magenta_variables(sizes, seed=10 + seed), quantization)
        built[f"import-{name}"] = _case(MusicVAE.load(folder).eval(), folder,
                                        np.random.default_rng(seed))
    for seed, (name, (config, representation, quantization)) in enumerate(EXPORTED.items()):
        model = tiny_trained_model(config, representation, steps=8, seed=seed)
        folder = export_magenta(model, root / f"export-{name}", quantization)
        if quantization is not None:  # what both sides read is the quantized folder
            model = MusicVAE.load(folder).eval()
        built[f"export-{name}"] = _case(model, folder, np.random.default_rng(20 + seed))
    results = run_magentajs(modules, [run for _, run in built.values()])
    for (case, _), theirs in zip(built.values(), results, strict=True):
        case.theirs = theirs
    return {name: case for name, (case, _) in built.items()}


ALL = [f"import-{name}" for name in IMPORTED] + [f"export-{name}" for name in EXPORTED]


@pytest.mark.parametrize("name", ALL)
def test_tokens_and_step_logits_at_temperature_0_are_magentajs(cases, name):
    case = cases[name]
    tokens, logits = decode_with_logits(case.model, case.z)
    theirs = np.array(case.theirs["logits"])  # [T, N, V], captured where magenta.js samples
    assert theirs.shape == logits.shape
    np.testing.assert_array_equal(theirs.argmax(-1).T, np.array(case.theirs["tokens"]))
    np.testing.assert_array_equal(np.array(case.theirs["tokens"]), tokens)
    np.testing.assert_allclose(theirs, logits, atol=LOGIT_TOLERANCE, rtol=0)


@pytest.mark.parametrize("name", ALL)
def test_mu_of_the_same_inputs_is_magentajs(cases, name):
    case = cases[name]
    np.testing.assert_allclose(np.array(case.theirs["mu_of_inputs"]), case.mu,
                               atol=MU_TOLERANCE, rtol=0)


@pytest.mark.parametrize("name", [n for n in ALL if "melody" in n])
def test_melodies_through_magentajs_note_sequences_encode_the_same(cases, name):
    case = cases[name]
    # magenta.js read back exactly these melodies from the NoteSequences it made of them
    np.testing.assert_array_equal(np.array(case.theirs["inputs"]).argmax(-1), case.windows)
    np.testing.assert_allclose(np.array(case.theirs["mu"]), case.mu, atol=MU_TOLERANCE, rtol=0)


def test_magentajs_drum_converter_sets_the_no_hit_bit_a_step_early(cases):
    case = cases["import-flat-drums"]
    rolls = encoder_inputs(case.model, case.windows)
    read = np.array(case.theirs["inputs"])
    # its DrumsConverter.toTensor writes "no hits" through tfjs TensorBuffer.set at column
    # -1, which lands on the step before: the hits are Magenta's, the tenth column is shifted
    # (so magenta.js's own encode() of drums differs from Magenta's TF and symusic's)
    np.testing.assert_array_equal(read[..., :9], rolls[..., :9])
    np.testing.assert_array_equal(read[:, :-1, 9], rolls[:, 1:, 9])
    assert not read[:, -1, 9].any()
