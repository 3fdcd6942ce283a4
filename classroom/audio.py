"""The lesson's audio: Opus segments placed on the lesson's clock.

Pure: the checks and the projection. ``check_segment`` decodes a segment (with PyAV, on the
picture worker, never on the event loop) and answers what it really holds; ``propose_segment``
checks it against the lesson (its times, the number of segments) and makes the log event.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from classroom.errors import Conflict, InvalidPayload
from classroom.log import Actor, Event, Proposed
from classroom.protocol import audio as p

# Opus decodes at 48 kHz whatever the input rate was; anything else is not what we made.
_RATES = frozenset({8000, 12000, 16000, 24000, 48000})
# A segment of MAX_SEGMENT_MS holds at most 4,000 Opus packets (2.5 ms each); a file with many
# more is made up to cost decode time.
_MAX_PACKETS = 5000
_DEMUXERS = {"ogg": "ogg", "webm": "matroska"}


@dataclass(frozen=True)
class DecodedSegment:
    """What a segment's bytes really hold."""

    duration_ms: int
    sample_rate: int
    channels: int


@dataclass
class AudioState:
    """Projection of the audio events of one class."""

    segments: list[dict[str, Any]] = field(default_factory=list)
    segment_ids: set[str] = field(default_factory=set)
    # Who sent each segment (role, id): a segment id is its author's idempotency key.
    authors: dict[str, tuple[str, str]] = field(default_factory=dict)
    duration_ms: int = 0


def asset_id(segment_id: str) -> str:
    return f"au-{segment_id}"


def check_segment(data: bytes, container: str, stated_ms: int) -> DecodedSegment:
    """Decode every packet of a segment; refuse what is not whole Opus of about ``stated_ms``.

    Runs on a worker thread. The work is bounded: decoding stops as soon as the audio runs past
    the longest segment allowed, and files with too many packets are refused.
    """
    import av  # imported here: the server starts without loading FFmpeg

    limit_ms = p.MAX_SEGMENT_MS + p.DURATION_SLACK_MS  # 10.5 s
    try:
        with av.open(
            io.BytesIO(data),
            "r",
            format=_DEMUXERS[container],
            options={"probesize": "32768", "analyzeduration": "0"},
        ) as media:
            if len(media.streams) != 1 or not media.streams.audio:
                raise InvalidPayload("a segment holds exactly one audio stream", field="audio")
            stream = media.streams.audio[0]
            codec = stream.codec_context.name
            if codec != "opus":
                raise InvalidPayload(f"the audio is {codec}, not opus", field="codec")
            rate = int(stream.codec_context.sample_rate or 0)
            channels = int(stream.codec_context.channels or 0)
            if rate not in _RATES or channels not in (1, 2):
                raise InvalidPayload(
                    f"opus at {rate} Hz with {channels} channels is not supported", field="audio"
                )
            decoded_ms = 0.0
            for packets, packet in enumerate(media.demux(stream), 1):
                if packets > _MAX_PACKETS:
                    raise InvalidPayload("the segment has too many packets", field="audio")
                for frame in packet.decode():
                    # Counted at the rate the decoder gives (48 kHz for Opus, but not assumed).
                    decoded_ms += frame.samples * 1000 / (frame.sample_rate or rate)
                    if decoded_ms > limit_ms:
                        raise InvalidPayload(
                            f"a segment is at most {p.MAX_SEGMENT_MS} ms", field="duration_ms"
                        )
    except (av.FFmpegError, ValueError, IndexError, EOFError, OSError) as exc:
        # Whatever the demuxer or decoder trips over in made-up bytes.
        raise InvalidPayload(
            f"the audio cannot be decoded as {container}/opus", field="audio"
        ) from exc
    duration_ms = round(decoded_ms)
    if duration_ms < p.MIN_SEGMENT_MS:
        raise InvalidPayload("the segment holds no audio", field="audio")
    if abs(duration_ms - stated_ms) > max(p.DURATION_SLACK_MS, p.DURATION_SLACK_SHARE * stated_ms):
        raise InvalidPayload(
            f"the segment lasts {duration_ms} ms, not {stated_ms} ms", field="duration_ms"
        )
    return DecodedSegment(min(duration_ms, p.MAX_SEGMENT_MS), rate, channels)


def check_times(
    payload: p.AudioSegment,
    duration_ms: int,
    *,
    class_created_ms: int,
    class_ended_ms: int | None,
    now_ms: int,
) -> None:
    """Refuse a segment that does not fall within the lesson (by the server's clock)."""
    start = payload.captured_at_ms
    if start < class_created_ms - p.BEFORE_CLASS_MS:
        raise InvalidPayload(
            "the segment starts long before the class was created (is the device's clock right?)",
            field="captured_at_ms",
        )
    if start + duration_ms > now_ms + p.FUTURE_MS:
        raise InvalidPayload(
            "the segment ends in the future (is the device's clock right?)",
            field="captured_at_ms",
        )
    if class_ended_ms is not None and start > class_ended_ms + p.AFTER_END_MS:
        raise InvalidPayload(
            "the segment starts long after the class ended", field="captured_at_ms"
        )


def check_not_taken(state: AudioState, actor: Actor, segment_id: str) -> bool:
    """Whether ``segment_id`` is stored already (a retry of ``actor``'s own upload); refuse an
    id another device or person used."""
    author = state.authors.get(segment_id)
    if author is None:
        return False
    if author != (actor.role, actor.id):
        raise Conflict(f"segment id {segment_id!r} was used by another sender", field="segment_id")
    return True


def propose_segment(
    state: AudioState, actor: Actor, payload: p.AudioSegment, decoded: DecodedSegment
) -> list[Proposed]:
    if payload.segment_id in state.segment_ids:
        return []
    if len(state.segments) >= p.MAX_SEGMENTS:
        raise InvalidPayload(
            f"a lesson keeps at most {p.MAX_SEGMENTS} audio segments", field="segment_id"
        )
    return [
        Proposed(
            "audio_added",
            {
                "segment_id": payload.segment_id,
                "asset_id": asset_id(payload.segment_id),
                "captured_at_ms": payload.captured_at_ms,
                "duration_ms": decoded.duration_ms,
                "codec": payload.codec,
                "container": payload.container,
                "sample_rate": decoded.sample_rate,
                "channels": decoded.channels,
            },
        )
    ]


def apply(state: AudioState, event: Event) -> None:
    if event.type != "audio_added":
        return
    segment_id = event.data["segment_id"]
    if segment_id in state.segment_ids:
        return
    state.segment_ids.add(segment_id)
    state.authors[segment_id] = (event.actor.role, event.actor.id)
    state.segments.append(dict(event.data))
    state.duration_ms += int(event.data["duration_ms"])
    # Late uploads (after an outage) and attached recordings are kept in capture order.
    state.segments.sort(key=lambda s: (s["captured_at_ms"], s["segment_id"]))


def snapshot(state: AudioState, viewer: Actor) -> dict[str, Any]:
    # The segment list is for replay (a fold over the log); a live client needs only whether
    # the lesson has audio.
    return {"segments": len(state.segments), "duration_ms": state.duration_ms}
