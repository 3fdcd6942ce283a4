"""The shape of ``class_snapshot``'s answer and of a poll tally (docs and TypeScript types).

A snapshot is the live state of the class *as one viewer may see it*, at ``seq``: a client
applies every log event with a larger seq on top. The parts mirror the features; what a part
holds for a teacher, a student and a board device differs (see each model). A test checks real
snapshots against these models, so a new key cannot go undocumented.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Shape(BaseModel):
    """Base of the documented shapes: an undocumented key fails the shape test."""

    model_config = ConfigDict(extra="forbid")


class SnapshotActor(_Shape):
    role: Literal["teacher", "student", "board"]
    id: str
    name: str


class SnapshotSize(_Shape):
    width: int
    height: int


class SnapshotPage(_Shape):
    id: str
    background: dict[str, Any] = Field(description="`{kind, image}` as in `page_add`.")
    items: list[dict[str, Any]] = Field(
        description="In drawing order. Stroke `{id, type: 'stroke', tool, color, width, pts, "
        "done, by}` with `pts` flat `[x, y, pressure, t, x, y, ...]`; shape `{id, type: "
        "'shape', kind, pts: [x1, y1, x2, y2], color, width, by}`; text `{id, type: 'text', "
        "text, x, y, size, color, dir, by}`. An item hidden by an undoable erase carries "
        "`hidden_by` (op ids). In a paged snapshot (and its pieces) a stroke carries `q` "
        "instead of `pts`: see `class_snapshot_piece`."
    )


class SnapshotDrawing(_Shape):
    mode: Literal["none", "all", "chosen"] = Field(description="Who besides the teacher draws.")
    ink: Literal["class", "teacher"] = Field(
        description="Where students' ink goes: the whole class, or only teachers (and its author)."
    )
    allowed: list[str] | None = Field(None, description="Teachers only: chosen student ids.")
    denied: list[str] | None = Field(None, description="Teachers only: students revoked.")
    may_draw: bool = Field(description="Whether the viewer may draw now.")


class SnapshotHistory(_Shape):
    next: str | None = Field(description="The op id an undo (redo) would act on, if any.")
    depth: int


class SnapshotBoard(_Shape):
    seq: int = Field(
        description="The newest board event folded into this part (at most the snapshot's `seq`)."
    )
    size: SnapshotSize
    pages: list[SnapshotPage]
    order: list[str] = Field(description="Page ids in order.")
    current: str = Field(description="The page the class sees.")
    drawing: SnapshotDrawing
    undo: SnapshotHistory = Field(description="The viewer's own undo stack.")
    redo: SnapshotHistory


class SnapshotCore(_Shape):
    students: list[dict[str, Any]] | None = Field(
        None,
        description="Teachers only: `{student_id, name, online, hand_raised}` per student.",
    )
    hands: list[str] = Field(description="Student ids with a raised hand, first raised first.")
    ended: bool


class SnapshotPolls(_Shape):
    polls: list[dict[str, Any]] = Field(
        description="In creation order: the poll's definition (as `poll_opened`) and `status`, "
        "`results_shown`, `results` (the shown tally or null). Teachers also get `tally`, "
        "`votes` (named polls) and `answers` (open text) and see drafts; students get "
        "`my_vote` `{vote_id, answer}` or null."
    )


class SnapshotQuizzes(_Shape):
    quizzes: list[dict[str, Any]] = Field(
        description="`{quiz_id, title, status, mode, questions, current, leaderboard, final}`; "
        "`current` is the open or last question as `quiz_question_opened` shows it plus "
        "`status`, `opened_ms`, `deadline_ms`, `answered` (and `correct`, `distribution` once "
        "closed, or always for teachers). Teachers also get `definition` and `ranking`; "
        "students `me` (score, streak, rank) and `my_answers`. Students and boards do not "
        "see quizzes that have not started."
    )


class SnapshotCamera(_Shape):
    latest: dict[str, Any] | None = Field(description="The last `camera_updated` data, if any.")
    keyframes: list[dict[str, Any]] = Field(description="Every `camera_keyframe` data, by time.")


class SnapshotLesson(_Shape):
    details: dict[str, Any] | None = Field(
        description="The last `lesson_details_updated` data; null until the teacher set them."
    )
    started_at: int | None = Field(description="The server time of the lesson's first event.")
    duration_ms: int = Field(
        description="From the first event to `class_ended` (so far, while live): the range of"
        " the trim points."
    )


class SnapshotAudio(_Shape):
    segments: int = Field(description="How many `audio_added` segments the lesson has.")
    duration_ms: int = Field(description="Their total duration.")


class SnapshotState(_Shape):
    core: SnapshotCore
    board: SnapshotBoard
    polls: SnapshotPolls
    quizzes: SnapshotQuizzes
    camera: SnapshotCamera
    audio: SnapshotAudio
    lesson: SnapshotLesson


class ClassSnapshotAck(_Shape):
    seq: int = Field(description="The state includes every event up to and including this seq.")
    state: SnapshotState
    you: SnapshotActor = Field(description="Who the server says you are.")
    class_id: str
    protocol_version: int = Field(description="The server's PROTOCOL_VERSION.")
    server_time_ms: int
    cursor: str | None = Field(
        default=None, description="With `paged`: ask `class_snapshot_piece` with it (null: done)."
    )


class PollTally(_Shape):
    """A poll's counts: live (``poll_tally``, teachers) or final (``poll_results_shown``)."""

    poll_id: str
    kind: str
    status: Literal["draft", "open", "closed"]
    responses: int = Field(description="Students counted (a changed vote counts once).")
    options: list[str] | None = Field(
        None, description="Choice and yes/no: the labels, in option order."
    )
    counts: list[int] | None = Field(
        None,
        description="Choice and yes/no: votes per option; rating: votes per value 1..scale_max.",
    )
    mean: float | None = Field(None, description="Rating: the mean to 0.01, null without votes.")
    words: list[tuple[str, int]] | None = Field(
        None, description="Word cloud: `[word, count]`, most frequent first, at most 100."
    )
    answers: list[str] | None = Field(
        None, description="Open text, when shown: the answers the teacher picked, in order."
    )
