"""How long a connection may take to send a request, and how many may wait at once.

uvicorn closes a keep-alive connection that stays silent after an answer, but not one that
sends nothing after connecting, or trickles its request a byte at a time: a hundred such
connections, which a web page or anyone on the network can open, filled uvicorn's
concurrency limit and every other request got 503. Each connection here gets a deadline:

* the request line and headers must arrive within ``head_timeout`` seconds of connecting or
  of the previous answer (``IDLE_TIMEOUT`` for a silent keep-alive connection);
* the body within ``body_timeout`` seconds of the headers;
* at most ``max_waiting`` connections may be sending a request at once: a new one closes the
  one that has waited longest.

The model's work on a received request has no deadline: once a request is in, the clock stops
until its answer is sent.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT = 10.0
BODY_TIMEOUT = 60.0  # a 1 MB upload over a slow link
IDLE_TIMEOUT = 5  # uvicorn's keep-alive timeout
MAX_WAITING = 64
MAX_CONNECTIONS = 128  # uvicorn answers 503 beyond this many (each may buffer a 1 MB body)


def deadline_protocol(head_timeout: float = HEAD_TIMEOUT, body_timeout: float = BODY_TIMEOUT,
                      max_waiting: int = MAX_WAITING) -> type[H11Protocol]:
    """An h11 protocol class (``uvicorn.Config(http=...)``) that closes connections that take
    too long to send a request, and the longest-waiting one past ``max_waiting``. Each call
    makes a class with its own count of waiting connections (one per server)."""
    waiting: OrderedDict[int, DeadlineProtocol] = OrderedDict()

    class DeadlineProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._wait(head_timeout)
            if len(waiting) > max_waiting:
                _, oldest = waiting.popitem(last=False)
                oldest._close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            state = self.conn.their_state
            if state is h11.SEND_BODY and self._phase != "body":
                self._wait(body_timeout, "body")
            elif state is not h11.IDLE and state is not h11.SEND_BODY:
                self._stop_clock()  # the request is in: the answer takes what it takes

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._wait(head_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_clock()
            super().connection_lost(exc)

        _phase = "head"

        def _wait(self, seconds: float, phase: str = "head") -> None:
            self._stop_clock()
            self._phase = phase
            self._deadline = self.loop.call_later(seconds, self._close)
            waiting[id(self)] = self

        def _stop_clock(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            waiting.pop(id(self), None)

        def _close(self) -> None:
            self._stop_clock()
            if not self.transport.is_closing():
                self.transport.close()

    return DeadlineProtocol


def server_config(app: Any, **timeouts: float):
    """The studio's ``uvicorn.Config`` for ``app``: the deadline protocol (``timeouts``:
    :func:`deadline_protocol`'s), quiet logs, no lifespan (the caller closes the studio)."""
    import uvicorn

    return uvicorn.Config(app, log_level="warning", lifespan="off",
                          http=deadline_protocol(**timeouts), timeout_keep_alive=IDLE_TIMEOUT,
                          limit_concurrency=MAX_CONNECTIONS)
