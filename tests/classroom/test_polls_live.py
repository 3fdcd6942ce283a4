"""Polls over real sockets: every kind, the lifecycle, one counted vote per student, live
tallies for the teacher only (coalesced), results shown on the teacher's word, reports over HTTP,
and bad votes refused with nothing logged."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

from classroom.tallies import TALLY_HZ
from testkit.client import Peer
from tests.conftest import Running


def received(peer: Peer, event: str) -> list[Any]:
    return [data for name, data in peer.events if name == event]


def tallies_of(peer: Peer, poll_id: str) -> list[dict[str, Any]]:
    return [t["tally"] for t in received(peer, "poll_tally") if t["poll_id"] == poll_id]


async def new_poll(teacher: Peer, **create: Any) -> str:
    ack = await teacher.ok("poll_create", create)
    return str(ack["poll_id"])


async def open_poll(teacher: Peer, students: list[Peer], **create: Any) -> str:
    """Create and open a poll; return once every student has seen it open."""
    poll_id = await new_poll(teacher, **create)
    await teacher.ok("poll_open", {"poll_id": poll_id})
    for student in students:
        await student.wait_until(
            lambda s=student: any(
                d["data"]["poll_id"] == poll_id for d in received(s, "poll_opened")
            )
        )
    return poll_id


async def class_of(
    running: Running, students: int, peers: list[Peer]
) -> tuple[str, Peer, list[tuple[Peer, dict[str, Any]]]]:
    """A new class with its teacher and ``students`` students connected (kept in ``peers``)."""
    created = await running.new_class()
    class_id = str(created["class_id"])
    teacher = await running.teacher(class_id)
    peers.append(teacher)
    names = ["Ali", "Fatima", "Bilal", "Ayesha", "Zainab", "Omar", "Hamza", "Sana"]
    if students > len(names):
        names += [f"Student {n}" for n in range(len(names), students)]
    joined = []
    for name in names[:students]:
        peer, body = await running.student(str(created["join_code"]), name)
        peers.append(peer)
        joined.append((peer, body))
    return class_id, teacher, joined


def my_poll_view(snapshot: dict[str, Any], poll_id: str) -> dict[str, Any] | None:
    for poll in snapshot["state"]["polls"]["polls"]:
        if poll["poll_id"] == poll_id:
            return dict(poll)
    return None


async def test_poll_lifecycle_one_vote_per_student_and_results_only_when_shown(
    running: Running, peers: list[Peer]
) -> None:
    class_id, teacher, joined = await class_of(running, 3, peers)
    (ali, _), (fatima, _), (bilal, _) = joined
    students = [ali, fatima, bilal]

    # Draft: only the teacher knows it; nobody can vote on it.
    poll_id = await new_poll(
        teacher, kind="single", question="Largest planet?", options=["Mars", "Jupiter", "Venus"]
    )
    await teacher.wait_until(lambda: bool(received(teacher, "poll_created")))
    draft_vote = await ali.call("poll_vote", {"poll_id": poll_id, "vote_id": "d1", "option": 1})
    assert draft_vote["ok"] is False and draft_vote["error"]["code"] == "CONFLICT"
    assert my_poll_view(await ali.ok("class_snapshot"), poll_id) is None
    assert not any(received(s, "poll_created") for s in students)

    # Open: everyone sees the question.
    await teacher.ok("poll_open", {"poll_id": poll_id})
    for s in students:
        await s.wait_until(lambda s=s: bool(received(s, "poll_opened")))
    assert received(fatima, "poll_opened")[0]["data"]["options"] == ["Mars", "Jupiter", "Venus"]

    # Ali votes Mars, then changes to Jupiter before close; the change replaces the first vote.
    first = await ali.ok("poll_vote", {"poll_id": poll_id, "vote_id": "a1", "option": 0})
    assert first["duplicate"] is False
    await ali.ok("poll_vote", {"poll_id": poll_id, "vote_id": "a2", "option": 1})
    # Fatima's vote is retried (same vote_id) after a lost ack: it counts once.
    await fatima.ok("poll_vote", {"poll_id": poll_id, "vote_id": "f1", "option": 1})
    retry = await fatima.ok("poll_vote", {"poll_id": poll_id, "vote_id": "f1", "option": 1})
    assert retry["duplicate"] is True
    # A stale retry of Ali's replaced vote does not bring it back.
    stale = await ali.ok("poll_vote", {"poll_id": poll_id, "vote_id": "a1", "option": 0})
    assert stale["duplicate"] is True
    await bilal.ok("poll_vote", {"poll_id": poll_id, "vote_id": "b1", "option": 2})

    truth = [0, 2, 1]
    await teacher.wait_until(
        lambda: any(t["counts"] == truth for t in tallies_of(teacher, poll_id))
    )
    snap = my_poll_view(await teacher.ok("class_snapshot"), poll_id)
    assert snap is not None
    assert snap["tally"]["counts"] == truth and snap["tally"]["responses"] == 3
    assert {v["name"]: v["answer"] for v in snap["votes"].values()} == {
        "Ali": 1,
        "Fatima": 1,
        "Bilal": 2,
    }

    # Students never see tallies or other students' votes; each sees only their own.
    for student, name in ((ali, "Ali"), (fatima, "Fatima"), (bilal, "Bilal")):
        assert received(student, "poll_tally") == []
        voters = {vote["by"]["name"] for vote in received(student, "poll_voted")}
        assert voters <= {name}
    mine = my_poll_view(await ali.ok("class_snapshot"), poll_id)
    assert mine is not None
    assert mine["my_vote"] == {"vote_id": "a2", "answer": 1}
    assert mine["results"] is None and "tally" not in mine and "votes" not in mine

    # Closed: no more votes; results still hidden from students.
    await teacher.ok("poll_close", {"poll_id": poll_id})
    late = await bilal.call("poll_vote", {"poll_id": poll_id, "vote_id": "b2", "option": 0})
    assert late["ok"] is False and late["error"]["code"] == "CONFLICT"
    await bilal.wait_until(lambda: bool(received(bilal, "poll_closed")))
    assert received(bilal, "poll_results_shown") == []
    closed_view = my_poll_view(await bilal.ok("class_snapshot"), poll_id)
    assert closed_view is not None and closed_view["status"] == "closed"
    assert closed_view["results"] is None

    # Shown: everyone gets the final tally; hidden again: gone from the snapshot.
    await teacher.ok("poll_show_results", {"poll_id": poll_id})
    for s in students:
        await s.wait_until(lambda s=s: bool(received(s, "poll_results_shown")))
    shown = received(bilal, "poll_results_shown")[0]["data"]["tally"]
    assert shown["counts"] == truth and shown["options"] == ["Mars", "Jupiter", "Venus"]
    shown_view = my_poll_view(await bilal.ok("class_snapshot"), poll_id)
    assert shown_view is not None and shown_view["results"]["counts"] == truth
    await teacher.ok("poll_hide_results", {"poll_id": poll_id})
    await bilal.wait_until(lambda: bool(received(bilal, "poll_results_hidden")))
    hidden_view = my_poll_view(await bilal.ok("class_snapshot"), poll_id)
    assert hidden_view is not None and hidden_view["results"] is None

    # The log holds exactly one counted vote per change: a1, a2, f1, b1 (retries not logged).
    resumed = await teacher.ok("log_resume", {"after_seq": 0})
    votes = [e["data"]["vote_id"] for e in resumed["events"] if e["type"] == "poll_voted"]
    assert sorted(votes) == ["a1", "a2", "b1", "f1"]
    assert await running.services.store.head(class_id) == resumed["head_seq"]


async def test_every_poll_kind_anonymous_or_named_with_reports(
    running_sqlite: Running, peers: list[Peer]
) -> None:
    running = running_sqlite
    class_id, teacher, joined = await class_of(running, 3, peers)
    (ali, ali_j), (fatima, fatima_j), (bilal, bilal_j) = joined
    students = [ali, fatima, bilal]

    multiple = await open_poll(
        teacher, students, kind="multiple", question="Prime?", options=["2", "9", "11"]
    )
    await ali.ok("poll_vote", {"poll_id": multiple, "vote_id": "m1", "options": [0, 2]})
    await fatima.ok("poll_vote", {"poll_id": multiple, "vote_id": "m1", "options": [2, 2]})

    yes_no = await open_poll(
        teacher, students, kind="yes_no", question="Homework done?", anonymous=True
    )
    for student, option in ((ali, 0), (fatima, 0), (bilal, 1)):
        await student.ok("poll_vote", {"poll_id": yes_no, "vote_id": "y1", "option": option})

    rating = await open_poll(teacher, students, kind="rating", question="Lesson?", scale_max=5)
    for student, stars in ((ali, 5), (fatima, 4), (bilal, 4)):
        await student.ok("poll_vote", {"poll_id": rating, "vote_id": "r1", "rating": stars})

    cloud = await open_poll(
        teacher, students, kind="word_cloud", question="One word: Pakistan", max_words=2
    )
    await ali.ok("poll_vote", {"poll_id": cloud, "vote_id": "w1", "words": ["Lahore", "K2"]})
    await fatima.ok("poll_vote", {"poll_id": cloud, "vote_id": "w1", "words": ["lahore!"]})
    # Urdu with a diacritic and Arabic-keyboard yeh counts with the plain spelling.
    await bilal.ok("poll_vote", {"poll_id": cloud, "vote_id": "w1", "words": ["کراچي"]})

    open_text = await open_poll(
        teacher, students, kind="open_text", question="What did you learn?", anonymous=True
    )
    texts = [(ali, "Fractions"), (fatima, "کسر"), (bilal, "Nothing, sorry")]
    for student, text in texts:
        await student.ok("poll_vote", {"poll_id": open_text, "vote_id": "t1", "text": text})

    async def tally(poll_id: str, expect: dict[str, Any]) -> dict[str, Any]:
        def matches() -> bool:
            got = tallies_of(teacher, poll_id)
            return bool(got) and all(got[-1].get(k) == v for k, v in expect.items())

        await teacher.wait_until(matches)
        return tallies_of(teacher, poll_id)[-1]

    await tally(multiple, {"counts": [1, 0, 2], "responses": 2})
    await tally(yes_no, {"options": ["yes", "no"], "counts": [2, 1]})
    assert (await tally(rating, {"counts": [0, 0, 0, 2, 1]}))["mean"] == 4.33
    words = dict(map(tuple, (await tally(cloud, {"responses": 3}))["words"]))
    assert words == {"lahore": 2, "k2": 1, "کراچی": 1}
    await tally(open_text, {"responses": 3})

    # Anonymous polls: the teacher sees totals and answers, never who gave them.
    snapshot = await teacher.ok("class_snapshot")
    views = {p["poll_id"]: p for p in snapshot["state"]["polls"]["polls"]}
    assert "votes" not in views[yes_no] and "votes" not in views[open_text]
    assert all("student_id" not in answer for answer in views[open_text]["answers"])
    assert {v["name"]: v["answer"] for v in views[multiple]["votes"].values()} == {
        "Ali": [0, 2],
        "Fatima": [2],
    }

    # Open text: the teacher shows the answers they choose, students see only those.
    await teacher.ok("poll_close", {"poll_id": open_text})
    picked = [a["id"] for a in views[open_text]["answers"] if a["text"] != "Nothing, sorry"]
    await teacher.ok("poll_show_results", {"poll_id": open_text, "answer_ids": picked})
    await bilal.wait_until(lambda: bool(received(bilal, "poll_results_shown")))
    shown = received(bilal, "poll_results_shown")[0]["data"]["tally"]
    assert sorted(shown["answers"]) == sorted(["Fractions", "کسر"])
    # Results of the other (still open) polls stay hidden.
    assert {r["data"]["poll_id"] for r in received(ali, "poll_results_shown")} == {open_text}

    # Reports over HTTP: JSON and both CSVs.
    token = running.teacher_token
    status, body = await running.api.request(
        "GET", f"/api/classes/{class_id}/reports/polls.json", token=token
    )
    assert status == 200
    report = {p["poll_id"]: p for p in body["polls"]}
    assert sorted((s["name"], s["answer"]) for s in report[multiple]["students"]) == [
        ("Ali", "2; 11"),
        ("Fatima", "11"),
    ]
    assert "students" not in report[yes_no]
    assert report[yes_no]["totals"]["counts"] == [2, 1]
    assert sorted(report[open_text]["answers"]) == sorted(text for _, text in texts)

    status, raw = await running.api.request(
        "GET", f"/api/classes/{class_id}/reports/polls.csv?kind=students", token=token
    )
    assert status == 200
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["student_id", "name", "Prime?", "Lesson?", "One word: Pakistan"]
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["Ali"] == [ali_j["student_id"], "Ali", "2; 11", "5", "lahore; k2"]
    assert by_name["Fatima"] == [fatima_j["student_id"], "Fatima", "11", "4", "lahore"]
    assert by_name["Bilal"] == [bilal_j["student_id"], "Bilal", "", "4", "کراچی"]

    status, raw = await running.api.request(
        "GET", f"/api/classes/{class_id}/reports/polls.csv?kind=totals", token=token
    )
    assert status == 200
    totals = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    counts = {(row[0], row[4]): row[5] for row in totals[1:]}
    assert counts[(yes_no, "yes")] == "2" and counts[(yes_no, "no")] == "1"
    assert counts[(rating, "4")] == "2" and counts[(multiple, "11")] == "2"
    assert counts[(open_text, "responses")] == "3"

    # In the teacher's language (issue 15.4): Urdu headings and words, the typed text as typed.
    status, raw = await running.api.request(
        "GET", f"/api/classes/{class_id}/reports/polls.csv?kind=totals&lang=ur", token=token
    )
    assert status == 200
    urdu = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert urdu[0] == ["رائے شماری کی شناخت", "سوال", "قسم", "گمنام", "جواب", "تعداد"]
    urdu_counts = {(row[0], row[4]): row[5] for row in urdu[1:]}
    assert urdu_counts[(yes_no, "ہاں")] == "2" and urdu_counts[(yes_no, "نہیں")] == "1"
    assert urdu_counts[(open_text, "جوابات")] == "3"
    status, body = await running.api.request(
        "GET", f"/api/classes/{class_id}/reports/polls.csv?lang=fr", token=token
    )
    assert status == 400 and body["error"]["field"] == "lang"


async def test_teacher_tally_is_coalesced_during_a_burst_and_ends_exact(
    running_unlimited: Running, peers: list[Peer]
) -> None:
    _, teacher, joined = await class_of(running_unlimited, 12, peers)
    students = [peer for peer, _ in joined]
    poll_id = await open_poll(
        teacher,
        students,
        kind="single",
        question="Best fruit?",
        options=["Mango", "Apple", "Kinnow"],
    )
    final: dict[int, int] = {}

    async def keep_changing(n: int, peer: Peer) -> None:
        # Each student changes their mind 15 times over about 1.5 s.
        for k in range(15):
            option = (n + k) % 3
            await peer.ok(
                "poll_vote", {"poll_id": poll_id, "vote_id": f"v{n}-{k}", "option": option}
            )
            final[n] = option
            await asyncio.sleep(0.1)  # pacing of the traffic, not synchronisation

    started = time.monotonic()
    await asyncio.gather(*(keep_changing(n, peer) for n, peer in enumerate(students)))
    burst_s = time.monotonic() - started
    truth = [sum(1 for option in final.values() if option == k) for k in range(3)]
    await teacher.wait_until(lambda: tallies_of(teacher, poll_id)[-1]["counts"] == truth)
    tallies = tallies_of(teacher, poll_id)
    # 180 votes, yet at most TALLY_HZ tallies a second (+ the leading and trailing edge).
    assert len(tallies) <= burst_s * TALLY_HZ + 3, (len(tallies), burst_s)
    assert len(tallies) >= burst_s * TALLY_HZ / 3  # and the teacher saw it move live
    assert tallies[-1]["responses"] == len(students)
    for peer in students:
        assert received(peer, "poll_tally") == []


async def test_bad_votes_are_refused_and_log_nothing(running: Running, peers: list[Peer]) -> None:
    class_id, teacher, joined = await class_of(running, 2, peers)
    (ali, _), (fatima, _) = joined
    store = running.services.store
    poll_id = await open_poll(teacher, [ali], kind="single", question="2+2?", options=["3", "4"])
    text_poll = await open_poll(teacher, [ali], kind="open_text", question="Why?")
    cloud = await open_poll(teacher, [ali], kind="word_cloud", question="Word?")
    closed = await open_poll(teacher, [ali], kind="yes_no", question="Done?")
    await teacher.ok("poll_close", {"poll_id": closed})
    await ali.wait_until(lambda: bool(received(ali, "poll_closed")))

    cases: list[tuple[str, dict[str, Any], str, str | None]] = [
        ("poll_vote", {"poll_id": closed, "vote_id": "x1", "option": 0}, "CONFLICT", "poll_id"),
        ("poll_vote", {"poll_id": "p-nope", "vote_id": "x2", "option": 0}, "NOT_FOUND", "poll_id"),
        (
            "poll_vote",
            {"poll_id": poll_id, "vote_id": "x3", "option": 2},
            "INVALID_PAYLOAD",
            "option",
        ),
        (
            "poll_vote",
            {"poll_id": poll_id, "vote_id": "x4", "option": 10},
            "INVALID_PAYLOAD",
            "option",
        ),
        (
            "poll_vote",
            {"poll_id": poll_id, "vote_id": "x5", "rating": 3},
            "INVALID_PAYLOAD",
            "option",
        ),
        (
            "poll_vote",
            {"poll_id": poll_id, "vote_id": "x6", "option": 1, "text": "4"},
            "INVALID_PAYLOAD",
            None,
        ),
        (
            "poll_vote",
            {"poll_id": text_poll, "vote_id": "x7", "text": "x" * 501},
            "INVALID_PAYLOAD",
            "text",
        ),
        (
            "poll_vote",
            {"poll_id": text_poll, "vote_id": "x8", "text": "   "},
            "INVALID_PAYLOAD",
            "text",
        ),
        (
            "poll_vote",
            {"poll_id": cloud, "vote_id": "x9", "words": ["w" * 31]},
            "INVALID_PAYLOAD",
            "words.0",
        ),
        (
            "poll_vote",
            {"poll_id": cloud, "vote_id": "x10", "words": ["shit"]},
            "INVALID_PAYLOAD",
            "words",
        ),
        (
            "poll_vote",
            {"poll_id": poll_id, "vote_id": "bad id!", "option": 1},
            "INVALID_PAYLOAD",
            "vote_id",
        ),
        ("poll_open", {"poll_id": poll_id}, "FORBIDDEN", None),
        (
            "poll_create",
            {"kind": "single", "question": "Q", "options": ["a", "b"]},
            "FORBIDDEN",
            None,
        ),
    ]
    head = await store.head(class_id)
    for n, (event, payload, code, field) in enumerate(cases):
        # Two students share the cases: each stays within the per-device vote rate limit.
        ack = await (ali, fatima)[n % 2].call(event, payload)
        assert ack["ok"] is False, (event, payload, ack)
        assert ack["error"]["code"] == code, (payload, ack)
        if field is not None:
            assert ack["error"].get("field") == field, (payload, ack)
        assert "Traceback" not in ack["error"]["message"]
    bad_polls = [
        {"kind": "single", "question": "Q", "options": ["only one"]},
        {"kind": "single", "question": "Q", "options": ["Same", "same"]},
        {"kind": "rating", "question": "Q", "scale_max": 11},
        {"kind": "yes_no", "question": "Q", "options": ["a", "b"]},
        {"kind": "single", "question": "Q" * 501, "options": ["a", "b"]},
    ]
    for payload in bad_polls:
        ack = await teacher.call("poll_create", payload)
        assert ack["ok"] is False and ack["error"]["code"] == "INVALID_PAYLOAD", (payload, ack)
    ack = await teacher.call("poll_show_results", {"poll_id": poll_id})
    assert ack["error"]["code"] == "CONFLICT"  # open: close it first
    assert await store.head(class_id) == head

    # Nothing was counted: the poll still has no responses, and a valid vote still works.
    view = my_poll_view(await teacher.ok("class_snapshot"), poll_id)
    assert view is not None and view["tally"]["responses"] == 0
    await ali.ok("poll_vote", {"poll_id": poll_id, "vote_id": "good", "option": 1})
    assert await store.head(class_id) == head + 1


async def test_anonymous_votes_never_name_the_voter_to_anyone_else(
    running: Running, peers: list[Peer]
) -> None:
    _, teacher, students = await class_of(running, 2, peers)
    poll_id = await open_poll(
        teacher,
        [s for s, _ in students],
        kind="yes_no",
        question="Did you understand?",
        anonymous=True,
    )
    (voter, voter_joined), _ = students
    await voter.ok("poll_vote", {"poll_id": poll_id, "vote_id": "v1", "option": 0})
    await teacher.wait_until(lambda: bool(received(teacher, "poll_voted")))
    live = received(teacher, "poll_voted")[0]
    assert live["by"]["id"] == "" and live["by"]["name"] == ""
    resumed = await teacher.ok("log_resume", {"after_seq": 0})
    votes = [e for e in resumed["events"] if e["type"] == "poll_voted"]
    assert [v["by"]["id"] for v in votes] == [""]
    assert voter_joined["name"] not in str(votes)
    # The voter's own copy still says it is theirs (their app shows "your answer").
    await voter.wait_until(lambda: bool(received(voter, "poll_voted")))
    assert received(voter, "poll_voted")[0]["by"]["id"] == voter_joined["student_id"]
    # ...and the count is right.
    await teacher.wait_until(lambda: any(t["responses"] == 1 for t in tallies_of(teacher, poll_id)))
