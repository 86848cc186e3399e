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

from symusic.devices import device_from_setting
from symusic.musicvae.midi_windows import InputError

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
