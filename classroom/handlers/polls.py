"""Handlers of the poll events."""

from __future__ import annotations

from typing import Any

from classroom import polls, roster
from classroom.classes import new_id
from classroom.handlers.base import Call, Handler
from classroom.protocol import polls as p


def _state(call: Call) -> polls.PollsState:
    roster.check_open(call.runtime.state.roster)
    state: polls.PollsState = call.runtime.state.part("polls")
    return state


async def on_poll_create(call: Call, payload: p.PollCreate) -> dict[str, Any]:
    poll_id = new_id("p")
    proposed = polls.propose_create(_state(call), call.actor, payload, poll_id=poll_id)
    ack = await call.append_ack(proposed)
    return {**ack, "poll_id": poll_id}


async def on_poll_open(call: Call, payload: p.PollRef) -> dict[str, Any]:
    return await call.append_ack(polls.propose_open(_state(call), call.actor, payload))


async def on_poll_close(call: Call, payload: p.PollRef) -> dict[str, Any]:
    return await call.append_ack(polls.propose_close(_state(call), call.actor, payload))


async def on_poll_show_results(call: Call, payload: p.PollShowResults) -> dict[str, Any]:
    return await call.append_ack(polls.propose_show_results(_state(call), call.actor, payload))


async def on_poll_hide_results(call: Call, payload: p.PollRef) -> dict[str, Any]:
    return await call.append_ack(polls.propose_hide_results(_state(call), call.actor, payload))


async def on_poll_vote(call: Call, payload: p.PollVote) -> dict[str, Any]:
    proposed = polls.propose_vote(_state(call), call.actor, payload)
    # The vote id is the store's idempotency key too: a retry racing its original is stored once.
    return await call.append_ack(proposed, f"vote:{payload.poll_id}:{payload.vote_id}")


HANDLERS: dict[str, Handler] = {
    "poll_create": on_poll_create,
    "poll_open": on_poll_open,
    "poll_close": on_poll_close,
    "poll_show_results": on_poll_show_results,
    "poll_hide_results": on_poll_hide_results,
    "poll_vote": on_poll_vote,
}
