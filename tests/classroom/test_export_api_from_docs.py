"""An outside client of the export job routes, written from docs/openapi.json alone: it finds
the routes in the document, drives them over plain HTTP and checks every answer is one the
document lists, bad input included (an unknown format, a cancel with nothing running, path
traversal in a file name)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from tests.classroom.test_export_jobs import _stored_lesson
from tests.conftest import Running

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def _routes() -> dict[str, tuple[str, str, set[int]]]:
    """The export operations of the document: name -> (method, path template, statuses)."""
    paths = json.loads(DOC.read_text(encoding="utf-8"))["paths"]
    found: dict[str, tuple[str, str, set[int]]] = {}
    for template, operations in paths.items():
        if "/export" not in template or not template.startswith("/api/classes/{class_id}"):
            continue
        for method, operation in operations.items():
            tail = template.removeprefix("/api/classes/{class_id}/export")
            name = f"{method} {tail or '/'}"
            found[name] = (method.upper(), template, {int(s) for s in operation["responses"]})
    return found


class Client:
    def __init__(self, url: str, token: str, http: aiohttp.ClientSession) -> None:
        self.url, self.token, self.http = url, token, http
        self.routes = _routes()

    async def call(
        self, route: str, /, *, body: Any = None, raw_path: str | None = None, **values: str
    ) -> tuple[int, Any]:
        method, template, documented = self.routes[route]
        path = raw_path or template.format(**{k: quote(v, safe="") for k, v in values.items()})
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.http.request(method, self.url + path, json=body, headers=headers) as resp:
            answer: Any = await resp.json() if resp.content_type == "application/json" else (
                await resp.read()
            )  # fmt: skip
            assert resp.status in documented, (route, resp.status, answer)
            assert resp.status != 500
            if resp.status >= 400:
                assert isinstance(answer["error"]["code"], str), answer
            return resp.status, answer


async def test_an_outside_client_drives_the_export_routes_from_the_docs(
    running_sqlite: Running, tmp_path: Path
) -> None:
    routes = _routes()
    assert set(routes) == {"get /", "post /", "post /cancel", "get /files/{name}"}
    class_id = await _stored_lesson(running_sqlite, tmp_path, "c_outside")
    async with aiohttp.ClientSession() as http:
        client = Client(running_sqlite.url, running_sqlite.teacher_token, http)
        status, nothing = await client.call("get /", class_id=class_id)
        assert status == 200 and nothing["job"] is None

        # Bad input: a stable code, and no job left behind.
        for body in ({"formats": ["gif"]}, {"formats": []}, {"formats": "pdf"}, {"lang": "fr"}):
            status, refused = await client.call("post /", body=body, class_id=class_id)
            assert status == 400 and refused["error"]["code"] == "INVALID_PAYLOAD", body
        status, refused = await client.call("post /cancel", class_id=class_id)
        assert status == 404 and refused["error"]["code"] == "NOT_FOUND"
        status, nothing = await client.call("get /", class_id=class_id)
        assert status == 200 and nothing["job"] is None
        status, refused = await client.call(
            "post /", body={"formats": ["chapters"]}, class_id="c_no_such_lesson"
        )
        assert status == 404

        # A real export, polled as documented, then downloaded by the name it lists.
        status, started = await client.call(
            "post /", body={"formats": ["chapters"], "lang": "en"}, class_id=class_id
        )
        assert status == 202 and started["job"]["formats"] == ["chapters"]
        for _ in range(600):
            status, answer = await client.call("get /", class_id=class_id)
            if answer["job"]["state"] not in ("queued", "running"):
                break
            await asyncio.sleep(answer["poll_ms"] / 1000)
        assert answer["job"]["state"] == "done", answer
        status, vtt = await client.call("get /files/{name}", class_id=class_id, name="chapters.vtt")
        assert status == 200 and vtt.startswith(b"WEBVTT")
        status, finished = await client.call("post /cancel", class_id=class_id)
        assert status == 200 and finished["job"]["state"] == "done"  # answered as it is

        # Path traversal in the file name, encoded or not: nothing outside the job's files.
        base = f"/api/classes/{class_id}/export/files/"
        for name in ("../../takhti.sqlite3", "..%2F..%2Ftakhti.sqlite3", "job.json", "%2e%2e"):
            status, refused = await client.call("get /files/{name}", raw_path=base + name)
            assert status == 404 and refused["error"]["code"] == "NOT_FOUND", name
        status, refused = await client.call(
            "get /files/{name}", class_id=class_id, name="../job.json"
        )
        assert status == 404
