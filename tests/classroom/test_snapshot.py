"""Board snapshots in pieces, pinned to one seq, and the compact storage of stroke points."""

from __future__ import annotations

import copy
import tracemalloc
from typing import Any

import pytest

from classroom import board, lesson
from classroom.board import snapshot
from classroom.log import Actor, Event
from classroom.protocol.board import (
    BoardErase,
    BoardUndo,
    PageAdd,
    PageDelete,
    ShapeAdd,
    StrokeEnd,
    TextAdd,
)
from tests.classroom.test_board import ALI, PAGE, TEACHER, Classroom, extend, start

SCALES = (10, 10, 1000, 1)


def undelta(q: list[int]) -> list[float]:
    """The wire's delta-coded integer points back as the log's flat floats."""
    values: list[int] = []
    for i, v in enumerate(q):
        values.append(v if i < 4 else values[i - 4] + v)
    return [v / SCALES[i % 4] for i, v in enumerate(values)]


def assembled(board_pin: board.BoardPin, head: dict[str, Any], piece_bytes: int) -> dict[str, Any]:
    """Put a pinned board together piece by piece, as a client does, strokes back as ``pts``."""
    whole = copy.deepcopy(head)
    by_page = {page["id"]: page["items"] for page in whole["pages"]}
    index = 0
    pieces = 0
    while index < len(board_pin.items):
        pages, index = board.pin_piece(board_pin, index, piece_bytes)
        pieces += 1
        for page in pages:
            for item in page["items"]:
                if "q" in item:
                    item["pts"] = undelta(item.pop("q"))
                by_page[page["id"]].append(item)
    whole["pieces"] = pieces
    return whole


def lesson_with_everything(c: Classroom) -> None:
    c.do(TEACHER, start("k1", 5))
    c.do(TEACHER, extend("k1", 5, 40))
    c.do(TEACHER, StrokeEnd(stroke_id="k1", length=45))
    c.do(TEACHER, start("k2", 7))  # still being drawn
    c.do(TEACHER, ShapeAdd(shape_id="sh1", page_id=PAGE, kind="arrow", start=(1, 2), end=(300, 400),
                           color="#ff0000", width=3))  # fmt: skip
    c.do(TEACHER, TextAdd(text_id="tx1", page_id=PAGE, text="سلام", x=10, y=20, size=40,
                          color="#000000"))  # fmt: skip
    c.do(TEACHER, BoardErase(op_id="er1", page_id=PAGE, ids=["sh1"]))
    c.do(TEACHER, PageAdd(page_id="p2", switch=False))
    for k in range(30):
        c.do(TEACHER, start(f"m{k}", 60, page_id="p2"))
        c.do(TEACHER, StrokeEnd(stroke_id=f"m{k}", length=60))
    c.do(TEACHER, start("gone", 3))
    c.do(TEACHER, BoardUndo(op_id="gone", client_id="u0"))


@pytest.mark.parametrize("viewer", [TEACHER, ALI])
def test_pieces_put_together_are_the_whole_snapshot(viewer: Actor) -> None:
    c = Classroom()
    lesson_with_everything(c)
    whole = snapshot(c.state, viewer)
    board_pin = board.pin(c.state, viewer)
    got = assembled(board_pin, board.snapshot_head(c.state, viewer), piece_bytes=2000)
    assert got.pop("pieces") > 5
    assert got == whole


def test_a_pinned_snapshot_stays_at_its_seq_while_the_board_changes() -> None:
    c = Classroom()
    lesson_with_everything(c)
    at_pin = copy.deepcopy(snapshot(c.state, TEACHER))
    head = board.snapshot_head(c.state, TEACHER)
    board_pin = board.pin(c.state, TEACHER)
    # After the pin: the open stroke grows and ends, an item is erased, one is restored,
    # new ink arrives, and a whole page goes.
    c.do(TEACHER, extend("k2", 7, 20))
    c.do(TEACHER, StrokeEnd(stroke_id="k2", length=27))
    c.do(TEACHER, BoardErase(op_id="er2", page_id=PAGE, ids=["k1"]))
    c.do(TEACHER, BoardUndo(op_id="er2", client_id="u1"))
    c.do(TEACHER, BoardUndo(op_id="er2", client_id="u1"))  # a no-op retry
    c.do(TEACHER, start("new", 4))
    c.do(TEACHER, PageDelete(page_id="p2", client_id="d1"))
    assert snapshot(c.state, TEACHER) != at_pin
    got = assembled(board_pin, head, piece_bytes=1500)
    got.pop("pieces")
    assert got == at_pin


def test_a_stored_point_takes_under_20_bytes() -> None:
    """156 bytes a point before (a list of Python floats); 16 in the int32 array, plus items."""
    c = Classroom()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    strokes, per_stroke = 100, 1000
    for k in range(strokes):
        pts = [(100 + i % 1700, 200 + k, 0.5, 16 * i) for i in range(per_stroke)]
        flat = [float(v) for p in pts for v in p]
        event = Event("class-1", len(c.events) + 1, "stroke_started", TEACHER, 0,
                      {"id": f"s{k}", "page": PAGE, "tool": "pen", "color": "#000000",
                       "width": 4.0, "pts": flat})  # fmt: skip
        board.apply(c.state, event)
        del event, flat, pts
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    per_point = used / (strokes * per_stroke)
    assert c.state.points == strokes * per_stroke
    print(f"{per_point:.1f} bytes a point")
    assert per_point < 20, f"{per_point:.1f} bytes a point"


def test_the_board_refuses_points_past_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board, "MAX_BOARD_POINTS", 100)
    c = Classroom()
    c.do(TEACHER, start("k1", 60))
    c.fails("PAYLOAD_TOO_LARGE", TEACHER, extend("k1", 60, 50))
    c.fails("PAYLOAD_TOO_LARGE", TEACHER, start("k2", 50))
    c.do(TEACHER, extend("k1", 60, 40))
    assert c.state.points == 100
    # Memory comes back with the page that held the points.
    c.do(TEACHER, PageAdd(page_id="p2", switch=True))
    c.do(TEACHER, PageDelete(page_id=PAGE, client_id="d2"))
    assert c.state.points == 0
    c.do(TEACHER, start("k3", 50, page_id="p2"))
    assert c.replayed().points == c.state.points == 50


def test_the_stored_points_read_back_as_the_log_has_them() -> None:
    c = Classroom()
    c.do(TEACHER, start("k1", 3))
    [event] = c.do(TEACHER, extend("k1", 3, 5))
    stroke = c.state.items["k1"]
    assert isinstance(stroke, board.Stroke)
    assert stroke.pts[12:] == event.data["pts"]
    assert undelta(board.delta_points(stroke.q, stroke.length)) == stroke.pts
    # Coding the points for a piece leaves the array free to grow (no numpy view is kept).
    c.do(TEACHER, extend("k1", 8, 4))
    assert stroke.length == 12


def test_snapshot_pins_are_one_per_connection_and_short_lived() -> None:
    c = Classroom()
    c.do(TEACHER, start("k1", 3))
    pins = lesson.SnapshotPins(ttl_s=10, max_pins=2)
    board_pin = board.pin(c.state, TEACHER)
    first = pins.start("sid-a", 5, board_pin, now=0)
    second = pins.start("sid-a", 6, board_pin, now=1)
    assert pins.get("sid-a", first.token, now=2) is None  # replaced by the newer one
    assert pins.get("sid-a", second.token, now=2) is second
    assert pins.get("sid-b", second.token, now=2) is None  # another connection's cursor
    pins.start("sid-b", 6, board_pin, now=3)
    pins.start("sid-c", 6, board_pin, now=4)
    assert len(pins) == 2 and pins.get("sid-a", second.token, now=4) is None
    assert pins.get("sid-c", pins.start("sid-c", 7, board_pin, 5).token, now=14.9) is not None
    assert pins.get("sid-b", "x", now=30) is None and len(pins) == 0
