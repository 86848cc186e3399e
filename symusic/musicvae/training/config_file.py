"""Config files and ``key=value`` updates read as plain data, never as code.

Sacred reads ``with X.json`` through jsonpickle (a value such as ``{"py/reduce": [{"py/function":
"os.system"}, ...]}`` calls the function), ``X.pickle`` through pickle, YAML with a loader that
builds Python objects, and each ``key=value`` through jsonpickle too. People share config files,
so before Sacred sees the command line, :func:`check_command_line` reads every config file it
names with :mod:`json` and checks that no key there or in an update is anything but a plain
name (jsonpickle acts only on such keys); :func:`use_safe_config_files` makes Sacred's own
reading plain JSON and removes its pickle and YAML readers.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from symusic.musicvae.model.config import ConfigError

MAX_BYTES = 1_000_000  # a config is a few kB
MAX_DEPTH = 32  # the deepest shipped config nests 7 levels
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON object in the config file at ``path``; :class:`ConfigError` (one line, naming
    the file) when it is missing, not JSON, not an object, or holds a key that is not a name."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    if not path.is_file():
        raise ConfigError(f"{path}: not a config file (a folder?)")
    if suffix in (".pickle", ".pkl"):
        raise ConfigError(f"{path}: pickle config files are refused (loading one can run "
                          "code); write the config as JSON")
    if suffix != ".json":
        raise ConfigError(f"{path}: config files are JSON (.json), got {suffix or 'no suffix'}")
    if path.suffix != ".json":  # Sacred picks its reader by the suffix as written
        raise ConfigError(f"{path}: name the config file with a lower-case .json, not "
                          f"{path.suffix}")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(f"{path}: {size:,} bytes is too large for a config file "
                              f"(at most {MAX_BYTES:,})")
        text = path.read_bytes().decode("utf-8-sig")
        config = json.loads(text)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read it ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a JSON file (not UTF-8 text)") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON: {err.msg} at line {err.lineno}, "
                          f"column {err.colno}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the config must be a JSON object {{...}}, got "
                          f"{_json_kind(config)}")
    check_plain_keys(config, where=str(path))
    return config


def check_plain_keys(value: Any, where: str, path: str = "", depth: int = 0) -> None:
    """Raise :class:`ConfigError` if a key in ``value`` (nested dicts and lists) is not a plain
    name such as ``batch_size``, or if ``value`` nests deeper than any config does."""
    if depth > MAX_DEPTH:
        raise ConfigError(f"{where}: {path or 'the config'} is nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str) or not _NAME.fullmatch(key):
                raise ConfigError(f"{where}: {key_path!r} is not a config key (keys are names "
                                  "of letters, digits and _)")
            check_plain_keys(item, where, key_path, depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_plain_keys(item, where, f"{path}.{index}", depth + 1)


def check_command_line(usage: str, argv: list[str], named_configs: Collection[str] = ()) -> None:
    """Check what follows ``with`` on a Sacred command line: every config file it names (with
    :func:`read_config_file`) and every ``key=value`` update. ``usage`` is the experiment's
    internal docopt usage (``Experiment.get_usage()[2]``); ``named_configs`` are the names
    that are not files."""
    from docopt import DocoptExit, docopt

    try:
        args = docopt(usage, [str(arg) for arg in argv[1:]], default_help=False)
    except DocoptExit:  # Sacred prints the usage itself
        return
    for update in args.get("UPDATE") or []:
        key, sep, value = update.partition("=")
        if not sep:
            if update and update not in named_configs:
                read_config_file(update)
            continue
        key = key.strip()
        if not all(_NAME.fullmatch(part) for part in key.split(".")):
            raise ConfigError(f"{key!r}: not a config key (keys are names of letters, "
                              "digits and _, joined by dots)")
        try:
            parsed = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue  # Sacred takes it as a string
        check_plain_keys(parsed, where=f"{key}=...", path=key)
        odd = _not_json(parsed)
        if odd is not None:
            raise ConfigError(f"{key}: a {odd} is not a config value (use JSON's: numbers, "
                              "strings, true/false, null, lists and objects)")
    check_observers(args)
    if args.get("COMMAND") == "save_config":
        for update in args.get("UPDATE") or []:
            key, _, value = update.partition("=")
            if key.strip() == "config_filename" and not value.strip().strip("'\"").endswith(
                    ".json"):
                raise ConfigError(f"config_filename: save_config writes JSON only (.json), "
                                  f"got {value.strip()[:80]!r}")


# Sacred's observer options and the packages each needs, which symusic does not install
OBSERVER_PACKAGES = {"--mongo_db": ("pymongo",), "--sql": ("sqlalchemy",),
                     "--tiny_db": ("tinydb", "hashfs"), "--s3": ("boto3",),
                     "--gcs": ("google.cloud.storage",)}


def check_observers(args: dict[str, Any]) -> None:
    """:class:`ConfigError` for an observer option (``-m``, ``-s``, ``-t``, ...) whose package
    is not installed (Sacred's import of it was a traceback)."""
    import importlib.util

    for option, packages in OBSERVER_PACKAGES.items():
        if not args.get(option):
            continue
        for package in packages:
            try:
                found = importlib.util.find_spec(package) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                raise ConfigError(f"{option} needs the {package.split('.')[0]} package, which "
                                  f"is not installed (pip install {package.split('.')[0]}); "
                                  "-F DIR keeps runs in a folder without one")


def _not_json(value: Any) -> str | None:
    """The type name of the first value in ``value`` that JSON cannot hold (None if none)."""
    if isinstance(value, dict):
        return next((odd for item in value.values() if (odd := _not_json(item))), None)
    if isinstance(value, list | tuple):
        return next((odd for item in value if (odd := _not_json(item))), None)
    if value is None or isinstance(value, str | int | float):
        return None
    return type(value).__name__


def use_safe_config_files() -> None:
    """Make Sacred read ``.json`` config files with plain :mod:`json` (a UTF-8 byte-order mark
    allowed) and no other kind."""
    from sacred.config import config_files

    handlers = config_files.HANDLER_BY_EXT
    dump = handlers[".json"].dump
    for suffix in list(handlers):
        del handlers[suffix]
    handlers[".json"] = config_files.Handler(_load_json, dump, "")


def _load_json(handle) -> Any:
    # a byte-order mark, which editors on Windows write, is no part of the JSON
    return json.loads(handle.read().removeprefix("\ufeff"))


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list [...]"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    return "a number"
