"""HTTP routes of the library: publishing, the public library API and the pull routes.

The public routes need no token: anyone on the school network may use them. Each answer
comes from the catalog's memory (``classroom/library_catalog.py``). Before any of their work,
:func:`library_middleware` limits every request for ``/library`` and ``/api/library`` per
address (:data:`LIBRARY_RATE`) and lets only :data:`WORKING` be worked on at once, with at most
:data:`WAITING` more in line (beyond, ``503 BUSY`` at once). An unpublished lesson, or an id
that never existed, is NOT_FOUND on every route. What they show of a lesson is its library
view (``classroom/library.py``). Ended lessons do not change, so answers carry an ETag (304 when
the client's copy is current) and byte ranges (206) for audio, video and the pull's files.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import gzip
import hashlib
import html
import json
import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from classroom import classes, handlers, library, library_travel, timeline
from classroom.boundary import limit_key, on_own_address
from classroom.errors import Busy, InvalidPayload, NotFound, RateLimited
from classroom.http import (
    Route,
    _address,
    _bounded_int,
    _http_session,
    _idempotency_key,
    _own_class,
    _parse,
    _services,
    replay_timing,
)
from classroom.keys import LIBRARY
from classroom.library_catalog import Entry
from classroom.log import Actor
from classroom.protocol.http import REPLAY_PAGE_DEFAULT, REPLAY_PAGE_MAX, PublishBody
from classroom.protocol.lessons import LessonPublish
from classroom.ratelimit import Gate, Rate, TokenBucket

# A page view is ~4 requests (list or info, first events page, an audio segment); a replay
# then asks for an audio segment every few seconds. 10/s with bursts of 60 lets a class of
# tablets behind one address browse, and makes one address flooding the route cheap to turn
# away (a refusal is a dict lookup).
LIBRARY_RATE = Rate(per_s=10, burst=60)
MAX_ADDRESSES = 10_000
# Library work at once, and in line for it: a cold lesson's first answer folds its log in a
# thread (hundreds of ms for a long one) while the loop also serves the live classes; what
# waits costs a future each. 100 closed-loop viewers (bench/library.py) fit in line.
WORKING = 4
WAITING = 128
LIST_DEFAULT = 50
LIST_MAX = 200
MAX_FILTER_CHARS = 60
KEPT_ANSWERS = 256
_SHA = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class LibraryHttp:
    """The library routes' memory: per-address buckets and answers already made."""

    buckets: OrderedDict[str, TokenBucket] = field(default_factory=OrderedDict)
    gate: Gate = field(default_factory=lambda: Gate(working=WORKING, waiting=WAITING))
    answers: OrderedDict[tuple[Any, ...], tuple[str, bytes, bytes]] = field(
        default_factory=OrderedDict
    )
    collected: tuple[Any, library_travel.Collected] | None = None
    collecting: asyncio.Lock = field(default_factory=asyncio.Lock)

    def take(self, key: str, now: float) -> float:
        bucket = self.buckets.pop(key, None) or TokenBucket(LIBRARY_RATE, now)
        self.buckets[key] = bucket
        while len(self.buckets) > MAX_ADDRESSES:
            self.buckets.popitem(last=False)
        return bucket.take(now)

    def remember(self, key: tuple[Any, ...], answer: tuple[str, bytes, bytes]) -> None:
        self.answers[key] = answer
        while len(self.answers) > KEPT_ANSWERS:
            self.answers.popitem(last=False)


def _state(request: web.Request) -> LibraryHttp:
    return request.app[LIBRARY]


def _is_library(path: str) -> bool:
    return path in ("/library", "/api/library") or path.startswith(("/library/", "/api/library/"))


@web.middleware
async def library_middleware(request: web.Request, handler: Route) -> web.StreamResponse:
    """The per-address limit and the gate of the public library (see module docstring).

    Runs before the route's handler, so a refusal costs a dict lookup. The server's own
    computer (127.0.0.1 or ::1, straight) is not counted per address, as for Engine.IO
    handshakes (``LiveServer.admit``), but waits at the gate like everyone.
    """
    if not _is_library(request.path):
        return await handler(request)
    state = _state(request)
    page = not request.path.startswith("/api/")
    if not on_own_address(request):
        wait = state.take(limit_key(_address(request)), time.monotonic())
        if wait > 0:
            if page:
                return _refusal_page(429, wait)
            raise RateLimited("too many library requests from this address", retry_after_s=wait)
    if not await state.gate.enter():
        if page:
            return _refusal_page(503, 1)
        raise Busy("the library is busy; try again in a moment")
    try:
        # The answer is made here; it is sent after the gate is left (a download over a
        # slow link holds no place).
        return await handler(request)
    finally:
        state.gate.leave()


_REFUSAL_PAGE = """<!doctype html>
<html lang="ur" dir="rtl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{wait}"><title>Takhti</title></head>
<body style="font: 1.3rem/1.8 sans-serif; margin: 2rem">
<p>لائبریری اس وقت مصروف ہے۔ یہ صفحہ چند سیکنڈ میں خود دوبارہ کھلے گا۔</p>
<p lang="en" dir="ltr">The library is busy right now. This page opens again by itself in a few
seconds.</p></body></html>
"""


def _refusal_page(status: int, wait: float) -> web.Response:
    """What a browser tab gets when a library page is refused (the API answers the JSON
    error): a few hundred bytes in both languages that try again by themselves."""
    seconds = max(1, math.ceil(wait))
    return web.Response(
        status=status,
        text=_REFUSAL_PAGE.replace("{wait}", str(seconds)),
        content_type="text/html",
        headers={"Retry-After": str(seconds), "Cache-Control": "no-store"},
    )


def _json_answer(body: dict[str, Any]) -> tuple[str, bytes, bytes]:
    return _answer(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


def _answer(raw: bytes) -> tuple[str, bytes, bytes]:
    """An answer made once and kept: its ETag, its bytes and their gzip."""
    etag = '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'
    return etag, raw, gzip.compress(raw, compresslevel=6, mtime=0)


def _send_answer(
    request: web.Request,
    answer: tuple[str, bytes, bytes],
    *,
    max_age: int = 0,
    content_type: str = "application/json",
    charset: str | None = None,
) -> web.Response:
    """An answer made once: gzip when the client takes it, 304 for a current copy."""
    etag, raw, packed = answer
    cache = f"public, max-age={max_age}" if max_age else "no-cache"
    headers = {"ETag": etag, "Cache-Control": cache, "Vary": "Accept-Encoding"}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = packed
    else:
        body = raw
    return web.Response(body=body, content_type=content_type, charset=charset, headers=headers)


def _ranges(request: web.Request, size: int) -> tuple[int, int] | None:
    """The one byte range asked for (``bytes=A-B``, ``bytes=A-``, ``bytes=-N``), or None for
    the whole file; (-1, -1) for a range outside the file (answered 416)."""
    raw = request.headers.get("Range")
    if raw is None:
        return None
    match = re.fullmatch(r"bytes=(\d{0,19})-(\d{0,19})", raw.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None  # several ranges or another unit: the whole file (RFC 9110 allows it)
    first, last = match.group(1), match.group(2)
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(size - 1, int(last)) if last else size - 1
    if start >= size or start > end:
        return -1, -1
    return start, end


def _send_bytes(
    request: web.Request, data: bytes, content_type: str, etag: str, *, filename: str = ""
) -> web.Response:
    """Immutable bytes: ETag and 304, byte ranges (206), cacheable for a year."""
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=31536000, immutable",
        "Accept-Ranges": "bytes",
    }
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    wanted = _ranges(request, len(data))
    if wanted is None:
        return web.Response(body=data, content_type=content_type, headers=headers)
    start, end = wanted
    if start < 0:
        headers["Content-Range"] = f"bytes */{len(data)}"
        return web.Response(status=416, headers=headers)
    headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
    return web.Response(
        body=data[start : end + 1], status=206, content_type=content_type, headers=headers
    )


def _send_file(request: web.Request, path: Path, etag: str, filename: str) -> web.FileResponse:
    # aiohttp's FileResponse answers Range (206/416) and If-None-Match itself, from the disk.
    return web.FileResponse(
        path,
        headers={
            "ETag": etag,
            "Cache-Control": "public, max-age=3600",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


def _filter_value(request: web.Request, name: str) -> str:
    raw = request.query.get(name, "")
    if len(raw) > MAX_FILTER_CHARS or any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise InvalidPayload(
            f"{name} is at most {MAX_FILTER_CHARS} characters, no control characters",
            field=name,
        )
    return raw.strip()


def _downloads(request: web.Request, class_id: str) -> list[dict[str, Any]]:
    data_dir = _services(request).settings.data_dir
    found = []
    for name, path in library_travel.exported_files(data_dir, class_id):
        ext = name.rsplit(".", 1)[1]
        url = f"/api/library/{class_id}/downloads/lesson.{ext}"
        found.append({"name": name, "url": url, "size": path.stat().st_size})
    return found


def _public(request: web.Request, entry: Entry) -> dict[str, Any]:
    return {**entry.summary, "downloads": _downloads(request, entry.class_id)}


# --- publishing (the teacher) ------------------------------------------------------------------


async def publish_lesson(request: web.Request) -> web.Response:
    """Put the lesson in the library or take it out (logs ``lesson_published``)."""
    claims, record = await _own_class(request)
    body = await _parse(request, PublishBody)
    payload = LessonPublish(
        published=body.published,
        client_id=_idempotency_key(request) or classes.new_id("publish"),
    )
    teacher = Actor("teacher", claims.subject, claims.subject)
    services = _services(request)
    session = _http_session(request, teacher, record.id)
    ack = await handlers.run(services, session, "lesson_publish", payload)
    state = await services.lesson_index.state(record.id)
    return web.json_response(
        {
            "ok": True,
            "seq": ack["seq"],
            "duplicate": ack["duplicate"],
            "noop": bool(ack.get("noop", False)),
            "published": state.published,
        }
    )


# --- the public library ------------------------------------------------------------------------


async def library_list(request: web.Request) -> web.Response:
    """Published lessons, newest first, filtered and searched (see ``classroom.library``)."""
    words = library.query_words(request.query.get("q", ""))
    subject = _filter_value(request, "subject")
    grade = _filter_value(request, "grade")
    language = request.query.get("lang", "")
    if language not in ("", "ur", "en", "other"):
        raise InvalidPayload("lang is one of ur, en, other", field="lang")
    limit = _bounded_int(request, "limit", LIST_DEFAULT, 1, LIST_MAX)
    filters = library.Filters(tuple(words), subject, grade, language)
    found = await _services(request).library.search(filters)
    body = {
        "ok": True,
        "lessons": [_public(request, e) for e in found[:limit]],
        "total": len(found),
    }
    return _send_answer(request, _json_answer(body))


async def _published(request: web.Request) -> Entry:
    return await _services(request).library.get(request.match_info["class_id"])


async def library_replay_info(request: web.Request) -> web.Response:
    """A published lesson's replay info (details, chapters, audio) as anyone may see it."""
    entry = await _published(request)
    return _send_answer(request, await _info_answer(request, entry), max_age=60)


async def _info_answer(request: web.Request, entry: Entry) -> tuple[str, bytes, bytes]:
    state = _state(request)
    downloads = _downloads(request, entry.class_id)
    key = ("info", entry.class_id, entry.seq, json.dumps(downloads))
    answer = state.answers.get(key)
    if answer is None:
        view = await _services(request).library.view(entry.class_id, entry.seq)
        line = await asyncio.to_thread(
            functools.partial(timeline.Timeline, checkpoint_every=len(view) + 1),
            view,
            class_id=entry.class_id,
        )
        start = line.start_ms or 0
        chapters, audio = replay_timing(
            line.chapters,
            (e.data for e in view if e.type == "audio_added"),
            start,
            assets=f"/api/library/{entry.class_id}/assets",
        )
        body = {
            "ok": True,
            "lesson": {**entry.summary, "downloads": downloads},
            "started_at": line.start_ms,
            "duration_ms": line.duration_ms,
            "head_seq": view[-1].seq if view else 0,
            "chapters": chapters,
            "audio": audio,
            "shared": False,
            "viewer": "library",
        }
        answer = _json_answer(body)
        state.remember(key, answer)
    return answer


async def library_replay_events(request: web.Request) -> web.Response:
    """A page of a published lesson's library view."""
    entry = await _published(request)
    after_seq = _bounded_int(request, "after_seq", 0, 0, 2**53)
    limit = _bounded_int(request, "limit", REPLAY_PAGE_DEFAULT, 1, REPLAY_PAGE_MAX)
    answer = await _events_answer(request, entry, after_seq, limit)
    return _send_answer(request, answer, max_age=3600)


async def _events_answer(
    request: web.Request, entry: Entry, after_seq: int, limit: int
) -> tuple[str, bytes, bytes]:
    state = _state(request)
    key = ("events", entry.class_id, entry.seq, after_seq, limit)
    answer = state.answers.get(key)
    if answer is None:
        view = await _services(request).library.view(entry.class_id, entry.seq)
        seqs = [e.seq for e in view]
        first = bisect.bisect_right(seqs, after_seq)
        page = view[first : first + limit]
        head = seqs[-1] if seqs else 0
        last = page[-1].seq if page else max(after_seq, head)
        body = {
            "ok": True,
            "events": [e.to_record() for e in page],
            "next_after_seq": last,
            "head_seq": head,
            "more": last < head,
        }
        answer = await asyncio.to_thread(_json_answer, body)
        state.remember(key, answer)
    return answer


# The events inside a lesson's page: enough for the first frame of most lessons, small enough
# not to hold the page back on a 64 kbit/s link (the replay asks for the rest itself).
BOOT_EVENTS = 60


async def lesson_page(request: web.Request, index: Path) -> web.Response | None:
    """``/library/{class_id}`` of a published lesson: the library's page (``library.html``:
    its one script and stylesheet, named in its head, load beside the rest of the page) with
    the lesson's replay info and first events inside it, and an ``<audio>`` of the first voice
    segment that loads nothing until play is pressed (``preload="none"``: the voice does not
    take the line from the code; it then streams by byte ranges). On a 64 kbit/s link that
    saves the round trips a page otherwise makes one after another before it can play. None
    (the plain page) for anything else: the page then shows its own "not found"."""
    try:
        entry = await _published(request)
    except NotFound:
        return None
    info = await _info_answer(request, entry)
    events = await _events_answer(request, entry, 0, BOOT_EVENTS)
    state = _state(request)
    key = ("page", entry.class_id, info[0], events[0], index.stat().st_mtime_ns)
    answer = state.answers.get(key)
    if answer is None:
        answer = await asyncio.to_thread(_lesson_page, index, entry.class_id, info[1], events[1])
        state.remember(key, answer)
    return _send_answer(request, answer, content_type="text/html", charset="utf-8")


def _lesson_page(
    index: Path, class_id: str, info: bytes, events: bytes
) -> tuple[str, bytes, bytes]:
    boot = b"".join(
        [b'{"class_id":', json.dumps(class_id).encode(), b',"info":', info, b',"events":',
         events, b"}"]
    )  # fmt: skip
    # Inside <script> nothing may read as a closing tag: "<" only occurs in JSON strings.
    boot = boot.replace(b"<", b"\\u003c")
    segments = json.loads(info)["audio"]
    audio = b""
    if segments:
        first = min(segments, key=lambda s: s["t_ms"])
        src = html.escape(first["url"], quote=True).encode()
        audio = b'<audio id="library-audio" preload="none" src="%s"></audio>' % src
    page = (
        index.read_bytes()
        .replace(
            b"</head>",
            b'<script type="application/json" id="library-boot">' + boot + b"</script></head>",
            1,
        )
        .replace(b"<body>", b"<body>" + audio, 1)
    )
    return _answer(page)


async def library_asset(request: web.Request) -> web.Response:
    """An asset the published lesson's replay loads; no other asset of the class."""
    entry = await _published(request)
    asset_id = request.match_info["asset_id"]
    if asset_id not in entry.assets:
        raise NotFound("no such asset in this lesson")
    found = await _services(request).store.get_asset(entry.class_id, asset_id)
    if found is None:
        raise NotFound("no such asset in this lesson")
    content_type, data = found
    etag = f'"{entry.class_id}-{asset_id}-{len(data)}"'
    return _send_bytes(request, data, content_type, etag)


async def library_download(request: web.Request) -> web.StreamResponse:
    """The lesson's exported offline package or MP4, where it was exported."""
    entry = await _published(request)
    name = f"lesson.{request.match_info['fmt']}"
    data_dir = _services(request).settings.data_dir
    for found, path in library_travel.exported_files(data_dir, entry.class_id):
        if found == name:
            st = path.stat()
            etag = f'"{entry.class_id}-{st.st_size}-{st.st_mtime_ns}"'
            return _send_file(request, path, etag, f"{entry.class_id}-{name}")
    raise NotFound(f"this lesson has no {name} yet")


async def _collected(request: web.Request) -> library_travel.Collected:
    services = _services(request)
    state = _state(request)
    entries = await services.library.entries()
    key = tuple(
        (e.class_id, e.seq, tuple((d["name"], d["size"]) for d in _downloads(request, e.class_id)))
        for e in entries
    )
    async with state.collecting:
        if state.collected is None or state.collected[0] != key:
            collected = await library_travel.collect(
                services.store, services.library, services.settings.data_dir
            )
            state.collected = (key, collected)
        return state.collected[1]


async def library_manifest(request: web.Request) -> web.Response:
    """The library's manifest, as ``classroom library pull`` fetches it."""
    collected = await _collected(request)
    body = {"ok": True, "manifest": collected.manifest.model_dump(mode="json")}
    return _send_answer(request, _json_answer(body))


async def library_file(request: web.Request) -> web.StreamResponse:
    """A manifest file by its SHA-256 (byte ranges, so an interrupted pull resumes)."""
    sha = request.match_info["sha256"]
    if not _SHA.match(sha):
        raise NotFound("no such file in the library")
    services = _services(request)
    collected = await _collected(request)
    source = collected.sources.get(sha)
    if source is None:
        raise NotFound("no such file in the library")
    loaded = await library_travel.load(services.store, services.library, source)
    if isinstance(loaded, Path):
        return _send_file(request, loaded, f'"{sha}"', sha)
    if hashlib.sha256(loaded).hexdigest() != sha:
        raise NotFound("this file has changed; fetch the manifest again")
    return _send_bytes(request, loaded, "application/octet-stream", f'"{sha}"')


def add_routes(app: web.Application) -> None:
    app[LIBRARY] = LibraryHttp()
    app.router.add_post("/api/classes/{class_id}/publish", publish_lesson)
    app.router.add_get("/api/library", library_list)
    app.router.add_get("/api/library/manifest", library_manifest)
    app.router.add_get("/api/library/files/{sha256}", library_file)
    app.router.add_get("/api/library/{class_id}/replay/info", library_replay_info)
    app.router.add_get("/api/library/{class_id}/replay/events", library_replay_events)
    app.router.add_get("/api/library/{class_id}/assets/{asset_id}", library_asset)
    app.router.add_get("/api/library/{class_id}/downloads/lesson.{fmt:html|mp4}", library_download)
