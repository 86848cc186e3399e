"""The edge shared by the generation and evaluation command lines.

The ``--device`` flag, output paths checked before any model work, and ``run_cli``, which
turns the errors a user can cause (``symusic.errors.user_errors``: unreadable MIDI, no
melody, a wrong or damaged checkpoint) into a one-line message on stderr and exit code 1,
never a traceback. Other errors are bugs and keep their traceback. Loading the model is
``symusic.musicvae.inference``'s.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from symusic.errors import InputError, error_message, user_errors

EXIT_ERROR = 1


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--device`` (auto, cpu or cuda[:N]; default auto: cuda when available)."""
    parser.add_argument("--device", default="auto",
                        help="auto, cpu or cuda[:N] (default: auto, cuda when available)")


def _writable_folder(folder: Path, flag: str, path: Path) -> None:
    """Raise ``InputError`` unless ``folder`` is, or can be made, a folder we may write in."""
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p == Path(p.anchor))
    if not existing.is_dir():
        raise InputError(f"{flag} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path}: cannot write in {existing} (no permission, or "
                         f"a read-only file system)")


def check_output_folder(path: str | Path, flag: str = "--out") -> Path:
    """``path`` as an output folder (it may not exist yet), checked before any model work:
    ``InputError`` when it is a file, lies under a file, or cannot be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag} {path} is a file; it must be a folder")
    _writable_folder(path, flag, path)
    return path


def check_output_file(path: str | Path, flag: str = "--out") -> Path:
    """``path`` as an output file (it may exist: it is replaced), checked before any model
    work: ``InputError`` when it is a folder or cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{flag} {path} is a folder; it must be a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{flag} {path}: cannot write it (no permission)")
    _writable_folder(path.absolute().parent, flag, path)
    return path


def run_cli(prog: str, command: Callable[[argparse.Namespace], None],
            args: argparse.Namespace) -> int:
    """Run ``command(args)``; report a user error on stderr and return the exit code."""
    try:
        command(args)
    except user_errors() as err:
        print(f"{prog}: error: {error_message(err)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except OSError as err:  # writing the output: a full disk, a folder gone meanwhile, ...
        print(f"{prog}: error: {error_message(err)}", file=sys.stderr)
        return EXIT_ERROR
    return 0
