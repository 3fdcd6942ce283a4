"""A recorded lesson's replay data over HTTP: who may read it, what each viewer sees, paging,
compression and caching, sharing, and bad parameters."""

from __future__ import annotations

import time
from typing import Any

from boardclient.audio import encode_opus
from classroom import auth
from classroom.classes import TeacherRecord
from classroom.protocol.http import ReplayEvents, ReplayInfo
from testkit.audio import beeps
from testkit.client import Peer
from tests.conftest import Running

PEN = {"tool": "pen", "color": "#1a1a1a", "width": 4}


async def _recorded(running: Running) -> tuple[dict[str, Any], Peer, Peer, dict[str, Any]]:
    """Ink on two pages and a poll a student voted in (the vote is the student's own)."""
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    teacher = await running.teacher(class_id)
    ali, joined = await running.student(str(cls["join_code"]), "Ali")
    await teacher.ok("stroke_start", {"stroke_id": "k1", "page_id": "page-1", **PEN})
    await teacher.ok("stroke_extend", {"stroke_id": "k1", "offset": 0, "points": [[1, 2, 0.5, 0]]})
    await teacher.ok("stroke_end", {"stroke_id": "k1", "length": 1})
    await teacher.ok("page_add", {"page_id": "page-2"})
    ack = await teacher.ok(
        "poll_create", {"kind": "single", "question": "2 + 2?", "options": ["3", "4"]}
    )
    poll_id = str(ack["poll_id"])
    await teacher.ok("poll_open", {"poll_id": poll_id})
    await ali.wait_until(lambda: any(n == "poll_opened" for n, _ in ali.events))
    await ali.ok("poll_vote", {"poll_id": poll_id, "vote_id": "v1", "option": 1})
    await teacher.ok("poll_close", {"poll_id": poll_id})
    await teacher.ok("poll_show_results", {"poll_id": poll_id})
    return cls, teacher, ali, joined


async def _voice(running: Running, class_id: str) -> None:
    """A second of the teacher's voice, captured 1.5 s ago."""
    fields = f"segment_id=v1&captured_at_ms={time.time_ns() // 1_000_000 - 1500}&duration_ms=1000"
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/audio?{fields}&container=ogg",
        token=running.teacher_token,
        data=encode_opus(beeps(1.0, [0.5])),
    )
    assert status == 201, body


async def _get(running: Running, path: str, token: str, **headers: str) -> tuple[int, Any, Any]:
    async with running.api.http.get(
        running.url + path, headers={"Authorization": f"Bearer {token}", **headers}
    ) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.read()
        return resp.status, body, resp.headers


async def _all_pages(running: Running, class_id: str, token: str, limit: int) -> list[Any]:
    events: list[Any] = []
    after = 0
    while True:
        path = f"/api/classes/{class_id}/replay/events?after_seq={after}&limit={limit}"
        status, body, _ = await _get(running, path, token)
        assert status == 200, body
        ReplayEvents.model_validate(body)
        events += body["events"]
        after = body["next_after_seq"]
        if not body["more"]:
            return events


async def _share(running: Running, class_id: str, shared: bool, key: str) -> tuple[int, Any]:
    async with running.api.http.post(
        f"{running.url}/api/classes/{class_id}/share",
        json={"shared": shared},
        headers={"Authorization": f"Bearer {running.teacher_token}", "Idempotency-Key": key},
    ) as resp:
        return resp.status, await resp.json()


async def test_the_teacher_replays_every_event_in_pages_gzipped_and_cached_once_ended(
    running: Running,
) -> None:
    cls, teacher, ali, _ = await _recorded(running)
    class_id = str(cls["class_id"])
    await teacher.ok("class_end", {"client_id": "end"})
    head = await running.services.store.head(class_id)
    events = await _all_pages(running, class_id, running.teacher_token, limit=3)
    # Nothing lost or doubled (the end's disconnects may log a few more after ``head``).
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert len(events) >= head
    assert all(e["ts"] > 0 for e in events)  # every event has its time, ink batches too
    types = {e["type"] for e in events}
    assert {"poll_created", "poll_voted", "stroke_extended"} <= types

    path = f"/api/classes/{class_id}/replay/events?limit=1000"
    status, _, headers = await _get(
        running, path, running.teacher_token, **{"Accept-Encoding": "gzip"}
    )
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    etag = headers["ETag"]
    assert "max-age" in headers["Cache-Control"]
    status, _, _ = await _get(running, path, running.teacher_token, **{"If-None-Match": etag})
    assert status == 304

    status, info, _ = await _get(
        running, f"/api/classes/{class_id}/replay/info", running.teacher_token
    )
    assert status == 200, info
    ReplayInfo.model_validate(info)
    assert info["viewer"] == "teacher" and info["shared"] is False
    assert info["head_seq"] == len(events) and info["duration_ms"] >= 0
    kinds = [c["kind"] for c in info["chapters"]]
    assert kinds.count("page") >= 2 and "poll" in kinds
    assert all(0 <= c["t_ms"] <= info["duration_ms"] for c in info["chapters"])
    await ali.disconnect()
    await teacher.disconnect()


async def test_students_replay_only_a_shared_lesson_and_see_the_class_view(
    running: Running,
) -> None:
    cls, teacher, ali, joined = await _recorded(running)
    class_id = str(cls["class_id"])
    token = str(joined["token"])
    for part in ("info", "events"):
        status, body, _ = await _get(running, f"/api/classes/{class_id}/replay/{part}", token)
        assert status == 403 and body["error"]["code"] == "FORBIDDEN", part

    status, first = await _share(running, class_id, True, "share-1")
    assert status == 200 and first["shared"] is True and first["duplicate"] is False
    status, retry = await _share(running, class_id, True, "share-1")
    assert retry["duplicate"] is True and retry["seq"] == first["seq"]
    await _voice(running, class_id)
    await teacher.ok("class_end", {"client_id": "end"})
    await running.api.request("POST", f"/api/classes/{class_id}/end", token=running.teacher_token)

    # After the end, while shared: the class's view (no drafts, nobody's own vote).
    status, info, _ = await _get(running, f"/api/classes/{class_id}/replay/info", token)
    assert status == 200 and info["viewer"] == "student" and info["shared"] is True
    events = await _all_pages(running, class_id, token, limit=1000)
    types = {e["type"] for e in events}
    assert "poll_created" not in types and "poll_voted" not in types
    assert {"poll_opened", "stroke_extended", "page_added"} <= types
    assert all("cid" not in e for e in events)
    # The voice plays for the student after the class ended (their token's class is over).
    (segment,) = info["audio"]
    status, data, headers = await _get(running, segment["url"], token)
    assert status == 200 and headers["Content-Type"] == "audio/ogg" and len(data) > 100
    teacher_events = await _all_pages(running, class_id, running.teacher_token, limit=1000)
    assert len(teacher_events) > len(events)

    status, stopped = await _share(running, class_id, False, "share-2")
    assert status == 200 and stopped["shared"] is False
    status, body, _ = await _get(running, f"/api/classes/{class_id}/replay/events", token)
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    status, body, _ = await _get(running, segment["url"], token)
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    await ali.disconnect()
    await teacher.disconnect()


async def test_a_student_the_teacher_removed_cannot_replay_the_shared_lesson(
    running: Running,
) -> None:
    """Removing a student ends their part in the class for good: after the end, while the
    lesson is shared with the class, they get STUDENT_REMOVED for its replay and voice, and
    the student who stayed still replays it."""
    cls, teacher, ali, ali_joined = await _recorded(running)
    class_id = str(cls["class_id"])
    sara, sara_joined = await running.student(str(cls["join_code"]), "Sara")
    await _voice(running, class_id)
    await teacher.ok("student_remove", {"student_id": str(sara_joined["student_id"])})
    status, _ = await _share(running, class_id, True, "share-1")
    assert status == 200
    await teacher.ok("class_end", {"client_id": "end"})
    await running.api.request("POST", f"/api/classes/{class_id}/end", token=running.teacher_token)

    status, info, _ = await _get(
        running, f"/api/classes/{class_id}/replay/info", str(ali_joined["token"])
    )
    assert status == 200 and info["shared"] is True
    segment = info["audio"][0]["url"]
    removed = str(sara_joined["token"])
    for path in (
        f"/api/classes/{class_id}/replay/info",
        f"/api/classes/{class_id}/replay/events",
        segment,
    ):
        status, body, _ = await _get(running, path, removed)
        assert status == 403 and body["error"]["code"] == "STUDENT_REMOVED", (path, body)
    status, data, _ = await _get(running, segment, str(ali_joined["token"]))
    assert status == 200 and len(data) > 100
    await ali.disconnect()
    await sara.disconnect()
    await teacher.disconnect()


async def test_other_classes_students_other_teachers_and_bad_params_are_refused(
    running: Running,
) -> None:
    cls, teacher, ali, _ = await _recorded(running)
    class_id = str(cls["class_id"])
    status, _ = await _share(running, class_id, True, "share-1")
    assert status == 200
    other_class = await running.new_class()
    sara = await running.api.join(str(other_class["join_code"]), "Sara")
    stranger_name = f"someone-else-{time.monotonic_ns()}"
    await running.services.store.add_teacher(TeacherRecord(stranger_name, "scrypt$x", 0))
    stranger = running.services.signer.issue(
        auth.TokenClaims(role="teacher", subject=stranger_name)
    )
    for token in (str(sara["token"]), stranger):
        for part in ("info", "events"):
            status, body, _h = await _get(running, f"/api/classes/{class_id}/replay/{part}", token)
            assert status == 403 and body["error"]["code"] == "FORBIDDEN", (part, body)
    status, body = await running.api.request(
        "POST", f"/api/classes/{class_id}/share", token=stranger, json={"shared": False}
    )
    assert status == 403

    base = f"/api/classes/{class_id}/replay/events"
    for query in ("?limit=0", "?limit=99999", "?after_seq=-1", "?after_seq=x", "?limit=1.5"):
        status, body, _h = await _get(running, base + query, running.teacher_token)
        assert status == 400 and body["error"]["code"] == "INVALID_PAYLOAD", query
        assert body["error"]["field"] in ("limit", "after_seq")
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/share",
        token=running.teacher_token,
        json={"shared": "yes"},
    )
    assert status == 400 and body["error"]["code"] == "INVALID_PAYLOAD"
    status, body, _h = await _get(
        running, "/api/classes/c_nosuch/replay/info", running.teacher_token
    )
    assert status == 404
    status, body, _h = await _get(running, f"{base}", "not-a-token")
    assert status == 401
    # Still shared: the refusals changed nothing.
    assert (await running.services.lesson_index.state(class_id)).shared is True
    await ali.disconnect()
    await teacher.disconnect()
