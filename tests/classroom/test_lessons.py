"""Recorded lessons: details and trim points (HTTP and socket), the list, and bad input."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from classroom import auth, cli, lesson, lessons
from classroom.auth import hash_password
from classroom.classes import TeacherRecord
from classroom.errors import OutOfRange
from classroom.hub import Hub
from classroom.keys import SERVICES
from classroom.lesson_index import LessonIndex
from classroom.log import Actor, Event
from classroom.settings import Settings
from testkit.client import Api, Peer
from tests.conftest import Running, start_app

URDU = {
    "title": "کسور: جمع اور تفریق",
    "subject": "maths",
    "grade": "5",
    "languages": ["ur", "en"],
    "teacher_name": "مس عائشہ",
    "description": "ایک جیسے نسب نما والی کسریں۔\nFractions with the same denominator.",
}


async def _post_lesson(
    running: Running, class_id: str, body: dict[str, Any], *, key: str | None = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {running.teacher_token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    async with running.api.http.post(
        f"{running.url}/api/classes/{class_id}/lesson", json=body, headers=headers
    ) as resp:
        return resp.status, await resp.json()


async def _get_lesson(running: Running, class_id: str) -> dict[str, Any]:
    status, body = await running.api.request(
        "GET", f"/api/classes/{class_id}/lesson", token=running.teacher_token
    )
    assert status == 200, body
    lesson_json: dict[str, Any] = body["lesson"]
    return lesson_json


async def _a_lesson(running: Running) -> tuple[dict[str, Any], Peer]:
    """A class with some of everything the list counts: two pages, ink, then time passes."""
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    await teacher.ok("page_add", {"page_id": "page-2"})
    pen = {"tool": "pen", "color": "#1a1a1a", "width": 4}
    await teacher.ok("stroke_start", {"stroke_id": "k1", "page_id": "page-2", **pen})
    points = [[10, 20, 0.5, 0], [30, 40, 0.5, 16]]
    await teacher.ok("stroke_extend", {"stroke_id": "k1", "offset": 0, "points": points})
    await teacher.ok("stroke_end", {"stroke_id": "k1", "length": 2})
    return cls, teacher


async def test_teacher_sets_details_in_urdu_after_class_and_sees_them_listed(
    running: Running,
) -> None:
    cls, teacher = await _a_lesson(running)
    class_id = str(cls["class_id"])
    await teacher.ok("class_end", {"client_id": "end"})
    before = await _get_lesson(running, class_id)
    assert before["details_set"] is False and before["title"] == cls["title"]
    assert before["ended"] is True and before["duration_ms"] >= 0

    body = {**URDU, "trim_start_ms": 0, "trim_end_ms": before["duration_ms"]}
    status, saved = await _post_lesson(running, class_id, body)
    assert status == 200, saved
    assert saved["duplicate"] is False and saved["noop"] is False
    got = await _get_lesson(running, class_id)
    for name, value in URDU.items():
        assert got[name] == value, name
    assert got["trim_end_ms"] == before["duration_ms"] and got["details_set"] is True
    # The details are a log event: the teacher's socket saw it, in order.
    await teacher.wait_until(
        lambda: any(e["type"] == "lesson_details_updated" for e in teacher.log_events())
    )

    status, listed = await running.api.request("GET", "/api/lessons", token=running.teacher_token)
    assert status == 200
    (mine,) = [item for item in listed["lessons"] if item["class_id"] == class_id]
    assert mine["title"] == URDU["title"] and mine["teacher_name"] == URDU["teacher_name"]
    assert mine["chapters"] == {"pages": 2, "polls": 0, "quiz_questions": 0, "keyframes": 0}
    assert mine["has_audio"] is False
    assert mine["replay_url"] == f"/lessons/{class_id}"
    await teacher.disconnect()


async def test_the_same_details_twice_change_nothing_and_a_retry_is_answered_once(
    running: Running,
) -> None:
    cls, teacher = await _a_lesson(running)
    class_id = str(cls["class_id"])
    status, first = await _post_lesson(running, class_id, URDU, key="details-1")
    assert status == 200 and first["duplicate"] is False
    status, retry = await _post_lesson(running, class_id, URDU, key="details-1")
    assert status == 200 and retry["duplicate"] is True and retry["seq"] == first["seq"]
    status, other = await _post_lesson(running, class_id, {**URDU, "grade": "6"}, key="details-1")
    assert status == 409 and other["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    status, again = await _post_lesson(running, class_id, URDU)
    assert status == 200 and again["noop"] is True
    head = await running.services.store.head(class_id)
    assert head == first["seq"]  # one details event, whatever was retried
    await teacher.disconnect()


BAD_DETAILS: list[tuple[dict[str, Any], str, str]] = [
    ({"title": "کسور\x00"}, "INVALID_PAYLOAD", "title"),
    ({"title": "a\x1fb"}, "INVALID_PAYLOAD", "title"),  # str.split() takes U+001F for a space
    ({"subject": "maths\x07"}, "INVALID_PAYLOAD", "subject"),
    ({"grade": "5\u0085"}, "INVALID_PAYLOAD", "grade"),
    ({"teacher_name": "مس\u202eعائشہ"}, "INVALID_PAYLOAD", "teacher_name"),  # a bidi override
    ({"description": "line one\x1bline two"}, "INVALID_PAYLOAD", "description"),
    ({"title": "ب" * 81}, "INVALID_PAYLOAD", "title"),
    ({"teacher_name": "n" * 41}, "INVALID_PAYLOAD", "teacher_name"),
    ({"description": "ا" * 501}, "INVALID_PAYLOAD", "description"),
    ({"description": "\n".join(["x"] * 21)}, "INVALID_PAYLOAD", "description"),
    ({"languages": ["ur", "fr"]}, "INVALID_PAYLOAD", "languages.1"),
    ({"title": 5}, "INVALID_PAYLOAD", "title"),
    ({"colour": "red"}, "INVALID_PAYLOAD", "colour"),
    ({"trim_start_ms": -1}, "INVALID_PAYLOAD", "trim_start_ms"),
    ({"trim_end_ms": 10**9}, "OUT_OF_RANGE", "trim_end_ms"),
    ({"trim_start_ms": 10**9}, "OUT_OF_RANGE", "trim_start_ms"),
    ({"trim_start_ms": 0, "trim_end_ms": 0}, "INVALID_PAYLOAD", "trim_end_ms"),
]


async def test_bad_details_are_refused_with_a_code_and_change_nothing(running: Running) -> None:
    cls, teacher = await _a_lesson(running)
    class_id = str(cls["class_id"])
    status, _ = await _post_lesson(running, class_id, URDU)
    assert status == 200
    head = await running.services.store.head(class_id)
    for bad, code, field in BAD_DETAILS:
        status, body = await _post_lesson(running, class_id, {**URDU, **bad})
        assert status == 400, (bad, body)
        assert body["error"]["code"] == code, (bad, body)
        assert body["error"]["field"] == field, (bad, body)
    assert await running.services.store.head(class_id) == head
    got = await _get_lesson(running, class_id)
    assert {name: got[name] for name in URDU} == URDU
    # The same over the socket, and the class carries on.
    ack = await teacher.call("lesson_details_update", {**URDU, "title": "x\x00"})
    assert ack["ok"] is False and ack["error"]["code"] == "INVALID_PAYLOAD"
    ack = await teacher.call("lesson_details_update", {**URDU, "trim_end_ms": 10**9})
    assert ack["ok"] is False and ack["error"]["code"] == "OUT_OF_RANGE"
    await teacher.ok("page_switch", {"page_id": "page-1"})
    await teacher.disconnect()


async def test_another_teacher_and_students_cannot_see_or_set_a_lesson(running: Running) -> None:
    cls, teacher = await _a_lesson(running)
    class_id = str(cls["class_id"])
    other = f"someone-else-{time.monotonic_ns()}"
    await running.services.store.add_teacher(TeacherRecord(other, "scrypt$x", 0))
    stranger = running.services.signer.issue(auth.TokenClaims(role="teacher", subject=other))
    path = f"/api/classes/{class_id}/lesson"
    status, body = await running.api.request("GET", path, token=stranger)
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    status, body = await running.api.request("POST", path, token=stranger, json=URDU)
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    status, body = await running.api.request("GET", "/api/lessons", token=stranger)
    assert status == 200 and body["lessons"] == []
    status, body = await running.api.request(
        "GET", "/api/classes/c_nosuchclass/lesson", token=running.teacher_token
    )
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"
    joined = await running.api.join(str(cls["join_code"]), "Sara")
    status, body = await running.api.request("GET", "/api/lessons", token=joined["token"])
    assert status == 403
    student = Peer("Sara")
    await student.connect(running.url, {"token": joined["token"]})
    ack = await student.call("lesson_details_update", URDU)
    assert ack["ok"] is False and ack["error"]["code"] == "FORBIDDEN"
    assert (await _get_lesson(running, class_id))["details_set"] is False
    await student.disconnect()
    await teacher.disconnect()


async def test_lessons_are_listed_newest_first_a_page_at_a_time(running: Running) -> None:
    made = [await running.api.create_class(running.teacher_token, f"Class {n}") for n in range(3)]
    status, first = await running.api.request(
        "GET", "/api/lessons?limit=2", token=running.teacher_token
    )
    assert status == 200 and first["next"] is not None
    status, second = await running.api.request(
        "GET", f"/api/lessons?limit=2&before={first['next']}", token=running.teacher_token
    )
    assert status == 200 and second["next"] is None
    ids = [item["class_id"] for item in first["lessons"] + second["lessons"]]
    assert ids == [str(c["class_id"]) for c in reversed(made)]
    for query in ("limit=0", "limit=51", "limit=x", "before=nonsense"):
        status, body = await running.api.request(
            "GET", f"/api/lessons?{query}", token=running.teacher_token
        )
        assert status == 400 and body["error"]["code"] == "INVALID_PAYLOAD", query


async def test_details_survive_a_restart_and_show_the_school(tmp_path: Path) -> None:
    settings = Settings(
        host="127.0.0.1",
        port=0,
        store_url=f"sqlite://{tmp_path / 'takhti.sqlite3'}",
        data_dir=tmp_path,
        school="گورنمنٹ پرائمری اسکول، لاہور",
    )
    for round_ in range(2):
        runner, url = await start_app(settings)
        store = runner.app[SERVICES].store
        if round_ == 0:
            await store.add_teacher(TeacherRecord("ayesha", hash_password("a-long-secret"), 0))
        async with aiohttp.ClientSession() as http:
            api = Api(url, http)
            token = await api.login("ayesha", "a-long-secret")
            if round_ == 0:
                cls = await api.create_class(token, "5B")
                status, _ = await api.request(
                    "POST", f"/api/classes/{cls['class_id']}/lesson", token=token, json=URDU
                )
                assert status == 200
            status, listed = await api.request("GET", "/api/lessons", token=token)
        await runner.cleanup()
        (item,) = listed["lessons"]
        assert item["title"] == URDU["title"] and item["school"] == settings.school


def test_school_comes_from_the_environment_or_the_serve_flag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings.from_env({"TAKHTI_SCHOOL": "  Govt.  School  "}).school == "Govt. School"
    monkeypatch.setenv("TAKHTI_SCHOOL", "Govt. School")
    args = cli.build_parser().parse_args(["serve", "--school", "گورنمنٹ اسکول"])
    assert cli._settings(args).school == "گورنمنٹ اسکول"


def _event(seq: int, kind: str, ts: int, data: dict[str, Any] | None = None) -> Event:
    return Event("c_x", seq, kind, Actor("teacher", "t"), ts, data or {})


def test_the_span_runs_from_the_first_event_to_the_end_and_ignores_what_comes_after() -> None:
    state = lesson.ClassState("c_x")
    for event in [
        _event(1, "hand_raised", 1_000, {"student_id": "s_1"}),
        _event(2, "class_ended", 61_000),
        _event(3, "student_disconnected", 90_000, {"student_id": "s_1"}),
        _event(4, "lesson_details_updated", 95_000, {"title": "x"}),
    ]:
        lesson.apply(state, event)
    part: lessons.LessonState = state.part("lesson")
    assert lessons.duration_ms(part) == 60_000
    assert part.details == {"title": "x"}
    lessons.check_trim(part, 0, 60_000)
    with pytest.raises(OutOfRange):
        lessons.check_trim(part, 0, 60_001)


def test_the_console_offers_the_subjects_the_server_knows() -> None:
    source = (Path(__file__).parents[2] / "webclient/src/lessonfacts.ts").read_text()
    line = next(x for x in source.splitlines() if x.startswith("export const SUBJECTS"))
    assert tuple(re.findall(r'"([a-z_]+)"', line)) == lessons.SUBJECTS


async def _no_fan_out(runtime: object, event: Event) -> None:
    return None


async def test_the_list_counts_the_chapters_the_live_state_has(running: Running) -> None:
    cls, teacher = await _a_lesson(running)
    class_id = str(cls["class_id"])
    await teacher.ok("page_add", {"page_id": "page-3"})
    await teacher.ok("page_delete", {"page_id": "page-3"})
    created = await teacher.ok(
        "poll_create", {"kind": "multiple", "question": "کون سا؟", "options": ["الف", "ب"]}
    )
    await teacher.ok(
        "poll_create", {"kind": "multiple", "question": "Draft", "options": ["a", "b"]}
    )
    await teacher.ok("poll_open", {"poll_id": created["poll_id"]})
    quiz = {"title": "Maths", "questions": [
        {"type": "single", "question": "7 x 8?", "options": ["54", "56"], "correct": [1]},
        {"type": "true_false", "question": "2 is prime.", "correct": True},
        {"type": "true_false", "question": "9 is prime.", "correct": False},
    ]}  # fmt: skip
    ref = {"quiz_id": (await teacher.ok("quiz_create", {"quiz": quiz}))["quiz_id"]}
    await teacher.ok("quiz_start", ref)
    await teacher.ok("quiz_next", ref)  # closes question 1
    await teacher.ok("quiz_next", ref)  # opens question 2
    device = await running.api.device(running.teacher_token, class_id)
    board = Peer("board")
    await board.connect(running.url, {"token": device["token"]})
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (250, 250, 250)).save(out, format="PNG")
    image = {"image": out.getvalue(), "format": "png", "width": 32, "height": 32}
    await board.ok("camera_keyframe", {"keyframe_id": "kf1", "captured_at_ms": 1, **image})
    await teacher.ok("class_end", {"client_id": "end"})

    live = running.services.hub.loaded(class_id)
    assert live is not None
    want = {
        "pages": len(live.state.part("board").order),
        "polls": sum(1 for p in live.state.part("polls").polls.values() if p.status != "draft"),
        "quiz_questions": sum(len(q.runs) for q in live.state.part("quizzes").quizzes.values()),
        "keyframes": len(live.state.part("camera").keyframes),
    }
    assert want == {"pages": 2, "polls": 1, "quiz_questions": 2, "keyframes": 1}
    # Folded from the log alone (as for a class nobody has open), and from the live state.
    cold = LessonIndex(running.services.store, Hub(running.services.store, _no_fan_out))
    record = await running.services.store.get_class(class_id)
    assert record is not None
    from_log = lessons.lesson_summary(record, await cold.state(class_id), school="")
    assert from_log["chapters"] == want and from_log["ended"] is True
    status, listed = await running.api.request("GET", "/api/lessons", token=running.teacher_token)
    assert status == 200
    (item,) = [i for i in listed["lessons"] if i["class_id"] == class_id]
    assert item["chapters"] == want and item["duration_ms"] == from_log["duration_ms"]
    await board.disconnect()
    await teacher.disconnect()


async def test_a_teacher_may_type_any_subject_and_grade_in_urdu(running: Running) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    # Urdu with a zero-width non-joiner (U+200C), which Urdu typing uses, in every text field.
    own = {
        "title": "ناظرہ\u200cقرآن",
        "subject": "ناظرہ قرآن",
        "grade": "جماعت ہشتم",
        "teacher_name": "استاد\u200cجی",
        "description": "سورۃ الفاتحہ",
        "languages": ["ur", "other"],
    }
    status, saved = await _post_lesson(running, class_id, own)
    assert status == 200, saved
    assert {name: saved["lesson"][name] for name in own} == own
