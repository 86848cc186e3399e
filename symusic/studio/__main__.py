"""``python -m symusic.studio CHECKPOINT [--data DIR] [--host 127.0.0.1] [--port 0]``

Loads the model, reads the data folder, and serves the studio until Ctrl+C. ``--port 0``
(the default) takes a free port; the address is printed once the server listens. The server
listens on loopback only unless ``--host`` says otherwise, and answers only requests addressed
to that host (see ``guard.py``). A wrong argument is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from symusic.studio.guard import is_loopback

PROG = "symusic-studio"


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (``prog: error: ...``), exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``message`` on one line and exit 2."""
        self.exit(2, f"{PROG}: error: {' '.join(message.split())} (see --help)\n")


def port_number(text: str) -> int:
    """``--port``: an integer 0..65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535 (0: a free one), got {port}")
    return port


def positive_int(text: str) -> int:
    """An integer of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    from symusic.musicvae.tools.cli import add_device_argument

    parser = OneLineParser(
        prog="python -m symusic.studio",
        description="A local web app to hear, see and steer a trained MusicVAE.")
    parser.add_argument("checkpoint", nargs="?", default="folk-mel-2bar",
                        help="model checkpoint (.pt) saved by training, or a shipped model's "
                             "name (default: folk-mel-2bar; see `symusic models`)")
    parser.add_argument("--data", default=None,
                        help="folder of MIDI files: melodies to pick, the map, the attribute "
                             "vectors and the mixer's dimensions (default: the built-in folk "
                             "corpus's eval tunes, for a melody model)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default %(default)s: this machine only)")
    parser.add_argument("--port", type=port_number, default=0,
                        help="port (default 0: a free one)")
    add_device_argument(parser)
    parser.add_argument("--max-windows", type=positive_int, default=2000,
                        help="data windows on the map and for the statistics "
                             "(default %(default)s, evenly spaced)")
    return parser


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one), IPv4 or IPv6."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The http address a browser opens for a bound socket."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def main(argv: Sequence[str] | None = None) -> int:
    """Start the studio; returns the exit code (1 with a one-line message on bad input, 130
    when stopped by Ctrl+C before the server took over the signals)."""
    args = build_parser().parse_args(argv)
    try:
        return serve(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def serve(args: argparse.Namespace) -> int:
    """Load the model (and data) ``args`` name and serve the studio until stopped."""
    from symusic.errors import error_message, user_errors
    from symusic.musicvae.inference import load_model
    from symusic.studio.builtin_tunes import default_data
    from symusic.studio.library import UPLOAD_DIR_PREFIX
    from symusic.studio.state import Studio

    try:  # the port first: no point loading a big model to find it taken
        sock = bind_socket(args.host, args.port)
    except OSError as err:  # gaierror too: an unknown --host name
        print(f"{PROG}: error: cannot listen on {args.host}:{args.port}: "
              f"{err.strerror or err}", file=sys.stderr)
        return 1
    scratch = Path(tempfile.mkdtemp(prefix=f"{UPLOAD_DIR_PREFIX}{os.getpid()}-folk-"))
    try:
        print(f"{PROG}: loading {args.checkpoint}" +
              (f" and reading {args.data}" if args.data else ""), flush=True)
        model = load_model(args.checkpoint, args.device)
        data = args.data or default_data(model, scratch)
        if data is not None and not args.data:
            print(f"{PROG}: no --data: offering the built-in folk corpus's eval tunes",
                  flush=True)
        studio = Studio.from_model(model, data, args.max_windows, Path(args.checkpoint).name)
    except user_errors() as err:
        print(f"{PROG}: error: {error_message(err)}", file=sys.stderr)
        sock.close()
        shutil.rmtree(scratch, ignore_errors=True)
        return 1
    if data:
        print(f"{PROG}: {len(studio.library.paths)} MIDI files (each read when first needed)",
              flush=True)
    if not is_loopback(args.host):
        print(f"{PROG}: note: listening on {args.host}: other machines can reach the studio",
              file=sys.stderr)

    from symusic.studio.app import create_app
    from symusic.studio.connections import server_config

    # The latent statistics take a while on a big model: start them before the first request.
    reference = threading.Thread(target=studio.latent.reference, daemon=True)
    reference.start()
    # lifespan off: the studio is closed below, also when a second Ctrl+C cuts shutdown short.
    # h11 bounds a request's headers (16 KB); slow and silent connections are closed.
    server = quiet_server(server_config(create_app(studio, args.host)))
    threading.Thread(target=announce, args=(server, url_of(sock)), daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a late Ctrl+C while exiting
        studio.close()
        shutil.rmtree(scratch, ignore_errors=True)
    if reference.is_alive():
        # torch still busy in that thread would abort the interpreter's exit ("terminate
        # called without an active exception"): nothing is left to save, so leave at once
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def quiet_server(config):
    """A uvicorn server that stops on SIGINT or SIGTERM (at once on the second) and returns.

    uvicorn's own raises each caught signal again once stopped, which after a second Ctrl+C
    prints tracebacks from inside asyncio.
    """
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            stops = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server(config)


def announce(server, url: str) -> None:
    """Print the address once ``server`` listens (it handles Ctrl+C from then on)."""
    while not server.started and not server.should_exit:
        time.sleep(0.02)
    if server.started:
        print(f"{PROG}: serving at {url} (Ctrl+C to stop)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
