"""Every entry of the aiohttp application, declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from classroom.export_jobs import ExportJobs
    from classroom.library_http import LibraryHttp
    from classroom.live import LiveServer
    from classroom.services import Services
    from classroom.settings import Settings
    from classroom.transport import Transport

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
SERVICES: web.AppKey[Services] = web.AppKey("services")
# The Socket.IO side, for HTTP routes that end live connections (sign out everywhere).
LIVE: web.AppKey[LiveServer] = web.AppKey("live")
TRANSPORT: web.AppKey[Transport] = web.AppKey("transport")
# The library routes' per-address limits and answers made (classroom/library_http.py).
LIBRARY: web.AppKey[LibraryHttp] = web.AppKey("library")
# The console's export queue (classroom.export_jobs).
EXPORTS: web.AppKey[ExportJobs] = web.AppKey("exports")
