"""HTTP routes of the console's export jobs (declared in ``classroom/protocol/http.py``).

They only parse, call :class:`classroom.export_jobs.ExportJobs` and answer; the export itself
runs in a worker process.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from aiohttp import web

from classroom import export_jobs
from classroom.errors import Forbidden, NotFound
from classroom.export import FORMATS
from classroom.keys import EXPORTS
from classroom.protocol.http import ExportBody

POLL_MS = 1000


def _jobs(request: web.Request) -> export_jobs.ExportJobs:
    return request.app[EXPORTS]


async def _answer(
    request: web.Request, job: export_jobs.ExportJob | None, status: int = 200
) -> web.Response:
    files: list[dict[str, Any]] = []
    if job is not None and job.files:
        root = _jobs(request).root / job.class_id

        def sizes() -> list[tuple[str, int]]:
            found = []
            for name in job.files:
                path = root / name
                if path.is_file():
                    found.append((name, path.stat().st_size))
            return found

        base = f"/api/classes/{quote(job.class_id)}/export/files/"
        for name, size in await asyncio.to_thread(sizes):
            files.append(
                {
                    "name": name,
                    "url": base + quote(name),
                    "bytes": size,
                    "media_type": export_jobs.media_type(name),
                }
            )
    body = {
        "ok": True,
        "job": job.public() if job is not None else None,
        "files": files,
        "available": [f for f in FORMATS if export_jobs.format_available(f)],
        "poll_ms": POLL_MS,
    }
    return web.json_response(body, status=status)


async def get_export(request: web.Request) -> web.Response:
    from classroom.http import _own_class

    _, record = await _own_class(request)
    return await _answer(request, await _jobs(request).get(record.id))


async def start_export(request: web.Request) -> web.Response:
    from classroom.http import _own_class, _parse

    claims, record = await _own_class(request)
    body = await _parse(request, ExportBody)
    job = await _jobs(request).start(record.id, claims.subject, list(body.formats), body.lang)
    return await _answer(request, job, 202)


async def cancel_export(request: web.Request) -> web.Response:
    from classroom.http import _own_class

    _, record = await _own_class(request)
    return await _answer(request, await _jobs(request).cancel(record.id))


async def export_file(request: web.Request) -> web.StreamResponse:
    """A finished export's file: its media type, an ETag, byte ranges (aiohttp's FileResponse)."""
    from classroom.http import _class_token

    claims, record = await _class_token(request, request.match_info["class_id"])
    if claims.role != "teacher":
        raise Forbidden("only the class's teacher may download its exports")
    jobs = _jobs(request)
    job = await jobs.get(record.id)
    name = request.match_info["name"]
    if job is None:
        raise NotFound("this lesson has no export", field="name")
    path = await asyncio.to_thread(jobs.file, job, name)
    return web.FileResponse(
        path,
        headers={
            "Content-Type": export_jobs.media_type(name),
            "Cache-Control": "private, no-cache",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(path.name)}",
        },
    )


def add_routes(app: web.Application) -> None:
    base = "/api/classes/{class_id}/export"
    app.router.add_get(base, get_export)
    app.router.add_post(base, start_export)
    app.router.add_post(f"{base}/cancel", cancel_export)
    app.router.add_get(f"{base}/files/{{name:.+}}", export_file)
