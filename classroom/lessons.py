"""Recorded lessons: the details a viewer needs, the trim points, and the summary a list shows.

A class is recorded by its nature (its log holds everything); what a lesson adds is a few
details the teacher types after class (title, subject, grade, languages, their name, a short
description) and where the recording starts and ends. They are logged as
``lesson_details_updated`` events (the last one counts), so the log stays the one record of a
lesson and every fold over it (replay, exports, the offline package) finds them there.

The ``lesson`` feature also folds *every* event for the lesson's span: the time of its first
event and of its end (``class_ended``, or its latest event while it is live). Trim points are
milliseconds from the first event and must lie inside that span.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from classroom.board import FIRST_PAGE_ID
from classroom.classes import MAX_NAME_CHARS, MAX_TITLE_CHARS, ClassRecord, clean_display_name
from classroom.errors import Conflict, InvalidPayload, OutOfRange
from classroom.log import Event, Proposed
from classroom.protocol.lessons import LessonDetails

# The subjects and grades the console offers (its Urdu labels are in webclient/src/i18n.ts);
# a teacher may type any other. Stored as typed: a known key, or the teacher's own words.
SUBJECTS = ("urdu", "english", "maths", "science", "islamiat", "social_studies", "computer")
GRADES = tuple(str(n) for n in range(1, 13))
MAX_SUBJECT_CHARS = 40
MAX_GRADE_CHARS = 20
MAX_DESCRIPTION_CHARS = 500
MAX_DESCRIPTION_LINES = 20

# Events that are about the recording, not part of the lesson: they never move its end.
_NOT_LESSON = frozenset({"lesson_details_updated", "lesson_shared", "lesson_published"})


@dataclass
class LessonState:
    """The lesson's span (server times, ms), its latest details and what its chapters are.

    Small and folded from every event, so a list of lessons can fold it from the log without
    the board (the board's fold is most of the cost of loading a class: ~80 us an event).
    """

    started_at: int | None = None  # the first event's time
    last_at: int | None = None  # the latest lesson event's time, up to its end
    ended_at: int | None = None  # the ``class_ended`` event's time
    details: dict[str, Any] | None = None  # the last ``lesson_details_updated`` data
    audio_segments: int = 0  # ``audio_added`` events (board devices, the console, a file)
    pages: set[str] = field(default_factory=lambda: {FIRST_PAGE_ID})
    polls: set[str] = field(default_factory=set)  # polls that were opened
    questions: set[tuple[str, int]] = field(default_factory=set)  # quiz questions asked
    keyframes: int = 0
    shared: bool = False  # the last ``lesson_shared``: the class's students may replay it
    published: bool = False  # the last ``lesson_published``: in the school's library
    published_at: int | None = None  # when it was last published (server time, ms)
    removed: set[str] = field(default_factory=set)  # students the teacher removed (no replay)
    seq: int = 0  # the last event folded in


def duration_ms(state: LessonState) -> int:
    """How long the lesson lasts (or has lasted so far): from its first event to its end."""
    if state.started_at is None:
        return 0
    end = state.ended_at if state.ended_at is not None else state.last_at
    return max(0, (end or state.started_at) - state.started_at)


def apply(state: LessonState, event: Event) -> None:
    """Fold any event of the class (the ``lesson`` feature sees every event)."""
    state.seq = event.seq
    data = event.data
    match event.type:
        case "lesson_details_updated":
            state.details = dict(data)
            return
        case "lesson_shared":
            state.shared = bool(data.get("shared"))
            return
        case "lesson_published":
            state.published = bool(data.get("published"))
            state.published_at = event.ts if state.published else None
            return
        case "audio_added":
            state.audio_segments += 1
        case "page_added":
            state.pages.add(str(data.get("page")))
        case "page_deleted":
            state.pages.discard(str(data.get("page")))
        case "poll_opened":
            state.polls.add(str(data.get("poll_id")))
        case "quiz_question_opened":
            state.questions.add((str(data.get("quiz_id")), int(data.get("question", 0))))
        case "camera_keyframe_added":
            state.keyframes += 1
        case "student_removed" if event.actor.role == "teacher":
            state.removed.add(str(data.get("student_id")))  # as the roster folds it
    if event.type in _NOT_LESSON or state.ended_at is not None:
        return  # presence events after the end do not lengthen the lesson
    if state.started_at is None:
        state.started_at = event.ts
    state.last_at = event.ts if state.last_at is None else max(state.last_at, event.ts)
    if event.type == "class_ended":
        state.ended_at = event.ts


def _refuse_controls(raw: str, *, field: str, line_breaks: bool = False) -> None:
    # Checked before white space is collapsed: str.split() takes some control characters
    # (U+001C-U+001F, U+0085) for spaces and would quietly keep the text.
    for ch in raw:
        if unicodedata.category(ch) == "Cc" and not (line_breaks and ch in "\n\r"):
            raise InvalidPayload(f"{field} contains control characters", field=field)


def _clean_optional(raw: str, *, field: str, limit: int) -> str:
    """A one-line text the teacher may leave empty: cleaned like a display name."""
    _refuse_controls(raw, field=field)
    if not raw.strip():
        return ""
    return clean_display_name(raw, field=field, limit=limit)


def clean_description(raw: str) -> str:
    """A short description: NFC, a few lines, no control characters but the line break."""
    _refuse_controls(raw, field="description", line_breaks=True)
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    if len(lines) > MAX_DESCRIPTION_LINES:
        raise InvalidPayload(
            f"description has more than {MAX_DESCRIPTION_LINES} lines", field="description"
        )
    for line in lines:
        if line:
            clean_display_name(line, field="description", limit=MAX_DESCRIPTION_CHARS)
    cleaned = "\n".join(lines)
    if len(cleaned) > MAX_DESCRIPTION_CHARS:
        raise InvalidPayload(
            f"description is longer than {MAX_DESCRIPTION_CHARS} characters", field="description"
        )
    return cleaned


def details_data(payload: LessonDetails) -> dict[str, Any]:
    """The cleaned details of a request (raises InvalidPayload naming the first bad field)."""
    languages = list(dict.fromkeys(payload.languages))  # keep the order, drop repeats
    return {
        "title": _clean_optional(payload.title, field="title", limit=MAX_TITLE_CHARS),
        "subject": _clean_optional(payload.subject, field="subject", limit=MAX_SUBJECT_CHARS),
        "grade": _clean_optional(payload.grade, field="grade", limit=MAX_GRADE_CHARS),
        "languages": languages,
        "teacher_name": _clean_optional(
            payload.teacher_name, field="teacher_name", limit=MAX_NAME_CHARS
        ),
        "description": clean_description(payload.description),
        "trim_start_ms": payload.trim_start_ms,
        "trim_end_ms": payload.trim_end_ms,
    }


def check_trim(state: LessonState, start_ms: int | None, end_ms: int | None) -> None:
    """Refuse trim points outside the lesson (OUT_OF_RANGE) or in the wrong order."""
    length = duration_ms(state)
    for name, value in (("trim_start_ms", start_ms), ("trim_end_ms", end_ms)):
        if value is not None and not 0 <= value <= length:
            raise OutOfRange(
                f"{name} must lie inside the lesson: 0-{length} ms from its first event",
                field=name,
            )
    if start_ms is not None and end_ms is not None and start_ms >= end_ms:
        raise InvalidPayload("trim_start_ms must come before trim_end_ms", field="trim_end_ms")


def propose_details(state: LessonState, payload: LessonDetails) -> list[Proposed]:
    """Set the lesson's details and trim points (allowed after the class ended, too)."""
    data = details_data(payload)
    check_trim(state, data["trim_start_ms"], data["trim_end_ms"])
    if data == state.details:
        return []
    return [Proposed("lesson_details_updated", data)]


def propose_share(state: LessonState, shared: bool) -> list[Proposed]:
    """Share the recorded lesson with the class's students (or stop sharing it)."""
    if shared == state.shared:
        return []
    return [Proposed("lesson_shared", {"shared": shared})]


def propose_publish(state: LessonState, published: bool, *, ended: bool) -> list[Proposed]:
    """Put the recorded lesson in the school's library (``/library``), or take it out.

    Only an ended class may be published: a class still running (or a practice class left
    open) is not a lesson yet. Taking a lesson out is always allowed.
    """
    if published and not (ended or state.ended_at is not None):
        raise Conflict("only an ended lesson can be published; end the class first")
    if published == state.published:
        return []
    return [Proposed("lesson_published", {"published": published})]


def snapshot(state: LessonState, viewer: object) -> dict[str, Any]:
    """The lesson's details and span, for a joining client (the console's after-class form)."""
    return {
        "details": state.details,
        "started_at": state.started_at,
        "duration_ms": duration_ms(state),
    }


def chapter_counts(state: LessonState) -> dict[str, int]:
    """How many pages, polls, quiz questions and camera keyframes the lesson has: the things
    the timeline makes chapters of (``classroom/timeline.py`` gives them titles and times)."""
    return {
        "pages": len(state.pages),
        "polls": len(state.polls),
        "quiz_questions": len(state.questions),
        "keyframes": state.keyframes,
    }


def lesson_summary(record: ClassRecord, lesson: LessonState, *, school: str) -> dict[str, Any]:
    """What a viewer needs to know about a recorded lesson: its details (the class's title and
    the teacher's login name where the teacher typed none), date, length, chapters, audio."""
    details = lesson.details or {}
    return {
        "class_id": record.id,
        "title": details.get("title") or record.title,
        "subject": details.get("subject", ""),
        "grade": details.get("grade", ""),
        "languages": list(details.get("languages", [])),
        "teacher_name": details.get("teacher_name") or record.teacher,
        "school": school,
        "description": details.get("description", ""),
        "trim_start_ms": details.get("trim_start_ms"),
        "trim_end_ms": details.get("trim_end_ms"),
        "details_set": lesson.details is not None,
        "created_at": record.created_at,
        "started_at": lesson.started_at,
        "ended": record.ended or lesson.ended_at is not None,
        "duration_ms": duration_ms(lesson),
        "chapters": chapter_counts(lesson),
        "has_audio": lesson.audio_segments > 0,
        "shared": lesson.shared,
        "published": lesson.published,
        "published_at": lesson.published_at,
        "replay_url": f"/lessons/{record.id}",
    }
