"""SIGINT and SIGTERM as a request to stop training cleanly, with a checkpoint.

The training loop asks :attr:`StopRequest.signum` after each step and, when it is set, saves a
checkpoint and ends. Ctrl-C in a terminal reaches every process of the group, and a supervisor
may send SIGTERM twice, so another signal within ``REPEAT_S`` of the first is the same request,
and one that arrives while the checkpoint is saved is ignored; a later one stops at once,
without saving. Either way the run ends in a :class:`StoppedBySignal`, a KeyboardInterrupt,
which Sacred records as INTERRUPTED.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

REPEAT_S = 3.0
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StoppedBySignal(KeyboardInterrupt):
    """The run stopped on a signal. ``message`` is what is left to say (empty when the
    trainer has said it)."""

    def __init__(self, signum: int, message: str = "") -> None:
        super().__init__(signum, message)
        self.signum = signum
        self.message = message


class StopRequest:
    """Whether, and by which signal, a stop was asked for while :meth:`handling` is active."""

    def __init__(self, announce: bool = True) -> None:
        self.signum: int | None = None
        self.saving = False  # set while the final checkpoint is written: signals are ignored
        self._announce = announce
        self._at = 0.0

    def install(self, at_once: Callable[[int], StoppedBySignal]) -> Callable[[], None]:
        """Handle SIGINT and SIGTERM (main thread only) until the returned function is called;
        ``at_once(signum)`` gives the exception raised when a later signal stops at once."""

        def request(signum: int, _frame: Any) -> None:
            now = time.monotonic()
            if self.signum is None:
                self.signum, self._at = signum, now
                if self._announce:  # os.write, not print: a handler may run inside a print
                    os.write(2, f"\nsignal {signum}: stopping after this step and saving a "
                                f"checkpoint (signal again after {REPEAT_S:.0f} s to stop at "
                                "once)\n".encode())
                return
            if self.saving or now - self._at < REPEAT_S:
                return
            ignore_further_signals()
            raise at_once(signum)

        try:
            previous = {s: signal.signal(s, request) for s in SIGNALS}
        except ValueError:  # not the main thread: leave the handlers alone
            previous = {}

        def restore() -> None:
            if self.signum is not None and previous:  # the run is ending: let it end
                ignore_further_signals()
                return
            for signum, handler in previous.items():
                signal.signal(signum, handler)

        return restore


def ignore_further_signals() -> None:
    """Ignore SIGINT and SIGTERM from now on: the run is already stopping, and a signal during
    the last writes (or the interpreter's exit, when Python's handlers are gone) would cut
    them short or kill the process."""
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def prepare_loader_worker(parent_pid: int, _worker_id: int = 0) -> None:
    """A DataLoader ``worker_init_fn`` (bind ``parent_pid`` with functools.partial): the
    worker dies with the training process and leaves the stopping to it.

    * It dies with its parent, killed or not (:func:`symusic.data.workers.die_with_parent`):
      otherwise it lives on up to 5 s, holding the pipe of Sacred's ``tee`` processes open.
    * It leaves the process group and ignores SIGINT, so a signal to the whole group (Ctrl-C,
      ``kill -- -PGID``) reaches only the training process, which decides how to stop.
      Otherwise a worker killed by the group's SIGTERM makes the DataLoader raise "worker ...
      killed by signal" wherever training happens to be. SIGTERM keeps torch's handler, which
      the DataLoader's own ``terminate()`` of a worker relies on.
    """
    from symusic.data.workers import die_with_parent

    die_with_parent(parent_pid)
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
