"""The edge shared by the generation and evaluation command lines.

Picks the device, loads the model from a checkpoint, and turns the errors a user can cause
(unreadable MIDI, no melody, a wrong or damaged checkpoint) into a one-line message on
stderr and exit code 1, never a traceback. Errors not listed here are bugs and keep
their traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from symusic.devices import device_from_setting
from symusic.errors import InputError

EXIT_ERROR = 1


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--device`` (auto, cpu or cuda[:N]; default auto: cuda when available)."""
    parser.add_argument("--device", default="auto",
                        help="auto, cpu or cuda[:N] (default: auto, cuda when available)")


def resolve_device(name: str) -> torch.device:
    """The torch device for ``--device name``; ``InputError`` when it is not usable here."""
    try:
        return device_from_setting(name)
    except ValueError as err:
        raise InputError(f"--device: {err}") from None


def load_model(path: str | Path, device: torch.device):
    """Load a ``MusicVAE`` checkpoint onto ``device``, in eval mode.

    Raises ``InputError`` when the file does not exist and the model's ``CheckpointError``
    when it is not a usable MusicVAE checkpoint.
    """
    from symusic.musicvae.model.vae import MusicVAE

    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {path} does not exist")
    model = MusicVAE.load(path, map_location="cpu")
    tensors = [t for t in model.state_dict().values() if t.is_floating_point()]
    broken = sum(not bool(torch.isfinite(t).all()) for t in tensors)
    if broken:
        raise InputError(f"checkpoint {path}: {broken} of {len(tensors)} weight tensors hold NaN "
                         f"or infinity (its training diverged); use an earlier checkpoint")
    return model.to(device).eval()


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


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception types that mean bad input, not a bug."""
    from symusic.data.melody import NoMelodiesError
    from symusic.data.midi_io import MidiReadError
    from symusic.musicvae.model import CheckpointError, ConfigError

    return (InputError, MidiReadError, NoMelodiesError, CheckpointError, ConfigError)


def error_message(err: BaseException) -> str:
    """The message to print: our own ``InputError`` as written (it may list choices),
    anything else squeezed onto one line."""
    if type(err) is InputError:
        return str(err)
    return " ".join(str(err).split()) or type(err).__name__


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
