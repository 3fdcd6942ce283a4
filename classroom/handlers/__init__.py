"""Socket event handlers, one module per feature, gathered into one table."""

from __future__ import annotations

from typing import Any

from classroom.errors import StudentRemoved
from classroom.handlers import audio, board, camera, core, lessons, polls, quizzes
from classroom.handlers.base import AckFields, Call, Handler, Session, no_fields, payload_digest
from classroom.hub import ClassRuntime
from classroom.log import Actor
from classroom.protocol import EVENTS
from classroom.protocol.common import Payload
from classroom.services import Services

HANDLERS: dict[str, Handler] = {
    **core.HANDLERS,
    **board.HANDLERS,
    **polls.HANDLERS,
    **quizzes.HANDLERS,
    **camera.HANDLERS,
    **lessons.HANDLERS,
    **audio.HANDLERS,
}

# Extra ack fields per write, made from its stored first event (see ``Call.stored_ack``).
ACK_FIELDS: dict[str, AckFields] = {
    **polls.ACK_FIELDS,
    **quizzes.ACK_FIELDS,
    **camera.ACK_FIELDS,
    **audio.ACK_FIELDS,
}


def named(actor: Actor, runtime: ClassRuntime) -> Actor:
    """A student as the roster names them now (distinct from the others', renamed since)."""
    name = runtime.state.roster.names.get(actor.id) if actor.role == "student" else None
    return actor if not name or name == actor.name else Actor(actor.role, actor.id, name)


async def run(services: Services, session: Session, name: str, payload: Payload) -> dict[str, Any]:
    """Run one validated event for ``session``: the one path of every write, socket or HTTP.

    A write runs under its idempotency key: a retry of a request already applied is answered
    with its stored result before anything is proposed. A socket's writes run one at a time in
    arrival order, so a client may send the next one before the previous one's ack.
    """
    spec = EVENTS[name]
    runtime = await services.hub.get(session.class_id)
    # A rename reaches the student's open sessions here: their next events carry the new name.
    session.actor = named(session.actor, runtime)
    if session.actor.role == "student" and session.actor.id in runtime.state.roster.removed:
        # Removed while this connection was still being closed.
        raise StudentRemoved("the teacher removed you from this class")
    if not spec.writes:
        return await HANDLERS[name](Call(services, session, runtime, payload), payload)
    call = Call(
        services,
        session,
        runtime,
        payload,
        key=spec.idempotency_key(payload),
        payload_hash=payload_digest(payload) if spec.same_payload else None,
        fields=ACK_FIELDS.get(name, no_fields),
    )
    async with session.writes:
        stored = None if call.key is None else runtime.find_applied(call.actor, call.key)
        if stored is not None:
            return call.stored_ack(stored)
        return await HANDLERS[name](call, payload)


__all__ = [
    "ACK_FIELDS",
    "HANDLERS",
    "Call",
    "Handler",
    "Session",
    "named",
    "payload_digest",
    "run",
]
