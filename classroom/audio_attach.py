"""``classroom lesson audio``: attach a recording made on another device (a phone) to a lesson.

The file is decoded (any format FFmpeg reads), resampled to 48 kHz mono, cut into Opus
segments and appended through the same handler as live audio, as the class's teacher. Segment
ids are made from the file's hash and its start time, so running the command again with the
same file and alignment adds nothing twice.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from classroom import handlers
from classroom.audio import AudioState
from classroom.errors import ClassroomError, NotFound
from classroom.handlers import Session
from classroom.hub import Hub
from classroom.log import Actor
from classroom.protocol.audio import AudioSegment
from classroom.services import Services
from classroom.settings import Settings
from classroom.storage import open_store

SEGMENT_S = 5.0


class AttachError(ClassroomError):
    """The recording cannot be attached (unreadable file, no such class ...)."""

    code = "INVALID_PAYLOAD"
    http_status = 400


@dataclass(frozen=True)
class Attached:
    segments: int
    added: int
    starts_at_ms: int
    duration_ms: int


def parse_starts_at(raw: str) -> int:
    """An ISO 8601 time (``2026-12-01T09:30:00+05:00``; without an offset: this computer's
    time zone) as milliseconds since the epoch."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise AttachError(
            f"{raw!r} is not an ISO 8601 time, e.g. 2026-12-01T09:30:00+05:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return round(moment.timestamp() * 1000)


async def _no_fan_out(runtime: object, event: object) -> None:
    return None


async def attach(
    settings: Settings,
    class_id: str,
    path: Path,
    *,
    starts_at_ms: int | None = None,
    offset_ms: int = 0,
    segment_s: float = SEGMENT_S,
    progress: Callable[[int, int], None] | None = None,
) -> Attached:
    """Attach ``path`` to the class: at ``starts_at_ms``, else the class's first event plus
    ``offset_ms``."""
    # PyAV lives with the audio code of the board client; it is only loaded for this command.
    from boardclient.audio import AudioSourceError, decode_file, encode_opus, segments_of

    store = open_store(settings.store_url, data_dir=settings.data_dir)
    # No clients here: what the hub applies goes nowhere (a running server reads it from the log).
    services = Services(settings=settings, store=store, hub=Hub(store, _no_fan_out))
    await services.open()
    try:
        record = await store.get_class(class_id)
        if record is None:
            raise NotFound(f"no class {class_id!r}")
        if starts_at_ms is None:
            first = await store.read_after(class_id, 0, 1)
            starts_at_ms = (first[0].ts if first else record.created_at) + offset_ms
        data = await asyncio.to_thread(path.read_bytes)
        try:
            samples = await asyncio.to_thread(decode_file, path)
        except AudioSourceError as exc:
            raise AttachError(str(exc)) from None
        pieces = list(segments_of(samples, segment_s))
        if not pieces:
            raise AttachError(f"{path}: no audio in this file")
        digest = hashlib.blake2b(data, digest_size=6).hexdigest()
        teacher = Actor("teacher", record.teacher, record.teacher)
        session = Session(sid="cli", actor=teacher, class_id=class_id, address="cli")
        audio_state: AudioState = (await services.hub.get(class_id)).state.part("audio")
        added = 0
        for number, (at_ms, chunk) in enumerate(pieces):
            segment_id = f"f{digest}-{starts_at_ms}-{number}"
            if segment_id in audio_state.segment_ids:
                # Attached before; its Ogg bytes would differ (a new stream serial number).
                if progress is not None:
                    progress(number + 1, len(pieces))
                continue
            encoded = await asyncio.to_thread(encode_opus, chunk)
            payload = AudioSegment(
                segment_id=segment_id,
                captured_at_ms=starts_at_ms + at_ms,
                duration_ms=len(chunk) * 1000 // 48_000,
                codec="opus",
                container="ogg",
                audio=encoded,
            )
            ack = await handlers.run(services, session, "audio_segment", payload)
            added += 0 if ack.get("duplicate") or ack.get("noop") else 1
            if progress is not None:
                progress(number + 1, len(pieces))
        return Attached(len(pieces), added, starts_at_ms, len(samples) * 1000 // 48_000)
    finally:
        await services.close()


def main(args: argparse.Namespace, settings: Settings) -> int:
    """The command: ``classroom lesson audio CLASS_ID FILE [--starts-at | --offset-ms]``."""
    from tqdm import tqdm

    class_id: str = args.class_id
    path: Path = args.file
    offset_ms: int = args.offset_ms or 0
    starts_at_ms = None if args.starts_at is None else parse_starts_at(args.starts_at)
    if not path.is_file():
        raise AttachError(f"no such file: {path}")
    bar = tqdm(desc="attach", unit="segment", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = asyncio.run(
            attach(
                settings,
                class_id,
                path,
                starts_at_ms=starts_at_ms,
                offset_ms=offset_ms,
                progress=progress,
            )
        )
    finally:
        bar.close()
    start = (
        datetime.fromtimestamp(result.starts_at_ms / 1000).astimezone().isoformat("T", "seconds")
    )
    print(
        f"attached {result.duration_ms / 1000:.1f} s of audio to class {class_id} from {start}: "
        f"{result.added} new segments of {result.segments}"
    )
    return 0
