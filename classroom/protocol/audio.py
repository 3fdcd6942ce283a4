"""Lesson audio: the teacher's voice in Opus segments, each on the lesson's clock.

A segment is a whole, self-contained Opus file of at most ``MAX_SEGMENT_MS`` (Ogg from the board
device and the ``classroom lesson audio`` command, WebM from the console's MediaRecorder).
``captured_at_ms`` is the server-clock time of its first sample: the board device corrects its
own clock with ``clock_sync``. Segments may arrive late (after a network outage) and in any
order; replay places each at its capture time.

The board device sends ``audio_segment`` over its socket with the bytes as a binary attachment;
the teacher console uploads over HTTP (``POST /api/classes/{class_id}/audio``), and both go
through the same handler. Clients fetch the bytes from
``/api/classes/{class_id}/assets/{asset_id}``.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, Field

from classroom.protocol.common import (
    BOARD,
    Broadcast,
    BroadcastSpec,
    ClientId,
    EventSpec,
    Payload,
)

MAX_SEGMENT_BYTES: Final = 256 * 1024
MIN_SEGMENT_MS: Final = 20
MAX_SEGMENT_MS: Final = 10_000
# How far the stated duration may be from the decoded one: 500 ms, or a fifth of it for longer
# segments (a browser's recorder on a busy smartboard starts and stops a little off the times
# the page measured).
DURATION_SLACK_MS: Final = 500
DURATION_SLACK_SHARE: Final = 0.2
# A segment may start this long before the class was created (a board device started first)
# and end at most this far in the future of the server's clock.
BEFORE_CLASS_MS: Final = 10 * 60_000
FUTURE_MS: Final = 60_000
# After the class ended, a late upload or an attached phone recording may still end this late.
AFTER_END_MS: Final = 6 * 3600_000
MAX_SEGMENTS: Final = 10_000

Codec = Literal["opus"]
Container = Literal["ogg", "webm"]


class AudioSegment(Payload):
    """A few seconds of the teacher's voice: a whole Opus file (the bytes as a binary
    attachment), with the server-clock time of its first sample. Taken after the class ended
    too (late uploads), for times within the lesson."""

    segment_id: ClientId
    captured_at_ms: Annotated[int, Field(ge=0, le=2**53)]
    duration_ms: Annotated[int, Field(ge=MIN_SEGMENT_MS, le=MAX_SEGMENT_MS)]
    codec: Codec
    container: Container
    audio: Annotated[bytes, Field(min_length=16, max_length=MAX_SEGMENT_BYTES)]


class AudioAck(BaseModel):
    seq: int
    duplicate: bool
    asset_id: str
    duration_ms: int = Field(description="The decoded duration (what the log records).")


class AudioAddedData(Broadcast):
    segment_id: str
    asset_id: str
    captured_at_ms: int
    duration_ms: int
    codec: str
    container: str
    sample_rate: int
    channels: int


# The smallest Ogg page header: enough for the docs' example and the role-matrix tests, which
# stop at the role check; a real segment is decoded.
_OGG_PAGE_HEADER = b"OggS\x00\x02" + b"\x00" * 20

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "audio_segment",
        AudioSegment,
        # Teachers' recordings (the console, the CLI) come over HTTP: only a board device may
        # send binary on a socket.
        BOARD,
        AudioSegment.__doc__ or "",
        AudioAck,
        rate="audio",
        feature="audio",
        idempotency="audio:{segment_id}",
        example={
            "segment_id": "a-1764280000000",
            "captured_at_ms": 1764280000000,
            "duration_ms": 3000,
            "codec": "opus",
            "container": "ogg",
            "audio": _OGG_PAGE_HEADER,
        },
    ),
)

BROADCASTS: tuple[BroadcastSpec, ...] = (
    BroadcastSpec(
        "audio_added",
        AudioAddedData,
        "A segment of the lesson's audio was stored; fetch the asset to play it.",
        feature="audio",
    ),
)

ASSET_CONTENT_TYPES: dict[str, str] = {"ogg": "audio/ogg", "webm": "audio/webm"}
