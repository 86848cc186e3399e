"""Magenta TensorFlow checkpoints, read without TensorFlow.

The fixtures in ``tf_fixtures/`` were written by TensorFlow 2.21 itself
(``make_tf_fixtures.py``: ``tf.compat.v1.train.Saver``, Magenta's variable names, Adam's state
beside them), with the SHA-256 of every tensor as TensorFlow's own reader gives it back. The
reader must give exactly those arrays; a TF checkpoint must import as the very model its
weights make through the magenta.js path. The refusals are ``test_tf_refusals.py``.
"""

from __future__ import annotations

import hashlib
import json
import tarfile

import numpy as np
import pytest
import torch
from magenta_layout import TRIO_PARTS, random_grooves, random_trios, trio_one_hots
from make_tf_fixtures import CONFIG, FIXTURES, GLOBAL_STEP, fixture_variables
from step_logits import decode_with_logits
from tf_cases import EXPECTED, FIXTURE_DIR, PATHS, import_magenta, magentajs_twin

from symusic.magenta import magenta_configs, read_magenta_state
from symusic.magenta.converters import settings_from_converter
from symusic.magenta.crc32c import TABLE, crc32c, masked_crc32c
from symusic.magenta.magenta_configs import CONFIGS, MagentaConfig, recognise
from symusic.magenta.tf_files import open_tf_checkpoint
from symusic.musicvae.model.vae import CheckpointError, MusicVAE
from symusic.musicvae.tools.generate import main as symusic

# --- the format ---------------------------------------------------------------------------

def serial_crc32c(data: bytes) -> int:
    """CRC-32C a byte at a time, as TensorFlow's portable ``crc32c::Extend`` computes it
    (https://github.com/tensorflow/tensorflow/blob/master/tensorflow/core/lib/hash/crc32c.cc),
    on the reflected polynomial 0x82F63B78."""
    register = 0xFFFFFFFF
    for byte in data:
        register = int(TABLE[(register ^ byte) & 0xFF]) ^ (register >> 8)
    return register ^ 0xFFFFFFFF


def test_crc32c_is_tensorflows():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720, B.4)
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 B.4: 32 bytes of zeros
    rng = np.random.default_rng(0)
    for length in (0, 1, 3, 4, 5, 15, 16, 17, 100, 4097, 200_003):
        data = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        assert crc32c(data) == serial_crc32c(data), length
    # crc32c.h Mask: rotate right by 15 bits and add kMaskDelta 0xa282ead8
    crc = crc32c(b"123456789")
    assert masked_crc32c(b"123456789") == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) % 2**32


@pytest.mark.parametrize("name", PATHS)
def test_the_reader_gives_exactly_what_tensorflow_wrote(name):
    with open_tf_checkpoint(PATHS[name]) as bundle:
        assert set(bundle.entries) == set(EXPECTED[name])
        for tensor, expected in EXPECTED[name].items():
            values = bundle.read(tensor)
            assert values.dtype.str == expected["dtype"]
            assert list(values.shape) == expected["shape"]
            assert hashlib.sha256(values.tobytes()).hexdigest() == expected["sha256"], tensor
        assert int(bundle.read("global_step")) == GLOBAL_STEP[name]
        for tensor, values in fixture_variables(name).items():
            assert np.array_equal(bundle.read(tensor), values), tensor


def test_two_encoder_and_three_decoder_layers_compute_what_tensorflow_computes():
    """flat-mel_16bar's structure, which magenta.js cannot run (its encoder has one layer):
    against TensorFlow's own LSTMBlockCell op (tf_reference.py restates Magenta's graph)."""
    reference = json.loads((FIXTURE_DIR / "reference.json").read_text())["deep_melody"]
    model = MusicVAE.from_state(read_magenta_state(PATHS["deep_melody"], "flat-mel_16bar"))
    assert model.config.encoder_params.n_layers == 2
    mu, _ = model.encode(torch.tensor(reference["tokens"]))
    assert np.abs(mu.detach().numpy() - np.array(reference["mu"])).max() <= 1e-5
    decoded, logits = decode_with_logits(model.eval(), reference["z"])
    assert decoded.tolist() == reference["greedy"]
    first = np.array(reference["logits"])
    assert np.abs(logits[:len(first)] - first).max() <= 1e-4


def test_a_trio_decoded_by_one_lstm_over_its_parts_computes_what_tensorflow_computes():
    """flat-trio_16bar's structure (MultiOutCategoricalLstmDecoder), which magenta.js cannot
    run (its TrioConverter always splits the parts): against TensorFlow's own ops."""
    reference = json.loads((FIXTURE_DIR / "reference.json").read_text())["flat_trio"]
    model = MusicVAE.from_state(read_magenta_state(PATHS["flat_trio"], "flat-trio_16bar")).eval()
    decoder = model.config.seq_decoder_args.params.decoder_args
    assert model.representation.name == "trio"
    assert (decoder.key, decoder.params.embed_size) == ("another", TRIO_PARTS)
    tokens = np.array(reference["tokens"])
    assert np.array_equal(model.encoder.embed(torch.as_tensor(tokens)).numpy(),
                          trio_one_hots(tokens))
    mu, _ = model.encode(torch.as_tensor(tokens))
    assert np.abs(mu.detach().numpy() - np.array(reference["mu"])).max() <= 1e-5
    decoded, logits = decode_with_logits(model, reference["z"])
    assert decoded.tolist() == reference["greedy"]
    assert len(np.unique(decoded[..., 2])) > 1  # the drums decide something
    first = np.array(reference["logits"])
    assert np.abs(logits[:len(first)] - first).max() <= 1e-4


# --- the configs --------------------------------------------------------------------------

CONFIGS_PY = CONFIGS["cat-mel_2bar_small"].url.split("#")[0]
# configs.py's HParams and converters, restated from Magenta's source (commit eed016a)
MAGENTA = {
    # L51-L77: OneHotMelodyConverter(slice_bars=2), BidirectionalLstmEncoder,
    # CategoricalLstmDecoder
    "cat-mel_2bar_small": dict(max_seq_len=32, z_size=256, enc_rnn_size=[512],
                               dec_rnn_size=[256, 256], free_bits=0, max_beta=0.2,
                               beta_rate=0.99999, converter="melody", level_lengths=None,
                               hier_encoder=False),
    # L79-L105
    "cat-mel_2bar_big": dict(max_seq_len=32, z_size=512, enc_rnn_size=[2048],
                             dec_rnn_size=[2048, 2048, 2048], free_bits=0, max_beta=0.5,
                             beta_rate=0.99999, converter="melody", level_lengths=None,
                             hier_encoder=False),
    # L131-L155: DrumsConverter(slice_bars=2, roll_input=True)
    "cat-drums_2bar_small": dict(max_seq_len=32, z_size=256, enc_rnn_size=[512],
                                 dec_rnn_size=[256, 256], free_bits=48, max_beta=0.2,
                                 beta_rate=0.0, converter="drums", level_lengths=None,
                                 hier_encoder=False),
    # L157-L181
    "cat-drums_2bar_big": dict(max_seq_len=32, z_size=512, enc_rnn_size=[2048],
                               dec_rnn_size=[2048, 2048, 2048], free_bits=48, max_beta=0.2,
                               beta_rate=0.0, converter="drums", level_lengths=None,
                               hier_encoder=False),
    # L338-L363: mel_16bar_converter (slice_bars=16)
    "flat-mel_16bar": dict(max_seq_len=256, z_size=512, enc_rnn_size=[2048, 2048],
                           dec_rnn_size=[2048, 2048, 2048], free_bits=256, max_beta=0.2,
                           beta_rate=0.0, converter="melody", level_lengths=None,
                           hier_encoder=False),
    # L365-L387: HierarchicalLstmDecoder(level_lengths=[16, 16], disable_autoregression)
    "hierdec-mel_16bar": dict(max_seq_len=256, z_size=512, enc_rnn_size=[2048, 2048],
                              dec_rnn_size=[1024, 1024], free_bits=256, max_beta=0.2,
                              beta_rate=0.0, converter="melody", level_lengths=[16, 16],
                              hier_encoder=False),
    # L389-L411: HierarchicalLstmEncoder(BidirectionalLstmEncoder, [16, 16]) too
    "hier-mel_16bar": dict(max_seq_len=256, z_size=512, enc_rnn_size=[1024],
                           dec_rnn_size=[1024, 1024], free_bits=256, max_beta=0.2,
                           beta_rate=0.0, converter="melody", level_lengths=[16, 16],
                           hier_encoder=True),
    # L246-L268: trio_16bar_converter (TrioConverter, slice_bars=16), BidirectionalLstmEncoder,
    # MultiOutCategoricalLstmDecoder(output_depths=[90, 90, 512]), get_default_hparams()'s
    # free_bits=0 and max_beta=1.0
    "flat-trio_16bar": dict(max_seq_len=256, z_size=512, enc_rnn_size=[2048, 2048],
                            dec_rnn_size=[2048, 2048, 2048], free_bits=0, max_beta=1.0,
                            beta_rate=0.0, converter="trio", level_lengths=None,
                            hier_encoder=False, split=False),
    # L270-L301: HierarchicalLstmDecoder(SplitMultiOutLstmDecoder(three
    # CategoricalLstmDecoders), level_lengths=[16, 16], disable_autoregression=True)
    "hierdec-trio_16bar": dict(max_seq_len=256, z_size=512, enc_rnn_size=[2048, 2048],
                               dec_rnn_size=[1024, 1024], free_bits=256, max_beta=0.2,
                               beta_rate=0.0, converter="trio", level_lengths=[16, 16],
                               hier_encoder=False, split=True),
    # L303-L335: the same with HierarchicalLstmEncoder(BidirectionalLstmEncoder, [16, 16])
    "hier-trio_16bar": dict(max_seq_len=256, z_size=512, enc_rnn_size=[1024],
                            dec_rnn_size=[1024, 1024], free_bits=256, max_beta=0.2,
                            beta_rate=0.0, converter="trio", level_lengths=[16, 16],
                            hier_encoder=True, split=True),
}
# under "# GrooVAE configs": BidirectionalLstmEncoder, GrooveLstmDecoder, GrooveConverter(
# split_bars, pitch_classes=ROLAND_DRUM_PITCH_CLASSES, and the flags below), HParams
# z_size=256, enc_rnn_size=[512], dec_rnn_size=[256, 256], max_beta=0.2, free_bits=48
GROOVAE = dict(z_size=256, enc_rnn_size=[512], dec_rnn_size=[256, 256], free_bits=48,
               max_beta=0.2, beta_rate=0.0, converter="groove", level_lengths=None,
               hier_encoder=False)
MAGENTA |= {
    "groovae_4bar": dict(GROOVAE, max_seq_len=64, flags=()),
    "groovae_2bar_humanize": dict(GROOVAE, max_seq_len=32, flags=("humanize",)),
    "groovae_2bar_tap_fixed_velocity": dict(GROOVAE, max_seq_len=32,
                                            flags=("tapify", "fixed_velocities")),
    # the same with max_note_dropout_probability=0.8, a training-time augmentation
    "groovae_2bar_tap_fixed_velocity_note_dropout": dict(GROOVAE, max_seq_len=32,
                                                         flags=("tapify", "fixed_velocities")),
}
CONVERTER_TYPES = {"melody": "MelodyConverter", "drums": "DrumsConverter",
                   "groove": "GrooveConverter", "trio": "TrioConverter"}


@pytest.mark.parametrize("name", MAGENTA)
def test_each_config_is_magentas(name):
    magenta, ours = MAGENTA[name], CONFIGS[name]
    assert ours.url.startswith(CONFIGS_PY)
    assert (ours.steps, ours.z_size, list(ours.enc_rnn_size), list(ours.dec_rnn_size)) == (
        magenta["max_seq_len"], magenta["z_size"], magenta["enc_rnn_size"],
        magenta["dec_rnn_size"])
    assert (ours.free_bits, ours.max_beta, ours.beta_rate) == (
        magenta["free_bits"], magenta["max_beta"], magenta["beta_rate"])
    assert ours.representation == magenta["converter"]
    segments = magenta["level_lengths"] and magenta["level_lengths"][0]
    assert ours.segments == (segments or None)
    assert ours.hierarchical_encoder == magenta["hier_encoder"]
    assert ours.split == magenta.get("split", False)
    converter = ours.data_converter()
    assert converter["args"]["numSteps"] == magenta["max_seq_len"]
    assert converter["type"] == CONVERTER_TYPES[magenta["converter"]]
    if magenta["converter"] == "groove":
        settings = read_converter(converter)
        assert {f for f in ("humanize", "tapify", "fixed_velocities")
                if getattr(settings, f)} == set(magenta["flags"])
        assert settings.magenta_feedback  # GrooveLstmDecoder._sample feeds back every output


def read_converter(converter: dict):
    """The data settings symusic reads from a converter entry."""
    return settings_from_converter(converter, "x").settings


def released_shapes(config: MagentaConfig) -> dict[str, tuple[int, ...]]:
    """The variable shapes of a checkpoint of ``config``, as Magenta's lstm_models.py names
    them (LSTMBlockCell kernel [input + units, 4 units]; one-hot melody and 10-wide drum roll
    into the encoder; [previous output, z] into the decoder; zeros of width 1 into the
    conductor)."""
    shapes = {}

    def lstm(prefix, inputs, units):
        shapes[prefix + "kernel"] = (inputs + units, 4 * units)
        shapes[prefix + "bias"] = (4 * units,)

    vocab = {"melody": 90, "drums": 512, "groove": 27, "trio": 692}[config.representation]
    inputs = {"melody": 90, "drums": 10, "groove": 27, "trio": 692}[config.representation]
    bidi = "bidirectional_rnn/{}/multi_rnn_cell/cell_0/lstm_cell/"
    if config.hierarchical_encoder:
        for level in (0, 1):
            units = config.enc_rnn_size[0]
            for direction in ("fw", "bw"):
                lstm(f"encoder/hierarchical_level_{level}/cell_0/" + bidi.format(direction),
                     inputs if level == 0 else 2 * units, units)
    else:
        for layer, units in enumerate(config.enc_rnn_size):
            for direction in ("fw", "bw"):
                lstm(f"encoder/cell_{layer}/" + bidi.format(direction),
                     inputs if layer == 0 else 2 * config.enc_rnn_size[layer - 1], units)
    top = 2 * config.enc_rnn_size[-1]
    for dense in ("mu", "sigma"):
        shapes[f"encoder/{dense}/kernel"], shapes[f"encoder/{dense}/bias"] = (
            (top, config.z_size), (config.z_size,))
    context, decoder = config.z_size, "decoder/"
    if config.segments:
        for layer, units in enumerate(config.dec_rnn_size):
            lstm(f"decoder/hierarchical_level_0/cell_{layer}/lstm_cell/",
                 1 if layer == 0 else config.dec_rnn_size[layer - 1], units)
        shapes["decoder/hierarchical_level_0/initial_state/kernel"] = (
            config.z_size, 2 * sum(config.dec_rnn_size))
        context, decoder = config.dec_rnn_size[-1], "core_decoder/decoder/"
    cores = [(decoder, vocab)]
    if config.split:  # SplitMultiOutLstmDecoder: core_decoder_P/ under the decoder's scope
        above = "core_decoder/" if config.segments else ""
        cores = [(f"{above}core_decoder_{part}/decoder/", depth)
                 for part, depth in enumerate(TRIO_PARTS)]
    for core, depth in cores:
        for layer, units in enumerate(config.dec_rnn_size):
            lstm(f"{core}multi_rnn_cell/cell_{layer}/lstm_cell/",
                 depth + context if layer == 0 else config.dec_rnn_size[layer - 1], units)
        shapes[core + "output_projection/bias"] = (depth,)
    return shapes


@pytest.mark.parametrize("name", [n for n in CONFIGS if not n.startswith("groovae")])
def test_a_released_checkpoint_is_recognised_from_its_shapes(name):
    assert recognise(released_shapes(CONFIGS[name]), "x") is CONFIGS[name]


def test_groovae_shapes_are_not_enough_so_the_config_must_be_named():
    shapes = released_shapes(CONFIGS["groovae_2bar_humanize"])
    with pytest.raises(CheckpointError, match="several Magenta configs .groovae_4bar, "
                       "groovae_2bar_humanize, .*name one"):
        recognise(shapes, "x")


# --- the import ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", PATHS)
def test_a_tf_checkpoint_is_the_model_of_its_magentajs_twin(tmp_path, name):
    state = read_magenta_state(PATHS[name], CONFIG[name])
    tf_model = MusicVAE.from_state(state, "tf").eval()
    js_model = MusicVAE.load(magentajs_twin(tmp_path, name)).eval()
    assert tf_model.config == js_model.config
    assert tf_model.data_settings == js_model.data_settings
    for key, value in js_model.state_dict().items():
        assert torch.equal(tf_model.state_dict()[key], value), key
    rng = np.random.default_rng(1)
    steps = tf_model.config.seq_len
    tokens = torch.as_tensor(
        random_grooves(rng, 3, steps) if name == "flat_groove" else
        random_trios(rng, 3, steps) if name.endswith("trio") else
        rng.integers(0, tf_model.representation.vocab_size, (3, steps)))
    with torch.no_grad():
        outputs = []
        for model in (tf_model, js_model):
            torch.manual_seed(0)
            outputs.append(model(tokens).logits)
    assert torch.equal(*outputs)
    assert state["magenta"]["config"]["name"] == CONFIG[name]
    assert state["magenta"]["config"]["global_step"] == GLOBAL_STEP[name]


def test_import_magenta_writes_a_tf_checkpoint_as_a_symusic_one(tmp_path, capsys):
    assert import_magenta(PATHS["hier_melody"], tmp_path, "--magenta-config",
                          "hier-mel_16bar", "--half") == 0
    out = capsys.readouterr().out
    assert "melody, hier, 16 bars, z 8, from the TensorFlow checkpoint (hier-mel_16bar" in out
    imported = MusicVAE.load(tmp_path / "m.pt")
    twin = MusicVAE.load(magentajs_twin(tmp_path, "hier_melody"))
    for key, value in twin.state_dict().items():
        assert torch.equal(imported.state_dict()[key], value.half().float()), key


def test_the_loading_door_recognises_a_config_from_the_shapes(tmp_path, monkeypatch, capsys):
    sizes, _ = FIXTURES["flat_melody"]
    tiny = MagentaConfig("cat-mel_2bar_tiny", 51, "melody", 2, None, False, sizes.z,
                         (sizes.encoder_units,), (sizes.decoder_units,) * 2, free_bits=0,
                         max_beta=0.2)
    monkeypatch.setitem(magenta_configs.CONFIGS, tiny.name, tiny)
    download = tmp_path / "cat-mel_2bar_tiny.tar"  # as Magenta's downloads are packed
    with tarfile.open(download, "w") as tar:
        for path in sorted(PATHS["flat_melody"].glob("model.ckpt-*")):
            tar.add(path, arcname=path.name)
    index = PATHS["flat_melody"] / "model.ckpt-1234.index"
    weights = MusicVAE.load(PATHS["flat_melody"]).state_dict()
    for path in (PATHS["flat_melody"], index, download):  # as every --checkpoint reads them
        model = MusicVAE.load(path)
        assert model.config.seq_len == 32
        assert all(torch.equal(model.state_dict()[k], v) for k, v in weights.items())
        out = tmp_path / f"out_{path.name}"
        assert symusic(["sample", "--checkpoint", str(path), "--num", "2", "--out", str(out),
                        "--device", "cpu"]) == 0
        assert len(list(out.glob("sample_*.mid"))) == 2


def test_the_loading_door_tells_tf_checkpoints_from_torch_files(tmp_path):
    from symusic.magenta import is_magenta_checkpoint

    for path in PATHS.values():
        assert is_magenta_checkpoint(path)
    torch.save({"a": torch.zeros(2)}, tmp_path / "model.pth.tar")  # a zip, as torch writes
    torch.save({"a": torch.zeros(2)}, tmp_path / "model.pt")
    assert not is_magenta_checkpoint(tmp_path / "model.pth.tar")
    assert not is_magenta_checkpoint(tmp_path / "model.pt")
    assert not is_magenta_checkpoint(tmp_path / "missing.tar")


def test_an_imported_tf_checkpoint_fine_tunes_with_its_configs_objective(tmp_path, folk_dirs):
    from train.test_train_cli import run_train, tiny_config, write_config

    assert import_magenta(PATHS["flat_melody"], tmp_path, "--magenta-config",
                          "cat-mel_2bar_small", "--config-out", str(tmp_path / "part.json")) == 0
    part = json.loads((tmp_path / "part.json").read_text())
    # configs.py L62-L63: free_bits=0, max_beta=0.2
    assert part["free_bits"] == 0 and part["beta_settings"]["end_beta"] == 0.2
    assert part["slice_bar"] == 2 and part["extraction"] == "magenta"
    config = tiny_config(folk_dirs.train, folk_dirs.eval, **part,
                         ckpt_path=str(tmp_path / "m.pt"), num_steps=4, evaluate_interval=4,
                         advanced_interval=4)
    result = run_train(write_config(tmp_path, "fine.json", config), tmp_path / "runs")
    assert result.returncode == 0, result.stderr[-2000:]
    tuned = MusicVAE.load(tmp_path / "runs/1/checkpoints/last.pt")
    assert tuned.config == MusicVAE.load(tmp_path / "m.pt").config
