"""The camera board of a class: the latest live view and the keyframes kept for the lesson."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from classroom import pictures
from classroom.errors import InvalidPayload
from classroom.log import Actor, Event, Proposed
from classroom.protocol.camera import MAX_SIDE, CameraKeyframe, CameraSnapshot

MAX_KEYFRAMES = 2000
_PIL_FORMATS = {"jpeg": "JPEG", "webp": "WEBP", "png": "PNG"}


@dataclass
class CameraState:
    """Projection of the camera events of one class."""

    latest: dict[str, Any] | None = None
    keyframes: list[dict[str, Any]] = field(default_factory=list)
    keyframe_ids: set[str] = field(default_factory=set)


def check_image(image: bytes, fmt: str, width: int, height: int) -> None:
    """Refuse bytes that are not a whole, readable image of the stated format and size.

    Every pixel is decoded (on the picture worker: see ``classroom.pictures``), so a
    truncated or damaged picture is refused here and never stored for pages and exports to
    trip over; the header is checked first, so a file claiming 20000 x 20000 costs nothing.
    """
    picture = pictures.decode(image, field="image", max_pixels=MAX_SIDE * MAX_SIDE)
    with picture:
        actual_format, size = picture.format, picture.size
    if actual_format != _PIL_FORMATS[fmt]:
        raise InvalidPayload(f"image is {actual_format}, not {fmt}", field="format")
    if size != (width, height):
        raise InvalidPayload(f"image is {size[0]}x{size[1]}, not {width}x{height}", field="width")


# Only the latest live view is kept; its event's snapshot_id busts caches (?v=...).
LATEST_ASSET = "camera-latest"


def keyframe_asset_id(keyframe_id: str) -> str:
    return f"kf-{keyframe_id}"


def propose_snapshot(state: CameraState, actor: Actor, payload: CameraSnapshot) -> list[Proposed]:
    if state.latest is not None and state.latest["snapshot_id"] == payload.snapshot_id:
        return []
    return [
        Proposed(
            "camera_updated",
            {
                "snapshot_id": payload.snapshot_id,
                "asset_id": LATEST_ASSET,
                "format": payload.format,
                "width": payload.width,
                "height": payload.height,
            },
        )
    ]


def propose_keyframe(state: CameraState, actor: Actor, payload: CameraKeyframe) -> list[Proposed]:
    if payload.keyframe_id in state.keyframe_ids:
        return []
    if len(state.keyframes) >= MAX_KEYFRAMES:
        raise InvalidPayload(
            f"a lesson keeps at most {MAX_KEYFRAMES} keyframes", field="keyframe_id"
        )
    return [
        Proposed(
            "camera_keyframe_added",
            {
                "keyframe_id": payload.keyframe_id,
                "asset_id": keyframe_asset_id(payload.keyframe_id),
                "format": payload.format,
                "width": payload.width,
                "height": payload.height,
                "captured_at_ms": payload.captured_at_ms,
                "reason": payload.reason,
            },
        )
    ]


def apply(state: CameraState, event: Event) -> None:
    if event.type == "camera_updated":
        state.latest = dict(event.data)
    elif event.type == "camera_keyframe_added":
        keyframe_id = event.data["keyframe_id"]
        if keyframe_id in state.keyframe_ids:
            return
        state.keyframe_ids.add(keyframe_id)
        state.keyframes.append(dict(event.data))
        # Keyframes uploaded late (after a network outage) are kept in capture order.
        state.keyframes.sort(key=lambda k: (k["captured_at_ms"], k["keyframe_id"]))


def snapshot(state: CameraState, viewer: Actor) -> dict[str, Any]:
    return {"latest": state.latest, "keyframes": list(state.keyframes)}
