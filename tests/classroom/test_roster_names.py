"""Students' names over real sockets, on both stores (issue 15.7): two students with one name
are told apart everywhere the teacher sees names; the teacher renames a student (every client
hears it) or removes one (their socket is told why and closed, their token refused after)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from testkit.client import Peer
from testkit.procs import RedisServer, ServerProcess, add_teacher
from testkit.scenario import Classroom
from tests.conftest import Running

TWO_PROCS_PASSWORD = "two-procs-pass"
# Its own name: the session's Redis also holds test_multiprocess's teacher.
ROSTER_TEACHER = "rosterprocs"

QUIZ = {
    "title": "Maths",
    "questions": [
        {"type": "single", "question": "7 x 8?", "options": ["54", "56"], "correct": [1]},
        {"type": "true_false", "question": "2 is prime.", "correct": True},
    ],
}


async def report_names(running: Running, class_id: str, quiz_id: str) -> list[str]:
    """The students' names in the teacher's quiz report."""
    status, report = await running.api.request(
        "GET",
        f"/api/classes/{class_id}/reports/quizzes/{quiz_id}.json",
        token=running.teacher_token,
    )
    assert status == 200
    return [s["name"] for s in report["students"]]


def received(peer: Peer, event: str) -> list[dict[str, Any]]:
    return [data["data"] for name, data in peer.events if name == event and "data" in data]


async def settled(teacher: Peer, students: int) -> None:
    """Wait until the teacher has heard every student's device connect (presence is logged
    on its own, so a seq read before it would move without anything being applied)."""
    await teacher.wait_until(
        lambda: sum(name == "student_connected" for name, _ in teacher.events) >= students
    )


async def roster_names(teacher: Peer) -> dict[str, str]:
    ack = await teacher.ok("roster_get")
    return {s["student_id"]: s["name"] for s in ack["students"]}


async def quiz_round(
    teacher: Peer, answering: list[Peer], first: Peer, question: int, quiz_id: str
) -> dict[str, Any]:
    """Everyone in ``answering`` answers question ``question`` right; its leaderboard."""
    for peer in answering:
        await peer.ok(
            "quiz_answer",
            {"quiz_id": quiz_id, "question": question, "answer_id": f"a{question}", "option": 1}
            if question == 0
            else {"quiz_id": quiz_id, "question": question, "answer_id": "b", "option": 0},
        )
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    await first.wait_until(
        lambda: any(d["question"] == question for d in received(first, "quiz_leaderboard"))
    )
    return next(d for d in received(first, "quiz_leaderboard") if d["question"] == question)


async def test_students_with_one_name_are_told_apart(running: Running, peers: list[Peer]) -> None:
    cls = await running.new_class()
    class_id, code = str(cls["class_id"]), str(cls["join_code"])
    teacher = await running.teacher(class_id)
    peers.append(teacher)
    joined = []
    for typed in ("Ali", "ali", "علی", " علی ", "Ali"):
        peer, body = await running.student(code, typed)
        peers.append(peer)
        joined.append((peer, body))
    shown = [str(body["name"]) for _, body in joined]
    assert shown == ["Ali", "ali 2", "علی", "علی ۲", "Ali 3"]
    ids = [str(body["student_id"]) for _, body in joined]
    # The roster, the teacher's live events and each student's own view agree.
    assert await roster_names(teacher) == dict(zip(ids, shown, strict=True))
    await teacher.wait_until(lambda: len(received(teacher, "student_joined")) == 5)
    assert [d["name"] for d in received(teacher, "student_joined")] == shown
    me = await joined[3][0].ok("class_snapshot")
    assert me["you"]["name"] == "علی ۲"

    # The leaderboard and the report name them apart.
    made = await teacher.ok("quiz_create", {"quiz": QUIZ})
    quiz_id = made["quiz_id"]
    await teacher.ok("quiz_start", {"quiz_id": quiz_id, "mode": "untimed"})
    first = joined[0][0]
    await first.wait_until(lambda: bool(received(first, "quiz_question_opened")))
    board = await quiz_round(teacher, [joined[0][0], joined[2][0], joined[3][0]], first, 0, quiz_id)
    assert sorted(row["name"] for row in board["top"]) == ["Ali", "علی", "علی ۲"]
    assert sorted(await report_names(running, class_id, quiz_id)) == ["Ali", "علی", "علی ۲"]


async def test_names_that_only_look_the_same_are_told_apart(
    running: Running, peers: list[Peer]
) -> None:
    """A student cannot pass for another with a name that looks the same: an invisible joiner
    (ZWJ, ZWNJ) or Arabic presentation forms make no new name, the number tells them apart."""
    cls = await running.new_class()
    code = str(cls["join_code"])
    shown = []
    for typed in ("Ali", "A\u200dli", "علی", "ع\u200cلی", "\ufecb\ufee0\ufbfd"):
        peer, body = await running.student(code, typed)
        peers.append(peer)
        shown.append(str(body["name"]))
    assert shown == ["Ali", "A\u200dli 2", "علی", "ع\u200cلی ۲", "\ufecb\ufee0\ufbfd ۳"]


async def test_teacher_renames_a_student_and_every_client_hears(
    running: Running, peers: list[Peer]
) -> None:
    cls = await running.new_class()
    class_id, code = str(cls["class_id"]), str(cls["join_code"])
    teacher = await running.teacher(class_id)
    second_console = await running.teacher(class_id)
    peers += [teacher, second_console]
    ali, _ = await running.student(code, "Ali")
    ali2, ali2_body = await running.student(code, "Ali")
    sana, _ = await running.student(code, "Sana")
    peers += [ali, ali2, sana]
    ali2_id = str(ali2_body["student_id"])
    assert ali2_body["name"] == "Ali 2"
    made = await teacher.ok("quiz_create", {"quiz": QUIZ})
    quiz_id = made["quiz_id"]
    await teacher.ok("quiz_start", {"quiz_id": quiz_id, "mode": "untimed"})
    await ali2.wait_until(lambda: bool(received(ali2, "quiz_question_opened")))
    await quiz_round(teacher, [ali, ali2], ali, 0, quiz_id)

    rename = {"student_id": ali2_id, "name": "  علی   رضا ", "client_id": "rn-1"}
    ack = await teacher.ok("student_rename", rename)
    assert ack["duplicate"] is False
    for peer in (teacher, second_console, ali, ali2, sana):
        await peer.wait_until(lambda peer=peer: bool(received(peer, "student_renamed")))
        assert received(peer, "student_renamed") == [{"student_id": ali2_id, "name": "علی رضا"}]
    # A retry is answered from the log; the same key with another name is a conflict.
    again = await teacher.ok("student_rename", rename)
    assert again["seq"] == ack["seq"] and again["duplicate"] is True
    clash = await teacher.call("student_rename", rename | {"name": "Zed"})
    assert clash["error"]["code"] == "IDEMPOTENCY_CONFLICT"

    # The student sees their new name; the roster, the leaderboard and the report use it.
    assert (await ali2.ok("class_snapshot"))["you"]["name"] == "علی رضا"
    assert (await roster_names(second_console))[ali2_id] == "علی رضا"
    snapshot = await teacher.ok("class_snapshot")
    quiz = next(q for q in snapshot["state"]["quizzes"]["quizzes"] if q["quiz_id"] == quiz_id)
    assert {r["name"] for r in quiz["leaderboard"]["top"]} == {"Ali", "علی رضا"}
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    await ali.wait_until(lambda: len(received(ali, "quiz_question_opened")) == 2)
    board = await quiz_round(teacher, [ali2], ali, 1, quiz_id)
    assert {r["name"] for r in board["top"]} == {"Ali", "علی رضا"}
    assert set(await report_names(running, class_id, quiz_id)) == {"Ali", "علی رضا"}
    # Its old name is free again; a name another student has is not.
    taken = await teacher.call("student_rename", {"student_id": ali2_id, "name": "SANA"})
    assert taken["error"]["code"] == "NAME_TAKEN" and taken["error"]["field"] == "name"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("   ", "INVALID_PAYLOAD"),
        ("", "INVALID_PAYLOAD"),
        ("Ali\x00", "INVALID_PAYLOAD"),
        ("Ali\u202e", "INVALID_PAYLOAD"),
        ("x" * 41, "INVALID_PAYLOAD"),
        (["Ali"], "INVALID_PAYLOAD"),
    ],
)
async def test_bad_names_are_refused_and_change_nothing(
    running: Running, peers: list[Peer], name: Any, code: str
) -> None:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    ali, body = await running.student(str(cls["join_code"]), "Ali")
    peers += [teacher, ali]
    await settled(teacher, 1)
    before = await teacher.ok("class_snapshot")
    ack = await teacher.call("student_rename", {"student_id": body["student_id"], "name": name})
    assert ack["ok"] is False and ack["error"]["code"] == code
    after = await teacher.ok("class_snapshot")
    assert after["seq"] == before["seq"]
    assert await roster_names(teacher) == {body["student_id"]: "Ali"}


async def test_students_may_not_rename_or_remove(running: Running, peers: list[Peer]) -> None:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    ali, ali_body = await running.student(str(cls["join_code"]), "Ali")
    sana, sana_body = await running.student(str(cls["join_code"]), "Sana")
    peers += [teacher, ali, sana]
    await settled(teacher, 2)
    before = await teacher.ok("class_snapshot")
    for target in (ali_body, sana_body):
        sid = target["student_id"]
        renamed = await ali.call("student_rename", {"student_id": sid, "name": "Boss"})
        assert renamed["error"]["code"] == "FORBIDDEN"
        removed = await ali.call("student_remove", {"student_id": sid})
        assert removed["error"]["code"] == "FORBIDDEN"
    missing = await teacher.call("student_rename", {"student_id": "s_nobody", "name": "Zed"})
    assert missing["error"]["code"] == "NOT_FOUND"
    missing = await teacher.call("student_remove", {"student_id": "s_nobody"})
    assert missing["error"]["code"] == "NOT_FOUND"
    after = await teacher.ok("class_snapshot")
    assert after["seq"] == before["seq"]
    assert sorted((await roster_names(teacher)).values()) == ["Ali", "Sana"]


async def test_removing_a_student_closes_their_socket_and_refuses_their_token(
    running: Running, peers: list[Peer]
) -> None:
    cls = await running.new_class()
    class_id, code = str(cls["class_id"]), str(cls["join_code"])
    teacher = await running.teacher(class_id)
    sana, sana_joined = await running.student(code, "Sana")
    peers += [teacher, sana]
    # Joined with an Idempotency-Key, so a retry of the join names the same student.
    async with running.api.http.post(
        running.url + "/api/join",
        json={"join_code": code, "name": "Prankster"},
        headers={"Idempotency-Key": "join-prank-1"},
    ) as resp:
        assert resp.status == 201
        prank_body = await resp.json()
    prank = Peer("prank")
    await prank.connect(running.url, {"token": prank_body["token"]})
    peers.append(prank)
    prank_id = str(prank_body["student_id"])
    closed = asyncio.Event()
    prank.sio.on("disconnect", lambda *args: closed.set())
    made = await teacher.ok("quiz_create", {"quiz": QUIZ})
    quiz_id = made["quiz_id"]
    await teacher.ok("quiz_start", {"quiz_id": quiz_id, "mode": "untimed"})
    await prank.wait_until(lambda: bool(received(prank, "quiz_question_opened")))
    await prank.ok("hand_raise", {"raised": True})
    await quiz_round(teacher, [prank, sana], sana, 0, quiz_id)

    ack = await teacher.ok("student_remove", {"student_id": prank_id, "client_id": "rm-1"})
    # The student is told why, with a stable code, and the server closes the socket.
    await asyncio.wait_for(closed.wait(), 10)
    notices = [data for name, data in prank.events if name == "session_error"]
    assert notices and notices[-1]["code"] == "STUDENT_REMOVED"
    assert {"student_id": prank_id} in received(prank, "student_removed")
    await sana.wait_until(lambda: bool(received(sana, "student_removed")))
    # Out of the roster and its raised hand gone; a retry is answered from the log, another
    # remove changes nothing.
    assert prank_id not in await roster_names(teacher)
    snapshot = await teacher.ok("class_snapshot")
    assert prank_id not in snapshot["state"]["core"]["hands"]
    again = await teacher.ok("student_remove", {"student_id": prank_id, "client_id": "rm-1"})
    assert again["seq"] == ack["seq"] and again["duplicate"] is True
    twice = await teacher.ok("student_remove", {"student_id": prank_id})
    assert twice.get("noop") is True
    gone = await teacher.call("student_rename", {"student_id": prank_id, "name": "Back"})
    assert gone["error"]["code"] == "NOT_FOUND"

    # Their token no longer connects, and a retry of their join does not bring them back.
    back = Peer("back")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await back.connect(running.url, {"token": prank_body["token"]})
    assert back.connect_errors[-1]["data"]["code"] == "STUDENT_REMOVED"
    async with running.api.http.post(
        running.url + "/api/join",
        json={"join_code": code, "name": "Prankster"},
        headers={"Idempotency-Key": "join-prank-1"},
    ) as resp:
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "STUDENT_REMOVED"
    assert prank_id not in await roster_names(teacher)
    # Nor does it fetch the class's board over HTTP; a student still in the class does.
    page = f"/api/classes/{class_id}/pages/page-1.svg"
    status, body = await running.api.request("GET", page, token=prank_body["token"])
    assert status == 403 and body["error"]["code"] == "STUDENT_REMOVED"
    status, _ = await running.api.request("GET", page, token=str(sana_joined["token"]))
    assert status == 200

    # What they did stays in the log: their answer is in the report, their score on the board.
    assert set(await report_names(running, class_id, quiz_id)) == {"Prankster", "Sana"}
    assert received(teacher, "student_removed") == [{"student_id": prank_id}]


@pytest.fixture
def two_servers(
    tmp_path: Path, shared_store_url: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two ``classroom serve`` processes sharing one Redis (or Redis Cluster)."""
    add_teacher(shared_store_url, tmp_path, ROSTER_TEACHER, TWO_PROCS_PASSWORD)
    servers = (
        ServerProcess(shared_store_url, tmp_path / "a"),
        ServerProcess(shared_store_url, tmp_path / "b"),
    )
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


async def test_rename_and_removal_reach_students_on_another_process(
    two_servers: tuple[ServerProcess, ServerProcess], redis_server: RedisServer
) -> None:
    a, b = two_servers
    async with aiohttp.ClientSession() as http:
        room = await Classroom.create(http, a.url, ROSTER_TEACHER, TWO_PROCS_PASSWORD)
        teacher = await room.teacher(a.url)
        ali, _ = await room.student("Ali", b.url)
        other, other_joined = await room.student("Ali", b.url)
        assert other_joined["name"] == "Ali 2"
        try:
            other_id = str(other_joined["student_id"])
            await teacher.ok("student_rename", {"student_id": other_id, "name": "Bilal"})
            await other.wait_until(lambda: bool(received(other, "student_renamed")))
            assert (await other.ok("class_snapshot"))["you"]["name"] == "Bilal"
            # Removed through A, closed by B, refused by both after.
            await teacher.ok("student_remove", {"student_id": other_id})
            await other.wait_until(lambda: not other.sio.connected)
            assert [d["code"] for n, d in other.events if n == "session_error"] == [
                "STUDENT_REMOVED"
            ]
            for url in (a.url, b.url):
                back = Peer("back")
                with pytest.raises(socketio.exceptions.ConnectionError):
                    await back.connect(url, {"token": other_joined["token"]})
                assert back.connect_errors[-1]["data"]["code"] == "STUDENT_REMOVED"
            assert ali.sio.connected
        finally:
            for peer in (teacher, ali, other):
                await peer.disconnect()
