"""The FastAPI app: the JSON API, its error shape, and the static pages.

Every error the API returns is ``{"error": "<message for the user>"}`` with a 4xx status:
422 for input the model or the MIDI reader cannot use (an upload that is not MIDI or has no
melody, a melody of the wrong length), 404 for an unknown file or point, 409 for a page that
needs ``--data``. Everything is served from this package: no script or style from elsewhere,
and FastAPI's own docs pages (which load theirs from a CDN) are switched off. ``guard.py``
stands in front of it all: requests for another host or from another site are refused,
bodies are bounded, and every answer carries the security headers.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from symusic.errors import error_message, user_errors
from symusic.studio import groove_routes
from symusic.studio.guard import Guard, HostPolicy
from symusic.studio.library import MAX_UPLOAD_BYTES
from symusic.studio.projection import ProjectionUnavailableError
from symusic.studio.routes import router
from symusic.studio.state import Studio

STATIC_DIR = Path(__file__).parent / "static"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(err: RequestValidationError) -> str:
    parts = []
    for e in err.errors()[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else e.get("msg", "invalid"))
    return "invalid request: " + "; ".join(parts)


def create_app(studio: Studio, host: str = "127.0.0.1") -> FastAPI:
    """The app serving ``studio``: ``/api/...`` (``routes.py``) and the pages at ``/``.

    ``host`` is the address the server listens on (``--host``): requests must name it (or
    ``localhost`` for a loopback address) in their ``Host`` header.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        studio.close()

    app = FastAPI(title="symusic studio", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.studio = studio
    app.include_router(router)
    app.include_router(groove_routes.router)
    app.add_middleware(Guard, hosts=HostPolicy.for_address(host),
                       max_upload_bytes=MAX_UPLOAD_BYTES)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return _error(err.status_code, str(err.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(err))

    @app.exception_handler(ProjectionUnavailableError)
    async def projection_error(request: Request, err: ProjectionUnavailableError) -> JSONResponse:
        return _error(422, str(err))

    for error_type in user_errors():
        async def user_error(request: Request, err: Exception) -> JSONResponse:
            return _error(422, error_message(err))

        app.add_exception_handler(error_type, user_error)

    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    return app
