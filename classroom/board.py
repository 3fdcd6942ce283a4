"""The live shared whiteboard: pages, strokes, shapes, texts, per-author undo, drawing rights.

A pure projection of the class log (see ``classroom.log``): ``propose_*`` functions check a request
and return the events to append, ``apply`` folds an appended event in, ``snapshot`` gives a joining
client the board it may see. Coordinates, limits and payloads are in ``classroom.protocol.board``.

Model
-----
* Items (strokes, shapes, texts) live on pages; insertion order is drawing order.
* Item ids, erase ids and clear ids are client-made and share one namespace of *operation ids*
  (``ops``): adding an item is the operation with the item's id.
* An item is hidden while its ``hidden_by`` set is not empty. Undoing an add puts the item's own
  id in it; an erase or a clear puts its op id in the set of every item it hid; undoing the erase
  takes it out again. So a teacher's erase of a student's ink survives the student's undo/redo.
* Undoable operations: add stroke/shape/text, erase, clear page. Each author (role, id) has an
  undo stack and a redo stack of op ids; a new operation empties that author's redo stack. Page
  add/switch/reorder/delete/background and drawing rights are not undoable.
* Students draw only while allowed. With ``ink == "teacher"`` a student's new items are logged with
  audience ``"author"``: teachers and the student see them, other students do not.
* Visibility of ids: ids of teacher-only ink may appear in ``items_erased``/``page_cleared``/undo
  events sent to the whole class (never the ink itself); clients ignore ids they do not know.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import cycle
from typing import Any, Literal

import numpy as np

from classroom.errors import (
    ClassroomError,
    Conflict,
    Forbidden,
    InvalidPayload,
    NotFound,
    PayloadTooLarge,
)
from classroom.log import Actor, Audience, Event, Proposed, Role
from classroom.protocol.board import (
    BOARD_HEIGHT,
    BOARD_WIDTH,
    MAX_BOARD_ITEMS,
    MAX_BOARD_POINTS,
    MAX_ITEMS_PER_PAGE,
    MAX_PAGES,
    MAX_STROKE_POINTS,
    Background,
    BoardAllowDrawing,
    BoardErase,
    BoardRedo,
    BoardRevokeDrawing,
    BoardUndo,
    PageAdd,
    PageClear,
    PageDelete,
    PageReorder,
    PageSetBackground,
    PageSwitch,
    ShapeAdd,
    StrokeEnd,
    StrokeExtend,
    StrokeStart,
    TextAdd,
)
from classroom.protocol.common import Payload

FIRST_PAGE_ID = "page-1"
UNDO_DEPTH = 100

AuthorKey = tuple[Role, str]
DrawingMode = Literal["none", "all", "chosen"]


class StrokeGap(ClassroomError):
    """A stroke batch starts after the stroke's end: a batch was lost; resend from ``expected``."""

    code = "GAP"
    http_status = 409

    def __init__(self, message: str, *, expected_offset: int) -> None:
        super().__init__(message, field="offset")
        self.expected_offset = expected_offset

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["expected_offset"] = self.expected_offset
        return body


class LimitExceeded(ClassroomError):
    """A board limit (pages, items on a page) would be exceeded."""

    code = "LIMIT_EXCEEDED"
    http_status = 409


# --- state ------------------------------------------------------------------------------------


# A stored point is four integers: x and y in tenths of a unit, pressure in thousandths, t in ms
# (the precision the log keeps). 16 bytes a point; a list of floats took ~130.
_SCALES = (10, 10, 1000, 1)


def quantise(flat: Sequence[float]) -> array[int]:
    """Return rounded flat points ``[x, y, pressure, t, ...]`` in their stored integer form."""
    return array("i", [round(v * s) for v, s in zip(flat, cycle(_SCALES), strict=False)])


def unquantise(q: Sequence[int]) -> list[float]:
    """Return stored points as flat floats ``[x, y, pressure, t, ...]`` (the log's form)."""
    return [v / s for v, s in zip(q, cycle(_SCALES), strict=False)]


def delta_points(q: array[int], n: int) -> list[int]:
    """Return the first ``n`` stored points delta-coded: the first point as stored, then each
    value minus the same value of the point before (the compact wire form ``q``)."""
    if n <= 0:
        return []
    # A copy: a numpy view would keep the array from growing while it lives.
    values = np.frombuffer(q, dtype=np.int32, count=n * 4).astype(np.int64)
    deltas = values.copy()
    deltas[4:] -= values[:-4]
    coded: list[int] = deltas.tolist()
    return coded


# Log events that carry ink points ("pts", flat floats), kept compactly where events are kept in
# memory outside the board (the class runtime's tail and idempotency index).
INK_EVENTS = frozenset({"stroke_started", "stroke_extended"})


def compact_ink(event: Event) -> Event:
    """Return ``event`` with its ink points held as stored integers (16 bytes a point instead of
    ~130 as floats), or ``event`` itself where that would not give the same points back."""
    if event.type not in INK_EVENTS:
        return event
    pts = event.data.get("pts")
    if not isinstance(pts, list) or len(pts) % 4 or not all(type(v) is float for v in pts):
        return event
    try:
        q = quantise(pts)
    except (OverflowError, TypeError, ValueError):
        return event
    if unquantise(q) != pts:
        return event
    return replace(event, data={**event.data, "pts": q})


def expand_ink(event: Event) -> Event:
    """Return an event kept by :func:`compact_ink` as it was logged (points as floats)."""
    pts = event.data.get("pts") if event.type in INK_EVENTS else None
    if not isinstance(pts, array):
        return event
    return replace(event, data={**event.data, "pts": unquantise(pts)})


@dataclass(slots=True)
class Stroke:
    """A freehand stroke; ``q`` holds its points quantised (see :func:`quantise`)."""

    id: str
    page: str
    author: AuthorKey
    audience: Audience
    tool: str
    color: str
    width: float
    q: array[int]
    done: bool = False
    hidden_by: set[str] = field(default_factory=set)

    @property
    def length(self) -> int:
        """The number of points."""
        return len(self.q) // 4

    @property
    def pts(self) -> list[float]:
        """The points as flat floats ``[x, y, pressure, t, ...]`` (x, y 0.1; p 0.001; t ms)."""
        return unquantise(self.q)


@dataclass(slots=True)
class Shape:
    """A line, arrow, rectangle or ellipse between two points ``pts = [x1, y1, x2, y2]``."""

    id: str
    page: str
    author: AuthorKey
    audience: Audience
    kind: str
    pts: list[float]
    color: str
    width: float
    hidden_by: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Text:
    """A text; ``(x, y)`` is the top of the first line's start (its right end when ``rtl``)."""

    id: str
    page: str
    author: AuthorKey
    audience: Audience
    text: str
    x: float
    y: float
    size: float
    color: str
    dir: str
    hidden_by: set[str] = field(default_factory=set)


Item = Stroke | Shape | Text


@dataclass(slots=True)
class Op:
    """An undoable operation: ``add`` (of item ``id``) or ``erase`` (hid ``ids``; also clears)."""

    id: str
    author: AuthorKey
    page: str
    kind: Literal["add", "erase"]
    ids: tuple[str, ...]
    audience: Audience


@dataclass(slots=True)
class Page:
    """A page: its background and its items in drawing order."""

    id: str
    background: dict[str, Any]
    items: dict[str, Item] = field(default_factory=dict)


@dataclass(slots=True)
class DrawingRights:
    """Which students may draw, and who sees their new ink.

    ``mode == "all"``: every student except ``denied``; ``"chosen"``: only ``allowed``.
    """

    mode: DrawingMode = "none"
    allowed: set[str] = field(default_factory=set)
    denied: set[str] = field(default_factory=set)
    ink: Literal["class", "teacher"] = "class"

    def may_draw(self, actor: Actor) -> bool:
        """Whether ``actor`` may draw now."""
        if actor.role == "teacher":
            return True
        if actor.role != "student":
            return False
        if self.mode == "all":
            return actor.id not in self.denied
        return self.mode == "chosen" and actor.id in self.allowed


@dataclass(slots=True)
class BoardState:
    """The whiteboard projection of one class."""

    pages: dict[str, Page]
    order: list[str]
    current: str
    items: dict[str, Item] = field(default_factory=dict)
    ops: dict[str, Op] = field(default_factory=dict)
    undo: dict[AuthorKey, list[str]] = field(default_factory=dict)
    redo: dict[AuthorKey, list[str]] = field(default_factory=dict)
    drawing: DrawingRights = field(default_factory=DrawingRights)
    seq: int = 0
    points: int = 0  # stroke points stored on every page, hidden ones included


def new_board() -> BoardState:
    """Return the board of a new class: one blank page, shown to everyone, students not drawing."""
    page = Page(FIRST_PAGE_ID, {"kind": "blank", "image": None})
    return BoardState(pages={page.id: page}, order=[page.id], current=page.id)


# --- helpers ----------------------------------------------------------------------------------


def _key(actor: Actor) -> AuthorKey:
    return (actor.role, actor.id)


def _visible(item: Item, viewer: Actor) -> bool:
    return (
        item.audience == "all"
        or viewer.role == "teacher"
        or (item.author[0] == viewer.role and item.author[1] == viewer.id)
    )


def _require_drawer(state: BoardState, actor: Actor) -> None:
    if not state.drawing.may_draw(actor):
        raise Forbidden("you may not draw on the board now")


def _require_teacher(actor: Actor) -> None:
    if actor.role != "teacher":
        raise Forbidden("only the teacher may do this")


def _page(state: BoardState, page_id: str) -> Page:
    page = state.pages.get(page_id)
    if page is None:
        raise NotFound(f"no page {page_id!r}", field="page_id")
    return page


def _require_room(state: BoardState, page: Page, points: int = 0) -> None:
    if len(page.items) >= MAX_ITEMS_PER_PAGE:
        raise LimitExceeded(f"a page holds at most {MAX_ITEMS_PER_PAGE} items; add a page")
    if len(state.items) >= MAX_BOARD_ITEMS:
        raise LimitExceeded(f"the board holds at most {MAX_BOARD_ITEMS} items; delete a page")
    _require_points(state, points)


def _require_points(state: BoardState, points: int) -> None:
    if state.points + points > MAX_BOARD_POINTS:
        raise PayloadTooLarge(
            f"the board holds at most {MAX_BOARD_POINTS} stroke points; delete a page"
        )


def _new_ink_audience(state: BoardState, actor: Actor) -> Audience:
    if actor.role == "student" and state.drawing.ink == "teacher":
        return "author"
    return "all"


def _check_fresh_id(state: BoardState, op_id: str, actor: Actor, field_name: str) -> bool:
    """Return True if ``op_id`` is new; False if the actor already used it (a retry)."""
    op = state.ops.get(op_id)
    if op is None:
        return True
    if op.author != _key(actor):
        raise Conflict(f"id {op_id!r} is already used", field=field_name)
    return False


def _flat_points(points: Iterable[tuple[float, float, float, float]]) -> list[float]:
    """Round raw points into the stored flat form: x, y to 0.1, pressure to 0.001, t to 1 ms."""
    flat: list[float] = []
    extend = flat.extend
    for x, y, p, t in points:
        extend((round(x, 1), round(y, 1), round(p, 3), float(round(t))))
    return flat


def _background(bg: Background) -> dict[str, Any]:
    return {"kind": bg.kind, "image": bg.image}


def text_direction(text: str) -> Literal["ltr", "rtl"]:
    """Return the direction of ``text`` from its first strong character (Urdu, Arabic: rtl)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


# --- proposals: ink ---------------------------------------------------------------------------


def propose_stroke_start(state: BoardState, actor: Actor, payload: StrokeStart) -> list[Proposed]:
    """Start a stroke; a retry (same id, same author) is a no-op."""
    _require_drawer(state, actor)
    if not _check_fresh_id(state, payload.stroke_id, actor, "stroke_id"):
        return []
    page = _page(state, payload.page_id)
    _require_room(state, page, len(payload.points))
    data = {
        "id": payload.stroke_id,
        "page": page.id,
        "tool": payload.tool,
        "color": payload.color.lower(),
        "width": round(payload.width, 1),
        "pts": _flat_points(payload.points),
    }
    return [Proposed("stroke_started", data, _new_ink_audience(state, actor))]


def _own_stroke(state: BoardState, actor: Actor, stroke_id: str) -> Stroke:
    item = state.items.get(stroke_id)
    if not isinstance(item, Stroke) or item.author != _key(actor):
        # Another author's stroke is reported as missing: ids of private ink must not leak.
        raise NotFound(f"no stroke {stroke_id!r} of yours", field="stroke_id")
    return item


def propose_stroke_extend(state: BoardState, actor: Actor, payload: StrokeExtend) -> list[Proposed]:
    """Append a batch of points; a repeated batch is a no-op, a skipped one raises ``GAP``."""
    _require_drawer(state, actor)
    stroke = _own_stroke(state, actor, payload.stroke_id)
    have = stroke.length
    offset = payload.offset
    if offset > have:
        raise StrokeGap(
            f"stroke {stroke.id!r} has {have} points; batch starts at {offset}",
            expected_offset=have,
        )
    pts = _flat_points(payload.points)
    overlap = min(have - offset, len(payload.points)) * 4
    if overlap and stroke.q[offset * 4 : offset * 4 + overlap] != quantise(pts[:overlap]):
        raise Conflict(f"batch at {offset} differs from the points already stored", field="points")
    if overlap:
        pts = pts[overlap:]
    if not pts:
        return []  # a retried batch
    if stroke.done:
        raise Conflict(f"stroke {stroke.id!r} has ended", field="stroke_id")
    if have + len(pts) // 4 > MAX_STROKE_POINTS:
        raise PayloadTooLarge(f"a stroke holds at most {MAX_STROKE_POINTS} points")
    _require_points(state, len(pts) // 4)
    if stroke.q and round(pts[3]) < stroke.q[-1]:
        raise InvalidPayload("point times must not decrease", field="points")
    data = {"id": stroke.id, "offset": have, "pts": pts}
    return [Proposed("stroke_extended", data, stroke.audience)]


def propose_stroke_end(state: BoardState, actor: Actor, payload: StrokeEnd) -> list[Proposed]:
    """End a stroke once every point has arrived; ending it again is a no-op."""
    _require_drawer(state, actor)
    stroke = _own_stroke(state, actor, payload.stroke_id)
    if stroke.done:
        return []
    have = stroke.length
    if payload.length > have:
        raise StrokeGap(
            f"stroke {stroke.id!r} has {have} of {payload.length} points", expected_offset=have
        )
    if payload.length < have:
        raise Conflict(f"stroke {stroke.id!r} already has {have} points", field="length")
    return [Proposed("stroke_ended", {"id": stroke.id, "n": have}, stroke.audience)]


def propose_shape_add(state: BoardState, actor: Actor, payload: ShapeAdd) -> list[Proposed]:
    """Add a line, arrow, rectangle or ellipse; a retry is a no-op."""
    _require_drawer(state, actor)
    if not _check_fresh_id(state, payload.shape_id, actor, "shape_id"):
        return []
    page = _page(state, payload.page_id)
    _require_room(state, page)
    (x1, y1), (x2, y2) = payload.start, payload.end
    data = {
        "id": payload.shape_id,
        "page": page.id,
        "kind": payload.kind,
        "pts": [round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)],
        "color": payload.color.lower(),
        "width": round(payload.width, 1),
    }
    return [Proposed("shape_added", data, _new_ink_audience(state, actor))]


def propose_text_add(state: BoardState, actor: Actor, payload: TextAdd) -> list[Proposed]:
    """Add a text with its direction detected (Urdu right-to-left); a retry is a no-op."""
    _require_drawer(state, actor)
    if not _check_fresh_id(state, payload.text_id, actor, "text_id"):
        return []
    page = _page(state, payload.page_id)
    _require_room(state, page)
    text = unicodedata.normalize("NFC", payload.text)
    data = {
        "id": payload.text_id,
        "page": page.id,
        "text": text,
        "x": round(payload.x, 1),
        "y": round(payload.y, 1),
        "size": round(payload.size, 1),
        "color": payload.color.lower(),
        "dir": text_direction(text),
    }
    return [Proposed("text_added", data, _new_ink_audience(state, actor))]


def propose_erase(state: BoardState, actor: Actor, payload: BoardErase) -> list[Proposed]:
    """Erase whole items by id as one undoable operation; items already hidden are skipped.

    Students erase only their own items; the teacher may erase (delete) anyone's.
    """
    _require_drawer(state, actor)
    if not _check_fresh_id(state, payload.op_id, actor, "op_id"):
        return []
    page = _page(state, payload.page_id)
    me = _key(actor)
    ids: list[str] = []
    private = True
    for item_id in dict.fromkeys(payload.ids):
        item = page.items.get(item_id)
        if item is None or not _visible(item, actor):
            raise NotFound(f"no item {item_id!r} on page {page.id!r}", field="ids")
        if actor.role != "teacher" and item.author != me:
            raise Forbidden("students may erase only their own ink")
        if not item.hidden_by:
            ids.append(item_id)
            private = private and item.audience == "author"
    if not ids:
        return []
    audience: Audience = "author" if private and actor.role != "teacher" else "all"
    return [Proposed("items_erased", {"op": payload.op_id, "page": page.id, "ids": ids}, audience)]


def propose_undo(state: BoardState, actor: Actor, payload: BoardUndo) -> list[Proposed]:
    """Undo the actor's own latest operation; a retry naming an already-undone op is a no-op."""
    return _propose_undo_redo(state, actor, payload.op_id, redo=False)


def propose_redo(state: BoardState, actor: Actor, payload: BoardRedo) -> list[Proposed]:
    """Redo the actor's own latest undone operation; a retry naming a redone op is a no-op."""
    return _propose_undo_redo(state, actor, payload.op_id, redo=True)


def _propose_undo_redo(
    state: BoardState, actor: Actor, op_id: str | None, *, redo: bool
) -> list[Proposed]:
    _require_drawer(state, actor)
    me = _key(actor)
    stack = (state.redo if redo else state.undo).get(me, [])
    other = (state.undo if redo else state.redo).get(me, [])
    verb = "redo" if redo else "undo"
    if op_id is not None and op_id not in stack:
        if op_id in other:
            return []  # already done: a retried request
        raise Conflict(f"nothing of yours to {verb} named {op_id!r}", field="op_id")
    if not stack:
        raise Conflict(f"nothing to {verb}")
    top = stack[-1]
    if op_id is not None and op_id != top:
        raise Conflict(f"{op_id!r} is not your latest operation to {verb}", field="op_id")
    op = state.ops[top]
    data = {"op": op.id, "kind": op.kind, "ids": list(op.ids)}
    return [Proposed("board_redone" if redo else "board_undone", data, op.audience)]


# --- proposals: pages and rights (teacher) ----------------------------------------------------


def propose_page_add(state: BoardState, actor: Actor, payload: PageAdd) -> list[Proposed]:
    """Add a page (a retry with the same page id is a no-op)."""
    _require_teacher(actor)
    if payload.page_id in state.pages:
        return []
    if len(state.order) >= MAX_PAGES:
        raise LimitExceeded(f"a board holds at most {MAX_PAGES} pages")
    index = len(state.order) if payload.index is None else min(payload.index, len(state.order))
    data = {
        "page": payload.page_id,
        "background": _background(payload.background),
        "index": index,
        "switch": payload.switch,
    }
    return [Proposed("page_added", data)]


def propose_page_switch(state: BoardState, actor: Actor, payload: PageSwitch) -> list[Proposed]:
    """Show another page to the class (no-op if it is already shown)."""
    _require_teacher(actor)
    page = _page(state, payload.page_id)
    if state.current == page.id:
        return []
    return [Proposed("page_switched", {"page": page.id})]


def propose_page_reorder(state: BoardState, actor: Actor, payload: PageReorder) -> list[Proposed]:
    """Reorder the pages; the new order must list every page exactly once."""
    _require_teacher(actor)
    if len(payload.order) != len(state.order) or set(payload.order) != set(state.order):
        raise InvalidPayload("the order must list every page exactly once", field="order")
    if payload.order == state.order:
        return []
    return [Proposed("page_reordered", {"order": list(payload.order)})]


def propose_page_delete(state: BoardState, actor: Actor, payload: PageDelete) -> list[Proposed]:
    """Delete a page and its items; deleting a deleted page is a no-op, the last one a conflict."""
    _require_teacher(actor)
    if payload.page_id not in state.pages:
        return []
    if len(state.order) == 1:
        raise Conflict("the board must keep one page", field="page_id")
    return [Proposed("page_deleted", {"page": payload.page_id})]


def propose_page_clear(state: BoardState, actor: Actor, payload: PageClear) -> list[Proposed]:
    """Clear every visible item on a page as one undoable operation of the teacher."""
    _require_teacher(actor)
    if not _check_fresh_id(state, payload.op_id, actor, "op_id"):
        return []
    page = _page(state, payload.page_id)
    ids = [item.id for item in page.items.values() if not item.hidden_by]
    if not ids:
        return []
    return [Proposed("page_cleared", {"op": payload.op_id, "page": page.id, "ids": ids})]


def propose_page_set_background(
    state: BoardState, actor: Actor, payload: PageSetBackground
) -> list[Proposed]:
    """Change a page's background."""
    _require_teacher(actor)
    page = _page(state, payload.page_id)
    background = _background(payload.background)
    if page.background == background:
        return []
    return [Proposed("page_background_set", {"page": page.id, "background": background})]


def propose_allow_drawing(
    state: BoardState, actor: Actor, payload: BoardAllowDrawing
) -> list[Proposed]:
    """Let all students or the chosen ones draw, with their ink shared or teacher-only."""
    _require_teacher(actor)
    students = None if payload.students is None else sorted(set(payload.students))
    return [Proposed("drawing_allowed", {"students": students, "ink": payload.ink})]


def propose_revoke_drawing(
    state: BoardState, actor: Actor, payload: BoardRevokeDrawing
) -> list[Proposed]:
    """Stop all or the chosen students drawing; their strokes in progress end."""
    _require_teacher(actor)
    students = None if payload.students is None else sorted(set(payload.students))
    return [Proposed("drawing_revoked", {"students": students})]


_PROPOSERS: dict[type[Payload], Callable[[BoardState, Actor, Any], list[Proposed]]] = {
    StrokeStart: propose_stroke_start,
    StrokeExtend: propose_stroke_extend,
    StrokeEnd: propose_stroke_end,
    ShapeAdd: propose_shape_add,
    TextAdd: propose_text_add,
    BoardErase: propose_erase,
    BoardUndo: propose_undo,
    BoardRedo: propose_redo,
    PageAdd: propose_page_add,
    PageSwitch: propose_page_switch,
    PageReorder: propose_page_reorder,
    PageDelete: propose_page_delete,
    PageClear: propose_page_clear,
    PageSetBackground: propose_page_set_background,
    BoardAllowDrawing: propose_allow_drawing,
    BoardRevokeDrawing: propose_revoke_drawing,
}


def propose(state: BoardState, actor: Actor, payload: Payload) -> list[Proposed]:
    """Dispatch a validated board payload to its ``propose_*`` function."""
    proposer = _PROPOSERS.get(type(payload))
    if proposer is None:
        raise InvalidPayload(f"{type(payload).__name__} is not a board payload")
    return proposer(state, actor, payload)


# --- apply ------------------------------------------------------------------------------------


def _push_op(state: BoardState, op: Op) -> None:
    state.ops[op.id] = op
    stack = state.undo.setdefault(op.author, [])
    stack.append(op.id)
    if len(stack) > UNDO_DEPTH:
        del stack[0]
    redo = state.redo.pop(op.author, None)
    if redo:
        # Redo is gone for good: items whose add was undone can never come back.
        for op_id in redo:
            _forget_op(state, state.ops.get(op_id))


def _forget_op(state: BoardState, op: Op | None) -> None:
    if op is None or op.kind != "add":
        return
    item = state.items.get(op.id)
    if item is not None and op.id in item.hidden_by:
        page = state.pages.get(item.page)
        if page is not None:
            page.items.pop(item.id, None)
        # The op stays as a tombstone so a late retry of the add stays a no-op.
        del state.items[item.id]
        if isinstance(item, Stroke):
            state.points -= item.length


def _add_item(state: BoardState, event: Event, item: Item) -> None:
    page = state.pages.get(item.page)
    points = item.length if isinstance(item, Stroke) else 0
    if (
        page is None
        or item.id in state.ops
        or len(page.items) >= MAX_ITEMS_PER_PAGE
        or len(state.items) >= MAX_BOARD_ITEMS
        or state.points + points > MAX_BOARD_POINTS
        or not state.drawing.may_draw(event.actor)
    ):
        return
    page.items[item.id] = item
    state.items[item.id] = item
    state.points += points
    _push_op(state, Op(item.id, item.author, item.page, "add", (item.id,), event.audience))


def _apply_stroke_started(state: BoardState, event: Event) -> None:
    d = event.data
    stroke = Stroke(
        d["id"],
        d["page"],
        _key(event.actor),
        event.audience,
        d["tool"],
        d["color"],
        float(d["width"]),
        quantise(d["pts"]),
    )
    _add_item(state, event, stroke)


def extension(state: BoardState, event: Event) -> tuple[Stroke, int, int] | None:
    """What folding the ``stroke_extended`` ``event`` would add to its stroke, without adding
    it: ``(stroke, first, stop)``, the batch's points ``first`` to ``stop`` (indexes of points in
    ``event.data["pts"]``), or None when the fold would add nothing (a replay draws the part of
    a batch drawn by a moment with this, so it shows only what the fold will keep)."""
    d = event.data
    stroke = state.items.get(d["id"])
    if (
        not isinstance(stroke, Stroke)
        or stroke.done
        or stroke.author != _key(event.actor)
        or not state.drawing.may_draw(event.actor)
    ):
        return None
    have = stroke.length
    offset: int = d["offset"]
    if offset > have:
        return None
    skip = have - offset  # points already stored by a concurrent duplicate
    room = min(MAX_STROKE_POINTS - have, MAX_BOARD_POINTS - state.points)
    stop = min(len(d["pts"]) // 4, skip + room)
    if skip >= stop:
        return None
    return stroke, skip, stop


def _apply_stroke_extended(state: BoardState, event: Event) -> None:
    found = extension(state, event)
    if found is not None:
        stroke, first, stop = found
        added = quantise(event.data["pts"][first * 4 : stop * 4])
        stroke.q.extend(added)
        state.points += len(added) // 4


def _apply_stroke_ended(state: BoardState, event: Event) -> None:
    stroke = state.items.get(event.data["id"])
    if isinstance(stroke, Stroke) and stroke.author == _key(event.actor):
        stroke.done = True


def _apply_shape_added(state: BoardState, event: Event) -> None:
    d = event.data
    shape = Shape(
        d["id"],
        d["page"],
        _key(event.actor),
        event.audience,
        d["kind"],
        list(d["pts"]),
        d["color"],
        float(d["width"]),
    )
    _add_item(state, event, shape)


def _apply_text_added(state: BoardState, event: Event) -> None:
    d = event.data
    text = Text(
        d["id"],
        d["page"],
        _key(event.actor),
        event.audience,
        d["text"],
        float(d["x"]),
        float(d["y"]),
        float(d["size"]),
        d["color"],
        d["dir"],
    )
    _add_item(state, event, text)


def _apply_erase(state: BoardState, event: Event) -> None:
    d = event.data
    page = state.pages.get(d["page"])
    op_id: str = d["op"]
    if page is None or op_id in state.ops:
        return
    teacher = event.actor.role == "teacher"
    if not teacher and not state.drawing.may_draw(event.actor):
        return
    me = _key(event.actor)
    hidden: list[str] = []
    for item_id in d["ids"]:
        item = page.items.get(item_id)
        if item is None or item.hidden_by or not (teacher or item.author == me):
            continue
        item.hidden_by.add(op_id)
        hidden.append(item_id)
    if hidden:
        _push_op(state, Op(op_id, me, page.id, "erase", tuple(hidden), event.audience))


def _set_hidden(state: BoardState, op: Op, *, hide: bool) -> None:
    # An add op hides/shows its own item; an erase op hides/shows the items it erased.
    for item_id in op.ids:
        item = state.items.get(item_id)
        if item is None:
            continue
        if hide:
            item.hidden_by.add(op.id)
        else:
            item.hidden_by.discard(op.id)


def _apply_undo_redo(state: BoardState, event: Event, *, redo: bool) -> None:
    me = _key(event.actor)
    if not state.drawing.may_draw(event.actor):
        return
    source = (state.redo if redo else state.undo).get(me)
    op_id: str = event.data["op"]
    if not source or op_id not in source:
        return
    op = state.ops[op_id]
    source.remove(op_id)
    target = (state.undo if redo else state.redo).setdefault(me, [])
    target.append(op_id)
    if len(target) > UNDO_DEPTH:
        dropped = target.pop(0)
        if not redo:
            _forget_op(state, state.ops.get(dropped))
    # Undoing an add hides; undoing an erase shows. Redo does the opposite.
    _set_hidden(state, op, hide=(op.kind == "add") != redo)


def _apply_page_added(state: BoardState, event: Event) -> None:
    d = event.data
    page_id: str = d["page"]
    if page_id in state.pages or len(state.order) >= MAX_PAGES:
        return
    state.pages[page_id] = Page(page_id, dict(d["background"]))
    state.order.insert(min(int(d["index"]), len(state.order)), page_id)
    if d["switch"]:
        state.current = page_id


def _apply_page_switched(state: BoardState, event: Event) -> None:
    page_id: str = event.data["page"]
    if page_id in state.pages:
        state.current = page_id


def _apply_page_reordered(state: BoardState, event: Event) -> None:
    order: list[str] = event.data["order"]
    if len(order) == len(state.order) and set(order) == set(state.order):
        state.order = list(order)


def _apply_page_deleted(state: BoardState, event: Event) -> None:
    page_id: str = event.data["page"]
    page = state.pages.get(page_id)
    if page is None or len(state.order) == 1:
        return
    index = state.order.index(page_id)
    state.order.pop(index)
    del state.pages[page_id]
    if state.current == page_id:
        state.current = state.order[min(index, len(state.order) - 1)]
    for item_id, item in page.items.items():
        state.items.pop(item_id, None)
        if isinstance(item, Stroke):
            state.points -= item.length
    gone = {op_id for op_id, op in state.ops.items() if op.page == page_id}
    for op_id in gone:
        del state.ops[op_id]
    for stacks in (state.undo, state.redo):
        for author, stack in stacks.items():
            stacks[author] = [op_id for op_id in stack if op_id not in gone]


def _apply_page_background_set(state: BoardState, event: Event) -> None:
    page = state.pages.get(event.data["page"])
    if page is not None:
        page.background = dict(event.data["background"])


def _apply_drawing_allowed(state: BoardState, event: Event) -> None:
    if event.actor.role != "teacher":
        return
    rights = state.drawing
    students: list[str] | None = event.data["students"]
    rights.ink = event.data["ink"]
    if students is None:
        rights.mode = "all"
        rights.allowed.clear()
        rights.denied.clear()
    elif rights.mode == "all":
        rights.denied.difference_update(students)
    else:
        rights.mode = "chosen"
        rights.allowed.update(students)


def _apply_drawing_revoked(state: BoardState, event: Event) -> None:
    if event.actor.role != "teacher":
        return
    rights = state.drawing
    students: list[str] | None = event.data["students"]
    if students is None:
        rights.mode = "none"
        rights.allowed.clear()
        rights.denied.clear()
    elif rights.mode == "all":
        rights.denied.update(students)
    else:
        rights.allowed.difference_update(students)
        if not rights.allowed:
            rights.mode = "none"
    for item in state.items.values():
        if (
            isinstance(item, Stroke)
            and not item.done
            and item.author[0] == "student"
            and not rights.may_draw(Actor("student", item.author[1]))
        ):
            item.done = True


_APPLIERS: dict[str, Callable[[BoardState, Event], None]] = {
    "stroke_started": _apply_stroke_started,
    "stroke_extended": _apply_stroke_extended,
    "stroke_ended": _apply_stroke_ended,
    "shape_added": _apply_shape_added,
    "text_added": _apply_text_added,
    "items_erased": _apply_erase,
    "page_cleared": _apply_erase,
    "board_undone": lambda state, event: _apply_undo_redo(state, event, redo=False),
    "board_redone": lambda state, event: _apply_undo_redo(state, event, redo=True),
    "page_added": _apply_page_added,
    "page_switched": _apply_page_switched,
    "page_reordered": _apply_page_reordered,
    "page_deleted": _apply_page_deleted,
    "page_background_set": _apply_page_background_set,
    "drawing_allowed": _apply_drawing_allowed,
    "drawing_revoked": _apply_drawing_revoked,
}

BOARD_EVENT_TYPES: frozenset[str] = frozenset(_APPLIERS)


def apply(state: BoardState, event: Event) -> None:
    """Fold one appended event into the board; other features' events and stale ones are ignored."""
    applier = _APPLIERS.get(event.type)
    if applier is not None:
        applier(state, event)
    if event.seq > state.seq:
        state.seq = event.seq


# --- snapshot ---------------------------------------------------------------------------------


def _item_body(item: Item, done: bool) -> dict[str, Any]:
    body: dict[str, Any]
    if isinstance(item, Stroke):
        body = {
            "id": item.id,
            "type": "stroke",
            "tool": item.tool,
            "color": item.color,
            "width": item.width,
            "done": done,
        }
    elif isinstance(item, Shape):
        body = {
            "id": item.id,
            "type": "shape",
            "kind": item.kind,
            "pts": list(item.pts),
            "color": item.color,
            "width": item.width,
        }
    else:
        body = {
            "id": item.id,
            "type": "text",
            "text": item.text,
            "x": item.x,
            "y": item.y,
            "size": item.size,
            "color": item.color,
            "dir": item.dir,
        }
    body["by"] = {"role": item.author[0], "id": item.author[1]}
    if item.audience != "all":
        body["aud"] = item.audience
    return body


def item_to_wire(item: Item) -> dict[str, Any]:
    """Return the JSON form of an item as in a whole snapshot (stroke points as ``pts`` floats)."""
    done = isinstance(item, Stroke) and item.done
    body = _item_body(item, done)
    if isinstance(item, Stroke):
        body["pts"] = item.pts
    if item.hidden_by:
        body["hidden_by"] = sorted(item.hidden_by)
    return body


def _restorable_ops(state: BoardState) -> set[str]:
    """Ops whose undo/redo could bring an item back: active erases and undone adds."""
    live: set[str] = set()
    for stack in state.undo.values():
        live.update(op_id for op_id in stack if state.ops[op_id].kind == "erase")
    for stack in state.redo.values():
        live.update(op_id for op_id in stack if state.ops[op_id].kind == "add")
    return live


def visible_items(state: BoardState, page_id: str, viewer: Actor | None) -> list[Item]:
    """Return the items drawn on a page for ``viewer`` (None: the class view, shared ink only)."""
    page = state.pages.get(page_id)
    if page is None:
        return []
    return [
        item
        for item in page.items.values()
        if not item.hidden_by
        and (item.audience == "all" if viewer is None else _visible(item, viewer))
    ]


def with_ink(state: BoardState, ink: Mapping[str, Sequence[float]]) -> BoardState:
    """A board like ``state`` whose strokes named in ``ink`` have those flat points
    ``[x, y, pressure, t, ...]`` appended (a replay's ink drawn since a stroke's last batch).

    Shares everything else with ``state``, which is not changed: the strokes and the pages and
    indexes holding them are copied, nothing more.
    """
    if not ink:
        return state
    items = dict(state.items)
    pages = dict(state.pages)
    for stroke_id, points in ink.items():
        stroke = items.get(stroke_id)
        if not isinstance(stroke, Stroke) or not points:
            continue
        grown = dataclasses.replace(stroke, q=stroke.q + quantise(points))
        items[stroke_id] = grown
        page = pages.get(stroke.page)
        if page is not None and stroke_id in page.items:
            if page is state.pages.get(stroke.page):
                page = Page(page.id, page.background, dict(page.items))
                pages[page.id] = page
            page.items[stroke_id] = grown
    return dataclasses.replace(state, pages=pages, items=items)


def _snapshot_items(state: BoardState, viewer: Actor) -> list[Item]:
    """The items a snapshot for ``viewer`` holds, in page order then drawing order.

    Hidden items are included only while an undo or redo can restore them.
    """
    live = _restorable_ops(state)
    return [
        item
        for page_id in state.order
        for item in state.pages[page_id].items.values()
        if _visible(item, viewer) and item.hidden_by <= live
    ]


def snapshot_head(state: BoardState, viewer: Actor) -> dict[str, Any]:
    """Return the board a joining client starts from, filtered for ``viewer``, with every
    page's ``items`` empty (they follow in pieces, or :func:`snapshot` fills them)."""
    pages = [
        {"id": page_id, "background": dict(state.pages[page_id].background), "items": []}
        for page_id in state.order
    ]
    rights = state.drawing
    drawing: dict[str, Any] = {"mode": rights.mode, "ink": rights.ink}
    if viewer.role == "teacher":
        drawing["allowed"] = sorted(rights.allowed)
        drawing["denied"] = sorted(rights.denied)
    drawing["may_draw"] = rights.may_draw(viewer)
    me = _key(viewer)
    undo = state.undo.get(me) or []
    redo = state.redo.get(me) or []
    return {
        "seq": state.seq,
        "size": {"width": BOARD_WIDTH, "height": BOARD_HEIGHT},
        "pages": pages,
        "order": list(state.order),
        "current": state.current,
        "drawing": drawing,
        "undo": {"next": undo[-1] if undo else None, "depth": len(undo)},
        "redo": {"next": redo[-1] if redo else None, "depth": len(redo)},
    }


def snapshot(state: BoardState, viewer: Actor) -> dict[str, Any]:
    """Return the JSON board a joining client starts from, filtered for ``viewer``, whole.

    Hidden items are included (with ``hidden_by``) only while an undo or redo can restore them.
    """
    head = snapshot_head(state, viewer)
    by_page = {page["id"]: page["items"] for page in head["pages"]}
    for item in _snapshot_items(state, viewer):
        by_page[item.page].append(item_to_wire(item))
    return head


@dataclass(frozen=True, slots=True)
class BoardPin:
    """The items of a board snapshot as they were at one seq, to be sent in pieces.

    It holds references, not copies, so taking one costs a list of the visible items: after the
    pin an item changes only by growing (a stroke's points, its end) or by its hidden set, so
    the pin keeps those as they were for the items where they can still change.
    """

    items: list[Item]
    open_strokes: dict[str, int]  # strokes not ended at the pin: their point count then
    hidden: dict[str, list[str]]  # items hidden at the pin: by which ops

    def wire(self, item: Item) -> dict[str, Any]:
        """The compact JSON form of an item as pinned: a stroke's points as ``q``."""
        if isinstance(item, Stroke):
            n = self.open_strokes.get(item.id)
            body = _item_body(item, done=n is None and item.done)
            body["q"] = delta_points(item.q, item.length if n is None else n)
        else:
            body = _item_body(item, done=False)
        hidden = self.hidden.get(item.id)
        if hidden:
            body["hidden_by"] = hidden
        return body


def pin(state: BoardState, viewer: Actor) -> BoardPin:
    """Pin the items of ``viewer``'s snapshot of the board at its current seq."""
    items = _snapshot_items(state, viewer)
    open_strokes = {
        item.id: item.length for item in items if isinstance(item, Stroke) and not item.done
    }
    hidden = {item.id: sorted(item.hidden_by) for item in items if item.hidden_by}
    return BoardPin(items, open_strokes, hidden)


# Estimated JSON bytes of a pinned item: its fields, plus ~4 bytes a delta-coded value.
_ITEM_BYTES = 160
_VALUE_BYTES = 4


def pin_piece(board_pin: BoardPin, start: int, max_bytes: int) -> tuple[list[dict[str, Any]], int]:
    """Return the pinned items from index ``start`` on, about ``max_bytes`` of JSON of them (at
    least one), grouped by page as ``[{"id": page_id, "items": [...]}]``, and the next index."""
    pages: list[dict[str, Any]] = []
    items = board_pin.items
    size = 0
    index = start
    while index < len(items) and (index == start or size < max_bytes):
        item = items[index]
        body = board_pin.wire(item)
        size += _ITEM_BYTES + _VALUE_BYTES * len(body.get("q", ())) + len(body.get("text", ""))
        if pages and pages[-1]["id"] == item.page:
            pages[-1]["items"].append(body)
        else:
            pages.append({"id": item.page, "items": [body]})
        index += 1
    return pages, index
