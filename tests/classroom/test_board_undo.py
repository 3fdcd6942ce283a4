"""Undo and redo over real sockets: a retried press is applied once; an op can be undone again."""

from __future__ import annotations

from typing import Any

from testkit.client import Peer
from tests.conftest import Running


async def _stroke(teacher: Peer, stroke_id: str) -> None:
    await teacher.ok(
        "stroke_start",
        {
            "stroke_id": stroke_id,
            "page_id": "page-1",
            "tool": "pen",
            "color": "#112233",
            "width": 4,
            "points": [[10, 10, 0.5, 0], [40, 40, 0.5, 16]],
        },
    )
    await teacher.ok("stroke_end", {"stroke_id": stroke_id, "length": 2})


def _hidden(snapshot: dict[str, Any]) -> set[str]:
    items = snapshot["state"]["board"]["pages"][0]["items"]
    return {item["id"] for item in items if item.get("hidden_by")}


async def test_a_retried_undo_is_applied_once(running: Running) -> None:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    await _stroke(teacher, "a")
    await _stroke(teacher, "b")
    first = await teacher.ok("board_undo", {"client_id": "press-1"})
    retry = await teacher.ok("board_undo", {"client_id": "press-1"})
    assert retry["duplicate"] is True and retry["seq"] == first["seq"]
    assert _hidden(await teacher.ok("class_snapshot")) == {"b"}

    # The same operation can be redone and undone again (fresh presses, fresh ids).
    await teacher.ok("board_redo", {"client_id": "press-2"})
    assert _hidden(await teacher.ok("class_snapshot")) == set()
    again = await teacher.ok("board_undo", {"client_id": "press-3"})
    assert again["duplicate"] is False
    assert _hidden(await teacher.ok("class_snapshot")) == {"b"}
    await teacher.disconnect()
