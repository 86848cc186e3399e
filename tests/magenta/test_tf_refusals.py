"""Damaged and hostile TensorFlow checkpoints: each is one line and exit 1, no traceback,
nothing unpacked (the fixtures are TensorFlow's own files, then damaged; the changed indexes
are written back by ``tf_index.py``)."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest
from tf_cases import FIXTURE_DIR, PATHS, import_magenta, magentajs_twin, one_line
from tf_index import entry_bytes, entry_fields, field, read_index, write_index

from symusic.magenta import read_magenta_state
from symusic.musicvae.model.vae import CheckpointError

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
             "hierdec-trio_16bar has a flat encoder, hierarchical decoder (3 core decoders), "
             "692 classes; this checkpoint has a flat encoder, flat decoder, 90 classes")
    one_line(capsys, import_magenta(path, tmp_path, "--magenta-config",
                                    "hier-multiperf_vel_1bar_med"),
             "'hier-multiperf_vel_1bar_med' needs multitrack performances")
    one_line(capsys, import_magenta(path, tmp_path, "--magenta-config", "groovae_4bar"),
             "groovae_4bar has a flat encoder, flat decoder, 27 classes; this checkpoint has "
             "a flat encoder, flat decoder, 90 classes")
    one_line(capsys, import_magenta(path, tmp_path, "--magenta-config",
                                    "groovae_2bar_hits_control_tfds"),
             "needs GrooVAE with hits as control inputs")
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



def test_sizes_beyond_the_bounds_are_one_line(tmp_path, capsys, monkeypatch):
    from symusic.magenta import tf_bundle, tf_files

    crowded = tmp_path / "crowded.tar"
    with tarfile.open(crowded, "w") as tar:
        for i in range(tf_files.MAX_TAR_MEMBERS + 1):
            tar.addfile(tarfile.TarInfo(f"f{i}"), None)
    one_line(capsys, import_magenta(crowded, tmp_path), "more than 256 members")
    monkeypatch.setattr(tf_bundle, "MAX_INDEX_BYTES", 1 << 10)  # the fixture's is 1,086 bytes
    one_line(capsys, import_magenta(PATHS["flat_melody"], tmp_path, "--magenta-config",
                                    "cat-mel_2bar_small"), "model.ckpt-1234.index: larger than")
