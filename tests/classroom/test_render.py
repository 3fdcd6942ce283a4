"""Server-side page rendering: PNG pixels and SVG elements of known strokes, shapes and texts."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest
from PIL import Image

from classroom import board, render
from classroom.board import BoardState, new_board, propose
from classroom.errors import NotFound
from classroom.log import Actor, Event
from classroom.protocol.board import (
    FREEHAND_OPTIONS,
    Background,
    BoardAllowDrawing,
    BoardErase,
    PageSetBackground,
    ShapeAdd,
    StrokeStart,
    TextAdd,
    Tool,
)
from classroom.protocol.common import Payload

TEACHER = Actor("teacher", "t1")
ALI = Actor("student", "s-ali")
PAGE = board.FIRST_PAGE_ID
SVG = "{http://www.w3.org/2000/svg}"
SCALE = 0.25  # 480 x 270 pixels: 1 pixel = 4 board units


def do(state: BoardState, actor: Actor, payload: Payload) -> None:
    for seq, proposed in enumerate(propose(state, actor, payload), start=state.seq + 1):
        board.apply(
            state,
            Event("c", seq, proposed.type, actor, 0, proposed.data, audience=proposed.audience),
        )


def line(
    stroke_id: str,
    y: float,
    *,
    pressure: float = 0.5,
    tool: Tool = "pen",
    color: str = "#000000",
    width: float = 16.0,
) -> StrokeStart:
    """A straight stroke from x=200 to x=1700 at height y, 60 points, constant pressure."""
    points = [(200 + 1500 * i / 59, y, pressure, 10.0 * i) for i in range(60)]
    return StrokeStart(
        stroke_id=stroke_id, page_id=PAGE, tool=tool, color=color, width=width, points=points
    )


def pixels(state: BoardState, **kw: Any) -> np.ndarray:
    png = render.render_png(state, PAGE, scale=SCALE, **kw)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (480, 270)
    return np.asarray(image.convert("RGB")).astype(int)


def at(img: np.ndarray, x: float, y: float) -> tuple[int, int, int]:
    """The pixel at board coordinates (x, y)."""
    r, g, b = img[int(y * SCALE), int(x * SCALE)]
    return (int(r), int(g), int(b))


def ink_rows(img: np.ndarray, x: float) -> int:
    """How many pixels of the column at board x are clearly not white."""
    column = img[:, int(x * SCALE)]
    return int((column.sum(axis=1) < 600).sum())


@pytest.fixture
def state() -> BoardState:
    return new_board()


def test_pen_stroke_is_drawn_where_it_is_and_nowhere_else(state: BoardState) -> None:
    do(state, TEACHER, line("k1", 540, color="#cc0000"))
    img = pixels(state)
    r, g, b = at(img, 960, 540)
    assert r > 150 and g < 60 and b < 60
    assert at(img, 960, 300) == (255, 255, 255)
    assert at(img, 100, 540) == (255, 255, 255)  # before the stroke starts
    assert at(img, 1800, 540) == (255, 255, 255)  # after it ends


def test_round_end_caps_are_filled_like_the_browser(state: BoardState) -> None:
    # perfect-freehand's caps wind round the end point; an even-odd fill would leave a hole.
    do(state, TEACHER, line("k1", 540, width=40))
    img = pixels(state)
    assert sum(at(img, 1700, 540)) < 60 and sum(at(img, 200, 540)) < 60


def test_width_grows_with_pressure(state: BoardState) -> None:
    do(state, TEACHER, line("light", 300, pressure=0.1, width=24))
    do(state, TEACHER, line("heavy", 800, pressure=1.0, width=24))
    img = pixels(state)
    light = int((img[: 540 // 4 + 10, 240].sum(axis=1) < 600).sum())
    heavy = int((img[540 // 4 + 10 :, 240].sum(axis=1) < 600).sum())
    assert heavy >= 2 * light >= 2


def test_highlighter_is_semi_transparent_over_pen(state: BoardState) -> None:
    do(state, TEACHER, line("pen", 540, width=10))
    do(state, TEACHER, line("hl", 560, tool="highlighter", color="#ffff00", width=60))
    img = pixels(state)
    r, g, b = at(img, 960, 590)  # highlighter over the white page
    assert r > 240 and g > 240 and 100 < b < 220
    r, g, b = at(img, 960, 540)  # the black pen line shows through, tinted yellow
    assert r < 130 and g < 130 and b < 30


def test_erased_and_private_ink_are_not_drawn_for_the_class(state: BoardState) -> None:
    do(state, TEACHER, BoardAllowDrawing(client_id="boardallowdrawing-t", ink="teacher"))
    do(state, ALI, line("private", 200))
    do(state, TEACHER, line("gone", 800))
    do(state, TEACHER, BoardErase(op_id="e1", page_id=PAGE, ids=["gone"]))
    class_view = pixels(state)
    assert ink_rows(class_view, 960) == 0
    assert ink_rows(pixels(state, viewer=TEACHER), 960) > 0


def test_shapes_are_outlined(state: BoardState) -> None:
    do(
        state,
        TEACHER,
        ShapeAdd(
            shape_id="r",
            page_id=PAGE,
            kind="rectangle",
            start=(200, 200),
            end=(600, 600),
            color="#0000ff",
            width=12,
        ),
    )
    do(
        state,
        TEACHER,
        ShapeAdd(
            shape_id="o",
            page_id=PAGE,
            kind="ellipse",
            start=(1000, 200),
            end=(1400, 600),
            color="#00aa00",
            width=12,
        ),
    )
    do(
        state,
        TEACHER,
        ShapeAdd(
            shape_id="a",
            page_id=PAGE,
            kind="arrow",
            start=(200, 900),
            end=(1600, 900),
            color="#000000",
            width=12,
        ),
    )
    img = pixels(state)
    assert at(img, 400, 200)[2] > 200 and at(img, 400, 200)[0] < 50  # rectangle edge
    assert at(img, 400, 400) == (255, 255, 255)  # rectangle inside
    assert at(img, 1000, 400)[1] > 120 and at(img, 1000, 400)[0] < 50  # ellipse's left point
    assert at(img, 1200, 400) == (255, 255, 255)
    assert at(img, 1000, 200) == (255, 255, 255)  # ellipse's box corner stays empty
    assert sum(at(img, 900, 900)) < 100
    assert ink_rows(img, 1590) > ink_rows(img, 900)  # the arrow head is wider than the shaft


def test_english_and_urdu_text_are_drawn_on_the_right_side_of_their_anchor(
    state: BoardState,
) -> None:
    do(
        state,
        TEACHER,
        TextAdd(
            text_id="en", page_id=PAGE, text="Hello class", x=200, y=100, size=64, color="#000000"
        ),
    )
    do(
        state,
        TEACHER,
        TextAdd(
            text_id="ur", page_id=PAGE, text="السلام علیکم", x=1700, y=600, size=64, color="#000000"
        ),
    )
    img = pixels(state)
    top = img[int(100 * SCALE) : int(180 * SCALE)]
    cols = np.nonzero((top.sum(axis=2) < 600).any(axis=0))[0]
    assert cols.size and cols.min() >= 200 * SCALE - 2
    low = img[int(600 * SCALE) : int(720 * SCALE)]
    cols = np.nonzero((low.sum(axis=2) < 600).any(axis=0))[0]
    assert cols.size and cols.max() <= 1700 * SCALE + 2 and cols.min() < 1500 * SCALE


@pytest.mark.parametrize(
    ("kind", "color"), [("ruled", render.RULE_COLOR), ("grid", render.GRID_COLOR)]
)
def test_ruled_and_grid_backgrounds(state: BoardState, kind: str, color: str) -> None:
    background = Background.model_validate({"kind": kind})
    do(
        state,
        TEACHER,
        PageSetBackground(client_id="pagesetbackground-t", page_id=PAGE, background=background),
    )
    img = pixels(state, supersample=1)
    line_y = int(render.RULE_SPACING * SCALE)
    assert tuple(img[line_y, 5]) == render._rgb(color)
    assert tuple(img[line_y + 5, 5]) == (255, 255, 255)  # between two lines
    has_vertical = tuple(img[5, int(render.GRID_SPACING * SCALE)]) == render._rgb(color)
    assert has_vertical is (kind == "grid")


def test_image_background_is_drawn_from_the_uploaded_image(state: BoardState) -> None:
    background = Background(kind="image", image="img-1")
    do(
        state,
        TEACHER,
        PageSetBackground(client_id="pagesetbackground-t", page_id=PAGE, background=background),
    )
    uploaded = Image.new("RGB", (160, 90), (10, 200, 30))
    img = pixels(state, images={"img-1": uploaded})
    assert at(img, 960, 540) == (10, 200, 30)
    assert at(pixels(state), 960, 540) == (255, 255, 255)  # image not available: blank


def test_missing_page_is_not_found(state: BoardState) -> None:
    with pytest.raises(NotFound):
        render.render_png(state, "nope")
    with pytest.raises(NotFound):
        render.render_svg(state, "nope")


# --- SVG --------------------------------------------------------------------------------------


def numbers(d: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]


def test_svg_has_one_filled_path_per_stroke_around_its_points(state: BoardState) -> None:
    do(state, TEACHER, line("k1", 300, color="#123456", width=20))
    do(state, TEACHER, line("k2", 700, tool="highlighter", color="#ffee00", width=40))
    do(state, TEACHER, line("k3", 900))
    do(state, TEACHER, BoardErase(op_id="e1", page_id=PAGE, ids=["k3"]))
    root = ET.fromstring(render.render_svg(state, PAGE))
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == "0 0 1920 1080"
    paths = root.findall(f"{SVG}path")
    assert [p.get("data-id") for p in paths] == ["k1", "k2"]
    pen, highlighter = paths
    assert pen.get("fill") == "#123456" and pen.get("fill-opacity") is None
    assert highlighter.get("fill") == "#ffee00" and highlighter.get("fill-opacity") == "0.4"
    d = pen.get("d") or ""
    assert d.startswith("M") and d.endswith("Z")
    values = numbers(d)
    xs, ys = values[0::2], values[1::2]
    assert 180 <= min(xs) < 210 and 1690 < max(xs) <= 1720
    assert 280 <= min(ys) < 300 < max(ys) <= 320


def test_svg_shapes_and_text(state: BoardState) -> None:
    do(
        state,
        TEACHER,
        ShapeAdd(
            shape_id="r",
            page_id=PAGE,
            kind="rectangle",
            start=(600, 500),
            end=(200, 100),
            color="#0000ff",
            width=6,
        ),
    )
    do(
        state,
        TEACHER,
        ShapeAdd(
            shape_id="o",
            page_id=PAGE,
            kind="ellipse",
            start=(1000, 200),
            end=(1400, 600),
            color="#00aa00",
            width=6,
        ),
    )
    do(
        state,
        TEACHER,
        ShapeAdd(
            shape_id="l",
            page_id=PAGE,
            kind="line",
            start=(10, 20),
            end=(30, 40),
            color="#000000",
            width=2,
        ),
    )
    do(
        state,
        TEACHER,
        TextAdd(
            text_id="u",
            page_id=PAGE,
            text="پہلا سبق\nدوسری سطر",
            x=1800,
            y=100,
            size=40,
            color="#222222",
        ),
    )
    root = ET.fromstring(render.render_svg(state, PAGE))
    rect = root.find(f"{SVG}rect[@data-id='r']")
    assert rect is not None
    assert [rect.get(k) for k in ("x", "y", "width", "height")] == ["200", "100", "400", "400"]
    assert rect.get("stroke") == "#0000ff" and rect.get("fill") == "none"
    ellipse = root.find(f"{SVG}ellipse")
    assert ellipse is not None
    assert [ellipse.get(k) for k in ("cx", "cy", "rx", "ry")] == ["1200", "400", "200", "200"]
    seg = root.find(f"{SVG}path[@data-id='l']")
    assert seg is not None and numbers(seg.get("d") or "") == [10, 20, 30, 40]
    text = root.find(f"{SVG}text")
    assert text is not None and text.get("direction") == "rtl" and text.get("fill") == "#222222"
    assert [s.text for s in text.findall(f"{SVG}tspan")] == ["پہلا سبق", "دوسری سطر"]


def test_svg_text_is_escaped(state: BoardState) -> None:
    do(
        state,
        TEACHER,
        TextAdd(
            text_id="x",
            page_id=PAGE,
            text="a < b & </text><script>",
            x=10,
            y=10,
            size=20,
            color="#000000",
        ),
    )
    root = ET.fromstring(render.render_svg(state, PAGE))
    assert root.find(f".//{SVG}script") is None
    span = root.find(f".//{SVG}tspan")
    assert span is not None and span.text == "a < b & </text><script>"


def test_freehand_options_drive_the_outline() -> None:
    kwargs = render.freehand_kwargs("pen", 10.0)
    assert kwargs["size"] == 10.0 and kwargs["thinning"] == FREEHAND_OPTIONS["pen"]["thinning"]
    assert render.freehand_kwargs("highlighter", 10.0)["thinning"] == 0.0
