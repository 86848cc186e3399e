"""magenta.js itself for the parity tests: the npm package in a cache, an HTTP server on
127.0.0.1 for the checkpoint, and a run of ``magentajs_run.js`` in Node.

The package (``@magenta/music@1.23.1`` and what it pulls, about 260 MB) is installed once into
``$SYMUSIC_MAGENTAJS`` (default ``~/.cache/symusic-magentajs``; ``make magentajs`` does the same);
when Node or npm is missing, or npm cannot reach the registry, :func:`magentajs_modules` says
why and the tests skip.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

PACKAGE = "@magenta/music@1.23.1"
RUNNER = Path(__file__).with_name("magentajs_run.js")
INSTALL_SECONDS = 300
RUN_SECONDS = 300


def cache_folder() -> Path:
    """Where the npm package lives."""
    return Path(os.environ.get("SYMUSIC_MAGENTAJS", Path.home() / ".cache/symusic-magentajs"))


@functools.cache
def magentajs_modules() -> tuple[Path | None, str]:
    """``(node_modules folder, "")`` once the package is installed (installing it if need
    be), else ``(None, why not)``."""
    folder = cache_folder()
    modules = folder / "node_modules"
    if (modules / "@magenta/music/node/music_vae.js").is_file():
        return modules, ""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None, "Node.js and npm are not installed"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["nice", "-n", "19", "npm", "install", "--prefix", str(folder), "--no-audit",
             "--no-fund", "--ignore-scripts", "--fetch-retries=1", "--fetch-timeout=30000",
             PACKAGE], capture_output=True, text=True, timeout=INSTALL_SECONDS)
    except subprocess.TimeoutExpired:
        return None, f"npm install {PACKAGE} took over {INSTALL_SECONDS} s"
    if done.returncode != 0 or not (modules / "@magenta/music/node/music_vae.js").is_file():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"npm could not install {PACKAGE} ({last[:160]})"
    return modules, ""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve the folder ``root`` on 127.0.0.1 (a free port) while inside; yields its URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Run:
    """One checkpoint folder for magenta.js: ``tokens [N, T]`` as NoteSequences encoded
    through its converter (``mu``, and the ``inputs`` the converter read), encoder
    ``inputs [N, T, F]`` encoded as they are (``mu_of_inputs``), ``z [N, Z]`` decoded at
    temperature 0 (``tokens``, ``logits [T][N][V]``)."""

    folder: Path
    tokens: np.ndarray | None = None
    inputs: np.ndarray | None = None
    z: np.ndarray | None = None


def run_magentajs(modules: Path, runs: list[Run]) -> list[dict]:
    """Every run in one Node process (folders served under their common parent)."""
    root = Path(os.path.commonpath([run.folder.resolve().parent for run in runs]))
    with tempfile.TemporaryDirectory() as work, serve(root) as url:
        job = {"modules": str(modules), "out": str(Path(work) / "result.json"), "runs": []}
        for run in runs:
            entry = {"url": f"{url}/{run.folder.resolve().relative_to(root).as_posix()}"}
            for key in ("tokens", "inputs", "z"):
                value = getattr(run, key)
                if value is not None:
                    entry[key] = np.asarray(value).tolist()
            job["runs"].append(entry)
        job_file = Path(work) / "job.json"
        job_file.write_text(json.dumps(job))
        done = subprocess.run(["nice", "-n", "19", "node", str(RUNNER), str(job_file)],
                              capture_output=True, text=True, timeout=RUN_SECONDS)
        if done.returncode != 0:
            raise AssertionError(f"magenta.js failed: {done.stderr.strip()[-2000:]}")
        return json.loads(Path(job["out"]).read_text())
