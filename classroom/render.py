"""Server-side rendering of a board page to PNG (Pillow) and SVG, with the browser's pen look.

Strokes are outlined with perfect-freehand using ``FREEHAND_OPTIONS`` (the same options the web
client uses) and the outline polygon is filled; highlighter ink is drawn semi-transparent. Meant
for exports and thumbnails: call it from a worker thread, never on the event loop.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from perfect_freehand import get_stroke
from PIL import Image, ImageDraw, ImageFont, features

from classroom.board import BoardState, Item, Page, Shape, Stroke, Text, visible_items
from classroom.errors import NotFound
from classroom.log import Actor
from classroom.protocol.board import (
    BOARD_HEIGHT,
    BOARD_WIDTH,
    FREEHAND_OPTIONS,
    HIGHLIGHTER_OPACITY,
)

BACKGROUND_COLOR = "#ffffff"
RULE_COLOR = "#c5d5ea"
GRID_COLOR = "#dcdcdc"
RULE_SPACING = 54.0  # 20 lines on a 1080-unit page
GRID_SPACING = 54.0
BACKGROUND_LINE_WIDTH = 1.5

URDU_FONTS = (
    "/usr/share/fonts/truetype/noto/NotoNastaliqUrdu-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
LATIN_FONTS = (
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
SVG_FONT_FAMILY = {
    "ltr": "'Noto Sans', 'DejaVu Sans', sans-serif",
    "rtl": "'Noto Nastaliq Urdu', 'Noto Naskh Arabic', 'DejaVu Sans', serif",
}
LINE_HEIGHT = 1.25  # text line pitch, in font sizes
ASCENT = 0.8  # where the first baseline sits below a text's y, in font sizes

AnyFont = ImageFont.FreeTypeFont | ImageFont.ImageFont
Rgb = tuple[int, int, int]


def freehand_kwargs(tool: str, width: float) -> dict[str, Any]:
    """Return ``perfect_freehand.get_stroke`` keyword arguments for a tool and stroke width."""
    options = FREEHAND_OPTIONS.get(tool, FREEHAND_OPTIONS["pen"])
    return {
        "size": width,
        "thinning": options["thinning"],
        "smoothing": options["smoothing"],
        "streamline": options["streamline"],
        "simulate_pressure": options["simulatePressure"],
        "last": options["last"],
        "cap_start": options["start"]["cap"],
        "taper_start": options["start"]["taper"],
        "cap_end": options["end"]["cap"],
        "taper_end": options["end"]["taper"],
    }


def stroke_outline(stroke: Stroke) -> list[tuple[float, float]]:
    """Return the outline polygon of a stroke in board units (empty for a stroke with no points).

    Returns
    -------
    list of (x, y)
        The closed outline; fill it (non-zero rule) to draw the stroke.
    """
    pts = stroke.pts
    if not pts:
        return []
    points = [(pts[i], pts[i + 1], pts[i + 2]) for i in range(0, len(pts), 4)]
    return get_stroke(points, **freehand_kwargs(stroke.tool, stroke.width))


def _rgb(color: str) -> Rgb:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _items(state: BoardState, page_id: str, viewer: Actor | None) -> list[Item]:
    if page_id not in state.pages:
        raise NotFound(f"no page {page_id!r}", field="page_id")
    return visible_items(state, page_id, viewer)


def page_for_render(state: BoardState, page_id: str, viewer: Actor | None) -> BoardState:
    """A board holding a copy of one page, with only the items ``viewer`` sees.

    Made on the event loop, then rendered in a worker thread while the live board keeps
    changing. Only what is drawn is copied (points lists are copied in C): a deep copy of the
    whole board cost ~1 s of loop time for a large lesson; this costs milliseconds.
    """
    page = state.pages.get(page_id)
    if page is None:
        raise NotFound(f"no page {page_id!r}", field="page_id")
    items: dict[str, Item] = {}
    for item in visible_items(state, page_id, viewer):
        if isinstance(item, Text):
            items[item.id] = dataclasses.replace(item, hidden_by=set())
        elif isinstance(item, Stroke):
            items[item.id] = dataclasses.replace(item, q=copy.copy(item.q), hidden_by=set())
        else:
            items[item.id] = dataclasses.replace(item, pts=copy.copy(item.pts), hidden_by=set())
    frozen = Page(page.id, copy.deepcopy(page.background), items)
    return BoardState(pages={page_id: frozen}, order=[page_id], current=page_id)


def _arrow_head(shape: Shape) -> tuple[tuple[float, float], list[tuple[float, float]]]:
    """Return the shaft's end and the head triangle (tip first) of an arrow."""
    x1, y1, x2, y2 = shape.pts
    length = math.hypot(x2 - x1, y2 - y1)
    head = min(max(3.0 * shape.width, 14.0), length if length > 0 else 1.0)
    angle = math.atan2(y2 - y1, x2 - x1)
    spread = math.radians(28)
    left = (x2 - head * math.cos(angle - spread), y2 - head * math.sin(angle - spread))
    right = (x2 - head * math.cos(angle + spread), y2 - head * math.sin(angle + spread))
    base = ((left[0] + right[0]) / 2, (left[1] + right[1]) / 2)
    return base, [(x2, y2), left, right]


def _box(shape: Shape) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = shape.pts
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


# --- PNG --------------------------------------------------------------------------------------


def _load_font(direction: str, size: float) -> AnyFont:
    layout = ImageFont.Layout.RAQM if features.check_feature("raqm") else ImageFont.Layout.BASIC
    for path in URDU_FONTS if direction == "rtl" else LATIN_FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, max(1, round(size)), layout_engine=layout)
    return ImageFont.load_default(size)


def render_image(
    state: BoardState,
    page_id: str,
    *,
    viewer: Actor | None = None,
    scale: float = 1.0,
    supersample: int = 2,
    images: Mapping[str, Image.Image] | None = None,
) -> Image.Image:
    """Draw a page as an RGB image of ``round(1920 * scale) x round(1080 * scale)`` pixels.

    ``viewer`` None draws the class view (shared ink only); a teacher sees all ink. Image
    backgrounds are looked up by asset id in ``images`` (missing: blank). ``supersample`` draws
    larger and shrinks, for anti-aliased edges.
    """
    items = _items(state, page_id, viewer)
    page = state.pages[page_id]
    size = (max(1, round(BOARD_WIDTH * scale)), max(1, round(BOARD_HEIGHT * scale)))
    factor = scale * max(1, supersample)
    big = (round(BOARD_WIDTH * factor), round(BOARD_HEIGHT * factor))
    canvas = Image.new("RGB", big, BACKGROUND_COLOR)
    draw = ImageDraw.Draw(canvas)
    _draw_background(canvas, draw, page.background, factor, images or {})
    fonts: dict[tuple[str, int], AnyFont] = {}
    for item in items:
        if isinstance(item, Stroke):
            _draw_stroke(canvas, item, factor)
        elif isinstance(item, Shape):
            _draw_shape(draw, item, factor)
        else:
            _draw_text(draw, item, factor, fonts)
    if canvas.size != size:
        canvas = canvas.resize(size, Image.Resampling.LANCZOS)
    return canvas


def render_png(
    state: BoardState,
    page_id: str,
    *,
    viewer: Actor | None = None,
    scale: float = 1.0,
    supersample: int = 2,
    images: Mapping[str, Image.Image] | None = None,
) -> bytes:
    """Return a page drawn as PNG bytes (see ``render_image`` for the arguments)."""
    image = render_image(
        state, page_id, viewer=viewer, scale=scale, supersample=supersample, images=images
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _draw_background(
    canvas: Image.Image,
    draw: ImageDraw.ImageDraw,
    background: Mapping[str, Any],
    f: float,
    images: Mapping[str, Image.Image],
) -> None:
    kind = background.get("kind")
    width = max(1, round(BACKGROUND_LINE_WIDTH * f))
    w, h = canvas.size
    if kind == "ruled":
        y = RULE_SPACING
        while y < BOARD_HEIGHT:
            draw.line([(0, y * f), (w, y * f)], fill=RULE_COLOR, width=width)
            y += RULE_SPACING
    elif kind == "grid":
        x = GRID_SPACING
        while x < BOARD_WIDTH:
            draw.line([(x * f, 0), (x * f, h)], fill=GRID_COLOR, width=width)
            x += GRID_SPACING
        y = GRID_SPACING
        while y < BOARD_HEIGHT:
            draw.line([(0, y * f), (w, y * f)], fill=GRID_COLOR, width=width)
            y += GRID_SPACING
    elif kind == "image":
        source = images.get(str(background.get("image")))
        if source is not None:
            # Fit inside the page, centred, keeping the aspect ratio (as SVG "xMidYMid meet").
            ratio = min(w / source.width, h / source.height)
            fitted = source.convert("RGBA").resize(
                (max(1, round(source.width * ratio)), max(1, round(source.height * ratio))),
                Image.Resampling.LANCZOS,
            )
            canvas.paste(fitted, ((w - fitted.width) // 2, (h - fitted.height) // 2), fitted)


def _nonzero_mask(
    polygon: np.ndarray, size: tuple[int, int]
) -> tuple[tuple[int, int], np.ndarray] | None:
    """Rasterise a polygon with the non-zero winding rule (SVG's default, which the browser uses).

    Pillow fills even-odd, which leaves holes where perfect-freehand's round caps overlap the
    outline. A pixel is inside when its centre has a non-zero winding number: each edge adds +1
    or -1 at the first pixel centre right of where it crosses a row; a running sum along the row
    gives the winding number.

    Parameters
    ----------
    polygon : (N, 2) float64, pixel coordinates (x, y), closed implicitly
    size : (width, height) of the canvas

    Returns
    -------
    ((left, top), mask) with mask : (h, w) bool covering the polygon's box on the canvas, or None
    when the polygon misses the canvas.
    """
    width, height = size
    left = max(0, int(np.floor(polygon[:, 0].min())))
    right = min(width, int(np.ceil(polygon[:, 0].max())) + 1)
    top = max(0, int(np.floor(polygon[:, 1].min())))
    bottom = min(height, int(np.ceil(polygon[:, 1].max())) + 1)
    if right <= left or bottom <= top:
        return None
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    # Rows whose pixel centre (row + 0.5) lies in [min(y0, y1), max(y0, y1)).
    first = np.ceil(np.minimum(y0, y1) - 0.5).astype(np.int64)
    stop = np.ceil(np.maximum(y0, y1) - 0.5).astype(np.int64)
    first = np.maximum(first, top)
    stop = np.minimum(stop, bottom)
    counts = np.maximum(stop - first, 0)
    total = int(counts.sum())
    if total == 0:
        return None
    edge = np.repeat(np.arange(len(polygon)), counts)
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = first[edge] + within
    ey0, ey1, ex0, ex1 = y0[edge], y1[edge], x0[edge], x1[edge]
    cross_x = ex0 + (rows + 0.5 - ey0) / (ey1 - ey0) * (ex1 - ex0)
    cols = np.clip(np.ceil(cross_x - 0.5).astype(np.int64) - left, 0, right - left)
    winding = np.zeros((bottom - top, right - left + 1), np.int32)
    np.add.at(winding, (rows - top, cols), np.where(ey1 > ey0, 1, -1).astype(np.int32))
    inside = np.cumsum(winding, axis=1)[:, : right - left] != 0
    return (left, top), inside


def _draw_stroke(canvas: Image.Image, stroke: Stroke, f: float) -> None:
    outline = stroke_outline(stroke)
    if len(outline) < 3:
        return
    polygon = np.asarray(outline, dtype=np.float64) * f
    filled = _nonzero_mask(polygon, canvas.size)
    if filled is None:
        return
    (left, top), inside = filled
    # Highlighter ink is pasted at partial opacity once, so a stroke crossing itself stays even.
    alpha = 255 if stroke.tool != "highlighter" else round(255 * HIGHLIGHTER_OPACITY)
    mask = Image.fromarray(inside.astype(np.uint8) * np.uint8(alpha), mode="L")
    box = (left, top, left + mask.width, top + mask.height)
    canvas.paste(_rgb(stroke.color), box, mask)


def _draw_shape(draw: ImageDraw.ImageDraw, shape: Shape, f: float) -> None:
    color = _rgb(shape.color)
    width = max(1, round(shape.width * f))
    half = shape.width * f / 2
    if shape.kind in ("line", "arrow"):
        x1, y1, x2, y2 = shape.pts
        end = (x2, y2)
        if shape.kind == "arrow":
            end, head = _arrow_head(shape)
            draw.polygon([(x * f, y * f) for x, y in head], fill=color)
        draw.line([(x1 * f, y1 * f), (end[0] * f, end[1] * f)], fill=color, width=width)
        for cx, cy in ((x1, y1), end):  # round caps, as stroke-linecap="round"
            draw.ellipse([cx * f - half, cy * f - half, cx * f + half, cy * f + half], fill=color)
        return
    x0, y0, x1, y1 = _box(shape)
    # Pillow draws outlines inside the box; SVG centres them on it: grow by half the width.
    box = (x0 * f - half, y0 * f - half, x1 * f + half, y1 * f + half)
    if shape.kind == "rectangle":
        draw.rectangle(box, outline=color, width=width)
    else:
        draw.ellipse(box, outline=color, width=width)


def _draw_text(
    draw: ImageDraw.ImageDraw, text: Text, f: float, fonts: dict[tuple[str, int], AnyFont]
) -> None:
    px = max(1, round(text.size * f))
    font = fonts.get((text.dir, px))
    if font is None:
        font = fonts[(text.dir, px)] = _load_font(text.dir, px)
    rtl = text.dir == "rtl"
    extra: dict[str, Any] = {}
    if rtl and features.check_feature("raqm"):
        extra["direction"] = "rtl"
    draw.multiline_text(
        (text.x * f, (text.y + ASCENT * text.size) * f),
        text.text,
        font=font,
        fill=_rgb(text.color),
        anchor="rs" if rtl else "ls",
        spacing=round((LINE_HEIGHT - 1.0) * text.size * f),
        align="right" if rtl else "left",
        **extra,
    )


# --- SVG --------------------------------------------------------------------------------------


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _path(points: Sequence[tuple[float, float]], *, close: bool) -> str:
    head, *rest = points
    parts = [f"M{_num(head[0])},{_num(head[1])}"]
    parts.extend(f"L{_num(x)},{_num(y)}" for x, y in rest)
    if close:
        parts.append("Z")
    return " ".join(parts)


def render_svg(
    state: BoardState,
    page_id: str,
    *,
    viewer: Actor | None = None,
    image_href: Callable[[str], str] | None = None,
) -> str:
    """Return a page as SVG text in board units (viewBox 0 0 1920 1080).

    Each item becomes one element with a ``data-id`` attribute: a stroke is a filled ``path``
    (``class="stroke pen"`` or ``"stroke highlighter"``), shapes are ``path``/``rect``/``ellipse``
    with ``class="shape <kind>"``, texts are ``text`` elements. ``image_href`` maps an uploaded
    image id to its URL (default ``/assets/<id>``).
    """
    items = _items(state, page_id, viewer)
    page = state.pages[page_id]
    root = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {BOARD_WIDTH} {BOARD_HEIGHT}",
            "width": str(BOARD_WIDTH),
            "height": str(BOARD_HEIGHT),
        },
    )
    ET.SubElement(
        root,
        "rect",
        {
            "class": "background",
            "x": "0",
            "y": "0",
            "width": str(BOARD_WIDTH),
            "height": str(BOARD_HEIGHT),
            "fill": BACKGROUND_COLOR,
        },
    )
    _svg_background(root, page.background, image_href or (lambda image_id: f"/assets/{image_id}"))
    for item in items:
        if isinstance(item, Stroke):
            _svg_stroke(root, item)
        elif isinstance(item, Shape):
            _svg_shape(root, item)
        else:
            _svg_text(root, item)
    return ET.tostring(root, encoding="unicode")


def _svg_background(
    root: ET.Element, background: Mapping[str, Any], image_href: Callable[[str], str]
) -> None:
    kind = background.get("kind")
    lines: list[str] = []
    if kind == "ruled":
        color = RULE_COLOR
        y = RULE_SPACING
        while y < BOARD_HEIGHT:
            lines.append(f"M0,{_num(y)} H{BOARD_WIDTH}")
            y += RULE_SPACING
    elif kind == "grid":
        color = GRID_COLOR
        x = GRID_SPACING
        while x < BOARD_WIDTH:
            lines.append(f"M{_num(x)},0 V{BOARD_HEIGHT}")
            x += GRID_SPACING
        y = GRID_SPACING
        while y < BOARD_HEIGHT:
            lines.append(f"M0,{_num(y)} H{BOARD_WIDTH}")
            y += GRID_SPACING
    elif kind == "image":
        ET.SubElement(
            root,
            "image",
            {
                "class": "background",
                "href": image_href(str(background.get("image"))),
                "x": "0",
                "y": "0",
                "width": str(BOARD_WIDTH),
                "height": str(BOARD_HEIGHT),
                "preserveAspectRatio": "xMidYMid meet",
            },
        )
    if lines:
        ET.SubElement(
            root,
            "path",
            {
                "class": f"background {kind}",
                "d": " ".join(lines),
                "fill": "none",
                "stroke": color,
                "stroke-width": _num(BACKGROUND_LINE_WIDTH),
            },
        )


def _svg_stroke(root: ET.Element, stroke: Stroke) -> None:
    outline = stroke_outline(stroke)
    if len(outline) < 3:
        return
    attrs = {
        "class": f"stroke {stroke.tool}",
        "data-id": stroke.id,
        "d": _path(outline, close=True),
        "fill": stroke.color,
    }
    if stroke.tool == "highlighter":
        attrs["fill-opacity"] = _num(HIGHLIGHTER_OPACITY)
    ET.SubElement(root, "path", attrs)


def _svg_shape(root: ET.Element, shape: Shape) -> None:
    attrs = {
        "class": f"shape {shape.kind}",
        "data-id": shape.id,
        "fill": "none",
        "stroke": shape.color,
        "stroke-width": _num(shape.width),
        "stroke-linecap": "round",
        "stroke-linejoin": "round",
    }
    if shape.kind in ("line", "arrow"):
        x1, y1, x2, y2 = shape.pts
        if shape.kind == "line":
            attrs["d"] = _path([(x1, y1), (x2, y2)], close=False)
            ET.SubElement(root, "path", attrs)
            return
        base, head = _arrow_head(shape)
        group = ET.SubElement(root, "g", {"class": "shape arrow", "data-id": shape.id})
        del attrs["class"], attrs["data-id"]
        attrs["d"] = _path([(x1, y1), base], close=False)
        ET.SubElement(group, "path", attrs)
        ET.SubElement(group, "path", {"d": _path(head, close=True), "fill": shape.color})
        return
    x0, y0, x1b, y1b = _box(shape)
    if shape.kind == "rectangle":
        attrs.update(x=_num(x0), y=_num(y0), width=_num(x1b - x0), height=_num(y1b - y0))
        ET.SubElement(root, "rect", attrs)
    else:
        attrs.update(
            cx=_num((x0 + x1b) / 2),
            cy=_num((y0 + y1b) / 2),
            rx=_num((x1b - x0) / 2),
            ry=_num((y1b - y0) / 2),
        )
        ET.SubElement(root, "ellipse", attrs)


def _svg_text(root: ET.Element, text: Text) -> None:
    rtl = text.dir == "rtl"
    element = ET.SubElement(
        root,
        "text",
        {
            "class": "text",
            "data-id": text.id,
            "x": _num(text.x),
            "y": _num(text.y + ASCENT * text.size),
            "font-size": _num(text.size),
            "font-family": SVG_FONT_FAMILY[text.dir],
            "fill": text.color,
            "direction": text.dir,
            "text-anchor": "start",
            "xml:space": "preserve",
        },
    )
    if rtl:
        element.set("unicode-bidi", "embed")
    for index, line in enumerate(text.text.split("\n")):
        span = ET.SubElement(element, "tspan", {"x": _num(text.x)})
        if index:
            span.set("dy", _num(LINE_HEIGHT * text.size))
        span.text = line
