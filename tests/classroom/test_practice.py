"""Practice classes: the server runs simulated students as a child process; the debrief."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from classroom.auth import hash_password
from classroom.classes import TeacherRecord
from classroom.keys import SERVICES
from classroom.practice import PRACTICES
from classroom.settings import Settings
from testkit.client import Api
from tests.conftest import Running, start_app


def _count(events: list[tuple[str, Any]], name: str) -> int:
    return sum(1 for e, _ in events if e == name)


async def test_a_practice_class_fills_runs_changes_ends_and_debriefs(
    running_sqlite: Running,
) -> None:
    running = running_sqlite
    # Children ten times quicker than real ones (the setting is frozen: set for this test).
    object.__setattr__(running.services.settings, "practice_time_scale", 0.1)
    api, token = running.api, running.teacher_token
    status, created = await api.request(
        "POST", "/api/practice", token=token, json={"students": 3, "profile": "calm"}
    )
    assert status == 201, created
    assert created["practice"] is True and created["simulation"]["running"] is True
    class_id = created["class_id"]
    teacher = await running.teacher(class_id)
    await teacher.wait_until(lambda: _count(teacher.events, "student_connected") >= 3, 30)

    # Marked practice in the class list, left out of the lesson list unless asked.
    _, listed = await api.request("GET", "/api/classes", token=token)
    assert [c["practice"] for c in listed["classes"] if c["class_id"] == class_id] == [True]
    _, lessons = await api.request("GET", "/api/lessons", token=token)
    assert class_id not in [lesson["class_id"] for lesson in lessons["lessons"]]
    _, lessons = await api.request("GET", "/api/lessons?practice=include", token=token)
    assert class_id in [lesson["class_id"] for lesson in lessons["lessons"]]

    # Never published: sharing a practice class is refused, over HTTP and the socket.
    status, refused = await api.request(
        "POST", f"/api/classes/{class_id}/share", token=token, json={"shared": True}
    )
    assert status == 409 and refused["error"]["code"] == "CONFLICT"
    ack = await teacher.call("lesson_share", {"shared": True})
    assert ack["error"]["code"] == "CONFLICT"

    # A poll: the simulated votes arrive.
    poll_id = (await teacher.ok("poll_create", {"kind": "yes_no", "question": "Is 9 odd?"}))[
        "poll_id"
    ]
    await teacher.ok("poll_open", {"poll_id": poll_id})

    def responses() -> int:
        tallies = [d["tally"] for e, d in teacher.events if e == "poll_tally"]
        return max((t["responses"] for t in tallies), default=0)

    # Calm students skip an item now and then (8 % each): with 3 of them, wait for the first.
    await teacher.wait_until(lambda: responses() >= 1, 30)
    await teacher.ok("poll_close", {"poll_id": poll_id})
    await teacher.ok("poll_show_results", {"poll_id": poll_id})

    # More students while it runs.
    status, changed = await api.request(
        "POST", f"/api/classes/{class_id}/practice", token=token, json={"students": 4}
    )
    assert status == 200 and changed["students"] == 4
    await teacher.wait_until(lambda: _count(teacher.events, "student_joined") >= 4, 30)

    # Bad input: a clear error, nothing changed.
    for body in ({"students": 0}, {"students": 61}, {"profile": "sleepy"}, {"students": "5"}):
        status, refused = await api.request(
            "POST", f"/api/classes/{class_id}/practice", token=token, json=body
        )
        assert status == 400 and refused["error"]["code"] == "INVALID_PAYLOAD", body
    _, ordinary = await api.request("POST", "/api/classes", token=token, json={"title": "Real"})
    status, refused = await api.request(
        "POST", f"/api/classes/{ordinary['class_id']}/practice", token=token, json={}
    )
    assert status == 409 and refused["error"]["code"] == "CONFLICT"

    # Ending the class stops the students' process.
    status, _ = await api.request("POST", f"/api/classes/{class_id}/end", token=token)
    assert status == 200
    _, state = await api.request("GET", f"/api/classes/{class_id}/practice", token=token)
    assert state["running"] is False and state["error_acks"] == 0

    _, debrief = await api.request("GET", f"/api/classes/{class_id}/debrief", token=token)
    facts = debrief["facts"]
    assert facts["students"] == 4
    [item] = facts["items"]
    assert item["kind"] == "poll" and item["closed"] and item["shown"]
    assert item["answered"] >= 1
    assert any("Is 9 odd?" in line and "results were shown" in line for line in debrief["en"])
    assert any("Is 9 odd?" in line and "نتائج دکھائے گئے" in line for line in debrief["ur"])

    # Ended, it is still never published in the school's library.
    status, refused = await api.request(
        "POST", f"/api/classes/{class_id}/publish", token=token, json={"published": True}
    )
    assert status == 409 and refused["error"]["code"] == "CONFLICT", refused
    _, library = await api.request("GET", "/api/library")
    assert class_id not in [lesson["class_id"] for lesson in library["lessons"]]
    await teacher.disconnect()


async def test_stopping_the_server_stops_its_simulated_students(tmp_path: Path) -> None:
    settings = Settings(
        host="127.0.0.1", port=0, store_url=f"sqlite://{tmp_path / 't.sqlite3'}", data_dir=tmp_path
    )
    runner, url = await start_app(settings)
    store = runner.app[SERVICES].store
    await store.add_teacher(TeacherRecord("rabia", hash_password("correct-horse-9"), 0))
    async with aiohttp.ClientSession() as http:
        api = Api(url, http)
        token = await api.login("rabia", "correct-horse-9")
        status, created = await api.request(
            "POST", "/api/practice", token=token, json={"students": 2}
        )
        assert status == 201
        run = runner.app[PRACTICES].runs[created["class_id"]]
        assert run.running
        # One simulator per class: a change goes to the running one, no second process.
        status, _ = await api.request(
            "POST",
            f"/api/classes/{created['class_id']}/practice",
            token=token,
            json={"profile": "busy"},
        )
        assert status == 200
        assert runner.app[PRACTICES].runs[created["class_id"]] is run and run.running
        await runner.cleanup()
    assert run.proc.returncode is not None  # the child process is gone with the server


async def test_a_practice_request_a_student_might_send_is_refused_and_changes_nothing(
    running_sqlite: Running,
) -> None:
    api, token = running_sqlite.api, running_sqlite.teacher_token
    bodies: list[Any] = [
        {"students": 61},
        {"students": -1},
        {"students": 2.5},
        {"students": True},
        {"profile": "calm; rm -rf /"},
        {"title": "x" * 201},
        {"title": "\u0000"},
        {"students": 3, "seed": "mine"},
        [],
        "practice",
    ]
    for body in bodies:
        status, refused = await api.request("POST", "/api/practice", token=token, json=body)
        assert status == 400 and refused["error"]["code"] == "INVALID_PAYLOAD", body
    status, refused = await api.request("POST", "/api/practice", json={"students": 2})
    assert status == 401 and refused["error"]["code"] == "UNAUTHORIZED"
    # A student's token is not a teacher's.
    cls = await running_sqlite.new_class()
    joined = await api.join(str(cls["join_code"]), "Ali")
    status, refused = await api.request(
        "POST", "/api/practice", token=str(joined["token"]), json={"students": 2}
    )
    assert status in (401, 403)
    _, listed = await api.request("GET", "/api/classes", token=token)
    assert not any(c["practice"] for c in listed["classes"])  # nothing was made
    assert running_sqlite.app[PRACTICES].runs == {}
