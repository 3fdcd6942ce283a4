"""chapters.vtt: the timeline's chapters on the trimmed programme's clock, as strict WebVTT."""

from __future__ import annotations

from pathlib import Path

import pytest

from classroom.errors import NothingToExport
from classroom.export import ExportOptions, chapters, no_progress, writer
from classroom.export.source import LessonSource, from_events
from testkit.export_lesson import POLL_QUESTION, QUIZ_QUESTION, short_lesson
from testkit.lessons import LessonMaker
from tests.classroom.export import vtt


@pytest.fixture(scope="module")
def lesson_source() -> LessonSource:
    return short_lesson(13.0, with_audio=False).source


def test_chapters_vtt_is_strict_webvtt_on_the_trimmed_programme(
    lesson_source: LessonSource, tmp_path: Path
) -> None:
    source = lesson_source
    seen: list[float] = []
    written = writer("chapters")(
        source, tmp_path, ExportOptions(lang="ur"), lambda f, s: seen.append(f)
    )
    assert written == [tmp_path / "chapters.vtt"]
    assert seen[0] == 0.0 and seen[-1] == 1.0
    cues = vtt.parse(written[0].read_text(encoding="utf-8"))
    vtt.check_chapters(cues, source.duration_ms)
    # Page 1 was left before the programme began and Page 3 shown after it ended: the
    # programme opens on page 2, and every chapter inside it is there, at its own moment.
    assert [c.text for c in cues] == ["صفحہ 2", POLL_QUESTION, "بورڈ کی تصویر 1", QUIZ_QUESTION]
    by_title = {c.text: c for c in cues}
    for chapter in source.timeline.chapters:
        at = chapter.ts - source.start_ms
        if chapter.kind == "poll":
            assert by_title[POLL_QUESTION].start_ms == at
        if chapter.kind == "question":
            assert by_title[QUIZ_QUESTION].start_ms == at
    assert not list(tmp_path.glob(".*.part"))


def test_english_titles_and_rewriting_replaces_the_file(
    lesson_source: LessonSource, tmp_path: Path
) -> None:
    chapters.write(lesson_source, tmp_path, ExportOptions(lang="ur"), no_progress)
    chapters.write(lesson_source, tmp_path, ExportOptions(lang="en"), no_progress)
    cues = vtt.parse((tmp_path / "chapters.vtt").read_text(encoding="utf-8"))
    assert [c.text for c in cues] == ["Page 2", POLL_QUESTION, "Board photo 1", QUIZ_QUESTION]


def test_titles_that_look_like_webvtt_syntax_stay_text() -> None:
    sneaky = "a --> b <b>bold</b> & 00:00:01.000 --> 00:00:02.000\n\nWEBVTT"
    found = [
        chapters.Cue("page-1", 0, 1000, "صفحہ 1", "page"),
        chapters.Cue("poll-x", 1000, 2500, sneaky, "poll"),
    ]
    cues = vtt.parse(chapters.vtt(found))
    vtt.check_chapters(cues, 2500)
    assert len(cues) == 2
    assert cues[1].text == "a -> b <b>bold</b> & 00:00:01.000 -> 00:00:02.000 WEBVTT"


def test_a_lesson_with_no_length_writes_nothing(tmp_path: Path) -> None:
    maker = LessonMaker("c_empty")
    maker.add_page()
    source = from_events(maker.events)
    assert source.duration_ms == 0
    with pytest.raises(NothingToExport):
        chapters.write(source, tmp_path, ExportOptions(), no_progress)
    assert list(tmp_path.iterdir()) == []


def test_timestamps_past_an_hour() -> None:
    assert chapters.timestamp(3_723_004) == "01:02:03.004"
    assert chapters.timestamp(0) == "00:00:00.000"
