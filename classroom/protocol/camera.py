"""Camera board events: the board device's snapshots (live view) and keyframes (kept boards).

Images travel as Socket.IO binary attachments. A snapshot replaces the class's live camera
view; some are kept for replays, each as its own asset (see ``classroom/camera.py``). A keyframe
is kept for the lesson (the full board just before an erase, or a page-like change) and goes
into exports. Clients fetch images over HTTP from ``/api/classes/{class_id}/assets/{asset_id}``;
the log carries only small references.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, Field

from classroom.protocol.common import BOARD, Broadcast, BroadcastSpec, ClientId, EventSpec, Payload

MAX_IMAGE_BYTES: Final = 1_500_000
MAX_SIDE: Final = 4096

ImageFormat = Literal["jpeg", "webp", "png"]
Side = Annotated[int, Field(ge=16, le=MAX_SIDE)]


class CameraSnapshot(Payload):
    """The board device sends the current rectified board (only when it changed)."""

    snapshot_id: ClientId
    image: Annotated[bytes, Field(min_length=16, max_length=MAX_IMAGE_BYTES)]
    format: ImageFormat
    width: Side
    height: Side


class CameraKeyframe(Payload):
    """The board device keeps a full board (before an erase, or a new page), maybe late."""

    keyframe_id: ClientId
    image: Annotated[bytes, Field(min_length=16, max_length=MAX_IMAGE_BYTES)]
    format: ImageFormat
    width: Side
    height: Side
    captured_at_ms: Annotated[int, Field(ge=0, le=2**53)]
    reason: Literal["erase", "page", "manual", "end"] = "erase"


class CameraAck(BaseModel):
    seq: int
    duplicate: bool
    asset_id: str


class CameraUpdatedData(Broadcast):
    snapshot_id: str
    asset_id: str
    format: str
    width: int
    height: int
    kept: bool = Field(
        False,
        description="Kept for replays as its own asset (at most one every 10 s, 32 MiB a"
        " class); otherwise the asset is the live view, overwritten by the next.",
    )
    bytes: int = Field(0, description="The image's size in bytes.")


class KeyframeAddedData(Broadcast):
    keyframe_id: str
    asset_id: str
    format: str
    width: int
    height: int
    captured_at_ms: int
    reason: str


_TINY_JPEG_HEADER = b"\xff\xd8\xff\xe0" + b"\x00" * 12

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "camera_snapshot",
        CameraSnapshot,
        BOARD,
        CameraSnapshot.__doc__ or "",
        CameraAck,
        rate="camera",
        feature="camera",
        idempotency="snap:{snapshot_id}",
        example={
            "snapshot_id": "snap-1",
            "image": _TINY_JPEG_HEADER,
            "format": "jpeg",
            "width": 1280,
            "height": 720,
        },
    ),
    EventSpec(
        "camera_keyframe",
        CameraKeyframe,
        BOARD,
        CameraKeyframe.__doc__ or "",
        CameraAck,
        rate="camera",
        feature="camera",
        idempotency="kf:{keyframe_id}",
        example={
            "keyframe_id": "kf-1",
            "image": _TINY_JPEG_HEADER,
            "format": "jpeg",
            "width": 1280,
            "height": 720,
            "captured_at_ms": 1764280000000,
            "reason": "erase",
        },
    ),
)

BROADCASTS: tuple[BroadcastSpec, ...] = (
    BroadcastSpec(
        "camera_updated",
        CameraUpdatedData,
        "The live camera view of the board changed; fetch the asset.",
        feature="camera",
    ),
    BroadcastSpec(
        "camera_keyframe_added",
        KeyframeAddedData,
        "A full board was kept (before an erase or a page change).",
        feature="camera",
    ),
)

ASSET_CONTENT_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "png": "image/png",
}
