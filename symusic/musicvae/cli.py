"""The edge shared by the generation and evaluation command lines.

Picks the device, loads the model from a checkpoint, and turns the errors a user can cause
(unreadable MIDI, no melody, a wrong or damaged checkpoint) into a one-line message on
stderr and exit code 1, never a traceback. Errors not listed here are bugs and keep
their traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from symusic.musicvae.midi_windows import InputError

EXIT_ERROR = 1


def default_device() -> str:
    """``cuda`` when a GPU is usable, else ``cpu``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--device`` (cpu or cuda[:N]; default cuda when available)."""
    parser.add_argument("--device", default=default_device(),
                        help="cpu or cuda[:N] (default: %(default)s)")


def resolve_device(name: str) -> torch.device:
    """The torch device for ``name``; ``InputError`` when it is not usable here."""
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise InputError(f"unknown device {name!r} (use cpu or cuda)") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda asked for, but no CUDA GPU is available; use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise InputError(f"unsupported device {name!r} (use cpu or cuda)")
    return device


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
    return model.to(device).eval()


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
    return 0
