"""Handlers of the core events: resume, snapshot, clock, roster, hands, ending a class."""

from __future__ import annotations

import time
from typing import Any

from classroom import roster
from classroom.handlers.base import Call, Handler
from classroom.protocol import PROTOCOL_VERSION
from classroom.protocol import core as p


async def on_log_resume(call: Call, payload: p.LogResume) -> dict[str, Any]:
    events = await call.runtime.events_after(payload.after_seq, payload.limit)
    viewer = call.actor
    visible = [event.to_wire_for(viewer) for event in events if event.visible_to(viewer)]
    read = events[-1].seq if events else 0
    # The store may hold events this process has not applied yet; a client's after_seq is no
    # evidence of the head (one from beyond it must learn where the class really is).
    head = max(call.runtime.seq, read)
    last = read or payload.after_seq
    return {"events": visible, "head_seq": head, "next_after_seq": last, "more": last < head}


async def on_class_snapshot(call: Call, payload: p.ClassSnapshot) -> dict[str, Any]:
    seq, state = call.runtime.snapshot(call.actor)
    return {
        "seq": seq,
        "state": state,
        "you": call.actor.to_wire(),
        "class_id": call.session.class_id,
        "protocol_version": PROTOCOL_VERSION,
        "server_time_ms": time.time_ns() // 1_000_000,
    }


async def on_clock_sync(call: Call, payload: p.ClockSync) -> dict[str, Any]:
    return {"client_time_ms": payload.client_time_ms, "server_time_ms": time.time_ns() // 1_000_000}


async def on_roster_get(call: Call, payload: p.RosterGet) -> dict[str, Any]:
    return {"students": roster.roster(call.runtime.state.roster)}


async def on_hand_raise(call: Call, payload: p.HandRaise) -> dict[str, Any]:
    proposed = roster.propose_hand_raise(call.runtime.state.roster, call.actor, payload.raised)
    return await call.append_ack(proposed)


async def on_hand_lower(call: Call, payload: p.HandLower) -> dict[str, Any]:
    proposed = roster.propose_hand_lower(call.runtime.state.roster, payload.student_id)
    return await call.append_ack(proposed)


async def on_class_end(call: Call, payload: p.ClassEnd) -> dict[str, Any]:
    proposed = roster.propose_end(call.runtime.state.roster)
    ack = await call.append_ack(proposed)
    await call.services.store.mark_class_ended(call.session.class_id, time.time_ns() // 1_000_000)
    return ack


HANDLERS: dict[str, Handler] = {
    "log_resume": on_log_resume,
    "class_snapshot": on_class_snapshot,
    "clock_sync": on_clock_sync,
    "roster_get": on_roster_get,
    "hand_raise": on_hand_raise,
    "hand_lower": on_hand_lower,
    "class_end": on_class_end,
}
