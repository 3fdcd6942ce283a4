"""The programme's pictures: the board as the class saw it, one frame every ``1/fps`` s.

Frame ``i`` shows the lesson at ``source.start_ms + i * 1000 / fps`` (every event whose clock is
at or before it). What is on screen (docs/exports.md, "The picture"):

* a **card** (full frame) while a poll is open, a quiz question is open, and for
  ``CARD_MS`` after a poll's results were shown, a question's leaderboard or a quiz's podium;
  when several apply, the one that began last;
* else the **camera board** or the **board ink**, by :class:`ViewRule`: whichever changed
  last, each kept on screen at least ``VIEW_HOLD_MS`` once shown (lessons without a camera
  picture show the ink throughout).

Every graphic sits inside the EBU R95 graphics-safe area (5 % in from each edge: x 96-1824,
y 54-1026 at 1920x1080, scaled with the frame): the 1920x1080 board is drawn at 0.9 into it;
outside it the frame is ``FRAME_COLOR``.

:func:`frames` draws incrementally: ink onto a kept canvas, the page redrawn only on a page
switch, erase, undo/redo, clear or background change; a frame nothing changed is the previous
frame's array object (encoders skip it). :func:`reference_frames` redraws the whole screen with
:func:`classroom.render.render_image` whenever anything changed: the reference the incremental
renderer is checked against (slow: a 2,000-stroke page costs ~200 ms at 1080p).
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import functools
import io
import math
import queue
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import numpy as np
from PIL import Image, ImageDraw, features

from classroom import board as board_feature
from classroom import render, timeline
from classroom.board import BoardState, Item, Page, Shape, Stroke, visible_items
from classroom.export.source import LessonSource
from classroom.lesson import ClassState
from classroom.log import Event
from classroom.polls import Poll
from classroom.protocol.board import BOARD_HEIGHT, BOARD_WIDTH, HIGHLIGHTER_OPACITY

Frame = np.ndarray[Any, np.dtype[np.uint8]]  # (height, width, 3) RGB
Lang = Literal["ur", "en"]
Rgb = tuple[int, int, int]

FRAME_COLOR: Rgb = (38, 42, 48)  # the surround outside the safe area (and behind cards)
CARD_COLOR: Rgb = (250, 247, 240)
INK_COLOR: Rgb = (24, 28, 36)
ACCENT_COLOR: Rgb = (34, 110, 180)
MUTED_COLOR: Rgb = (110, 116, 126)
SAFE_MARGIN = 0.05  # EBU R95 graphics-safe: 5 % of the width / height in from each edge
CARD_MS = 10_000  # results, leaderboards and podiums stay on screen this long
VIEW_HOLD_MS = 4_000  # the camera board or the ink stays at least this long once shown
IDLE_MS = 5_000  # a stroke not extended for this long is kept on the canvas as it is
SUPERSAMPLE = 2  # stroke edges: coverage from a 2x2 grid per pixel

# Board events that hide or show items of a page: the box of those items is repainted.
REPAINT_EVENTS = frozenset({"items_erased", "page_cleared", "board_undone", "board_redone"})
# Board events that may change the page as a whole: it is drawn again from its background.
REDRAW_EVENTS = frozenset(
    {
        "page_added",
        "page_switched",
        "page_deleted",
        "page_background_set",
        "drawing_revoked",
    }
)
INK_EVENTS = frozenset(
    {"stroke_started", "stroke_extended", "stroke_ended", "shape_added", "text_added"}
)
CARD_EVENTS_PREFIXES = ("poll_", "quiz_")


def frame_count(source: LessonSource, fps: int) -> int:
    """Frames in the programme: its duration in whole frames (at least one)."""
    return max(1, math.ceil(source.duration_ms * fps / 1000))


def frame_time(source: LessonSource, index: int, fps: int) -> int:
    """The lesson clock (ms) frame ``index`` shows."""
    return source.start_ms + (index * 1000) // fps


# --- layout ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things go in a frame: the safe area and the board inside it (pixels)."""

    width: int
    height: int
    safe: tuple[int, int, int, int]  # left, top, right, bottom (exclusive)
    board: tuple[int, int, int, int]  # left, top, width, height of the drawn board
    scale: float  # board units -> pixels


def layout(width: int, height: int) -> Layout:
    """The EBU R95 graphics-safe area of a frame and the board fitted, centred, inside it."""
    if width < 16 or height < 16:
        raise ValueError(f"a frame must be at least 16x16 pixels, not {width}x{height}")
    left, top = round(width * SAFE_MARGIN), round(height * SAFE_MARGIN)
    right, bottom = width - left, height - top
    scale = min((right - left) / BOARD_WIDTH, (bottom - top) / BOARD_HEIGHT)
    # The size render.render_image draws at this scale.
    bw, bh = max(1, round(BOARD_WIDTH * scale)), max(1, round(BOARD_HEIGHT * scale))
    bx = left + (right - left - bw) // 2
    by = top + (bottom - top - bh) // 2
    return Layout(width, height, (left, top, right, bottom), (bx, by, bw, bh), scale)


def blank_frame(lay: Layout) -> Frame:
    frame = np.empty((lay.height, lay.width, 3), np.uint8)
    frame[:] = FRAME_COLOR
    return frame


def _board_view(frame: Frame, lay: Layout) -> Frame:
    bx, by, bw, bh = lay.board
    return frame[by : by + bh, bx : bx + bw]


# --- pictures ---------------------------------------------------------------------------------


class Pictures:
    """Decoded pictures of the lesson (backgrounds, camera boards) by asset id; None if the
    bytes are missing or are not an image.

    A lesson keeps up to 2,000 keyframes (~3 MB each decoded): only the last few decoded are
    kept, and :meth:`readable` looks at a picture's header without decoding it.
    """

    KEEP = 6

    def __init__(self, source: LessonSource) -> None:
        self._source = source
        self._decoded: collections.OrderedDict[str, Image.Image | None] = collections.OrderedDict()
        self._readable: dict[str, bool] = {}

    def readable(self, asset_id: str) -> bool:
        """Whether the asset is there and starts like an image Pillow reads."""
        if asset_id not in self._readable:
            data = self._source.asset(asset_id)
            ok = False
            if data is not None:
                try:
                    with Image.open(io.BytesIO(data)) as opened:
                        ok = opened.width > 0 and opened.height > 0
                except (OSError, ValueError, Image.DecompressionBombError):
                    ok = False
            self._readable[asset_id] = ok
        return self._readable[asset_id]

    def get(self, asset_id: str) -> Image.Image | None:
        if asset_id in self._decoded:
            self._decoded.move_to_end(asset_id)
            return self._decoded[asset_id]
        image: Image.Image | None = None
        data = self._source.asset(asset_id) if self.readable(asset_id) else None
        if data is not None:
            try:
                with Image.open(io.BytesIO(data)) as opened:
                    image = opened.convert("RGB")
            except (OSError, ValueError, Image.DecompressionBombError):
                image = None
        self._decoded[asset_id] = image
        while len(self._decoded) > self.KEEP:
            self._decoded.popitem(last=False)
        return image

    def backgrounds(self, state: BoardState) -> dict[str, Image.Image]:
        """The background pictures of the board's pages, for ``render.render_image``."""
        found: dict[str, Image.Image] = {}
        for page in state.pages.values():
            image_id = page.background.get("image")
            if page.background.get("kind") == "image" and isinstance(image_id, str):
                image = self.get(image_id)
                if image is not None:
                    found[image_id] = image
        return found


def fit_picture(image: Image.Image, lay: Layout) -> Frame:
    """A camera picture fitted (aspect kept) and centred in the board's place of a frame."""
    frame = blank_frame(lay)
    bx, by, bw, bh = lay.board
    ratio = min(bw / image.width, bh / image.height)
    size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
    fitted = np.asarray(image.resize(size, Image.Resampling.BILINEAR), dtype=np.uint8)
    x, y = bx + (bw - size[0]) // 2, by + (bh - size[1]) // 2
    frame[y : y + size[1], x : x + size[0]] = fitted
    return frame


# --- what is on screen --------------------------------------------------------------------------


def _clocks(events: Sequence[Event]) -> list[int]:
    clock, out = 0, []
    for event in events:
        clock = max(clock, event.ts)
        out.append(clock)
    return out


@dataclass
class LessonMarks:
    """Times (lesson clock, ms) the screen rules look up, gathered once from the log."""

    board_changes: list[int] = field(default_factory=list)
    camera_changes: list[tuple[int, str]] = field(default_factory=list)  # (time, asset id)
    begun: dict[tuple[str, ...], list[int]] = field(default_factory=dict)  # card -> times

    @classmethod
    def of(cls, source: LessonSource, pictures: Pictures) -> LessonMarks:
        events = source.timeline.events
        marks = cls()
        camera: list[tuple[int, str]] = []
        last_live: tuple[int, str] | None = None
        for event, clock in zip(events, _clocks(events), strict=True):
            kind, data = event.type, event.data
            if kind in INK_EVENTS or kind in REDRAW_EVENTS or kind in REPAINT_EVENTS:
                if event.audience == "all":
                    marks.board_changes.append(clock)
            elif kind == "camera_keyframe_added":
                asset_id = str(data.get("asset_id"))
                if pictures.readable(asset_id):
                    camera.append((int(data.get("captured_at_ms", clock)), asset_id))
            elif kind == "camera_updated":
                last_live = (clock, str(data.get("asset_id")))
            elif kind == "poll_opened":
                marks.begun.setdefault(("poll", str(data.get("poll_id"))), []).append(clock)
            elif kind == "poll_results_shown":
                marks.begun.setdefault(("results", str(data.get("poll_id"))), []).append(clock)
            elif kind == "quiz_question_opened":
                key = ("question", str(data.get("quiz_id")), str(data.get("question")))
                marks.begun.setdefault(key, []).append(clock)
            elif kind == "quiz_leaderboard":
                key = ("leaderboard", str(data.get("quiz_id")), str(data.get("question")))
                marks.begun.setdefault(key, []).append(clock)
            elif kind == "quiz_ended":
                marks.begun.setdefault(("podium", str(data.get("quiz_id"))), []).append(clock)
        # Only the latest live view's bytes are kept: it is true from its event on.
        if last_live is not None and pictures.readable(last_live[1]):
            camera.append(last_live)
        marks.camera_changes = sorted(camera)
        return marks

    def began(self, key: tuple[str, ...], t: int) -> int | None:
        """When the card ``key`` last began at or before ``t``."""
        times = self.begun.get(key)
        if not times:
            return None
        position = bisect.bisect_right(times, t)
        return times[position - 1] if position else None

    def last_board_change(self, t: int) -> int | None:
        position = bisect.bisect_right(self.board_changes, t)
        return self.board_changes[position - 1] if position else None

    def camera_at(self, t: int) -> tuple[int, str] | None:
        """The camera picture showing the board at ``t``: (when it changed, its asset id)."""
        position = bisect.bisect_right(self.camera_changes, (t, "\uffff"))
        return self.camera_changes[position - 1] if position else None


class ViewRule:
    """Camera board or board ink: whichever changed last, each held ``VIEW_HOLD_MS`` once shown.

    Ask in time order (``view(t)`` with ``t`` not decreasing): the rule has a memory.
    """

    def __init__(self, marks: LessonMarks, hold_ms: int = VIEW_HOLD_MS) -> None:
        self._marks = marks
        self._hold = hold_ms
        self.view: Literal["board", "camera"] = "board"
        self._since: int | None = None

    def at(self, t: int) -> tuple[Literal["board", "camera"], str | None]:
        """The view at ``t`` and, for the camera, the picture's asset id."""
        camera = self._marks.camera_at(t)
        if camera is None:
            return "board", None
        ink = self._marks.last_board_change(t)
        want: Literal["board", "camera"] = "camera" if ink is None or camera[0] >= ink else "board"
        if want != self.view and (self._since is None or t - self._since >= self._hold):
            self.view, self._since = want, t
        return self.view, camera[1] if self.view == "camera" else None


CardKey = tuple[Any, ...]


def card_at(state: ClassState, marks: LessonMarks, t: int) -> CardKey | None:
    """The card on screen at ``t`` (a hashable key naming it and what it shows), or None."""
    found: list[tuple[int, CardKey]] = []
    for poll in state.part("polls").polls.values():
        if poll.status == "open":
            began = marks.began(("poll", poll.poll_id), t)
            found.append((began or 0, ("poll", poll.poll_id, len(poll.votes))))
        elif poll.results_shown:
            began = marks.began(("results", poll.poll_id), t)
            if began is not None and t < began + CARD_MS:
                found.append((began, ("results", poll.poll_id)))
    for quiz in state.part("quizzes").quizzes.values():
        run = quiz.current_run()
        if quiz.status == "running" and run is not None:
            if run.status == "open":
                began = marks.began(("question", quiz.quiz_id, str(run.index)), t) or 0
                left = None
                if run.deadline_ms is not None:
                    left = max(0, math.ceil((run.deadline_ms - t) / 1000))
                key = ("question", quiz.quiz_id, run.index, len(run.answers), left)
                found.append((began, key))
            elif quiz.last_leaderboard is not None:
                question = str(quiz.last_leaderboard.get("question"))
                began = marks.began(("leaderboard", quiz.quiz_id, question), t)
                if began is not None and t < began + CARD_MS:
                    found.append((began, ("leaderboard", quiz.quiz_id, question)))
        elif quiz.status == "ended":
            began = marks.began(("podium", quiz.quiz_id), t)
            if began is not None and t < began + CARD_MS:
                found.append((began, ("podium", quiz.quiz_id)))
    if not found:
        return None
    return max(found, key=lambda pair: pair[0])[1]


# --- cards ----------------------------------------------------------------------------------

WORDS: dict[str, dict[Lang, str]] = {
    "poll": {"en": "Poll", "ur": "رائے شماری"},
    "results": {"en": "Poll results", "ur": "رائے شماری کے نتائج"},
    "responses": {"en": "{n} responses", "ur": "{n} جوابات"},
    "question": {"en": "Question {n} of {of}", "ur": "سوال {n} از {of}"},
    "answered": {"en": "{n} answered", "ur": "{n} نے جواب دیا"},
    "seconds": {"en": "{n} s left", "ur": "{n} سیکنڈ باقی"},
    "leaderboard": {"en": "Leaderboard", "ur": "درجہ بندی"},
    "podium": {"en": "Final scores", "ur": "حتمی نتائج"},
    "points": {"en": "{n} points", "ur": "{n} نمبر"},
    "players": {"en": "{n} players", "ur": "{n} کھلاڑی"},
}


def word(key: str, lang: Lang, **values: object) -> str:
    return WORDS[key][lang].format(**values)


def is_rtl(text: str) -> bool:
    """Whether a text is written right to left (its first strong character is)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def has_arabic_script(text: str) -> bool:
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


ELLIPSIS = "…"


def fit_line(text: str, fits: Callable[[str], bool], ellipsis: str = ELLIPSIS) -> str:
    """``text``, or its longest start ending in an ellipsis that ``fits`` (never empty)."""
    if fits(text):
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if fits(text[:middle].rstrip() + ellipsis):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ellipsis


def wrap_lines(
    text: str, fits: Callable[[str], bool], most: int, ellipsis: str = ELLIPSIS
) -> list[str]:
    """Greedy word wrap into at most ``most`` lines that ``fits``; the last one cut short."""
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < most:
        line = words.pop(0)
        while words and fits(f"{line} {words[0]}"):
            line = f"{line} {words.pop(0)}"
        lines.append(line)
    if words:
        lines[-1] = fit_line(f"{lines[-1]} {' '.join(words)}", fits, ellipsis)
    return [fit_line(line, fits, ellipsis) for line in lines] or [""]


@functools.lru_cache(maxsize=64)
def _font(urdu: bool, size: int) -> render.AnyFont:
    # Loading Noto Nastaliq Urdu costs ~10 ms: each size once per process.
    return render._load_font("rtl" if urdu else "ltr", size)


def script_runs(text: str) -> list[tuple[str, bool]]:
    """``text`` cut where it changes script: (piece, Arabic script?) in logical order.

    Noto Nastaliq Urdu has no Latin letters and Noto Sans no Nastaliq, so a line that mixes
    them ("کیا آپ سمجھ گئے؟ Did you understand?") is drawn run by run, each in its own font.
    Spaces, digits and punctuation stay with the run before them.
    """
    runs: list[tuple[str, bool]] = []
    piece, arabic = "", None
    for char in text:
        kind = unicodedata.bidirectional(char)
        strong = True if kind in ("R", "AL") else False if kind == "L" else None
        if strong is None or arabic is None or strong == arabic:
            piece += char
            if arabic is None:
                arabic = strong
        else:
            runs.append((piece, bool(arabic)))
            piece, arabic = char, strong
    if piece:
        runs.append((piece, bool(arabic)))
    return runs


class Typesetter:
    """Draws one line of text, shaped (raqm: joining, Nastaliq, bidi), shrunk to fit a width.

    A line mixing Urdu and Latin letters is drawn as runs, each in the font that has its
    letters, laid out in the line's direction (its first strong character's)."""

    def __init__(self) -> None:
        self.raqm = features.check_feature("raqm")

    def font(self, text: str, size: int) -> render.AnyFont:
        return _font(has_arabic_script(text), size)

    def _options(self, text: str) -> dict[str, Any]:
        return {"direction": "rtl"} if self.raqm and is_rtl(text) else {}

    def _run_width(self, piece: str, arabic: bool, size: int) -> float:
        options: dict[str, Any] = {"direction": "rtl"} if self.raqm and arabic else {}
        return float(_font(arabic, size).getlength(piece, **options))

    def width(self, text: str, size: int) -> float:
        runs = script_runs(text)
        if len(runs) <= 1:
            return float(self.font(text, size).getlength(text, **self._options(text)))
        return sum(self._run_width(piece, arabic, size) for piece, arabic in runs)

    def draw(
        self,
        draw: ImageDraw.ImageDraw,
        xy: tuple[float, float],
        text: str,
        *,
        size: int,
        fill: Rgb,
        anchor: str,
        max_width: float,
    ) -> tuple[int, int, int, int]:
        """Draw ``text`` at ``xy`` (PIL ``anchor``), shrinking it to ``max_width`` (to 60 % of
        ``size`` at most, then cut short with an ellipsis); its box."""
        # Shaping Nastaliq is the cost here (~5 ms a call): measure as few times as possible.
        smallest = max(8, round(size * 0.6))
        wide = self.width(text, size)
        if wide > max_width:  # widths scale with the size: one guess, then small steps
            size = max(smallest, int(size * max_width / wide))
            while size > smallest and self.width(text, size) > max_width:
                size = max(smallest, int(size * 0.9))
            # Noto Nastaliq Urdu has no U+2026: three full stops read the same.
            ellipsis = "..." if has_arabic_script(text) else ELLIPSIS
            text = fit_line(text, lambda line: self.width(line, size) <= max_width, ellipsis)
        runs = script_runs(text)
        x, y = xy
        if len(runs) > 1:
            return self._draw_runs(draw, (x, y), runs, size=size, fill=fill, anchor=anchor)
        font = self.font(text, size)
        options = self._options(text)
        box = font.getbbox(text, anchor=anchor, **options)
        draw.text(xy, text, font=font, fill=fill, anchor=anchor, **options)
        return (int(x + box[0]), int(y + box[1]), int(x + box[2]), int(y + box[3]))

    def _draw_runs(
        self,
        draw: ImageDraw.ImageDraw,
        xy: tuple[float, float],
        runs: list[tuple[str, bool]],
        *,
        size: int,
        fill: Rgb,
        anchor: str,
    ) -> tuple[int, int, int, int]:
        widths = [self._run_width(piece, arabic, size) for piece, arabic in runs]
        total = sum(widths)
        x, y = xy
        left = {"l": x, "m": x - total / 2, "r": x - total}.get(anchor[0], x)
        vertical = anchor[1] if len(anchor) > 1 else "a"
        rtl = next((arabic for piece, arabic in runs if piece.strip()), False)
        order = list(zip(runs, widths, strict=True))
        if rtl:  # the first run sits at the right
            order.reverse()
        boxes = []
        for (piece, arabic), wide in order:
            options: dict[str, Any] = {"direction": "rtl"} if self.raqm and arabic else {}
            font = _font(arabic, size)
            run_anchor = "l" + vertical
            box = font.getbbox(piece, anchor=run_anchor, **options)
            draw.text((left, y), piece, font=font, fill=fill, anchor=run_anchor, **options)
            boxes.append((left + box[0], y + box[1], left + box[2], y + box[3]))
            left += wide
        return (
            int(min(b[0] for b in boxes)),
            int(min(b[1] for b in boxes)),
            int(max(b[2] for b in boxes)),
            int(max(b[3] for b in boxes)),
        )


class CardPainter:
    """Full-frame cards for polls and quizzes, everything inside the safe area."""

    def __init__(self, lay: Layout, lang: Lang) -> None:
        self.lay = lay
        self.lang = lang
        self.type = Typesetter()
        self._cache: dict[CardKey, Frame] = {}
        self._static: dict[CardKey, Frame] = {}

    def frame(self, key: CardKey, state: ClassState) -> Frame:
        """The card ``key`` names. Its footer (responses, seconds left) changes often: the rest
        is painted once and the footer laid on a copy (a card costs ~100 ms, a footer ~2)."""
        cached = self._cache.get(key)
        if cached is None:
            static_key = key[:3] if key[0] == "question" else key[:2]
            base = self._static.get(static_key)
            if base is None:
                if len(self._static) >= 4:
                    self._static.clear()
                base = self._static[static_key] = self._paint(key, state)
            if len(self._cache) >= 8:  # a 1080p card is 6 MB
                self._cache.clear()
            cached = self._cache[key] = self._with_footer(base, self.footer(key, state))
        return cached

    def footer(self, key: CardKey, state: ClassState) -> str:
        kind = key[0]
        if kind == "poll":
            return word("responses", self.lang, n=key[2])
        if kind == "results":
            poll = state.part("polls").polls[key[1]]
            responses = (poll.shown_tally or {}).get("responses", len(poll.votes))
            return word("responses", self.lang, n=responses)
        if kind == "question":
            text = word("answered", self.lang, n=key[3])
            if key[4] is not None:
                comma = "، " if self.lang == "ur" else ", "
                text = f"{text}{comma}{word('seconds', self.lang, n=key[4])}"
            return text
        quiz = state.part("quizzes").quizzes[key[1]]
        shown = (quiz.last_leaderboard if kind == "leaderboard" else quiz.final) or {}
        return word("players", self.lang, n=shown.get("players", len(shown.get("top", []))))

    def _box(self) -> tuple[int, int, int, int]:
        left, top, right, bottom = self.lay.safe
        pad = round(48 * self._unit())
        return (left + pad, top + pad, right - pad, bottom - pad)

    def _footer_band(self) -> tuple[int, int, int, int]:
        left, _, right, bottom = self._box()
        return left, bottom - round(64 * self._unit()), right, bottom

    def _with_footer(self, base: Frame, text: str) -> Frame:
        x0, y0, x1, y1 = self._footer_band()
        band = Image.fromarray(base[y0:y1, x0:x1])
        rtl = self.lang == "ur"
        self.type.draw(
            ImageDraw.Draw(band),
            (x1 - x0 if rtl else 0, y1 - y0),
            text,
            size=round(36 * self._unit()),
            fill=MUTED_COLOR,
            anchor="rd" if rtl else "ld",
            max_width=x1 - x0,
        )
        frame = base.copy()
        frame[y0:y1, x0:x1] = np.asarray(band, dtype=np.uint8)
        return frame

    # drawing helpers, in pixels of this frame

    def _unit(self) -> float:
        return self.lay.height / 1080

    def _paint(self, key: CardKey, state: ClassState) -> Frame:
        lay = self.lay
        image = Image.new("RGB", (lay.width, lay.height), FRAME_COLOR)
        draw = ImageDraw.Draw(image)
        left, top, right, bottom = lay.safe
        u = self._unit()
        draw.rounded_rectangle(
            (left, top, right - 1, bottom - 1), radius=max(1, round(24 * u)), fill=CARD_COLOR
        )
        box = self._box()
        kind = key[0]
        if kind in ("poll", "results"):
            poll = state.part("polls").polls[key[1]]
            self._poll(draw, box, poll, results=kind == "results")
        elif kind == "question":
            quiz = state.part("quizzes").quizzes[key[1]]
            self._question(draw, box, quiz, int(key[2]))
        elif kind == "leaderboard":
            quiz = state.part("quizzes").quizzes[key[1]]
            rows = list((quiz.last_leaderboard or {}).get("top", []))
            players = int((quiz.last_leaderboard or {}).get("players", len(rows)))
            self._ranking(
                draw, box, word("leaderboard", self.lang), quiz.definition.title, rows, players
            )
        elif kind == "podium":
            quiz = state.part("quizzes").quizzes[key[1]]
            rows = list((quiz.final or {}).get("top", []))
            players = int((quiz.final or {}).get("players", len(rows)))
            self._ranking(
                draw, box, word("podium", self.lang), quiz.definition.title, rows, players
            )
        return np.asarray(image, dtype=np.uint8)

    def _heading(
        self, draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], label: str, title: str
    ) -> int:
        """The card's label and title lines; returns the y below them."""
        left, top, right, _ = box
        u = self._unit()
        rtl = self.lang == "ur"
        x = right if rtl else left
        anchor = "ra" if rtl else "la"
        drawn = self.type.draw(
            draw,
            (x, top),
            label,
            size=round(40 * u),
            fill=ACCENT_COLOR,
            anchor=anchor,
            max_width=right - left,
        )
        y = drawn[3] + round(24 * u)
        title_rtl = is_rtl(title)
        size = round(64 * u)
        ellipsis = "..." if has_arabic_script(title) else ELLIPSIS
        lines = wrap_lines(
            title, lambda line: self.type.width(line, size) <= right - left, 3, ellipsis
        )
        for line in lines:
            drawn = self.type.draw(
                draw,
                (right if title_rtl else left, y),
                line,
                size=size,
                fill=INK_COLOR,
                anchor="ra" if title_rtl else "la",
                max_width=right - left,
            )
            y = drawn[3] + round(12 * u)
        return y + round(28 * u)

    def _bars(
        self,
        draw: ImageDraw.ImageDraw,
        box: tuple[int, int, int, int],
        y: int,
        labels: Sequence[str],
        counts: Sequence[int] | None,
        *,
        rtl: bool | None = None,
    ) -> None:
        """One row per option: its label and, with counts, a bar and the count."""
        left, _, right, bottom = box
        u = self._unit()
        rtl = self.lang == "ur" if rtl is None else rtl
        footer = round(70 * u)
        rows = max(1, len(labels))
        pitch = min(round(110 * u), max(1, (bottom - footer - y) // rows))
        total = sum(counts) if counts else 0
        label_w = (right - left) * 0.35
        bar_w = (right - left) * 0.45
        for index, label in enumerate(labels):
            row_y = y + index * pitch + pitch // 2
            size = min(round(48 * u), max(8, round(pitch * 0.55)))
            label_x = right if rtl else left
            self.type.draw(
                draw,
                (label_x, row_y),
                label,
                size=size,
                fill=INK_COLOR,
                anchor="rm" if rtl else "lm",
                max_width=label_w,
            )
            if counts is None:
                continue
            count = counts[index] if index < len(counts) else 0
            share = count / total if total else 0.0
            height = max(1, round(pitch * 0.5))
            length = round(bar_w * share)
            bar_start = (
                (right - label_w - round(24 * u)) if rtl else (left + label_w + round(24 * u))
            )
            x0, x1 = (bar_start - length, bar_start) if rtl else (bar_start, bar_start + length)
            if length > 0:
                draw.rectangle(
                    (x0, row_y - height // 2, x1, row_y + height // 2), fill=ACCENT_COLOR
                )
            figure = f"{count} ({round(share * 100)}%)"
            self.type.draw(
                draw,
                ((x0 - round(16 * u)) if rtl else (x1 + round(16 * u)), row_y),
                figure,
                size=size,
                fill=INK_COLOR,
                anchor="rm" if rtl else "lm",
                max_width=(right - left) - label_w - bar_w - round(60 * u),
            )

    def _poll(
        self,
        draw: ImageDraw.ImageDraw,
        box: tuple[int, int, int, int],
        poll: Poll,
        *,
        results: bool,
    ) -> None:
        label = word("results" if results else "poll", self.lang)
        y = self._heading(draw, box, label, poll.question)
        tally = poll.shown_tally if results and poll.shown_tally else None
        labels = list(poll.choices())
        counts: list[int] | None = None
        if tally is not None:
            labels = [str(option) for option in tally.get("options", labels)]
            counts = [int(count) for count in tally.get("counts", [])] or None
            if poll.kind == "rating" and counts:
                labels = [str(n) for n in range(1, len(counts) + 1)]
            elif poll.kind == "word_cloud":
                pairs = tally.get("words", [])[:8]
                labels = [str(pair[0]) for pair in pairs]
                counts = [int(pair[1]) for pair in pairs]
        self._bars(draw, box, y, labels, counts, rtl=is_rtl(poll.question))

    def _question(
        self,
        draw: ImageDraw.ImageDraw,
        box: tuple[int, int, int, int],
        quiz: Any,
        index: int,
    ) -> None:
        question = quiz.questions[index]
        label = word("question", self.lang, n=index + 1, of=len(quiz.questions))
        y = self._heading(draw, box, label, question.question)
        options = [str(option) for option in getattr(question, "options", ())]
        self._bars(draw, box, y, options, None, rtl=is_rtl(question.question))

    def _ranking(
        self,
        draw: ImageDraw.ImageDraw,
        box: tuple[int, int, int, int],
        label: str,
        title: str,
        rows: Sequence[Mapping[str, Any]],
        players: int,
    ) -> None:
        y = self._heading(draw, box, label, title)
        left, _, right, bottom = box
        u = self._unit()
        rtl = self.lang == "ur"
        shown = list(rows)[:8]
        pitch = min(round(80 * u), max(1, (bottom - round(70 * u) - y) // max(1, len(shown))))
        size = min(round(44 * u), max(8, round(pitch * 0.6)))
        for number, row in enumerate(shown):
            row_y = y + number * pitch + pitch // 2
            name = str(row.get("name") or row.get("student_id") or "")
            line = f"{row.get('rank', number + 1)}. {name}"
            self.type.draw(
                draw,
                (right if rtl else left, row_y),
                line,
                size=size,
                fill=INK_COLOR,
                anchor="rm" if rtl else "lm",
                max_width=(right - left) * 0.6,
            )
            self.type.draw(
                draw,
                (left if rtl else right, row_y),
                word("points", self.lang, n=row.get("score", 0)),
                size=size,
                fill=ACCENT_COLOR,
                anchor="lm" if rtl else "rm",
                max_width=(right - left) * 0.35,
            )


# --- the incremental board ----------------------------------------------------------------------


def _blend(region: Frame, coverage: np.ndarray[Any, Any], color: Rgb) -> None:
    """Lay ``color`` over ``region`` (h, w, 3) at ``coverage`` (h, w) float32 in 0..1."""
    rows = np.nonzero(coverage.any(axis=1))[0]
    if rows.size == 0:
        return
    inked = region.astype(np.float32)
    inked += (np.asarray(color, np.float32) - inked) * coverage[..., None]
    np.rint(inked, out=inked)
    region[:] = inked.astype(np.uint8)


Coverage = tuple[int, int, np.ndarray[Any, np.dtype[np.float32]]]  # x0, y0, (h, w) 0..1


def stroke_coverage(stroke: Stroke, scale: float, size: tuple[int, int]) -> Coverage | None:
    """How much of each pixel a stroke's perfect-freehand outline covers (non-zero winding, as
    the browser fills it), from a 2x2 grid per pixel, on a board of ``size`` (w, h) pixels;
    highlighter ink at its opacity. None when it covers nothing."""
    outline = render.stroke_outline(stroke)
    if len(outline) < 3:
        return None
    width, height = size
    s = SUPERSAMPLE
    polygon = np.asarray(outline, dtype=np.float64) * (scale * s)
    filled = render._nonzero_mask(polygon, (width * s, height * s))
    if filled is None:
        return None
    (left, top), inside = filled
    # Align the supersampled box to whole output pixels, then average each s x s block.
    pad_l, pad_t = left % s, top % s
    h, w = inside.shape
    rows, cols = -(-(h + pad_t) // s), -(-(w + pad_l) // s)
    grid = np.zeros((rows * s, cols * s), np.float32)
    grid[pad_t : pad_t + h, pad_l : pad_l + w] = inside
    coverage = grid.reshape(rows, s, cols, s).mean(axis=(1, 3))
    x0, y0 = (left - pad_l) // s, (top - pad_t) // s
    coverage = coverage[: height - y0, : width - x0]
    if stroke.tool == "highlighter":
        coverage *= HIGHLIGHTER_OPACITY
    return x0, y0, coverage


def paint_coverage(view: Frame, covered: Coverage, color: Rgb) -> None:
    x0, y0, coverage = covered
    region = view[y0 : y0 + coverage.shape[0], x0 : x0 + coverage.shape[1]]
    _blend(region, coverage, color)


def paint_stroke(view: Frame, stroke: Stroke, scale: float) -> None:
    """Fill a stroke onto ``view`` (the board's pixels (h, w, 3)), anti-aliased."""
    covered = stroke_coverage(stroke, scale, (view.shape[1], view.shape[0]))
    if covered is not None:
        paint_coverage(view, covered, render._rgb(stroke.color))


def item_coverage(
    item: Item, scale: float, size: tuple[int, int], fonts: dict[tuple[str, int], Any]
) -> Coverage | None:
    """How much of each pixel one board item covers on a board of ``size`` (w, h) pixels."""
    if isinstance(item, Stroke):
        return stroke_coverage(item, scale, size)
    # Shapes and texts (rare): drawn white on black by render.py's own code, used as coverage.
    mask = Image.new("RGB", size, (0, 0, 0))
    draw = ImageDraw.Draw(mask)
    if isinstance(item, Shape):
        render._draw_shape(draw, replace(item, color="#ffffff"), scale)
    else:
        render._draw_text(draw, replace(item, color="#ffffff"), scale, fonts)
    box = mask.getbbox()
    if box is None:
        return None
    coverage = np.asarray(mask.crop(box), dtype=np.float32)[..., 0] / 255.0
    return box[0], box[1], coverage


def paint_item(view: Frame, item: Item, scale: float, fonts: dict[tuple[str, int], Any]) -> None:
    """Draw one board item onto the board's pixels ``view`` (h, w, 3)."""
    covered = item_coverage(item, scale, (view.shape[1], view.shape[0]), fonts)
    if covered is not None:
        paint_coverage(view, covered, render._rgb(item.color))


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), board pixels


def _box_of(covered: Coverage) -> Box:
    x0, y0, coverage = covered
    return x0, y0, x0 + coverage.shape[1], y0 + coverage.shape[0]


def _paint_clipped(view: Frame, covered: Coverage, color: Rgb, box: Box) -> None:
    """Blend the part of ``covered`` inside ``box`` only."""
    x0, y0, x1, y1 = _box_of(covered)
    left, top = max(x0, box[0]), max(y0, box[1])
    right, bottom = min(x1, box[2]), min(y1, box[3])
    if right <= left or bottom <= top:
        return
    part = covered[2][top - y0 : bottom - y0, left - x0 : right - x0]
    _blend(view[top:bottom, left:right], part, color)


class BoardCanvas:
    """The board drawn incrementally: a kept canvas with the page's settled ink, and the ink
    still being drawn laid over a copy of it for each frame that changed.

    Items settle in drawing order: the canvas holds the longest run of the page's visible items
    from the first that are finished (a stroke ended, or not extended for ``IDLE_MS``; shapes
    and texts at once); later items are drawn over each changed frame. So the picture equals a
    full redraw. The page is drawn whole again only on a page switch, a background change or a
    settled stroke growing again; an erase, undo, redo or clear repaints only the box of the
    items it hid or showed (the background there, then every settled item crossing it, in
    order). Each item's coverage is kept, so repainting does not outline strokes again.
    """

    COVERAGE_BUDGET = 256 * 1024 * 1024  # bytes of kept coverage (float32) before it is dropped

    def __init__(self, lay: Layout, pictures: Pictures) -> None:
        self.lay = lay
        self.pictures = pictures
        self.base = blank_frame(lay)
        self.view = _board_view(self.base, lay)
        self.size = (self.view.shape[1], self.view.shape[0])
        self.page: str | None = None
        self.background_key = ""
        self.settled: list[str] = []  # in drawing order: on the canvas
        self.settled_ids: set[str] = set()
        self.pending: list[str] = []  # in drawing order: laid over each frame
        self.touched: dict[str, int] = {}  # stroke id -> lesson time it last grew
        self.fonts: dict[tuple[str, int], Any] = {}
        self.ink: dict[str, int] = {}  # stroke id -> points drawn ahead of its next batch
        self._backgrounds: dict[str, Frame] = {}
        self._covers: dict[str, tuple[int, Coverage | None]] = {}  # id -> (points, coverage)
        self._cover_bytes = 0
        self.redraws = 0
        self.repaints = 0

    def _background(self, page: Page) -> Frame:
        key = repr(sorted(page.background.items()))
        cached = self._backgrounds.get(key)
        if cached is None:
            empty = BoardState(pages={page.id: Page(page.id, dict(page.background))},
                               order=[page.id], current=page.id)  # fmt: skip
            images = self.pictures.backgrounds(empty)
            picture = render.render_image(
                empty, page.id, scale=self.lay.scale, supersample=2, images=images
            )
            if len(self._backgrounds) > 16:
                self._backgrounds.clear()
            cached = self._backgrounds[key] = np.asarray(picture, dtype=np.uint8)
        return cached

    def coverage(self, item: Item) -> Coverage | None:
        """The item's coverage, kept while it does not grow."""
        points = item.length if isinstance(item, Stroke) else 0
        kept = self._covers.get(item.id)
        if kept is not None and kept[0] == points:
            return kept[1]
        covered = item_coverage(item, self.lay.scale, self.size, self.fonts)
        if self._cover_bytes > self.COVERAGE_BUDGET:
            self._covers.clear()
            self._cover_bytes = 0
        if kept is not None and kept[1] is not None:
            self._cover_bytes -= kept[1][2].nbytes
        self._covers[item.id] = (points, covered)
        if covered is not None:
            self._cover_bytes += covered[2].nbytes
        return covered

    def _paint(self, view: Frame, item: Item, box: Box | None = None) -> None:
        covered = self.coverage(item)
        if covered is None:
            return
        if box is None:
            paint_coverage(view, covered, render._rgb(item.color))
        else:
            _paint_clipped(view, covered, render._rgb(item.color), box)

    def redraw(self, board: BoardState, t: int) -> None:
        """Draw the shown page again from its background."""
        self.redraws += 1
        page = board.pages[board.current]
        self.page = page.id
        self.background_key = repr(sorted(page.background.items()))
        self.view[:] = self._background(page)
        self.settled = []
        self.settled_ids = set()
        self.pending = [item.id for item in visible_items(board, page.id, None)]
        self._settle(board, t)

    def _repaint(self, board: BoardState, t: int) -> None:
        """After an erase, undo, redo or clear on the shown page: repaint the box of the items
        it hid or showed; a full redraw when that cannot be done in order."""
        page = board.pages[board.current]
        visible = [item.id for item in visible_items(board, page.id, None)]
        before = self.settled + self.pending
        changed = set(before).symmetric_difference(visible)
        if not changed:
            return
        boxes = []
        for item_id in changed:
            item = board.items.get(item_id)
            covered = self.coverage(item) if item is not None else None
            if item is None and item_id in self.settled:
                self.redraw(board, t)  # gone from the board (cannot happen without a redraw)
                return
            if covered is not None:
                boxes.append(_box_of(covered))
        # The new settled run must still start with every item settled before that is shown.
        shown_settled = [item_id for item_id in self.settled if item_id not in changed]
        settled: list[str] = []
        for item_id in visible:
            item = board.items.get(item_id)
            if item is None or not self._finished(item, t):
                break
            settled.append(item_id)
        if not set(shown_settled) <= set(settled):
            self.redraw(board, t)
            return
        self.repaints += 1
        if boxes:
            box = (
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            )
            background = self._background(page)
            self.view[box[1] : box[3], box[0] : box[2]] = background[
                box[1] : box[3], box[0] : box[2]
            ]
            was_settled = self.settled_ids
            for item_id in settled:
                item = board.items[item_id]
                # Items on the canvas already: only their part inside the box; newly settled
                # ones (shown again, or finished meanwhile) whole.
                self._paint(self.view, item, box if item_id in was_settled else None)
        else:
            for item_id in settled:
                if item_id not in self.settled_ids:
                    self._paint(self.view, board.items[item_id])
        self.settled = settled
        self.settled_ids = set(settled)
        self.pending = visible[len(settled) :]

    def _finished(self, item: Item, t: int) -> bool:
        if not isinstance(item, Stroke) or item.done:
            return True
        return t - self.touched.get(item.id, t) >= IDLE_MS

    def _settle(self, board: BoardState, t: int) -> None:
        count = 0
        for item_id in self.pending:
            item = board.items.get(item_id)
            if item is None:
                count += 1
                continue
            if not self._finished(item, t):
                break
            self._paint(self.view, item)
            self.settled.append(item_id)
            self.settled_ids.add(item_id)
            count += 1
        del self.pending[:count]

    def update(
        self,
        board: BoardState,
        events: Sequence[Event],
        t: int,
        ink: Mapping[str, Sequence[float]] | None = None,
    ) -> bool:
        """Take the board after ``events`` (already folded into ``board``) with ``ink`` (the
        points of batches still to come drawn by ``t``, already in ``board``'s strokes, see
        ``Moment.ink``); True if the picture changed."""
        page = board.pages[board.current]
        redraw = self.page != board.current or self.background_key != repr(
            sorted(page.background.items())
        )
        repaint = False
        changed = redraw
        drawn = {stroke_id: len(points) for stroke_id, points in (ink or {}).items()}
        for stroke_id in drawn.keys() | self.ink.keys():
            if drawn.get(stroke_id) == self.ink.get(stroke_id):
                continue
            # A stroke growing point by point between its batches (or its batch folded).
            item = board.items.get(stroke_id)
            if item is None or item.page != board.current:
                continue
            if stroke_id in drawn:
                self.touched[stroke_id] = t
            if stroke_id in self.settled_ids:
                redraw = True
            elif stroke_id in self.pending:
                changed = True
        self.ink = drawn
        for event in events:
            kind = event.type
            if kind in REPAINT_EVENTS:
                repaint = True
            elif kind in REDRAW_EVENTS:
                redraw = True
            elif kind in INK_EVENTS and not redraw:
                item_id = str(event.data.get("id"))
                item = board.items.get(item_id)
                if item is None or item.page != board.current or event.audience != "all":
                    continue
                if kind != "stroke_ended":
                    self.touched[item_id] = t
                if item_id in self.settled_ids:
                    redraw = True  # a settled stroke grew again
                elif item_id not in self.pending and not item.hidden_by:
                    self.pending.append(item_id)
                changed = True
        if redraw:
            self.redraw(board, t)
            return True
        if repaint:
            # Ink added in the same frame is in ``pending`` already; hidden and shown items
            # are found by comparing with what is on the page now.
            self._repaint(board, t)
            changed = True
        if self.pending:
            before = len(self.pending)
            self._settle(board, t)
            changed = changed or len(self.pending) != before
        return changed

    def picture(self, board: BoardState) -> Frame:
        """A new frame: the canvas with the unsettled ink over it."""
        frame = self.base.copy()
        if not self.pending:
            return frame
        view = _board_view(frame, self.lay)
        for item_id in self.pending:
            item = board.items.get(item_id)
            if item is not None and not item.hidden_by:
                # A stroke that did not grow since the last frame keeps its coverage (many
                # students drawing at once: only the strokes that moved are outlined again).
                self._paint(view, item)
        return frame


# --- the programme ------------------------------------------------------------------------------


class _Screen:
    """Shared by both renderers: the rules for what is on screen and the card/camera frames."""

    def __init__(self, source: LessonSource, lay: Layout, lang: Lang) -> None:
        self.pictures = Pictures(source)
        self.marks = LessonMarks.of(source, self.pictures)
        self.rule = ViewRule(self.marks)
        self.cards = CardPainter(lay, lang)
        self.lay = lay
        self._camera: tuple[str, Frame] | None = None

    def camera_frame(self, asset_id: str) -> Frame:
        if self._camera is None or self._camera[0] != asset_id:
            image = self.pictures.get(asset_id)
            frame = fit_picture(image, self.lay) if image is not None else blank_frame(self.lay)
            self._camera = (asset_id, frame)
        return self._camera[1]

    def choose(self, state: ClassState, t: int) -> tuple[str, Any]:
        """("card", key) | ("camera", asset id) | ("board", None) at ``t``."""
        card = card_at(state, self.marks, t)
        view, asset_id = self.rule.at(t)  # asked every frame: the rule keeps its hold
        if card is not None:
            return "card", card
        if view == "camera" and asset_id is not None:
            return "camera", asset_id
        return "board", None


def frames(
    source: LessonSource,
    *,
    width: int = 1920,
    height: int = 1080,
    fps: int = 25,
    lang: Lang = "ur",
    start_index: int = 0,
) -> Iterator[Frame]:
    """Yield every frame of the programme as an RGB array (height, width, 3) uint8, in order.

    A frame that shows what the one before it showed is the same array object. ``lang`` is
    the language of the cards' labels. ``start_index`` starts at that frame (benches).
    """
    lay = layout(width, height)
    screen = _Screen(source, lay, lang)
    line = source.timeline
    events = line.events
    first_t = frame_time(source, start_index, fps)
    moment = line.state_at(first_t)
    state = moment.state
    done = line.index_at(first_t)
    canvas = BoardCanvas(lay, screen.pictures)
    strokes = _OpenStrokes(line)
    ink = strokes.ink(state.part("board"), done, first_t)
    canvas.redraw(board_feature.with_ink(state.part("board"), ink), first_t)
    canvas.ink = {stroke_id: len(points) for stroke_id, points in ink.items()}
    board_frame = canvas.picture(board_feature.with_ink(state.part("board"), ink))
    board_stale = False
    shown: tuple[str, Any] | None = None
    picture: Frame = board_frame
    for i in range(start_index, frame_count(source, fps)):
        t = frame_time(source, i, fps)
        upto = line.index_at(t)
        batch = events[done:upto]
        for event in batch:
            timeline.apply(state, event)
        done = upto
        folded = state.part("board")
        # The ink of the batches still to come drawn by t, point by point as the class saw it.
        ink = strokes.ink(folded, done, t)
        board = board_feature.with_ink(folded, ink)
        board_events = [e for e in batch if _is_board(e)]
        if (board_events or canvas.pending or ink or canvas.ink) and canvas.update(
            board, board_events, t, ink
        ):
            board_stale = True
        what = screen.choose(state, t)
        if what[0] == "board":
            if board_stale:
                board_frame = canvas.picture(board)
                board_stale = False
            picture = board_frame
        elif what != shown:
            if what[0] == "card":
                picture = screen.cards.frame(what[1], state)
            else:
                picture = screen.camera_frame(str(what[1]))
        shown = what
        yield picture


class _OpenStrokes:
    """The strokes whose next batch may be partly drawn at the renderer's moment (a few at a
    time), kept as the moment moves forward, so each frame asks only them for their ink."""

    def __init__(self, line: timeline.Timeline) -> None:
        self.line = line
        self.spans = line.open_strokes()
        self.starts = [first for first, _, _ in self.spans]
        self.next = 0
        self.open: dict[str, int] = {}  # stroke id -> the index of its last batch

    def ink(self, board: BoardState, count: int, t: int) -> dict[str, list[float]]:
        """:meth:`Timeline.ink_at` of the fold of the first ``count`` events (only forward)."""
        while self.next < len(self.spans) and self.spans[self.next][0] < count:
            _, last, stroke_id = self.spans[self.next]
            self.open[stroke_id] = last
            self.next += 1
        ink: dict[str, list[float]] = {}
        for stroke_id, last in list(self.open.items()):
            if last < count:
                del self.open[stroke_id]
                continue
            points = self.line.stroke_ink(board, stroke_id, count, t)
            if points:
                ink[stroke_id] = points
        return ink


T = TypeVar("T")
_END = object()
SWITCH_S = 0.0005  # the GIL's switch interval while pictures are made ahead


def ahead(items: Iterable[T], depth: int = 8) -> Iterator[T]:
    """``items``, made in a worker thread up to ``depth`` ahead of the caller: the pictures of
    a programme are drawn (and converted) while the encoder, which lets go of the GIL, codes
    the ones before. An exception in the worker is raised here; closing this iterator (or an
    exception in the caller, a cancel's included) stops the worker."""
    made: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        made.put((item,), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            made.put(_END)
        except BaseException as exc:  # handed to the caller's thread
            made.put(exc)

    worker = threading.Thread(target=work, name="export-frames", daemon=True)
    # The encoder's thread needs the GIL back for a moment after each frame (to mux, to add
    # the sound): handing it over every 0.5 ms instead of 5 ms keeps the encoder fed (a
    # 3.4-minute mov: 46 s against 55 s).
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, SWITCH_S))
    worker.start()
    try:
        while True:
            got = made.get()
            if got is _END:
                return
            if isinstance(got, BaseException):
                raise got
            yield got[0]
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):  # let a blocked put see the stop
            while True:
                made.get_nowait()
        worker.join()
        sys.setswitchinterval(switch)


def _is_board(event: Event) -> bool:
    return event.type in INK_EVENTS or event.type in REDRAW_EVENTS or event.type in REPAINT_EVENTS


def reference_frames(
    source: LessonSource,
    *,
    width: int = 1920,
    height: int = 1080,
    fps: int = 25,
    lang: Lang = "ur",
    start_index: int = 0,
    on_redraw: Callable[[int], None] | None = None,
) -> Iterator[Frame]:
    """The same programme redrawn whole (``render.render_image`` of the lesson at each frame's
    moment) whenever an event came or the screen changed: slow, the reference for tests."""
    lay = layout(width, height)
    screen = _Screen(source, lay, lang)
    line = source.timeline
    last: tuple[int, tuple[str, Any], dict[str, int]] | None = None
    picture: Frame | None = None
    for i in range(start_index, frame_count(source, fps)):
        t = frame_time(source, i, fps)
        index = line.index_at(t)
        moment = line.state_at(t)
        what = screen.choose(moment.state, t)
        drawn = {stroke_id: len(points) for stroke_id, points in moment.ink.items()}
        if picture is None or last != (index, what, drawn):
            if what[0] == "card":
                picture = screen.cards.frame(what[1], moment.state)
            elif what[0] == "camera":
                picture = screen.camera_frame(str(what[1]))
            else:
                board = moment.board()  # with the ink drawn by t of batches still to come
                image = render.render_image(
                    board,
                    moment.page_id,
                    scale=lay.scale,
                    supersample=SUPERSAMPLE,
                    images=screen.pictures.backgrounds(board),
                )
                picture = blank_frame(lay)
                _board_view(picture, lay)[:] = np.asarray(image, dtype=np.uint8)
            if on_redraw is not None:
                on_redraw(i)
            last = (index, what, drawn)
        yield picture
