"""Magenta TensorFlow checkpoints, read without TensorFlow.

The fixtures in ``tf_fixtures/`` were written by TensorFlow 2.21 itself
(``make_tf_fixtures.py``: ``tf.compat.v1.train.Saver``, Magenta's variable names, Adam's state
beside them), with the SHA-256 of every tensor as TensorFlow's own reader gives it back. The
reader must give exactly those arrays; a TF checkpoint must import as the very model its
weights make through the magenta.js path; damaged and hostile files are one line, exit 1.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from magenta_layout import magenta_variables
from make_tf_fixtures import CONFIG, FIXTURES, GLOBAL_STEP
from tf_index import entry_bytes, entry_fields, field, read_index, write_index

from symusic.magenta import magenta_configs, read_magenta_state
from symusic.magenta.crc32c import TABLE, crc32c, masked_crc32c
from symusic.magenta.folder import write_tfjs_folder
from symusic.magenta.magenta_configs import CONFIGS, MagentaConfig, recognise
from symusic.magenta.tf_files import open_tf_checkpoint
from symusic.musicvae.model.vae import CheckpointError, MusicVAE
from symusic.musicvae.tools.generate import main as symusic

FIXTURE_DIR = Path(__file__).parent / "tf_fixtures"
EXPECTED = json.loads((FIXTURE_DIR / "expected.json").read_text())
# each fixture as a folder, Magenta's .tar, and an .index file
PATHS = {"flat_melody": FIXTURE_DIR / "flat_melody",
         "hier_melody": FIXTURE_DIR / "hier_melody.tar",
         "flat_drums": FIXTURE_DIR / "flat_drums/model.ckpt-7.index"}


def one_line(capsys, code: int, expected: str) -> None:
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert expected in err, err


def import_magenta(source, tmp_path, *extra) -> int:
    return symusic(["import-magenta", str(source), "--out", str(tmp_path / "m.pt"), *extra])


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
        sizes, seed = FIXTURES[name]
        for tensor, values in magenta_variables(sizes, seed).items():
            assert np.array_equal(bundle.read(tensor), values), tensor


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
}


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
    converter = ours.data_converter()
    assert converter["args"]["numSteps"] == magenta["max_seq_len"]
    assert converter["type"] == {"melody": "MelodyConverter", "drums": "DrumsConverter"}[
        magenta["converter"]]


def released_shapes(config: MagentaConfig) -> dict[str, tuple[int, ...]]:
    """The variable shapes of a checkpoint of ``config``, as Magenta's lstm_models.py names
    them (LSTMBlockCell kernel [input + units, 4 units]; one-hot melody and 10-wide drum roll
    into the encoder; [previous output, z] into the decoder; zeros of width 1 into the
    conductor)."""
    shapes = {}

    def lstm(prefix, inputs, units):
        shapes[prefix + "kernel"] = (inputs + units, 4 * units)
        shapes[prefix + "bias"] = (4 * units,)

    vocab = 90 if config.representation == "melody" else 512
    inputs = 90 if config.representation == "melody" else 10
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
    for layer, units in enumerate(config.dec_rnn_size):
        lstm(f"{decoder}multi_rnn_cell/cell_{layer}/lstm_cell/",
             vocab + context if layer == 0 else config.dec_rnn_size[layer - 1], units)
    shapes[decoder + "output_projection/bias"] = (vocab,)
    return shapes


@pytest.mark.parametrize("name", CONFIGS)
def test_a_released_checkpoint_is_recognised_from_its_shapes(name):
    assert recognise(released_shapes(CONFIGS[name]), "x") is CONFIGS[name]


# --- the import ---------------------------------------------------------------------------

def magentajs_twin(tmp_path: Path, name: str) -> Path:
    """The same weights as a magenta.js folder with the same Magenta config's converter."""
    sizes, seed = FIXTURES[name]
    spec = {"type": "MusicVAE", "dataConverter": CONFIGS[CONFIG[name]].data_converter()}
    return write_tfjs_folder(tmp_path / "js", spec, magenta_variables(sizes, seed))


@pytest.mark.parametrize("name", PATHS)
def test_a_tf_checkpoint_is_the_model_of_its_magentajs_twin(tmp_path, name):
    state = read_magenta_state(PATHS[name], CONFIG[name])
    tf_model = MusicVAE.from_state(state, "tf").eval()
    js_model = MusicVAE.load(magentajs_twin(tmp_path, name)).eval()
    assert tf_model.config == js_model.config
    assert tf_model.data_settings == js_model.data_settings
    for key, value in js_model.state_dict().items():
        assert torch.equal(tf_model.state_dict()[key], value), key
    tokens = torch.as_tensor(np.random.default_rng(1).integers(
        0, tf_model.representation.vocab_size, (3, tf_model.config.seq_len)))
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
    model = MusicVAE.load(PATHS["flat_melody"])  # a folder, as every --checkpoint reads one
    assert model.config.seq_len == 32
    assert symusic(["sample", "--checkpoint", str(PATHS["flat_melody"]), "--num", "2",
                    "--out", str(tmp_path / "out"), "--device", "cpu"]) == 0
    assert len(list((tmp_path / "out").glob("sample_*.mid"))) == 2


# --- refusals -----------------------------------------------------------------------------

def copy_fixture(tmp_path: Path, name: str = "flat_melody") -> Path:
    return Path(shutil.copytree(FIXTURE_DIR / name, tmp_path / name))


def test_configs_symusic_cannot_run_are_one_line(tmp_path, capsys):
    path = PATHS["flat_melody"]
    one_line(capsys, import_magenta(path, tmp_path), "holds no config and its shapes (z 8, "
             "encoder [12], decoder [12, 12]) are none of Magenta's configs")
    one_line(capsys, import_magenta(path, tmp_path, "--magenta-config", "hierdec-mel_16bar"),
             "hierdec-mel_16bar has a flat encoder, hierarchical decoder, 90 classes; this "
             "checkpoint has a flat encoder, flat decoder, 90 classes")
    one_line(capsys, import_magenta(path, tmp_path, "--magenta-config", "cat-drums_2bar_big"),
             "cat-drums_2bar_big has a flat encoder, flat decoder, 512 classes")
    one_line(capsys, import_magenta(path, tmp_path, "--magenta-config", "hierdec-trio_16bar"),
             "'hierdec-trio_16bar' needs trio (melody, bass and drums)")
    one_line(capsys, import_magenta(path, tmp_path, "--magenta-config", "groovae_4bar"),
             "needs GrooVAE import")
    one_line(capsys, import_magenta(path, tmp_path, "--magenta-config", "mel_2bar"),
             "unknown Magenta config 'mel_2bar'; supported: cat-mel_2bar_small")
    js = magentajs_twin(tmp_path, "flat_melody")
    one_line(capsys, import_magenta(js, tmp_path, "--magenta-config", "cat-mel_2bar_small"),
             "--magenta-config is for TensorFlow checkpoints")


def _rewrite_index(folder: Path, change) -> None:
    index = folder / "model.ckpt-1234.index"
    entries = read_index(index.read_bytes())
    index.write_bytes(write_index(change(entries)))


def _change_entry(name: str, **fields):
    def change(entries):
        out = []
        for key, value in entries:
            if key == name.encode():
                found = entry_fields(value)
                found.update({{"size": 5, "offset": 4, "slices": 7}[k]: v
                              for k, v in fields.items()})
                value = entry_bytes(found)
            out.append((key, value))
        return out
    return change


KERNEL = "decoder/output_projection/kernel"
DAMAGED = {
    "a truncated index": (lambda f: (f / "model.ckpt-1234.index").write_bytes(
        (f / "model.ckpt-1234.index").read_bytes()[:-9]), "no table magic number"),
    "a flipped index byte": (lambda f: _flip(f / "model.ckpt-1234.index", 20),
                             "a block's CRC does not match its bytes"),
    "a truncated data file": (lambda f: _cut(f / "model.ckpt-1234.data-00000-of-00001"),
                              "runs past the end of model.ckpt-1234.data-00000-of-00001"),
    "a flipped data byte": (lambda f: _flip(f / "model.ckpt-1234.data-00000-of-00001", -5),
                            "do not match their CRC (damaged)"),
    "a missing data file": (lambda f: (f / "model.ckpt-1234.data-00000-of-00001").unlink(),
                            "no data file model.ckpt-1234.data-00000-of-00001"),
    "a huge declared size": (lambda f: _rewrite_index(f, _change_entry(KERNEL, size=1 << 60)),
                             f"tensor '{KERNEL}' declares 1152921504606846976 bytes"),
    "a huge offset": (lambda f: _rewrite_index(f, _change_entry(KERNEL, offset=1 << 40)),
                      f"tensor '{KERNEL}' runs past the end"),
    "a partitioned variable": (lambda f: _rewrite_index(f, _change_entry(KERNEL, slices=b"")),
                               "is a partitioned variable"),
    "a big-endian header": (lambda f: _rewrite_index(f, lambda e: [
        (b"", field(1, 1) + field(2, 1))] + e[1:]), "a big-endian checkpoint"),
    "no header": (lambda f: _rewrite_index(f, lambda e: e[1:]), "no bundle header"),
    "a snappy block": (lambda f: (f / "model.ckpt-1234.index").write_bytes(write_index(
        read_index((f / "model.ckpt-1234.index").read_bytes()), compression=1)),
        "Snappy-compressed index blocks"),
    "a second checkpoint": (lambda f: [shutil.copy(p, f / p.name.replace("1234", "99"))
                                       for p in list(f.glob("model.ckpt-1234.*"))]
                            + [(f / "checkpoint").unlink()], "holds several checkpoints"),
    "a symbolic link": (lambda f: _link(f / "model.ckpt-1234.data-00000-of-00001"),
                        "a symbolic link (refused"),
}


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x40
    path.write_bytes(bytes(data))


def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def _link(path: Path) -> None:
    target = path.with_name("elsewhere")
    path.rename(target)
    path.symlink_to(target)


@pytest.mark.parametrize("case", DAMAGED)
def test_a_damaged_checkpoint_is_one_line(tmp_path, capsys, case):
    damage, expected = DAMAGED[case]
    folder = copy_fixture(tmp_path)
    damage(folder)
    one_line(capsys, import_magenta(folder, tmp_path, "--magenta-config",
                                    "cat-mel_2bar_small"), expected)
    with pytest.raises(CheckpointError):
        read_magenta_state(folder, "cat-mel_2bar_small")


def _tar_with(tmp_path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    path = tmp_path / "bad.tar"
    with tarfile.open(path, "w") as tar:
        for real in sorted((FIXTURE_DIR / "flat_melody").iterdir()):
            tar.add(real, arcname=real.name)
        tar.addfile(member, io.BytesIO(data) if data else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.size, member.linkname = kind, len(data), "/etc/passwd"
    return member


@pytest.mark.parametrize(("member", "expected"), [
    (_member("../escape", data=b"x"), "has a path leading outside the archive"),
    (_member("/etc/cron.d/x", data=b"x"), "has a path leading outside the archive"),
    (_member("model.ckpt-1234.index.link", tarfile.SYMTYPE), "is a link (refused)"),
    (_member("hard", tarfile.LNKTYPE), "is a link (refused)"),
    (_member("fifo", tarfile.FIFOTYPE), "is not a regular file (refused)"),
    (_member("model.ckpt-1234.index", data=b"again"), "appears twice"),
])
def test_a_hostile_tar_is_one_line(tmp_path, capsys, member, expected):
    data = b"x" * member.size
    path = _tar_with(tmp_path, member, data)
    one_line(capsys, import_magenta(path, tmp_path, "--magenta-config", "cat-mel_2bar_small"),
             expected)
    assert not (tmp_path / "escape").exists() and not (tmp_path / "m.pt").exists()


def test_a_file_that_is_no_checkpoint_is_one_line(tmp_path, capsys):
    (tmp_path / "fake.tar").write_bytes(b"not a tar at all" * 100)
    one_line(capsys, import_magenta(tmp_path / "fake.tar", tmp_path),
             "nor a TensorFlow checkpoint")
    (tmp_path / "m.index").write_bytes(b"\0" * 10)
    one_line(capsys, import_magenta(tmp_path / "m.index", tmp_path),
             "10 bytes, too short for an index")
