"""The camera board of a class: the live view, the views kept for replays, and the keyframes.

The live view changes up to a few times a second. Students need only the latest, so most views
overwrite one asset (:data:`LATEST_ASSET`); but a replay or an export must show the camera
board as it was at any moment, so some views are kept, each as its own asset
(``cam-<snapshot_id>``), bounded per class:

* a view is kept when it is the class's first, or comes :data:`KEEP_VIEW_EVERY_MS` (10 s) or
  more after the last kept one, while the kept views' bytes stay within
  :data:`KEPT_VIEWS_MAX_BYTES` (32 MiB: about 50 minutes of 100 KB views, one every 10 s);
* the decision is made once, when the view arrives, and logged in its ``camera_updated`` event
  (``kept``, ``bytes``, the ``asset_id`` it was stored under), so every fold agrees on it.

So a replay's camera board at ``t`` is at most 10 s older than the class's live view then (the
latest kept view, or a keyframe captured later: :func:`shown`); the live path stores one image
and logs one small event per view, as before (measured by ``tests/classroom/test_camera_kept.py``).
"""

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
    kept: dict[str, Any] | None = None  # the latest view kept as its own asset
    kept_at: int | None = None  # its event's time (server ms)
    kept_bytes: int = 0  # the kept views' bytes in all
    kept_ids: set[str] = field(default_factory=set)  # their snapshot ids


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


# The live view not kept for replays: overwritten by the next; its event's snapshot_id busts
# caches (?v=...).
LATEST_ASSET = "camera-latest"
KEEP_VIEW_EVERY_MS = 10_000
KEPT_VIEWS_MAX_BYTES = 32 * 1024 * 1024


def view_asset_id(snapshot_id: str) -> str:
    return f"cam-{snapshot_id}"


def keyframe_asset_id(keyframe_id: str) -> str:
    return f"kf-{keyframe_id}"


def propose_snapshot(
    state: CameraState, actor: Actor, payload: CameraSnapshot, *, now_ms: int
) -> list[Proposed]:
    """A new live view; kept as its own asset by the module's rule (``now_ms``: server ms)."""
    if state.latest is not None and state.latest["snapshot_id"] == payload.snapshot_id:
        return []
    size = len(payload.image)
    kept = (
        (state.kept_at is None or now_ms - state.kept_at >= KEEP_VIEW_EVERY_MS)
        and state.kept_bytes + size <= KEPT_VIEWS_MAX_BYTES
        # An id sent again later (a device that restarted its count) must not overwrite the
        # picture a replay shows at the first one's time.
        and payload.snapshot_id not in state.kept_ids
    )
    return [
        Proposed(
            "camera_updated",
            {
                "snapshot_id": payload.snapshot_id,
                "asset_id": view_asset_id(payload.snapshot_id) if kept else LATEST_ASSET,
                "format": payload.format,
                "width": payload.width,
                "height": payload.height,
                "kept": kept,
                "bytes": size,
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
        if event.data.get("kept"):
            state.kept = state.latest
            state.kept_at = event.ts
            state.kept_bytes += int(event.data.get("bytes", 0))
            state.kept_ids.add(str(event.data["snapshot_id"]))
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


def shown(state: CameraState) -> dict[str, Any] | None:
    """The camera board a replay shows after this fold, as a stored picture (its event data):
    the latest kept view, or the latest keyframe when it was captured at or after that view's
    time (the browser's player, ``webclient/src/replay/player.ts``, does the same)."""
    keyframe = state.keyframes[-1] if state.keyframes else None
    if keyframe is not None and (
        state.kept_at is None or int(keyframe["captured_at_ms"]) >= state.kept_at
    ):
        return keyframe
    return state.kept
