"""magenta.js checkpoint folders as data: ``config.json`` plus the weights, read and written.

Two layouts are read:

* tfjs (magenta.js today): ``weights_manifest.json``, a list of groups ``{"paths": [shard
  files], "weights": [{"name", "shape", "dtype", "quantization"?}]}``; a group's shards are
  one byte stream holding its weights in order, float32 or quantized (``uint8``/``uint16``:
  ``value = q * scale + min``; ``float16``), as tfjs's ``io.decodeWeights`` reads them;
* deeplearn.js (older magenta.js): ``manifest.json``, ``{name: {"filename", "shape",
  "quantization"?: {"bytes": 1 | 2, "min", "max"}}}``, one raw file per variable
  (``value = q * (max - min) / (2^(8 * bytes) - 1) + min``).

Nothing in a folder is run: the JSON is parsed as data (NaN and Infinity refused) and the
shards are raw little-endian numbers. Every size is bounded before anything is read; every
problem is a one-line :class:`MagentaFolderError`. :func:`write_tfjs_folder` writes the tfjs
layout (optionally quantized), as magenta.js's ``MusicVAE`` loads it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from symusic.atomic import atomic_write
from symusic.musicvae.model.vae import CheckpointError

CONFIG_FILE = "config.json"
TFJS_MANIFEST = "weights_manifest.json"
DEEPLEARNJS_MANIFEST = "manifest.json"
MAX_JSON_BYTES = 4 << 20
MAX_VARIABLES = 1024
MAX_TOTAL_VALUES = 1 << 28  # 1 GiB of float32: Magenta's largest released MusicVAE is smaller
MAX_DIMENSION = 1 << 24
SHARD_BYTES = 4 << 20  # tfjs's converter writes 4 MB shards
# tfjs's quantization dtypes and their sizes in bytes
QUANTIZED_DTYPES = {"uint8": np.dtype("<u1"), "uint16": np.dtype("<u2"),
                    "float16": np.dtype("<f2")}


class MagentaFolderError(CheckpointError):
    """A folder that is not a usable magenta.js checkpoint (one line, naming what is wrong)."""


@dataclass(frozen=True)
class MagentaFolder:
    """What a magenta.js folder holds: its ``config.json`` and its variables by name."""

    spec: dict[str, Any]
    variables: dict[str, np.ndarray]  # float32, Magenta's names and shapes
    layout: str  # "tfjs" or "deeplearn.js"


def is_magenta_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder with a magenta.js manifest (either layout)."""
    path = Path(path)
    return path.is_dir() and any((path / name).is_file()
                                 for name in (TFJS_MANIFEST, DEEPLEARNJS_MANIFEST))


def read_magenta_folder(path: str | Path) -> MagentaFolder:
    """The spec and float32 variables of the magenta.js folder at ``path``;
    :class:`MagentaFolderError` for anything that is not one (checked before reading much)."""
    folder = Path(path)
    if not is_magenta_folder(folder):
        raise MagentaFolderError(f"{folder} is a folder, not a checkpoint file (.pt) nor a "
                                 f"magenta.js checkpoint (no {TFJS_MANIFEST} or "
                                 f"{DEEPLEARNJS_MANIFEST})")
    spec = _read_json(folder, CONFIG_FILE)
    if not isinstance(spec, dict):
        raise MagentaFolderError(f"{folder / CONFIG_FILE}: must be a JSON object")
    if (folder / TFJS_MANIFEST).is_file():
        return MagentaFolder(spec, _read_tfjs(folder), "tfjs")
    return MagentaFolder(spec, _read_deeplearnjs(folder), "deeplearn.js")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _read_json(folder: Path, name: str) -> Any:
    path = folder / name
    if not path.is_file():
        raise MagentaFolderError(f"{folder}: no {name}")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise MagentaFolderError(f"{path}: larger than {MAX_JSON_BYTES >> 20} MB")
    try:
        return json.loads(path.read_bytes(), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as e:
        raise MagentaFolderError(f"{path}: not JSON ({str(e)[:120]})") from None


def _data_file(folder: Path, name: Any, manifest: str) -> Path:
    """A file the manifest names: a plain name inside the folder, an existing regular file."""
    if (not isinstance(name, str) or not name or len(name) > 256 or "/" in name
            or "\\" in name or name.startswith(".")):
        raise MagentaFolderError(f"{folder / manifest}: names a file {str(name)[:80]!r} "
                                 "that is not a plain file name in the folder")
    path = folder / name
    if not path.is_file():
        raise MagentaFolderError(f"{folder / manifest}: names a missing file {name!r}")
    if path.resolve().parent != folder.resolve():
        raise MagentaFolderError(f"{folder / manifest}: {name!r} leads outside the folder")
    return path


def _shape(value: Any, where: str) -> tuple[int, ...]:
    if (not isinstance(value, list) or len(value) > 4
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_DIMENSION
                       for d in value)):
        raise MagentaFolderError(f"{where}: shape {str(value)[:80]} is not a list of at most "
                                 "4 sizes")
    return tuple(value)


def _number(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise MagentaFolderError(f"{where}: {str(value)[:40]} is not a finite number")
    return float(value)


def _name(value: Any, where: str, seen: set[str]) -> str:
    if not isinstance(value, str) or not value or len(value) > 256:
        raise MagentaFolderError(f"{where}: a variable name must be a string of 1-256 "
                                 "characters")
    if value in seen:
        raise MagentaFolderError(f"{where}: variable {value!r} appears twice")
    if len(seen) >= MAX_VARIABLES:
        raise MagentaFolderError(f"{where}: more than {MAX_VARIABLES} variables")
    seen.add(value)
    return value


def _count_values(total: int, shape: tuple[int, ...], where: str) -> int:
    total += math.prod(shape)
    if total > MAX_TOTAL_VALUES:
        raise MagentaFolderError(f"{where}: more than {MAX_TOTAL_VALUES} values in all")
    return total


def _finite(values: np.ndarray, name: str, where: str) -> np.ndarray:
    if not np.isfinite(values).all():
        raise MagentaFolderError(f"{where}: variable {name!r} holds NaN or infinity")
    return values


def _read_tfjs(folder: Path) -> dict[str, np.ndarray]:
    where = str(folder / TFJS_MANIFEST)
    manifest = _read_json(folder, TFJS_MANIFEST)
    if not isinstance(manifest, list) or not all(isinstance(g, dict) for g in manifest):
        raise MagentaFolderError(f"{where}: must be a list of weight groups")
    variables: dict[str, np.ndarray] = {}
    names: set[str] = set()
    total = 0
    for group in manifest:
        paths, weights = group.get("paths"), group.get("weights")
        if not isinstance(paths, list) or not isinstance(weights, list):
            raise MagentaFolderError(f"{where}: a group needs 'paths' and 'weights' lists")
        layout = []  # (name, shape, stored dtype, quantization)
        for weight in weights:
            if not isinstance(weight, dict):
                raise MagentaFolderError(f"{where}: a weight entry must be an object")
            name = _name(weight.get("name"), where, names)
            shape = _shape(weight.get("shape"), f"{where}: {name}")
            if weight.get("dtype", "float32") != "float32":
                raise MagentaFolderError(f"{where}: {name}: dtype {weight.get('dtype')!r}; "
                                         "MusicVAE weights are float32")
            stored, affine = _tfjs_quantization(weight.get("quantization"), f"{where}: {name}")
            total = _count_values(total, shape, where)
            layout.append((name, shape, stored, affine))
        files = [_data_file(folder, p, TFJS_MANIFEST) for p in paths]
        expected = sum(math.prod(s) * d.itemsize for _, s, d, _ in layout)
        found = sum(f.stat().st_size for f in files)
        if found != expected:
            raise MagentaFolderError(f"{where}: the shards {', '.join(map(str, paths))[:120]} "
                                     f"hold {found} bytes; their weights need {expected}")
        stream = b"".join(f.read_bytes() for f in files)
        offset = 0
        for name, shape, stored, affine in layout:
            count = math.prod(shape)
            raw = np.frombuffer(stream, dtype=stored, count=count, offset=offset)
            offset += count * stored.itemsize
            if affine is not None:
                scale, low = affine
                values = (raw.astype(np.float64) * scale + low).astype(np.float32)
            else:
                values = raw.astype(np.float32)
            variables[name] = _finite(values.reshape(shape), name, where)
    return variables


def _tfjs_quantization(value: Any, where: str) -> tuple[np.dtype, tuple[float, float] | None]:
    """The stored dtype and, for integer quantization, ``(scale, min)``."""
    if value is None:
        return np.dtype("<f4"), None
    if not isinstance(value, dict) or value.get("dtype") not in QUANTIZED_DTYPES:
        raise MagentaFolderError(f"{where}: quantization must name a dtype of "
                                 f"{', '.join(QUANTIZED_DTYPES)}")
    stored = QUANTIZED_DTYPES[value["dtype"]]
    if value["dtype"] == "float16":
        return stored, None
    return stored, (_number(value.get("scale"), f"{where}: scale"),
                    _number(value.get("min"), f"{where}: min"))


def _read_deeplearnjs(folder: Path) -> dict[str, np.ndarray]:
    where = str(folder / DEEPLEARNJS_MANIFEST)
    manifest = _read_json(folder, DEEPLEARNJS_MANIFEST)
    if not isinstance(manifest, dict):
        raise MagentaFolderError(f"{where}: must be an object of variables")
    variables: dict[str, np.ndarray] = {}
    names: set[str] = set()
    total = 0
    for key, entry in manifest.items():
        name = _name(key, where, names)
        if not isinstance(entry, dict):
            raise MagentaFolderError(f"{where}: {name}: must be an object")
        shape = _shape(entry.get("shape"), f"{where}: {name}")
        total = _count_values(total, shape, where)
        path = _data_file(folder, entry.get("filename"), DEEPLEARNJS_MANIFEST)
        quantization = entry.get("quantization")
        if quantization is None:
            stored = np.dtype("<f4")
        elif isinstance(quantization, dict) and quantization.get("bytes") in (1, 2):
            stored = np.dtype("<u1") if quantization["bytes"] == 1 else np.dtype("<u2")
        else:
            raise MagentaFolderError(f"{where}: {name}: quantization needs 'bytes' 1 or 2")
        if path.stat().st_size != math.prod(shape) * stored.itemsize:
            raise MagentaFolderError(f"{where}: {name}: {path.name} holds "
                                     f"{path.stat().st_size} bytes; shape {list(shape)} needs "
                                     f"{math.prod(shape) * stored.itemsize}")
        raw = np.fromfile(path, dtype=stored)
        if quantization is None:
            values = raw.astype(np.float32)
        else:
            low = _number(quantization.get("min"), f"{where}: {name}: min")
            high = _number(quantization.get("max"), f"{where}: {name}: max")
            step = (high - low) / (2 ** (8 * quantization["bytes"]) - 1) if high != low else 1.0
            values = (raw.astype(np.float64) * step + low).astype(np.float32)
        variables[name] = _finite(values.reshape(shape), name, where)
    return variables


def _quantize(values: np.ndarray, dtype: str) -> tuple[bytes, dict[str, Any]]:
    """tfjs's affine quantization: ``q = round((v - min) / scale)``, read back as
    ``q * scale + min``."""
    if dtype == "float16":
        return values.astype("<f2").tobytes(), {"dtype": "float16"}
    levels = 255 if dtype == "uint8" else 65535
    low, high = float(values.min(initial=0.0)), float(values.max(initial=0.0))
    scale = (high - low) / levels if high > low else 1.0
    quantized = np.clip(np.round((values.astype(np.float64) - low) / scale), 0, levels)
    return (quantized.astype(QUANTIZED_DTYPES[dtype]).tobytes(),
            {"dtype": dtype, "scale": scale, "min": low})


def write_tfjs_folder(out: str | Path, spec: dict[str, Any], variables: dict[str, np.ndarray],
                      quantization: str | None = None) -> Path:
    """Write ``config.json``, ``weights_manifest.json`` and 4 MB shards into the folder
    ``out`` (made if missing); ``quantization`` ``uint8``, ``uint16`` or ``float16`` stores
    each variable quantized as tfjs reads it, None as float32."""
    if quantization is not None and quantization not in QUANTIZED_DTYPES:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZED_DTYPES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries, chunks = [], []
    for name, values in variables.items():
        values = np.ascontiguousarray(values, dtype=np.float32)
        entry: dict[str, Any] = {"name": name, "shape": list(values.shape), "dtype": "float32"}
        if quantization is None:
            data = values.astype("<f4").tobytes()
        else:
            data, entry["quantization"] = _quantize(values, quantization)
        entries.append(entry)
        chunks.append(data)
    stream = b"".join(chunks)
    count = max(1, -(-len(stream) // SHARD_BYTES))
    paths = [f"group1-shard{i + 1}of{count}" for i in range(count)]
    for i, name in enumerate(paths):
        with atomic_write(out / name) as handle:
            handle.write(stream[i * SHARD_BYTES:(i + 1) * SHARD_BYTES])
    for name, payload in ((TFJS_MANIFEST, [{"paths": paths, "weights": entries}]),
                          (CONFIG_FILE, spec)):
        with atomic_write(out / name) as handle:
            handle.write(json.dumps(payload, indent=1).encode())
    return out
