"""The teacher's voice: capture, Opus segments, and a crash-safe spool for the uplink.

Capture runs on its own thread and never waits for the camera or the network: each segment is
encoded (Opus in Ogg, mono, 48 kHz, ~28 kbit/s) and written to disk as soon as it is complete;
the uplink sends what is on disk when the server is reachable.

Layout inside the recording directory::

    audio/<segment_id>.ogg        every segment (the local recording; kept)
    audio/index.jsonl             one line per segment, appended and fsynced
    audio-spool/<id>.ogg, .json   segments the server has not acknowledged yet
    audio/uploaded.jsonl          one line per acknowledged segment (its seq in the class)

A segment is in the spool once its JSON file exists: the audio file is written and fsynced
first, the JSON last (temporary name, fsync, rename), so a crash never leaves half of one.
Times are milliseconds since the Unix epoch on this computer's clock; the uplink adds the
offset to the server's clock (``clock_sync``) before the first send and keeps it in the JSON,
so a retry sends exactly the same request.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

logger = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
BLOCK = 960  # 20 ms, one Opus frame
BIT_RATE = 28_000
DEFAULT_SEGMENT_S = 3.0

Samples = np.ndarray[Any, np.dtype[np.float32]]


class AudioSourceError(Exception):
    """An audio source cannot be opened or read."""


@dataclass(frozen=True)
class Block:
    """A run of mono samples and the wall time (ms, this computer) of its first one."""

    started_ms: float
    samples: Samples  # (n,) float32 in [-1, 1], 48 kHz


class AudioSource(Protocol):
    def blocks(self, stop: threading.Event) -> Iterator[Block]: ...


def encode_opus(samples: Samples, *, bit_rate: int = BIT_RATE, container: str = "ogg") -> bytes:
    """A whole Opus file (Ogg, or WebM) of mono 48 kHz ``samples`` ((n,) float32)."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format=container) as media:
        stream = media.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
        stream.bit_rate = bit_rate
        for start in range(0, len(samples), BLOCK):
            chunk = np.ascontiguousarray(samples[start : start + BLOCK], np.float32)
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = start
            for packet in stream.encode(frame):
                media.mux(packet)
        for packet in stream.encode(None):
            media.mux(packet)
    return out.getvalue()


def decode_file(path: Path | str | io.BytesIO) -> Samples:
    """Every sample of an audio file (WAV, MP3, Ogg, WebM ...) as mono 48 kHz float32."""
    import av

    parts: list[Samples] = []
    try:
        with av.open(path, "r") as media:
            if not media.streams.audio:
                raise AudioSourceError(f"{path}: no audio in this file")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in media.decode(audio=0):
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    except av.FFmpegError as exc:
        raise AudioSourceError(f"{path}: cannot read audio ({exc})") from exc
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


class FileSource:
    """A recording played in real time, as if a microphone heard it (what tests use)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.samples = decode_file(path)
        self.clock = clock

    def blocks(self, stop: threading.Event) -> Iterator[Block]:
        started = self.clock() * 1000
        for start in range(0, len(self.samples), BLOCK):
            chunk = self.samples[start : start + BLOCK]
            # A block is "heard" once its last sample has played.
            due_ms = started + (start + len(chunk)) * 1000 / SAMPLE_RATE
            if stop.wait(max(0.0, (due_ms - self.clock() * 1000) / 1000)):
                return
            yield Block(started + start * 1000 / SAMPLE_RATE, chunk)


class DeviceSource:
    """A microphone through PortAudio (``sounddevice``, imported only when used)."""

    def __init__(self, device: int | str, clock: Callable[[], float] = time.time) -> None:
        self.device = device
        self.clock = clock

    def check(self) -> None:
        """Fail now, before the lesson starts, if the microphone cannot be opened."""
        sounddevice = _sounddevice()
        try:
            sounddevice.check_input_settings(
                device=self.device, channels=1, dtype="float32", samplerate=SAMPLE_RATE
            )
        except (sounddevice.PortAudioError, ValueError) as exc:
            raise AudioSourceError(f"cannot open microphone {self.device!r}: {exc}") from exc

    def blocks(self, stop: threading.Event) -> Iterator[Block]:
        sounddevice = _sounddevice()
        try:
            stream = sounddevice.InputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="float32",
                blocksize=BLOCK,
                device=self.device,
            )
        except (sounddevice.PortAudioError, ValueError) as exc:
            raise AudioSourceError(f"cannot open microphone {self.device!r}: {exc}") from exc
        with stream:
            while not stop.is_set():
                data, _overflowed = stream.read(BLOCK)
                # The block's first sample was heard its length (plus the input latency) ago;
                # taking the time per block keeps segments on the wall clock even if the sound
                # card's clock drifts.
                now_ms = self.clock() * 1000
                latency_ms = float(stream.latency) * 1000
                started = now_ms - latency_ms - len(data) * 1000 / SAMPLE_RATE
                yield Block(started, np.asarray(data, np.float32).reshape(-1))


def _sounddevice() -> Any:
    try:
        import sounddevice  # needs libportaudio2 at run time
    except OSError as exc:  # the package is there but PortAudio is not
        raise AudioSourceError(
            f"PortAudio is not installed ({exc}); on Debian/Ubuntu: apt-get install libportaudio2"
        ) from exc
    return sounddevice


def open_source(spec: str, clock: Callable[[], float] = time.time) -> AudioSource:
    """A WAV/MP3/... file path, or a microphone by index (``"0"``) or name; ``clock`` is this
    computer's wall clock in seconds."""
    path = Path(spec)
    if path.is_file():
        return FileSource(path, clock)
    if path.suffix and not spec.isdigit():
        raise AudioSourceError(f"no such audio file: {spec}")
    device = DeviceSource(int(spec) if spec.isdigit() else spec, clock)
    device.check()
    return device


@dataclass(frozen=True)
class SpooledSegment:
    segment_id: str
    captured_at_ms: int  # this computer's clock
    duration_ms: int
    audio_path: Path
    meta_path: Path
    server_captured_at_ms: int | None = None


def _write_durably(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _append_line(path: Path, entry: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")
        out.flush()
        os.fsync(out.fileno())


class AudioSpool:
    """Audio segments kept on disk: all of them (the recording) and those not yet uploaded."""

    def __init__(self, out_dir: Path) -> None:
        self.kept = out_dir / "audio"
        self.directory = out_dir / "audio-spool"
        self.kept.mkdir(parents=True, exist_ok=True)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def add(self, audio: bytes, captured_at_ms: int, duration_ms: int) -> SpooledSegment:
        segment_id = f"a{captured_at_ms}-{secrets.token_hex(3)}"
        meta = {
            "segment_id": segment_id,
            "captured_at_ms": captured_at_ms,
            "duration_ms": duration_ms,
        }
        with self._lock:
            # Spooled first: a segment in the local index is always on its way to the server.
            audio_path = self.directory / f"{segment_id}.ogg"
            meta_path = self.directory / f"{segment_id}.json"
            _write_durably(audio_path, audio)
            _write_durably(meta_path, json.dumps(meta).encode())
            _fsync_dir(self.directory)
            _write_durably(self.kept / f"{segment_id}.ogg", audio)
            _append_line(self.kept / "index.jsonl", meta)
        return SpooledSegment(segment_id, captured_at_ms, duration_ms, audio_path, meta_path)

    def has_pending(self) -> bool:
        """Whether any segment waits for the server (cheap: no file is read)."""
        return next(self.directory.glob("*.json"), None) is not None

    def pending(self) -> list[SpooledSegment]:
        """Segments not yet acknowledged, oldest first."""
        found = []
        for meta_path in self.directory.glob("*.json"):
            try:
                meta = json.loads(meta_path.read_text())
                audio_path = self.directory / f"{meta['segment_id']}.ogg"
                if audio_path.exists():
                    server_ms = meta.get("server_captured_at_ms")
                    found.append(
                        SpooledSegment(
                            str(meta["segment_id"]),
                            int(meta["captured_at_ms"]),
                            int(meta["duration_ms"]),
                            audio_path,
                            meta_path,
                            None if server_ms is None else int(server_ms),
                        )
                    )
            except (OSError, ValueError, KeyError):
                logger.warning("skipping unreadable audio spool entry %s", meta_path)
        return sorted(found, key=lambda s: (s.captured_at_ms, s.segment_id))

    def fix_server_time(self, item: SpooledSegment, offset_ms: int) -> SpooledSegment:
        """Put the segment on the server's clock, once: every later retry sends this time."""
        if item.server_captured_at_ms is not None:
            return item
        server_ms = item.captured_at_ms + offset_ms
        meta = {
            "segment_id": item.segment_id,
            "captured_at_ms": item.captured_at_ms,
            "duration_ms": item.duration_ms,
            "server_captured_at_ms": server_ms,
        }
        _write_durably(item.meta_path, json.dumps(meta).encode())
        return SpooledSegment(
            item.segment_id,
            item.captured_at_ms,
            item.duration_ms,
            item.audio_path,
            item.meta_path,
            server_ms,
        )

    def acknowledged(self, item: SpooledSegment, seq: int) -> None:
        """The server stored it: note that, then forget the spooled copy."""
        _append_line(
            self.kept / "uploaded.jsonl",
            {"segment_id": item.segment_id, "seq": seq, "at": item.server_captured_at_ms},
        )
        item.meta_path.unlink(missing_ok=True)
        item.audio_path.unlink(missing_ok=True)

    def refuse(self, item: SpooledSegment) -> None:
        """The server will never take it: keep it aside instead of retrying forever."""
        item.meta_path.rename(item.meta_path.with_suffix(".refused"))


class AudioCapture:
    """Reads a source on its own thread, cuts it into Opus segments and spools them."""

    def __init__(
        self,
        source: AudioSource,
        spool: AudioSpool,
        *,
        segment_s: float = DEFAULT_SEGMENT_S,
        max_seconds: float | None = None,
        on_segment: Callable[[SpooledSegment], None] | None = None,
    ) -> None:
        self.source = source
        self.spool = spool
        self.segment_samples = max(BLOCK, round(segment_s * SAMPLE_RATE / BLOCK) * BLOCK)
        self.max_samples = None if max_seconds is None else round(max_seconds * SAMPLE_RATE)
        self.on_segment = on_segment
        self.segments = 0
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audio-capture", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        pending: list[Samples] = []
        pending_samples = 0
        first_ms = 0.0
        total = 0
        try:
            for block in self.source.blocks(self._stop):
                samples = block.samples
                if self.max_samples is not None:
                    samples = samples[: max(0, self.max_samples - total)]
                if not len(samples):
                    break
                if not pending:
                    first_ms = block.started_ms
                pending.append(samples)
                pending_samples += len(samples)
                total += len(samples)
                if pending_samples >= self.segment_samples:
                    self._flush(pending, first_ms)
                    pending, pending_samples = [], 0
            if pending_samples * 1000 // SAMPLE_RATE >= 20:
                self._flush(pending, first_ms)
        except AudioSourceError as exc:
            self.error = exc
            logger.error("audio capture stopped: %s", exc)
        except Exception as exc:  # the camera goes on whatever happens to the microphone
            self.error = exc
            logger.exception("audio capture failed")

    def _flush(self, parts: list[Samples], first_ms: float) -> None:
        samples = np.concatenate(parts)
        data = encode_opus(samples)
        duration_ms = len(samples) * 1000 // SAMPLE_RATE
        item = self.spool.add(data, round(first_ms), duration_ms)
        self.segments += 1
        if self.on_segment is not None:
            self.on_segment(item)


def segments_of(samples: Samples, segment_s: float) -> Iterator[tuple[int, Samples]]:
    """Cut a recording into ``(offset_ms, samples)`` segments of ``segment_s`` seconds."""
    size = max(BLOCK, round(segment_s * SAMPLE_RATE / BLOCK) * BLOCK)
    for start in range(0, len(samples), size):
        chunk = samples[start : start + size]
        if len(chunk) * 1000 // SAMPLE_RATE >= 20:
            yield start * 1000 // SAMPLE_RATE, chunk
