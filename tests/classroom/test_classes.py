"""Teachers, classes, joining, reconnecting and the lesson log over real sockets."""

from __future__ import annotations

from testkit.client import Peer
from tests.conftest import Running


async def test_student_joins_with_code_and_teacher_sees_them(running: Running) -> None:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    student, joined = await running.student(str(cls["join_code"]), "Zainab")

    # Presence is logged just after the handshake; the teacher's console hears of it live.
    await teacher.wait_until(lambda: any(e == "student_connected" for e, _ in teacher.events))
    roster = await teacher.ok("roster_get")
    assert [(s["name"], s["online"]) for s in roster["students"]] == [("Zainab", True)]

    await student.ok("hand_raise", {"raised": True})
    await teacher.wait_until(lambda: any(e == "hand_raised" for e, _ in teacher.events))
    raised = next(d for e, d in teacher.events if e == "hand_raised")
    assert raised["data"] == {"student_id": joined["student_id"]}
    assert raised["by"]["role"] == "student"
    await teacher.disconnect()
    await student.disconnect()


async def test_reconnecting_with_token_restores_the_same_student(running: Running) -> None:
    cls = await running.new_class()
    student, joined = await running.student(str(cls["join_code"]), "Bilal")
    await student.ok("hand_raise", {"raised": True, "client_id": "h1"})
    await student.disconnect()

    again = Peer("again")
    await again.connect(running.url, {"token": joined["token"]})
    snap = await again.ok("class_snapshot")
    assert snap["you"]["id"] == joined["student_id"]
    assert snap["state"]["core"]["hands"] == [joined["student_id"]]
    # A retry of the same write after reconnecting is applied once.
    retry = await again.ok("hand_raise", {"raised": True, "client_id": "h1"})
    assert retry["duplicate"] is True
    await again.disconnect()


async def test_resume_returns_every_event_after_seq_in_order(running: Running) -> None:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    students = [await running.student(str(cls["join_code"]), f"S{i}") for i in range(3)]
    for peer, _ in students:
        await peer.ok("hand_raise", {"raised": True})
        await peer.ok("hand_raise", {"raised": False})
    page = await teacher.ok("log_resume", {"after_seq": 0})
    seqs = [e["seq"] for e in page["events"]]
    assert seqs == list(range(1, page["head_seq"] + 1))
    mid = seqs[len(seqs) // 2]
    later = await teacher.ok("log_resume", {"after_seq": mid, "limit": 2})
    assert [e["seq"] for e in later["events"]] == [mid + 1, mid + 2]
    assert later["more"] is True
    # A client ahead of the class (a stale seq from another class or an older copy of the log)
    # learns the real head instead of having its own seq echoed back as the head.
    ahead = await teacher.ok("log_resume", {"after_seq": page["head_seq"] + 1000})
    assert ahead["events"] == [] and ahead["more"] is False
    assert ahead["head_seq"] == page["head_seq"]
    for peer, _ in students:
        await peer.disconnect()
    await teacher.disconnect()
