"""Quizzes over real sockets and HTTP: import (JSON, YAML, CSV, Urdu CSV), teacher pacing,
server-authoritative deadlines, scoring with leaderboard and podium, reconnects keeping score,
the untimed mode, reports, and bad input refused with nothing applied."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from pathlib import Path
from typing import Any

import aiohttp

from classroom.quizzes import speed_points, streak_bonus
from testkit.client import Peer
from tests.conftest import Running

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


def received(peer: Peer, event: str) -> list[dict[str, Any]]:
    """The ``data`` of every ``event`` log event ``peer`` received, in order."""
    return [data["data"] for name, data in peer.events if name == event]


async def wait_event(peer: Peer, event: str, **match: Any) -> dict[str, Any]:
    """The first received ``event`` whose data has the ``match`` items (waiting for it)."""

    def found() -> list[dict[str, Any]]:
        return [d for d in received(peer, event) if all(d.get(k) == v for k, v in match.items())]

    await peer.wait_until(lambda: bool(found()))
    return found()[0]


async def class_with(
    running: Running, names: list[str], peers: list[Peer]
) -> tuple[str, Peer, list[tuple[Peer, dict[str, Any]]]]:
    created = await running.new_class()
    class_id = str(created["class_id"])
    teacher = await running.teacher(class_id)
    peers.append(teacher)
    joined = []
    for name in names:
        peer, body = await running.student(str(created["join_code"]), name)
        peers.append(peer)
        joined.append((peer, body))
    return class_id, teacher, joined


async def upload(
    running: Running, class_id: str, filename: str, data: bytes, title: str | None = None
) -> tuple[int, Any]:
    """Import a quiz file; the samples' picture (circle.png) goes with them in a form."""
    query = f"?filename={filename}" + (f"&title={title}" if title else "")
    body: Any = data
    if b"circle.png" in data:
        body = aiohttp.FormData()
        body.add_field("quiz", data, filename=filename)
        body.add_field("picture", (SAMPLES / "circle.png").read_bytes(), filename="circle.png")
    return await running.api.request(
        "POST", f"/api/classes/{class_id}/quizzes{query}", token=running.teacher_token, data=body
    )


def single(question: str, options: list[str], correct: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "single",
        "question": question,
        "options": options,
        "correct": [correct],
    } | extra


def quiz_view(snapshot: dict[str, Any], quiz_id: str) -> dict[str, Any]:
    return next(q for q in snapshot["state"]["quizzes"]["quizzes"] if q["quiz_id"] == quiz_id)


async def server_now_ms(peer: Peer) -> int:
    ack = await peer.ok("clock_sync", {"client_time_ms": time.time() * 1000})
    return int(ack["server_time_ms"])


async def until_server_time_passes(peer: Peer, deadline_ms: int) -> None:
    """Wait until the server's own clock (asked with clock_sync) is past ``deadline_ms``."""
    while (now := await server_now_ms(peer)) <= deadline_ms:
        await asyncio.sleep(min(1.0, (deadline_ms - now + 5) / 1000))


async def test_import_json_yaml_csv_and_urdu_csv_over_http(
    running: Running, peers: list[Peer]
) -> None:
    class_id, teacher, joined = await class_with(running, ["Ali"], peers)
    ali = joined[0][0]
    title = "Class 5 general knowledge"
    quiz_ids: dict[str, str] = {}
    for filename in ("quiz.json", "quiz.yaml", "quiz.csv", "quiz-ur.csv"):
        data = (SAMPLES / filename).read_bytes()
        status, body = await upload(
            running, class_id, filename, data, title if filename == "quiz.csv" else None
        )
        assert status == 201, body
        assert body["questions"] == 7
        quiz_ids[filename] = body["quiz_id"]
    await teacher.wait_until(lambda: len(received(teacher, "quiz_created")) == 4)
    definitions = {d["quiz_id"]: d["quiz"] for d in received(teacher, "quiz_created")}
    # The three English samples are the same quiz, whatever the format.
    english = [definitions[quiz_ids[f]] for f in ("quiz.json", "quiz.yaml", "quiz.csv")]
    assert english[0] == english[1] == english[2]
    assert english[0]["title"] == title
    assert english[0]["questions"][1]["correct"] == [0, 2]
    assert english[0]["questions"][5]["correct"] == ["Islamabad", "اسلام آباد"]
    urdu = definitions[quiz_ids["quiz-ur.csv"]]
    assert urdu["title"] == "quiz-ur"
    assert urdu["questions"][0]["question"] == "سات ضرب آٹھ کتنے ہوتے ہیں؟"
    assert urdu["questions"][0]["options"] == ["۵۴", "۵۶", "۶۴", "۴۸"]
    assert urdu["questions"][2] | {"question": ""} == {
        "type": "true_false",
        "question": "",
        "correct": True,
        "time_limit_s": 15,
        "points": 1000,
        "image": None,
    }
    assert urdu["questions"][4]["correct"] == 100 and urdu["questions"][4]["tolerance"] == 1
    # Students learn nothing (answers included) until the teacher starts a quiz.
    assert received(ali, "quiz_created") == []
    assert (await ali.ok("class_snapshot"))["state"]["quizzes"]["quizzes"] == []


async def test_untimed_urdu_quiz_paced_by_the_teacher(
    running_sqlite: Running, peers: list[Peer]
) -> None:
    running = running_sqlite
    class_id, teacher, joined = await class_with(running, ["Ali", "Fatima"], peers)
    (ali, ali_j), (fatima, fatima_j) = joined
    status, body = await upload(
        running, class_id, "quiz-ur.csv", (SAMPLES / "quiz-ur.csv").read_bytes()
    )
    assert status == 201
    quiz_id = body["quiz_id"]
    await teacher.ok("quiz_start", {"quiz_id": quiz_id, "mode": "untimed"})

    # Q1, no time pressure: no deadline anywhere; a slow correct answer earns full points.
    started = await wait_event(ali, "quiz_started", quiz_id=quiz_id)
    assert started["mode"] == "untimed" and started["questions"] == 7
    q1 = await wait_event(fatima, "quiz_question_opened", question=0)
    assert q1["text"] == "سات ضرب آٹھ کتنے ہوتے ہیں؟" and q1["time_limit_ms"] is None
    assert "correct" not in q1
    current = quiz_view(await fatima.ok("class_snapshot"), quiz_id)["current"]
    assert current["deadline_ms"] is None and "correct" not in current
    await ali.ok("quiz_answer", {"quiz_id": quiz_id, "question": 0, "answer_id": "a", "option": 1})
    await fatima.ok(
        "quiz_answer", {"quiz_id": quiz_id, "question": 0, "answer_id": "a", "option": 1}
    )
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    closed = await wait_event(ali, "quiz_question_closed", question=0)
    assert closed["correct"] == [1] and closed["answered"] == 2 and closed["distribution"][1] == 2
    board = await wait_event(ali, "quiz_leaderboard", question=0)
    # A tie shares the rank; untimed mode has no streak bonus.
    assert sorted((e["name"], e["rank"], e["score"], e["streak"]) for e in board["top"]) == [
        ("Ali", 1, 1000, 0),
        ("Fatima", 1, 1000, 0),
    ]

    # Q2 (multiple choice A,C): half right earns half the points.
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    await wait_event(ali, "quiz_question_opened", question=1)
    await ali.ok(
        "quiz_answer", {"quiz_id": quiz_id, "question": 1, "answer_id": "b", "options": [0, 2]}
    )
    await fatima.ok(
        "quiz_answer", {"quiz_id": quiz_id, "question": 1, "answer_id": "b", "options": [0]}
    )
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    board = await wait_event(fatima, "quiz_leaderboard", question=1)
    assert [(e["name"], e["score"], e["rank"]) for e in board["top"]] == [
        ("Ali", 2000, 1),
        ("Fatima", 1500, 2),
    ]

    # Skip Q3 without asking it; Q4 opens. Urdu digits answer a numeric question.
    await teacher.ok("quiz_skip", {"quiz_id": quiz_id})
    assert (await wait_event(ali, "quiz_question_skipped"))["question"] == 2
    q4 = await wait_event(ali, "quiz_question_opened", question=3)
    assert q4["type"] == "numeric"
    await ali.ok("quiz_answer", {"quiz_id": quiz_id, "question": 3, "answer_id": "d", "text": "۴"})
    await fatima.ok(
        "quiz_answer", {"quiz_id": quiz_id, "question": 3, "answer_id": "d", "number": 5}
    )

    # End while Q4 is open: it is closed and scored, then the podium.
    await teacher.ok("quiz_end", {"quiz_id": quiz_id})
    assert (await wait_event(fatima, "quiz_question_closed", question=3))["correct"]["value"] == 4
    ended = await wait_event(fatima, "quiz_ended", quiz_id=quiz_id)
    assert [(e["rank"], e["student_id"], e["score"]) for e in ended["podium"]] == [
        (1, ali_j["student_id"], 3000),
        (2, fatima_j["student_id"], 1500),
    ]
    late = await ali.call(
        "quiz_answer", {"quiz_id": quiz_id, "question": 4, "answer_id": "e", "text": "x"}
    )
    assert late["ok"] is False and late["error"]["code"] == "CONFLICT"


async def test_timed_scoring_leaderboard_podium_and_reconnect_keeps_score_and_streak(
    running: Running, peers: list[Peer]
) -> None:
    _, teacher, joined = await class_with(running, ["Ali", "Bilal"], peers)
    (ali, ali_j), (bilal, _) = joined
    quiz = {
        "title": "Tables",
        "questions": [
            single("7 x 8?", ["54", "56"], 1),
            single("6 x 7?", ["42", "48"], 0),
            single("9 x 9?", ["81", "72"], 0, points=500),
        ],
    }
    quiz_id = (await teacher.ok("quiz_create", {"quiz": quiz}))["quiz_id"]
    await teacher.ok("quiz_start", {"quiz_id": quiz_id})
    limit_ms = 30_000
    expected = {"Ali": 0, "Bilal": 0}

    async def answer(peer: Peer, question: int, option: int) -> int:
        await wait_event(peer, "quiz_question_opened", question=question)
        payload = {
            "quiz_id": quiz_id,
            "question": question,
            "answer_id": f"q{question}",
            "option": option,
        }
        ack = await peer.ok("quiz_answer", payload)
        return int(ack["time_ms"])

    # Q1: Ali right (streak 1), Bilal wrong.
    t = await answer(ali, 0, 1)
    await answer(bilal, 0, 0)
    expected["Ali"] += speed_points(1000, 1, t, limit_ms) + streak_bonus(1)
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    board = await wait_event(bilal, "quiz_leaderboard", question=0)
    assert [(e["name"], e["score"], e["streak"]) for e in board["top"]] == [
        ("Ali", expected["Ali"], 1),
        ("Bilal", 0, 0),
    ]

    # Q2: both right; Ali's streak of 2 earns +100.
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    t = await answer(ali, 1, 0)
    expected["Ali"] += speed_points(1000, 1, t, limit_ms) + streak_bonus(2)
    t = await answer(bilal, 1, 0)
    expected["Bilal"] += speed_points(1000, 1, t, limit_ms) + streak_bonus(1)
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    board = await wait_event(ali, "quiz_leaderboard", question=1)
    assert {e["name"]: (e["score"], e["streak"]) for e in board["top"]} == {
        "Ali": (expected["Ali"], 2),
        "Bilal": (expected["Bilal"], 1),
    }

    # Ali's tablet drops; a new socket with the same token keeps score and streak.
    await ali.disconnect()
    again = Peer("Ali again")
    peers.append(again)
    await again.connect(running.url, {"token": ali_j["token"]})
    me = quiz_view(await again.ok("class_snapshot"), quiz_id)
    assert me["me"]["score"] == expected["Ali"] and me["me"]["streak"] == 2
    assert me["me"]["rank"] == 1
    assert [a["correct"] for a in me["my_answers"]] == [True, True]

    # Q3 on the new socket: streak 3 earns +200.
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    t = await answer(again, 2, 0)
    expected["Ali"] += speed_points(500, 1, t, limit_ms) + streak_bonus(3)
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    board = await wait_event(again, "quiz_leaderboard", question=2)
    assert board["top"][0]["score"] == expected["Ali"] and board["top"][0]["streak"] == 3
    assert board["top"][1]["streak"] == 0  # Bilal missed Q3: streak reset

    # After the last question, "next" ends the quiz with the podium.
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    ended = await wait_event(again, "quiz_ended", quiz_id=quiz_id)
    assert [(e["rank"], e["name"], e["score"]) for e in ended["podium"]] == [
        (1, "Ali", expected["Ali"]),
        (2, "Bilal", expected["Bilal"]),
    ]


async def test_deadline_is_the_servers_and_late_answers_are_refused(
    running: Running, peers: list[Peer]
) -> None:
    class_id, teacher, joined = await class_with(running, ["Ali", "Fatima"], peers)
    (ali, _), (fatima, _) = joined
    store = running.services.store
    quiz = {"title": "Quick", "questions": [single("2 + 2?", ["3", "4"], 1, time_limit_s=5)]}
    quiz_id = (await teacher.ok("quiz_create", {"quiz": quiz}))["quiz_id"]
    await teacher.ok("quiz_start", {"quiz_id": quiz_id})

    await wait_event(fatima, "quiz_question_opened", question=0)
    opened = next(d for n, d in fatima.events if n == "quiz_question_opened")
    deadline = opened["ts"] + opened["data"]["time_limit_ms"]
    assert opened["data"]["time_limit_ms"] == 5000
    current = quiz_view(await fatima.ok("class_snapshot"), quiz_id)["current"]
    assert current["deadline_ms"] == deadline and current["opened_ms"] == opened["ts"]
    # clock_sync lets a tablet with a wrong clock count down correctly.
    sync = await fatima.ok("clock_sync", {"client_time_ms": 1234.5})
    assert sync["client_time_ms"] == 1234.5 and opened["ts"] <= sync["server_time_ms"] <= deadline

    on_time = await ali.ok(
        "quiz_answer", {"quiz_id": quiz_id, "question": 0, "answer_id": "a", "option": 1}
    )
    assert 0 <= on_time["time_ms"] < 5000

    await until_server_time_passes(fatima, deadline)
    head = await store.head(class_id)
    late = await fatima.call(
        "quiz_answer", {"quiz_id": quiz_id, "question": 0, "answer_id": "f", "option": 1}
    )
    assert late["ok"] is False
    assert late["error"]["code"] == "TOO_LATE" and late["error"]["field"] == "question"
    assert await store.head(class_id) == head

    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    closed = await wait_event(fatima, "quiz_question_closed", question=0)
    assert closed["answered"] == 1 and closed["distribution"] == [0, 1]
    mine = quiz_view(await fatima.ok("class_snapshot"), quiz_id)
    assert mine["my_answers"] == [] and mine["me"]["score"] == 0


async def test_quiz_reports_per_student_and_per_item_over_http(
    running_sqlite: Running, peers: list[Peer]
) -> None:
    running = running_sqlite
    class_id, teacher, joined = await class_with(running, ["Ali", "Fatima", "Bilal"], peers)
    students = [peer for peer, _ in joined]
    quiz = {
        "title": "Pakistan",
        "questions": [
            single("Capital?", ["Karachi", "Islamabad", "Lahore"], 1),
            {"type": "short_text", "question": "Longest river?", "correct": ["Indus", "سندھ"]},
        ],
    }
    quiz_id = (await teacher.ok("quiz_create", {"quiz": quiz}))["quiz_id"]
    await teacher.ok("quiz_start", {"quiz_id": quiz_id, "mode": "untimed"})
    for peer, option in zip(students, (1, 1, 0), strict=True):
        await wait_event(peer, "quiz_question_opened", question=0)
        await peer.ok(
            "quiz_answer", {"quiz_id": quiz_id, "question": 0, "answer_id": "1", "option": option}
        )
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})
    for peer, text in zip(students[:2], ("سِندھ", "=Ravi"), strict=True):
        await wait_event(peer, "quiz_question_opened", question=1)
        await peer.ok(
            "quiz_answer", {"quiz_id": quiz_id, "question": 1, "answer_id": "2", "text": text}
        )
    await teacher.ok("quiz_end", {"quiz_id": quiz_id})

    base = f"/api/classes/{class_id}/reports/quizzes/{quiz_id}"
    status, report = await running.api.request("GET", f"{base}.json", token=running.teacher_token)
    assert status == 200 and report["status"] == "ended" and report["players"] == 3
    rows = {s["name"]: s for s in report["students"]}
    assert (rows["Ali"]["rank"], rows["Ali"]["score"], rows["Ali"]["correct"]) == (1, 2000, 2)
    assert (rows["Fatima"]["score"], rows["Fatima"]["correct"], rows["Fatima"]["answered"]) == (
        1000,
        1,
        2,
    )
    assert rows["Bilal"]["answers"] == [
        {
            "question": 1,
            "answer": "A",
            "correct": False,
            "credit": 0.0,
            "points": 0,
            "time_ms": rows["Bilal"]["answers"][0]["time_ms"],
        }
    ]
    items = report["items"]
    assert items[0]["distribution"] == {"A": 1, "B": 2, "C": 0}
    assert items[0]["share_correct"] == round(2 / 3, 4) and items[0]["answered"] == 3
    assert items[1]["share_correct"] == 0.5 and items[1]["distribution"] == {"سندھ": 1, "ravi": 1}

    status, raw = await running.api.request(
        "GET", f"{base}.csv?kind=results", token=running.teacher_token
    )
    assert status == 200 and raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == [
        "rank",
        "student_id",
        "name",
        "score",
        "correct",
        "answered",
        "q1_answer",
        "q1_points",
        "q2_answer",
        "q2_points",
    ]
    by_name = {row[2]: row for row in table[1:]}
    assert by_name["Ali"][3:] == ["2000", "2", "2", "B", "1000", "سِندھ", "1000"]
    assert by_name["Fatima"][8] == "'=Ravi"  # a student's text never runs as a formula
    assert by_name["Bilal"][3:] == ["0", "0", "1", "A", "0", "", ""]

    status, raw = await running.api.request(
        "GET", f"{base}.csv?kind=items", token=running.teacher_token
    )
    assert status == 200
    items_csv = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert items_csv[1][:6] == ["1", "Capital?", "single", "closed", "3", "0.6667"]
    assert items_csv[1][7] == "A: 1; B: 2; C: 0"

    status, body = await running.api.request(
        "GET", f"{base}.csv?kind=bogus", token=running.teacher_token
    )
    assert status == 400 and body["error"]["field"] == "kind"
    status, body = await running.api.request(
        "GET", f"/api/classes/{class_id}/reports/quizzes/q-none.json", token=running.teacher_token
    )
    assert status == 404
    status, body = await running.api.request("GET", f"{base}.json", token=joined[0][1]["token"])
    assert status == 403  # students do not read the class report


BAD_IMPORTS: list[tuple[str, bytes, str, str]] = [
    ("wrong column", b"question,type,answer\nQ?,single,A\n", "q.csv", "row 1, column 'answer'"),
    (
        "no correct column",
        b"question,option_a,option_b\nQ?,a,b\n",
        "q.csv",
        "'correct' column is missing",
    ),
    ("header only", b"question,type,option_a,option_b,correct\n", "q.csv", "no questions"),
    (
        "empty question",
        b"question,type,option_a,option_b,correct\n,single,x,y,A\n",
        "q.csv",
        "row 2, column 'question'",
    ),
    (
        "bad letter",
        b"question,type,option_a,option_b,correct\nQ1,single,x,y,A\nQ2,single,x,y,E\n",
        "q.csv",
        "row 3, column 'correct'",
    ),
    (
        "latin-1",
        "question,type,option_a,option_b,correct\nCafé?,single,x,y,A\n".encode("latin-1"),
        "q.csv",
        "line 2: byte 0xE9 is not UTF-8",
    ),
    (
        "utf-16 without BOM",
        "question,correct\nQ,1\n".encode("utf-16-le"),
        "q.csv",
        "UTF-16 without a byte order mark",
    ),
    (
        "json no questions",
        b'{"title": "t", "questions": []}',
        "q.json",
        "'questions' must be a non-empty list",
    ),
    ("json broken", b'{"title": "t", "questions": [', "q.json", "JSON"),
    (
        "yaml bad number",
        b"title: t\nquestions:\n  - question: Q\n    type: numeric\n    correct: abc\n",
        "q.yaml",
        "question 1, field 'correct'",
    ),
    ("unknown format", b"question,correct\n", "q.docx", "use a .csv, .json or .yaml file"),
]


async def test_bad_quiz_input_is_refused_with_its_place_and_nothing_applied(
    running: Running, peers: list[Peer]
) -> None:
    class_id, teacher, joined = await class_with(running, ["Ali", "Fatima"], peers)
    (ali, ali_j), (fatima, _) = joined
    store = running.services.store

    # Malformed imports over HTTP.
    head = await store.head(class_id)
    for label, data, filename, words in BAD_IMPORTS:
        status, body = await upload(running, class_id, filename, data)
        assert status == 400, (label, status, body)
        assert body["ok"] is False and body["error"]["code"] == "INVALID_PAYLOAD", label
        assert words in body["error"]["message"], (label, body)
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/quizzes?filename=q.csv",
        token=ali_j["token"],
        data=(SAMPLES / "quiz.csv").read_bytes(),
    )
    assert status == 403
    assert await store.head(class_id) == head
    assert received(teacher, "quiz_created") == []

    # Bad answers over sockets.
    quiz = {"title": "T", "questions": [single("Q1", ["a", "b"], 0), single("Q2", ["a", "b"], 1)]}
    quiz_id = (await teacher.ok("quiz_create", {"quiz": quiz}))["quiz_id"]
    early = await ali.call(
        "quiz_answer", {"quiz_id": quiz_id, "question": 0, "answer_id": "x", "option": 0}
    )
    assert early["error"]["code"] == "CONFLICT"  # not started
    nudge = await teacher.call("quiz_next", {"quiz_id": quiz_id})
    assert nudge["error"]["code"] == "CONFLICT"
    await teacher.ok("quiz_start", {"quiz_id": quiz_id})
    await wait_event(ali, "quiz_question_opened", question=0)
    await wait_event(fatima, "quiz_question_opened", question=0)
    await fatima.ok(
        "quiz_answer", {"quiz_id": quiz_id, "question": 0, "answer_id": "f", "option": 0}
    )
    head = await store.head(class_id)
    cases: list[tuple[Peer, str, dict[str, Any], str, str | None]] = [
        (
            ali,
            "quiz_answer",
            {"quiz_id": quiz_id, "question": 1, "answer_id": "a1", "option": 0},
            "WRONG_QUESTION",
            "question",
        ),
        (
            ali,
            "quiz_answer",
            {"quiz_id": quiz_id, "question": 0, "answer_id": "a2", "option": 2},
            "INVALID_PAYLOAD",
            "option",
        ),
        (
            ali,
            "quiz_answer",
            {"quiz_id": quiz_id, "question": 0, "answer_id": "a3", "option": 10},
            "INVALID_PAYLOAD",
            "option",
        ),
        (
            ali,
            "quiz_answer",
            {"quiz_id": quiz_id, "question": 0, "answer_id": "a4", "text": "x" * 201},
            "INVALID_PAYLOAD",
            "text",
        ),
        (
            ali,
            "quiz_answer",
            {"quiz_id": quiz_id, "question": 0, "answer_id": "a5", "options": [0]},
            "INVALID_PAYLOAD",
            "option",
        ),
        (
            ali,
            "quiz_answer",
            {"quiz_id": "q-none", "question": 0, "answer_id": "a6", "option": 0},
            "NOT_FOUND",
            "quiz_id",
        ),
        (
            fatima,
            "quiz_answer",
            {"quiz_id": quiz_id, "question": 0, "answer_id": "f2", "option": 1},
            "ALREADY_ANSWERED",
            "question",
        ),
        (fatima, "quiz_next", {"quiz_id": quiz_id}, "FORBIDDEN", None),
        (
            teacher,
            "quiz_answer",
            {"quiz_id": quiz_id, "question": 0, "answer_id": "t", "option": 0},
            "FORBIDDEN",
            None,
        ),
        (
            teacher,
            "quiz_create",
            {"quiz": {"title": "T", "questions": []}},
            "INVALID_PAYLOAD",
            "quiz.questions",
        ),
        (
            teacher,
            "quiz_create",
            {"quiz": {"title": "T", "questions": [single("Q", ["a", "b"], 2)]}},
            "INVALID_PAYLOAD",
            None,
        ),
        (
            teacher,
            "quiz_create",
            {"quiz": {"title": "T", "questions": [single("Q", ["a", "b"], 0, time_limit_s=4)]}},
            "INVALID_PAYLOAD",
            None,
        ),
    ]
    for peer, event, payload, code, field in cases:
        ack = await peer.call(event, payload)
        assert ack["ok"] is False, (event, payload, ack)
        assert ack["error"]["code"] == code, (payload, ack)
        if field is not None:
            assert ack["error"].get("field") == field, (payload, ack)
    assert await store.head(class_id) == head
    # Fatima's first answer stands; Ali can still answer properly.
    retry = await fatima.ok(
        "quiz_answer", {"quiz_id": quiz_id, "question": 0, "answer_id": "f", "option": 0}
    )
    assert retry["duplicate"] is True
    await ali.ok("quiz_answer", {"quiz_id": quiz_id, "question": 0, "answer_id": "a7", "option": 0})


async def test_each_student_gets_their_own_result_at_the_close_and_no_one_elses(
    running: Running, peers: list[Peer]
) -> None:
    _, teacher, joined = await class_with(running, ["Ali", "Bilal", "Chand"], peers)
    (ali, ali_j), (bilal, bilal_j), (chand, chand_j) = joined
    quiz = {"title": "Tables", "questions": [single("7 x 8?", ["54", "56"], 1)]}
    quiz_id = (await teacher.ok("quiz_create", {"quiz": quiz}))["quiz_id"]
    await teacher.ok("quiz_start", {"quiz_id": quiz_id})
    for peer, option in ((ali, 1), (bilal, 0)):  # Chand does not answer
        await wait_event(peer, "quiz_question_opened", question=0)
        payload = {"quiz_id": quiz_id, "question": 0, "answer_id": "a0", "option": option}
        await peer.ok("quiz_answer", payload)
    await teacher.ok("quiz_next", {"quiz_id": quiz_id})

    def results(peer: Peer) -> list[dict[str, Any]]:
        return [data for name, data in peer.events if name == "quiz_result"]

    for peer in (ali, bilal, chand):
        await peer.wait_until(lambda peer=peer: bool(results(peer)))
    board = await wait_event(ali, "quiz_leaderboard", question=0)
    ali_score = board["top"][0]["score"]
    assert board["top"][0]["name"] == "Ali" and ali_score > 0
    # Live, at the close, each one's own outcome: right or not, points, total and place.
    assert results(ali) == [
        {
            "quiz_id": quiz_id,
            "question": 0,
            "answered": True,
            "correct": True,
            "points": ali_score,
            "score": ali_score,
            "rank": 1,
            "players": 2,  # the students who played
        }
    ]
    (mine,) = results(bilal)
    assert (mine["answered"], mine["correct"], mine["points"], mine["score"]) == (
        True,
        False,
        0,
        0,
    )
    (mine,) = results(chand)  # never answered: no place yet, and told so
    assert (mine["answered"], mine["correct"], mine["points"], mine["rank"]) == (
        False,
        False,
        0,
        None,
    )
    # The teacher is sent no student's result (the ranking is in the leaderboard), and the
    # same numbers are what a reloading student finds in the snapshot.
    assert results(teacher) == []
    view = quiz_view(await ali.ok("class_snapshot"), quiz_id)
    assert view["me"]["score"] == ali_score and view["my_answers"][0]["points"] == ali_score
    assert {e["student_id"] for e in board["top"]} == {ali_j["student_id"], bilal_j["student_id"]}
    assert chand_j["student_id"] not in {e["student_id"] for e in board["top"]}
