"""Every command that reads a user's MIDI file for a model reads it as the model's training
data was read: the extraction and the programs in its checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from midi_files import SCALE, instrument, tiny_model_config, write_midi

from symusic.data import midi_windows as mw
from symusic.data.settings import DataSettings
from symusic.errors import InputError
from symusic.musicvae.evaluation import load_data_windows
from symusic.musicvae.model import MusicVAE
from symusic.musicvae.model.config import ModelConfig
from symusic.musicvae.tools import evaluate, generate
from symusic.studio.state import Studio

TUNE = [(SCALE[i % 8], 4 * i, 4 * i + 3) for i in range(16)]  # 4 bars of quarter notes


def model_file(tmp_path: Path, settings: DataSettings) -> Path:
    model = MusicVAE(ModelConfig.from_dict(tiny_model_config(), seq_len=32))
    model.data_settings = settings
    path = tmp_path / f"{settings.extraction}-{len(settings.programs)}.pt"
    model.save(path)
    return path


def waltz(path: Path) -> Path:
    """The tune in 3/4: the magenta extraction drops it, any_meter reads it."""
    write_midi(path, instrument(TUNE), time_signature=False)
    midi = pretty_midi.PrettyMIDI(str(path))
    midi.time_signature_changes = [pretty_midi.TimeSignature(3, 4, 0.0)]
    midi.write(str(path))
    return path


MAGENTA = DataSettings()
ANY_METER = DataSettings(extraction="any_meter")


def test_reconstruct_reads_with_the_models_extraction(tmp_path, capsys):
    song = waltz(tmp_path / "waltz.mid")
    code = generate.main(["reconstruct", "--checkpoint", str(model_file(tmp_path, MAGENTA)),
                          "--input", str(song), "--out", str(tmp_path / "a"),
                          "--device", "cpu"])
    assert code == 1 and "no melody found (no 4/4 section)" in capsys.readouterr().err
    code = generate.main(["reconstruct", "--checkpoint", str(model_file(tmp_path, ANY_METER)),
                          "--input", str(song), "--out", str(tmp_path / "b"),
                          "--device", "cpu"])
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize(("content", "reason"), [("drums", "drums only"), ("empty", "no notes"),
                                                 ("violin", "no melodic program")])
def test_reconstruct_gives_the_scans_reason_for_no_melody(tmp_path, capsys, content, reason):
    if content == "drums":
        song = write_midi(tmp_path / "x.mid", instrument(TUNE, is_drum=True))
    elif content == "violin":
        song = write_midi(tmp_path / "x.mid", instrument(TUNE, program=40))
    else:
        song = write_midi(tmp_path / "x.mid")
    code = generate.main(["reconstruct", "--checkpoint", str(model_file(tmp_path, MAGENTA)),
                          "--input", str(song), "--out", str(tmp_path / "out"),
                          "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1 and f"x.mid: no melody found ({reason})" in err, err


def test_the_models_programs_choose_the_tracks(tmp_path):
    song = write_midi(tmp_path / "band.mid", instrument(TUNE, program=0),
                      instrument([(p - 12, s, e) for p, s, e in TUNE], program=40))
    assert [t.index for t in mw.read_tracks(song, settings=MAGENTA)] == [0]  # programs 0..31
    strings = DataSettings(programs=tuple(range(0, 80)))
    assert [t.index for t in mw.read_tracks(song, settings=strings)] == [0, 1]
    assert [t.index for t in mw.read_tracks(song, range(40, 41), settings=MAGENTA)] == [1]


def test_windows_clear_leading_note_offs_as_training_does(tmp_path):
    # a note ends exactly on bar 1's first step, then a rest: bar 1's window starts there
    notes = [(60, 0, 16), (62, 20, 28), (64, 32, 48), (65, 48, 64)]
    song = write_midi(tmp_path / "off.mid", instrument(notes))
    window, source = mw.pick_window(song, 32, bar=1, settings=MAGENTA)
    assert source.bar == 1 and window[0] == 0 and window[4] >= 2


def test_encode_counts_the_files_that_gave_windows(tmp_path, capsys):
    folder = tmp_path / "songs"
    write_midi(folder / "tune.mid", instrument(TUNE))
    waltz(folder / "waltz.mid")
    write_midi(folder / "drums.mid", instrument(TUNE, is_drum=True))
    out = tmp_path / "z.npy"
    code = generate.main(["encode", "--checkpoint", str(model_file(tmp_path, MAGENTA)),
                          "--input", str(folder), "--out", str(out), "--device", "cpu"])
    printed = capsys.readouterr().out
    assert code == 0 and "windows from 1 file:" in printed, printed  # not "from 3 files"
    assert np.load(out).shape[0] == 3  # bars 0, 1, 2 of the 4-bar tune
    code = generate.main(["encode", "--checkpoint", str(model_file(tmp_path, ANY_METER)),
                          "--input", str(folder), "--out", str(out), "--device", "cpu"])
    assert code == 0 and "windows from 2 files:" in capsys.readouterr().out


def test_evaluate_reads_the_data_with_the_models_settings(tmp_path):
    folder = tmp_path / "songs"
    write_midi(folder / "tune.mid", instrument(TUNE))
    waltz(folder / "waltz.mid")
    windows, info = load_data_windows(folder, 32, extraction="magenta")
    assert len(windows) == 2 and info["files"].startswith("2 files: 1 used")  # bar 2 = bar 0
    report = tmp_path / "report.json"
    assert evaluate.main(["--checkpoint", str(model_file(tmp_path, ANY_METER)), "--data",
                          str(folder), "--json", str(report), "--num-samples", "4",
                          "--interp-pairs", "1", "--device", "cpu"]) == 0
    assert '"extraction": "any_meter"' in report.read_text()
    assert '"files": "2 files: 2 used' in report.read_text()


def test_the_studio_reads_uploads_and_data_with_the_models_settings(tmp_path):
    folder = tmp_path / "songs"
    waltz(folder / "waltz.mid")
    for settings, offered in ((MAGENTA, False), (ANY_METER, True)):
        model = MusicVAE.load(model_file(tmp_path, settings))
        studio = Studio.from_model(model, folder)
        try:
            assert studio.library.settings == settings == studio.uploads.settings
            data = (folder / "waltz.mid").read_bytes()
            if offered:
                assert studio.uploads.add("waltz.mid", data).tracks
                assert studio.library.get("d0").tracks
            else:
                with pytest.raises(InputError, match="no usable melody"):
                    studio.uploads.add("waltz.mid", data)
        finally:
            studio.close()
