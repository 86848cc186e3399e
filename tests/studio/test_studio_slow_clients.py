"""Slow and silent connections over real sockets: they are closed at their deadline, and a
normal request gets through while they hold on (uvicorn alone answered every other request
503 for as long as a hundred of them stayed)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
import uvicorn

from symusic.studio import connections
from symusic.studio.app import create_app


@contextlib.contextmanager
def running_server(studio, **timeouts):
    """The studio's server config on a free loopback port, in a thread: yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    config = connections.server_config(create_app(studio), **timeouts)
    config.log_level = "error"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def get_info(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                       "Connection: close\r\n\r\n".encode())
        return client.recv(64)


def closed_by_server(client: socket.socket, within: float) -> bool:
    """Whether the server closes ``client`` within ``within`` seconds (what it still sends
    before is read and dropped)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        client.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            if client.recv(65536) == b"":
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
    return False


@pytest.mark.timeout(180)
def test_slow_and_silent_connections_neither_block_others_nor_stay(studio):
    with running_server(studio, head_timeout=3.0, body_timeout=3.0) as port:
        silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(105)]
        trickling = [socket.create_connection(("127.0.0.1", port)) for _ in range(110)]
        request = f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        try:
            for byte in request[:3]:  # one header byte each, a while apart
                for client in trickling:
                    with contextlib.suppress(OSError):
                        client.send(bytes([byte]))
                assert get_info(port).startswith(b"HTTP/1.1 200"), "blocked by slow clients"
                time.sleep(0.3)
            # every one of them is closed by its deadline (or to make room for newer ones)
            assert all(closed_by_server(c, within=30) for c in silent + trickling)
        finally:
            for client in silent + trickling:
                client.close()
        assert get_info(port).startswith(b"HTTP/1.1 200")


@pytest.mark.timeout(120)
def test_a_body_that_never_comes_is_cut_off_and_an_idle_connection_too(studio):
    with running_server(studio, head_timeout=2.0, body_timeout=2.0) as port:
        body_less = socket.create_connection(("127.0.0.1", port))
        body_less.sendall(f"POST /api/sample HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                          "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                          .encode())
        idle = socket.create_connection(("127.0.0.1", port))
        idle.sendall(f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        idle.settimeout(30)
        assert idle.recv(12) == b"HTTP/1.1 200"
        assert closed_by_server(body_less, within=30)
        assert closed_by_server(idle, within=30)  # (after reading the rest of its answer)


def test_the_studio_serves_with_the_deadlines():
    config = connections.server_config(lambda scope, receive, send: None)
    assert issubclass(config.http, uvicorn.protocols.http.h11_impl.H11Protocol)
    assert config.limit_concurrency == connections.MAX_CONNECTIONS
    assert connections.MAX_WAITING < connections.MAX_CONNECTIONS
