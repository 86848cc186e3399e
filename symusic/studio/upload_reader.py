"""Reading an upload's melody tracks in a worker process, under a deadline.

Parsing and extracting a 1 MB MIDI file is pure Python (mido, pretty_midi, the extraction):
the densest legal ones take about 4 s of CPU, and a file that is slow in a way nobody has
found yet could take minutes. A thread cannot be stopped, so each upload is read in a worker
process of its own, and a read still running after ``READ_TIMEOUT_S`` is killed and the
upload refused (``ReadTimeoutError``). The worker holds the read's memory and GIL, not the
studio, which goes on answering other requests meanwhile.

Workers are forked from multiprocessing's fork server, which has the reader imported once
(a fork of the studio itself would copy its threads' locks mid-use); starting one takes a
few milliseconds. A worker also arms an alarm of its own a little after the deadline, so it
ends even when the studio is killed before it can kill the worker.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
from multiprocessing.connection import Connection
from pathlib import Path

from symusic.data.midi_windows import Tracks, UnreadableMidiError, read_tracks
from symusic.data.representation import get_representation
from symusic.data.settings import DataSettings
from symusic.errors import InputError

READ_TIMEOUT_S = 20.0  # wall clock for one upload's read; ~5x the densest legal 1 MB file's CPU
ALARM_GRACE_S = 5  # the worker's own alarm rings this long after the deadline
READER_MODULES = ["symusic.data.midi_windows"]  # imported once, in the fork server


class ReadTimeoutError(InputError):
    """An upload whose reading took longer than the deadline; its worker was killed."""


class ReaderFailedError(RuntimeError):
    """The worker raised an error that is not about the file (a bug: the studio answers 500)."""


def _worker_context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(READER_MODULES)  # takes effect when the server starts
    return context


def _read_in_worker(path: str, settings: DataSettings | None, alarm_s: int,
                    results: Connection, taps: bool | None = None) -> None:
    """The worker: read ``path`` and send ``(kind, value)`` on ``results`` (``taps`` not
    None: as a GrooVAE beat, :func:`symusic.musicvae.groove_performance.read_beat`)."""
    signal.alarm(alarm_s)  # SIGALRM's default action ends this process
    try:
        if taps is None:
            outcome: tuple[str, object] = ("tracks", read_tracks(path, settings=settings))
        else:
            from symusic.musicvae.groove_performance import read_beat

            outcome = ("beat", read_beat(path, taps=taps))
    except UnreadableMidiError as err:
        outcome = ("unreadable", str(err.__cause__ or err))
    except InputError as err:
        outcome = ("refused", str(err))
    except Exception as err:  # noqa: BLE001 - reported to the studio, which raises it there
        outcome = ("failed", f"{type(err).__name__}: {err}")
    results.send(outcome)
    results.close()


def read_beat_in_time(path: str | Path, taps: bool, timeout_s: float = READ_TIMEOUT_S):
    """``read_beat(path, taps)`` (a GrooVAE model's upload), read in a worker process under
    the same deadline as :func:`read_tracks_in_time`; raises what it raises."""
    return read_tracks_in_time(path, None, timeout_s, taps=taps)


def read_tracks_in_time(path: str | Path, settings: DataSettings | None = None,
                        timeout_s: float = READ_TIMEOUT_S, taps: bool | None = None) -> Tracks:
    """``read_tracks(path, settings=settings)``, read in a worker process killed after
    ``timeout_s`` seconds.

    Raises what ``read_tracks`` raises (``UnreadableMidiError`` carries the reason alone, as
    its cause's text), ``ReadTimeoutError`` past the deadline, and ``InputError`` when the
    worker dies (out of memory, say).
    """
    context = _worker_context()
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(target=_read_in_worker, name="symusic-upload-reader", daemon=True,
                             args=(str(path), settings, math.ceil(timeout_s) + ALARM_GRACE_S,
                                   sender, taps))
    worker.start()
    sender.close()  # the worker holds the only write end: its death is an EOF here
    try:
        if not receiver.poll(timeout_s):
            raise ReadTimeoutError(f"{path} took longer than {timeout_s:g} s to read (the "
                                   "studio's limit for one upload)")
        kind, value = receiver.recv()
    except EOFError:
        worker.join()
        raise InputError(f"{path} could not be read: the reader stopped before it finished "
                         f"(exit code {worker.exitcode})") from None
    finally:
        receiver.close()
        if worker.is_alive():
            worker.kill()
        worker.join()
    if kind == "unreadable":
        raise UnreadableMidiError(value)
    if kind == "refused":
        raise InputError(value)
    if kind == "failed":
        raise ReaderFailedError(f"reading {path} failed: {value}")
    if kind == "beat":
        return value
    for track in value:  # the shared representation objects, not the worker's copies
        track.representation = get_representation(track.representation.name)
    return value
