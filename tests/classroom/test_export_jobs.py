"""Export jobs from the console, over real HTTP: start, progress, cancel, download; bad input;
the live class keeps working while an export fails; a restart leaves no job running."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from classroom.auth import hash_password
from classroom.classes import ClassRecord, TeacherRecord
from classroom.export_jobs import JOB_FILE
from classroom.keys import EXPORTS, SERVICES
from classroom.settings import Settings
from testkit.client import Api
from testkit.export_lesson import short_lesson
from testkit.long_lesson import store_lesson
from tests.classroom.export.vtt import parse as parse_vtt
from tests.conftest import Running, start_app


async def _teacher_name(running: Running) -> str:
    return running.services.signer.check(running.teacher_token).subject


async def _stored_lesson(running: Running, tmp_path: Path, class_id: str) -> str:
    lesson = short_lesson(4.0).source
    teacher = await _teacher_name(running)
    return await store_lesson(
        running.services.store,
        tmp_path / "takhti.sqlite3",
        list(lesson.events),
        dict(lesson.assets),
        teacher=teacher,
        class_id=class_id,
    )


async def _until_finished(api: Api, token: str, class_id: str) -> dict[str, Any]:
    """Poll as the console does (every ``poll_ms``) until the job is no longer queued/running."""
    seen: list[float] = []
    for _ in range(600):
        status, body = await api.request("GET", f"/api/classes/{class_id}/export", token=token)
        assert status == 200, body
        job = body["job"]
        seen.append(job["fraction"])
        if job["state"] not in ("queued", "running"):
            assert seen == sorted(seen)
            return dict(body)
        await asyncio.sleep(body["poll_ms"] / 1000)
    raise AssertionError(f"the export did not finish: {body}")


async def test_a_teacher_exports_chapters_and_downloads_them(
    running_sqlite: Running, tmp_path: Path
) -> None:
    api, token = running_sqlite.api, running_sqlite.teacher_token
    class_id = await _stored_lesson(running_sqlite, tmp_path, "c_jobs")
    base = f"/api/classes/{class_id}/export"
    status, never = await api.request("GET", base, token=token)
    assert status == 200 and never["job"] is None and "chapters" in never["available"]
    status, started = await api.request("POST", base, token=token, json={"formats": ["chapters"]})
    assert status == 202 and started["job"]["state"] in ("queued", "running")
    done = await _until_finished(api, token, class_id)
    assert done["job"]["state"] == "done" and done["job"]["fraction"] == 1.0
    assert done["job"]["files"] == ["chapters.vtt"]
    (listed,) = done["files"]
    assert listed["media_type"].startswith("text/vtt") and listed["bytes"] > 50
    on_disk = tmp_path / "exports" / class_id / "chapters.vtt"
    assert on_disk.stat().st_size == listed["bytes"]

    async with aiohttp.ClientSession() as http:
        url = running_sqlite.url + listed["url"]
        async with http.get(url, params={"token": token}) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/vtt")
            etag = resp.headers["ETag"]
            whole = await resp.read()
        assert parse_vtt(whole.decode()) and whole == on_disk.read_bytes()
        headers = {"Authorization": f"Bearer {token}", "Range": "bytes=0-5"}
        async with http.get(url, headers=headers) as resp:
            assert resp.status == 206 and await resp.read() == b"WEBVTT"
        headers = {"Authorization": f"Bearer {token}", "If-None-Match": etag}
        async with http.get(url, headers=headers) as resp:
            assert resp.status == 304
        for wrong in ("../../takhti.sqlite3", "job.json", "slides.pdf"):
            async with http.get(
                running_sqlite.url + f"{base}/files/{wrong}", params={"token": token}
            ) as resp:
                assert resp.status == 404, wrong
                assert (await resp.json())["error"]["code"] == "NOT_FOUND"


async def test_only_the_classs_teacher_may_export_or_download(
    running_sqlite: Running, tmp_path: Path
) -> None:
    api, token = running_sqlite.api, running_sqlite.teacher_token
    class_id = await _stored_lesson(running_sqlite, tmp_path, "c_own")
    await api.request("POST", f"/api/classes/{class_id}/export", token=token,
                      json={"formats": ["chapters"]})  # fmt: skip
    await _until_finished(api, token, class_id)
    store = running_sqlite.services.store
    await store.add_teacher(TeacherRecord("other-teacher", hash_password("other-pass-1"), 0))
    other = await api.login("other-teacher", "other-pass-1")
    cls = await running_sqlite.new_class()
    joined = await api.join(str(cls["join_code"]), "Ali")
    file_path = f"/api/classes/{class_id}/export/files/chapters.vtt"
    for who, expected in ((other, 403), (joined["token"], 403), (None, 401)):
        status, body = await api.request("GET", file_path, token=who)
        assert status == expected, body
        status, body = await api.request(
            "POST", f"/api/classes/{class_id}/export", token=who, json={"formats": ["pdf"]}
        )
        assert status == expected, body


async def test_bad_export_requests_are_refused_and_change_nothing(
    running_sqlite: Running, tmp_path: Path
) -> None:
    api, token = running_sqlite.api, running_sqlite.teacher_token
    class_id = await _stored_lesson(running_sqlite, tmp_path, "c_bad")
    base = f"/api/classes/{class_id}/export"
    for body in (
        {"formats": ["mp4"]},
        {"formats": []},
        {"formats": "chapters"},
        {"formats": ["chapters"], "lang": "fr"},
        {"formats": ["chapters"], "out": "/etc"},
        {"formats": ["chapters"] * 7},
    ):
        status, answer = await api.request("POST", base, token=token, json=body)
        assert status == 400 and answer["error"]["code"] == "INVALID_PAYLOAD", (body, answer)
    status, answer = await api.request(
        "POST", "/api/classes/c_nope/export", token=token, json={"formats": ["chapters"]}
    )
    assert status == 404 and answer["error"]["code"] == "NOT_FOUND"
    status, answer = await api.request("GET", base, token=token)
    assert answer["job"] is None
    assert not (tmp_path / "exports" / class_id).exists()


async def test_a_failing_export_leaves_the_live_class_working(running_unlimited: Running) -> None:
    running = running_unlimited
    api, token = running.api, running.teacher_token
    empty = await running.new_class()  # made and never used: nothing to export
    live = await running.new_class()
    teacher = await running.teacher(str(live["class_id"]))
    pupil, _ = await running.student(str(live["join_code"]))
    try:
        await teacher.ok("page_add", {"page_id": "page-2"})
        base = f"/api/classes/{empty['class_id']}/export"
        status, _started = await api.request("POST", base, token=token,
                                            json={"formats": ["chapters"]})  # fmt: skip
        assert status == 202
        switches = 0
        while True:
            ack = await teacher.ok("page_switch", {"page_id": f"page-{1 + switches % 2}"})
            switches += 1
            status, body = await api.request("GET", base, token=token)
            if body["job"]["state"] not in ("queued", "running"):
                break
        assert switches >= 1
        assert body["job"]["state"] == "failed"
        assert body["job"]["error"]["code"] == "NOTHING_TO_EXPORT", body
        assert body["files"] == []
        # Every switch made while the export ran reached the student.
        await pupil.wait_until(lambda: ack["seq"] in pupil.seqs())
    finally:
        await teacher.disconnect()
        await pupil.disconnect()


async def test_one_export_runs_at_a_time_and_a_queued_one_can_be_cancelled(
    running_sqlite: Running, tmp_path: Path
) -> None:
    api, token = running_sqlite.api, running_sqlite.teacher_token
    first = await _stored_lesson(running_sqlite, tmp_path, "c_first")
    second = await _stored_lesson(running_sqlite, tmp_path, "c_second")
    body = {"formats": ["chapters"]}
    _, _one = await api.request("POST", f"/api/classes/{first}/export", token=token, json=body)
    _, two = await api.request("POST", f"/api/classes/{second}/export", token=token, json=body)
    # The first one's worker process is still starting (a Python start-up takes far longer
    # than two local requests): the second waits its turn.
    assert two["job"]["state"] == "queued"
    status, again = await api.request(
        "POST", f"/api/classes/{second}/export", token=token, json=body
    )
    assert status == 409 and again["error"]["code"] == "CONFLICT"
    status, cancelled = await api.request(
        "POST", f"/api/classes/{second}/export/cancel", token=token
    )
    assert status == 200 and cancelled["job"]["state"] == "cancelled"
    assert (await _until_finished(api, token, first))["job"]["state"] == "done"
    _, after = await api.request("GET", f"/api/classes/{second}/export", token=token)
    assert after["job"]["state"] == "cancelled" and after["files"] == []
    assert not (tmp_path / "exports" / second / "chapters.vtt").exists()


async def test_a_restart_does_not_leave_a_job_running(tmp_path: Path) -> None:
    # A job.json a killed server left as running (its process is gone) and its staging folder.
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    folder = tmp_path / "exports" / "c_killed"
    (folder / ".export-dead.part").mkdir(parents=True)
    (folder / ".export-dead.part" / "half.vtt").write_text("WEBVTT\n\n")
    job = {
        "job_id": "j1", "class_id": "c_killed", "teacher": "amina", "formats": ["chapters"],
        "lang": "ur", "state": "running", "fraction": 0.4, "stage": "chapters",
        "owner": f"{socket.gethostname()}:{gone.stdout.strip()}:dead",
    }  # fmt: skip
    (folder / JOB_FILE).write_text(json.dumps(job))
    settings = Settings(host="127.0.0.1", port=0, store_url="sqlite:///", data_dir=tmp_path)
    runner, url = await start_app(settings)
    try:
        store = runner.app[SERVICES].store
        await store.add_teacher(TeacherRecord("amina", hash_password("amina-pass-1"), 0))
        await store.create_class(ClassRecord("c_killed", "amina", "Killed", "KIL123", 1))
        async with aiohttp.ClientSession() as http:
            api = Api(url, http)
            token = await api.login("amina", "amina-pass-1")
            status, body = await api.request("GET", "/api/classes/c_killed/export", token=token)
        assert status == 200
        assert body["job"]["state"] == "failed"
        assert body["job"]["error"]["code"] == "INTERRUPTED"
        assert not (folder / ".export-dead.part").exists()
        assert json.loads((folder / JOB_FILE).read_text())["state"] == "failed"
    finally:
        await runner.cleanup()


async def test_a_running_export_is_cancelled_and_leaves_no_files(
    running_sqlite: Running, tmp_path: Path
) -> None:
    api, token = running_sqlite.api, running_sqlite.teacher_token
    class_id = await _stored_lesson(running_sqlite, tmp_path, "c_cancel")
    base = f"/api/classes/{class_id}/export"
    status, _ = await api.request("POST", base, token=token, json={"formats": ["pdf", "web"]})
    assert status == 202
    for _ in range(600):  # until the worker reports progress past its start
        _, body = await api.request("GET", base, token=token)
        if body["job"]["state"] == "running" and body["job"]["fraction"] > 0:
            break
        assert body["job"]["state"] in ("queued", "running"), body
        await asyncio.sleep(0.05)
    # The export runs in a worker process, at lower priority than the server.
    child = running_sqlite.app[EXPORTS]._child
    assert child is not None and child.pid != os.getpid()
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, child.pid) >= min(19, own + 10)
    # Idle priority: only CPU time the live class does not want, its session's group included
    # (Linux shares the CPU between sessions before nice values count).
    assert os.sched_getscheduler(child.pid) == os.SCHED_IDLE
    group = Path(f"/proc/{child.pid}/autogroup")
    if group.exists():
        assert group.read_text().split()[-1] == "19"
    status, cancelling = await api.request("POST", f"{base}/cancel", token=token)
    assert status == 200 and cancelling["job"]["cancel_requested"]
    finished = await _until_finished(api, token, class_id)
    assert finished["job"]["state"] == "cancelled", finished
    assert finished["files"] == []
    folder = tmp_path / "exports" / class_id
    assert sorted(p.name for p in folder.iterdir()) == [JOB_FILE]
