"""Handlers of the lesson events: details and trim points, during or after the class."""

from __future__ import annotations

from typing import Any

from classroom import lessons
from classroom.errors import Conflict
from classroom.handlers.base import Call, Handler
from classroom.protocol import lessons as p


async def on_lesson_details_update(call: Call, payload: p.LessonDetailsSet) -> dict[str, Any]:
    # Not ``open_part``: the details are typed after class, once the class has ended.
    state: lessons.LessonState = call.runtime.state.part("lesson")
    ack = await call.append_ack(lessons.propose_details(state, payload))
    if state.published and _changed(ack):
        await call.services.library.touch(call.session.class_id)  # its title, its subject...
    return ack


def _changed(ack: dict[str, Any]) -> bool:
    return not ack.get("noop") and not ack.get("duplicate")


async def on_lesson_share(call: Call, payload: p.LessonShare) -> dict[str, Any]:
    state: lessons.LessonState = call.runtime.state.part("lesson")
    if payload.shared:
        await _refuse_practice(call, "shared", "shared")
    return await call.append_ack(lessons.propose_share(state, payload.shared))


async def _refuse_practice(call: Call, field: str, what: str) -> None:
    record = await call.services.store.get_class(call.session.class_id)
    if record is not None and record.practice:
        # Simulated students, not a lesson: never shared or published (issue 16).
        raise Conflict(f"a practice class cannot be {what}", field=field)


async def on_lesson_publish(call: Call, payload: p.LessonPublish) -> dict[str, Any]:
    state: lessons.LessonState = call.runtime.state.part("lesson")
    if payload.published:
        await _refuse_practice(call, "published", "published")
    ended = bool(call.runtime.state.roster.ended)
    proposed = lessons.propose_publish(state, payload.published, ended=ended)
    catalog = call.services.library
    class_id = call.session.class_id
    if payload.published:
        # Listed before it is published, here in the one write path of the socket event and
        # the HTTP route: a crash between the two appends leaves a lesson listed but not
        # published (the catalog asks its log, and it is not shown), never a published lesson
        # the library does not know of. Also when it is already published (a retry, or a
        # lesson published before this order): listing twice is a no-op.
        await catalog.list_lesson(class_id)
    ack = await call.append_ack(proposed)
    if _changed(ack):
        await catalog.touch(class_id)  # the other processes look at it again (and this one)
    else:
        catalog.changed(class_id)
    return ack


HANDLERS: dict[str, Handler] = {
    "lesson_details_update": on_lesson_details_update,
    "lesson_share": on_lesson_share,
    "lesson_publish": on_lesson_publish,
}
