"""Ink a class keeps in memory besides its board (recent events for resumes, the idempotency
index) is compact, and comes back exactly as logged: over real sockets, on both stores."""

from __future__ import annotations

import sys
from array import array
from typing import Any

from classroom.log import Actor
from testkit.scenario import read_whole_log
from tests.conftest import TEACHER, Running

PAGE = "page-1"
BATCH = 64


def _points(start: int) -> list[list[float]]:
    # Fractions the log rounds away, and some it keeps.
    return [
        [100.04 + i * 1.37, 200.0 + (i % 9) * 0.55, 0.4567, float(i * 7)]
        for i in range(start, start + BATCH)
    ]


def _held_bytes(pts: Any) -> int:
    """Bytes of memory a kept event's points take (a list of floats counts its floats too)."""
    if isinstance(pts, list):
        return sys.getsizeof(pts) + sum(sys.getsizeof(v) for v in pts)
    return sys.getsizeof(pts)


async def test_kept_ink_is_compact_and_resumes_and_retries_as_logged(running: Running) -> None:
    created = await running.new_class()
    class_id = str(created["class_id"])
    teacher = await running.teacher(class_id)
    start = {
        "stroke_id": "s1",
        "page_id": PAGE,
        "tool": "pen",
        "color": "#223344",
        "width": 3,
        "points": _points(0),
    }
    first = await teacher.ok("stroke_start", start)
    for k in (1, 2, 3):
        payload = {"stroke_id": "s1", "offset": k * BATCH, "points": _points(k * BATCH)}
        await teacher.ok("stroke_extend", payload)
    await teacher.ok("stroke_end", {"stroke_id": "s1", "length": 4 * BATCH})

    runtime = running.services.hub.loaded(class_id)
    assert runtime is not None
    ink = [event for event in runtime.tail if "pts" in event.data]
    assert len(ink) == 4
    held = sum(_held_bytes(event.data["pts"]) for event in ink)
    assert held / (4 * BATCH) < 24, f"{held / (4 * BATCH):.0f} bytes of memory a point"
    assert all(isinstance(event.data["pts"], array) for event in ink)

    # A resume (served from memory) gives what the store holds, float for float.
    resumed = await read_whole_log(teacher)
    stored = await running.services.store.read_after(class_id, 0, 1000)
    viewer = Actor("teacher", TEACHER, TEACHER)
    assert resumed == [event.to_wire_for(viewer) for event in stored]
    points = [v for event in resumed if "pts" in event["data"] for v in event["data"]["pts"]]
    assert len(points) == 4 * 4 * BATCH
    assert all(type(v) is float for v in points)
    assert points[:4] == [100.0, 200.0, 0.457, 0.0]

    # A retry of the first batch, from the idempotency index, answers as the first time did.
    again = await teacher.ok("stroke_start", start)
    assert again["seq"] == first["seq"] and again["duplicate"] is True
    changed = {**start, "points": _points(1)}
    refused = await teacher.call("stroke_start", changed)
    assert refused["ok"] is False
    await teacher.disconnect()
