"""Core events: resume, snapshot, clock, roster, hands, ending a class."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from classroom.protocol.common import (
    ALL_ROLES,
    STUDENT,
    TEACHER,
    Broadcast,
    BroadcastSpec,
    ClientId,
    EventSpec,
    Payload,
    Seq,
    ServerId,
)
from classroom.protocol.snapshot import ClassSnapshotAck

MAX_RESUME_PAGE = 2000


class LogResume(Payload):
    """Ask for the events after ``after_seq`` that this client may see, in order."""

    after_seq: Seq
    limit: Annotated[int, Field(ge=1, le=MAX_RESUME_PAGE)] = 1000


class LogResumeAck(BaseModel):
    events: list[dict[str, Any]]
    head_seq: int = Field(description="The newest seq in the class when the page was read.")
    next_after_seq: int = Field(description="Ask again from here while `more` is true.")
    more: bool


class ClassSnapshot(Payload):
    """Ask for the live state of the class (a late joiner's starting point)."""


class ClockSync(Payload):
    """Measure the clock offset: the ack carries the server time for this client time."""

    client_time_ms: Annotated[float, Field(ge=0, le=2**53)]


class ClockSyncAck(BaseModel):
    client_time_ms: float
    server_time_ms: int


class RosterGet(Payload):
    """Ask for the class roster with live connection state."""


class RosterGetAck(BaseModel):
    students: list[dict[str, Any]]


class HandRaise(Payload):
    """A student raises (or lowers) their hand."""

    raised: bool
    client_id: ClientId


class HandLower(Payload):
    """The teacher lowers a student's hand."""

    student_id: ServerId
    client_id: ClientId


class ClassEnd(Payload):
    """End the class: students and devices disconnect; reconnects and writes get CLASS_ENDED."""

    client_id: ClientId


class AppendAck(BaseModel):
    """The ack of every write. A retry (same author, same idempotency key) is answered with the
    stored first answer: the same ``seq`` and fields, and ``duplicate: true``."""

    seq: int = Field(
        description="The log seq of the (first) event this write appended; for a write that "
        "changed nothing (``noop``), the class's seq when it was checked."
    )
    duplicate: bool = Field(description="True when a retry matched an event already stored.")
    noop: bool = Field(
        False, description="True when the write was valid but changed nothing (already so)."
    )


class StudentJoinedData(Broadcast):
    student_id: str
    name: str


class StudentPresenceData(Broadcast):
    student_id: str


class HandData(Broadcast):
    student_id: str


class EmptyData(Broadcast):
    pass


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "log_resume",
        LogResume,
        ALL_ROLES,
        LogResume.__doc__ or "",
        LogResumeAck,
        rate="read",
        example={"after_seq": 0, "limit": 100},
        writes=False,
    ),
    EventSpec(
        "class_snapshot",
        ClassSnapshot,
        ALL_ROLES,
        ClassSnapshot.__doc__ or "",
        ClassSnapshotAck,
        rate="read",
        writes=False,
    ),
    EventSpec(
        "clock_sync",
        ClockSync,
        ALL_ROLES,
        ClockSync.__doc__ or "",
        ClockSyncAck,
        example={"client_time_ms": 1764280000000.5},
        writes=False,
    ),
    EventSpec(
        "roster_get",
        RosterGet,
        TEACHER,
        RosterGet.__doc__ or "",
        RosterGetAck,
        rate="read",
        writes=False,
    ),
    EventSpec(
        "hand_raise",
        HandRaise,
        STUDENT,
        HandRaise.__doc__ or "",
        AppendAck,
        example={"raised": True, "client_id": "hand-1"},
        idempotency="hand:{client_id}",
    ),
    EventSpec(
        "hand_lower",
        HandLower,
        TEACHER,
        HandLower.__doc__ or "",
        AppendAck,
        example={"student_id": "s_example", "client_id": "lower-1"},
        idempotency="lower:{client_id}",
    ),
    EventSpec(
        "class_end",
        ClassEnd,
        TEACHER,
        ClassEnd.__doc__ or "",
        AppendAck,
        example={"client_id": "end-1"},
        idempotency="end:{client_id}",
    ),
)

BROADCASTS: tuple[BroadcastSpec, ...] = (
    BroadcastSpec(
        "student_joined",
        StudentJoinedData,
        "A student joined for the first time.",
        audience="author",
    ),
    BroadcastSpec(
        "student_connected", StudentPresenceData, "A student's device connected.", audience="author"
    ),
    BroadcastSpec(
        "student_disconnected",
        StudentPresenceData,
        "A student's device disconnected.",
        audience="author",
    ),
    BroadcastSpec("hand_raised", HandData, "A student raised their hand."),
    BroadcastSpec("hand_lowered", HandData, "A student's hand was lowered."),
    BroadcastSpec("class_ended", EmptyData, "The teacher ended the class."),
)
