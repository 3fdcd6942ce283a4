"""Handlers of the quiz events. The server clock decides every deadline.

Every handler returns once this process's live state includes what it appended, so the
teacher's next step (``quiz_next`` right after ``quiz_start``) sees the previous one, also when
the class spans several processes sharing Redis.
"""

from __future__ import annotations

import time
from typing import Any, cast

from classroom import quizzes
from classroom.classes import new_id
from classroom.errors import PictureMissing
from classroom.handlers.base import AckFields, Call, Handler
from classroom.log import Event
from classroom.protocol import quizzes as p


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _state(call: Call) -> quizzes.QuizzesState:
    state: quizzes.QuizzesState = call.open_part("quizzes")
    return state


async def on_quiz_create(call: Call, payload: p.QuizCreate) -> dict[str, Any]:
    # A question's picture is one this class has stored (the import stores them first): a
    # name never uploaded would show students a broken picture.
    for image in sorted({q.image for q in payload.quiz.questions if q.image is not None}):
        if not await call.services.store.has_asset(call.session.class_id, image):
            raise PictureMissing(f"no picture {image!r} was uploaded to this class", field=image)
    quiz_id = new_id("q")
    proposed = quizzes.propose_create(_state(call), call.actor, payload, quiz_id=quiz_id)
    return await call.append_ack(proposed)


def _created_fields(call: Call, event: Event | None) -> dict[str, Any]:
    if event is None:
        return {}
    return {"quiz_id": event.data["quiz_id"], "questions": len(event.data["quiz"]["questions"])}


async def on_quiz_rename(call: Call, payload: p.QuizRename) -> dict[str, Any]:
    return await call.append_ack(quizzes.propose_rename(_state(call), call.actor, payload))


async def on_quiz_start(call: Call, payload: p.QuizStart) -> dict[str, Any]:
    proposed = quizzes.propose_start(_state(call), call.actor, payload, now_ms=now_ms())
    return await call.append_ack(proposed)


async def on_quiz_next(call: Call, payload: p.QuizRef) -> dict[str, Any]:
    proposed = quizzes.propose_next(_state(call), call.actor, payload, now_ms=now_ms())
    return await call.append_ack(proposed)


async def on_quiz_skip(call: Call, payload: p.QuizRef) -> dict[str, Any]:
    proposed = quizzes.propose_skip(_state(call), call.actor, payload, now_ms=now_ms())
    return await call.append_ack(proposed)


async def on_quiz_end(call: Call, payload: p.QuizRef) -> dict[str, Any]:
    proposed = quizzes.propose_end(_state(call), call.actor, payload, now_ms=now_ms())
    return await call.append_ack(proposed)


async def on_quiz_answer(call: Call, payload: p.QuizAnswer) -> dict[str, Any]:
    """Accept an answer only if the log counts it.

    The check against the deadline before appending uses the server clock; the log's own
    timestamp is what counts, so an answer that crossed the deadline while being stored is
    refused (``TOO_LATE``) even though it reached the log: an ok ack means the answer counts.
    """
    proposed = quizzes.propose_answer(_state(call), call.actor, payload, now_ms=now_ms())
    return await call.append_ack(proposed)


def _answer_fields(call: Call, event: Event | None) -> dict[str, Any]:
    """Refuse an answer (and each retry of it) that the log does not count."""
    payload = cast(p.QuizAnswer, call.payload)
    state: quizzes.QuizzesState = call.runtime.state.part("quizzes")
    quiz = state.quizzes.get(payload.quiz_id)
    run = None if quiz is None else quiz.runs.get(payload.question)
    counted = None if run is None else run.answers.get(call.actor.id)
    if counted is None:
        raise quizzes.TooLate("time was up when the answer arrived", field="question")
    if counted.answer_id != payload.answer_id:
        raise quizzes.AlreadyAnswered("you already answered this question", field="question")
    return {"time_ms": counted.time_ms}


HANDLERS: dict[str, Handler] = {
    "quiz_create": on_quiz_create,
    "quiz_rename": on_quiz_rename,
    "quiz_start": on_quiz_start,
    "quiz_next": on_quiz_next,
    "quiz_skip": on_quiz_skip,
    "quiz_end": on_quiz_end,
    "quiz_answer": on_quiz_answer,
}

ACK_FIELDS: dict[str, AckFields] = {
    "quiz_create": _created_fields,
    "quiz_answer": _answer_fields,
}
