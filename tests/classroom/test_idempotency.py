"""Retries, pipelined ink and HTTP writes, as an outside client relies on them (real sockets).

Every write is keyed by its declared idempotency key: a retry, whenever it comes and over
whichever connection, is answered with the stored first result; a retry with another payload is
refused; ink batches may be sent without waiting for each ack.
"""

from __future__ import annotations

import asyncio
import json
import time
import typing
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from classroom.auth import hash_password
from classroom.classes import TeacherRecord
from classroom.keys import SERVICES
from classroom.protocol import EVENTS
from classroom.settings import Settings
from testkit.client import Api, Peer
from testkit.scenario import read_whole_log
from tests.conftest import PASSWORD, TEACHER, Running, start_app

PAGE = "page-1"


def _pt(i: int) -> list[float]:
    return [100.0 + i, 200.0 + (i % 7), 0.5, float(i * 8)]


def test_every_write_declares_how_its_idempotency_key_is_made() -> None:
    for name, spec in EVENTS.items():
        if not spec.writes:
            assert spec.idempotency is None, name
            continue
        assert spec.idempotency, f"{name} is a write without an idempotency key"
        fields = spec.payload.model_fields
        for field in spec.key_fields:
            assert field in fields, (name, field)
            assert fields[field].is_required(), f"{name}: key field {field} must be required"
        # The declared example makes a key, and two examples with other ids make other keys.
        example = spec.payload.model_validate(spec.example)
        assert spec.idempotency_key(example)


async def _board_setup(running: Running) -> tuple[Peer, Peer, str, dict[str, Any]]:
    created = await running.new_class()
    class_id = str(created["class_id"])
    teacher = await running.teacher(class_id)
    other_socket = await running.teacher(class_id, name="teacher-2")
    return teacher, other_socket, class_id, created


async def test_a_retry_returns_the_stored_result_not_the_newest_seq(running: Running) -> None:
    teacher, other_socket, _, created = await _board_setup(running)
    student, _ = await running.student(str(created["join_code"]))
    poll = {"client_id": "poll-a", "kind": "yes_no", "question": "Ready?"}
    first = await teacher.ok("poll_create", poll)
    stroke = {
        "stroke_id": "k1",
        "page_id": PAGE,
        "tool": "pen",
        "color": "#112233",
        "width": 3,
        "points": [_pt(0)],
    }
    started = await teacher.ok("stroke_start", stroke)
    # Later events, so the class's newest seq moves on.
    await teacher.ok("poll_create", {**poll, "client_id": "poll-b", "question": "Again?"})
    await teacher.ok("stroke_extend", {"stroke_id": "k1", "offset": 1, "points": [_pt(1)]})
    await student.ok("hand_raise", {"raised": True, "client_id": "h1"})
    head = (await teacher.ok("class_snapshot"))["seq"]

    for peer in (teacher, other_socket):
        again = await peer.ok("poll_create", poll)
        assert again == {**first, "duplicate": True}
        assert again["seq"] < head
        restarted = await peer.ok("stroke_start", stroke)
        assert restarted == {**started, "duplicate": True}
    # The hand was raised once, whatever the student retries.
    raised_again = await student.ok("hand_raise", {"raised": True, "client_id": "h1"})
    assert raised_again["duplicate"] is True and raised_again["seq"] < head + 1

    events = await read_whole_log(teacher)
    assert [e["data"]["question"] for e in events if e["type"] == "poll_created"] == [
        "Ready?",
        "Again?",
    ]
    assert sum(1 for e in events if e["type"] == "stroke_started") == 1
    assert sum(1 for e in events if e["type"] == "hand_raised") == 1
    # The stored digest stays in the log and never goes on the wire.
    assert all("ph" not in e for e in events)


async def test_a_retry_with_another_payload_is_refused(running: Running) -> None:
    teacher, _, _, _ = await _board_setup(running)
    await teacher.ok(
        "stroke_start",
        {
            "stroke_id": "k1",
            "page_id": PAGE,
            "tool": "pen",
            "color": "#112233",
            "width": 3,
            "points": [_pt(0), _pt(1)],
        },
    )
    ended = await teacher.ok("stroke_end", {"stroke_id": "k1", "length": 2})
    again = await teacher.ok("stroke_end", {"stroke_id": "k1", "length": 2})
    assert again == {**ended, "duplicate": True}
    other = await teacher.call("stroke_end", {"stroke_id": "k1", "length": 5})
    assert other["ok"] is False
    assert other["error"]["code"] == "IDEMPOTENCY_CONFLICT"

    poll = {"client_id": "poll-a", "kind": "yes_no", "question": "Ready?"}
    await teacher.ok("poll_create", poll)
    reused = await teacher.call("poll_create", {**poll, "question": "Something else?"})
    assert reused["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    events = await read_whole_log(teacher)
    assert [e["data"]["question"] for e in events if e["type"] == "poll_created"] == ["Ready?"]
    assert sum(1 for e in events if e["type"] == "stroke_ended") == 1


async def test_a_lost_ack_resent_creates_one_poll_and_one_quiz(running: Running) -> None:
    teacher, _, _, _ = await _board_setup(running)
    poll = {"client_id": "poll-lost", "kind": "yes_no", "question": "Lost?"}
    quiz = {
        "client_id": "quiz-lost",
        "quiz": {
            "title": "Maths",
            "questions": [
                {"type": "single", "question": "7 x 8?", "options": ["54", "56"], "correct": [1]}
            ],
        },
    }
    lost: list[Any] = []
    # Sent, but the answer is thrown away (the tablet dropped off the Wi-Fi before it arrived).
    await teacher.sio.emit("poll_create", poll, callback=lambda *a: lost.append(a))
    await teacher.sio.emit("quiz_create", quiz, callback=lambda *a: lost.append(a))
    resent_poll = await teacher.ok("poll_create", poll)
    resent_quiz = await teacher.ok("quiz_create", quiz)
    await teacher.wait_until(lambda: len(lost) == 2)
    first_poll, first_quiz = lost[0][0], lost[1][0]
    assert resent_poll["poll_id"] == first_poll["poll_id"]
    assert resent_quiz["quiz_id"] == first_quiz["quiz_id"]
    assert resent_quiz["questions"] == 1
    assert {first_poll["duplicate"], resent_poll["duplicate"]} == {False, True}
    events = await read_whole_log(teacher)
    assert sum(1 for e in events if e["type"] == "poll_created") == 1
    assert sum(1 for e in events if e["type"] == "quiz_created") == 1


async def test_quiz_pacing_retried_after_later_steps_is_not_applied_again(
    running: Running,
) -> None:
    teacher, _, _, _ = await _board_setup(running)
    quiz = {
        "client_id": "q-1",
        "quiz": {
            "title": "Two",
            "questions": [
                {"type": "true_false", "question": "Sky is blue", "correct": True},
                {"type": "true_false", "question": "Fire is cold", "correct": False},
            ],
        },
    }
    quiz_id = (await teacher.ok("quiz_create", quiz))["quiz_id"]
    await teacher.ok("quiz_start", {"quiz_id": quiz_id, "mode": "untimed", "client_id": "st"})
    closed = await teacher.ok("quiz_next", {"quiz_id": quiz_id, "client_id": "n1"})
    await teacher.ok("quiz_next", {"quiz_id": quiz_id, "client_id": "n2"})
    # A retry of the first "next" arrives late: it must not close question 2.
    again = await teacher.ok("quiz_next", {"quiz_id": quiz_id, "client_id": "n1"})
    assert again == {**closed, "duplicate": True}
    events = await read_whole_log(teacher)
    assert [e["data"]["question"] for e in events if e["type"] == "quiz_question_closed"] == [0]


async def _pipelined(peer: Peer, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Send every message at once, in order, without waiting for any ack; then collect them."""
    loop = asyncio.get_running_loop()
    answers: list[asyncio.Future[dict[str, Any]]] = []
    for name, payload in calls:
        answer: asyncio.Future[dict[str, Any]] = loop.create_future()
        answers.append(answer)
        await peer.sio.emit(
            name,
            payload,
            callback=lambda ack, f=answer: f.done() or f.set_result(typing.cast(dict, ack)),
        )
    return list(await asyncio.wait_for(asyncio.gather(*answers), 20))


async def test_ink_can_be_pipelined_and_a_gap_is_a_real_gap(running: Running) -> None:
    teacher, _, _, created = await _board_setup(running)
    student, _ = await running.student(str(created["join_code"]))
    calls: list[tuple[str, dict[str, Any]]] = [
        (
            "stroke_start",
            {
                "stroke_id": "k1",
                "page_id": PAGE,
                "tool": "pen",
                "color": "#112233",
                "width": 3,
                "points": [_pt(0), _pt(1)],
            },
        )
    ]
    offset = 2
    for _ in range(30):
        calls.append(
            (
                "stroke_extend",
                {"stroke_id": "k1", "offset": offset, "points": [_pt(offset), _pt(offset + 1)]},
            )
        )
        offset += 2
    calls.append(("stroke_end", {"stroke_id": "k1", "length": offset}))
    acks = await _pipelined(teacher, calls)
    assert all(ack["ok"] for ack in acks), [a for a in acks if not a["ok"]][:3]
    seqs = [ack["seq"] for ack in acks]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    # The student received every point, in order.
    def points_seen() -> int:
        return sum(
            len(d["data"]["pts"]) // 4
            for _, d in student.events
            if _ in ("stroke_started", "stroke_extended")
        )

    await student.wait_until(lambda: points_seen() == offset)
    # A batch that skips points is a real gap: refused with the offset the server has.
    await teacher.ok(
        "stroke_start",
        {"stroke_id": "k2", "page_id": PAGE, "tool": "pen", "color": "#112233", "width": 3},
    )
    gap = await _pipelined(
        teacher,
        [
            ("stroke_extend", {"stroke_id": "k2", "offset": 0, "points": [_pt(0)]}),
            ("stroke_extend", {"stroke_id": "k2", "offset": 2, "points": [_pt(2)]}),
        ],
    )
    assert gap[0]["ok"] is True
    assert gap[1]["error"]["code"] == "GAP" and gap[1]["error"]["expected_offset"] == 1


async def test_a_resend_that_merges_batches_adds_only_the_new_points(running: Running) -> None:
    teacher, _, _, _ = await _board_setup(running)
    await teacher.ok(
        "stroke_start",
        {"stroke_id": "k1", "page_id": PAGE, "tool": "pen", "color": "#112233", "width": 3},
    )
    await teacher.ok("stroke_extend", {"stroke_id": "k1", "offset": 0, "points": [_pt(0), _pt(1)]})
    # The ack of this one was lost; the client resends from offset 0 with the points drawn since.
    merged = await teacher.ok(
        "stroke_extend", {"stroke_id": "k1", "offset": 0, "points": [_pt(i) for i in range(5)]}
    )
    assert merged["duplicate"] is False
    await teacher.ok("stroke_end", {"stroke_id": "k1", "length": 5})
    board = (await teacher.ok("class_snapshot"))["state"]["board"]
    [stroke] = [i for p in board["pages"] for i in p["items"] if i["id"] == "k1"]
    assert len(stroke["pts"]) == 5 * 4


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_http_writes_with_an_idempotency_key_apply_once(running: Running) -> None:
    api = running.api
    key = {"Idempotency-Key": "new-class-1"}
    status1, first = await _post(running, "/api/classes", {"title": "Class 6"}, key)
    status2, second = await _post(running, "/api/classes", {"title": "Class 6"}, key)
    assert (status1, status2) == (201, 200)
    assert first["class_id"] == second["class_id"]
    status3, other = await _post(running, "/api/classes", {"title": "Class 7"}, key)
    assert status3 == 409 and other["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    class_id, code = first["class_id"], first["join_code"]

    join = {"join_code": code, "name": "Zara"}
    _, a = await api_post(api, "/api/join", join, {"Idempotency-Key": "tablet-7"})
    _, b = await api_post(api, "/api/join", join, {"Idempotency-Key": "tablet-7"})
    assert a["student_id"] == b["student_id"]

    device = {"name": "Camera"}
    _, d1 = await _post(
        running, f"/api/classes/{class_id}/devices", device, {"Idempotency-Key": "cam"}
    )
    _, d2 = await _post(
        running, f"/api/classes/{class_id}/devices", device, {"Idempotency-Key": "cam"}
    )
    assert d1["device_id"] == d2["device_id"]

    quiz = json.dumps(
        {
            "title": "Maths",
            "questions": [
                {"type": "single", "question": "7 x 8?", "options": ["54", "56"], "correct": "B"}
            ],
        }
    ).encode()
    path = f"/api/classes/{class_id}/quizzes?filename=q.json"
    qkey = {"Idempotency-Key": "import-1"}
    s1, q1 = await _post(running, path, quiz, qkey)
    s2, q2 = await _post(running, path, quiz, qkey)
    assert (s1, s2) == (201, 200) and q1["quiz_id"] == q2["quiz_id"]
    # Read-your-writes over HTTP: the imported quiz is in the live state at once.
    teacher = await running.teacher(class_id)
    await teacher.ok("quiz_start", {"quiz_id": q1["quiz_id"], "mode": "untimed"})

    end = f"/api/classes/{class_id}/end"
    e1, _ = await _post(running, end, {}, {"Idempotency-Key": "end-1"})
    e2, _ = await _post(running, end, {}, {"Idempotency-Key": "end-1"})
    assert (e1, e2) == (200, 200)
    events = await read_whole_log(teacher)
    counts = {
        t: sum(1 for e in events if e["type"] == t)
        for t in ("student_joined", "quiz_created", "class_ended")
    }
    assert counts == {"student_joined": 1, "quiz_created": 1, "class_ended": 1}
    bad = await _post(running, "/api/classes", {"title": "x"}, {"Idempotency-Key": "no spaces!"})
    assert bad[0] == 400


async def _post(running: Running, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    headers = {**headers, "Authorization": f"Bearer {running.teacher_token}"}
    return await api_post(running.api, path, body, headers)


async def api_post(api: Any, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
    async with api.http.post(api.base_url + path, headers=headers, **kwargs) as resp:
        return resp.status, await resp.json()


async def test_a_retry_on_another_process_returns_the_stored_result(
    tmp_path: Path, redis_url: str
) -> None:
    """Two server processes on one Redis: a retry reaching the other one (a tablet that
    reconnected through the load balancer), or racing its original there, is stored once."""
    runners = []
    urls = []
    for name in ("a", "b"):
        settings = Settings(host="127.0.0.1", port=0, store_url=redis_url, data_dir=tmp_path / name)
        runner, url = await start_app(settings)
        runners.append(runner)
        urls.append(url)
    try:
        services = runners[0].app[SERVICES]
        teacher_name = f"{TEACHER}-{time.monotonic_ns()}"
        await services.store.add_teacher(TeacherRecord(teacher_name, hash_password(PASSWORD), 0))
        async with aiohttp.ClientSession() as http:
            api = Api(urls[0], http)
            token = await api.login(teacher_name, PASSWORD)
            class_id = str((await api.create_class(token))["class_id"])
            on_a, on_b = Peer("a"), Peer("b")
            await on_a.connect(urls[0], {"token": token, "class_id": class_id})
            await on_b.connect(urls[1], {"token": token, "class_id": class_id})
            poll = {"client_id": "poll-x", "kind": "yes_no", "question": "Ready?"}
            first = await on_a.ok("poll_create", poll)
            await on_a.ok("poll_create", {**poll, "client_id": "poll-y", "question": "Next?"})
            assert await on_b.ok("poll_create", poll) == {**first, "duplicate": True}
            # A retry racing its original on the other process.
            race = {"client_id": "poll-z", "kind": "yes_no", "question": "Race?"}
            acks = await asyncio.gather(on_a.ok("poll_create", race), on_b.ok("poll_create", race))
            assert sorted(a["duplicate"] for a in acks) == [False, True]
            assert acks[0]["seq"] == acks[1]["seq"] and acks[0]["poll_id"] == acks[1]["poll_id"]
            events = await read_whole_log(on_a)
            questions = [e["data"]["question"] for e in events if e["type"] == "poll_created"]
            assert questions == ["Ready?", "Next?", "Race?"]
            await on_a.disconnect()
            await on_b.disconnect()
    finally:
        for runner in runners:
            await runner.cleanup()
