"""The ``symusic`` subcommands on a tiny trained checkpoint: the files they write, and what
those files hold."""

from __future__ import annotations

import csv

import numpy as np
import pretty_midi
import pytest

from symusic.data import midi_windows as mw
from symusic.errors import InputError
from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.tools.generate import main

SEQ_LEN = 32  # the tiny model of conftest.py is a 2-bar model
WINDOW_S = 4.0  # two bars at 120 BPM, in seconds


def notes_of(path) -> list[tuple[int, float, float]]:
    """``(pitch, start, end)`` of every note of a MIDI file, which must open in pretty_midi."""
    midi = pretty_midi.PrettyMIDI(str(path))
    return sorted((n.pitch, round(n.start, 3), round(n.end, 3))
                  for inst in midi.instruments for n in inst.notes)


def expected_notes(melodies) -> list[tuple[int, float, float]]:
    """The notes the data pipeline writes for token melodies, one after another."""
    from symusic.data.midi_io import melodies_to_midi

    midi = melodies_to_midi([np.asarray(m) for m in melodies], tempo=120.0)
    return sorted((n.pitch, round(n.start, 3), round(n.end, 3))
                  for inst in midi.instruments for n in inst.notes)


def assert_png(path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def run(*argv) -> int:
    return main([*map(str, argv), "--device", "cpu"])


def test_sample_writes_each_and_joined(tiny_model, tiny_model_path, tmp_path):
    out = tmp_path / "samples"
    assert run("sample", "--checkpoint", tiny_model_path, "--num", 2, "--temperature", 0.7,
               "--seed", 5, "--out", out) == 0
    assert tiny_model.config.seq_len == SEQ_LEN
    melodies = TrainedModel(tiny_model).sample(2, temperature=0.7, seed=5)
    assert melodies.shape == (2, SEQ_LEN)
    for i, melody in enumerate(melodies, start=1):
        assert notes_of(out / f"sample_{i}.mid") == expected_notes([melody])
        assert_png(out / f"sample_{i}.png")
    joined = notes_of(out / "samples.mid")
    assert joined == expected_notes(melodies)
    assert all(end <= 2 * WINDOW_S + 1e-6 for _, _, end in joined)  # two 2-bar windows
    assert not (out / "sample_3.mid").exists()
    assert_png(out / "samples.png")


def test_interpolation_ends_are_the_encoded_inputs(tiny_model, midi_dir):
    a, _ = mw.pick_window(midi_dir / "tune0.mid", SEQ_LEN)
    b, _ = mw.pick_window(midi_dir / "tune1.mid", SEQ_LEN, bar=2)
    z, tokens = TrainedModel(tiny_model).interpolate(a, b, steps=5)
    mu = TrainedModel(tiny_model).encode(np.stack([a, b]))
    assert z.shape == (5, mu.shape[1]) and tokens.shape == (5, SEQ_LEN)
    np.testing.assert_allclose(z[0], mu[0], atol=1e-6)
    np.testing.assert_allclose(z[-1], mu[1], atol=1e-6)
    assert not np.allclose(z[2], mu[0]) and not np.allclose(z[2], mu[1])
    recon = TrainedModel(tiny_model).reconstruct(np.stack([a, b]))
    np.testing.assert_array_equal(tokens[0], recon[0])
    np.testing.assert_array_equal(tokens[-1], recon[1])


def test_interpolate_cli(tiny_model, tiny_model_path, midi_dir, tmp_path):
    out = tmp_path / "interp"
    assert run("interpolate", "--checkpoint", tiny_model_path, "--start", midi_dir / "tune0.mid",
               "--end", midi_dir / "two_tracks.mid", "--end-track", 1, "--end-bar", 1,
               "--steps", 4, "--out", out) == 0
    a, _ = mw.pick_window(midi_dir / "tune0.mid", SEQ_LEN)
    b, source = mw.pick_window(midi_dir / "two_tracks.mid", SEQ_LEN, track=1, bar=1)
    assert (source.track, source.bar) == (1, 1)
    _, tokens = TrainedModel(tiny_model).interpolate(a, b, steps=4)
    for i in range(4):
        assert notes_of(out / f"interp_{i + 1}.mid") == expected_notes([tokens[i]])
        assert_png(out / f"interp_{i + 1}.png")
    assert notes_of(out / "interpolation.mid") == expected_notes(tokens)
    assert notes_of(out / "inputs.mid") == expected_notes([a, b])
    z = np.load(out / "interpolation_z.npy")
    mu = TrainedModel(tiny_model).encode(np.stack([a, b]))
    np.testing.assert_allclose(z[[0, -1]], mu, atol=1e-6)


def test_interpolate_lists_tracks_when_ambiguous(tiny_model_path, midi_dir, tmp_path, capsys):
    code = run("interpolate", "--checkpoint", tiny_model_path, "--start", midi_dir / "tune0.mid",
               "--end", midi_dir / "two_tracks.mid", "--out", tmp_path / "x")
    err = capsys.readouterr().err
    assert code == 1
    assert "--track" in err and "track 0: 'Piano', program 0" in err
    assert "track 1: 'Guitar', program 24" in err and "3 windows of 2 bars" in err
    assert not (tmp_path / "x").exists()
    code = run("interpolate", "--checkpoint", tiny_model_path, "--start", midi_dir / "tune0.mid",
               "--end", midi_dir / "tune1.mid", "--bar", 7, "--out", tmp_path / "x")
    err = capsys.readouterr().err
    assert code == 1 and "possible --bar values: 0, 1, 2" in err


def test_bars_are_the_files_bars(gap_midi):
    tracks = mw.read_tracks(gap_midi)
    assert len(tracks) == 1 and [len(m) // 16 for m in tracks[0].melodies] == [3, 3]
    assert tracks[0].first_bars == [0, 5]
    found = list(mw.iter_folder_windows([gap_midi], SEQ_LEN))
    assert [(s.melody, s.bar) for _, s in found] == [(0, 0), (0, 1), (1, 5), (1, 6)]
    for window, source in found:
        picked, picked_source = mw.pick_window(gap_midi, SEQ_LEN, bar=source.bar)
        np.testing.assert_array_equal(picked, window)
        assert picked_source == source
    np.testing.assert_array_equal(found[2][0], tracks[0].melodies[1][:SEQ_LEN])
    windows, sources = mw.consecutive_windows(gap_midi, SEQ_LEN)
    assert [(s.melody, s.bar) for s in sources] == [(0, 0), (1, 5)]
    with pytest.raises(InputError, match="possible --bar values: 0, 1, 5, 6"):
        mw.pick_window(gap_midi, SEQ_LEN, bar=3)


def test_reconstruct_cli(tiny_model, tiny_model_path, midi_dir, tmp_path, capsys):
    out = tmp_path / "recon"
    source = midi_dir / "tune2.mid"
    assert run("reconstruct", "--checkpoint", tiny_model_path, "--input", source,
               "--out", out) == 0
    assert "2 windows of 2 bars" in capsys.readouterr().out
    windows, sources = mw.consecutive_windows(source, SEQ_LEN)
    assert [s.bar for s in sources] == [0, 2]
    # the original windows, joined, hold the input file's notes (cut at the window edges)
    onsets = sorted((pitch, start) for pitch, start, _ in notes_of(source))
    assert sorted((p, s) for p, s, _ in notes_of(out / "original.mid")) == onsets
    assert notes_of(out / "original.mid") == expected_notes(windows)
    recon = TrainedModel(tiny_model).reconstruct(windows)
    written = notes_of(out / "reconstruction.mid")
    assert written == expected_notes(recon)
    assert all(end <= 2 * WINDOW_S + 1e-6 for _, _, end in written)
    assert_png(out / "reconstruction.png")
    assert_png(out / "original.png")


def test_encode_cli(tiny_model, tiny_model_path, midi_dir, tmp_path):
    out = tmp_path / "latents" / "z.npy"
    assert run("encode", "--checkpoint", tiny_model_path, "--input", midi_dir, "--out", out,
               "--batch-size", 4) == 0
    z = np.load(out)
    with open(tmp_path / "latents" / "z.index.csv") as handle:
        rows = list(csv.DictReader(handle))
    # 6 one-track files + 1 two-track file, 4 bars each: 3 two-bar windows per track
    assert z.shape == (8 * 3, 16) and len(rows) == len(z)
    assert {(r["track"], r["bar"]) for r in rows if r["file"].endswith("two_tracks.mid")} == {
        (t, b) for t in "01" for b in "012"}
    for k in (0, 7, len(rows) - 1):
        row = rows[k]
        window, _ = mw.pick_window(row["file"], SEQ_LEN, int(row["track"]), int(row["bar"]))
        mu = TrainedModel(tiny_model).encode(window[None])[0]
        np.testing.assert_allclose(z[k], mu, atol=1e-5)


def test_same_seed_same_samples(tiny_model):
    a = TrainedModel(tiny_model).sample(4, temperature=1.0, seed=3)
    b = TrainedModel(tiny_model).sample(4, temperature=1.0, seed=3)
    np.testing.assert_array_equal(a, b)


def test_missing_soundfont_is_a_note_not_a_crash(tiny_model_path, tmp_path, capsys):
    out = tmp_path / "s"
    assert run("sample", "--checkpoint", tiny_model_path, "--num", 1, "--out", out, "--audio",
               "--soundfont", tmp_path / "none.sf2") == 0
    err = capsys.readouterr().err
    assert "no audio will be written" in err and "none.sf2" in err
    assert (out / "sample_1.mid").is_file() and not list(out.glob("*.wav"))


def test_bad_numbers_are_refused(tiny_model_path, midi_dir, tmp_path, capsys):
    assert run("sample", "--checkpoint", tiny_model_path, "--num", 0, "--out", tmp_path) == 1
    assert "--num must be 1 to 1000, got 0" in capsys.readouterr().err
    assert run("interpolate", "--checkpoint", tiny_model_path, "--start", midi_dir / "tune0.mid",
               "--end", midi_dir / "tune1.mid", "--steps", 1, "--out", tmp_path) == 1
    assert "--steps must be 2 to 1000 (both ends are included), got 1" in capsys.readouterr().err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error(tiny_model_path, tmp_path, capsys):
    assert main(["sample", "--checkpoint", str(tiny_model_path), "--out", str(tmp_path),
                 "--device", "cuda"]) == 1
    assert "--device: 'cuda' asked for, but CUDA is not available" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", str(tiny_model_path), "--out", str(tmp_path),
                 "--device", "gpu"]) == 1
    assert "--device: unknown device 'gpu'; use auto, cpu, cuda" in capsys.readouterr().err
