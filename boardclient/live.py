"""``boardclient run``: capture, clean, record locally and stream to the class, all at once.

Every frame goes through the same :class:`~boardclient.pipeline.BoardPipeline` as ``record``;
the local recording is written first (crash-safe), then the uplink is told: a changed board
becomes the next live snapshot, a keyframe is spooled to disk and uploaded when the server is
reachable. A network outage therefore loses nothing: the recording goes on and the spool
uploads what was missed when the server returns.

With ``audio``, the teacher's voice is captured alongside on its own thread
(``boardclient.audio``) and spooled and uploaded the same way; the source may be a camera and a
microphone, either one alone, or files played in real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from boardclient.audio import (
    DEFAULT_SEGMENT_S,
    AudioCapture,
    AudioSpool,
    DeviceSource,
    SpooledSegment,
    open_source,
)
from boardclient.pipeline import BoardPipeline, Keyframe, PipelineSettings
from boardclient.record import Recorder, iter_frames
from boardclient.uplink import Spool, Uplink

# Keyframe reasons of the pipeline -> the protocol's.
REASONS = {"removed": "erase", "end": "end"}


@dataclass
class RunSummary:
    frames: int = 0
    keyframes: int = 0
    snapshots_offered: int = 0
    board_found: bool = False
    uploaded_keyframes: int = 0
    uploaded_snapshots: int = 0
    all_uploaded: bool = False
    audio_segments: int = 0
    uploaded_audio: int = 0
    audio_error: str | None = None


async def run_live(
    source: str | None,
    server_url: str,
    token: str,
    out_dir: Path,
    *,
    settings: PipelineSettings | None = None,
    fps: float = 10.0,
    max_seconds: float | None = None,
    drain_seconds: float = 30.0,
    on_frame: Callable[[float], None] | None = None,
    audio: str | None = None,
    audio_segment_s: float = DEFAULT_SEGMENT_S,
    clock: Callable[[], float] = time.time,
) -> RunSummary:
    """Stream ``source`` (camera) and ``audio`` (microphone) to the class at ``server_url``
    while recording them into ``out_dir``.

    ``clock`` is this computer's wall clock (seconds); audio times are moved onto the server's
    clock with ``clock_sync``, so a board PC whose clock is wrong still records in step.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    audio_source = None if audio is None else await asyncio.to_thread(open_source, audio, clock)
    audio_spool = None if audio is None else AudioSpool(out_dir)
    uplink = Uplink(server_url, token, Spool(out_dir / "upload-spool"), audio_spool, clock)
    summary = RunSummary()
    started_ms = int(time.time() * 1000)
    loop = asyncio.get_running_loop()

    def segment_spooled(_item: SpooledSegment) -> None:
        loop.call_soon_threadsafe(uplink.audio_ready)

    capture = None
    if audio_source is not None and audio_spool is not None:
        capture = AudioCapture(
            audio_source,
            audio_spool,
            segment_s=audio_segment_s,
            max_seconds=max_seconds,
            on_segment=segment_spooled,
        )

    async def run_camera(camera: str) -> None:
        recorder = Recorder(out_dir, BoardPipeline(settings))

        def send_keyframes(keyframes: list[Keyframe] | tuple[Keyframe, ...]) -> None:
            for keyframe in keyframes:
                board = recorder.pipeline.enhance_keyframe(keyframe)
                uplink.add_keyframe(
                    board,
                    captured_at_ms=started_ms + round(keyframe.t * 1000),
                    reason=REASONS.get(keyframe.reason, "manual"),
                )
                summary.keyframes += 1

        frames = iter_frames(camera, fps=fps)
        while True:
            # Camera reads and the vision work block: keep them off the event loop so the
            # uplink keeps talking to the server meanwhile.
            item = await asyncio.to_thread(next, frames, None)
            if item is None:
                break
            t, frame = item
            if max_seconds is not None and t > max_seconds:
                break
            result = await asyncio.to_thread(recorder.feed, frame, t)
            summary.frames += 1
            summary.board_found |= result.has_board
            send_keyframes(result.keyframes)
            if result.snapshot_changed:
                board = recorder.pipeline.enhanced()
                if board is not None:
                    uplink.offer_snapshot(board)
                    summary.snapshots_offered += 1
            if on_frame is not None:
                on_frame(t)
        send_keyframes(recorder.close())

    await uplink.start()
    if capture is not None:
        capture.start()
    try:
        if source is not None:
            await run_camera(source)
            if capture is not None and isinstance(audio_source, DeviceSource):
                capture.stop()  # the lesson's camera ended: so does its microphone
        if capture is not None:
            # A file plays to its end; a microphone was told to stop, and one that does not
            # answer (a stuck driver) is left behind rather than holding up the end of the run.
            is_device = isinstance(audio_source, DeviceSource) and source is not None
            await asyncio.to_thread(capture.join, 5.0 if is_device else None)
        summary.all_uploaded = await uplink.drained(timeout=drain_seconds)
    finally:
        if capture is not None:
            capture.stop()
            summary.audio_segments = capture.segments
            summary.audio_error = None if capture.error is None else str(capture.error)
        summary.uploaded_keyframes = uplink.sent_keyframes
        summary.uploaded_snapshots = uplink.sent_snapshots
        summary.uploaded_audio = uplink.sent_audio
        await uplink.stop()
    return summary
