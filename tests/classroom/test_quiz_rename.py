"""Renaming a quiz over real sockets, on both stores: the title a teacher types (Urdu welcome)
replaces the file's, is logged, survives a reload and names the quiz in reports; bad titles
and students are refused with nothing changed; a retry is answered from the log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from testkit.client import Peer
from tests.classroom.test_quizzes_live import class_with, quiz_view, received, upload
from tests.conftest import Running

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
URDU_TITLE = "حساب: کسریں"


def titles(snapshot: dict[str, Any]) -> list[str]:
    return [q["title"] for q in snapshot["state"]["quizzes"]["quizzes"]]


async def test_teacher_renames_an_imported_quiz(running: Running, peers: list[Peer]) -> None:
    class_id, teacher, joined = await class_with(running, ["Ali"], peers)
    ali = joined[0][0]
    status, body = await upload(
        running, class_id, "quiz-ur.csv", (SAMPLES / "quiz-ur.csv").read_bytes()
    )
    assert status == 201
    quiz_id = body["quiz_id"]
    # The file name is only the default.
    assert quiz_view(await teacher.ok("class_snapshot"), quiz_id)["title"] == "quiz-ur"

    rename = {"quiz_id": quiz_id, "title": "  حساب:   کسریں ", "client_id": "rename-1"}
    ack = await teacher.ok("quiz_rename", rename)
    assert ack["duplicate"] is False
    await teacher.wait_until(lambda: bool(received(teacher, "quiz_renamed")))
    assert received(teacher, "quiz_renamed") == [{"quiz_id": quiz_id, "title": URDU_TITLE}]
    # A retry (the same key and payload) is answered from the log and appends nothing.
    again = await teacher.ok("quiz_rename", rename)
    assert again["seq"] == ack["seq"] and again["duplicate"] is True
    other = await teacher.call("quiz_rename", rename | {"title": "Other"})
    assert other["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    # The same title again changes nothing.
    same = await teacher.ok("quiz_rename", {"quiz_id": quiz_id, "title": URDU_TITLE})
    assert same.get("noop") is True

    # Students learn the title once the quiz starts, not before.
    assert received(ali, "quiz_renamed") == []
    await teacher.ok("quiz_start", {"quiz_id": quiz_id, "mode": "untimed"})
    await ali.wait_until(lambda: bool(received(ali, "quiz_started")))
    assert received(ali, "quiz_started")[0]["title"] == URDU_TITLE
    running_ack = await teacher.ok("quiz_rename", {"quiz_id": quiz_id, "title": "Fractions 2"})
    await ali.wait_until(lambda: bool(received(ali, "quiz_renamed")))
    assert received(ali, "quiz_renamed") == [{"quiz_id": quiz_id, "title": "Fractions 2"}]
    assert titles(await ali.ok("class_snapshot")) == ["Fractions 2"]

    # A reloaded console (a new connection) and the report, folded from the stored log.
    fresh = await running.teacher(class_id)
    peers.append(fresh)
    assert quiz_view(await fresh.ok("class_snapshot"), quiz_id)["title"] == "Fractions 2"
    status, report = await running.api.request(
        "GET",
        f"/api/classes/{class_id}/reports/quizzes/{quiz_id}.json",
        token=running.teacher_token,
    )
    assert status == 200 and report["title"] == "Fractions 2"
    assert running_ack["seq"] > ack["seq"]


@pytest.mark.parametrize(
    ("title", "code"),
    [
        ("   ", "INVALID_PAYLOAD"),  # empty once spaces are collapsed
        ("", "INVALID_PAYLOAD"),
        ("Quiz\x07bell", "INVALID_PAYLOAD"),
        ("Quiz\u202eevil", "INVALID_PAYLOAD"),  # a bidi override reorders what others see
        ("x" * 201, "INVALID_PAYLOAD"),
        (42, "INVALID_PAYLOAD"),
    ],
)
async def test_bad_titles_are_refused_and_change_nothing(
    running: Running, peers: list[Peer], title: Any, code: str
) -> None:
    class_id, teacher, _ = await class_with(running, [], peers)
    status, body = await upload(
        running, class_id, "quiz.json", (SAMPLES / "quiz.json").read_bytes()
    )
    assert status == 201
    quiz_id = body["quiz_id"]
    before = await teacher.ok("class_snapshot")
    ack = await teacher.call("quiz_rename", {"quiz_id": quiz_id, "title": title})
    assert ack["ok"] is False and ack["error"]["code"] == code
    assert ack["error"].get("field") == "title"
    after = await teacher.ok("class_snapshot")
    assert after["seq"] == before["seq"] and titles(after) == titles(before)


async def test_students_and_unknown_quizzes_are_refused(
    running: Running, peers: list[Peer]
) -> None:
    class_id, teacher, joined = await class_with(running, ["Ali"], peers)
    ali = joined[0][0]
    status, body = await upload(
        running, class_id, "quiz.json", (SAMPLES / "quiz.json").read_bytes()
    )
    assert status == 201
    quiz_id = body["quiz_id"]
    await teacher.ok("quiz_start", {"quiz_id": quiz_id})
    # Ali's presence is logged on its own: wait for it before reading the seq.
    await teacher.wait_until(lambda: any(n == "student_connected" for n, _ in teacher.events))
    before = await teacher.ok("class_snapshot")
    refused = await ali.call("quiz_rename", {"quiz_id": quiz_id, "title": "Mine now"})
    assert refused["error"]["code"] == "FORBIDDEN"
    missing = await teacher.call("quiz_rename", {"quiz_id": "q_nope", "title": "Nope"})
    assert missing["error"]["code"] == "NOT_FOUND"
    after = await teacher.ok("class_snapshot")
    assert after["seq"] == before["seq"] and titles(after) == titles(before)
