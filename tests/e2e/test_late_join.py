"""A student joining a class with a big board gets it in pieces, in a real browser."""

from __future__ import annotations

from classroom import board
from tests.classroom.test_late_join import fill_board
from tests.e2e.conftest import Pages

STROKE_POINTS_JS = """() => [...window.takhti.session.board.items.values()]
    .filter(i => i.type === 'stroke' && i.done)
    .map(i => [i.id, i.pts.length / 4, i.pts.slice(0, 8), i.pts.slice(-4)])
    .sort((a, b) => a[0].localeCompare(b[0]))"""


async def test_a_late_joiner_loads_a_board_of_many_pieces(pages: Pages) -> None:
    _teacher, cls = await pages.teacher_console()
    class_id = str(cls["class_id"])
    await fill_board(pages.running, class_id, strokes=40, points=2000)  # ~20 pieces
    student = await pages.student(cls["join_code"], "Late Laila")
    await student.wait_for_function(
        "window.takhti.session.ready && window.takhti.session.board.items.size === 40",
        timeout=20_000,
    )
    runtime = await pages.running.services.hub.get(class_id)
    expected = []
    for item in board.visible_items(runtime.state.part("board"), board.FIRST_PAGE_ID, None):
        assert isinstance(item, board.Stroke)
        pts = item.pts
        expected.append([item.id, item.length, pts[:8], pts[-4:]])
    expected.sort(key=lambda row: str(row[0]))
    assert await student.evaluate(STROKE_POINTS_JS) == expected
