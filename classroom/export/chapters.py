"""Chapters of the programme: the timeline's chapters as WebVTT cues (``chapters.vtt``).

The timeline (:attr:`classroom.timeline.Timeline.chapters`) finds the moments a viewer may jump
to: a page shown, a poll or quiz question opened, a photo of the board. Here they are laid on
the programme's clock (time 0 is ``source.start_ms``, the start trim point applied) and clipped
to it: the chapter in force when the programme starts begins at 0, chapters after its end are
dropped, and of chapters that begin at the same moment only the last is kept (a cue must last).
Each cue runs until the next one begins; the last one until the programme ends.

Titles are in the lesson's words: a poll's or question's text as the teacher typed it (Urdu or
English), pages and board photos numbered in the export's language. The same cues go into
``lesson.mp4`` as its chapters (:mod:`classroom.export.web`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from classroom.errors import NothingToExport
from classroom.export import ExportOptions, Progress
from classroom.export.files import final_file
from classroom.export.source import LessonSource
from classroom.timeline import Chapter

FILE_NAME = "chapters.vtt"
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,80}")  # a cue id: one line, never "-->"

# The generic titles, as the replay page words them (webclient/src/i18n.ts "pages.page",
# "replay.kind.keyframe").
_WORDS = {
    "en": {
        "page": "Page {n}",
        "keyframe": "Board photo {n}",
        "poll": "Poll",
        "question": "Quiz question {n}",
    },
    "ur": {
        "page": "صفحہ {n}",
        "keyframe": "بورڈ کی تصویر {n}",
        "poll": "رائے شماری",
        "question": "کوئز سوال {n}",
    },
}


@dataclass(frozen=True, slots=True)
class Cue:
    """One chapter on the programme's clock: ``start_ms`` <= t < ``end_ms``, ms from time 0."""

    id: str
    start_ms: int
    end_ms: int
    title: str
    kind: str


def title_of(chapter: Chapter, lang: str) -> str:
    """A chapter's title: the teacher's text for polls and questions, else a numbered name."""
    words = _WORDS.get(lang, _WORDS["en"])
    number = chapter.ref.get("number", "")
    if chapter.kind in ("page", "keyframe"):
        if chapter.kind == "keyframe":
            number = chapter.title.rpartition(" ")[2]
        return words[chapter.kind].format(n=number)
    typed = " ".join(chapter.title.split())
    return typed or words[chapter.kind].format(n=number).strip()


def cues(source: LessonSource, lang: str = "ur") -> list[Cue]:
    """The programme's chapters, clipped to it, in order (empty when it has no length)."""
    duration = source.duration_ms
    if duration <= 0:
        return []
    starts: list[tuple[int, Chapter]] = []
    for chapter in sorted(source.timeline.chapters, key=lambda c: (c.ts, c.seq)):
        at = max(0, chapter.ts - source.start_ms)
        if at >= duration:
            break
        if starts and starts[-1][0] == at:
            starts[-1] = (at, chapter)  # the later one is what the class saw from then on
        else:
            starts.append((at, chapter))
    if not starts or starts[0][0] > 0:
        # Before the first chapter: the lesson itself (a log whose first page has no event).
        title = str(source.summary.get("title") or "") or _WORDS.get(lang, _WORDS["en"])[
            "page"
        ].format(n=1)
        opening = Chapter("start", "page", 0, source.start_ms, title, {"number": 1})
        starts.insert(0, (0, opening))
    out: list[Cue] = []
    for index, (at, chapter) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else duration
        title = chapter.title if chapter.id == "start" else title_of(chapter, lang)
        cue_id = chapter.id if _SAFE_ID.fullmatch(chapter.id) else f"chapter-{index + 1}"
        out.append(Cue(cue_id, at, end, title, chapter.kind))
    return out


def timestamp(ms: int) -> str:
    """A WebVTT timestamp, ``HH:MM:SS.mmm``."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _cue_text(title: str) -> str:
    # One line, no "-->" (it would start a new timing line), the three characters WebVTT
    # cue text escapes.
    line = " ".join(title.split()).replace("-->", "->")
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt(found: list[Cue]) -> str:
    """The cues as a WebVTT file (UTF-8 text, no BOM)."""
    blocks = ["WEBVTT"]
    for cue in found:
        blocks.append(
            f"{cue.id}\n{timestamp(cue.start_ms)} --> {timestamp(cue.end_ms)}\n"
            f"{_cue_text(cue.title)}"
        )
    return "\n\n".join(blocks) + "\n"


def write(
    source: LessonSource, out: Path, options: ExportOptions, progress: Progress
) -> list[Path]:
    """Write ``out/chapters.vtt`` (NothingToExport for a programme with no length)."""
    progress(0.0, "chapters")
    found = cues(source, options.lang)
    if not found:
        raise NothingToExport("the lesson has no length: no chapters to write")
    final = out / FILE_NAME
    with final_file(final) as temp:
        temp.write_text(vtt(found), encoding="utf-8")
    progress(1.0, "chapters")
    return [final]
