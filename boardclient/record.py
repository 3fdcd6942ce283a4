"""Record the processed board locally, crash-safely.

Layout of a recording directory::

    index.jsonl            one JSON object per line, appended, flushed and fsynced per entry
    keyframes/NNNN.png     enhanced keyframes (written to a temporary name, then renamed)
    board.png              the latest enhanced board (replaced atomically)

A recording killed at any moment keeps every keyframe already listed in the index; the index
never names a file that is not complete on disk, because the file is renamed into place
(and fsynced) before its line is appended.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from boardclient.geometry import ImageArray
from boardclient.pipeline import BoardPipeline, FrameResult, Keyframe, PipelineSettings

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


class SourceError(Exception):
    """A capture source cannot be opened or read."""


def iter_frames(source: str, *, fps: float = 10.0) -> Iterator[tuple[float, ImageArray]]:
    """Yield ``(t, frame)`` from a camera index, a video file or a folder of images.

    Parameters
    ----------
    source : str
        ``"0"`` (camera index), a video file path, or a directory of images (sorted by name).
    fps : float
        Frame rate assumed for image folders (and videos that do not report one).

    Yields
    ------
    t : float
        Seconds since the start.
    frame : (H, W, 3) uint8, BGR
    """
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise SourceError(f"no images in {source}")
        for i, file in enumerate(files):
            frame = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if frame is None:
                raise SourceError(f"cannot read image {file}")
            yield i / fps, np.asarray(frame, np.uint8)
        return
    is_camera = source.isdigit() and not path.exists()
    is_live = is_camera or "://" in source  # a camera or a network stream (RTSP, HTTP)
    capture = cv2.VideoCapture(int(source) if is_camera else source)
    if not capture.isOpened():
        raise SourceError(f"cannot open {'camera' if is_camera else 'video'} {source}")
    try:
        rate = capture.get(cv2.CAP_PROP_FPS) or fps
        start = time.monotonic()
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            t = time.monotonic() - start if is_live else index / rate
            index += 1
            yield t, np.asarray(frame, np.uint8)
    finally:
        capture.release()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_png_atomic(path: Path, image: ImageArray) -> None:
    """Write a PNG so that ``path`` is either absent, the old file, or complete."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"cannot encode {path}")
    write_bytes_atomic(path, buf.tobytes())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file, fsync it, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class RecordingIndex:
    """Append-only JSON-lines log, durable per entry."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def append(self, entry: dict[str, Any]) -> None:
        """Append one entry and make it durable before returning."""
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> RecordingIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_index(path: Path) -> list[dict[str, Any]]:
    """Entries of an index, ignoring a torn last line left by a crash."""
    entries: list[dict[str, Any]] = []
    if not path.exists():
        return entries
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


@dataclass
class RecordSummary:
    """What a recording produced."""

    frames: int = 0
    keyframes: int = 0
    snapshots: int = 0
    board_found: bool = False


class Recorder:
    """Write a pipeline's keyframes and latest board into a recording directory.

    Parameters
    ----------
    out_dir : Path
    pipeline : BoardPipeline
    snapshot_every : float
        Least seconds between rewrites of ``board.png``.
    """

    def __init__(self, out_dir: Path, pipeline: BoardPipeline, *, snapshot_every: float = 2.0):
        self.out_dir = out_dir
        self.pipeline = pipeline
        self.snapshot_every = snapshot_every
        (out_dir / "keyframes").mkdir(parents=True, exist_ok=True)
        self.index = RecordingIndex(out_dir / "index.jsonl")
        existing = read_index(out_dir / "index.jsonl")
        self._n_keyframes = sum(1 for e in existing if e.get("type") == "keyframe")
        self._last_snapshot = -float("inf")
        self._snapshot_due = False
        self.summary = RecordSummary()

    def feed(self, frame: ImageArray, t: float) -> FrameResult:
        """Process one frame, persist whatever it produced, and return the pipeline's result."""
        result = self.pipeline.process(frame, t)
        self.summary.frames += 1
        if result.has_board and not self.summary.board_found:
            self.summary.board_found = True
            quad = self.pipeline.quad
            self.index.append(
                {
                    "type": "board",
                    "t": round(t, 3),
                    "kind": self.pipeline.kind,
                    "corners": [] if quad is None else quad.corners.round(2).tolist(),
                    "confidence": None if quad is None else round(quad.confidence, 4),
                }
            )
        for keyframe in result.keyframes:
            self._write_keyframe(keyframe)
        self._snapshot_due |= result.snapshot_changed
        if self._snapshot_due and t - self._last_snapshot >= self.snapshot_every:
            board = self.pipeline.enhanced()
            if board is not None:
                write_png_atomic(self.out_dir / "board.png", board)
                self.summary.snapshots += 1
                self._last_snapshot = t
                self._snapshot_due = False
        return result

    def _write_keyframe(self, keyframe: Keyframe) -> None:
        self._n_keyframes += 1
        name = f"keyframes/{self._n_keyframes:04d}.png"
        write_png_atomic(self.out_dir / name, self.pipeline.enhance_keyframe(keyframe))
        self.index.append(
            {
                "type": "keyframe",
                "file": name,
                "t": round(keyframe.t, 3),
                "detected_at": round(keyframe.detected_at, 3),
                "reason": keyframe.reason,
            }
        )
        self.summary.keyframes += 1

    def close(self) -> list[Keyframe]:
        """Write the final board as a keyframe, close the index, and return that keyframe."""
        final = self.pipeline.finish()
        for keyframe in final:
            self._write_keyframe(keyframe)
        self.index.close()
        return final


def record(
    source: str,
    out_dir: Path,
    *,
    settings: PipelineSettings | None = None,
    fps: float = 10.0,
    max_seconds: float | None = None,
    on_frame: Callable[[float], None] | None = None,
) -> RecordSummary:
    """Record ``source`` into ``out_dir`` until it ends (or ``max_seconds``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(out_dir, BoardPipeline(settings))
    try:
        for t, frame in iter_frames(source, fps=fps):
            if max_seconds is not None and t > max_seconds:
                break
            recorder.feed(frame, t)
            if on_frame is not None:
                on_frame(t)
    finally:
        recorder.close()
    return recorder.summary
