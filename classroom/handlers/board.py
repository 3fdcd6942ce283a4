"""Handlers of the whiteboard events: validate against the board, append, let the feed fan out."""

from __future__ import annotations

from typing import Any

from classroom import board
from classroom.errors import NotFound
from classroom.handlers.base import Call, Handler
from classroom.protocol import board as p
from classroom.protocol.common import Payload


async def on_board_event(call: Call, payload: Payload) -> dict[str, Any]:
    board_state = call.open_part("board")
    if isinstance(payload, p.PageAdd | p.PageSetBackground) and payload.background.image:
        # A background picture must have been uploaded to this class first.
        found = await call.services.store.get_asset(call.session.class_id, payload.background.image)
        if found is None:
            raise NotFound("no such uploaded picture in this class", field="background.image")
    proposed = board.propose(board_state, call.actor, payload)
    key = None
    if (
        isinstance(payload, p.StrokeExtend)
        and proposed
        and proposed[0].data["offset"] != payload.offset
    ):
        # The batch overlapped points already stored and was trimmed: it is keyed by the offset
        # of its first new point, so a resend that merged unacknowledged batches adds the rest.
        key = f"stroke:{payload.stroke_id}@{proposed[0].data['offset']}"
    return await call.append_ack(proposed, key)


HANDLERS: dict[str, Handler] = {spec.name: on_board_event for spec in p.EVENTS}
