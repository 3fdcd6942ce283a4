"""The HTTP API in one table: every route's method, path, body, answer and errors.

``classroom/http.py`` implements the routes (one handler per row, named by ``handler``);
``docs/openapi.json`` and the HTTP section of ``docs/protocol.md`` are generated from this table,
and a test fails when the server's routes and the table disagree. JSON answers are
``{"ok": true, ...}``; every error answer is :class:`ErrorResponse` with the error's HTTP status.

Auth: ``teacher`` routes want ``Authorization: Bearer <teacher token>`` (from ``/api/login``);
``class`` routes take the teacher's token or a student's or board device's token of that class
(header, or ``?token=`` so an ``<img>`` can load them); ``local`` routes answer only on the
server's own computer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from classroom.auth import MIN_PASSWORD_CHARS
from classroom.classes import MAX_NAME_CHARS
from classroom.errors import (
    Busy,
    ClassEnded,
    ClassroomError,
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InvalidPayload,
    NotFound,
    OutOfRange,
    PayloadTooLarge,
    PictureMissing,
    PictureTooLarge,
    PictureUnreadable,
    QuizBundleInvalid,
    RateLimited,
    RequestTimeout,
    StoreUnavailable,
    StudentRemoved,
    Unauthorized,
)
from classroom.protocol.lessons import LessonDetails
from classroom.protocol.quizzes import QuizDefinition

MAX_JSON_BODY = 64 * 1024
MAX_IMAGE_UPLOAD = 8 * 1024 * 1024
MAX_QUIZ_UPLOAD = 1024 * 1024
# A lesson in the list is its class's folded log (loaded like a class being joined): a page
# is smaller than a page of classes.
LESSON_PAGE_DEFAULT = 20
LESSON_PAGE_MAX = 50
# A replay page of events: about 100-250 KB of JSON, 15-40 KB gzipped; playback starts after
# the first one.
REPLAY_PAGE_DEFAULT = 1000
REPLAY_PAGE_MAX = 5000

Auth = Literal["none", "teacher", "class", "local"]


# --- request bodies ---------------------------------------------------------------------------


class Body(BaseModel):
    """Base of the JSON request bodies: strict types, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LoginBody(Body):
    """A teacher's name and password."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    # The remembered-device token this browser got at its last login (see ``login``).
    device: Annotated[str, StringConstraints(max_length=512)] | None = None


_NEW_PASSWORD = f"At least {MIN_PASSWORD_CHARS} characters (INVALID_PAYLOAD otherwise)."


class SetupBody(Body):
    """The first teacher's name and password (from the server's own computer only)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description=_NEW_PASSWORD
    )


class PasswordBody(Body):
    """Change the signed-in teacher's password (ends their other tokens)."""

    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description=_NEW_PASSWORD
    )


class ClassCreateBody(Body):
    """A new class's title."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class JoinBody(Body):
    """A student joins with the code on the board and a display name (no account)."""

    join_code: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description=f"Trimmed, spaces collapsed, then at most {MAX_NAME_CHARS} characters"
        " and no control characters (INVALID_PAYLOAD otherwise)."
    )


class PublishBody(Body):
    """Whether the recorded lesson is in the school's library."""

    published: bool


class ShareBody(Body):
    """Whether the class's students may replay the recorded lesson."""

    shared: bool


class ExportBody(Body):
    """Which files to make of a recorded lesson, and in which language (cards, slates)."""

    formats: list[Literal["broadcast", "mxf", "web", "pdf", "chapters", "package"]] = Field(
        min_length=1,
        max_length=6,
        description="broadcast (broadcast.mov), mxf (broadcast.mxf), web (web/ + lesson.mp4), "
        "pdf (slides.pdf), chapters (chapters.vtt), package (the offline lesson). A format "
        "this installation lacks is INVALID_PAYLOAD.",
    )
    lang: Literal["ur", "en"] = "ur"


class DeviceBody(Body):
    """A board device (the camera PC running ``boardclient``) and its name."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "Board camera"


# --- answers ----------------------------------------------------------------------------------


class Answer(BaseModel):
    """Base of the JSON answers (``extra="forbid"`` so a test notices an undocumented field)."""

    model_config = ConfigDict(extra="forbid")

    ok: Literal[True]


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="Stable; see the error codes table.")
    message: str = Field(description="For people; may change.")
    field: str | None = Field(None, description="The first field at fault, when there is one.")
    retry_after_s: float | None = Field(None, description="RATE_LIMITED only.")


class ErrorResponse(BaseModel):
    """Every error answer (with ``Retry-After`` on 429)."""

    model_config = ConfigDict(extra="forbid")

    ok: Literal[False]
    error: ErrorDetail


class Health(Answer):
    store: str = Field(description="`sqlite` or `redis`.")
    store_ping_ms: float


class HealthDown(BaseModel):
    """The store does not answer (status 503)."""

    model_config = ConfigDict(extra="forbid")

    ok: Literal[False]
    store: str
    error: ErrorDetail


class SetupState(Answer):
    needs_setup: bool = Field(description="True until the server has its first teacher.")
    allowed_here: bool = Field(description="True when asked from the server's own computer.")


class TeacherToken(Answer):
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    teacher: str
    device: str | None = Field(
        None,
        description="Login only: a remembered-device token; send it as `device` at the next "
        "login from this browser (it is not locked out by other devices' failures).",
    )


class SignedOut(Answer):
    teacher: str


class ClassInfo(Answer):
    class_id: str
    title: str
    join_code: str = Field(description="What students type; shown on the board.")
    join_url: str = Field(
        description="The link students open: the server's LAN address (or its public URL), "
        "never a loopback address while one exists."
    )
    join_reachable: bool = Field(
        description="False when the server has no LAN address: `join_url` is then a loopback "
        "address tablets cannot open (connect the computer to the school network, or start "
        "the server with --public-url)."
    )
    created_at: int = Field(description="Milliseconds since the epoch.")
    ended: bool
    qr_svg: str = Field(description="Path of the join QR code (SVG).")
    qr_png: str = Field(description="Path of the join QR code (PNG).")
    practice: bool = Field(
        False,
        description="A practice class (simulated students): never published, left out of "
        "the lesson list unless asked for.",
    )


class ClassSummary(BaseModel):
    """A class in the teacher's list: :class:`ClassInfo` without ``ok``."""

    model_config = ConfigDict(extra="forbid")

    class_id: str
    title: str
    join_code: str
    join_url: str
    join_reachable: bool
    created_at: int
    ended: bool
    qr_svg: str
    qr_png: str
    practice: bool = False


class ClassList(Answer):
    classes: list[ClassSummary] = Field(description="Newest first, at most `limit`.")
    next: str | None = Field(description="Pass as `before` for the next (older) page, or null.")


PracticeProfile = Literal["calm", "busy", "weak-link"]
_PRACTICE_STUDENTS = "How many simulated students, 1-60."


class PracticeBody(Body):
    """A practice class: its title and its simulated students."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "Practice class"
    students: int = Field(25, ge=1, le=60, description=_PRACTICE_STUDENTS)
    profile: PracticeProfile = Field(
        "calm",
        description="How they behave: `calm`, `busy` (quick, many hands, much drawing) or "
        "`weak-link` (slow links, drop off and come back often).",
    )


class PracticeChangeBody(Body):
    """Change a running practice class's students; a field left out stays as it is."""

    students: int | None = Field(None, ge=1, le=60, description=_PRACTICE_STUDENTS)
    profile: PracticeProfile | None = None
    drop: int | None = Field(
        None,
        ge=1,
        le=60,
        description="Take simulated student number N (from 1, in joining order) off the "
        "Wi-Fi for `away_s` seconds: it comes back with the same token, votes and score.",
    )
    away_s: float = Field(5.0, ge=1, le=60, description="How long a dropped student is away.")


class PracticeAnswer(Answer):
    running: bool = Field(description="Whether the simulated students are in the class now.")
    students: int
    profile: str
    error_acks: int | None = Field(
        None, description="Once they stopped: error acks they got (a normal run has none)."
    )
    votes: int | None = Field(None, description="Once they stopped: poll votes they sent.")
    answers: int | None = Field(None, description="Once they stopped: quiz answers they sent.")


class PracticeCreated(ClassInfo):
    simulation: PracticeAnswer


class DebriefAnswer(Answer):
    en: list[str] = Field(description="The debrief in English, a sentence a line.")
    ur: list[str] = Field(description="The same in Urdu.")
    facts: dict[str, Any] = Field(
        description="The numbers behind it: per poll and question (`items`: open_s, answered, "
        "shown), hands and how long until lowered, pages, the students' strokes."
    )


class ClassEndedAnswer(Answer):
    class_id: str
    ended: Literal[True]


class DeviceToken(Answer):
    device_id: str
    token: str = Field(description="The board device's Socket.IO `auth.token`.")


class Joined(Answer):
    token: str = Field(description="The student's Socket.IO `auth.token`.")
    class_id: str
    student_id: str
    name: str = Field(
        description="The name the class sees: as typed (trimmed), with a number when another "
        "student of the class has it (`Ali 2`)."
    )
    title: str = Field(description="The class's title.")


class ImageUploaded(Answer):
    asset_id: str = Field(description="Use in `page_add` / `page_set_background`.")
    width: int
    height: int
    url: str


class AudioUploaded(Answer):
    asset_id: str
    seq: int = Field(description="The log seq of the `audio_added` event.")
    duplicate: bool = Field(description="True when this answers a retry (same segment_id).")
    duration_ms: int = Field(description="The decoded duration (what the log records).")


class QuizImported(Answer):
    quiz_id: str
    title: str
    questions: int
    seq: int = Field(description="The log seq of the `quiz_created` event.")
    duplicate: bool = Field(description="True when this answers a retry (same Idempotency-Key).")


class QuizParsed(Answer):
    quiz: QuizDefinition = Field(description="The protocol form, ready for `quiz_create`.")


class QuizReport(Answer):
    quiz_id: str
    title: str
    mode: str
    status: str
    questions: int
    players: int
    students: list[dict[str, Any]] = Field(
        description="Per student: rank, student_id, name, score, correct, answered, answers."
    )
    items: list[dict[str, Any]] = Field(description="Per question: the item analysis.")


class PollsReport(Answer):
    polls: list[dict[str, Any]] = Field(description="Every poll that was opened, in order.")


class LessonChapters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pages: int
    polls: int = Field(description="Polls that were opened.")
    quiz_questions: int = Field(description="Quiz questions that were asked.")
    keyframes: int = Field(description="Camera keyframes (the board just before an erase).")


class LessonSummary(BaseModel):
    """A recorded lesson: its details, date, length, chapters and whether it has audio."""

    model_config = ConfigDict(extra="forbid")

    class_id: str
    title: str = Field(description="The details' title, or the class's title.")
    subject: str
    grade: str
    languages: list[str] = Field(description="Of ur, en, other.")
    teacher_name: str = Field(description="The details' name, or the teacher's login name.")
    school: str = Field(description="The server's setting (TAKHTI_SCHOOL, --school).")
    description: str
    trim_start_ms: int | None = Field(description="From the first event; null: not trimmed.")
    trim_end_ms: int | None
    details_set: bool = Field(description="Whether the teacher has set details yet.")
    created_at: int = Field(description="Milliseconds since the epoch.")
    started_at: int | None = Field(description="The server time of the first event.")
    ended: bool
    duration_ms: int = Field(description="First event to `class_ended` (so far, while live).")
    chapters: LessonChapters
    has_audio: bool
    shared: bool = Field(description="Whether the class's students may replay it.")
    published: bool = Field(description="Whether it is in the school's library (`/library`).")
    published_at: int | None = Field(description="When it was last published (ms), or null.")
    replay_url: str = Field(description="The replay page.")


class LessonAnswer(Answer):
    lesson: LessonSummary


class LessonSaved(Answer):
    seq: int = Field(description="The seq of the `lesson_details_updated` event (or the class's).")
    duplicate: bool = Field(description="True when this answers a retry (same Idempotency-Key).")
    noop: bool = Field(description="True when the details were already so.")
    lesson: LessonSummary


class LessonList(Answer):
    lessons: list[LessonSummary] = Field(description="Newest first, at most `limit`.")
    next: str | None = Field(description="Pass as `before` for the next (older) page, or null.")


class ReplayChapter(BaseModel):
    """A chapter (classroom.timeline.Chapter) with its time from the lesson's start."""

    model_config = ConfigDict(extra="allow")

    id: str
    kind: Literal["page", "poll", "question", "keyframe"]
    seq: int
    ts: int = Field(description="Server time (ms since the epoch).")
    t_ms: int = Field(description="From the lesson's first event.")
    title: str


class ReplayAudio(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment_id: str
    url: str = Field(description="The segment's bytes (audio/ogg or audio/webm).")
    t_ms: int = Field(description="When it was captured, from the lesson's first event.")
    duration_ms: int
    container: str


class ReplayInfo(Answer):
    lesson: LessonSummary
    started_at: int | None = Field(description="The lesson clock of its first event.")
    duration_ms: int
    head_seq: int = Field(description="The last event; read the events up to it.")
    chapters: list[ReplayChapter]
    audio: list[ReplayAudio] = Field(description="In capture order (late uploads included).")
    shared: bool
    viewer: Literal["teacher", "student"]


class ReplayEvents(Answer):
    events: list[dict[str, Any]] = Field(
        description="Wire events (with `ts`) the viewer may see, in seq order."
    )
    next_after_seq: int = Field(description="Pass as `after_seq` for the next page.")
    head_seq: int
    more: bool


class ExportError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        description="As `classroom export` says it: NOT_FOUND, NOTHING_TO_EXPORT, DISK_FULL, "
        "NOT_WRITABLE, EXPORT_FAILED, QC_FAILED, INTERRUPTED (the server restarted), ..."
    )
    message: str


class ExportJobInfo(BaseModel):
    """A lesson's latest export job (one at a time per lesson; one running per server)."""

    model_config = ConfigDict(extra="forbid")

    job_id: str
    class_id: str
    teacher: str
    formats: list[str]
    lang: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    fraction: float = Field(description="0-1 over all its formats.")
    stage: str = Field(description="What it does now, e.g. `pdf: page 3` (for people).")
    files: list[str] = Field(
        description="Once done: the files, relative (`web/master.m3u8`); download each from "
        "`export/files/{name}`. Kept when only QC failed."
    )
    qc: dict[str, bool] = Field(description="Each QC report and whether it passed.")
    error: ExportError | None
    cancel_requested: bool
    created_at: int
    started_at: int | None
    finished_at: int | None
    updated_at: int = Field(description="Written every few seconds while it runs.")


class ExportFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    url: str = Field(description="Add `?token=` (the teacher's) for a link or a <video>.")
    bytes: int
    media_type: str


class ExportAnswer(Answer):
    job: ExportJobInfo | None = Field(description="Null: this lesson was never exported.")
    files: list[ExportFile] = Field(description="The finished job's files that are on disk.")
    available: list[str] = Field(description="The formats this installation can write.")
    poll_ms: int = Field(description="How often to ask again while the job is queued/running.")


class ShareAnswer(Answer):
    seq: int
    duplicate: bool
    noop: bool
    shared: bool


class PublishAnswer(Answer):
    seq: int
    duplicate: bool
    noop: bool
    published: bool


class LibraryDownload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Literal["lesson.html", "lesson.mp4"]
    url: str
    size: int


class LibraryLesson(BaseModel):
    """A published lesson as anyone may see it: its details, never its students."""

    model_config = ConfigDict(extra="forbid")

    class_id: str
    title: str
    subject: str
    grade: str
    languages: list[str]
    teacher_name: str
    school: str
    description: str
    started_at: int | None
    duration_ms: int
    chapters: LessonChapters
    has_audio: bool
    published_at: int | None = Field(description="Milliseconds since the epoch.")
    url: str = Field(description="The lesson's library page.")
    downloads: list[LibraryDownload] = Field(
        default_factory=list, description="The exported files (offline package, small MP4)."
    )


class LibraryList(Answer):
    lessons: list[LibraryLesson] = Field(description="Newest published first, at most `limit`.")
    total: int = Field(description="How many lessons match.")


class LibraryReplayInfo(Answer):
    lesson: LibraryLesson
    started_at: int | None
    duration_ms: int
    head_seq: int
    chapters: list[ReplayChapter]
    audio: list[ReplayAudio]
    shared: bool
    viewer: Literal["library"]


class ManifestFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    size: int = Field(ge=0)


class ManifestAsset(ManifestFile):
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,80}$")]
    content_type: Annotated[str, StringConstraints(pattern=r"^[a-z]+/[a-z0-9.+-]{1,60}$")]


class ManifestDownload(ManifestFile):
    name: Literal["lesson.html", "lesson.mp4"]


class ManifestLesson(BaseModel):
    """One lesson of a library manifest: its public summary and its files by hash."""

    model_config = ConfigDict(extra="forbid")

    class_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    title: Annotated[str, StringConstraints(max_length=400)]
    created_at: int = Field(ge=0)
    ended_at: int | None = Field(None, ge=0)
    summary: dict[str, Any]
    events: ManifestFile
    assets: list[ManifestAsset] = Field(max_length=20000)
    downloads: list[ManifestDownload] = Field(default_factory=list, max_length=2)


class LibraryManifest(BaseModel):
    """What ``classroom library export`` writes as ``library.json`` and a server answers at
    ``/api/library/manifest``: published lessons, every file named by its SHA-256."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["takhti-library"]
    version: Literal[1]
    lessons: list[ManifestLesson] = Field(max_length=10000)


class LibraryManifestAnswer(Answer):
    manifest: LibraryManifest


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A query-string parameter."""

    name: str
    summary: str
    required: bool = False
    kind: Literal["string", "number"] = "string"
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP route. ``path`` is in aiohttp's form (``{fmt:svg|png}`` = one of the words)."""

    method: Literal["GET", "POST"]
    path: str
    handler: str
    summary: str
    auth: Auth
    # The JSON answer on success, or None for a file (``media`` names its content types).
    answer: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    # A raw request body (an upload) instead of JSON: its content types.
    upload: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    query: tuple[Query, ...] = ()
    errors: tuple[type[ClassroomError], ...] = ()
    # Takes an ``Idempotency-Key`` header; a retry with it is answered with this status.
    retry_status: int | None = None


_FILENAME = Query("filename", "The file's name; its extension picks the format.", required=True)
_TEACHER_CLASS = (Unauthorized, Forbidden, NotFound)
_REPORT_LANG = Query(
    "lang",
    "CSV only: the language of headings and the server's own words; default en.",
    enum=("en", "ur"),
)
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
_QUIZ_TYPES = (
    "text/csv",
    "application/json",
    "application/yaml",
    "text/plain",
    "application/zip",
    "multipart/form-data",
)
_QUIZ_FILENAME = Query(
    "filename",
    "The file's name; its extension picks the format (`.zip`: a zip of the quiz and its "
    "pictures). Not needed for a form, nor for a zip sent as `application/zip`.",
)
_QUIZ_ERRORS: tuple[type[ClassroomError], ...] = (
    InvalidPayload,
    PayloadTooLarge,
    PictureMissing,
    PictureUnreadable,
    PictureTooLarge,
    QuizBundleInvalid,
    Busy,
    RequestTimeout,
)
_AUDIO_TYPES = ("audio/webm", "audio/ogg")

HTTP_ROUTES: tuple[HttpRoute, ...] = (
    HttpRoute(
        "GET",
        "/healthz",
        "healthz",
        "Whether the server and its store answer (503 with HealthDown when the store does not).",
        "none",
        Health,
        errors=(StoreUnavailable,),
    ),
    HttpRoute(
        "GET", "/metrics", "metrics", "Prometheus metrics.", "none", None, media=("text/plain",)
    ),
    HttpRoute(
        "GET",
        "/api/setup",
        "setup_state",
        "Whether the server still needs its first teacher account.",
        "none",
        SetupState,
    ),
    HttpRoute(
        "POST",
        "/api/setup",
        "setup",
        "Create the first teacher (only from the server's own computer) and log them in.",
        "local",
        TeacherToken,
        201,
        body=SetupBody,
        errors=(Forbidden, InvalidPayload, Conflict, PayloadTooLarge),
    ),
    HttpRoute(
        "POST",
        "/api/login",
        "login",
        "A teacher logs in; repeated failures from one address lock it out for a while.",
        "none",
        TeacherToken,
        body=LoginBody,
        errors=(Unauthorized, InvalidPayload, RateLimited, PayloadTooLarge),
    ),
    HttpRoute(
        "POST",
        "/api/password",
        "change_password",
        "Change the signed-in teacher's password: every other token of theirs ends; answers "
        "a fresh token.",
        "teacher",
        TeacherToken,
        body=PasswordBody,
        errors=(Unauthorized, Forbidden, InvalidPayload, PayloadTooLarge),
    ),
    HttpRoute(
        "POST",
        "/api/sign-out-everywhere",
        "sign_out_everywhere",
        "End every token of the signed-in teacher (this one too); their sockets close.",
        "teacher",
        SignedOut,
        errors=(Unauthorized,),
    ),
    HttpRoute(
        "GET",
        "/api/classes",
        "list_classes",
        "The teacher's classes, newest first, a page at a time.",
        "teacher",
        ClassList,
        query=(
            Query("limit", "Classes per page, 1-200; default 50.", kind="number"),
            Query("before", "The `next` cursor of the previous page."),
        ),
        errors=(Unauthorized, Forbidden, InvalidPayload),
    ),
    HttpRoute(
        "POST",
        "/api/classes",
        "create_class",
        "Start a class with a fresh join code. "
        "With an `Idempotency-Key` header, a retry answers the first result (status 200).",
        "teacher",
        ClassInfo,
        201,
        body=ClassCreateBody,
        errors=(IdempotencyConflict, Unauthorized, Forbidden, InvalidPayload, PayloadTooLarge),
        retry_status=200,
    ),
    HttpRoute(
        "POST",
        "/api/practice",
        "create_practice",
        "Start a practice class: a class marked `practice` filled with simulated students "
        "(`classroom simulate` run by the server as a separate process, stopped when the class "
        "ends or the server stops).",
        "teacher",
        PracticeCreated,
        201,
        body=PracticeBody,
        errors=(Unauthorized, Forbidden, InvalidPayload, PayloadTooLarge),
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/practice",
        "get_practice",
        "A practice class's simulated students: running or not, how many, how they behave.",
        "teacher",
        PracticeAnswer,
        errors=(*_TEACHER_CLASS, Conflict),
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/practice",
        "change_practice",
        "Change how many simulated students a practice class has and how they behave, while "
        "it runs (they are started again if they had stopped). CONFLICT for a class that is "
        "not a practice class.",
        "teacher",
        PracticeAnswer,
        body=PracticeChangeBody,
        errors=(*_TEACHER_CLASS, ClassEnded, Conflict, InvalidPayload, PayloadTooLarge),
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/debrief",
        "debrief",
        "A short summary of the lesson from its log, in English and Urdu: how long each poll "
        "and question stayed open and how many had answered, results shown or not, hands and "
        "how long until lowered, pages used, what the students drew. Shown when a practice "
        "class ends; any class of the teacher's may ask.",
        "teacher",
        DebriefAnswer,
        errors=_TEACHER_CLASS,
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}",
        "get_class",
        "One class.",
        "teacher",
        ClassInfo,
        errors=_TEACHER_CLASS,
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/end",
        "end_class",
        "End the class (logs `class_ended`; later joins and writes get CLASS_ENDED). "
        "Ending an ended class answers the same.",
        "teacher",
        ClassEndedAnswer,
        errors=(*_TEACHER_CLASS, InvalidPayload),
        retry_status=200,
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/qr.{fmt:svg|png}",
        "qr_code",
        "The join QR code (it encodes `join_url`).",
        "teacher",
        None,
        media=("image/svg+xml", "image/png"),
        errors=_TEACHER_CLASS,
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/devices",
        "issue_device",
        "A token for a board device (the camera PC) in this class. "
        "With an `Idempotency-Key` header, a retry answers the first result (status 200).",
        "teacher",
        DeviceToken,
        201,
        body=DeviceBody,
        errors=(IdempotencyConflict, *_TEACHER_CLASS, InvalidPayload, ClassEnded),
        retry_status=200,
    ),
    HttpRoute(
        "POST",
        "/api/join",
        "join",
        "A student joins with the class code and a name (logs `student_joined`). A name another "
        "student of the class has gets a number (`Ali 2`, `علی ۲`). Wrong codes "
        "from one address lock it out for a while. With an `Idempotency-Key` header (made once "
        "per tablet), a retry joins as the same student (status 201 again), unless the teacher "
        "removed them (STUDENT_REMOVED).",
        "none",
        Joined,
        201,
        body=JoinBody,
        errors=(
            IdempotencyConflict,
            NotFound,
            ClassEnded,
            StudentRemoved,
            InvalidPayload,
            RateLimited,
            PayloadTooLarge,
        ),
        retry_status=201,
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/pages/{page_id}.{fmt:png|svg}",
        "page_render",
        "A board page with the ink the asker may see (for exports, thumbnails, printing).",
        "class",
        None,
        media=("image/png", "image/svg+xml"),
        query=(
            Query("scale", "PNG scale, 0.1-2; default 1.", kind="number"),
            Query("token", "The token, when no Authorization header can be sent."),
        ),
        errors=(*_TEACHER_CLASS, InvalidPayload),
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/quizzes",
        "import_quiz",
        "Import a quiz (docs/quiz-format.md) and create it in the class (logs `quiz_created`): "
        "a quiz file (CSV, JSON or YAML) as the raw body, a zip of the quiz file and its "
        "pictures, or a multipart form with a `quiz` file and `picture` files. Every picture a "
        "question names must be sent (PICTURE_MISSING names it); each is stored and the "
        "question points at it; if anything fails nothing is left. With an `Idempotency-Key` "
        "header, a retry answers the first import (status 200) instead of creating a second "
        "quiz.",
        "teacher",
        QuizImported,
        201,
        upload=_QUIZ_TYPES,
        query=(_QUIZ_FILENAME, Query("title", "The quiz's title when the file has none.")),
        errors=(
            IdempotencyConflict,
            *_TEACHER_CLASS,
            *_QUIZ_ERRORS,
            ClassEnded,
        ),
        retry_status=200,
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/quizzes/parse",
        "parse_quiz_file",
        "Check a quiz (file, zip or form, as for `import_quiz`, pictures included) and answer "
        "it in the protocol's form (for `quiz_create`); errors name the row and column of the "
        "first problem, or the picture. Changes nothing.",
        "teacher",
        QuizParsed,
        upload=_QUIZ_TYPES,
        query=(_QUIZ_FILENAME,),
        errors=(*_TEACHER_CLASS, *_QUIZ_ERRORS),
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/assets/{asset_id}",
        "asset",
        "A stored image (page background, camera view, keyframe) or audio segment of the class "
        "(not for a student the teacher removed).",
        "class",
        None,
        media=(*_IMAGE_TYPES, *_AUDIO_TYPES),
        query=(Query("token", "The token, when no Authorization header can be sent."),),
        errors=(*_TEACHER_CLASS, StudentRemoved),
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/images",
        "upload_image",
        "Upload a page background picture as the raw body; it is scaled to fit the "
        "1920 x 1080 page and stored without its metadata. A JPEG may have up to 40 "
        "megapixels, a PNG or WebP up to 12 (`PICTURE_TOO_LARGE` beyond).",
        "teacher",
        ImageUploaded,
        201,
        upload=_IMAGE_TYPES,
        errors=(*_TEACHER_CLASS, InvalidPayload, PayloadTooLarge, PictureTooLarge),
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/audio",
        "upload_audio",
        "Add a segment of the lesson's audio (the console's microphone): a whole Opus file "
        "(WebM or Ogg, at most 10 s and 256 KB) as the raw body, its fields as the query. "
        "The same checks as the board device's `audio_segment` event; logs `audio_added`. "
        "A retry with the same segment_id answers the first upload (status 200). Also taken "
        "after the class ended, for times within the lesson.",
        "teacher",
        AudioUploaded,
        201,
        upload=_AUDIO_TYPES,
        query=(
            Query("segment_id", "The client's id of the segment.", required=True),
            Query(
                "captured_at_ms",
                "Server-clock time of its first sample (ms since the epoch).",
                required=True,
                kind="number",
            ),
            Query("duration_ms", "Its duration.", required=True, kind="number"),
            Query("codec", "The codec.", enum=("opus",)),
            Query("container", "The file format.", required=True, enum=("webm", "ogg")),
        ),
        errors=(
            IdempotencyConflict,
            Conflict,
            *_TEACHER_CLASS,
            InvalidPayload,
            PayloadTooLarge,
            RateLimited,
        ),
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/reports/quizzes/{quiz_id}.{fmt:json|csv}",
        "quiz_report",
        "A quiz's results: JSON (QuizReport), or CSV per student (`?kind=results`) or per "
        "question (`?kind=items`).",
        "teacher",
        QuizReport,
        media=("text/csv",),
        query=(
            Query("kind", "CSV only; default results.", enum=("results", "items")),
            _REPORT_LANG,
        ),
        errors=(*_TEACHER_CLASS, InvalidPayload),
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/reports/quizzes/{quiz_id}/{kind:results|items}.{fmt:csv}",
        "quiz_report",
        "A quiz's results as CSV, per student (`results`) or per question (`items`).",
        "teacher",
        None,
        media=("text/csv",),
        query=(_REPORT_LANG,),
        errors=(*_TEACHER_CLASS, InvalidPayload),
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/reports/polls.{fmt:json|csv}",
        "polls_report",
        "Every poll of the class: JSON (PollsReport), or CSV of answers per student "
        "(`?kind=students`, named polls) or of totals (`?kind=totals`).",
        "teacher",
        PollsReport,
        media=("text/csv",),
        query=(
            Query("kind", "CSV only; default students.", enum=("students", "totals")),
            _REPORT_LANG,
        ),
        errors=(*_TEACHER_CLASS, InvalidPayload),
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/lesson",
        "get_lesson",
        "The class as a recorded lesson: its details, trim points, length and chapters.",
        "teacher",
        LessonAnswer,
        errors=_TEACHER_CLASS,
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/lesson",
        "set_lesson",
        "Set the lesson's details and trim points, also after the class ended (logs "
        "`lesson_details_updated`, like the socket event). Every field at once: one left out is "
        "emptied. With an `Idempotency-Key` header, a retry answers the first result.",
        "teacher",
        LessonSaved,
        body=LessonDetails,
        errors=(IdempotencyConflict, *_TEACHER_CLASS, InvalidPayload, OutOfRange, PayloadTooLarge),
    ),
    HttpRoute(
        "GET",
        "/api/lessons",
        "list_lessons",
        "The teacher's recorded lessons, newest first, a page at a time (like /api/classes).",
        "teacher",
        LessonList,
        query=(
            Query("limit", f"Lessons per page, 1-{LESSON_PAGE_MAX}; default 20.", kind="number"),
            Query("before", "The `next` cursor of the previous page."),
            Query(
                "practice",
                "`include` lists practice classes too (left out by default).",
                enum=("include",),
            ),
        ),
        errors=(Unauthorized, Forbidden, InvalidPayload),
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/replay/info",
        "replay_info",
        "What a replay needs first: the lesson's details, span, chapters (with `t_ms`), audio "
        "segments and whether it is shared. The class's teacher, or its students while shared "
        "(also after the class ended), not a student the teacher removed. Gzip when asked; an "
        "ended lesson has an ETag.",
        "class",
        ReplayInfo,
        errors=(Unauthorized, Forbidden, NotFound, StudentRemoved),
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/replay/events",
        "replay_events",
        "The lesson's events as the viewer may see them, a page at a time (the teacher: all; "
        "a student of a shared lesson: the class's view). Gzip when asked; an ended lesson's "
        "pages have an ETag and may be cached. Not for a student the teacher removed.",
        "class",
        ReplayEvents,
        query=(
            Query("after_seq", "Events after this seq; default 0.", kind="number"),
            Query(
                "limit",
                f"Events read, 1-{REPLAY_PAGE_MAX}; default {REPLAY_PAGE_DEFAULT}.",
                kind="number",
            ),
        ),
        errors=(Unauthorized, Forbidden, NotFound, InvalidPayload, StudentRemoved),
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/export",
        "get_export",
        "The lesson's latest export job and its files (the console polls this every "
        "`poll_ms` while the job is queued or running). A job a restart interrupted reads as "
        "failed, INTERRUPTED.",
        "teacher",
        ExportAnswer,
        errors=_TEACHER_CLASS,
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/export",
        "start_export",
        "Queue an export of the lesson (`classroom export` in a worker process at lower "
        "priority, one at a time per server; files under DATA_DIR/exports/{class_id}/, "
        "replaced only when every format asked for was written).",
        "teacher",
        ExportAnswer,
        202,
        body=ExportBody,
        errors=(*_TEACHER_CLASS, InvalidPayload, Conflict, PayloadTooLarge),
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/export/cancel",
        "cancel_export",
        "Cancel the lesson's queued or running export (it ends as `cancelled`, its files "
        "unchanged); a finished job is answered as it is.",
        "teacher",
        ExportAnswer,
        errors=(*_TEACHER_CLASS, Conflict),
    ),
    HttpRoute(
        "GET",
        "/api/classes/{class_id}/export/files/{name:.+}",
        "export_file",
        "A file of the lesson's finished export, to the class's teacher only, with its media "
        "type, an ETag and byte ranges (a video can seek).",
        "class",
        None,
        media=(
            "video/quicktime",
            "application/mxf",
            "video/mp4",
            "application/vnd.apple.mpegurl",
            "application/pdf",
            "text/vtt",
            "application/json",
        ),
        query=(Query("token", "The teacher's token, when no Authorization header can be sent."),),
        errors=_TEACHER_CLASS,
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/share",
        "share_lesson",
        "Share the recorded lesson with the class's students, or stop (logs `lesson_shared`, "
        "like the socket event `lesson_share`). With an `Idempotency-Key` header, a retry "
        "answers the first result. A practice class is never shared (CONFLICT).",
        "teacher",
        ShareAnswer,
        body=ShareBody,
        errors=(IdempotencyConflict, *_TEACHER_CLASS, Conflict, InvalidPayload, PayloadTooLarge),
    ),
    HttpRoute(
        "POST",
        "/api/classes/{class_id}/publish",
        "publish_lesson",
        "Put the recorded lesson in the school's library (`/library`), or take it out (logs "
        "`lesson_published`, like the socket event `lesson_publish`). Only an ended lesson may "
        "be published (CONFLICT). With an `Idempotency-Key` header, a retry answers the first "
        "result.",
        "teacher",
        PublishAnswer,
        body=PublishBody,
        errors=(IdempotencyConflict, *_TEACHER_CLASS, Conflict, InvalidPayload, PayloadTooLarge),
    ),
    HttpRoute(
        "GET",
        "/api/library",
        "library_list",
        "The school's library: published lessons, newest published first, anyone may ask "
        "(no account). Search words match titles, descriptions and the text typed on the "
        "board, Urdu letter variants and diacritics folded. Rate-limited per address.",
        "none",
        LibraryList,
        query=(
            Query("q", f"Search words (at most {200} characters)."),
            Query("subject", "Only this subject."),
            Query("grade", "Only this grade."),
            Query("lang", "Only lessons in this language.", enum=("ur", "en", "other")),
            Query("limit", "At most this many, 1-200; default 50.", kind="number"),
        ),
        errors=(InvalidPayload, RateLimited, Busy),
    ),
    HttpRoute(
        "GET",
        "/api/library/{class_id}/replay/info",
        "library_replay_info",
        "A published lesson's replay info, as anyone may see it (like /replay/info for a "
        "student of the class, with no names). NOT_FOUND for an unpublished lesson.",
        "none",
        LibraryReplayInfo,
        errors=(NotFound, RateLimited, Busy),
    ),
    HttpRoute(
        "GET",
        "/api/library/{class_id}/replay/events",
        "library_replay_events",
        "A published lesson's events in its library view (no names, no answers, no private "
        "ink), a page at a time. Gzip; ETag and 304.",
        "none",
        ReplayEvents,
        query=(
            Query("after_seq", "Events after this seq; default 0.", kind="number"),
            Query("limit", f"Events read, 1-{REPLAY_PAGE_MAX}.", kind="number"),
        ),
        errors=(NotFound, InvalidPayload, RateLimited, Busy),
    ),
    HttpRoute(
        "GET",
        "/api/library/{class_id}/assets/{asset_id}",
        "library_asset",
        "An audio segment, camera keyframe or background picture of a published lesson's "
        "replay (only those). ETag, 304 and byte ranges (206).",
        "none",
        None,
        media=("audio/ogg", "audio/webm", "image/png", "image/jpeg"),
        errors=(NotFound, RateLimited, Busy),
    ),
    HttpRoute(
        "GET",
        "/api/library/{class_id}/downloads/lesson.{fmt:html|mp4}",
        "library_download",
        "A published lesson's exported offline package or small MP4, where it was exported. "
        "ETag, 304 and byte ranges (206).",
        "none",
        None,
        media=("text/html", "video/mp4"),
        errors=(NotFound, RateLimited, Busy),
    ),
    HttpRoute(
        "GET",
        "/api/library/manifest",
        "library_manifest",
        "The library as another Takhti server pulls it (`classroom library pull`): the "
        "published lessons with every file named by its SHA-256.",
        "none",
        LibraryManifestAnswer,
        errors=(RateLimited, Busy),
    ),
    HttpRoute(
        "GET",
        "/api/library/files/{sha256}",
        "library_file",
        "A file of the library manifest by its SHA-256. ETag and byte ranges (206), so an "
        "interrupted pull resumes.",
        "none",
        None,
        media=("application/octet-stream",),
        errors=(NotFound, RateLimited, Busy),
    ),
)
