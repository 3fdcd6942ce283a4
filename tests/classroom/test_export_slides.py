"""slides.pdf: read back with pypdf as a reader would: pages, size, text, vector ink."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pypdf
import pytest
from fpdf import FPDF
from pypdf.generic import ContentStream

from classroom import export, render
from classroom.board import Stroke
from classroom.export import ExportOptions, no_progress, slides
from testkit.picture_lesson import SCHOOL, TEACHER_NAME, TITLE, PictureLesson, picture_lesson

A4_LANDSCAPE = (841.89, 595.28)  # points


@pytest.fixture(scope="module")
def lesson() -> PictureLesson:
    return picture_lesson()


@pytest.fixture(scope="module")
def pdf(lesson: PictureLesson, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("slides")
    written = export.writer("pdf")(lesson.source, out, ExportOptions(), no_progress)
    assert written == [out / "slides.pdf"]
    assert sorted(p.name for p in out.iterdir()) == ["slides.pdf"]  # no temp file left
    return written[0]


def texts(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def english(heading: str) -> str:
    """A page's English heading: the text before its ", 0:05" lesson time."""
    found = re.match(r"(.+?), [\d:]+(?: |$)", heading)
    return found.group(1) if found else heading


def test_the_pdf_has_a_title_page_then_the_lesson_in_order(pdf: Path) -> None:
    reader = pypdf.PdfReader(pdf)
    for page in reader.pages:
        box = page.mediabox
        assert (round(float(box.width), 2), round(float(box.height), 2)) == A4_LANDSCAPE
    pages = texts(pdf)
    # Title; page 1 left by adding page 2; page 2 left by adding page 3; page 3 left by the
    # switch back; the camera keyframe; page 1 just before its clear (2 strokes erased since
    # the first take, so both stay); the poll; the quiz; page 1 at the end.
    headings = [text.split("\n")[0] for text in pages[1:]]
    expected = [
        "Board, page 1",
        "Board, page 2",
        "Board, page 3",
        "Board photo 1",
        "Board, page 1",
        "Poll results",
        "Quiz summary",
        "Board, page 1",
    ]
    assert [english(h) for h in headings] == expected
    assert len(pages) == 1 + len(expected)


def test_the_title_page_is_in_urdu_and_english_and_selectable(pdf: Path) -> None:
    title = texts(pdf)[0]
    for english in ("Teacher", "School", "Subject", "Grade", "Date", "Duration", "Map of Pakistan"):
        assert english in title
    for urdu in ("استاد", "اسکول", "مضمون", "جماعت", "تاریخ", "دورانیہ", "پاکستان", "نقشہ"):
        assert urdu in title, urdu
    assert TEACHER_NAME.split()[-1] in title and SCHOOL.split()[-1] in title
    assert "2025-11-27" in title and "min" in title and "منٹ" in title
    assert "Social Studies" in title and "معاشرتی علوم" in title  # the subject, named
    assert TITLE.split(", ")[0].split()[0] in title


def test_urdu_is_shaped_letters_take_their_joined_forms(pdf: Path) -> None:
    """Shaped Urdu uses a letter's initial, medial and final glyphs: several glyphs of the
    embedded Urdu font map back to the same letter (unshaped text has one glyph a letter)."""
    reader = pypdf.PdfReader(pdf)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    urdu = [f.get_object() for f in fonts.values() if "Naskh" in str(f.get_object()["/BaseFont"])]
    assert urdu, "the Urdu font is embedded"
    cmap = urdu[0]["/ToUnicode"].get_object().get_data().decode("latin-1")
    letters = re.findall(r"<[0-9A-Fa-f]+> <([0-9A-Fa-f]{4})>", cmap)
    mim = sum(1 for code in letters if code.upper() == "0645")  # م
    assert mim >= 2
    assert "مضمون" in texts(pdf)[0]  # and the joined glyphs still read back as the word


def _operators(page: pypdf.PageObject, reader: pypdf.PdfReader) -> list[bytes]:
    content = ContentStream(page.get_contents(), reader)
    return [operator for _operands, operator in content.operations]


def test_board_ink_is_vector_paths_not_a_picture(pdf: Path, lesson: PictureLesson) -> None:
    reader = pypdf.PdfReader(pdf)
    page = reader.pages[1]  # page 1 at its first take: ruled, six strokes, a highlighter
    operators = _operators(page, reader)
    fills = operators.count(b"f")
    strokes = sum(
        1
        for item in lesson.source.timeline.state_at(lesson.marks["page1_full"])
        .state.part("board")
        .pages["page-1"]
        .items.values()
        if isinstance(item, Stroke)
    )
    assert strokes >= 7 and fills >= strokes
    assert operators.count(b"l") > 100 * strokes / 4  # outlines of many points each
    assert b"Do" not in operators  # no raster image drawn on a ruled board page
    assert b"Tj" in operators or b"TJ" in operators  # the Urdu text on the board is text
    # The camera keyframe is the picture it is.
    photo = reader.pages[4]
    assert b"Do" in _operators(photo, reader)


def test_outlines_are_written_as_fpdf2_writes_a_filled_polygon(lesson: PictureLesson) -> None:
    # slides.fill_outline formats the path itself (fpdf2 makes one _out call per point): its
    # bytes must stay fpdf2's polygon's.
    stroke = next(
        item
        for item in lesson.source.timeline.final.part("board").pages["page-1"].items.values()
        if isinstance(item, Stroke)
    )
    outline = render.stroke_outline(stroke)
    assert len(outline) > 20
    x, y, scale = 14.25, 31.5, 0.1873

    def content(draw: Callable[[FPDF], None]) -> bytes:
        pdf = FPDF(orientation="L", unit="mm", format="A4")
        pdf.add_page()
        draw(pdf)
        return bytes(pdf.pages[1].contents)

    theirs = content(
        lambda pdf: pdf.polygon([(x + px * scale, y + py * scale) for px, py in outline], style="F")
    )
    mine = content(lambda pdf: slides.fill_outline(pdf, outline, x, y, scale))
    assert mine == theirs
    assert mine.count(b" l\n") == len(outline) - 1


def test_a_second_write_replaces_the_file_whole(lesson: PictureLesson, tmp_path: Path) -> None:
    first = slides.write(lesson.source, tmp_path, ExportOptions(lang="en"), no_progress)[0]
    before = first.stat().st_ino
    stages: list[tuple[float, str]] = []
    slides.write(lesson.source, tmp_path, ExportOptions(), lambda f, s: stages.append((f, s)))
    assert first.stat().st_ino != before  # renamed into place, not written over
    assert [p.name for p in tmp_path.iterdir()] == ["slides.pdf"]
    assert stages[0][0] == 0.0 and stages[-1][0] == 1.0
    assert [f for f, _ in stages] == sorted(f for f, _ in stages)


def test_a_cancel_leaves_no_file(lesson: PictureLesson, tmp_path: Path) -> None:
    def cancel(fraction: float, stage: str) -> None:
        if fraction > 0.5:
            raise export.Cancelled()

    with pytest.raises(export.Cancelled):
        slides.write(lesson.source, tmp_path, ExportOptions(), cancel)
    assert list(tmp_path.iterdir()) == []


def test_long_text_and_odd_names_make_a_pdf(tmp_path: Path) -> None:
    from tests.classroom.test_export_frames import hostile_lesson

    written = slides.write(hostile_lesson(), tmp_path, ExportOptions(), no_progress)[0]
    pages = texts(written)
    assert [english(p.split("\n")[0]) for p in pages[1:]] == [
        "Poll results",
        "Quiz summary",
        "Board, page 1",
    ]
    assert "…" in pages[1]  # the 500-character question is cut short, not run off the page


def test_a_page_is_taken_before_much_of_its_ink_is_erased_not_before_a_little() -> None:
    from classroom.export import source as export_source
    from testkit.lessons import LessonMaker

    maker = LessonMaker("erasing")
    strokes = [maker.stroke(batches=2) for _ in range(8)]
    maker.tick(1000)
    maker.erase(strokes[:1])  # a little: no page of its own
    maker.tick(1000)
    maker.erase(strokes[1:5])  # half of what is left: the page is taken just before
    maker.tick(1000)
    maker.stroke(batches=2)
    maker.tick(1000)
    takes = slides.collect(export_source.from_events(maker.events)).takes
    assert [len(take.items) for take in takes] == [7, 4]  # before the big erase; at the end
    assert {item.id for item, _ in takes[0].items} == set(strokes[1:])
