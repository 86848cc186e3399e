"""The experiment config: every key of the spec, validated once, at start-up.

``ExperimentConfig.from_dict`` turns the JSON config (plus Sacred's overrides) into typed objects.
Anything wrong stops with a :class:`ConfigError` whose message names the dotted key path and what
is allowed, before any data is read or any model is built. The sections are pydantic models on
the same base as the model's params (:mod:`symusic.musicvae.model.params`), and errors are worded
by the same :func:`~symusic.musicvae.model.params.config_error`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from symusic.data.melody import DEFAULT_PROGRAMS
from symusic.data.representation import get_representation
from symusic.data.settings import INPUT_SETTINGS
from symusic.musicvae.model.config import MODEL_KEYS, ConfigError, ModelConfig
from symusic.musicvae.model.params import ConfigModel, config_error, user_error

MidiProgram = Annotated[int, Field(ge=0, le=127)]


class _Strict(ConfigModel):
    model_config = ConfigDict(strict=True, allow_inf_nan=False)


class SamplingSettings(_Strict):
    """Scheduled sampling: how often the decoder is fed its own output instead of the target."""

    schedule: Literal["constant", "inverse_sigmoid"]
    rate: float = Field(ge=0.0)

    @model_validator(mode="after")
    def _rate_fits_schedule(self) -> SamplingSettings:
        if self.schedule == "constant" and self.rate > 1.0:
            raise ValueError("for schedule 'constant', rate is a probability in [0, 1]")
        if self.schedule == "inverse_sigmoid" and self.rate < 1.0:
            raise ValueError("for schedule 'inverse_sigmoid', rate is k >= 1 (in steps)")
        return self


class BetaSettings(_Strict):
    """The KL weight beta, raised linearly from ``start_beta`` to ``end_beta`` over ``duration``."""

    start_beta: float = Field(ge=0.0)
    end_beta: float = Field(ge=0.0)
    duration: int = Field(ge=0)


def _names_a_folder(value: str) -> str:
    if not value.strip():
        raise user_error("must name a folder (an empty one would scan the current folder)")
    return value


Folder = Annotated[str, AfterValidator(_names_a_folder)]


class TrainingConfig(_Strict):
    """Everything in the spec's config except the model, plus a few optional extras."""

    # Data loader and dataset.
    batch_size: int = Field(gt=0)
    num_workers: int = Field(ge=0, le=256)
    train_dir: Folder
    eval_dir: Folder
    slice_bar: int = Field(gt=0)
    # Model checkpoint to continue from (a training checkpoint resumes; a model-only one
    # initialises the weights).
    ckpt_path: str | None = None
    # Optimisation.
    num_steps: int = Field(gt=0)
    learning_rate: float = Field(gt=0.0)
    lr_scheduler_factor: float = Field(gt=0.0, lt=1.0)
    lr_scheduler_patience: int = Field(ge=0)
    # Extra: Magenta's exponential decay, lr = (lr0 - min_learning_rate) * lr_decay**step +
    # min_learning_rate, applied every step. 1.0 (the default) keeps the plateau scheduler only.
    lr_decay: float = Field(default=1.0, gt=0.0, le=1.0)
    min_learning_rate: float = Field(default=1e-5, ge=0.0)
    sampling_settings: SamplingSettings
    beta_settings: BetaSettings
    free_bits: float = Field(ge=0.0)
    # Logging.
    evaluate_interval: int = Field(gt=0)
    advanced_interval: int = Field(gt=0)
    print_interval: int = Field(gt=0)
    # Extras beyond the seed's keys; all optional.
    seed: int = Field(default=0, ge=0, lt=2**63)
    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$")
    # "auto": bf16 autocast where the device has fast bf16 (AVX512-BF16/AMX, a bf16 GPU).
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    grad_clip: float = Field(default=1.0, gt=0.0)
    transpose: int = Field(default=0, ge=0, le=12)
    eval_max_windows: int = Field(default=1024, gt=0)
    num_advanced_samples: int = Field(default=4, gt=0, le=1024)
    # General MIDI programs whose tracks may carry a melody (Magenta's 0..31: piano,
    # chromatic percussion, organ, guitar); e.g. add 40..79 for strings, brass and winds.
    programs: list[MidiProgram] = Field(default_factory=lambda: list(DEFAULT_PROGRAMS),
                                        min_length=1)
    # How melodies are read: "magenta" (Magenta's MusicVAE converter: tempo-split pieces in
    # 4/4 only) or "any_meter" (a tick grid for music in any meter, e.g. the folk corpus).
    extraction: Literal["magenta", "any_meter"] = "magenta"
    # What the model's tokens are: "melody" (Magenta's 90-token melody) or "drums" (Magenta's
    # 9-class drums, 512 tokens, read from the drum channel: programs do not apply).
    # "groove": Magenta's GrooVAE steps (hit, velocity and offset of the 9 drum classes).
    # "trio": Magenta's melody, bass and drums, three tokens a step (programs do not apply).
    representation: Literal["melody", "drums", "groove", "trio"] = "melody"
    # The groove representation's input transformations (Magenta's GrooveConverter options):
    # the encoder reads the beat flattened (humanize), its hits squashed onto one channel
    # (tapify), or without velocities (fixed_velocities).
    humanize: bool = False
    tapify: bool = False
    fixed_velocities: bool = False
    # Free-running steps feed back every predicted velocity and offset, hit or not, as
    # Magenta's GrooVAE does (for a model magenta.js runs exactly after export-magenta).
    magenta_feedback: bool = False

    @field_validator("representation")
    @classmethod
    def _representation_reads_extraction(cls, value: str, info: ValidationInfo) -> str:
        readable = get_representation(value).extractions
        extraction = info.data.get("extraction")  # validated before: it is declared first
        if extraction is not None and extraction not in readable:
            raise ValueError(f"the {value} representation needs extraction "
                             f"{' or '.join(repr(e) for e in readable)}, not {extraction!r}")
        return value

    @model_validator(mode="after")
    def _input_settings_fit_representation(self) -> TrainingConfig:
        allowed = get_representation(self.representation).input_settings
        for flag in INPUT_SETTINGS:
            if getattr(self, flag) and flag not in allowed:
                raise user_error(f"a setting of the groove representation, "
                                 f"not of {self.representation!r}", at=flag)
        return self

    @property
    def seq_len(self) -> int:
        """Length of one training window in 16th-note steps (the representation's)."""
        return get_representation(self.representation).window_length(self.slice_bar)


@dataclass(frozen=True)
class ExperimentConfig:
    """The whole validated config: ``training`` settings and the ``model`` config."""

    training: TrainingConfig
    model: ModelConfig
    raw: dict[str, Any]

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> ExperimentConfig:
        """Validate a config dict as read from JSON; raise :class:`ConfigError` on any problem."""
        if not isinstance(config, dict):
            raise ConfigError(f"the config must be a JSON object, got {type(config).__name__}")
        allowed = set(TrainingConfig.model_fields) | set(MODEL_KEYS)
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ConfigError(
                f"{unknown[0]}: unknown key; allowed keys are "
                + ", ".join(sorted(allowed))
            )
        non_finite = _first_non_finite(config)
        if non_finite is not None:
            path, value = non_finite
            raise ConfigError(f"{path}: must be a finite number, got {value}")
        missing = [key for key in MODEL_KEYS if key not in config]
        if missing:
            raise ConfigError(f"{missing[0]}: missing required key")
        training_dict = {k: v for k, v in config.items() if k not in MODEL_KEYS}
        if training_dict.get("ckpt_path") == "":
            training_dict["ckpt_path"] = None
        training = _validate(TrainingConfig, training_dict)
        model = ModelConfig.from_dict({k: config[k] for k in MODEL_KEYS}, seq_len=training.seq_len)
        # Plain JSON types only: Sacred hands in read-only dict subclasses that a
        # weights_only checkpoint load would refuse.
        return cls(training=training, model=model, raw=json.loads(json.dumps(config)))

    def with_seed(self, seed: int) -> ExperimentConfig:
        """This config with Sacred's ``seed``: the one it was given, or one Sacred drew after
        the config hook validated the config (an int below 2**32)."""
        training = self.training.model_copy(update={"seed": seed})
        return dataclasses.replace(self, training=training, raw={**self.raw, "seed": seed})


def _first_non_finite(value: Any, path: str = "") -> tuple[str, float] | None:
    """The key path and value of the first infinite or NaN number in ``value``, if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    if isinstance(value, dict):
        items = ((f"{path}.{key}" if path else str(key), item) for key, item in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{path}.{index}", item) for index, item in enumerate(value))
    else:
        return None
    for item_path, item in items:
        found = _first_non_finite(item, item_path)
        if found is not None:
            return found
    return None


def _validate(model_cls: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model_cls.model_validate(data)
    except ValidationError as err:
        raise config_error(err) from None
