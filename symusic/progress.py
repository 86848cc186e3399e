"""Progress bars for a person at a terminal, and none of them in logs.

A bar shows only when stdout is a terminal; in CI, a log file or a pipe there is no bar, and
the commands' own lines (one per phase, or one per ``print_interval`` steps in training) say
how far they are. ``SYMUSIC_PROGRESS=1`` or ``=0`` forces the choice either way.

Sacred's output capture (``-F runs``) makes stdout a pipe to ``tee`` while a run is going, so
whether stdout is a terminal is also recorded when this module is first imported: the training
entry point imports it before Sacred starts.

While a :class:`TrainingBar` is open, the lines the trainer prints go above the bar (never
through it), and :func:`bar` shows a sub-task (the evaluation) on the training bar's own line
instead of opening a second one: a single line is all that is redrawn, so Sacred's
``cout.txt`` (which replays carriage returns) keeps only whole lines.
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


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


_STARTED_ON_A_TERMINAL = _isatty(sys.stdout)


def interactive() -> bool:
    """Whether to draw bars: ``$SYMUSIC_PROGRESS`` if set, else whether stdout is a terminal
    (now, or when this module was imported)."""
    setting = os.environ.get(ENV, "").strip().lower()
    if setting in ("1", "true", "yes", "on"):
        return True
    if setting in ("0", "false", "no", "off"):
        return False
    return _STARTED_ON_A_TERMINAL or _isatty(sys.stdout)


def _real_stdout() -> TextIO:
    stream = sys.stdout
    return stream.stream if isinstance(stream, _LinesAboveBar) else stream


_active: TrainingBar | None = None  # the open training bar, if any


def bar(iterable: Iterable | None = None, *, desc: str, total: int | None = None,
        unit: str = "it", leave: bool = False, enabled: bool = True) -> Any:
    """A tqdm bar over ``iterable`` on stdout, drawn only when :func:`interactive` and
    ``enabled``. Inside an open :class:`TrainingBar` it is shown on that bar's line instead."""
    if _active is not None and _active.shown and iterable is not None:
        return _active.subtask(iterable, desc, total)
    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=leave,
                file=_real_stdout(), dynamic_ncols=True,
                disable=not (enabled and interactive()))


class _LinesAboveBar:
    """Stands in for stdout under a bar: each whole line clears the bar, is written, and the
    bar is drawn again below it."""

    def __init__(self, stream: TextIO, progress: tqdm) -> None:
        self.stream, self._bar, self._pending = stream, progress, ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            lines, self._pending = self._pending.rsplit("\n", 1)
            self._bar.clear()
            self.stream.write(lines + "\n")
            self.stream.flush()
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
        self._bar = tqdm(total=total, initial=initial, desc="training", unit="step",
                         file=_real_stdout(), dynamic_ncols=True, disable=not self.shown,
                         smoothing=0.1)
        self._metrics = ""
        self._last_postfix = 0.0
        self._stdout: TextIO | None = None
        if self.shown:
            self._stdout, sys.stdout = sys.stdout, _LinesAboveBar(sys.stdout, self._bar)
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
