"""Send the camera board to the class: live snapshots and keyframes, surviving network loss.

Keyframes are precious (they go into the lesson recording), so each is first written to a spool
directory on disk, crash-safely, and deleted only once the server has acknowledged it (an ack
means the server stored it durably). Snapshots are only a live view: just the newest one is
kept, and it is sent when the link allows. Snapshot quality adapts to the link: slow uploads
step the JPEG quality and size down, fast ones step them back up.

Audio segments (``boardclient.audio``) are spooled the same way and sent by their own task, so
an upload backlog of audio never holds up the live board, and the camera never waits for audio.

The protocol is the server's ``camera_snapshot`` / ``camera_keyframe`` / ``audio_segment``
events (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import socketio

from boardclient.audio import AudioSpool, SpooledSegment

logger = logging.getLogger(__name__)

ImageArray = np.ndarray[Any, np.dtype[np.uint8]]

# (longest side px, JPEG quality), best first. A step down roughly halves the bytes.
QUALITY_LADDER: tuple[tuple[int, int], ...] = ((1280, 80), (1280, 65), (960, 55), (640, 45))
SLOW_UPLOAD_S = 0.8
FAST_UPLOAD_S = 0.25
MAX_IMAGE_BYTES = 1_500_000
ACK_TIMEOUT_S = 20.0


def encode_jpeg(image: ImageArray, longest: int, quality: int) -> tuple[bytes, int, int]:
    """JPEG bytes of a BGR board image scaled to at most ``longest`` px; returns (data, w, h)."""
    h, w = image.shape[:2]
    scale = min(1.0, longest / max(h, w))
    if scale < 1.0:
        image = cv2.resize(
            image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
        ).astype(np.uint8, copy=False)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes(), image.shape[1], image.shape[0]


def encode_keyframe(image: ImageArray) -> tuple[bytes, str, int, int]:
    """A keyframe as PNG (crisp ink), or JPEG if the PNG would be too large to send."""
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if ok and buf.size <= MAX_IMAGE_BYTES:
        return buf.tobytes(), "png", image.shape[1], image.shape[0]
    for longest, quality in ((1920, 90), (1280, 85), (1280, 70)):
        data, w, h = encode_jpeg(image, longest, quality)
        if len(data) <= MAX_IMAGE_BYTES:
            return data, "jpeg", w, h
    raise ValueError("the keyframe cannot be encoded under the size limit")


@dataclass(frozen=True)
class SpooledKeyframe:
    keyframe_id: str
    captured_at_ms: int
    reason: str
    format: str
    width: int
    height: int
    image_path: Path
    meta_path: Path


class Spool:
    """Keyframes waiting for the server, one image file plus one JSON file each.

    The image is written and fsynced first, then the JSON (also via a temporary file, fsync and
    rename): a keyframe exists once its JSON does, so a crash never leaves a half-written one.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)

    def add(
        self,
        keyframe_id: str,
        image: bytes,
        fmt: str,
        width: int,
        height: int,
        captured_at_ms: int,
        reason: str,
    ) -> SpooledKeyframe:
        image_path = self.directory / f"{keyframe_id}.{fmt}"
        meta_path = self.directory / f"{keyframe_id}.json"
        self._write(image_path, image)
        meta = {
            "keyframe_id": keyframe_id,
            "format": fmt,
            "width": width,
            "height": height,
            "captured_at_ms": captured_at_ms,
            "reason": reason,
        }
        self._write(meta_path, json.dumps(meta).encode())
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return SpooledKeyframe(
            keyframe_id, captured_at_ms, reason, fmt, width, height, image_path, meta_path
        )

    def pending(self) -> list[SpooledKeyframe]:
        """Keyframes not yet acknowledged, oldest capture first."""
        found = []
        for meta_path in self.directory.glob("*.json"):
            try:
                meta = json.loads(meta_path.read_text())
                image_path = self.directory / f"{meta['keyframe_id']}.{meta['format']}"
                if image_path.exists():
                    found.append(
                        SpooledKeyframe(
                            meta["keyframe_id"],
                            int(meta["captured_at_ms"]),
                            meta["reason"],
                            meta["format"],
                            int(meta["width"]),
                            int(meta["height"]),
                            image_path,
                            meta_path,
                        )
                    )
            except (OSError, ValueError, KeyError):
                logger.warning("skipping unreadable spool entry %s", meta_path)
        return sorted(found, key=lambda k: (k.captured_at_ms, k.keyframe_id))

    def remove(self, item: SpooledKeyframe) -> None:
        item.meta_path.unlink(missing_ok=True)
        item.image_path.unlink(missing_ok=True)


class Uplink:
    """Keeps a board device connected to its class and uploads what the camera produces."""

    def __init__(
        self,
        server_url: str,
        token: str,
        spool: Spool,
        audio: AudioSpool | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.token = token
        self.spool = spool
        self.audio = audio
        self.clock = clock  # this computer's wall clock, seconds
        # server clock - this computer's clock, measured with clock_sync on each connect
        self.clock_offset_ms: int | None = None
        self.sent_audio = 0
        self._audio_wake = asyncio.Event()
        self.sio = socketio.AsyncClient(
            reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.quality_step = 0
        self.sent_snapshots = 0
        self.sent_keyframes = 0
        self.last_error: dict[str, Any] | None = None
        self._latest: ImageArray | None = None
        self._latest_id = 0
        self._wake = asyncio.Event()
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def _on_connect(self) -> None:
        self._connected.set()
        self._wake.set()
        self._audio_wake.set()

    async def _on_disconnect(self, *args: Any) -> None:
        self._connected.clear()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._connect_loop(), name="uplink-connect"),
            asyncio.create_task(self._send_loop(), name="uplink-send"),
        ]
        if self.audio is not None:
            self._tasks.append(asyncio.create_task(self._audio_loop(), name="uplink-audio"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.sio.connected:
            await self.sio.disconnect()

    async def _connect_loop(self) -> None:
        delay = 0.5
        while not self.sio.connected:
            try:
                await self.sio.connect(
                    self.server_url,
                    auth={"token": self.token},
                    transports=["websocket"],
                    wait_timeout=5,
                )
                return  # from now on python-socketio reconnects by itself
            except socketio.exceptions.ConnectionError as exc:
                logger.info("server not reachable (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    # what the camera loop calls

    def offer_snapshot(self, board: ImageArray) -> None:
        """The board changed: make this the next live view to send (older ones are dropped)."""
        self._latest = board
        self._latest_id += 1
        self._wake.set()

    def add_keyframe(self, board: ImageArray, captured_at_ms: int, reason: str) -> None:
        """Keep a board for the lesson: on disk now, on the server as soon as it is reachable."""
        data, fmt, width, height = encode_keyframe(board)
        keyframe_id = f"{captured_at_ms}-{os.getpid()}-{self._latest_id}"
        self.spool.add(keyframe_id, data, fmt, width, height, captured_at_ms, reason)
        self._wake.set()

    def audio_ready(self) -> None:
        """A segment was spooled (callable from any thread through the loop)."""
        self._audio_wake.set()

    async def drained(self, timeout: float) -> bool:
        """Wait until every spooled keyframe and segment and the newest snapshot have been
        acknowledged."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            audio_left = self.audio is not None and self.audio.has_pending()
            if not self.spool.pending() and self._latest is None and not audio_left:
                return True
            self._wake.set()
            self._audio_wake.set()
            await asyncio.sleep(0.05)
        return False

    # audio

    async def _measure_clock(self) -> int:
        """server clock - ours, from the clock_sync sample with the shortest round trip."""
        best: tuple[float, int] | None = None
        for _ in range(5):
            sent = self.clock() * 1000
            ack = await self._call("clock_sync", {"client_time_ms": sent})
            received = self.clock() * 1000
            if "server_time_ms" not in ack:
                continue
            rtt = received - sent
            offset = round(int(ack["server_time_ms"]) - (sent + received) / 2)
            if best is None or rtt < best[0]:
                best = (rtt, offset)
        if best is None:
            raise OSError("the server did not answer clock_sync")
        return best[1]

    async def _audio_loop(self) -> None:
        audio = self.audio
        if audio is None:
            return
        while True:
            await self._audio_wake.wait()
            self._audio_wake.clear()
            if not self.connected:
                continue
            try:
                if self.clock_offset_ms is None:
                    self.clock_offset_ms = await self._measure_clock()
                for item in await asyncio.to_thread(audio.pending):
                    if not await self._send_segment(audio, item):
                        break
            except (socketio.exceptions.SocketIOError, OSError) as exc:
                logger.info("audio upload interrupted: %s", exc)
                await asyncio.sleep(0.5)
                self._audio_wake.set()

    async def _send_segment(self, audio: AudioSpool, item: SpooledSegment) -> bool:
        offset = self.clock_offset_ms or 0
        item = await asyncio.to_thread(audio.fix_server_time, item, offset)
        ack = await self._call(
            "audio_segment",
            {
                "segment_id": item.segment_id,
                "captured_at_ms": item.server_captured_at_ms,
                "duration_ms": item.duration_ms,
                "codec": "opus",
                "container": "ogg",
                "audio": await asyncio.to_thread(item.audio_path.read_bytes),
            },
        )
        if ack.get("ok"):
            await asyncio.to_thread(audio.acknowledged, item, int(ack.get("seq", 0)))
            self.sent_audio += 1
            return True
        self.last_error = ack.get("error")
        error = self.last_error or {}
        code = error.get("code")
        if code == "IDEMPOTENCY_CONFLICT":
            # The server has a segment with this id already (sent before a crash with a time
            # that was not yet kept): it is there, once.
            logger.warning("segment %s was stored before: %s", item.segment_id, error)
            await asyncio.to_thread(audio.acknowledged, item, 0)
            return True
        if code == "INVALID_PAYLOAD":
            logger.error("audio segment %s refused: %s", item.segment_id, error)
            await asyncio.to_thread(audio.refuse, item)
            return True
        if code == "RATE_LIMITED":
            await asyncio.sleep(float(error.get("retry_after_s", 1.0)))
            self._audio_wake.set()
        else:
            # STORE_UNAVAILABLE, BUSY ...: try again in a moment
            await asyncio.sleep(1.0)
            self._audio_wake.set()
        return False

    # the sender

    async def _send_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self.connected:
                continue  # _on_connect wakes us
            try:
                for item in self.spool.pending():
                    if not await self._send_keyframe(item):
                        break
                if self._latest is not None and self.connected:
                    await self._send_snapshot()
            except (socketio.exceptions.SocketIOError, OSError) as exc:
                logger.info("upload interrupted: %s", exc)

    async def _call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack = await self.sio.call(event, payload, timeout=ACK_TIMEOUT_S)
        return dict(ack) if isinstance(ack, dict) else {"ok": False}

    async def _send_keyframe(self, item: SpooledKeyframe) -> bool:
        ack = await self._call(
            "camera_keyframe",
            {
                "keyframe_id": item.keyframe_id,
                "image": item.image_path.read_bytes(),
                "format": item.format,
                "width": item.width,
                "height": item.height,
                "captured_at_ms": item.captured_at_ms,
                "reason": item.reason,
            },
        )
        if ack.get("ok"):
            self.spool.remove(item)
            self.sent_keyframes += 1
            return True
        self.last_error = ack.get("error")
        code = (self.last_error or {}).get("code")
        if code == "INVALID_PAYLOAD":
            # The server will never take it; keep it aside rather than retry forever.
            logger.error("keyframe %s refused: %s", item.keyframe_id, self.last_error)
            item.meta_path.rename(item.meta_path.with_suffix(".refused"))
            return True
        return False  # RATE_LIMITED, STORE_UNAVAILABLE, CLASS_ENDED...: try again later

    async def _send_snapshot(self) -> None:
        board, snapshot_number = self._latest, self._latest_id
        if board is None:
            return
        longest, quality = QUALITY_LADDER[self.quality_step]
        data, width, height = await asyncio.to_thread(encode_jpeg, board, longest, quality)
        started = time.monotonic()
        ack = await self._call(
            "camera_snapshot",
            {
                "snapshot_id": f"{int(time.time() * 1000)}-{snapshot_number}",
                "image": data,
                "format": "jpeg",
                "width": width,
                "height": height,
            },
        )
        took = time.monotonic() - started
        if ack.get("ok"):
            self.sent_snapshots += 1
            if self._latest_id == snapshot_number:
                self._latest = None
        else:
            self.last_error = ack.get("error")
        # Adapt to the link: slow uploads step down the ladder, quick ones step back up.
        if took > SLOW_UPLOAD_S and self.quality_step < len(QUALITY_LADDER) - 1:
            self.quality_step += 1
        elif took < FAST_UPLOAD_S and self.quality_step > 0:
            self.quality_step -= 1
