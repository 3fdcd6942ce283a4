"""Pipelined ink from a real browser to a real server: several batches in flight, a drop mid-stroke."""

from __future__ import annotations

import itertools
from typing import Any

from tests.e2e.conftest import Pages

# Slow the teacher's writes down like a loaded link (60 ms each way) and record, per message,
# what the outbox had in flight: without waiting for acks, batches overlap.
SLOW_LINK_JS = """() => {
  const box = window.takhti.session.conn.outbox;
  const send = box.options.send;
  const ink = { unanswered: 0, most: 0, dropped: false, mostBeforeDrop: 0, sends: [] };
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  box.options.send = async (m) => {
    const batch = m.event === 'stroke_start' || m.event === 'stroke_extend';
    if (batch) {
      ink.unanswered++;
      ink.most = Math.max(ink.most, ink.unanswered);
      if (!ink.dropped) ink.mostBeforeDrop = ink.most;
      if (!ink.stroke) ink.stroke = box.items[0].stroke;
    }
    ink.sends.push([m.event, m.payload.offset ?? 0, (m.payload.points ?? []).length]);
    try {
      await wait(60);
      const ack = await send(m);
      await wait(60);
      return ack;
    } finally {
      if (batch) ink.unanswered--;
    }
  };
  window.ink = ink;
}"""

STORED_JS = """async (id) => {
  const ack = await window.takhti.session.conn.request('class_snapshot', {});
  for (const page of ack.state.board.pages)
    for (const item of page.items) if (item.id === id) return item;
  return null;
}"""


async def test_pipelined_stroke_survives_a_drop_with_every_point_once(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    student = await pages.student(cls["join_code"], "Sana")
    await teacher.evaluate(SLOW_LINK_JS)
    box = await teacher.locator(".board-canvas").bounding_box()

    async def move(i: int) -> None:
        x = box["x"] + (0.05 + 0.009 * i) * box["width"]
        y = box["y"] + (0.5 + (0.1 if i % 2 else -0.1)) * box["height"]
        await teacher.mouse.move(x, y, steps=3)

    await move(0)
    await teacher.mouse.down()
    # A hand drawing for about a second: points keep coming while batches are unanswered.
    for i in range(1, 40):
        await move(i)
        await teacher.wait_for_timeout(12)
    await teacher.wait_for_function("window.ink.unanswered >= 2", timeout=5_000)
    await teacher.evaluate("window.ink.dropped = true; window.takhti.session.conn.simulateDrop()")
    for i in range(40, 80):
        await move(i)
        await teacher.wait_for_timeout(12)
    await teacher.mouse.up()

    stroke_id = await teacher.evaluate("window.ink.stroke.header.stroke_id")
    await teacher.wait_for_function("window.ink.stroke.done", timeout=15_000)
    ink: dict[str, Any] = await teacher.evaluate(
        "({...window.ink, drawn: window.ink.stroke.points.flat(), error: window.ink.stroke.error})"
    )
    assert ink["error"] is None
    assert 2 <= ink["mostBeforeDrop"] <= 4, ink["mostBeforeDrop"]  # pipelined, and bounded
    offsets = [offset for event, offset, _ in ink["sends"] if event == "stroke_extend"]
    assert any(b <= a for a, b in itertools.pairwise(offsets)), "no resend after the drop"
    # The server holds every drawn point exactly once, in order, and the student sees the same.
    stored = await teacher.evaluate(STORED_JS, stroke_id)
    assert stored["pts"] == ink["drawn"]
    assert len(ink["drawn"]) >= 4 * 60
    await student.wait_for_function(
        "(id) => window.takhti.session.board.items.get(id)?.done === true", arg=stroke_id
    )
    seen = await student.evaluate(
        "(id) => window.takhti.session.board.items.get(id).pts", stroke_id
    )
    assert seen == ink["drawn"]
    assert student.errors == []
