"""Short recorded lessons with sound, for export tests and benches: real events (LessonMaker)
and a real Opus segment (speech-like voice, a tone, or none), as a :class:`LessonSource`."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from boardclient.audio import encode_opus
from classroom import audio as audio_feature
from classroom.export.source import LessonSource, from_events
from classroom.log import Actor, Proposed
from testkit.lessons import TEACHER, LessonMaker, student

RATE = 48_000
Sound = Literal["speech", "tone", "none"]

DETAILS = {
    "title": "کسور Fractions",
    "subject": "ریاضی Mathematics",
    "grade": "5",
    "languages": ["ur", "en"],
    "teacher_name": "Ms Amina",
    "description": "",
    "trim_start_ms": None,
    "trim_end_ms": None,
}


def speech_like(seconds: float, *, seed: int = 1, level: float = 0.25) -> np.ndarray[Any, Any]:
    """Voiced syllables (a wandering pitch with harmonics and breath noise) at ~4 a second,
    with pauses and room noise: loudness-wise like a teacher talking. Made 10 s at a time, so
    a long lesson's sound costs its float32 samples, not ten float64 copies."""
    rng = np.random.default_rng(seed)
    drift, syllables, pause_phase = rng.uniform(0, 6), rng.uniform(3.5, 4.5), rng.uniform(0, 6)
    n = round(seconds * RATE)
    out = np.empty(n, dtype=np.float32)
    phase0 = 0.0
    for lo in range(0, n, 10 * RATE):
        t = np.arange(lo, min(n, lo + 10 * RATE)) / RATE
        pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t + drift)
        phase = phase0 + 2 * np.pi * np.cumsum(pitch) / RATE
        phase0 = float(phase[-1])
        voice = sum(np.sin(k * phase) / k for k in range(1, 8)) + 0.3 * rng.standard_normal(len(t))
        envelope = np.clip(np.sin(2 * np.pi * syllables * t), 0, None) ** 2
        pauses = np.sin(2 * np.pi * 0.25 * t + pause_phase) > -0.6
        room = 0.004 * rng.standard_normal(len(t))
        out[lo : lo + len(t)] = level * voice * envelope * pauses + room
    return out


def tone(seconds: float, *, hz: float = 440.0, dbfs: float = -30.0) -> np.ndarray[Any, Any]:
    t = np.arange(round(seconds * RATE)) / RATE
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def lesson_with_sound(
    seconds: float,
    *,
    sound: Sound = "speech",
    strokes_per_second: float = 2.0,
    seed: int = 1,
    class_id: str = "c1",
) -> LessonSource:
    """A lesson of ``seconds``: a student joins, the teacher draws strokes throughout, one
    audio segment covers the lesson from its start; the lesson's details are set."""
    maker = LessonMaker(class_id, seed=seed)
    maker.join(student(1))
    start = maker.now
    assets: dict[str, tuple[str, bytes]] = {}
    if sound != "none":
        samples = speech_like(seconds, seed=seed) if sound == "speech" else tone(seconds)
        segment_id = "seg1"
        asset_id = audio_feature.asset_id(segment_id)
        assets[asset_id] = ("audio/ogg", encode_opus(samples))
        data = {
            "segment_id": segment_id,
            "asset_id": asset_id,
            "captured_at_ms": start,
            "duration_ms": round(seconds * 1000),
            "codec": "opus",
            "container": "ogg",
            "sample_rate": RATE,
            "channels": 1,
        }
        maker.commit(Actor("board", "mic1", "Classroom PC"), [Proposed("audio_added", data)])
    maker.commit(TEACHER, [Proposed("lesson_details_updated", dict(DETAILS))])
    step = round(1000 / strokes_per_second)
    while maker.now + step <= start + seconds * 1000:
        maker.tick(step)
        maker.stroke(batches=2, points=4)
    maker.now = start + round(seconds * 1000)
    maker.tick(0)
    maker.stroke(batches=1, points=2)  # the lesson's last moment
    return from_events(maker.events, class_id=class_id, assets=assets)
