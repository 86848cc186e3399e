"""The shipped GrooVAE models, gmd-groovae-2bar-humanize and gmd-groovae-2bar-tap2drum: they
load by name, read as their cards say (humanize; tapify with fixed velocities), still score
what their cards say on a fixed slice of the Groove test split, and the humanize and drumify
commands run on them by name."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import torch

from symusic.data import groove_windows as G
from symusic.musicvae.model import MusicVAE
from symusic.musicvae.pretrained import REGRESSION_WINDOWS, regression_figures, shipped_models
from symusic.musicvae.tools.generate import main as symusic

MODELS = shipped_models()
HUMANIZE, TAP2DRUM = "gmd-groovae-2bar-humanize", "gmd-groovae-2bar-tap2drum"
FIGURES = ("teacher_forced_accuracy", "teacher_forced_note_accuracy",
           "teacher_forced_velocity_mae", "teacher_forced_timing_mae_ms")


@pytest.fixture(scope="session")
def groove_test(request, tmp_path_factory) -> Path:
    """The whole test split of the Groove MIDI Dataset, unpacked from the shipped archive."""
    from symusic.data.groove import ARCHIVE, unpack_groove

    digest = hashlib.sha1(ARCHIVE.read_bytes()).hexdigest()[:10]
    cache = getattr(request.config, "cache", None)
    name = f"symusic-groove-{digest}"
    root = Path(cache.mkdir(name)) if cache is not None else tmp_path_factory.mktemp(name)
    unpack_groove(root, show_progress=False)
    return root / "test"


@pytest.mark.parametrize(("name", "flags"), [(HUMANIZE, {"humanize": True}),
                                             (TAP2DRUM, {"tapify": True,
                                                         "fixed_velocities": True})])
def test_it_is_a_groove_model(name, flags):
    state = torch.load(MODELS[name].path, weights_only=True)
    assert state["representation"]["name"] == "groove"
    assert {k: state["data_settings"].get(k) for k in flags} == flags
    assert all(v.dtype == torch.float16 for v in state["state_dict"].values()
               if v.is_floating_point())


@pytest.mark.parametrize("name", [HUMANIZE, TAP2DRUM])
def test_recorded_figures_hold_on_the_fixed_slice(name, groove_test):
    recorded = MODELS[name].figures["regression"]
    model = MusicVAE.load(MODELS[name].path).eval()
    measured = regression_figures(model, groove_test)
    assert measured["windows"] == recorded["windows"] == REGRESSION_WINDOWS
    for key in FIGURES:
        tolerance = 0.01 if "accuracy" in key else 0.02 * recorded[key]
        assert measured[key] == pytest.approx(recorded[key], abs=tolerance), key


def test_humanize_and_drumify_by_name(groove_test, tmp_path):
    beat = sorted(groove_test.rglob("*beat_4-4.mid"))[0]
    assert symusic(["humanize", "--input", str(beat), "--out", str(tmp_path / "h"),
                    "--device", "cpu"]) == 0
    played = pretty_midi.PrettyMIDI(str(next((tmp_path / "h").glob("*_humanized.mid"))))
    read = pretty_midi.PrettyMIDI(str(next((tmp_path / "h").glob("*_input.mid"))))
    # humanize keeps the hits: the same notes, each near where it was read
    ours = sorted((n.pitch, n.start) for n in played.instruments[0].notes)
    theirs = sorted((n.pitch, n.start) for n in read.instruments[0].notes)
    assert [p for p, _ in ours] == [p for p, _ in theirs]
    step = 60 / read.get_tempo_changes()[1][0] / 4
    assert max(abs(a - b) for (_, a), (_, b) in zip(ours, theirs, strict=True)) <= step
    assert len({n.velocity for n in played.instruments[0].notes}) > 10
    assert symusic(["drumify", "--input", str(beat), "--out", str(tmp_path / "d"),
                    "--seed", "0", "--device", "cpu"]) == 0
    drummed = pretty_midi.PrettyMIDI(str(next((tmp_path / "d").glob("*_drumified.mid"))))
    assert len({n.pitch for n in drummed.instruments[0].notes}) >= 3
    assert set(n.pitch for n in drummed.instruments[0].notes) <= set(G.OUTPUT_PITCHES)
    assert np.isclose(drummed.get_tempo_changes()[1][0], read.get_tempo_changes()[1][0])
