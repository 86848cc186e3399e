"""The one user-error type, ``InputError``, and the list of every error that means bad input.

Raised for a problem the user can fix (a missing file, a file with no melody, a bad flag
value); the message says what, and the command lines and the studio show it as written, on
one line, never as a traceback. Every layer may raise it (``symusic.data`` included), so it
lives here, below them all (``user_errors`` imports the others' types only when called).
"""

from __future__ import annotations


class InputError(ValueError):
    """A problem with the user's input that the user can fix; the message says what."""


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception types that mean bad input, not a bug: ours, the MIDI reader's, the
    data pipeline's and the model's (an unusable checkpoint, config or prior)."""
    from symusic.data.melody import NoMelodiesError
    from symusic.data.midi_io import MidiReadError
    from symusic.musicvae.model import CheckpointError, ConfigError
    from symusic.musicvae.model.prior import PriorError

    return (InputError, MidiReadError, NoMelodiesError, CheckpointError, ConfigError,
            PriorError)


def error_message(err: BaseException) -> str:
    """The message to show: an ``InputError`` as written (it may list choices), anything
    else squeezed onto one line; a file name that is not UTF-8 shown as :func:`printable`."""
    if type(err) is InputError:
        return printable(str(err))
    return printable(" ".join(str(err).split()) or type(err).__name__)


def printable(text: str) -> str:
    """``text`` safe to write as UTF-8: the bytes of a file name that is not UTF-8 (which
    Python holds as surrogate escapes, and which made writing it fail) shown as ``\\xNN``."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
