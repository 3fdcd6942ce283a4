"""Handlers of the poll events.

Every handler returns once this process's live state includes what it appended, so the
caller's next request sees it (read-your-writes, also across processes sharing Redis). A vote
is acknowledged only if the log counts it: a close logged between the check and the vote wins.
"""

from __future__ import annotations

from typing import Any, cast

from classroom import polls
from classroom.classes import new_id
from classroom.errors import Conflict
from classroom.handlers.base import AckFields, Call, Handler
from classroom.log import Event
from classroom.protocol import polls as p


def _state(call: Call) -> polls.PollsState:
    state: polls.PollsState = call.open_part("polls")
    return state


async def on_poll_create(call: Call, payload: p.PollCreate) -> dict[str, Any]:
    poll_id = new_id("p")
    proposed = polls.propose_create(_state(call), call.actor, payload, poll_id=poll_id)
    return await call.append_ack(proposed)


def _created_fields(call: Call, event: Event | None) -> dict[str, Any]:
    return {} if event is None else {"poll_id": event.data["poll_id"]}


async def on_poll_open(call: Call, payload: p.PollRef) -> dict[str, Any]:
    return await call.append_ack(polls.propose_open(_state(call), call.actor, payload))


async def on_poll_close(call: Call, payload: p.PollRef) -> dict[str, Any]:
    return await call.append_ack(polls.propose_close(_state(call), call.actor, payload))


async def on_poll_show_results(call: Call, payload: p.PollShowResults) -> dict[str, Any]:
    proposed = polls.propose_show_results(_state(call), call.actor, payload)
    return await call.append_ack(proposed)


async def on_poll_hide_results(call: Call, payload: p.PollRef) -> dict[str, Any]:
    return await call.append_ack(polls.propose_hide_results(_state(call), call.actor, payload))


async def on_poll_vote(call: Call, payload: p.PollVote) -> dict[str, Any]:
    """Record a vote; an ok ack means the log counts it (as for quiz answers).

    The check in ``propose_vote`` reads this process's state, which may not yet include a
    ``poll_closed`` already logged (by this process or another one). Such a vote reaches the log
    after the close and ``apply`` ignores it, so it is refused here rather than acknowledged.
    """
    proposed = polls.propose_vote(_state(call), call.actor, payload)
    return await call.append_ack(proposed)


def _vote_fields(call: Call, event: Event | None) -> dict[str, Any]:
    """Refuse a vote (and each retry of it) that the log does not count."""
    payload = cast(p.PollVote, call.payload)
    state: polls.PollsState = call.runtime.state.part("polls")
    poll = state.polls.get(payload.poll_id)
    if poll is None or payload.vote_id not in poll.seen_vote_ids.get(call.actor.id, ()):
        raise Conflict("this poll closed before the vote arrived", field="poll_id")
    return {}


HANDLERS: dict[str, Handler] = {
    "poll_create": on_poll_create,
    "poll_open": on_poll_open,
    "poll_close": on_poll_close,
    "poll_show_results": on_poll_show_results,
    "poll_hide_results": on_poll_hide_results,
    "poll_vote": on_poll_vote,
}

ACK_FIELDS: dict[str, AckFields] = {
    "poll_create": _created_fields,
    "poll_vote": _vote_fields,
}
