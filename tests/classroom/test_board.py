"""The live whiteboard domain: streaming, idempotency, rights, undo, pages, late join."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from classroom import board
from classroom.board import BoardState, Stroke, new_board, propose, snapshot
from classroom.errors import ClassroomError
from classroom.log import Actor, Event
from classroom.protocol import board as proto
from classroom.protocol.board import (
    BoardAllowDrawing,
    BoardErase,
    BoardRedo,
    BoardRevokeDrawing,
    BoardUndo,
    PageAdd,
    PageClear,
    PageDelete,
    PageReorder,
    PageSwitch,
    ShapeAdd,
    StrokeEnd,
    StrokeExtend,
    StrokeStart,
    TextAdd,
)
from classroom.protocol.common import Payload

TEACHER = Actor("teacher", "t1", "Ms Ayesha")
ALI = Actor("student", "s-ali", "Ali")
SARA = Actor("student", "s-sara", "Sara")
PAGE = board.FIRST_PAGE_ID


class Classroom:
    """A tiny in-memory log: propose, number, apply, like the server does."""

    def __init__(self) -> None:
        self.state: BoardState = new_board()
        self.events: list[Event] = []

    def do(self, actor: Actor, payload: Payload) -> list[Event]:
        appended = []
        for proposed in propose(self.state, actor, payload):
            event = Event(
                "class-1",
                len(self.events) + 1,
                proposed.type,
                actor,
                0,
                proposed.data,
                audience=proposed.audience,
            )
            self.events.append(event)
            board.apply(self.state, event)
            appended.append(event)
        return appended

    def fails(self, code: str, actor: Actor, payload: Payload) -> ClassroomError:
        before = json.dumps(snapshot(self.state, TEACHER), sort_keys=True)
        with pytest.raises(ClassroomError) as caught:
            propose(self.state, actor, payload)
        assert caught.value.code == code
        assert json.dumps(snapshot(self.state, TEACHER), sort_keys=True) == before
        return caught.value

    def replayed(self) -> BoardState:
        fresh = new_board()
        for event in self.events:
            board.apply(fresh, event)
        return fresh


def pts(n: int, *, start: int = 0, y: float = 500.0, p: float = 0.5) -> list[Any]:
    return [(100.0 + (3 * i) % 1700, y, p, 16.0 * i) for i in range(start, start + n)]


def start(stroke_id: str, n: int = 0, **kw: Any) -> StrokeStart:
    fields: dict[str, Any] = {
        "stroke_id": stroke_id,
        "page_id": PAGE,
        "tool": "pen",
        "color": "#1A2B3C",
        "width": 6.0,
        "points": pts(n),
    }
    fields.update(kw)
    return StrokeStart(**fields)


def extend(stroke_id: str, offset: int, n: int) -> StrokeExtend:
    return StrokeExtend(stroke_id=stroke_id, offset=offset, points=pts(n, start=offset))


def stroke_of(c: Classroom, stroke_id: str) -> Stroke:
    item = c.state.items[stroke_id]
    assert isinstance(item, Stroke)
    return item


def page_ids(snap: dict[str, Any], page: str = PAGE) -> list[str]:
    return [item["id"] for p in snap["pages"] if p["id"] == page for item in p["items"]]


def page_visible(c: Classroom, viewer: Actor) -> list[str]:
    return [
        i["id"] for i in snapshot(c.state, viewer)["pages"][0]["items"] if not i.get("hidden_by")
    ]


@pytest.fixture
def c() -> Classroom:
    return Classroom()


# --- streaming and idempotency ----------------------------------------------------------------


def test_stroke_streams_in_batches_and_every_device_gets_the_same_points(c: Classroom) -> None:
    c.do(TEACHER, start("k1", 2))
    c.do(TEACHER, extend("k1", 2, 3))
    [ended] = c.do(TEACHER, StrokeEnd(stroke_id="k1", length=5))
    assert ended.type == "stroke_ended" and ended.data == {"id": "k1", "n": 5}
    [item] = snapshot(c.state, ALI)["pages"][0]["items"]
    assert item["done"] is True and item["color"] == "#1a2b3c"
    assert item["pts"][:8] == [100.0, 500.0, 0.5, 0.0, 103.0, 500.0, 0.5, 16.0]
    assert len(item["pts"]) == 5 * 4


def test_points_are_stored_rounded(c: Classroom) -> None:
    c.do(TEACHER, start("k1", 0, points=[(10.04, 20.06, 0.12345, 3.6)]))
    assert stroke_of(c, "k1").pts == [10.0, 20.1, 0.123, 4.0]


def test_retried_start_and_batch_are_applied_once(c: Classroom) -> None:
    c.do(TEACHER, start("k1", 2))
    assert c.do(TEACHER, start("k1", 2)) == []
    c.do(TEACHER, extend("k1", 2, 4))
    assert c.do(TEACHER, extend("k1", 2, 4)) == []
    assert stroke_of(c, "k1").length == 6
    assert c.do(TEACHER, StrokeEnd(stroke_id="k1", length=6))
    assert c.do(TEACHER, StrokeEnd(stroke_id="k1", length=6)) == []


def test_lost_batch_is_reported_as_gap_with_expected_offset(c: Classroom) -> None:
    c.do(TEACHER, start("k1", 2))
    err = c.fails("GAP", TEACHER, extend("k1", 10, 3))
    assert err.to_dict()["expected_offset"] == 2
    assert (
        c.fails("GAP", TEACHER, StrokeEnd(stroke_id="k1", length=9)).to_dict()["expected_offset"]
        == 2
    )


def test_overlapping_retry_appends_only_the_new_tail(c: Classroom) -> None:
    c.do(TEACHER, start("k1", 4))
    [event] = c.do(TEACHER, extend("k1", 2, 5))
    assert event.data["offset"] == 4 and len(event.data["pts"]) == 3 * 4
    assert stroke_of(c, "k1").pts == board._flat_points(pts(7))


def test_batch_that_rewrites_stored_points_is_a_conflict(c: Classroom) -> None:
    c.do(TEACHER, start("k1", 4))
    other = StrokeExtend(stroke_id="k1", offset=2, points=pts(2, y=900.0))
    c.fails("CONFLICT", TEACHER, other)


def test_concurrent_duplicate_batches_apply_once(c: Classroom) -> None:
    c.do(TEACHER, start("k1", 2))
    first = propose(c.state, TEACHER, extend("k1", 2, 3))
    second = propose(c.state, TEACHER, extend("k1", 2, 3))  # another process, same retry
    for seq, proposed in enumerate(first + second, start=100):
        board.apply(c.state, Event("class-1", seq, proposed.type, TEACHER, 0, proposed.data))
    assert stroke_of(c, "k1").length == 5


def test_stroke_point_cap(c: Classroom) -> None:
    c.do(TEACHER, start("k1", 0))
    offset = 0
    while offset + 64 <= proto.MAX_STROKE_POINTS:
        c.do(TEACHER, extend("k1", offset, 64))
        offset += 64
    c.fails("PAYLOAD_TOO_LARGE", TEACHER, extend("k1", offset, 64))


def test_stroke_on_missing_page_is_not_found(c: Classroom) -> None:
    c.fails("NOT_FOUND", TEACHER, start("k1", 1, page_id="nope"))


def test_extending_someone_elses_stroke_is_not_found(c: Classroom) -> None:
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t"))
    c.do(TEACHER, start("k1", 1))
    c.fails("NOT_FOUND", ALI, extend("k1", 1, 1))


def test_time_going_backwards_between_batches_is_rejected(c: Classroom) -> None:
    c.do(TEACHER, start("k1", 3))
    late = StrokeExtend(stroke_id="k1", offset=3, points=[(10.0, 10.0, 0.5, 1.0)])
    c.fails("INVALID_PAYLOAD", TEACHER, late)


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (StrokeExtend, {"stroke_id": "k", "offset": 0, "points": [[math.nan, 1, 0.5, 0]]}),
        (StrokeExtend, {"stroke_id": "k", "offset": 0, "points": [[1, math.inf, 0.5, 0]]}),
        (StrokeExtend, {"stroke_id": "k", "offset": 0, "points": [[1921, 1, 0.5, 0]]}),
        (StrokeExtend, {"stroke_id": "k", "offset": 0, "points": [[1, -1, 0.5, 0]]}),
        (StrokeExtend, {"stroke_id": "k", "offset": 0, "points": [[1, 1, 1.5, 0]]}),
        (StrokeExtend, {"stroke_id": "k", "offset": 0, "points": [["1", 1, 0.5, 0]]}),
        (StrokeExtend, {"stroke_id": "k", "offset": 0, "points": [[True, 1, 0.5, 0]]}),
        (StrokeExtend, {"stroke_id": "k", "offset": 0, "points": [[1, 1, 0.5]]}),
        (StrokeExtend, {"stroke_id": "k", "offset": 0, "points": [[1, 1, 0.5, 5]] * 65}),
        (StrokeExtend, {"stroke_id": "k", "offset": 0, "points": [[1, 1, 0.5, 9], [1, 1, 0.5, 2]]}),
        (StrokeExtend, {"stroke_id": "k", "offset": 0, "points": []}),
        (StrokeExtend, {"stroke_id": "k" * 65, "offset": 0, "points": [[1, 1, 0.5, 0]]}),
        (
            StrokeStart,
            {"stroke_id": "k", "page_id": PAGE, "tool": "laser", "color": "#000000", "width": 4},
        ),
        (
            StrokeStart,
            {"stroke_id": "k", "page_id": PAGE, "tool": "pen", "color": "red", "width": 4},
        ),
        (
            StrokeStart,
            {"stroke_id": "k", "page_id": PAGE, "tool": "pen", "color": "#00000", "width": 4},
        ),
        (
            StrokeStart,
            {"stroke_id": "k", "page_id": PAGE, "tool": "pen", "color": "#000000", "width": 500},
        ),
        (
            StrokeStart,
            {
                "stroke_id": "k",
                "page_id": PAGE,
                "tool": "pen",
                "color": "#000000",
                "width": 4,
                "extra": 1,
            },
        ),
        (
            TextAdd,
            {
                "text_id": "t",
                "page_id": PAGE,
                "text": "x" * 501,
                "x": 1,
                "y": 1,
                "size": 20,
                "color": "#000000",
            },
        ),
        (
            TextAdd,
            {
                "text_id": "t",
                "page_id": PAGE,
                "text": "a\x00b",
                "x": 1,
                "y": 1,
                "size": 20,
                "color": "#000000",
            },
        ),
        (
            TextAdd,
            {
                "text_id": "t",
                "page_id": PAGE,
                "text": "   ",
                "x": 1,
                "y": 1,
                "size": 20,
                "color": "#000000",
            },
        ),
        (
            ShapeAdd,
            {
                "shape_id": "s",
                "page_id": PAGE,
                "kind": "star",
                "start": [0, 0],
                "end": [1, 1],
                "color": "#000000",
                "width": 2,
            },
        ),
        (PageAdd, {"page_id": "p2", "background": {"kind": "image"}}),
        (PageAdd, {"page_id": "p2", "background": {"kind": "grid", "image": "img1"}}),
        (BoardErase, {"op_id": "e", "page_id": PAGE, "ids": ["a"] * 501}),
    ],
)
def test_bad_payloads_are_rejected_by_the_schema(model: type[Payload], fields: Any) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(fields)


def test_json_arrays_and_integers_are_accepted_as_points() -> None:
    batch = StrokeExtend.model_validate(
        {"stroke_id": "k", "offset": 0, "points": [[1, 2, 1, 0], [3.5, 4, 0.25, 16.7]]}
    )
    assert batch.points[1] == (3.5, 4.0, 0.25, 16.7)


# --- tools, shapes, text ----------------------------------------------------------------------


def test_shapes_and_texts_are_stored_with_direction_detected(c: Classroom) -> None:
    c.do(
        TEACHER,
        ShapeAdd(
            shape_id="s1",
            page_id=PAGE,
            kind="arrow",
            start=(10, 20),
            end=(300, 400),
            color="#FF0000",
            width=4,
        ),
    )
    c.do(
        TEACHER,
        TextAdd(
            text_id="u1",
            page_id=PAGE,
            text="پاکستان زندہ باد",
            x=900,
            y=100,
            size=48,
            color="#000000",
        ),
    )
    c.do(
        TEACHER,
        TextAdd(
            text_id="e1",
            page_id=PAGE,
            text="3. Photosynthesis",
            x=10,
            y=10,
            size=32,
            color="#000000",
        ),
    )
    items = {i["id"]: i for i in snapshot(c.state, ALI)["pages"][0]["items"]}
    assert items["s1"]["pts"] == [10, 20, 300, 400] and items["s1"]["color"] == "#ff0000"
    assert items["u1"]["dir"] == "rtl" and items["u1"]["text"] == "پاکستان زندہ باد"
    assert items["e1"]["dir"] == "ltr"


def test_item_cap_per_page(c: Classroom, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board, "MAX_ITEMS_PER_PAGE", 2)
    c.do(TEACHER, start("a"))
    c.do(TEACHER, start("b"))
    c.fails("LIMIT_EXCEEDED", TEACHER, start("c"))


# --- drawing rights and private ink -----------------------------------------------------------


def test_students_cannot_draw_until_allowed(c: Classroom) -> None:
    c.fails("FORBIDDEN", ALI, start("a1", 1))
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t", students=["s-ali"]))
    assert c.do(ALI, start("a1", 1))
    c.fails("FORBIDDEN", SARA, start("s1", 1))
    c.fails("FORBIDDEN", Actor("board", "cam-1"), start("b1", 1))


def test_only_teacher_manages_pages_and_rights(c: Classroom) -> None:
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t"))
    c.fails("FORBIDDEN", ALI, PageAdd(page_id="p2"))
    c.fails("FORBIDDEN", ALI, PageClear(page_id=PAGE, op_id="c1"))
    c.fails(
        "FORBIDDEN", ALI, BoardAllowDrawing(client_id="boardallowdrawing-t", students=["s-sara"])
    )


def test_teacher_only_ink_is_hidden_from_other_students(c: Classroom) -> None:
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t", ink="teacher"))
    [started] = c.do(ALI, start("a1", 3))
    assert started.audience == "author"
    assert started.visible_to(TEACHER) and started.visible_to(ALI)
    assert not started.visible_to(SARA)
    [extended] = c.do(ALI, extend("a1", 3, 2))
    assert not extended.visible_to(SARA)
    assert page_ids(snapshot(c.state, SARA)) == []
    assert "a1" not in json.dumps(snapshot(c.state, SARA))
    assert page_ids(snapshot(c.state, ALI)) == ["a1"]
    assert page_ids(snapshot(c.state, TEACHER)) == ["a1"]


def test_shared_student_ink_is_seen_by_everyone(c: Classroom) -> None:
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t", ink="class"))
    c.do(ALI, start("a1", 3))
    assert page_ids(snapshot(c.state, SARA)) == ["a1"]


def test_revoking_ends_strokes_in_progress_and_forbids_more(c: Classroom) -> None:
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t"))
    c.do(ALI, start("a1", 3))
    c.do(SARA, start("s1", 3))
    c.do(TEACHER, BoardRevokeDrawing(client_id="boardrevokedrawing-t", students=["s-ali"]))
    assert stroke_of(c, "a1").done and not stroke_of(c, "s1").done
    c.fails("FORBIDDEN", ALI, extend("a1", 3, 2))
    assert c.do(SARA, extend("s1", 3, 2))
    c.do(
        TEACHER,
        BoardRevokeDrawing(client_id="boardrevokedrawing-t"),
    )
    assert stroke_of(c, "s1").done
    c.fails("FORBIDDEN", SARA, start("s2", 1))


def test_stroke_started_after_revoke_in_log_order_is_ignored(c: Classroom) -> None:
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t"))
    raced = propose(c.state, ALI, start("a1", 2))  # proposed before the revoke is appended
    c.do(
        TEACHER,
        BoardRevokeDrawing(client_id="boardrevokedrawing-t"),
    )
    board.apply(c.state, Event("class-1", 99, raced[0].type, ALI, 0, raced[0].data))
    assert "a1" not in c.state.items


# --- erase, clear, undo -----------------------------------------------------------------------


def test_undo_by_one_author_leaves_other_authors_ink(c: Classroom) -> None:
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t"))
    c.do(TEACHER, start("t-1", 2))
    c.do(ALI, start("a-1", 2))
    c.do(TEACHER, start("t-2", 2))
    [undone] = c.do(ALI, BoardUndo(client_id="boardundo-t"))
    assert undone.data == {"op": "a-1", "kind": "add", "ids": ["a-1"]}
    assert page_visible(c, SARA) == ["t-1", "t-2"]
    c.fails("CONFLICT", ALI, BoardUndo(client_id="boardundo-t"))
    c.do(ALI, BoardRedo(client_id="boardredo-t"))
    assert page_visible(c, SARA) == ["t-1", "a-1", "t-2"]
    c.do(TEACHER, BoardUndo(client_id="boardundo-t"))
    assert page_visible(c, SARA) == ["t-1", "a-1"]


def test_retried_undo_naming_its_op_is_applied_once(c: Classroom) -> None:
    c.do(TEACHER, start("t-1", 1))
    c.do(TEACHER, start("t-2", 1))
    assert c.do(TEACHER, BoardUndo(client_id="boardundo-t", op_id="t-2"))
    assert c.do(TEACHER, BoardUndo(client_id="boardundo-t", op_id="t-2")) == []
    assert page_visible(c, TEACHER) == ["t-1"]


def test_new_operation_clears_redo(c: Classroom) -> None:
    c.do(TEACHER, start("t-1", 1))
    c.do(TEACHER, BoardUndo(client_id="boardundo-t"))
    c.do(TEACHER, start("t-2", 1))
    c.fails("CONFLICT", TEACHER, BoardRedo(client_id="boardredo-t"))
    assert "t-1" not in json.dumps(snapshot(c.state, TEACHER))


def test_erase_and_its_undo(c: Classroom) -> None:
    c.do(TEACHER, start("t-1", 1))
    c.do(TEACHER, start("t-2", 1))
    [erased] = c.do(TEACHER, BoardErase(op_id="e-1", page_id=PAGE, ids=["t-1", "t-2"]))
    assert erased.data["ids"] == ["t-1", "t-2"]
    assert c.do(TEACHER, BoardErase(op_id="e-1", page_id=PAGE, ids=["t-1", "t-2"])) == []
    assert page_visible(c, ALI) == []
    # A late joiner still learns of the erased items, since an undo may bring them back.
    hidden = snapshot(c.state, ALI)["pages"][0]["items"]
    assert [i["hidden_by"] for i in hidden] == [["e-1"], ["e-1"]]
    c.do(TEACHER, BoardUndo(client_id="boardundo-t"))
    assert [i.get("hidden_by") for i in snapshot(c.state, ALI)["pages"][0]["items"]] == [
        None,
        None,
    ]


def test_students_erase_only_their_own_ink(c: Classroom) -> None:
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t"))
    c.do(TEACHER, start("t-1", 1))
    c.do(ALI, start("a-1", 1))
    c.fails("FORBIDDEN", SARA, BoardErase(op_id="e-s", page_id=PAGE, ids=["a-1"]))
    c.fails("FORBIDDEN", ALI, BoardErase(op_id="e-a", page_id=PAGE, ids=["t-1"]))
    c.fails("NOT_FOUND", ALI, BoardErase(op_id="e-a", page_id=PAGE, ids=["ghost"]))
    assert c.do(ALI, BoardErase(op_id="e-a", page_id=PAGE, ids=["a-1"]))
    assert page_visible(c, SARA) == ["t-1"]


def test_teacher_deletion_survives_the_students_undo_and_redo(c: Classroom) -> None:
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t"))
    c.do(ALI, start("a-1", 1))
    c.do(TEACHER, BoardErase(op_id="del-1", page_id=PAGE, ids=["a-1"]))
    c.do(ALI, BoardUndo(client_id="boardundo-t"))
    c.do(ALI, BoardRedo(client_id="boardredo-t"))
    assert page_visible(c, SARA) == []
    c.do(TEACHER, BoardUndo(client_id="boardundo-t"))  # only the teacher's own undo restores it
    assert page_visible(c, SARA) == ["a-1"]


def test_clear_page_is_one_undoable_operation(c: Classroom) -> None:
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t", ink="teacher"))
    c.do(TEACHER, start("t-1", 1))
    c.do(ALI, start("a-1", 1))
    c.do(TEACHER, PageClear(page_id=PAGE, op_id="clr-1"))
    assert page_visible(c, TEACHER) == []
    c.do(TEACHER, BoardUndo(client_id="boardundo-t", op_id="clr-1"))
    assert page_visible(c, TEACHER) == ["t-1", "a-1"]
    assert page_visible(c, SARA) == ["t-1"]


# --- pages ------------------------------------------------------------------------------------


def test_pages_add_switch_reorder_delete(c: Classroom) -> None:
    c.do(TEACHER, PageAdd(page_id="p2", background={"kind": "ruled"}))  # type: ignore[arg-type]
    assert c.state.current == "p2"
    c.do(
        TEACHER,
        PageAdd(
            page_id="p0",
            index=0,
            switch=False,
            background=proto.Background(kind="image", image="img-7"),
        ),
    )
    assert c.do(TEACHER, PageAdd(page_id="p0")) == []
    snap = snapshot(c.state, ALI)
    assert snap["order"] == ["p0", PAGE, "p2"] and snap["current"] == "p2"
    assert snap["pages"][0]["background"] == {"kind": "image", "image": "img-7"}
    c.do(TEACHER, PageSwitch(client_id="pageswitch-t", page_id=PAGE))
    c.fails("INVALID_PAYLOAD", TEACHER, PageReorder(client_id="pagereorder-t", order=["p2", "p0"]))
    c.do(TEACHER, PageReorder(client_id="pagereorder-t", order=["p2", "p0", PAGE]))
    c.do(TEACHER, start("k1", 2))
    c.do(TEACHER, PageDelete(client_id="pagedelete-t", page_id=PAGE))
    assert c.state.order == ["p2", "p0"] and c.state.current == "p0"
    assert "k1" not in c.state.items and c.state.undo[("teacher", "t1")] == []
    c.fails("NOT_FOUND", TEACHER, PageSwitch(client_id="pageswitch-t", page_id=PAGE))
    c.do(TEACHER, PageDelete(client_id="pagedelete-t", page_id="p2"))
    c.fails("CONFLICT", TEACHER, PageDelete(client_id="pagedelete-t", page_id="p0"))


def test_page_cap(c: Classroom) -> None:
    for i in range(proto.MAX_PAGES - 1):
        c.do(TEACHER, PageAdd(page_id=f"p{i}", switch=False))
    c.fails("LIMIT_EXCEEDED", TEACHER, PageAdd(page_id="one-too-many"))


# --- late join --------------------------------------------------------------------------------


def test_snapshot_has_strokes_in_progress_rights_and_undo_state(c: Classroom) -> None:
    c.do(TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t", students=["s-ali"]))
    c.do(ALI, start("a-1", 3))
    snap = snapshot(c.state, SARA)
    [item] = snap["pages"][0]["items"]
    assert item["done"] is False and len(item["pts"]) == 12
    assert item["by"] == {"role": "student", "id": "s-ali"}
    assert snap["drawing"]["may_draw"] is False and "allowed" not in snap["drawing"]
    assert snapshot(c.state, ALI)["undo"] == {"next": "a-1", "depth": 1}
    assert snapshot(c.state, TEACHER)["drawing"]["allowed"] == ["s-ali"]
    assert snap["seq"] == len(c.events)
    json.dumps(snap)


# --- protocol declarations --------------------------------------------------------------------


def test_every_board_event_is_declared_and_dispatched() -> None:
    names = [spec.name for spec in proto.EVENTS]
    assert len(names) == len(set(names))
    for spec in proto.EVENTS:
        assert spec.feature == "board"
        assert spec.payload in board._PROPOSERS
        assert spec.name.split("_")[0] in {"stroke", "page", "board"}
    assert {b.name for b in proto.BROADCASTS} == board.BOARD_EVENT_TYPES
    assert all(b.name.endswith(("ed", "_set", "done")) for b in proto.BROADCASTS)
    assert not {b.name for b in proto.BROADCASTS} & set(names)
    json.dumps(proto.FREEHAND_OPTIONS)


# --- random sequences keep the invariants -----------------------------------------------------

ACTORS = (TEACHER, ALI, SARA)
IDS = ("a", "b", "c")
PAGES = (PAGE, "p2", "p3")


@st.composite
def operations(draw: st.DrawFn) -> tuple[Actor, Payload, bool]:
    """An actor, a payload, and whether to aim stroke offsets/lengths at the stored length."""
    actor = draw(st.sampled_from(ACTORS))
    aim = draw(st.integers(0, 3)) > 0
    sid = actor.id[-1] + draw(st.sampled_from(IDS))
    page = draw(st.sampled_from((PAGE, PAGE, *PAGES)))
    kind = draw(st.sampled_from((0, 1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)))
    n = draw(st.integers(1, 4))
    payload: Payload
    if kind <= 1:
        payload = start(sid, n, page_id=page, tool=draw(st.sampled_from(["pen", "highlighter"])))
    elif kind <= 3:
        payload = extend(sid, draw(st.integers(0, 8)), n)
    elif kind == 4 and draw(st.booleans()):
        payload = TextAdd(
            text_id="tx" + sid,
            page_id=page,
            text="سبق " + sid,
            x=500,
            y=60,
            size=30,
            color="#112233",
        )
    elif kind == 4:
        payload = StrokeEnd(stroke_id=sid, length=draw(st.integers(0, 8)))
    elif kind == 5:
        payload = BoardErase(
            op_id="x" + sid + str(n),
            page_id=page,
            ids=[
                actor.id[-1] + i
                for i in draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=2))
            ],
        )
    elif kind in (6, 14):
        payload = BoardUndo(client_id="boardundo-t")
    elif kind in (7, 15):
        payload = BoardRedo(client_id="boardredo-t")
    elif kind == 8:
        payload = PageAdd(page_id=page, index=draw(st.integers(0, 3)))
    elif kind == 9:
        payload = PageDelete(client_id="pagedelete-t", page_id=page)
    elif kind == 10:
        payload = PageClear(page_id=page, op_id="c" + sid + str(n))
    elif kind == 11:
        payload = BoardAllowDrawing(
            client_id="boardallowdrawing-t",
            students=draw(st.none() | st.lists(st.sampled_from(["s-ali", "s-sara"]))),
            ink=draw(st.sampled_from(["class", "teacher"])),
        )
    elif kind == 12:
        payload = BoardRevokeDrawing(
            client_id="boardrevokedrawing-t",
            students=draw(st.none() | st.lists(st.sampled_from(["s-ali", "s-sara"]))),
        )
    else:
        payload = ShapeAdd(
            shape_id="sh" + sid,
            page_id=page,
            kind="ellipse",
            start=(1, 2),
            end=(30, 40),
            color="#00ff00",
            width=3,
        )
    if 8 <= kind <= 12 and draw(st.integers(0, 4)) > 0:
        actor = TEACHER  # students mostly cannot manage pages: keep most attempts meaningful
    return actor, payload, aim


def aimed(state: BoardState, actor: Actor, payload: Payload) -> Payload:
    """Aim an extend/end at the stroke's current length, an erase at the actor's own ink."""
    if isinstance(payload, BoardErase):
        page = state.pages.get(payload.page_id)
        mine = (actor.role, actor.id)
        own = [i.id for i in page.items.values() if i.author == mine] if page else []
        return payload.model_copy(update={"ids": own[-2:]}) if own else payload
    stroke = state.items.get(getattr(payload, "stroke_id", ""))
    if not isinstance(stroke, Stroke):
        return payload
    if isinstance(payload, StrokeExtend):
        return extend(stroke.id, stroke.length, len(payload.points))
    if isinstance(payload, StrokeEnd):
        return StrokeEnd(stroke_id=stroke.id, length=stroke.length)
    return payload


def check_invariants(state: BoardState) -> None:
    assert sorted(state.order) == sorted(state.pages) and state.current in state.pages
    on_pages = {i for p in state.pages.values() for i in p.items}
    assert on_pages == set(state.items)
    for page in state.pages.values():
        for item in page.items.values():
            assert item.page == page.id
    for stacks in (state.undo, state.redo):
        for stack in stacks.values():
            assert all(op_id in state.ops for op_id in stack)
    for item in state.items.values():
        if isinstance(item, Stroke):
            assert len(item.pts) % 4 == 0 and item.length <= proto.MAX_STROKE_POINTS


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans(), st.lists(operations(), min_size=10, max_size=50))
def test_random_operations_keep_the_board_consistent(
    private: bool, ops: list[tuple[Actor, Payload, bool]]
) -> None:
    c = Classroom()
    c.do(
        TEACHER,
        BoardAllowDrawing(client_id="boardallowdrawing-t", ink="teacher" if private else "class"),
    )
    for actor, payload, aim in ops:
        with contextlib.suppress(ClassroomError):
            c.do(actor, aimed(c.state, actor, payload) if aim else payload)
        check_invariants(c.state)
    replay = c.replayed()
    for viewer in ACTORS:
        snap = snapshot(c.state, viewer)
        assert json.loads(json.dumps(snap)) == snap
        assert snapshot(replay, viewer) == snap  # apply is deterministic
    for viewer, other in ((ALI, SARA), (SARA, ALI)):
        for page in snapshot(c.state, viewer)["pages"]:
            for item in page["items"]:
                assert not (item.get("aud") == "author" and item["by"]["id"] == other.id)
