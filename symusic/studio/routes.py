"""The JSON API under ``/api``: every endpoint the pages call.

Melodies travel as token lists (the vocabulary of the model's representation, described
under ``vocab`` by ``/api/info``), codes as float lists. Each melody in a response comes
with its code (when there is one) and its attributes, so the page can show and reuse both.
Errors are ``{"error": "..."}`` (see ``app.py``).
"""

from __future__ import annotations

import io
import re
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from symusic.studio import schemas
from symusic.studio.attributes import ATTRIBUTES, measure_all
from symusic.studio.library import MelodyFile, describe_file, pick
from symusic.studio.projection import METHODS, tsne_available
from symusic.studio.service import ModelService
from symusic.studio.state import Studio

router = APIRouter(prefix="/api")


def get_studio(request: Request) -> Studio:
    """The app's ``Studio`` (dependency)."""
    return request.app.state.studio


StudioDep = Annotated[Studio, Depends(get_studio)]


def melodies_json(service: ModelService, tokens: np.ndarray,
                  z: np.ndarray | None = None) -> list[dict]:
    """Melodies ``[N, T]`` (and codes ``[N, Z]``) as the API returns them, their attributes
    measured as the model's representation reads its tokens."""
    measures = measure_all(tokens, service.representation)
    out = []
    for i, melody in enumerate(tokens):
        item = {"tokens": np.asarray(melody).astype(int).tolist(),
                "attributes": {name: values[i] for name, values in measures.items()}}
        if z is not None:
            item["z"] = [round(float(v), 5) for v in z[i]]
        out.append(item)
    return out


@router.get("/info")
def info(studio: StudioDep) -> dict:
    """The model's shape, the data folder's summary and what the pages can offer."""
    service, library = studio.service, studio.library
    return {
        "seq_len": service.seq_len, "bars": service.bars, "z_size": service.z_size,
        "checkpoint": studio.checkpoint_name,
        "data": None if library.folder is None else {
            "folder": library.folder.name, "files": len(library.paths)},
        "map_methods": [m for m in METHODS if m != "tsne" or tsne_available()],
        "attributes": [{"name": a.name, "label": a.label, "unit": a.unit}
                       for a in ATTRIBUTES.values()],
        "representation": service.representation.name,
        "prior": service.trained.prior_name,
        "vocab": service.representation.vocabulary(),
    }


@router.post("/sample")
def sample(body: schemas.SampleRequest, studio: StudioDep) -> dict:
    """Melodies decoded from codes drawn from the prior."""
    z = studio.service.sample_z(body.count, body.seed, body.prior)
    tokens = studio.service.decode(z, body.temperature, body.seed)
    return {"melodies": melodies_json(studio.service, tokens, z)}


@router.post("/decode")
def decode(body: schemas.DecodeRequest, studio: StudioDep) -> dict:
    """Melodies decoded from the given codes."""
    z = studio.service.check_z(body.z)
    tokens = studio.service.decode(z, body.temperature, body.seed)
    return {"melodies": melodies_json(studio.service, tokens, z)}


@router.post("/encode")
def encode(body: schemas.MelodiesRequest, studio: StudioDep) -> dict:
    """The codes (posterior means) of the given melodies."""
    tokens = studio.service.check_tokens(body.melodies)
    return {"melodies": melodies_json(studio.service, tokens, studio.service.encode(tokens))}


@router.post("/reconstruct")
def reconstruct(body: schemas.MelodiesRequest, studio: StudioDep) -> dict:
    """Each melody encoded (z = mu) and decoded."""
    z = studio.service.encode(body.melodies)
    tokens = studio.service.decode(z, body.temperature)
    return {"melodies": melodies_json(studio.service, tokens, z)}


@router.post("/interpolate")
def interpolate(body: schemas.InterpolateRequest, studio: StudioDep) -> dict:
    """The slerp walk between two melodies' codes, both ends included."""
    z, tokens = studio.service.interpolate(np.asarray(body.start), np.asarray(body.end),
                                           body.steps, body.temperature)
    return {"melodies": melodies_json(studio.service, tokens, z)}


def _find_file(studio: Studio, file_id: str) -> MelodyFile:
    try:
        if file_id.startswith("u"):
            return studio.uploads.get(file_id)
        return studio.library.get(file_id)
    except KeyError:
        note = (f" (the studio keeps the last {studio.max_uploads} uploads)"
                if file_id.startswith("u") else "")
        raise HTTPException(404, f"no file {file_id!r}{note}") from None


@router.get("/files")
def files(studio: StudioDep) -> dict:
    """The data folder's MIDI files, ``[{"id", "name"}]`` (not read yet)."""
    return {"files": studio.library.names()}


@router.get("/files/{file_id}")
def file_tracks(file_id: str, studio: StudioDep) -> dict:
    """A data file or upload with its melody tracks and each track's possible start bars."""
    entry = _find_file(studio, file_id)
    described = describe_file(entry, studio.service.seq_len)
    if not described["tracks"]:
        raise HTTPException(422, f"{entry.name} has no melody of {studio.service.bars} bars "
                                 "or more")
    return described


@router.post("/upload")
async def upload(request: Request, studio: StudioDep,
                 name: Annotated[str, Query(max_length=200)] = "upload.mid") -> dict:
    """A MIDI file sent as the raw request body; answers as ``/api/files/{id}`` does.

    The body arrives here whole and at most ``MAX_UPLOAD_BYTES`` long (``guard.py``)."""
    data = await request.body()
    entry = await run_in_threadpool(studio.uploads.add, name, data)
    return describe_file(entry, studio.service.seq_len)


@router.post("/window")
def window(body: schemas.WindowRequest, studio: StudioDep) -> dict:
    """A window of a listed file by track and start bar, with its code."""
    entry = _find_file(studio, body.file)
    window_tokens, label = pick(entry, studio.service.seq_len, body.track, body.bar)
    tokens = window_tokens[None]
    return {"label": label,
            **melodies_json(studio.service, tokens, studio.service.encode(tokens))[0]}


@router.get("/dimensions")
def dimensions(studio: StudioDep, count: Annotated[int, Query(ge=1, le=64)] = 12) -> dict:
    """The most active latent dimensions (largest variance of mu over the reference set)."""
    return studio.latent.dimensions(count)


@router.get("/map")
def latent_map(studio: StudioDep, method: Annotated[str, Query()] = "pca") -> dict:
    """The data windows' codes on a plane, with each window's label and attributes."""
    if method not in METHODS:
        raise HTTPException(422, f"unknown map method {method!r}: use one of "
                                 f"{', '.join(METHODS)}")
    if not studio.latent.has_data:
        raise HTTPException(409, "the map shows the windows of --data: start the studio "
                                 "with --data DIR (a folder of MIDI files)")
    points = studio.latent.map(method)
    ref = studio.latent.reference()
    return {"method": method, "labels": ref.labels,
            "x": [round(float(v), 4) for v in points[:, 0]],
            "y": [round(float(v), 4) for v in points[:, 1]],
            "attributes": studio.latent.measures()}


@router.get("/map/{index}")
def map_point(index: int, studio: StudioDep,
              temperature: Annotated[float, Query(ge=0.0, le=5.0)] = 0.0) -> dict:
    """One window of the map: the original and its reconstruction."""
    ref = studio.latent.reference()
    if ref.basis != "data" or not 0 <= index < len(ref.melodies):
        raise HTTPException(404, f"no map point {index}")
    original = ref.melodies[index : index + 1]
    z = ref.mu[index : index + 1]
    recon = studio.service.decode(z, temperature)
    return {"label": ref.labels[index], "original": melodies_json(studio.service, original, z)[0],
            "reconstruction": melodies_json(studio.service, recon, z)[0]}


@router.get("/attributes")
def attributes(studio: StudioDep) -> dict:
    """The attribute vectors: per attribute, the quartile means and the vector's length."""
    vectors = studio.latent.vectors()
    return {"basis": studio.latent.reference().basis, "attributes": [
        {"name": name, "label": ATTRIBUTES[name].label, "unit": ATTRIBUTES[name].unit,
         "low_mean": round(v.low_mean, 4), "high_mean": round(v.high_mean, 4),
         "group_size": v.group_size, "norm": round(float(np.linalg.norm(v.vector)), 4),
         "usable": v.usable}
        for name, v in vectors.items()]}


@router.post("/attributes/apply")
def apply_attribute(body: schemas.ApplyAttributeRequest, studio: StudioDep) -> dict:
    """Decode ``z + amount * vector`` for each amount; the melodies come with their attributes."""
    vectors = studio.latent.vectors()
    if body.attribute not in vectors:
        raise HTTPException(404, f"no attribute {body.attribute!r}; known: "
                                 f"{', '.join(vectors)}")
    z = studio.service.check_z(body.z)[0]
    amounts = np.asarray(body.amounts, dtype=np.float32)[:, None]
    moved = z[None] + amounts * vectors[body.attribute].vector[None]
    tokens = studio.service.decode(moved, body.temperature)
    return {"amounts": body.amounts, "melodies": melodies_json(studio.service, tokens, moved)}


@router.post("/midi")
def midi(body: schemas.MidiRequest, studio: StudioDep) -> Response:
    """The melodies as one MIDI file (one after another), as a download, written by the
    model's representation (a drum model's: the drum channel)."""
    tokens = studio.service.check_tokens(body.melodies)
    score = studio.service.representation.to_midi(list(tokens), tempo=body.tempo,
                                                  gap_bars=body.gap_bars)
    buffer = io.BytesIO()
    score.write(buffer)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", body.filename).strip("._") or "symusic"
    filename = stem if stem.lower().endswith((".mid", ".midi")) else f"{stem}.mid"
    return Response(buffer.getvalue(), media_type="audio/midi",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
