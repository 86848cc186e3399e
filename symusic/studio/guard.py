"""The studio's door: who may talk to it, what and how much they may send, and the security
headers of every answer. A plain ASGI middleware, so a refused request is answered before
its body is read.

* **Host** (400): the ``Host`` header must name the address the studio serves, so a page on
  another site that re-points its own name at this machine (DNS rebinding) is refused. The
  port is not checked: a browser behind an SSH tunnel sends the tunnel's.
* **Origin** (403): an API request, or any state-changing one, sent by a page of another
  origin (its ``Origin`` header, or ``Sec-Fetch-Site`` when there is none) is refused.
* **Content type** (415): JSON endpoints take ``application/json`` only, the upload raw
  bytes; the types a form or a ``text/plain`` fetch send without a CORS preflight are refused.
* **Body size** (413): a ``Content-Length`` over the limit is refused at once; a body without
  one (chunked) is read up to the limit and refused as soon as it passes it, never buffered
  beyond.
* **Headers**: a Content-Security-Policy allowing this app's own files only, no framing,
  ``nosniff``, no referrer, and no caching of API answers.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_BYTES = 2 * 2**20  # the largest legitimate body (64 codes of 512 numbers) is ~0.5 MB
UPLOAD_PATH = "/api/upload"
UPLOAD_PATHS = frozenset({UPLOAD_PATH, "/api/groove/upload"})  # the raw-body endpoints
UPLOAD_TYPES = frozenset({"application/octet-stream", "audio/midi", "audio/mid", "audio/x-midi"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CROSS_SITE = frozenset({"cross-site", "same-site"})  # same-site: e.g. another port of localhost
WILDCARDS = frozenset({"", "0.0.0.0", "::"})

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# host [":" port], host a name of dot-separated labels (one final dot allowed), an IPv4
# address or a bracketed IPv6 one (RFC 9110 7.2 with RFC 3986 3.2.2); nothing else
_HOST_HEADER = re.compile(
    r"(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
    r"(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*)\.?)(?::[0-9]{1,5})?")


def host_name(header: str) -> str:
    """The name or address of a ``Host`` header, without its port: ``[::1]:80`` -> ``::1``;
    ``""`` for a header that is not exactly a host and an optional port
    (``localhost:80@evil.example``, ``[::1]evil.example``, ``localhost..``)."""
    match = _HOST_HEADER.fullmatch(header.strip().lower())
    if match is None:
        return ""
    if match["ipv6"] is not None:
        return match["ipv6"] if _ip(match["ipv6"]) is not None else ""
    return match["name"]


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


@dataclass(frozen=True)
class HostPolicy:
    """The ``Host`` names the studio answers to, for the address it listens on.

    An IP address in ``Host`` cannot come from DNS rebinding (the attacker's page would
    need a name), so any is accepted except on loopback, where only loopback ones are. Names
    must be known: ``localhost`` on loopback; the ``--host`` name; with ``--host 0.0.0.0``
    (every interface) also this machine's host names.
    """

    names: frozenset[str]
    loopback_only: bool

    @classmethod
    def for_address(cls, host: str) -> HostPolicy:
        """The policy of a studio listening on ``host`` (as given to ``--host``)."""
        host = host.strip("[]").lower()
        if is_loopback(host):
            return cls(frozenset({"localhost", host}), loopback_only=True)
        names = {"localhost", host} if host in WILDCARDS else {host}
        if host in WILDCARDS:
            machine = socket.gethostname().lower()
            names |= {machine, f"{machine}.local", socket.getfqdn().lower()}
        return cls(frozenset(n for n in names if n), loopback_only=False)

    def allows(self, name: str) -> bool:
        """Whether a request for ``name`` (a ``Host`` without port) is for this studio."""
        ip = _ip(name)
        if ip is not None:
            return ip.is_loopback or not self.loopback_only
        return name in self.names

    def describe(self) -> str:
        """The names, for the refusal message."""
        names = ", ".join(sorted(n for n in self.names if _ip(n) is None))
        ips = "a loopback address such as 127.0.0.1" if self.loopback_only else "an IP address"
        return f"{names} or {ips}" if names else ips


async def respond(send: Send, status: int, message: str) -> None:
    """Send ``{"error": message}`` with ``status``."""
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """The middleware; ``hosts`` says which ``Host`` names are this studio's."""

    def __init__(self, app: ASGIApp, hosts: HostPolicy, max_upload_bytes: int,
                 max_json_bytes: int = MAX_JSON_BYTES) -> None:
        self.app, self.hosts = app, hosts
        self.max_upload_bytes, self.max_json_bytes = max_upload_bytes, max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(scope, send)
        headers = Headers(scope=scope)
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            await respond(send, *refusal)
            return
        limit, what = ((self.max_upload_bytes, "the upload") if scope["path"] in UPLOAD_PATHS
                       else (self.max_json_bytes, "the request body"))
        too_large = (413, f"{what} is larger than {limit / 2**20:g} MB")
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await respond(send, *too_large)
            return
        if scope["method"] not in SAFE_METHODS:
            try:
                body = await read_body(receive, limit)
            except BodyTooLargeError:
                await respond(send, *too_large)
                return
            if body is None:
                return  # the client went away: no one to answer
            receive = replay(body, receive)
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, headers: Headers) -> tuple[int, str] | None:
        """``(status, message)`` when the request is refused before it is read, else None."""
        name = host_name(headers.get("host", ""))
        if not name or not self.hosts.allows(name):
            return 400, (f"this studio answers requests for {self.hosts.describe()}, not "
                         f"{(name or headers.get('host', ''))[:80]!r}")
        api, method = scope["path"].startswith("/api/"), scope["method"]
        if api or method not in SAFE_METHODS:
            origin = headers.get("origin")
            own = f"http://{headers.get('host', '').lower()}"
            if origin is not None and origin.lower() != own:
                return 403, "requests from other web pages are refused"
            if origin is None and headers.get("sec-fetch-site", "").lower() in CROSS_SITE:
                return 403, "requests from other web pages are refused"
        if api and method not in SAFE_METHODS:
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if scope["path"] in UPLOAD_PATHS:
                if content_type and content_type not in UPLOAD_TYPES:
                    return 415, (f"send the file's bytes as application/octet-stream, not "
                                 f"{content_type[:60]}")
            elif content_type != "application/json":
                return 415, (f"send JSON with Content-Type: application/json, not "
                             f"{content_type[:60] or 'no content type'}")
        return None

    @staticmethod
    def _with_headers(scope: Scope, send: Send) -> Send:
        extra = SECURITY_HEADERS + ([(b"cache-control", b"no-store")]
                                    if scope["path"].startswith("/api/") else [])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        return send_with_headers


class BodyTooLargeError(Exception):
    """A request body passed its limit (the rest of it was not read)."""


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body; None when the client disconnected before sending all of it.

    Raises ``BodyTooLargeError`` as soon as the body passes ``limit`` bytes.
    """
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` whole, then passes on to ``receive`` (disconnects)."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again
