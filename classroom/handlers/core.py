"""Handlers of the core events: resume, snapshot, clock, roster, hands, ending a class."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from classroom import board, classes, lesson, roster
from classroom.errors import InvalidPayload, NotFound, PayloadTooLarge
from classroom.handlers.base import Call, Handler
from classroom.hub import ClassRuntime
from classroom.protocol import PROTOCOL_VERSION
from classroom.protocol import core as p


def _wire_bytes(value: Any) -> int:
    """About how many bytes of JSON ``value`` takes (a number in a list ~8: ink's ``1234.5,``)."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, dict):
        return sum(len(key) + 4 + _wire_bytes(item) for key, item in value.items())
    if isinstance(value, list):
        if value and not isinstance(value[0], (dict, list, str)):
            return 8 * len(value) + 2
        return sum(_wire_bytes(item) + 1 for item in value) + 2
    return 8


@contextlib.asynccontextmanager
async def _taking_turns(runtime: ClassRuntime) -> AsyncIterator[None]:
    """Build a big answer in turn with the class's other big reads, then let the loop run once
    before the next one starts (sixty snapshot requests in one read of a socket otherwise run
    back to back, and the ink waits for all of them: ~100 ms measured)."""
    async with runtime.read_turn:
        yield
        await asyncio.sleep(0)


async def on_log_resume(call: Call, payload: p.LogResume) -> dict[str, Any]:
    # Read in chunks and stop at about RESUME_PAGE_BYTES: each chunk's parsing is a short step
    # of the loop, and a page is at most ~1 MB of JSON to encode (~30 ms). Pages of 512 KB made
    # a 200,000-event resume 8.1-8.8 s instead of 6.8-7.0 s (bench/join.py --resume-only).
    runtime, viewer = call.runtime, call.actor
    visible: list[dict[str, Any]] = []
    size = 0
    last = payload.after_seq
    read = 0  # the seq of the last event read from the log (0: none)
    remaining = payload.limit
    while remaining > 0 and size < p.RESUME_PAGE_BYTES:
        chunk = min(remaining, p.RESUME_CHUNK)
        events = await runtime.events_after(last, chunk)
        async with _taking_turns(runtime):
            for event in events:
                if size >= p.RESUME_PAGE_BYTES:
                    break
                if event.visible_to(viewer):
                    wire = event.to_wire_for(viewer)
                    size += 60 + _wire_bytes(wire["data"])
                    visible.append(wire)
                last = read = event.seq
                remaining -= 1
        if len(events) < chunk:
            break
    # The store may hold events this process has not applied yet; a client's after_seq is no
    # evidence of the head (one from beyond it must learn where the class really is).
    head = max(runtime.seq, read)
    return {"events": visible, "head_seq": head, "next_after_seq": last, "more": last < head}


def _welcome(call: Call, seq: int, state: dict[str, object]) -> dict[str, Any]:
    return {
        "seq": seq,
        "state": state,
        "you": call.actor.to_wire(),
        "class_id": call.session.class_id,
        "protocol_version": PROTOCOL_VERSION,
        "server_time_ms": time.time_ns() // 1_000_000,
    }


async def on_class_snapshot(call: Call, payload: p.ClassSnapshot) -> dict[str, Any]:
    runtime = call.runtime
    if not payload.paged:
        if runtime.state.part("board").points > p.WHOLE_SNAPSHOT_POINTS:
            raise PayloadTooLarge("the board is too large for one message; ask with paged: true")
        async with _taking_turns(runtime):
            seq, whole = runtime.snapshot(call.actor)
            return _welcome(call, seq, whole)
    async with _taking_turns(runtime):
        return _first_piece(call)


def _first_piece(call: Call) -> dict[str, Any]:
    # The board's items are pinned (a list of references, cheap) and sent a piece at a time:
    # whole, a 10 MB board took ~0.5 s of loop time and overflowed every slow reader.
    runtime = call.runtime
    seq = runtime.seq
    state, board_pin = lesson.pinned_snapshot(runtime.state, call.actor)
    pages, index = board.pin_piece(board_pin, 0, p.SNAPSHOT_PIECE_BYTES)
    _fill(state["board"]["pages"], pages)
    cursor = None
    if index < len(board_pin.items):
        pinned = runtime.pins.start(call.session.sid, seq, board_pin, time.monotonic())
        cursor = pinned.cursor(index)
    else:
        runtime.pins.drop(call.session.sid)
    return {**_welcome(call, seq, state), "cursor": cursor}


def _fill(head_pages: list[dict[str, Any]], pages: list[dict[str, Any]]) -> None:
    by_id = {page["id"]: page["items"] for page in head_pages}
    for page in pages:
        by_id[page["id"]].extend(page["items"])


async def on_class_snapshot_piece(call: Call, payload: p.ClassSnapshotPiece) -> dict[str, Any]:
    async with _taking_turns(call.runtime):
        return _next_piece(call, payload)


def _next_piece(call: Call, payload: p.ClassSnapshotPiece) -> dict[str, Any]:
    token, _, start = payload.cursor.partition(".")
    owner = call.session.sid
    pinned = call.runtime.pins.get(owner, token, time.monotonic())
    if pinned is None:
        raise NotFound("this snapshot is no longer kept; ask class_snapshot again", field="cursor")
    index = int(start)
    if index >= len(pinned.board.items):
        raise InvalidPayload("the cursor is past the end of this snapshot", field="cursor")
    pages, index = board.pin_piece(pinned.board, index, p.SNAPSHOT_PIECE_BYTES)
    cursor = pinned.cursor(index)
    if cursor is None:
        call.runtime.pins.drop(owner)
    return {"seq": pinned.seq, "pages": pages, "cursor": cursor}


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


async def on_student_rename(call: Call, payload: p.StudentRename) -> dict[str, Any]:
    name = classes.clean_display_name(payload.name)
    proposed = roster.propose_rename(call.runtime.state.roster, payload.student_id, name)
    return await call.append_ack(proposed)


async def on_student_remove(call: Call, payload: p.StudentRemove) -> dict[str, Any]:
    proposed = roster.propose_remove(call.runtime.state.roster, payload.student_id)
    return await call.append_ack(proposed)


async def on_class_end(call: Call, payload: p.ClassEnd) -> dict[str, Any]:
    proposed = roster.propose_end(call.runtime.state.roster)
    ack = await call.append_ack(proposed)
    await call.services.store.mark_class_ended(call.session.class_id, time.time_ns() // 1_000_000)
    return ack


HANDLERS: dict[str, Handler] = {
    "log_resume": on_log_resume,
    "class_snapshot": on_class_snapshot,
    "class_snapshot_piece": on_class_snapshot_piece,
    "clock_sync": on_clock_sync,
    "roster_get": on_roster_get,
    "hand_raise": on_hand_raise,
    "hand_lower": on_hand_lower,
    "student_rename": on_student_rename,
    "student_remove": on_student_remove,
    "class_end": on_class_end,
}
