"""The studio against hostile requests: other hosts and sites, oversized and endless bodies,
uploads that would take unbounded work, numbers too large for the model, bad arguments, and
the upload folder a killed studio leaves behind."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from midi_files import instrument, scale_walk, write_midi
from studio_helpers import BASE_URL, studio_client

from symusic.studio.__main__ import main
from symusic.studio.app import create_app
from symusic.studio.guard import Guard, HostPolicy, host_name
from symusic.studio.library import (
    MAX_MELODY_TRACKS,
    MAX_UPLOAD_BYTES,
    UPLOAD_DIR_PREFIX,
    Uploads,
    remove_stale_upload_dirs,
)
from symusic.studio.state import Studio

OWN = {"origin": BASE_URL}
FOREIGN = {"origin": "http://evil.example"}


def refused(response, status: int) -> str:
    assert response.status_code == status, response.text[:300]
    return response.json()["error"]


# --- Host: DNS rebinding -----------------------------------------------------------------------


def test_a_foreign_host_is_refused_everywhere(client):
    for path in ["/api/info", "/api/files", "/"]:
        message = refused(client.get(path, headers={"host": "evil.example:8000"}), 400)
        assert "evil.example" in message and "localhost" in message
    assert refused(client.post("/api/sample", json={"count": 1},
                               headers={"host": "rebound.example"}), 400)
    for host in ["127.0.0.1:8000", "localhost:8000", "LOCALHOST", "127.0.0.2:9", "[::1]:8000"]:
        assert client.get("/api/info", headers={"host": host}).status_code == 200, host
    # a loopback studio is not reached through another machine's address
    assert refused(client.get("/api/info", headers={"host": "192.168.1.20:8000"}), 400)


@pytest.mark.parametrize("host", [
    "localhost:8000@evil.example", "[::1]evil.example", "localhost..", "localhost:80:80",
    "127.0.0.1 evil.example", "[::1", "[evil.example]:80", "localhost:", "local%68ost",
    "localhost:123456", "",
])
def test_a_host_header_that_is_not_just_a_host_and_a_port_is_refused(client, host):
    assert host_name(host) == ""
    assert refused(client.get("/api/info", headers={"host": host}), 400)


def test_the_hosts_each_listening_address_answers_to():
    assert host_name("[::1]:8000") == "::1" and host_name("Example.ORG.:80") == "example.org"
    loopback = HostPolicy.for_address("127.0.0.1")
    assert loopback.allows("localhost") and loopback.allows("::1")
    assert not loopback.allows("10.0.0.5") and not loopback.allows("evil.example")
    everywhere = HostPolicy.for_address("0.0.0.0")
    assert everywhere.allows("10.0.0.5") and everywhere.allows("localhost")
    assert everywhere.allows(socket.gethostname().lower())
    assert not everywhere.allows("evil.example")
    named = HostPolicy.for_address("studio.lan")
    assert named.allows("studio.lan") and named.allows("10.0.0.5")
    assert not named.allows("localhost") and not named.allows("evil.example")


def test_host_given_to_create_app_is_the_one_answered(checkpoint):
    with studio_client(Studio.open(checkpoint), host="studio.lan") as c:
        assert c.get("/api/info", headers={"host": "studio.lan:8000"}).status_code == 200
        assert refused(c.get("/api/info", headers={"host": "localhost:8000"}), 400)


# --- Origin: other web pages -------------------------------------------------------------------


def test_requests_from_another_origin_are_refused(client, midi_bytes):
    body = {"count": 1, "seed": 1}
    assert "other web pages" in refused(client.post("/api/sample", json=body,
                                                    headers=FOREIGN), 403)
    assert refused(client.post("/api/sample", json=body, headers={"origin": "null"}), 403)
    # another port of localhost is another origin (a dev server, say)
    assert refused(client.post("/api/sample", json=body,
                               headers={"origin": "http://127.0.0.1:3000"}), 403)
    assert refused(client.get("/api/files", headers=FOREIGN), 403)
    # without Origin, the browser's Sec-Fetch-Site says where the request came from
    assert refused(client.post("/api/sample", json=body,
                               headers={"sec-fetch-site": "cross-site"}), 403)
    assert refused(client.post("/api/sample", json=body,
                               headers={"sec-fetch-site": "same-site"}), 403)
    assert client.post("/api/sample", json=body, headers=OWN).status_code == 200
    assert client.post("/api/sample", json=body,
                       headers={"sec-fetch-site": "same-origin"}).status_code == 200
    upload = client.post("/api/upload", content=midi_bytes,
                         headers={**OWN, "content-type": "application/octet-stream"})
    assert upload.status_code == 200
    # a link from another site to the page itself still opens it
    assert client.get("/", headers={"sec-fetch-site": "cross-site"}).status_code == 200


def test_a_cross_site_text_plain_upload_is_refused(client, studio, midi_bytes):
    before = len(studio.uploads._entries)
    headers = {**FOREIGN, "content-type": "text/plain"}
    assert refused(client.post("/api/upload", content=midi_bytes, headers=headers), 403)
    # the types a page may send without a CORS preflight are refused from anywhere
    for content_type in ["text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x"]:
        headers = {**OWN, "content-type": content_type}
        message = refused(client.post("/api/upload", content=midi_bytes, headers=headers), 415)
        assert "application/octet-stream" in message
        message = refused(client.post("/api/sample", content=b'{"count": 1}',
                                      headers=headers), 415)
        assert "application/json" in message
    assert len(studio.uploads._entries) == before


def test_security_headers_and_no_absolute_paths(client, data_dir):
    for path in ["/", "/js/main.js", "/api/info"]:
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert client.get("/api/info").headers["cache-control"] == "no-store"
    info = client.get("/api/info").json()
    assert info["data"]["folder"] == data_dir.name
    assert str(data_dir.parent) not in client.get("/api/info").text


# --- body size -----------------------------------------------------------------------------


def test_a_declared_oversized_body_is_refused_before_it_is_read(client):
    headers = {**OWN, "content-type": "application/json", "content-length": str(190 * 2**20)}
    message = refused(client.post("/api/sample", content=b"{}", headers=headers), 413)
    assert "2 MB" in message
    headers.update({"content-length": str(2**30), "content-type": "application/octet-stream"})
    assert "1 MB" in refused(client.post("/api/upload", content=b"MThd", headers=headers), 413)


def test_a_huge_json_body_is_413(client):
    body = b'{"z": [[' + b"0.0," * (700_000) + b"0.0]]}"  # 2.8 MB
    response = client.post("/api/decode", content=body,
                           headers={"content-type": "application/json"})
    assert "larger than 2 MB" in refused(response, 413)


def test_a_chunked_body_is_read_only_up_to_the_limit():
    """Without Content-Length, the guard stops reading at the limit and answers 413."""
    consumed, sent = [], []

    async def receive():
        consumed.append(1)
        return {"type": "http.request", "body": b"\0" * 65536, "more_body": True}  # endless

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):  # never reached
        raise AssertionError("the app was called")

    guard = Guard(app, HostPolicy.for_address("127.0.0.1"), max_upload_bytes=2**20)
    scope = {"type": "http", "method": "POST", "path": "/api/upload", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1:8000"), (b"transfer-encoding", b"chunked")]}
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 413
    assert len(consumed) == 2**20 // 65536 + 1  # 1 MB and one chunk more, never the rest


def test_a_chunked_oversized_upload_gets_413_while_still_sending(studio):
    """Over a real socket: the answer comes while the client is still sending, long before
    the 64 MB it would send."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(studio), log_level="error"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        client.sendall(f"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                       "Content-Type: application/octet-stream\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"10000\r\n" + b"\0" * 0x10000 + b"\r\n"
        total, answer = 0, b""
        client.settimeout(0.001)
        while total < 64 * 2**20:
            try:
                client.sendall(chunk)
                total += 0x10000
            except (BlockingIOError, TimeoutError, ConnectionError):
                pass
            try:
                answer = client.recv(4096)
            except (BlockingIOError, TimeoutError):
                continue
            break
        client.close()
        assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
        assert total < 32 * 2**20
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- the work one upload may cause -----------------------------------------------------------


def many_track_midi(tracks: int) -> bytes:
    """A type-1 MIDI file of ``tracks`` tracks, each one note held for about an hour."""
    event = (b"\x00\x90\x3c\x50"  # note on at 0
             + bytes([0x83, 0xFF, 0xFF, 0x7F]) + b"\x80\x3c\x00"  # off ~8.4M ticks later
             + b"\x00\xff\x2f\x00")  # end of track
    chunk = b"MTrk" + len(event).to_bytes(4, "big") + event
    header = b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big") \
        + tracks.to_bytes(2, "big") + (480).to_bytes(2, "big")
    return header + chunk * tracks


def test_an_upload_with_thousands_of_tracks_is_refused_at_once(client):
    data = many_track_midi(20_000)  # 440 KB
    start = time.perf_counter()
    message = refused(client.post("/api/upload?name=wide.mid", content=data), 422)
    assert time.perf_counter() - start < 2
    assert "wide.mid has 20,000 tracks" in message and "at most 256" in message


def test_more_melody_tracks_than_offered_is_a_clear_422(client, tmp_path):
    path = write_midi(tmp_path / "band.mid", *[instrument(scale_walk(i, 2), program=i % 32)
                                               for i in range(MAX_MELODY_TRACKS + 1)])
    message = refused(client.post("/api/upload?name=band.mid", content=path.read_bytes()), 422)
    assert f"{MAX_MELODY_TRACKS + 1} tracks with melodies" in message


def test_uploads_are_bounded_in_size(client):
    assert MAX_UPLOAD_BYTES == 2**20
    big = b"MThd" + b"\0" * MAX_UPLOAD_BYTES
    assert "larger than 1 MB" in refused(client.post("/api/upload", content=big), 413)


# --- numbers too large -----------------------------------------------------------------------


@pytest.mark.parametrize("path,body,field", [
    ("/api/sample", {"count": 1, "seed": 2**64}, "seed"),
    ("/api/decode", {"z": [[0.0] * 16], "seed": 2**63}, "seed"),
    ("/api/encode", {"melodies": [[2**63] + [0] * 31]}, "melodies.0.0"),
    ("/api/midi", {"melodies": [[0] * 31 + [-2**70]]}, "melodies.0.31"),
    ("/api/interpolate", {"start": [2**64] * 32, "end": [0] * 32}, "start.0"),
    ("/api/window", {"file": "d0", "track": 2**70}, "track"),
    ("/api/window", {"file": "d0", "bar": 2**64}, "bar"),
    ("/api/attributes/apply", {"z": [0.0] * 16, "attribute": "note_density",
                               "amounts": [1e300]}, "amounts.0"),
])
def test_huge_integers_and_numbers_are_422_naming_the_field(client, path, body, field):
    message = refused(client.post(path, json=body), 422)
    assert message.startswith(f"invalid request: {field}:"), message


def test_an_infinite_code_is_422(client):
    body = b'{"z": [[1e400' + b", 0.0" * 15 + b"]]}"
    message = refused(client.post("/api/decode", content=body,
                                  headers={"content-type": "application/json"}), 422)
    assert "z.0.0" in message


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("args,expected", [
    (["--port", "-1"], "--port: must be 0..65535 (0: a free one), got -1"),
    (["--port", "70000"], "--port: must be 0..65535"),
    (["--port", "eighty"], "--port: not a port number: 'eighty'"),
    (["--max-windows", "0"], "--max-windows: must be 1 or more, got 0"),
])
def test_bad_arguments_are_one_line_and_exit_2(args, expected, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["model.pt", *args])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("symusic-studio: error: ") and expected in err[0]


# --- the upload folder after kill -9 ---------------------------------------------------------


def test_a_killed_studios_upload_folder_is_removed_at_the_next_start(tmp_path):
    code = ("import os, signal, sys; from pathlib import Path; "
            "from symusic.studio.library import Uploads; "
            "u = Uploads(32, parent=Path(sys.argv[1])); "
            "(u._dir / 'u1.mid').write_bytes(b'MThd'); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=False)
    assert done.returncode == -9
    (left,) = tmp_path.glob(f"{UPLOAD_DIR_PREFIX}*")
    assert (left / "u1.mid").is_file()
    alive = tmp_path / f"{UPLOAD_DIR_PREFIX}{os.getppid()}-keep"  # a running process's
    alive.mkdir()
    unrelated = tmp_path / f"{UPLOAD_DIR_PREFIX}notapid"
    unrelated.mkdir()
    uploads = Uploads(32, parent=tmp_path)
    try:
        remaining = set(tmp_path.iterdir())
        assert left not in remaining
        assert {alive, unrelated, uploads._dir} == remaining
        assert remove_stale_upload_dirs(tmp_path) == []
    finally:
        uploads.close()
    assert not uploads._dir.exists()
