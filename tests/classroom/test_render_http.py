"""Page renders over HTTP on a large board: the event loop is not held while one is made."""

from __future__ import annotations

import asyncio
import io
import time

from PIL import Image

from classroom.board import Stroke
from tests.conftest import Running

STROKES = 1_000
FLOATS_PER_STROKE = 4_000  # 1,000 points each: 4 million stored numbers on page 1


async def test_rendering_one_page_does_not_copy_the_whole_board(running_sqlite: Running) -> None:
    running = running_sqlite
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    teacher = await running.teacher(class_id)
    await teacher.ok("page_add", {"page_id": "p2", "background": {"kind": "grid"}})
    # A long lesson's first page, put straight into the live state: sending 4 million
    # numbers over the socket would make this test slow without testing more.
    board = (await running.services.hub.get(class_id)).state.part("board")
    points = [500.0, 500.0, 0.5, 0.0] * (FLOATS_PER_STROKE // 4)
    for i in range(STROKES):
        board.pages["page-1"].items[f"s{i}"] = Stroke(
            f"s{i}", "page-1", ("teacher", "t"), "all", "pen", "#000000", 4.0, list(points), True
        )
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.002)
            gaps.append(time.perf_counter() - started)

    ticking = asyncio.create_task(ticker())
    try:
        status, png = await running.api.request(
            "GET", f"/api/classes/{class_id}/pages/p2.png?scale=0.25", token=running.teacher_token
        )
    finally:
        done.set()
        await ticking
    assert status == 200
    assert Image.open(io.BytesIO(png)).size == (480, 270)
    # A deep copy of the whole board held the loop ~0.5-1 s here; one page's copy: nothing.
    assert max(gaps) < 0.15, f"event loop held for {max(gaps) * 1000:.0f} ms"
    await teacher.disconnect()
