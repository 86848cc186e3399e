"""Piano rolls, MIDI + PNG pairs, and WAV rendering (skipped where FluidSynth is absent)."""

from __future__ import annotations

import struct
import wave

import numpy as np
import pretty_midi
import pytest

from symusic.data.tokens import NOTE_OFF, pitch_to_token
from symusic.musicvae.tools import render

NEEDS_AUDIO = pytest.mark.skipif(render.audio_problem() is not None,
                                 reason=f"no audio here: {render.audio_problem()}")


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def one_bar(*pitches: int) -> np.ndarray:
    tokens = np.zeros(16, dtype=np.int64)
    for i, pitch in enumerate(pitches):
        tokens[4 * i], tokens[4 * i + 3] = pitch_to_token(pitch), NOTE_OFF
    return tokens


def test_rows_and_joined_layouts(tmp_path):
    melodies = [one_bar(60, 64, 67), np.zeros(16, dtype=np.int64), one_bar(72)]
    width, height = png_size(render.plot_pianoroll(melodies, tmp_path / "rows.png",
                                                   titles=["a", "empty", "c"]))
    assert height > width / 2  # three panels stacked
    many = [one_bar(60 + i) for i in range(render.MAX_ROWS + 1)]
    width, height = png_size(render.plot_pianoroll(many, tmp_path / "joined.png"))
    assert width > 3 * height  # one long axis
    with pytest.raises(ValueError, match="2 titles for 3 melodies"):
        render.plot_pianoroll(melodies, tmp_path / "x.png", titles=["a", "b"])
    with pytest.raises(ValueError, match="no melodies"):
        render.plot_pianoroll([], tmp_path / "x.png")


def test_write_melodies_with_roll(tmp_path):
    melodies = [one_bar(60, 62), one_bar(64)]
    mid, png = render.write_melodies_with_roll(melodies, tmp_path / "out", "pair", tempo=60.0,
                                               program=40, references=[one_bar(59), one_bar(65)])
    assert (mid.name, png.name) == ("pair.mid", "pair.png")
    png_size(png)
    midi = pretty_midi.PrettyMIDI(str(mid))
    assert [i.program for i in midi.instruments] == [40]
    # at 60 BPM a 16th note lasts 0.25 s; the second melody starts at bar 2 (4 s)
    notes = [(n.pitch, round(n.start, 3), round(n.end, 3)) for n in midi.instruments[0].notes]
    assert notes == [(60, 0.0, 0.75), (62, 1.0, 1.75), (64, 4.0, 4.75)]


def test_missing_fluidsynth_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    monkeypatch.setattr(render, "_has_pyfluidsynth", lambda: False)
    problem = render.audio_problem()
    assert problem and "apt-get install fluidsynth fluid-soundfont-gm" in problem
    with pytest.raises(render.AudioUnavailableError, match="fluid-soundfont-gm"):
        render.render_audio(tmp_path / "x.mid")


def test_missing_soundfont_is_named(tmp_path):
    with pytest.raises(render.AudioUnavailableError, match="nowhere.sf2 does not exist"):
        render.render_audio(tmp_path / "x.mid", soundfont=tmp_path / "nowhere.sf2")


@NEEDS_AUDIO
def test_render_audio_writes_sound(tmp_path):
    mid, _ = render.write_melodies_with_roll([one_bar(60, 64, 67, 72)], tmp_path, "arp")
    wav = render.render_audio(mid)
    assert wav == tmp_path / "arp.wav"
    with wave.open(str(wav)) as w:
        seconds = w.getnframes() / w.getframerate()
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert 1.5 <= seconds <= 10  # one bar at 120 BPM is 2 s (minus the last rest, plus a tail)
    assert np.abs(frames).max() > 1000  # not silence


@NEEDS_AUDIO
def test_cli_audio(tiny_model_path, tmp_path):
    from symusic.musicvae.tools.generate import main

    out = tmp_path / "s"
    assert main(["sample", "--checkpoint", str(tiny_model_path), "--num", "1", "--out",
                 str(out), "--audio", "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.glob("*.wav")) == ["sample_1.wav", "samples.wav"]


def test_a_long_roll_costs_a_bounded_number_of_artists(tmp_path, monkeypatch):
    """900 joined 2-bar windows (an hour of music, thousands of notes) draw with a few
    collections and thinned ticks and labels, not a patch per note and a line per beat."""
    from matplotlib.figure import Figure

    drawn = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (drawn.append(fig),
                                                                save(fig, *a, **k))[1])
    windows = [np.tile(one_bar(60 + i % 12, 64, 67, 72), 2) for i in range(900)]
    render.plot_pianoroll(windows, tmp_path / "long.png", titles=[f"w{i}" for i in range(900)],
                          references=windows)
    (ax,) = drawn[0].axes
    assert len(ax.get_children()) < 100, len(ax.get_children())
    assert len(ax.get_xticks()) <= render.MAX_BAR_TICKS + 1
    texts = [t.get_text() for t in ax.texts]
    assert texts[:2] == ["w0", "w50"] and len(texts) <= render.MAX_LABELS
    boxes = [c for c in ax.collections if len(c.get_paths()) == 900 * 8]
    assert len(boxes) == 2  # every note and every reference note is there, in one artist each
    assert png_size(tmp_path / "long.png")[0] == 60 * render.DPI  # capped width


def test_fluidsynth_never_reads_a_path_as_an_option(tmp_path, monkeypatch):
    """Relative paths starting with '-' reach fluidsynth as absolute paths."""
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        (tmp_path / "-odd" / "x.wav").write_bytes(b"RIFF")
        return render.subprocess.CompletedProcess(cmd, 0, "", "")

    (tmp_path / "-odd").mkdir()
    (tmp_path / "-odd" / "x.mid").write_bytes(b"MThd")
    (tmp_path / "-font.sf2").write_bytes(b"sf2")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(render.shutil, "which", lambda name: "/usr/bin/fluidsynth")
    monkeypatch.setattr(render.subprocess, "run", fake_run)
    wav = render.render_audio("-odd/x.mid", soundfont="-font.sf2")
    assert wav.resolve() == (tmp_path / "-odd" / "x.wav").resolve()
    (cmd,) = calls
    paths = cmd[cmd.index("-F") + 1 :]
    assert paths == [str(tmp_path / "-odd" / "x.wav"), str(tmp_path / "-font.sf2"),
                     str(tmp_path / "-odd" / "x.mid")]


@NEEDS_AUDIO
def test_cli_audio_into_a_folder_named_like_an_option(tiny_model_path, tmp_path, monkeypatch):
    from symusic.musicvae.tools.generate import main

    monkeypatch.chdir(tmp_path)
    assert main(["sample", "--checkpoint", str(tiny_model_path), "--num", "1",
                 "--out=-odd", "--audio", "--device", "cpu"]) == 0
    assert sorted(p.name for p in (tmp_path / "-odd").glob("*.wav")) == ["sample_1.wav",
                                                                        "samples.wav"]
