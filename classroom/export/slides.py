"""``slides.pdf``: a lesson's handout, A4 landscape, in Urdu and English.

Pages, after a title page (title, teacher, school, subject, grade, date, duration, in Urdu and
English): in lesson order, every board page at its fullest, each camera keyframe, each poll's
results and each quiz's summary. A board page is taken "at its fullest" just before the ink
leaves it: a page switch (or a page added and shown, or the page deleted), a clear, an erase of
much ink (at least ``MUCH_INK`` of its visible items, and 3), and at the programme's end; a
page taken again with everything it had before and more replaces the earlier take.

The ink is vector: each stroke is its perfect-freehand outline (the browser's options) as one
filled PDF path (non-zero winding, as the browser fills it), clipped to the board; shapes are
lines, rectangles and ellipses; texts are real PDF text. All text is selectable and shaped
(fpdf2 with HarfBuzz: Noto Nastaliq Urdu for Urdu, Noto Sans for Latin, each falling back on
the other). Camera keyframes and picture backgrounds are the only raster images.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import RenderStyle
from PIL import Image

from classroom import camera, render, timeline
from classroom.board import BoardState, Item, Shape, Stroke, Text, visible_items
from classroom.export import ExportOptions, Progress, files
from classroom.export.frames import (
    LessonMarks,
    Pictures,
    fit_line,
    has_arabic_script,
    is_rtl,
    wrap_lines,
)
from classroom.export.source import LessonSource
from classroom.lesson import ClassState
from classroom.polls import tally
from classroom.protocol.board import BOARD_HEIGHT, BOARD_WIDTH, HIGHLIGHTER_OPACITY

PAGE_W, PAGE_H = 297.0, 210.0  # A4 landscape, mm
MARGIN = 12.0
HEAD_H = 16.0  # the heading band of a content page
MUCH_INK = 0.25
PT = 0.3528  # mm per point
LATIN_FONT = render.LATIN_FONTS[0]
URDU_FONT = render.URDU_FONTS[1]
INK = (24, 28, 36)
MUTED = (110, 116, 126)
ACCENT = (34, 110, 180)

Rgb = tuple[int, int, int]

# The subjects the lesson details offer (classroom.lessons.SUBJECTS), as the web app names them.
SUBJECT_NAMES = {
    "urdu": ("Urdu", "اردو"),
    "english": ("English", "انگریزی"),
    "maths": ("Maths", "ریاضی"),
    "science": ("Science", "سائنس"),
    "islamiat": ("Islamiat", "اسلامیات"),
    "social_studies": ("Social Studies", "معاشرتی علوم"),
    "computer": ("Computer", "کمپیوٹر"),
}


# --- what goes in ---------------------------------------------------------------------------


@dataclass
class BoardTake:
    """A board page as it was at one moment: its background and visible items (a stroke with
    how many of its points it had then)."""

    t: int
    page_id: str
    number: int
    background: dict[str, Any]
    items: list[tuple[Item, int]]

    def covers(self, earlier: BoardTake) -> bool:
        """Whether this take holds everything ``earlier`` did (so it can stand for both)."""
        mine = {item.id: n for item, n in self.items}
        return self.page_id == earlier.page_id and all(
            item.id in mine and mine[item.id] >= n for item, n in earlier.items
        )


@dataclass
class Handout:
    takes: list[BoardTake] = field(default_factory=list)
    final: ClassState | None = None


def _take(board: BoardState, page_id: str, t: int) -> BoardTake | None:
    if page_id not in board.pages:
        return None
    items = visible_items(board, page_id, None)
    if not items:
        return None
    listed = [(item, item.length if isinstance(item, Stroke) else 0) for item in items]
    number = board.order.index(page_id) + 1
    return BoardTake(t, page_id, number, dict(board.pages[page_id].background), listed)


def _leaves(board: BoardState, kind: str, data: dict[str, Any]) -> str | None:
    """The page whose ink this event takes off the screen or off the page, if any."""
    if kind == "page_switched" and data.get("page") != board.current:
        return board.current
    if kind == "page_added" and data.get("switch"):
        return board.current
    if kind in ("page_deleted", "page_cleared"):
        page = str(data.get("page"))
        return page if kind == "page_cleared" or page == board.current else None
    if kind == "items_erased":
        page = str(data.get("page"))
        if page not in board.pages:
            return None
        shown = {item.id for item in visible_items(board, page, None)}
        erased = sum(1 for item_id in data.get("ids", ()) if item_id in shown)
        return page if erased >= max(3, MUCH_INK * len(shown)) else None
    return None


def collect(source: LessonSource) -> Handout:
    """Fold the lesson once, taking each board page at its fullest."""
    handout = Handout()
    state = ClassState(source.class_id)
    end = source.end_ms
    clock = 0

    def add(take: BoardTake | None) -> None:
        if take is None or take.t < source.start_ms:
            return
        handout.takes[:] = [t for t in handout.takes if not take.covers(t)]
        handout.takes.append(take)

    for event in source.timeline.events:
        clock = max(clock, event.ts)
        if clock > end:
            break
        board = state.part("board")
        page = _leaves(board, event.type, event.data)
        if page is not None:
            add(_take(board, page, clock))
        timeline.apply(state, event)
    board = state.part("board")
    add(_take(board, board.current, min(clock, end)))
    handout.final = state
    return handout


# --- the document -----------------------------------------------------------------------------


def clock_text(ms: int) -> str:
    seconds = max(0, ms) // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


class Slides:
    """An fpdf2 document with the two fonts and shaped, direction-aware text."""

    def __init__(self) -> None:
        pdf = FPDF(orientation="L", unit="mm", format="A4")
        pdf.set_auto_page_break(False)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.add_font("sans", fname=LATIN_FONT)
        pdf.add_font("nastaliq", fname=URDU_FONT)
        pdf.set_creator("Takhti")
        self.pdf = pdf
        self._outlines: dict[tuple[str, int], list[tuple[float, float]]] = {}

    def text(
        self,
        x: float,
        y: float,
        w: float,
        value: str,
        *,
        size: float,
        color: Rgb = INK,
        align: str | None = None,
        rtl: bool | None = None,
    ) -> float:
        """One line of ``value`` in the box from ``x`` ``w`` wide, top at ``y``; shrunk to fit.
        ``align`` None: right for right-to-left text, else left. Returns the line's height."""
        pdf = self.pdf
        urdu = has_arabic_script(value)
        rtl = is_rtl(value) if rtl is None else rtl
        pdf.set_font("nastaliq" if urdu else "sans", size=size)
        pdf.set_fallback_fonts(["sans"] if urdu else ["nastaliq"])
        pdf.set_text_shaping(use_shaping_engine=True, direction="rtl" if rtl else "ltr")
        smallest = size * 0.6
        while size > smallest and pdf.get_string_width(value) > w:
            size = max(smallest, size * 0.9)
            pdf.set_font_size(size)
        value = fit_line(value, lambda line: pdf.get_string_width(line) <= w)
        height = size * PT * (2.0 if urdu else 1.4)
        pdf.set_text_color(*color)
        pdf.set_xy(x, y)
        pdf.cell(w, height, value, align=align or ("R" if rtl else "L"))
        return height

    def close(self) -> None:
        """Close the font files fpdf2 keeps open (fontTools reads them lazily)."""
        for font in self.pdf.fonts.values():
            ttfont = getattr(font, "ttfont", None)
            if ttfont is not None:
                ttfont.close()

    def lines(
        self,
        x: float,
        y: float,
        w: float,
        value: str,
        *,
        size: float,
        most: int,
        align: str | None = None,
    ) -> float:
        """``value`` wrapped into at most ``most`` lines; returns the y below them."""
        pdf = self.pdf
        pdf.set_font("nastaliq" if has_arabic_script(value) else "sans", size=size)
        pdf.set_fallback_fonts(["sans"] if has_arabic_script(value) else ["nastaliq"])
        pdf.set_text_shaping(use_shaping_engine=True, direction="rtl" if is_rtl(value) else "ltr")
        wrapped = wrap_lines(value, lambda line: pdf.get_string_width(line) <= w, most)
        for line in wrapped:
            y += self.text(x, y, w, line, size=size, align=align or ("R" if is_rtl(value) else "L"))
        return y

    def heading(self, english: str, urdu: str, when: str = "") -> None:
        """A content page's heading: English at the left, Urdu at the right, a rule below."""
        pdf = self.pdf
        pdf.add_page()
        width = (PAGE_W - 2 * MARGIN) / 2
        line = f"{english}, {when}" if when else english
        self.text(MARGIN, MARGIN - 2, width, line, size=16, color=ACCENT, align="L")
        self.text(MARGIN + width, MARGIN - 4, width, urdu, size=16, color=ACCENT, align="R")
        pdf.set_draw_color(*MUTED)
        pdf.set_line_width(0.2)
        pdf.line(MARGIN, MARGIN + HEAD_H - 4, PAGE_W - MARGIN, MARGIN + HEAD_H - 4)

    # the board

    def _outline(self, stroke: Stroke, points: int) -> list[tuple[float, float]]:
        key = (stroke.id, points)
        found = self._outlines.get(key)
        if found is None:
            if points != stroke.length:
                stroke = dataclasses.replace(stroke, q=stroke.q[: points * 4])
            found = self._outlines[key] = render.stroke_outline(stroke)
        return found

    def board(self, take: BoardTake, pictures: Pictures) -> None:
        pdf = self.pdf
        area_w, area_h = PAGE_W - 2 * MARGIN, PAGE_H - 2 * MARGIN - HEAD_H
        s = min(area_w / BOARD_WIDTH, area_h / BOARD_HEIGHT)
        bw, bh = BOARD_WIDTH * s, BOARD_HEIGHT * s
        bx, by = (PAGE_W - bw) / 2, MARGIN + HEAD_H + (area_h - bh) / 2
        pdf.set_fill_color(255, 255, 255)
        pdf.set_draw_color(*MUTED)
        pdf.set_line_width(0.3)
        pdf.rect(bx, by, bw, bh, style="DF")
        with pdf.rect_clip(bx, by, bw, bh):
            self._background(take.background, bx, by, s, pictures)
            for item, points in take.items:
                if isinstance(item, Stroke):
                    outline = self._outline(item, points)
                    if len(outline) < 3:
                        continue
                    pdf.set_fill_color(*render._rgb(item.color))
                    if item.tool == "highlighter":
                        with pdf.local_context(fill_opacity=HIGHLIGHTER_OPACITY):
                            fill_outline(pdf, outline, bx, by, s)
                    else:
                        fill_outline(pdf, outline, bx, by, s)
                elif isinstance(item, Shape):
                    self._shape(item, bx, by, s)
                else:
                    self._board_text(item, bx, by, s)

    def _background(
        self, background: dict[str, Any], bx: float, by: float, s: float, pictures: Pictures
    ) -> None:
        pdf = self.pdf
        kind = background.get("kind")
        pdf.set_line_width(render.BACKGROUND_LINE_WIDTH * s)
        if kind in ("ruled", "grid"):
            color = render.RULE_COLOR if kind == "ruled" else render.GRID_COLOR
            pdf.set_draw_color(*render._rgb(color))
            spacing = render.RULE_SPACING if kind == "ruled" else render.GRID_SPACING
            y = spacing
            while y < BOARD_HEIGHT:
                pdf.line(bx, by + y * s, bx + BOARD_WIDTH * s, by + y * s)
                y += spacing
            if kind == "grid":
                x = spacing
                while x < BOARD_WIDTH:
                    pdf.line(bx + x * s, by, bx + x * s, by + BOARD_HEIGHT * s)
                    x += spacing
        elif kind == "image":
            image = pictures.get(str(background.get("image")))
            if image is not None:
                self.picture(image, bx, by, BOARD_WIDTH * s, BOARD_HEIGHT * s)

    def _shape(self, shape: Shape, bx: float, by: float, s: float) -> None:
        pdf = self.pdf
        color = render._rgb(shape.color)
        pdf.set_draw_color(*color)
        pdf.set_fill_color(*color)
        pdf.set_line_width(shape.width * s)
        x1, y1, x2, y2 = shape.pts
        if shape.kind in ("line", "arrow"):
            end = (x2, y2)
            if shape.kind == "arrow":
                end, head = render._arrow_head(shape)
                pdf.polygon([(bx + x * s, by + y * s) for x, y in head], style="F")
            pdf.line(bx + x1 * s, by + y1 * s, bx + end[0] * s, by + end[1] * s)
            return
        left, top, right, bottom = render._box(shape)
        box = (bx + left * s, by + top * s, (right - left) * s, (bottom - top) * s)
        if shape.kind == "rectangle":
            pdf.rect(*box, style="D")
        else:
            pdf.ellipse(*box, style="D")

    def _board_text(self, text: Text, bx: float, by: float, s: float) -> None:
        size_mm = text.size * s
        rtl = text.dir == "rtl"
        for number, line in enumerate(text.text.split("\n")):
            if not line.strip():
                continue
            top = by + (text.y + number * render.LINE_HEIGHT * text.size) * s
            width = (text.x if rtl else BOARD_WIDTH - text.x) * s
            x = bx if rtl else bx + text.x * s
            self.text(
                x,
                top - size_mm * 0.2,
                width,
                line,
                size=size_mm / PT,
                color=render._rgb(text.color),
                align="R" if rtl else "L",
            )

    def picture(self, image: Image.Image, x: float, y: float, w: float, h: float) -> None:
        """A raster picture fitted (aspect kept) and centred in the box."""
        ratio = min(w / image.width, h / image.height)
        pw, ph = image.width * ratio, image.height * ratio
        data = io.BytesIO()
        image.save(data, format="JPEG", quality=85)
        self.pdf.image(data, x + (w - pw) / 2, y + (h - ph) / 2, pw, ph)


def fill_outline(
    pdf: FPDF, outline: Sequence[tuple[float, float]], x: float, y: float, scale: float
) -> None:
    """Fill ``outline`` (board units) placed at ``x``, ``y`` (mm) times ``scale``: the same
    bytes as ``pdf.polygon([(x + px * scale, y + py * scale), ...], style="F")``.

    fpdf2's ``polyline`` writes each point through its own ``_out`` call (620,000 calls for
    the 30-minute bench lesson's 2,000 strokes): ``slides.write`` took 1.85 s of CPU with it,
    1.65 s with this. Here the path is formatted in one pass and handed to ``_out`` (fpdf2's
    one private method used here; fpdf2 2.8) once; ``tests/classroom/test_export_slides.py``
    checks the bytes are fpdf2's own.
    """
    k, h = pdf.k, pdf.h
    ops = [f"{(x + px * scale) * k:.2f} {(h - (y + py * scale)) * k:.2f} l" for px, py in outline]
    if not ops:
        return
    ops[0] = ops[0][:-1] + "m"
    ops += [" h", f" {RenderStyle.F.operator}"]  # "f": fill, non-zero winding
    pdf._out("\n".join(ops))


# --- pages ------------------------------------------------------------------------------------


def _date(ms: int | None) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ms / 1000)) if ms else ""


def _duration(ms: int, lang: str) -> str:
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} منٹ {seconds} سیکنڈ" if lang == "ur" else f"{minutes} min {seconds} s"


def title_page(slides: Slides, source: LessonSource) -> None:
    summary = source.summary
    pdf = slides.pdf
    pdf.add_page()
    title = str(summary.get("title") or source.class_id)
    width = PAGE_W - 2 * MARGIN
    slides.lines(MARGIN, 30, width, title, size=34, most=2, align="C")
    values = {
        "teacher": str(summary.get("teacher_name") or ""),
        "school": str(summary.get("school") or ""),
        "subject": str(summary.get("subject") or ""),
        "grade": str(summary.get("grade") or ""),
        "date": _date(summary.get("started_at") or summary.get("created_at")),
    }
    english = {
        "teacher": "Teacher",
        "school": "School",
        "subject": "Subject",
        "grade": "Grade",
        "date": "Date",
    }
    urdu = {
        "teacher": "استاد",
        "school": "اسکول",
        "subject": "مضمون",
        "grade": "جماعت",
        "date": "تاریخ",
    }
    column = (width - 10) / 2
    y = 70.0
    rows = [(key, values[key]) for key in english]
    rows.append(("duration", ""))
    for key, value in rows:
        en_value = value or "-"
        ur_value = value or "-"
        if key == "duration":
            en_value = _duration(source.duration_ms, "en")
            ur_value = _duration(source.duration_ms, "ur")
        elif key == "subject" and value in SUBJECT_NAMES:
            en_value, ur_value = SUBJECT_NAMES[value]
        en_label = english.get(key, "Duration")
        ur_label = urdu.get(key, "دورانیہ")
        slides.text(MARGIN, y, 32, en_label, size=12, color=MUTED, align="L")
        slides.text(MARGIN + 34, y, column - 34, en_value, size=14, align="L")
        right = PAGE_W - MARGIN
        slides.text(right - 30, y - 2, 30, ur_label, size=12, color=MUTED, align="R")
        slides.text(right - column, y - 2, column - 32, ur_value, size=14, align="R")
        y += 14
    slides.text(MARGIN, PAGE_H - MARGIN - 8, width, "Takhti  تختی", size=10, color=MUTED, align="C")


def board_page(slides: Slides, take: BoardTake, source: LessonSource, pictures: Pictures) -> None:
    when = clock_text(take.t - source.start_ms)
    slides.heading(f"Board, page {take.number}", f"بورڈ، صفحہ {take.number}، {when}", when)
    slides.board(take, pictures)


def keyframe_page(
    slides: Slides, number: int, t: int, image: Image.Image, source: LessonSource
) -> None:
    when = clock_text(t - source.start_ms)
    slides.heading(f"Board photo {number}", f"بورڈ کی تصویر {number}، {when}", when)
    top = MARGIN + HEAD_H
    slides.picture(image, MARGIN, top, PAGE_W - 2 * MARGIN, PAGE_H - MARGIN - top)


def _bars(
    slides: Slides, y: float, labels: Sequence[str], counts: Sequence[int], *, rtl: bool
) -> None:
    pdf = slides.pdf
    total = sum(counts) or 1
    width = PAGE_W - 2 * MARGIN
    label_w, bar_w = width * 0.35, width * 0.45
    pitch = min(14.0, (PAGE_H - MARGIN - 12 - y) / max(1, len(labels)))
    for index, label in enumerate(labels):
        count = counts[index] if index < len(counts) else 0
        row = y + index * pitch
        size = min(14.0, pitch / PT / 2.2)
        length = bar_w * count / total
        figure = f"{count} ({round(100 * count / total)}%)"
        pdf.set_fill_color(*ACCENT)
        if rtl:
            slides.text(PAGE_W - MARGIN - label_w, row, label_w, label, size=size, align="R")
            start = PAGE_W - MARGIN - label_w - 4
            if length > 0:
                pdf.rect(start - length, row + pitch * 0.2, length, pitch * 0.45, style="F")
            slides.text(MARGIN, row, start - length - 2 - MARGIN, figure, size=size, align="R")
        else:
            slides.text(MARGIN, row, label_w, label, size=size, align="L")
            start = MARGIN + label_w + 4
            if length > 0:
                pdf.rect(start, row + pitch * 0.2, length, pitch * 0.45, style="F")
            rest = PAGE_W - MARGIN - (start + length + 2)
            slides.text(start + length + 2, row, rest, figure, size=size, align="L")


def poll_page(
    slides: Slides, state: ClassState, poll_id: str, t: int, source: LessonSource
) -> None:
    poll = state.part("polls").polls[poll_id]
    result = tally(state.part("polls"), poll_id)
    when = clock_text(t - source.start_ms)
    slides.heading("Poll results", f"رائے شماری کے نتائج، {when}", when)
    width = PAGE_W - 2 * MARGIN
    y = MARGIN + HEAD_H + 2
    y = slides.lines(MARGIN, y, width, poll.question, size=22, most=3) + 4
    counts = [int(c) for c in result.get("counts", [])]
    labels = [str(o) for o in result.get("options", [])]
    if poll.kind == "rating":
        labels = [str(n) for n in range(1, len(counts) + 1)]
    elif poll.kind == "word_cloud":
        pairs = result.get("words", [])[:10]
        labels, counts = [str(p[0]) for p in pairs], [int(p[1]) for p in pairs]
    _bars(slides, y, labels, counts, rtl=is_rtl(poll.question))
    responses = int(result.get("responses", 0))
    slides.text(MARGIN, PAGE_H - MARGIN - 8, width / 2, f"{responses} responses", size=11,
                color=MUTED, align="L")  # fmt: skip
    slides.text(MARGIN + width / 2, PAGE_H - MARGIN - 10, width / 2, f"{responses} جوابات",
                size=11, color=MUTED, align="R")  # fmt: skip


def quiz_page(
    slides: Slides, state: ClassState, quiz_id: str, t: int, source: LessonSource
) -> None:
    quiz = state.part("quizzes").quizzes[quiz_id]
    when = clock_text(t - source.start_ms)
    slides.heading("Quiz summary", f"کوئز کا خلاصہ، {when}", when)
    width = PAGE_W - 2 * MARGIN
    y = MARGIN + HEAD_H + 2
    y = slides.lines(MARGIN, y, width, quiz.definition.title, size=20, most=2) + 2
    players = max(1, len(quiz.players))
    rows = len(quiz.questions)
    pitch = min(11.0, (PAGE_H * 0.55 - y) / max(1, rows))
    for index, question in enumerate(quiz.questions):
        run = quiz.runs.get(index)
        answered = len(run.answers) if run else 0
        right = sum(1 for a in run.answers.values() if a.fraction == 1) if run else 0
        options = getattr(question, "options", None)
        correct = getattr(question, "correct", None)
        answer = ""
        if options and isinstance(correct, list):
            answer = ", ".join(str(options[c]) for c in correct if 0 <= c < len(options))
        line = f"{index + 1}. {question.question}"
        size = min(13.0, pitch / PT / 2.2)
        slides.text(MARGIN, y, width * 0.55, line, size=size, align="L", rtl=False)
        figures = f"{answer}: {right}/{answered} correct ({round(100 * right / players)}%)"
        slides.text(MARGIN + width * 0.56, y, width * 0.44, figures, size=size, color=MUTED,
                    align="L")  # fmt: skip
        y += pitch
    y += 4
    slides.pdf.set_draw_color(*MUTED)
    slides.pdf.line(MARGIN, y, PAGE_W - MARGIN, y)
    y += 3
    top = list((quiz.final or {}).get("top") or [])[:8]
    slides.text(MARGIN, y, width / 2, "Final scores", size=13, color=ACCENT, align="L")
    slides.text(
        MARGIN + width / 2, y - 2, width / 2, "حتمی نتائج", size=13, color=ACCENT, align="R"
    )
    y += 9
    pitch = min(8.0, (PAGE_H - MARGIN - y) / max(1, len(top)))
    for row in top:
        name = str(row.get("name") or row.get("student_id") or "")
        slides.text(
            MARGIN, y, width * 0.6, f"{row.get('rank')}. {name}", size=min(12.0, pitch / PT / 2.2)
        )
        slides.text(MARGIN + width * 0.6, y, width * 0.4, f"{row.get('score', 0)} points",
                    size=min(12.0, pitch / PT / 2.2), color=ACCENT, align="R")  # fmt: skip
        y += pitch


def write(
    source: LessonSource, out: Path, options: ExportOptions, progress: Progress
) -> list[Path]:
    """Write ``out/slides.pdf`` (see the module's docstring); returns its path."""
    progress(0.0, "slides")
    handout = collect(source)
    final_state = handout.final or source.timeline.final
    pictures = Pictures(source)
    marks = LessonMarks.of(source, pictures)
    pages: list[tuple[int, int, Any]] = []  # (time, order, what)
    for take in handout.takes:
        pages.append((take.t, 0, ("board", take)))
    number = 0
    for t, asset_id in marks.camera_changes:
        if asset_id != camera.LATEST_ASSET and source.start_ms <= t <= source.end_ms:
            number += 1
            pages.append((t, 1, ("keyframe", number, asset_id)))
    for poll in final_state.part("polls").polls.values():
        if poll.status == "closed" or poll.results_shown or poll.votes:
            shown = marks.began(("results", poll.poll_id), source.end_ms)
            opened = marks.began(("poll", poll.poll_id), source.end_ms)
            at = shown if shown is not None else opened
            if at is not None and source.start_ms <= at <= source.end_ms:
                pages.append((at, 2, ("poll", poll.poll_id)))
    for quiz in final_state.part("quizzes").quizzes.values():
        if quiz.runs:
            ended = marks.began(("podium", quiz.quiz_id), source.end_ms)
            if ended is None:
                opened_at = [r.opened_ts for r in quiz.runs.values() if r.opened_ts]
                ended = max(opened_at) if opened_at else source.end_ms
            if source.start_ms <= ended <= source.end_ms:
                pages.append((ended, 3, ("quiz", quiz.quiz_id)))
    pages.sort(key=lambda page: (page[0], page[1]))
    slides = Slides()
    try:
        title_page(slides, source)
        for done, (t, _order, what) in enumerate(pages):
            if what[0] == "board":
                board_page(slides, what[1], source, pictures)
            elif what[0] == "keyframe":
                image = pictures.get(what[2])
                if image is not None:
                    keyframe_page(slides, what[1], t, image, source)
            elif what[0] == "poll":
                poll_page(slides, final_state, what[1], t, source)
            else:
                quiz_page(slides, final_state, what[1], t, source)
            progress(0.9 * (done + 1) / max(1, len(pages)), "slides")
        final = out / "slides.pdf"
        with files.final_file(final) as temp:
            slides.pdf.output(str(temp))
    finally:
        slides.close()
    progress(1.0, "slides")
    return [final]
