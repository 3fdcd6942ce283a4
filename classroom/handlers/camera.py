"""Handlers of the camera board events: store the image, then log a small reference to it."""

from __future__ import annotations

import time
from typing import Any, cast

from classroom import camera
from classroom.handlers.base import AckFields, Call, Handler
from classroom.log import Event
from classroom.protocol import camera as p


def _state(call: Call) -> camera.CameraState:
    state: camera.CameraState = call.open_part("camera")
    return state


async def _store_image(
    call: Call,
    asset_id: str,
    payload: p.CameraSnapshot | p.CameraKeyframe,
) -> None:
    # Decoded on the picture worker, never on the event loop; the asset is durable before
    # the log refers to it.
    decoder = call.services.pictures
    async with decoder.slot():
        await decoder.run(
            camera.check_image, payload.image, payload.format, payload.width, payload.height
        )
    await call.services.store.put_asset(
        call.session.class_id, asset_id, p.ASSET_CONTENT_TYPES[payload.format], payload.image
    )


async def on_camera_snapshot(call: Call, payload: p.CameraSnapshot) -> dict[str, Any]:
    now_ms = time.time_ns() // 1_000_000
    proposed = camera.propose_snapshot(_state(call), call.actor, payload, now_ms=now_ms)
    if proposed:
        await _store_image(call, str(proposed[0].data["asset_id"]), payload)
    return await call.append_ack(proposed)


async def on_camera_keyframe(call: Call, payload: p.CameraKeyframe) -> dict[str, Any]:
    proposed = camera.propose_keyframe(_state(call), call.actor, payload)
    asset_id = camera.keyframe_asset_id(payload.keyframe_id)
    if proposed:
        await _store_image(call, asset_id, payload)
    return await call.append_ack(proposed)


def _snapshot_fields(call: Call, event: Event | None) -> dict[str, Any]:
    if event is not None:
        return {"asset_id": str(event.data["asset_id"])}
    latest = call.runtime.state.part("camera").latest
    return {"asset_id": str(latest["asset_id"]) if latest else camera.LATEST_ASSET}


def _keyframe_fields(call: Call, event: Event | None) -> dict[str, Any]:
    return {"asset_id": camera.keyframe_asset_id(cast(p.CameraKeyframe, call.payload).keyframe_id)}


HANDLERS: dict[str, Handler] = {
    "camera_snapshot": on_camera_snapshot,
    "camera_keyframe": on_camera_keyframe,
}

ACK_FIELDS: dict[str, AckFields] = {
    "camera_snapshot": _snapshot_fields,
    "camera_keyframe": _keyframe_fields,
}
