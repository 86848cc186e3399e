"""The Groove and Drumify pages' API under ``/api/groove``, for a GrooVAE model.

A groove travels as ``[steps][27]`` numbers (hits, velocities 0..1, offsets -1..1 of half a
step, class by class: :mod:`symusic.data.groove_windows`), whole bars. ``upload`` reads a MIDI
file as the commands do (its drum track, or with ``taps`` the onsets of a track) in a worker
process under the uploads' deadline; ``perform`` runs the model over a groove two bars at a
time (:mod:`symusic.musicvae.groove_performance`); ``midi`` writes one as a download.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from symusic.data import groove_windows as G
from symusic.data.representation import get_representation
from symusic.errors import InputError
from symusic.studio.library import MAX_UPLOAD_BYTES
from symusic.studio.routes import StudioDep
from symusic.studio.schemas import Seed, _Body
from symusic.studio.state import Studio

MAX_GROOVE_BARS = 64  # what one request may perform (a 3-minute song at 90 bpm)

router = APIRouter(prefix="/api/groove")

Step = Annotated[list[Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]],
                 Field(min_length=G.ITEM_SIZE, max_length=G.ITEM_SIZE)]
Groove = Annotated[list[Step], Field(min_length=G.STEPS_PER_BAR,
                                     max_length=MAX_GROOVE_BARS * G.STEPS_PER_BAR)]


class PerformRequest(_Body):
    """A groove to humanize or drumify."""

    groove: Groove
    temperature: float = Field(default=0.0, ge=0.0, le=5.0)
    seed: int | None = Seed


class GrooveMidiRequest(_Body):
    """A groove to write as a MIDI file."""

    groove: Groove
    tempo: float = Field(default=120.0, gt=10.0, le=400.0)
    filename: str = Field(default="groove.mid", max_length=100)


def _groove_model(studio: Studio) -> None:
    if studio.service.representation.name != "groove":
        raise HTTPException(409, "the Groove and Drumify pages need a GrooVAE model "
                                 "(gmd-groovae-2bar-humanize or gmd-groovae-2bar-tap2drum)")


def _checked(groove: list[list[float]]) -> np.ndarray:
    array = np.asarray(groove, dtype=np.float32)
    if len(array) % G.STEPS_PER_BAR:
        raise InputError(f"a groove is whole bars of {G.STEPS_PER_BAR} steps, got "
                         f"{len(array)} steps")
    try:
        return get_representation("groove").check_tokens(array)
    except ValueError as err:
        raise InputError(str(err)) from None


def _as_json(groove: np.ndarray) -> list[list[float]]:
    return np.round(np.asarray(groove, dtype=np.float64), 4).tolist()


@router.post("/upload")
async def upload(request: Request, studio: StudioDep,
                 name: Annotated[str, Query(max_length=200)] = "upload.mid",
                 taps: bool = False) -> dict:
    """A MIDI file (the raw body) read as a beat, or as taps: its groove and tempo."""
    from symusic.studio.upload_reader import read_beat_in_time

    _groove_model(studio)
    data = await request.body()
    if not data:
        raise InputError("the upload is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"the upload is {len(data) / 2**20:.1f} MB; the limit is "
                         f"{MAX_UPLOAD_BYTES / 2**20:g} MB")
    shown = Path(name).name or "upload.mid"
    with tempfile.TemporaryDirectory(prefix="symusic-groove-") as folder:
        path = Path(folder) / "upload.mid"
        path.write_bytes(data)
        try:
            beat = await run_in_threadpool(read_beat_in_time, path, taps)
        except InputError as err:
            raise InputError(str(err).replace(str(path), shown)) from None
    bars = min(beat.bars, MAX_GROOVE_BARS)
    return {"name": shown, "track": beat.track, "qpm": round(beat.qpm, 3),
            "bars": bars, "cut": beat.bars > bars,
            "groove": _as_json(beat.groove[:bars * G.STEPS_PER_BAR])}


@router.post("/perform")
def perform(body: PerformRequest, studio: StudioDep) -> dict:
    """The groove through the model (humanized, or a beat drummed from taps)."""
    _groove_model(studio)
    groove = _checked(body.groove)
    played = studio.service.perform_groove(groove, body.temperature, body.seed)
    return {"groove": _as_json(played), "hits_in": int(G.hits(groove).sum()),
            "hits_out": int(G.hits(played).sum())}


@router.post("/midi")
def midi(body: GrooveMidiRequest) -> Response:
    """The groove as a MIDI download at ``tempo``, hits at their timing and velocity."""
    groove = _checked(body.groove)
    buffer = io.BytesIO()
    G.groove_to_midi(groove, tempo=body.tempo).write(buffer)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", body.filename).strip("._") or "groove"
    filename = stem if stem.lower().endswith((".mid", ".midi")) else f"{stem}.mid"
    return Response(buffer.getvalue(), media_type="audio/midi",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
