"""The JSON bodies the API accepts, as pydantic models (checked before any route runs).

Every number has a range, so a huge one (a seed of 2**64, a token of 2**63) is a 422 naming
the field, never a crash further in. What depends on the model (melody length, ``z_size``,
the vocabulary of its representation) is checked by ``ModelService``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator
from pydantic_core import PydanticCustomError

from symusic.studio.service import MAX_BATCH, MAX_CODE, MAX_STEPS

MAX_SEED = 2**63 - 1  # what torch.Generator.manual_seed takes, and JavaScript can write
MAX_LENGTH = 4096  # steps of a melody or numbers of a code: far above any model's
MAX_INDEX = 10**6  # track and bar numbers
MAX_AMOUNT = 100.0  # attribute-vector steps (the page offers -3..3)
MAX_TOKEN = 2**15 - 1  # above any vocabulary; the model's own is checked by ModelService

Temperature = Field(default=0.0, ge=0.0, le=5.0,
                    description="0: argmax; > 0: sampling; null: the model's configured strategy")
Seed = Field(default=None, ge=0, le=MAX_SEED, description="for a repeatable draw")
MAX_PARTS = 8  # tokens in one step of a multi-part representation (the trio's 3)


def _token(value: Any) -> int:
    """A token, with pydantic's own words for what is wrong."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if value < 0:
        raise PydanticCustomError("greater_than_equal", "Input should be greater than or "
                                  "equal to 0")
    if value > MAX_TOKEN:
        raise PydanticCustomError("less_than_equal", f"Input should be less than or equal "
                                  f"to {MAX_TOKEN}")
    return value


def _step(value: Any) -> int | list[int]:
    """A step: one token, or one token per part (a trio step: melody, bass, drums); checked
    here rather than as a union, so an error is one line naming the step."""
    if isinstance(value, list):
        if not 1 <= len(value) <= MAX_PARTS:
            raise PydanticCustomError("step", f"A step holds 1 to {MAX_PARTS} tokens")
        return [_token(v) for v in value]
    return _token(value)


Step = Annotated[Any, PlainValidator(_step, json_schema_input_type=int | list[int])]
Tokens = Annotated[list[Step], Field(max_length=MAX_LENGTH)]
Code = Annotated[list[Annotated[float, Field(allow_inf_nan=False, ge=-MAX_CODE, le=MAX_CODE)]],
                 Field(max_length=MAX_LENGTH)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SampleRequest(_Body):
    """Melodies from the prior."""

    count: int = Field(default=4, ge=1, le=MAX_BATCH)
    temperature: float | None = Field(default=0.5, ge=0.0, le=5.0)
    seed: int | None = Seed
    # normal: N(0, I); fitted: the model's fitted mixture; auto: fitted where it has one
    prior: Literal["auto", "normal", "fitted"] = "auto"


class DecodeRequest(_Body):
    """Decode latent codes."""

    z: list[Code] = Field(min_length=1, max_length=MAX_BATCH)
    temperature: float | None = Temperature
    seed: int | None = Seed


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

    file: str = Field(max_length=32, description="a file id from /api/files or /api/upload")
    track: int | None = Field(default=None, ge=0, le=MAX_INDEX)
    bar: int = Field(default=0, ge=0, le=MAX_INDEX)


class ApplyAttributeRequest(_Body):
    """Move codes along an attribute vector."""

    z: Code
    attribute: str = Field(max_length=64)
    amounts: list[Annotated[float, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]] = Field(
        min_length=1, max_length=MAX_BATCH)
    temperature: float | None = Temperature


class MidiRequest(_Body):
    """Melodies to write as one MIDI file, one after another."""

    melodies: list[Tokens] = Field(min_length=1, max_length=MAX_BATCH)
    tempo: float = Field(default=120.0, gt=10.0, le=400.0)
    gap_bars: int = Field(default=0, ge=0, le=8)
    filename: str = Field(default="symusic.mid", max_length=100)
