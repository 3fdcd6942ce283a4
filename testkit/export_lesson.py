"""A short recorded lesson for export tests: real events from a :class:`LessonMaker`, real Opus
audio segments, trim points, and chapters of every kind (pages, a poll, a quiz question, a board
photo), some of them outside the trimmed programme."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from boardclient.audio import encode_opus
from classroom import audio as audio_feature
from classroom import lessons
from classroom.export import source as export_source
from classroom.log import Actor, Proposed
from classroom.protocol.lessons import LessonDetails
from testkit import programmes
from testkit.lessons import TEACHER, LessonMaker, student

RATE = 48_000
SEGMENT_MS = 3000
POLL_QUESTION = "کیا آپ سمجھ گئے؟"
QUIZ_QUESTION = "7 x 8 = ?"


def voice(seconds: float, seed: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """A teacher's voice: ``testkit.programmes.speech_like`` (voiced syllables at ~4 a second
    with pauses, peaking ~18 dB over its loudness like real speech), the bench lesson's voice."""
    samples: np.ndarray[Any, np.dtype[np.float32]] = programmes.speech_like(seconds, seed=seed)
    return samples


def gentle_voice(seconds: float, seed: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Syllable-like bursts of a harmonic tone with a little noise (~4 a second), no pauses:
    a voice with gentler peaks than :func:`voice`."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    pitch = 150 + 25 * np.sin(2 * np.pi * 0.6 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    tone = np.zeros(n)
    for k in range(1, 6):
        tone += np.sin(k * phase) / k
    tone += 0.2 * rng.standard_normal(n)
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    samples: np.ndarray[Any, np.dtype[np.float32]] = (
        0.2 * tone * envelope + 0.003 * rng.standard_normal(n)
    ).astype(np.float32)
    return samples


@dataclass(frozen=True)
class ShortLesson:
    source: export_source.LessonSource
    trim_start_ms: int
    trim_end_ms: int


def short_lesson(
    seconds: float = 13.0, *, with_audio: bool = True, lead_ms: int = 1500, tail_ms: int = 1500
) -> ShortLesson:
    """About ``seconds`` of programme between trim points ``lead_ms`` after the first event and
    ``tail_ms`` before the last one; chapters before, inside and after the programme."""
    maker = LessonMaker("c_export", seed=3)
    first = maker.now
    pupils = [student(n) for n in (1, 2)]
    for pupil in pupils:
        maker.join(pupil)
    total_ms = lead_ms + round(seconds * 1000) + tail_ms
    segments: list[tuple[int, bytes]] = []
    if with_audio:
        for index, at in enumerate(range(0, total_ms, SEGMENT_MS)):
            segments.append((first + at, encode_opus(voice(SEGMENT_MS / 1000, index))))
    maker.stroke(batches=4)
    maker.tick(max(0, lead_ms - 700))
    # A page shown (adding one shows it) before the programme starts: the programme opens on it.
    maker.add_page()
    maker.tick(700 + 800)
    maker.stroke(batches=6)
    maker.poll(POLL_QUESTION, ["ہاں", "نہیں"], pupils)
    maker.tick(600)
    maker.keyframe(captured_ago_ms=100)
    maker.stroke(batches=8)
    maker.quiz([QUIZ_QUESTION], pupils[:1])
    end_at = first + total_ms
    while maker.now < end_at - tail_ms - 1200:
        maker.tick(400)
        maker.stroke(batches=3)
    maker.tick(max(0, end_at - tail_ms - maker.now + 300))
    # A page shown after the programme ends: not a chapter of it.
    maker.add_page()
    maker.tick(max(0, end_at - maker.now))
    maker.stroke(batches=1)
    device = Actor("board", "cam1", "Board camera")
    assets: dict[str, tuple[str, bytes]] = {}
    for index, (at, data) in enumerate(segments):
        segment_id = f"au-{index}"
        asset_id = audio_feature.asset_id(segment_id)
        event_data = {
            "segment_id": segment_id,
            "asset_id": asset_id,
            "captured_at_ms": at,
            "duration_ms": SEGMENT_MS,
            "codec": "opus",
            "container": "ogg",
            "sample_rate": RATE,
            "channels": 1,
        }
        maker.commit(device, [Proposed("audio_added", event_data)])
        assets[asset_id] = ("audio/ogg", data)
    length = maker.now - first
    trim_end = length - tail_ms
    details = LessonDetails.model_validate(
        {
            "title": "ضرب کے پہاڑے",
            "languages": ["ur"],
            "trim_start_ms": lead_ms,
            "trim_end_ms": trim_end,
        }
    )
    maker.commit(TEACHER, [Proposed("lesson_details_updated", lessons.details_data(details))])
    source = export_source.from_events(maker.events, assets=assets)
    return ShortLesson(source, lead_ms, trim_end)
