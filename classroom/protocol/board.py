"""Whiteboard protocol: payload schemas, limits, and the pen look shared with the web client.

Board coordinates: one logical page ``BOARD_WIDTH`` x ``BOARD_HEIGHT`` (1920 x 1080) units,
origin at the top-left corner, x to the right, y downwards; every device scales it to its screen.
A raw point is ``[x, y, pressure, t]``: x in [0, 1920], y in [0, 1080], pressure in [0, 1]
(devices without pressure send 0.5), t in milliseconds since the stroke started (non-decreasing).

The stroke eraser works on whole strokes and the client does the hit testing: it sends the ids of
the items its eraser path touched (``board_erase``); the server checks them (existence, visibility,
ownership) and records the erase as one undoable operation.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Final, Literal

from pydantic import Field, Strict, StringConstraints, field_validator, model_validator

from classroom.protocol.common import (
    Broadcast,
    BroadcastSpec,
    ClientId,
    EventSpec,
    Payload,
    ServerId,
)

BOARD_WIDTH: Final = 1920
BOARD_HEIGHT: Final = 1080

MAX_BATCH_POINTS: Final = 64
MAX_STROKE_POINTS: Final = 10_000
MAX_STROKE_MS: Final = 3_600_000
MAX_PAGES: Final = 100
MAX_ITEMS_PER_PAGE: Final = 5_000
# What one class's board may hold in all (hidden items kept for undo included): the limits above
# alone allowed ~7.8 GB of points on one page. A point is stored in 16 bytes, so this is ~32 MB,
# and a joining client's snapshot of a full board is ~20-25 MB of JSON (about 11 bytes a point).
MAX_BOARD_POINTS: Final = 2_000_000
MAX_BOARD_ITEMS: Final = 50_000
MAX_TEXT_CHARS: Final = 500
MAX_TEXT_LINES: Final = 20
MAX_ERASE_IDS: Final = 500
MAX_CHOSEN_STUDENTS: Final = 500
MIN_WIDTH: Final = 0.5
MAX_WIDTH: Final = 100.0
MIN_TEXT_SIZE: Final = 8.0
MAX_TEXT_SIZE: Final = 300.0

# perfect-freehand options in the browser's (JavaScript) spelling, one entry per tool; ``size`` is
# the stroke's ``width``. The server renderer and the web client both read this constant so a
# stroke looks the same everywhere. Read-only: export it as JSON, never change it at run time.
FREEHAND_OPTIONS: Final[dict[str, dict[str, Any]]] = {
    "pen": {
        "thinning": 0.6,
        "smoothing": 0.5,
        "streamline": 0.5,
        "simulatePressure": False,
        "last": True,
        "start": {"cap": True, "taper": 0},
        "end": {"cap": True, "taper": 0},
    },
    "highlighter": {
        "thinning": 0.0,
        "smoothing": 0.5,
        "streamline": 0.5,
        "simulatePressure": False,
        "last": True,
        "start": {"cap": True, "taper": 0},
        "end": {"cap": True, "taper": 0},
    },
}
# How opaque highlighter ink is drawn (0..1); pen ink is opaque.
HIGHLIGHTER_OPACITY: Final = 0.4

Tool = Literal["pen", "highlighter"]
ShapeKind = Literal["line", "arrow", "rectangle", "ellipse"]
BackgroundKind = Literal["blank", "ruled", "grid", "image"]
InkAudience = Literal["class", "teacher"]

Color = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
X = Annotated[float, Strict(), Field(ge=0, le=BOARD_WIDTH)]
Y = Annotated[float, Strict(), Field(ge=0, le=BOARD_HEIGHT)]
Pressure = Annotated[float, Strict(), Field(ge=0, le=1)]
StrokeTime = Annotated[float, Strict(), Field(ge=0, le=MAX_STROKE_MS)]
Width = Annotated[float, Field(ge=MIN_WIDTH, le=MAX_WIDTH)]
# Arrays arrive as JSON lists; the tuple itself is lax (list -> tuple), its numbers stay strict.
Point = Annotated[tuple[X, Y, Pressure, StrokeTime], Field(strict=False)]
XY = Annotated[tuple[X, Y], Field(strict=False)]
PointBatch = Annotated[list[Point], Field(max_length=MAX_BATCH_POINTS)]
StrokeLength = Annotated[int, Field(ge=0, le=MAX_STROKE_POINTS)]


def _check_times(points: list[tuple[float, float, float, float]]) -> None:
    """Raise ValueError unless the point times never go backwards."""
    last = -1.0
    for point in points:
        if point[3] < last:
            raise ValueError("point times must not decrease")
        last = point[3]


class Background(Payload):
    """A page background: blank, ruled, grid, or an uploaded image (by its asset id)."""

    kind: BackgroundKind = "blank"
    image: ServerId | None = None

    @model_validator(mode="after")
    def _image_iff_kind_image(self) -> Background:
        if (self.kind == "image") != (self.image is not None):
            raise ValueError("an image id is required for kind 'image' and only for it")
        return self


class StrokeStart(Payload):
    """Start a pen or highlighter stroke, optionally with its first batch of points."""

    stroke_id: ClientId
    page_id: ClientId
    tool: Tool
    color: Color
    width: Width
    points: PointBatch = Field(default_factory=list)

    @field_validator("points")
    @classmethod
    def _times(cls, v: list[tuple[float, float, float, float]]) -> Any:
        _check_times(v)
        return v


class StrokeExtend(Payload):
    """Append a batch of points to a stroke; ``offset`` is the index of the batch's first point."""

    stroke_id: ClientId
    offset: StrokeLength
    points: Annotated[list[Point], Field(min_length=1, max_length=MAX_BATCH_POINTS)]

    @field_validator("points")
    @classmethod
    def _times(cls, v: list[tuple[float, float, float, float]]) -> Any:
        _check_times(v)
        return v


class StrokeEnd(Payload):
    """End a stroke; ``length`` is how many points the client sent in all (checks for gaps)."""

    stroke_id: ClientId
    length: StrokeLength


class ShapeAdd(Payload):
    """Add a line, arrow, rectangle or ellipse given by two corner/end points."""

    shape_id: ClientId
    page_id: ClientId
    kind: ShapeKind
    start: XY
    end: XY
    color: Color
    width: Width


class TextAdd(Payload):
    """Add a text (Urdu or English); ``x, y`` is where the first line starts, at its top.

    The direction is detected from the first strong character: right-to-left text starts at
    ``x`` and runs leftwards.
    """

    text_id: ClientId
    page_id: ClientId
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]
    x: X
    y: Y
    size: Annotated[float, Field(ge=MIN_TEXT_SIZE, le=MAX_TEXT_SIZE)]
    color: Color

    @field_validator("text")
    @classmethod
    def _printable(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text is blank")
        if v.count("\n") >= MAX_TEXT_LINES:
            raise ValueError(f"at most {MAX_TEXT_LINES} lines")
        for ch in v:
            # Cc = control characters; line breaks are the only one allowed.
            if ch != "\n" and unicodedata.category(ch) == "Cc":
                raise ValueError("control characters are not allowed")
        return v


class BoardErase(Payload):
    """Erase whole items (strokes, shapes, texts) the client's eraser touched, as one operation."""

    op_id: ClientId
    page_id: ClientId
    ids: Annotated[list[ClientId], Field(min_length=1, max_length=MAX_ERASE_IDS)]


class BoardUndo(Payload):
    """Undo the sender's own latest operation (``op_id``, if given, must be that operation)."""

    op_id: ClientId | None = None
    # A fresh id per press, reused on a retry: a retried request is applied once.
    client_id: ClientId


class BoardRedo(Payload):
    """Redo the sender's own latest undone operation (``op_id``, if given, must be it)."""

    op_id: ClientId | None = None
    # A fresh id per press, reused on a retry: a retried request is applied once.
    client_id: ClientId


class PageAdd(Payload):
    """Add a page at ``index`` (default: last), with a background; optionally switch to it."""

    page_id: ClientId
    background: Background = Background()
    index: Annotated[int, Field(ge=0, le=MAX_PAGES)] | None = None
    switch: bool = True


class PageSwitch(Payload):
    """Show another page to the class."""

    page_id: ClientId
    client_id: ClientId


class PageReorder(Payload):
    """Put the pages in a new order (a permutation of all page ids)."""

    order: Annotated[list[ClientId], Field(min_length=1, max_length=MAX_PAGES)]
    client_id: ClientId


class PageDelete(Payload):
    """Delete a page and everything on it (not undoable; the last page cannot be deleted)."""

    page_id: ClientId
    client_id: ClientId


class PageClear(Payload):
    """Clear every item on a page, as one undoable operation."""

    page_id: ClientId
    op_id: ClientId


class PageSetBackground(Payload):
    """Change a page's background."""

    page_id: ClientId
    background: Background
    client_id: ClientId


class BoardAllowDrawing(Payload):
    """Let all students (``students`` omitted) or the chosen ones draw.

    ``ink`` decides who sees the strokes students start from now on: the whole class, or only the
    teacher (and the student who drew them).
    """

    students: Annotated[list[ServerId], Field(max_length=MAX_CHOSEN_STUDENTS)] | None = None
    ink: InkAudience = "class"
    client_id: ClientId


class BoardRevokeDrawing(Payload):
    """Stop all students (``students`` omitted) or the chosen ones drawing, at once.

    Their strokes in progress end where they are.
    """

    students: Annotated[list[ServerId], Field(max_length=MAX_CHOSEN_STUDENTS)] | None = None
    client_id: ClientId


# --- broadcasts (the ``data`` of board log events) --------------------------------------------


class BackgroundData(Broadcast):
    kind: BackgroundKind
    image: str | None = None


class StrokeStartedData(Broadcast):
    id: str
    page: str
    tool: Tool
    color: str
    width: float
    pts: list[float] = Field(description="Flat [x, y, pressure, t, x, y, pressure, t, ...].")


class StrokeExtendedData(Broadcast):
    id: str
    offset: int = Field(description="Index of the first point of this batch.")
    pts: list[float] = Field(description="Flat [x, y, pressure, t, ...].")


class StrokeEndedData(Broadcast):
    id: str
    n: int = Field(description="The stroke's final number of points.")


class ShapeAddedData(Broadcast):
    id: str
    page: str
    kind: ShapeKind
    pts: list[float] = Field(description="[x1, y1, x2, y2].")
    color: str
    width: float


class TextAddedData(Broadcast):
    id: str
    page: str
    text: str
    x: float
    y: float
    size: float
    color: str
    dir: Literal["ltr", "rtl"]


class ItemsErasedData(Broadcast):
    op: str
    page: str
    ids: list[str]


class UndoRedoData(Broadcast):
    op: str
    kind: Literal["add", "erase"] = Field(
        description="'add': the op added item `op` (ids == [op]); 'erase': it hid `ids`."
    )
    ids: list[str]


class PageAddedData(Broadcast):
    page: str
    background: BackgroundData
    index: int
    switch: bool


class PageData(Broadcast):
    page: str


class PageReorderedData(Broadcast):
    order: list[str]


class PageBackgroundData(Broadcast):
    page: str
    background: BackgroundData


class DrawingAllowedData(Broadcast):
    students: list[str] | None
    ink: InkAudience


class DrawingRevokedData(Broadcast):
    students: list[str] | None


_DRAWERS = frozenset({"teacher", "student"})
_TEACHER = frozenset({"teacher"})


def _spec(
    name: str,
    payload: type[Payload],
    roles: frozenset[Any],
    example: dict[str, Any],
    idempotency: str,
    *,
    rate: str = "board",
    same_payload: bool = True,
) -> EventSpec:
    return EventSpec(
        name=name,
        payload=payload,
        roles=roles,
        summary=(payload.__doc__ or "").splitlines()[0],
        rate=rate,
        feature="board",
        example=example,
        idempotency=idempotency,
        same_payload=same_payload,
    )


_PT = [[100.0, 100.0, 0.5, 0], [110.5, 104.0, 0.6, 16]]


EVENTS: tuple[EventSpec, ...] = (
    _spec(
        "stroke_start",
        StrokeStart,
        _DRAWERS,
        {
            "stroke_id": "k1",
            "page_id": "page-1",
            "tool": "pen",
            "color": "#1a1a1a",
            "width": 4,
            "points": _PT,
        },
        "stroke:{stroke_id}",
    ),
    _spec(
        "stroke_extend",
        StrokeExtend,
        _DRAWERS,
        {"stroke_id": "k1", "offset": 2, "points": [[120.0, 108.0, 0.7, 33]]},
        # A batch that overlaps points already stored is trimmed to its new points, and keyed
        # by the offset of its first new point (so a resend that merges batches adds the rest).
        "stroke:{stroke_id}@{offset}",
        same_payload=False,
    ),
    _spec(
        "stroke_end",
        StrokeEnd,
        _DRAWERS,
        {"stroke_id": "k1", "length": 3},
        "stroke:{stroke_id}/end",
    ),
    _spec(
        "board_add_shape",
        ShapeAdd,
        _DRAWERS,
        {
            "shape_id": "sh1",
            "page_id": "page-1",
            "kind": "arrow",
            "start": [10, 10],
            "end": [300, 200],
            "color": "#c0392b",
            "width": 6,
        },
        "item:{shape_id}",
    ),
    _spec(
        "board_add_text",
        TextAdd,
        _DRAWERS,
        {
            "text_id": "t1",
            "page_id": "page-1",
            "text": "سبق ۵",
            "x": 200,
            "y": 150,
            "size": 48,
            "color": "#1a1a1a",
        },
        "item:{text_id}",
        rate="default",
    ),
    _spec(
        "board_erase",
        BoardErase,
        _DRAWERS,
        {"op_id": "er1", "page_id": "page-1", "ids": ["k1"]},
        "op:{op_id}",
    ),
    # Not op_id: one operation may be undone, redone and undone again.
    _spec(
        "board_undo",
        BoardUndo,
        _DRAWERS,
        {"op_id": "u1", "client_id": "un-1"},
        "undo:{client_id}",
        rate="default",
    ),
    _spec(
        "board_redo",
        BoardRedo,
        _DRAWERS,
        {"op_id": "r1", "client_id": "re-1"},
        "redo:{client_id}",
        rate="default",
    ),
    _spec(
        "page_add",
        PageAdd,
        _TEACHER,
        {"page_id": "page-2", "background": {"kind": "ruled"}},
        "page:{page_id}",
        rate="default",
    ),
    _spec(
        "page_switch",
        PageSwitch,
        _TEACHER,
        {"page_id": "page-1", "client_id": "sw-1"},
        "switch:{client_id}",
        rate="default",
    ),
    _spec(
        "page_reorder",
        PageReorder,
        _TEACHER,
        {"order": ["page-1"], "client_id": "ro-1"},
        "reorder:{client_id}",
        rate="default",
    ),
    _spec(
        "page_delete",
        PageDelete,
        _TEACHER,
        {"page_id": "page-2", "client_id": "del-1"},
        "delete:{client_id}",
        rate="default",
    ),
    _spec(
        "page_clear",
        PageClear,
        _TEACHER,
        {"page_id": "page-1", "op_id": "cl1"},
        "op:{op_id}",
        rate="default",
    ),
    _spec(
        "page_set_background",
        PageSetBackground,
        _TEACHER,
        {"page_id": "page-1", "background": {"kind": "grid"}, "client_id": "bg-1"},
        "background:{client_id}",
        rate="default",
    ),
    _spec(
        "board_allow_drawing",
        BoardAllowDrawing,
        _TEACHER,
        {"ink": "class", "client_id": "al-1"},
        "allow:{client_id}",
        rate="default",
    ),
    _spec(
        "board_revoke_drawing",
        BoardRevokeDrawing,
        _TEACHER,
        {"client_id": "rv-1"},
        "revoke:{client_id}",
        rate="default",
    ),
)


def _bspec(name: str, data: type[Broadcast], summary: str) -> BroadcastSpec:
    # Audience varies per event (a student's teacher-only ink goes to teachers and its author).
    return BroadcastSpec(name=name, data=data, summary=summary, audience="varies", feature="board")


BROADCASTS: tuple[BroadcastSpec, ...] = (
    _bspec("stroke_started", StrokeStartedData, "A stroke started (with its first points)."),
    _bspec("stroke_extended", StrokeExtendedData, "Points were appended to a stroke."),
    _bspec("stroke_ended", StrokeEndedData, "A stroke ended."),
    _bspec("shape_added", ShapeAddedData, "A line, arrow, rectangle or ellipse was added."),
    _bspec("text_added", TextAddedData, "A text was added."),
    _bspec("items_erased", ItemsErasedData, "Items were erased (one undoable operation)."),
    _bspec("page_cleared", ItemsErasedData, "A page was cleared (one undoable operation)."),
    _bspec("board_undone", UndoRedoData, "An author undid one of their operations."),
    _bspec("board_redone", UndoRedoData, "An author redid one of their operations."),
    _bspec("page_added", PageAddedData, "A page was added."),
    _bspec("page_switched", PageData, "The class now shows another page."),
    _bspec("page_reordered", PageReorderedData, "The pages were reordered."),
    _bspec("page_deleted", PageData, "A page and its items were deleted."),
    _bspec("page_background_set", PageBackgroundData, "A page's background changed."),
    _bspec("drawing_allowed", DrawingAllowedData, "Students may draw (all or chosen)."),
    _bspec(
        "drawing_revoked",
        DrawingRevokedData,
        "Students may no longer draw; their strokes in progress ended.",
    ),
)
