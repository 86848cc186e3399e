"""The JSON bodies the API accepts, as pydantic models (checked before any route runs).

Shapes that depend on the model (melody length, ``z_size``) are checked by ``ModelService``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from symusic.studio.service import MAX_BATCH, MAX_STEPS

Temperature = Field(default=0.0, ge=0.0, le=5.0,
                    description="0: argmax; > 0: sampling; null: the model's configured strategy")
Tokens = list[int]
Code = list[float]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SampleRequest(_Body):
    """Melodies from the prior."""

    count: int = Field(default=4, ge=1, le=MAX_BATCH)
    temperature: float | None = Field(default=0.5, ge=0.0, le=5.0)
    seed: int | None = Field(default=None, ge=0)


class DecodeRequest(_Body):
    """Decode latent codes."""

    z: list[Code] = Field(min_length=1, max_length=MAX_BATCH)
    temperature: float | None = Temperature
    seed: int | None = Field(default=None, ge=0)


class MelodiesRequest(_Body):
    """Melodies to encode or reconstruct."""

    melodies: list[Tokens] = Field(min_length=1, max_length=MAX_BATCH)
    temperature: float | None = Temperature


class InterpolateRequest(_Body):
    """A walk between two melodies."""

    start: Tokens
    end: Tokens
    steps: int = Field(default=7, ge=2, le=MAX_STEPS)
    temperature: float | None = Temperature


class WindowRequest(_Body):
    """A window of a data file or upload, by track and start bar."""

    file: str = Field(description="a file id from /api/files or /api/upload")
    track: int | None = Field(default=None, ge=0)
    bar: int = Field(default=0, ge=0)


class ApplyAttributeRequest(_Body):
    """Move codes along an attribute vector."""

    z: Code
    attribute: str
    amounts: list[float] = Field(min_length=1, max_length=MAX_BATCH)
    temperature: float | None = Temperature


class MidiRequest(_Body):
    """Melodies to write as one MIDI file, one after another."""

    melodies: list[Tokens] = Field(min_length=1, max_length=MAX_BATCH)
    tempo: float = Field(default=120.0, gt=10.0, le=400.0)
    gap_bars: int = Field(default=0, ge=0, le=8)
    filename: str = Field(default="symusic.mid", max_length=100)
