"""The typed-config building blocks, shared by the model's params and the experiment config.

* :class:`ConfigError`: a config that cannot be used; the message starts with the dotted key
  path (``seq_decoder_args.params.conductor_args.params.c_size: must be a positive integer,
  got 'abc'``) and says what is allowed.
* :class:`ConfigModel`: the pydantic base (frozen, unknown keys refused with the allowed ones
  named); :data:`PositiveInt`, :data:`PositiveFloat` and :data:`EmbedSize`, the model's field
  types.
* :class:`Registry`: one table per concept (decoders, sequence decoders), config key -> params
  class. The ``{"key": ..., "params": ...}`` union is derived from it, and each params class
  builds its own module, so a key registered once is both parsed and built.
* :func:`config_error`: pydantic's first error as one ``ConfigError`` line, without the union
  tags pydantic puts in its locations.

Nothing here imports torch: the params classes live beside the modules they configure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

P = TypeVar("P", bound="Params")
_OWN_ERROR = "symusic_config"  # the type of the errors raised here, already worded for people


class ConfigError(ValueError):
    """A config that cannot be used; the message starts with the dotted key path."""


def user_error(message: str, at: str = "", got: Any = ...) -> PydanticCustomError:
    """A validation error worded for people; ``at``: a key below the failing location;
    ``got``: the value to quote after the message."""
    text = message if got is ... else f"{message}, got {_shown(got)}"
    return PydanticCustomError(_OWN_ERROR, "{text}", {"text": text, "at": at})


def _shown(value: Any, limit: int = 120) -> str:
    """``repr(value)``, cut short: a message stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _require_mapping(value: Any) -> dict:
    if not isinstance(value, dict):
        raise user_error("must be a mapping", got=value)
    return value


def _refuse_unknown_keys(value: dict, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    for key in value:
        if key not in allowed:
            raise user_error(f"unknown key; allowed keys are {', '.join(allowed)}", at=str(key))


class ConfigModel(BaseModel):
    """A frozen config section; a key it does not declare is refused, naming those it does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, BaseModel):
            return data
        _refuse_unknown_keys(_require_mapping(data), cls.model_fields)
        return data


def _positive_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise user_error("must be a positive integer", got=value)
    return value


def _positive_float(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
        raise user_error("must be a positive number", got=value)
    return float(value)


MAX_PARTS = 16  # parts a step may have (the trio has 3)


def _embed_size(value: Any) -> int | tuple[int, ...]:
    if isinstance(value, list | tuple):
        if not 0 < len(value) <= MAX_PARTS:
            raise user_error(f"must be a positive integer, or a list of 1 to {MAX_PARTS} "
                             "(one a part of the step)", got=value)
        return tuple(_positive_int(size) for size in value)
    return _positive_int(value)


PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
PositiveFloat = Annotated[float, BeforeValidator(_positive_float)]
# a decoder's input features: one size, or one a part of a multi-part step (Magenta's trio
# one-hots are 90, 90 and 512 wide)
EmbedSize = Annotated[int | tuple[int, ...], BeforeValidator(_embed_size)]


@dataclass(frozen=True)
class Context:
    """The context a decoder receives: its size and the key path that sets it."""

    size: int
    name: str


class Params(ConfigModel):
    """A registered module's params: ``build(...)`` makes the module (arguments per concept).
    ``only_as`` names the one place a key may appear, if it is restricted to one."""

    only_as: ClassVar[str | None] = None

    def check(self, path: str, context: Context, seq_len: int) -> None:
        """The rules across sections, for params at ``path`` receiving ``context`` and decoding
        ``seq_len`` steps: a ``z_size`` must equal the context's size (subclasses with nested
        sections check those too). Raises :class:`ConfigError` naming the key."""
        z_size = getattr(self, "z_size", None)
        if z_size is not None and z_size != context.size:
            raise ConfigError(f"{join(path, 'z_size')}: must equal the size of the context it "
                              f"receives ({context.name} = {context.size}), got {z_size}")


class Registry:
    """Config key -> params class for one concept; register with ``@REGISTRY.register("key")``.

    :meth:`args_type` derives the pydantic type of ``{"key": ..., "params": ...}`` from the
    table (a union discriminated on ``key``), so a key registered here is parsed everywhere its
    concept is, and built by its params class. Register every key before deriving a type.
    """

    def __init__(self, concept: str):
        self.concept = concept
        self.params: dict[str, type[Params]] = {}
        self._args: dict[str, type[BaseModel]] = {}

    def register(self, key: str) -> Callable[[type[P]], type[P]]:
        """Class decorator: ``key`` is configured by the decorated params class."""

        def add(params_cls: type[P]) -> type[P]:
            if key in self.params:
                raise ValueError(f"{self.concept} key {key!r} registered twice")
            self.params[key] = params_cls
            return params_cls

        return add

    def unrestricted(self) -> list[str]:
        """The keys allowed wherever this concept is (no ``only_as``)."""
        return [key for key, cls in self.params.items() if cls.only_as is None]

    def args_model(self, key: str) -> type[BaseModel]:
        """The ``{"key": key, "params": ...}`` model of one key (made once)."""
        if key not in self._args:
            self._args[key] = create_model(
                f"{self.params[key].__name__.removesuffix('Params')}Args",
                __base__=ConfigModel,
                key=(Literal[key], ...),
                params=(self.params[key], ...),
            )
        return self._args[key]

    def args_type(self, keys: Iterable[str] | None = None) -> Any:
        """The pydantic type of ``{"key": ..., "params": ...}`` for ``keys`` (default: all)."""
        keys = list(self.params if keys is None else keys)
        members = tuple(self.args_model(key) for key in keys)
        union = members[0] if len(members) == 1 else Annotated[
            Union[members], Field(discriminator="key")  # noqa: UP007 (a runtime-built union)
        ]
        return Annotated[union, BeforeValidator(lambda value: self._check_key(value, keys))]

    def rebuild(self) -> None:
        """Resolve the forward references of recursive params (``hier`` holds a seq decoder)."""
        for key in self.params:
            self.params[key].model_rebuild()
            self.args_model(key).model_rebuild()

    def _check_key(self, value: Any, allowed: list[str]) -> Any:
        """Refuse an unknown or misplaced key with a message naming the known or allowed ones
        (pydantic's own names the union's tags only)."""
        if isinstance(value, BaseModel):
            return value
        _refuse_unknown_keys(_require_mapping(value), ("key", "params"))
        for name in ("key", "params"):
            if name not in value:
                raise user_error("missing required key", at=name)
        key = value["key"]
        if not isinstance(key, str) or key not in self.params:
            raise user_error(f"unknown key {_shown(key)}; known: {', '.join(sorted(self.params))}",
                             at="key")
        if key not in allowed:
            only_as = self.params[key].only_as
            raise user_error(f"{key!r} is not allowed here; allowed here: "
                             f"{', '.join(sorted(allowed))}"
                             + (f" ({key!r} only as {only_as})" if only_as else ""), at="key")
        return value


def join(*parts: str) -> str:
    """Dotted key path of the non-empty ``parts``."""
    return ".".join(part for part in parts if part)


def _key_path(loc: tuple[Any, ...]) -> list[str]:
    """Pydantic's location without the union tags it inserts after a ``*_args`` key."""
    parts: list[str] = []
    for part in map(str, loc):
        if parts and parts[-1].endswith("_args") and part not in ("key", "params"):
            continue
        parts.append(part)
    return parts


def config_error(err: ValidationError, prefix: str = "") -> ConfigError:
    """Pydantic's first error as one line: the dotted key path (behind ``prefix``), what is
    wrong or allowed, and the value given."""
    first = err.errors()[0]
    ctx = first.get("ctx") or {}
    if isinstance(ctx.get("error"), ConfigError):  # a rule across fields, already path-named
        return ctx["error"]
    path = join(prefix, *_key_path(first["loc"]), ctx.get("at", ""))
    where = path or "<config>"
    if first["type"] == _OWN_ERROR:
        return ConfigError(f"{where}: {first['msg']}")
    if first["type"] == "missing":
        return ConfigError(f"{where}: missing required key")
    return ConfigError(f"{where}: {first['msg'].lower()}, got {_shown(first.get('input'))}")
