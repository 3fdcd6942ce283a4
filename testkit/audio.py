"""Test sound: WAV files with beeps at known moments, made here (never downloaded), a beep
detector for the decoded lesson audio, and FFmpeg's own loudness meter to check ours against."""

from __future__ import annotations

import wave
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter
import numpy as np

RATE = 48_000
BEEP_HZ = 1000.0
BEEP_S = 0.08

Samples = np.ndarray[Any, np.dtype[np.float32]]


def beeps(seconds: float, at_s: Sequence[float], *, rate: int = RATE, seed: int = 1) -> Samples:
    """``seconds`` of quiet room noise with a short 1 kHz beep starting at each of ``at_s``."""
    rng = np.random.default_rng(seed)
    samples = (rng.standard_normal(round(seconds * rate)) * 0.003).astype(np.float32)
    n = round(BEEP_S * rate)
    tone = 0.5 * np.sin(2 * np.pi * BEEP_HZ * np.arange(n) / rate).astype(np.float32)
    for t in at_s:
        start = round(t * rate)
        samples[start : start + n] += tone[: len(samples) - start]
    return samples


def write_wav(path: Path, samples: Samples, *, rate: int = RATE) -> Path:
    """16-bit mono PCM WAV."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def onsets_s(samples: Samples, *, rate: int = RATE, threshold: float = 0.1) -> list[float]:
    """Where each beep starts (s): the first sample of a loud run after 0.3 s of quiet."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    found: list[float] = []
    last = -1e9
    for index in loud:
        if index - last > 0.3 * rate:
            found.append(float(index) / rate)
        last = float(index)
    return found


def other_codec_file(samples: Samples, codec: str, container: str) -> bytes:
    """``samples`` (mono, 48 kHz) in another codec (``flac``, ``vorbis``) and container, for
    tests that expect them refused."""
    import io

    out = io.BytesIO()
    with av.open(out, "w", format=container) as media:
        stream = media.add_stream(codec, rate=RATE, layout="mono")
        if not isinstance(stream, av.AudioStream):
            raise TypeError(f"{codec} is not an audio codec")
        formats = stream.codec_context.codec.audio_formats or []
        fmt = formats[0].name if formats else "flt"
        frame = av.AudioFrame(format="flt", layout="mono", samples=len(samples))
        frame.planes[0].update(samples.astype(np.float32).tobytes())
        frame.sample_rate = RATE
        frame.pts = 0
        resampler = av.AudioResampler(format=fmt, layout="mono", rate=RATE)
        for converted in resampler.resample(frame):
            for packet in stream.encode(converted):
                media.mux(packet)
        for packet in stream.encode(None):
            media.mux(packet)
    return out.getvalue()


def ebur128(samples: np.ndarray[Any, Any], rate: int) -> tuple[float, float]:
    """FFmpeg's ebur128 meter over mono samples ``(n,)``: (integrated LUFS, true peak dBTP)."""
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (n,), got {samples.shape}")
    graph = av.filter.Graph()
    src = graph.add_abuffer(
        format="flt", sample_rate=rate, layout="mono", time_base=Fraction(1, rate)
    )
    meter = graph.add("ebur128", "metadata=1:peak=true")
    sink = graph.add("abuffersink")
    src.link_to(meter)
    meter.link_to(sink)
    graph.configure()
    last, peak = "nan", "nan"
    for start in range(0, len(samples), rate):
        chunk = np.ascontiguousarray(samples[start : start + rate], np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        graph.push(frame)
        while True:
            try:
                got = graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                break
            last = got.metadata.get("lavfi.r128.I", last)
            peak = got.metadata.get("lavfi.r128.true_peak", peak)
    return float(last), 20 * float(np.log10(max(float(peak), 1e-12)))
