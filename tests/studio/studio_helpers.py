"""What the studio tests share besides fixtures (importable: conftest modules are not)."""

from __future__ import annotations

BASE_URL = "http://127.0.0.1:8000"  # the Host a browser on this machine sends


def studio_client(studio, host: str = "127.0.0.1"):
    """A ``TestClient`` on the app of ``studio`` listening on ``host``, addressed as a page of
    the studio would address it (``Host: 127.0.0.1:8000``)."""
    from fastapi.testclient import TestClient

    from symusic.studio.app import create_app

    return TestClient(create_app(studio, host), base_url=BASE_URL)
