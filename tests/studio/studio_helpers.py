"""What the studio tests share besides fixtures (importable: conftest modules are not)."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
BASE_URL = "http://127.0.0.1:8000"  # the Host a browser on this machine sends


def studio_client(studio, host: str = "127.0.0.1"):
    """A ``TestClient`` on the app of ``studio`` listening on ``host``, addressed as a page of
    the studio would address it (``Host: 127.0.0.1:8000``)."""
    from fastapi.testclient import TestClient

    from symusic.studio.app import create_app

    return TestClient(create_app(studio, host), base_url=BASE_URL)


@contextmanager
def studio_server(*args: str) -> Iterator[str]:
    """``python -m symusic.studio ARGS`` on a free port; yields its address (read from what it
    prints) and stops it after."""
    proc = subprocess.Popen([sys.executable, "-m", "symusic.studio", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],
                     daemon=True).start()
    seen = []
    try:
        while True:
            line = lines.get(timeout=90)
            seen.append(line)
            if match := re.search(r"serving at (http://\S+)", line):
                break
        yield match.group(1)
    except queue.Empty:
        pytest.fail(f"the studio did not start: {''.join(seen)}")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def browser_page(address: str):
    """A headless Chromium page on the studio at ``address``, ready; fails the test on any
    uncaught script error. Skips when Debian's chromium is absent."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: the browser test needs Debian's chromium "
                    "(apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("console", lambda msg: errors.append(msg.text)
                if "Content Security Policy" in msg.text else None)  # the app under its CSP
        page.goto(address)
        page.wait_for_selector("body[data-ready='1']")
        yield page
        browser.close()
        assert errors == [], errors


def wait_until(page, expression: str, timeout_s: float = 30.0) -> None:
    """Poll a JavaScript expression until it is true. (``page.wait_for_function`` would eval
    the string inside the page, which the studio's Content-Security-Policy forbids.)"""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {expression}")
        time.sleep(0.05)
