"""Handler of the lesson audio event: check the segment, store its bytes, log a reference."""

from __future__ import annotations

import time
from typing import Any, cast

from classroom import audio
from classroom.errors import NotFound
from classroom.handlers.base import AckFields, Call, Handler
from classroom.log import Event
from classroom.protocol import audio as p


async def on_audio_segment(call: Call, payload: p.AudioSegment) -> dict[str, Any]:
    # Audio is the lesson's recording: it is taken after the class ended too (a board device
    # uploading what it kept through an outage, a phone recording attached afterwards), as
    # long as it falls within the lesson.
    state: audio.AudioState = call.runtime.state.part("audio")
    if audio.check_not_taken(state, call.actor, payload.segment_id):
        return await call.append_ack([])  # answered with the stored first upload
    record = await call.services.store.get_class(call.session.class_id)
    if record is None:
        raise NotFound("no such class")
    now_ms = time.time_ns() // 1_000_000

    def check_times(duration_ms: int) -> None:
        audio.check_times(
            payload,
            duration_ms,
            class_created_ms=record.created_at,
            class_ended_ms=record.ended_at,
            now_ms=now_ms,
        )

    check_times(payload.duration_ms)
    # Decoded on the picture worker, never on the event loop; the asset is durable before
    # the log refers to it.
    worker = call.services.pictures
    async with worker.slot():
        decoded = await worker.run(
            audio.check_segment, payload.audio, payload.container, payload.duration_ms
        )
    check_times(decoded.duration_ms)
    proposed = audio.propose_segment(state, call.actor, payload, decoded)
    if proposed:
        await call.services.store.put_asset(
            call.session.class_id,
            audio.asset_id(payload.segment_id),
            p.ASSET_CONTENT_TYPES[payload.container],
            payload.audio,
        )
    return await call.append_ack(proposed)


def _segment_fields(call: Call, event: Event | None) -> dict[str, Any]:
    payload = cast(p.AudioSegment, call.payload)
    duration = payload.duration_ms if event is None else int(event.data["duration_ms"])
    return {"asset_id": audio.asset_id(payload.segment_id), "duration_ms": duration}


HANDLERS: dict[str, Handler] = {"audio_segment": on_audio_segment}

ACK_FIELDS: dict[str, AckFields] = {"audio_segment": _segment_fields}
