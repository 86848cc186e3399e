"""The time bound on reading an upload: each one is read in a worker process that is killed
at the deadline. A file slower to read than that is a one-line 422 once the deadline passes,
its worker is gone, and the studio answers other requests meanwhile."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from symusic.errors import InputError
from symusic.studio import upload_reader
from symusic.studio.upload_reader import READ_TIMEOUT_S, read_tracks_in_time

DEADLINE_S = 0.5  # the test's deadline; the dense file takes mido and pretty_midi seconds
ANSWER_SLACK_S = 3.0  # the worker's kill and the answer, on two busy cores


def dense_midi(notes: int = 150_000) -> bytes:
    """A legal 0.9 MB one-track file of one-tick notes (running status): reading it takes
    about 2 s of CPU on a 2-core AMD EPYC, whatever the deadline."""
    events = b"\x00\x90\x3c\x50" + b"\x01\x3c\x00\x00\x3c\x50" * notes + b"\x00\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") \
        + (1).to_bytes(2, "big") + (480).to_bytes(2, "big")
    return header + b"MTrk" + len(events).to_bytes(4, "big") + events


def test_the_studio_reads_an_upload_for_at_most_20_s():
    assert READ_TIMEOUT_S == 20.0  # the README's number


def test_a_slow_upload_is_422_at_the_deadline_and_the_studio_keeps_answering(
        client, studio, midi_bytes, monkeypatch):
    assert client.post("/api/upload?name=first.mid", content=midi_bytes).status_code == 200
    monkeypatch.setattr(studio.uploads, "read_timeout_s", DEADLINE_S)
    kept = set(studio.uploads._dir.iterdir())
    slow: dict = {}

    def upload_the_dense_file() -> None:
        start = time.perf_counter()
        slow["response"] = client.post("/api/upload?name=dense.mid", content=dense_midi())
        slow["seconds"] = time.perf_counter() - start

    sender = threading.Thread(target=upload_the_dense_file)
    sender.start()
    answers = []
    while sender.is_alive():
        answers.append(client.get("/api/info").status_code)
        time.sleep(0.05)
    sender.join()
    response = slow["response"]
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"] == ("dense.mid took longer than 0.5 s to read (the "
                                        "studio's limit for one upload)")
    assert slow["seconds"] < DEADLINE_S + ANSWER_SLACK_S
    assert answers and set(answers) == {200}  # served while the upload was being read
    assert not multiprocessing.active_children()  # the worker was killed and reaped
    assert set(studio.uploads._dir.iterdir()) == kept  # and the file not kept


def test_a_reader_that_dies_is_one_line(tmp_path, monkeypatch):
    """The worker's own alarm (set here to ring before the deadline) ends it; a worker that
    dies for any reason (out of memory, say) is refused in one line."""
    path = tmp_path / "dense.mid"
    path.write_bytes(dense_midi())
    monkeypatch.setattr(upload_reader, "ALARM_GRACE_S", -2)  # the alarm rings after 1 s
    with pytest.raises(InputError) as caught:
        read_tracks_in_time(path, timeout_s=3.0)
    assert str(caught.value) == f"{path} could not be read: the reader stopped before it " \
                                "finished (exit code -14)"
    assert not multiprocessing.active_children()
