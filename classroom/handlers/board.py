"""Handlers of the whiteboard events: validate against the board, append, let the feed fan out."""

from __future__ import annotations

from typing import Any

from classroom import board
from classroom.errors import NotFound
from classroom.handlers.base import Call, Handler
from classroom.protocol import board as p
from classroom.protocol.common import Payload


def client_id_of(payload: Payload) -> str | None:
    """The idempotency key of a board write: a retried message maps to the same key."""
    match payload:
        case p.StrokeStart():
            return f"stroke:{payload.stroke_id}"
        case p.StrokeExtend():
            return f"stroke:{payload.stroke_id}@{payload.offset}"
        case p.StrokeEnd():
            return f"stroke:{payload.stroke_id}/end"
        case p.ShapeAdd():
            return f"item:{payload.shape_id}"
        case p.TextAdd():
            return f"item:{payload.text_id}"
        case p.PageAdd():
            return f"page:{payload.page_id}"
        case p.BoardErase() | p.PageClear():
            return f"op:{payload.op_id}"
        case p.BoardUndo() | p.BoardRedo():
            # Not op_id: one operation may be undone, redone and undone again.
            verb = "undo" if isinstance(payload, p.BoardUndo) else "redo"
            return None if payload.client_id is None else f"{verb}:{payload.client_id}"
    return None


async def on_board_event(call: Call, payload: Payload) -> dict[str, Any]:
    board_state = call.open_part("board")
    if isinstance(payload, p.PageAdd | p.PageSetBackground) and payload.background.image:
        # A background picture must have been uploaded to this class first.
        found = await call.services.store.get_asset(call.session.class_id, payload.background.image)
        if found is None:
            raise NotFound("no such uploaded picture in this class", field="background.image")
    proposed = board.propose(board_state, call.actor, payload)
    return await call.append_ack(proposed, client_id_of(payload))


HANDLERS: dict[str, Handler] = {spec.name: on_board_event for spec in p.EVENTS}
