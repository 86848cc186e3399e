"""Worker processes that die with their parent.

A process pool's workers wait on a pipe whose write end they inherited, so when the parent is
killed (``kill -9``, the out-of-memory killer) they would wait for ever as orphans. Pass
:func:`die_with_parent` as the pool's ``initializer`` (with the parent's pid): on Linux the
kernel then sends the worker SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``); on
other systems a daemon thread notices the new parent pid within a second and exits.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
POLL_SECONDS = 1.0


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    os._exit(1)


def die_with_parent(parent_pid: int) -> None:
    """Make this (worker) process end when ``parent_pid`` is no longer its parent."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True,
                     name="die-with-parent").start()
