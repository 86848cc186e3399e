"""Progress bars for a person at a terminal, and none of them in logs.

A bar shows only when stdout is a terminal; in CI, a log file or a pipe there is no bar, and
the commands' own lines (one per phase, or one per ``print_interval`` steps in training) say
how far they are. ``SYMUSIC_PROGRESS=1`` or ``=0`` forces the choice either way.

Sacred's output capture (``-F runs``) makes stdout a pipe to ``tee`` while a run is going, and
its ``cout.txt`` cannot take a line that is redrawn: the observer appends what is new since its
last look, so a bar caught half-way stays in the file and the next line is cut. So this
module notes at import (which the training entry point does before Sacred starts) which
terminal stdout is, and while stdout is a pipe the bars go to that terminal directly: the
screen shows them, ``cout.txt`` holds only the printed lines.

While a :class:`TrainingBar` is open, the lines the trainer prints go above the bar (never
through it), and :func:`bar` shows a sub-task (the evaluation) on the training bar's own line
instead of opening a second one.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm import tqdm

ENV = "SYMUSIC_PROGRESS"
POSTFIX_INTERVAL_S = 0.5  # reading the loss syncs a GPU: at most this often
PIPE_WAIT_S = 1.0  # at most this long for tee to pass a printed line on before the bar returns


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def _terminal_of(stream: Any) -> str | None:
    try:
        return os.ttyname(stream.fileno()) if _isatty(stream) else None
    except (AttributeError, OSError, ValueError):
        return None


_STARTED_ON = _terminal_of(sys.stdout)  # e.g. /dev/pts/3, or None
_terminal_stream: TextIO | None = None


def interactive() -> bool:
    """Whether to draw bars: ``$SYMUSIC_PROGRESS`` if set, else whether stdout is a terminal
    (now, or when this module was imported)."""
    setting = os.environ.get(ENV, "").strip().lower()
    if setting in ("1", "true", "yes", "on"):
        return True
    if setting in ("0", "false", "no", "off"):
        return False
    return _STARTED_ON is not None or _isatty(sys.stdout)


def _real_stdout() -> TextIO:
    stream = sys.stdout
    return stream.stream if isinstance(stream, _LinesAboveBar) else stream


def _bar_stream() -> TextIO:
    """Where bars are drawn: stdout, or the terminal stdout was when it is now a pipe."""
    global _terminal_stream
    stdout = _real_stdout()
    if _isatty(stdout) or _STARTED_ON is None:
        return stdout
    if _terminal_stream is None:
        try:
            _terminal_stream = open(_STARTED_ON, "w", encoding="utf-8",  # noqa: SIM115
                                    errors="replace")
        except OSError:  # the terminal is gone: draw where the lines go
            return stdout
    return _terminal_stream


def _wait_until_read(stream: TextIO) -> None:
    """Give the reader of a pipe (Sacred's tee) the time to pass on what was written, so a
    bar drawn on the terminal directly comes after the line, not before it."""
    try:
        import fcntl
        import termios
        from array import array

        fd, waiting = stream.fileno(), array("i", [0])
        deadline = time.monotonic() + PIPE_WAIT_S
        while time.monotonic() < deadline:
            fcntl.ioctl(fd, termios.FIONREAD, waiting)
            if waiting[0] == 0:
                break
            time.sleep(0.002)
    except (ImportError, AttributeError, OSError, ValueError):
        pass
    time.sleep(0.005)  # the reader has taken the bytes; now it writes them


def _follows_width(stream: TextIO) -> bool:
    """Whether a bar may follow the terminal's width (a terminal that reports 0 columns, as
    a pseudo-terminal without a window does, would get an empty bar)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns > 0
    except (AttributeError, OSError, ValueError):
        return False


_active: TrainingBar | None = None  # the open training bar, if any


def bar(iterable: Iterable | None = None, *, desc: str, total: int | None = None,
        unit: str = "it", leave: bool = False, enabled: bool = True) -> Any:
    """A tqdm bar over ``iterable``, drawn only when :func:`interactive` and ``enabled``.
    Inside an open :class:`TrainingBar` it is shown on that bar's line instead."""
    if _active is not None and _active.shown and iterable is not None:
        return _active.subtask(iterable, desc, total)
    show = enabled and interactive()
    stream = _bar_stream() if show else _real_stdout()
    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=leave, file=stream,
                dynamic_ncols=_follows_width(stream), disable=not show)


class _LinesAboveBar:
    """Stands in for stdout under a bar: each whole line clears the bar, is written, and the
    bar is drawn again below it."""

    def __init__(self, stream: TextIO, progress: tqdm, separate: bool) -> None:
        self.stream, self._bar, self._separate, self._pending = stream, progress, separate, ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            lines, self._pending = self._pending.rsplit("\n", 1)
            self._bar.clear()
            self.stream.write(lines + "\n")
            self.stream.flush()
            if self._separate:  # the line goes through a pipe, the bar does not
                _wait_until_read(self.stream)
            self._bar.refresh()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class TrainingBar:
    """The live training bar: step, steps/s, ETA, the latest loss, accuracy and note accuracy.

    Opened at construction (from ``initial`` of ``total`` steps) and shown only on the main
    process when :func:`interactive`; call :meth:`step` after each step and :meth:`close` at
    the end. While open, stdout is wrapped so printed lines appear above the bar.
    """

    def __init__(self, total: int, initial: int = 0, main_process: bool = True) -> None:
        global _active
        self.shown = main_process and interactive()
        stream = _bar_stream() if self.shown else _real_stdout()
        self._bar = tqdm(total=total, initial=initial, desc="training", unit="step",
                         file=stream, dynamic_ncols=_follows_width(stream),
                         disable=not self.shown, smoothing=0.1)
        self._metrics = ""
        self._last_postfix = 0.0
        self._stdout: TextIO | None = None
        if self.shown:
            separate = stream is not _real_stdout()
            self._stdout = sys.stdout
            sys.stdout = _LinesAboveBar(sys.stdout, self._bar, separate)
            _active = self

    def step(self, out: Any) -> None:
        """One step done; ``out`` (the model's output) has ``loss``, ``accuracy`` and
        ``note_accuracy``, read at most every ``POSTFIX_INTERVAL_S``."""
        if not self.shown:
            return
        now = time.monotonic()
        if now - self._last_postfix >= POSTFIX_INTERVAL_S:
            self._last_postfix = now
            self._metrics = (f"loss {out.loss.item():.2f}, acc {out.accuracy.item():.3f}, "
                             f"note acc {out.note_accuracy.item():.3f}")
            self._bar.set_postfix_str(self._metrics, refresh=False)
        self._bar.update()

    def subtask(self, iterable: Iterable, desc: str, total: int | None = None) -> Iterator:
        """Iterate ``iterable``, showing ``desc i/n`` on the training bar's line."""
        if total is None:
            total = len(iterable) if hasattr(iterable, "__len__") else None
        of = f"/{total}" if total is not None else ""
        try:
            for i, item in enumerate(iterable):
                self._bar.set_postfix_str(f"{desc} {i + 1}{of}", refresh=True)
                yield item
        finally:
            self._bar.set_postfix_str(self._metrics, refresh=True)

    def close(self) -> None:
        """Restore stdout and leave the bar's last state on screen."""
        global _active
        if self._stdout is not None:
            sys.stdout, self._stdout = self._stdout, None
        if _active is self:
            _active = None
        self._bar.close()
