"""Lesson events: the details and trim points a teacher gives a recorded lesson."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from classroom.protocol.common import (
    TEACHER,
    Broadcast,
    BroadcastSpec,
    ClientId,
    EventSpec,
    Payload,
)
from classroom.protocol.core import AppendAck

LessonLanguage = Literal["ur", "en", "other"]
# Loose bounds here (a request is never huge); the exact limits, counted after the text is
# normalised, are checked by classroom.lessons and answered with the field that broke them.
_Line = Annotated[str, StringConstraints(max_length=400)]
TrimMs = Annotated[int, Field(ge=0, le=2**53)]


class LessonDetails(Payload):
    """A recorded lesson's details and trim points, all at once (what is left out is emptied).

    Text may be Urdu, English or both; empty `title` and `teacher_name` mean the class's title
    and the teacher's login name. Trim points are milliseconds from the lesson's first event
    (null: not trimmed) and must lie inside the lesson (else OUT_OF_RANGE).
    """

    title: _Line = Field("", description="Up to 80 characters.")
    subject: _Line = Field(
        "",
        description="One of urdu, english, maths, science, islamiat, social_studies, computer,"
        " or the teacher's own words; up to 40 characters.",
    )
    grade: _Line = Field("", description="1-12, or the teacher's own words; up to 20 characters.")
    languages: list[LessonLanguage] = Field(default_factory=list, max_length=3)
    teacher_name: _Line = Field("", description="The name viewers see; up to 40 characters.")
    description: Annotated[str, StringConstraints(max_length=2000)] = Field(
        "", description="Up to 500 characters and 20 lines."
    )
    trim_start_ms: TrimMs | None = None
    trim_end_ms: TrimMs | None = None


class LessonDetailsSet(LessonDetails):
    """The teacher sets the lesson's details (during or after the class)."""

    client_id: ClientId


class LessonShare(Payload):
    """The teacher shares the recorded lesson with the class's students, or stops sharing it:
    while shared, they may replay it from the student app (others get FORBIDDEN)."""

    shared: bool
    client_id: ClientId


class LessonPublish(Payload):
    """The teacher puts the recorded lesson in the school's library (`/library`: anyone on
    the school network may watch it, with no account), or takes it out. Only an ended lesson
    may be published (else CONFLICT)."""

    published: bool
    client_id: ClientId


class LessonPublishedData(Broadcast):
    published: bool


class LessonSharedData(Broadcast):
    shared: bool


class LessonDetailsData(Broadcast):
    title: str
    subject: str
    grade: str
    languages: list[str]
    teacher_name: str
    description: str
    trim_start_ms: int | None
    trim_end_ms: int | None


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "lesson_details_update",
        LessonDetailsSet,
        TEACHER,
        (LessonDetailsSet.__doc__ or "")
        + " Allowed after the class ended. Also `POST /api/classes/{class_id}/lesson`.",
        AppendAck,
        feature="lesson",
        example={
            "title": "کسور: جمع اور تفریق",
            "subject": "maths",
            "grade": "5",
            "languages": ["ur", "en"],
            "teacher_name": "مس عائشہ",
            "description": "Fractions with the same denominator.",
            "client_id": "details-1",
        },
        idempotency="lesson:{client_id}",
    ),
    EventSpec(
        "lesson_share",
        LessonShare,
        TEACHER,
        (LessonShare.__doc__ or "")
        + " Allowed after the class ended. Also `POST /api/classes/{class_id}/share`.",
        AppendAck,
        feature="lesson",
        example={"shared": True, "client_id": "share-1"},
        idempotency="share:{client_id}",
    ),
    EventSpec(
        "lesson_publish",
        LessonPublish,
        TEACHER,
        (LessonPublish.__doc__ or "") + " Also `POST /api/classes/{class_id}/publish`.",
        AppendAck,
        feature="lesson",
        example={"published": True, "client_id": "publish-1"},
        idempotency="publish:{client_id}",
    ),
)

BROADCASTS: tuple[BroadcastSpec, ...] = (
    BroadcastSpec(
        "lesson_details_updated",
        LessonDetailsData,
        "The teacher set the lesson's details (the last one counts).",
        feature="lesson",
    ),
    BroadcastSpec(
        "lesson_shared",
        LessonSharedData,
        "The teacher shared the recorded lesson with the class's students (or stopped).",
        feature="lesson",
    ),
    BroadcastSpec(
        "lesson_published",
        LessonPublishedData,
        "The teacher put the recorded lesson in the school's library (or took it out).",
        feature="lesson",
    ),
)
