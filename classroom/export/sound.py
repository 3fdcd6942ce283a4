"""The programme's sound: the lesson's audio segments decoded and laid on its clock.

Segments are placed at their capture time (``captured_at_ms``) relative to the programme's
start; gaps are digital silence; where two overlap (two devices recorded at once) they add.
"""

from __future__ import annotations

import io
from typing import Any

import av
import numpy as np

from classroom.export.source import AudioPiece, LessonSource

Samples = np.ndarray[Any, np.dtype[np.float32]]  # mono, -1.0..1.0


def decode_piece(piece: AudioPiece, rate: int) -> Samples:
    """One segment as mono float samples at ``rate`` Hz (empty if it does not decode)."""
    chunks: list[Samples] = []
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    try:
        with av.open(io.BytesIO(piece.data), mode="r") as container:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    except av.error.FFmpegError:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def lesson_audio(source: LessonSource, *, rate: int = 48000, length: int | None = None) -> Samples:
    """The whole programme's sound, ``duration_ms`` long (or ``length`` samples: cut, or filled
    out with silence), as mono float samples: one buffer, each segment decoded on its own."""
    total = round(source.duration_ms * rate / 1000) if length is None else length
    out = np.zeros(total, dtype=np.float32)
    for piece in source.audio():
        samples = decode_piece(piece, rate)
        begin = round((piece.captured_at_ms - source.start_ms) * rate / 1000)
        lo, hi = max(0, begin), min(total, begin + len(samples))
        if hi > lo:
            out[lo:hi] += samples[lo - begin : hi - begin]
    np.clip(out, -1.0, 1.0, out=out)
    return out
