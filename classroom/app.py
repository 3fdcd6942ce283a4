"""The application factory: HTTP routes, the Socket.IO server, and their shared services."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web

from classroom import library_http
from classroom.export_jobs import ExportJobs
from classroom.http import add_routes, error_middleware
from classroom.hub import Hub
from classroom.keys import EXPORTS, LIVE, SERVICES, SETTINGS, TRANSPORT
from classroom.library_http import library_middleware
from classroom.live import Fanout, LiveServer
from classroom.presence import PresenceLog
from classroom.protocol import EVENTS
from classroom.services import Services
from classroom.settings import Settings
from classroom.storage import open_store
from classroom.transport import Transport

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

FALLBACK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Takhti</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; font-size: 1.4rem; margin: 2rem">
<h1>Takhti — تختی</h1>
<p>The server is running. The browser app has not been built in this copy:
run <code>make run</code> from the project folder.</p>
</body></html>
"""


def create_app(settings: Settings) -> web.Application:
    """Build the server application for ``settings`` (opened and closed with the app)."""
    app = web.Application(
        middlewares=[error_middleware, library_middleware], client_max_size=1024**2
    )
    app[SETTINGS] = settings
    store = open_store(settings.store_url, data_dir=settings.data_dir)
    # Built in dependency order, each given what it talks to: the hub sends what its classes
    # apply to the fan-out, which writes to the transport; the live server dispatches events.
    # Three hooks name objects made further down (``live``, ``presence``): they run only once the
    # app serves, long after this function returned.
    transport = Transport(
        events=EVENTS,
        max_message_bytes=settings.max_message_bytes,
        admit=lambda request: live.admit(request),
    )
    fanout = Fanout(
        transport,
        on_class_ended=lambda class_id: live.end_class_sessions(class_id),
        on_student_removed=lambda class_id, student: live.end_student_sessions(class_id, student),
    )
    hub = Hub(
        store,
        fanout.emit_event,
        on_resync=lambda class_id: presence.after_outage(class_id),
        idle_unload_s=settings.idle_unload_s,
    )
    services = Services(settings=settings, store=store, hub=hub)
    presence = PresenceLog(services, lambda class_id: live.students_here(class_id))
    live = LiveServer(services, transport, fanout, presence)  # the transport's handlers
    app[SERVICES] = services
    app[TRANSPORT] = transport
    app[LIVE] = live
    app[EXPORTS] = exports = ExportJobs(settings)
    transport.attach(app)
    add_routes(app)
    _add_static(app)

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        await services.open()
        services.library.open()
        yield
        await services.library.close()
        fanout.tallies.close()
        await presence.close()
        await services.close()

    app.cleanup_ctx.append(services_ctx)

    async def exports_ctx(app: web.Application) -> AsyncIterator[None]:
        await exports.open()
        yield
        await exports.close()

    app.cleanup_ctx.append(exports_ctx)
    return app


# Built file names carry a content hash (``console-H18jLDo-.js``): such a file never changes, so
# a tablet keeps it for a year and a reload costs one small index.html request. Everything else
# (index.html, sw.js) is revalidated with its ETag on every load.
HASHED_NAME = re.compile(r"^[A-Za-z0-9_.-]+-[A-Za-z0-9_-]{8}\.[a-z0-9]+$")
SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}$")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def _static_file(path: Path, cache: str, content_type: str | None = None) -> web.FileResponse:
    """A built file with its cache lifetime. ``FileResponse`` sends the ``.br`` or ``.gz``
    twin written at build time when the client accepts it (with ``Vary: Accept-Encoding``),
    an ETag, 304s and ranges."""
    headers = {"Cache-Control": cache}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return web.FileResponse(path, headers=headers)


def _html_page(path: Path) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A route answering the built page ``path`` (revalidated each load), or the fallback page
    when the web client is not built."""

    async def page(request: web.Request) -> web.StreamResponse:
        if path.exists():
            return _static_file(path, REVALIDATE, "text/html; charset=utf-8")
        return web.Response(text=FALLBACK_PAGE, content_type="text/html")

    return page


def _add_static(app: web.Application) -> None:
    assets = STATIC_DIR / "assets"
    page = _html_page(STATIC_DIR / "index.html")

    service_worker_file = STATIC_DIR / "sw.js"

    async def service_worker(request: web.Request) -> web.StreamResponse:
        # Served from the root so it may cache the whole app shell for offline repeat visits.
        if not service_worker_file.exists():
            raise web.HTTPNotFound()
        return _static_file(service_worker_file, REVALIDATE, "text/javascript")

    async def favicon(request: web.Request) -> web.StreamResponse:
        icon = STATIC_DIR / "favicon.svg"
        if not icon.exists():
            raise web.HTTPNotFound()
        return _static_file(icon, "public, max-age=86400", "image/svg+xml")

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if not SAFE_NAME.match(name) or name.endswith((".br", ".gz")):
            raise web.HTTPNotFound()
        path = assets / name
        if not path.is_file():
            raise web.HTTPNotFound()
        return _static_file(path, IMMUTABLE if HASHED_NAME.match(name) else REVALIDATE)

    app.router.add_get("/sw.js", service_worker)
    app.router.add_get("/favicon.svg", favicon)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/", page)
    app.router.add_get("/join/{code}", page)
    app.router.add_get("/teacher", page)
    app.router.add_get("/lessons", page)
    app.router.add_get("/lessons/{class_id}", page)
    app.router.add_get("/replay/{class_id}", page)
    # The library is its own small page (webclient/library.html), not the app's.
    library_index = STATIC_DIR / "library.html"
    library_page = _html_page(library_index)

    async def library_lesson(request: web.Request) -> web.StreamResponse:
        if library_index.exists():
            found = await library_http.lesson_page(request, library_index)
            if found is not None:
                return found
        return await library_page(request)

    app.router.add_get("/library", library_page)

    app.router.add_get("/library/{class_id}", library_lesson)
    app.router.add_get("/assets/{name}", asset)
