"""The one user-error type: ``InputError``.

Raised for a problem the user can fix (a missing file, a file with no melody, a bad flag
value); the message says what, and the command lines and the studio show it as written, on
one line, never as a traceback. Every layer may raise it (``symusic.data`` included), so it
lives here, below them all.
"""

from __future__ import annotations


class InputError(ValueError):
    """A problem with the user's input that the user can fix; the message says what."""
