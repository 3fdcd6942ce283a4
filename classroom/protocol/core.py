"""Core events: resume, snapshot, clock, roster, hands, ending a class."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

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

MAX_RESUME_PAGE = 5000
# A resume page or a snapshot piece stops at about this much JSON, so a client that reads
# slowly has at most one of them unsent at a time: well inside the server's 4 MB slow-reader
# limit, with the live ink on top. A piece is small because its JSON is encoded on the event
# loop (~37 ms a MB): at 256 KB, sixty requests from one student delayed the ink to others
# by 50-190 ms; at 64 KB by 5-15 ms.
RESUME_PAGE_BYTES = 1024 * 1024
RESUME_CHUNK = 1000  # events read from the store at a time for one page
SNAPSHOT_PIECE_BYTES = 64 * 1024
# A snapshot asked for whole (without ``paged``) is refused past this many stored points
# (~260 KB of JSON, like a piece): bigger, it overflows slow readers and stalls the loop.
WHOLE_SNAPSHOT_POINTS = 10_000

Cursor = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}\.[0-9]{1,9}$")]


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

    paged: bool = Field(
        default=False,
        description=(
            "The ack carries the first ~64 KB of board items (strokes as `q`, see"
            " `class_snapshot_piece`) in `state.board.pages[].items` and"
            " a `cursor`: ask `class_snapshot_piece` with it until it is null. Without it the"
            " state comes whole (strokes as `pts`), and a board of more than 10,000 stored"
            " points is refused with PAYLOAD_TOO_LARGE."
        ),
    )


class ClassSnapshotPiece(Payload):
    """Ask for the next piece of a paged snapshot's board items, as they were at its seq."""

    cursor: Cursor


class ClassSnapshotPieceAck(BaseModel):
    seq: int = Field(description="The seq of the snapshot these items belong to.")
    pages: list[dict[str, Any]] = Field(
        description="`[{id, items}]`: append each page's items to that page, in order."
    )
    cursor: str | None = Field(description="Ask again with it; null when every piece was sent.")


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


class StudentRename(Payload):
    """The teacher renames a student: the name is checked like the one typed to join (1-40
    characters, Urdu welcome, spaces collapsed) and must not be another student's
    (NAME_TAKEN)."""

    student_id: ServerId
    name: Annotated[str, StringConstraints(min_length=1, max_length=160)]
    client_id: ClientId


class StudentRemove(Payload):
    """The teacher removes a student: their connections are told (`session_error`,
    STUDENT_REMOVED) and closed, their token no longer connects, they leave the roster. Their
    answers stay in the log and the reports, their scores on the quiz leaderboard."""

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


class StudentRenamedData(Broadcast):
    student_id: str
    name: str = Field(description="The name everyone sees from now on.")


class SessionErrorData(Broadcast):
    """Why the server is closing this connection; a reconnect is refused with the same code."""

    code: str = Field(description="A stable error code, e.g. STUDENT_REMOVED.")
    message: str


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
        (LogResume.__doc__ or "") + " A page stops at `limit` events or about 1 MB of JSON.",
        LogResumeAck,
        rate="resume",
        example={"after_seq": 0, "limit": 100},
        writes=False,
    ),
    EventSpec(
        "class_snapshot",
        ClassSnapshot,
        ALL_ROLES,
        (ClassSnapshot.__doc__ or "") + " With `paged`, the board items come in pieces.",
        ClassSnapshotAck,
        rate="read",
        writes=False,
        example={"paged": True},
    ),
    EventSpec(
        "class_snapshot_piece",
        ClassSnapshotPiece,
        ALL_ROLES,
        (ClassSnapshotPiece.__doc__ or "")
        + " About 64 KB of JSON each. A stroke's points come as `q`, not `pts`: integers"
        " x*10, y*10, pressure*1000, t ms, each after the first point's four the difference"
        " from the same value of the point before.",
        ClassSnapshotPieceAck,
        rate="piece",
        example={"cursor": "dGhlLXBpbi0x.120"},
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
        "student_rename",
        StudentRename,
        TEACHER,
        StudentRename.__doc__ or "",
        AppendAck,
        example={"student_id": "s_example", "name": "علی رضا", "client_id": "rename-1"},
        idempotency="student_rename:{client_id}",
    ),
    EventSpec(
        "student_remove",
        StudentRemove,
        TEACHER,
        StudentRemove.__doc__ or "",
        AppendAck,
        example={"student_id": "s_example", "client_id": "remove-1"},
        idempotency="student_remove:{client_id}",
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
        "student_renamed",
        StudentRenamedData,
        "The teacher renamed a student (everyone: the student sees their new name).",
    ),
    BroadcastSpec(
        "student_removed",
        StudentPresenceData,
        "The teacher removed a student from the class (everyone: that student's app stops).",
    ),
    BroadcastSpec(
        "session_error",
        SessionErrorData,
        "Sent to one connection just before the server closes it (a removed student's).",
        audience="self",
        logged=False,
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
