"""The model config: typed, validated once, with errors that name the dotted key path.

The shape is the spec's (``z_size``, ``encoder_params``, ``seq_decoder_args``), e.g. a flat model::

    {"z_size": 512,
     "encoder_params": {"embed_size": 12, "hidden_size": 2048, "n_layers": 2},
     "seq_decoder_args": {"key": "greedy", "params": {"z_size": 512,
         "decoder_args": {"key": "another", "params": {
             "z_size": 512, "embed_size": 12, "hidden_size": 2048, "n_layers": 3}}}}}

``ModelConfig.from_dict`` reads those three keys (plus ``seq_len`` when it is stored there, as in
``to_dict``'s output) and ignores every other top-level key: those belong to the experiment config,
which checks them. Below the top level every key is checked: unknown, missing, mistyped and
inconsistent values raise ``ConfigError`` naming the key, e.g.
``seq_decoder_args.params.conductor_args.params.c_size: must be a positive integer, got 'abc'``.

The context a decoder receives: the encoder's ``z_size`` at the top; inside ``hier``, the
conductor's ``c_size``. Every ``z_size`` below the top must equal the context it receives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A model config that cannot be built; the message starts with the dotted key path."""


# --- generic field checking -------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


# annotation (a string, as `from __future__ import annotations` keeps it) -> (check, requirement)
_SCALAR_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "int": (_is_positive_int, "must be a positive integer"),
    "float": (_is_positive_number, "must be a positive number"),
}


def _require_mapping(d: Any, path: str) -> dict:
    if not isinstance(d, dict):
        raise ConfigError(f"{path or '<model config>'}: must be a mapping, got {d!r}")
    return d


def _check_keys(d: dict, path: str, allowed: list[str], required: list[str]) -> None:
    for key in d:
        if key not in allowed:
            allowed_keys = ", ".join(allowed)
            raise ConfigError(f"{_join(path, str(key))}: unknown key; allowed keys: {allowed_keys}")
    for key in required:
        if key not in d:
            raise ConfigError(f"{_join(path, key)}: missing required key")


def _parse_fields(cls: type, d: Any, path: str, nested: dict[str, Callable] | None = None) -> Any:
    """Build dataclass ``cls`` from mapping ``d``.

    Scalar fields are checked by their annotation; a field named in ``nested`` is parsed by
    ``nested[name](value, key_path, parsed)``, where ``parsed`` holds the fields declared before
    it (so a decoder can be checked against the ``z_size`` beside it).
    """
    d = _require_mapping(d, path)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    required = [f.name for f in fields if f.default is dataclasses.MISSING]
    _check_keys(d, path, [f.name for f in fields], required)
    parsed: dict[str, Any] = {}
    for f in fields:
        if f.name not in d:
            continue
        key_path, value = _join(path, f.name), d[f.name]
        if nested and f.name in nested:
            parsed[f.name] = nested[f.name](value, key_path, parsed)
        else:
            parsed[f.name] = _check_scalar(value, key_path, f.type)
    return cls(**parsed)


def _check_scalar(value: Any, path: str, annotation: str) -> Any:
    check, requirement = _SCALAR_CHECKS[annotation]
    if not check(value):
        raise ConfigError(f"{path}: {requirement}, got {value!r}")
    return float(value) if annotation == "float" else value


def _context_size(context_size: int, context_name: str) -> Callable:
    """A nested-field parser for a ``z_size`` that must equal the context it receives."""

    def parse(value: Any, path: str, parsed: dict) -> int:
        _check_scalar(value, path, "int")
        if value != context_size:
            raise ConfigError(
                f"{path}: must equal the size of the context it receives "
                f"({context_name} = {context_size}), got {value}"
            )
        return value

    return parse


def _parse_key(d: Any, path: str, known: dict[str, Any], allowed: list[str]) -> str:
    """Check ``{"key": ..., "params": ...}`` and return the key, which must be in ``allowed``."""
    d = _require_mapping(d, path)
    _check_keys(d, path, ["key", "params"], ["key", "params"])
    key = d["key"]
    if not isinstance(key, str) or key not in known:
        raise ConfigError(f"{path}.key: unknown key {key!r}; known: {', '.join(sorted(known))}")
    if key not in allowed:
        raise ConfigError(
            f"{path}.key: {key!r} is not allowed here; allowed here: {', '.join(allowed)}"
            + (" ('conductor' only as conductor_args of 'hier')" if key == "conductor" else "")
        )
    return key


# --- decoders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncoderParams:
    embed_size: int
    hidden_size: int
    n_layers: int


@dataclass(frozen=True)
class SimpleParams:
    """Token embedding -> LSTM -> logits; the context sets the initial state."""

    embed_size: int
    hidden_size: int
    n_layers: int


@dataclass(frozen=True)
class AnotherParams:
    """As ``simple``, with the context (``z_size``) also fed as input at every step."""

    z_size: int
    embed_size: int
    hidden_size: int
    n_layers: int


@dataclass(frozen=True)
class ConductorParams:
    """Zero-input LSTM giving one embedding of ``c_size`` per subsequence (``hier`` only)."""

    hidden_size: int
    c_size: int
    n_layers: int


DECODER_PARAMS: dict[str, type] = {
    "simple": SimpleParams,
    "another": AnotherParams,
    "conductor": ConductorParams,
}
TOKEN_DECODER_KEYS = ["another", "simple"]


@dataclass(frozen=True)
class DecoderArgs:
    key: str
    params: SimpleParams | AnotherParams | ConductorParams

    @classmethod
    def parse(
        cls, d: Any, path: str, context_size: int, context_name: str, allowed: list[str]
    ) -> DecoderArgs:
        key = _parse_key(d, path, DECODER_PARAMS, allowed)
        nested = {"z_size": _context_size(context_size, context_name)}  # used by `another`
        return cls(key, _parse_fields(DECODER_PARAMS[key], d["params"], f"{path}.params", nested))


# --- sequence decoders ------------------------------------------------------------------------


@dataclass(frozen=True)
class GreedyParams:
    """Free-running input: the argmax of the previous output."""

    z_size: int
    decoder_args: DecoderArgs

    @classmethod
    def parse(
        cls, d: Any, path: str, seq_len: int, context_size: int, context_name: str
    ) -> GreedyParams:
        def decoder_args(value: Any, key_path: str, parsed: dict) -> DecoderArgs:
            return DecoderArgs.parse(
                value, key_path, parsed["z_size"], f"{path}.z_size", TOKEN_DECODER_KEYS
            )

        nested = {"z_size": _context_size(context_size, context_name), "decoder_args": decoder_args}
        return _parse_fields(cls, d, path, nested)


@dataclass(frozen=True)
class SampleParams(GreedyParams):
    """Free-running input: drawn from softmax(logits / temperature)."""

    temperature: float = 1.0


@dataclass(frozen=True)
class HierParams:
    """A conductor gives one embedding per subsequence; an inner seq decoder decodes each
    subsequence of ``seq_len / n_subsequences`` steps."""

    z_size: int
    n_subsequences: int
    conductor_args: DecoderArgs
    seq_decoder_args: SeqDecoderArgs

    @classmethod
    def parse(
        cls, d: Any, path: str, seq_len: int, context_size: int, context_name: str
    ) -> HierParams:
        def n_subsequences(value: Any, key_path: str, parsed: dict) -> int:
            _check_scalar(value, key_path, "int")
            if seq_len % value:
                raise ConfigError(
                    f"{key_path}: must divide the sequence length ({seq_len} steps), got {value}"
                )
            return value

        def conductor_args(value: Any, key_path: str, parsed: dict) -> DecoderArgs:
            return DecoderArgs.parse(
                value, key_path, parsed["z_size"], f"{path}.z_size", ["conductor"]
            )

        def seq_decoder_args(value: Any, key_path: str, parsed: dict) -> SeqDecoderArgs:
            c_size = parsed["conductor_args"].params.c_size
            sub_len = seq_len // parsed["n_subsequences"]
            c_name = f"{path}.conductor_args.params.c_size"
            return SeqDecoderArgs.parse(value, key_path, c_size, c_name, sub_len)

        nested = {
            "z_size": _context_size(context_size, context_name),
            "n_subsequences": n_subsequences,
            "conductor_args": conductor_args,
            "seq_decoder_args": seq_decoder_args,
        }
        return _parse_fields(cls, d, path, nested)


SEQ_DECODER_PARAMS: dict[str, type] = {
    "greedy": GreedyParams,
    "sample": SampleParams,
    "hier": HierParams,
}


@dataclass(frozen=True)
class SeqDecoderArgs:
    key: str
    params: GreedyParams | SampleParams | HierParams

    @classmethod
    def parse(
        cls, d: Any, path: str, context_size: int, context_name: str, seq_len: int
    ) -> SeqDecoderArgs:
        key = _parse_key(d, path, SEQ_DECODER_PARAMS, list(SEQ_DECODER_PARAMS))
        params = SEQ_DECODER_PARAMS[key].parse(
            d["params"], f"{path}.params", seq_len, context_size, context_name
        )
        return cls(key, params)


# --- the model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelConfig:
    """The whole model: latent size, the sequence length it is trained on
    (``slice_bar * STEPS_PER_BAR``), encoder and sequence decoder."""

    z_size: int
    seq_len: int
    encoder_params: EncoderParams
    seq_decoder_args: SeqDecoderArgs

    @classmethod
    def from_dict(cls, d: dict, seq_len: int | None = None, path_prefix: str = "") -> ModelConfig:
        """Validate and build.

        Reads ``z_size``, ``encoder_params`` and ``seq_decoder_args``; every other top-level key
        is ignored (the experiment config owns and checks them). ``seq_len`` comes from the
        argument or from ``d["seq_len"]`` (as ``to_dict`` writes it); given both, they must
        agree. ``path_prefix`` is put in front of every key path in error messages.
        """
        d = _require_mapping(d, path_prefix)
        if seq_len is None:
            seq_len = d.get("seq_len")
        elif "seq_len" in d and d["seq_len"] != seq_len:
            raise ConfigError(
                f"{_join(path_prefix, 'seq_len')}: {d['seq_len']!r} disagrees with "
                f"seq_len={seq_len} given by the caller"
            )
        model_keys = {k: d[k] for k in ("z_size", "encoder_params", "seq_decoder_args") if k in d}
        if seq_len is not None:
            model_keys["seq_len"] = seq_len

        def seq_decoder_args(value: Any, key_path: str, parsed: dict) -> SeqDecoderArgs:
            z_size, z_name = parsed["z_size"], _join(path_prefix, "z_size")
            return SeqDecoderArgs.parse(value, key_path, z_size, z_name, parsed["seq_len"])

        nested = {
            "encoder_params": lambda value, key_path, parsed: _parse_fields(
                EncoderParams, value, key_path
            ),
            "seq_decoder_args": seq_decoder_args,
        }
        return _parse_fields(cls, model_keys, path_prefix, nested)

    def to_dict(self) -> dict:
        """Plain nested dict (``seq_len`` included); ``from_dict(to_dict())`` round-trips."""
        return dataclasses.asdict(self)
