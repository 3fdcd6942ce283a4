"""The synthetic 30-minute lesson of the benchmarks (``bench/replay.py``, ``bench/export.py``).

``make_lesson`` plays it through the real ``propose_*`` functions (:class:`LessonMaker`): 2,000
strokes over 10 pages, 3 polls, a 5-question quiz, a camera keyframe at every page switch, 30
students, and speech-like voice as 3-second Opus segments like ``boardclient --audio`` sends.
``write_lesson`` puts it into a real SQLite store with its own times.
"""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from boardclient.audio import encode_opus
from classroom import audio as audio_feature
from classroom import board, classes
from classroom.classes import ClassRecord
from classroom.log import Actor, Event, Proposed
from classroom.storage.base import Store
from testkit import programmes
from testkit.lessons import LessonMaker, student

RATE = 48_000
SEGMENT_MS = 3000
LESSON_MS = 30 * 60 * 1000
TEACHER = "amina"


def speech_like(seconds: float, seed: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Voiced syllables at ~4 a second, with pauses (``testkit.programmes.speech_like``)."""
    samples: np.ndarray[Any, np.dtype[np.float32]] = programmes.speech_like(seconds, seed=seed)
    return samples


def make_lesson(
    class_id: str, strokes: int, *, with_audio: bool, distinct_audio: int, seed: int = 1
) -> tuple[list[Event], dict[str, bytes]]:
    """The lesson's events (with their own times) and its audio assets."""
    maker = LessonMaker(class_id, seed=seed)
    rng = random.Random(seed)
    pupils = [student(n) for n in range(1, 31)]
    for actor in pupils:
        maker.join(actor)
    pages = [board.FIRST_PAGE_ID] + [maker.add_page() for _ in range(9)]
    maker.switch_page(board.FIRST_PAGE_ID)
    start = maker.now
    length = LESSON_MS * strokes // 2000
    step = length // strokes
    polls_at = {strokes * k // 4 for k in (1, 2, 3)}
    quiz_at = strokes * 7 // 8
    encoded = [
        encode_opus(speech_like(SEGMENT_MS / 1000, n))
        for n in range(distinct_audio if with_audio else 0)
    ]
    assets: dict[str, bytes] = {}
    device = Actor("board", "mic1", "Classroom PC")
    next_audio = start + SEGMENT_MS

    def audio_until(now: int) -> None:
        nonlocal next_audio
        while with_audio and next_audio <= now:
            number = len(assets)
            segment_id = f"seg{number}"
            asset_id = audio_feature.asset_id(segment_id)
            assets[asset_id] = encoded[number % len(encoded)]
            data = {
                "segment_id": segment_id,
                "asset_id": asset_id,
                "captured_at_ms": next_audio - SEGMENT_MS,
                "duration_ms": SEGMENT_MS,
                "codec": "opus",
                "container": "ogg",
                "sample_rate": RATE,
                "channels": 1,
            }
            maker.commit(device, [Proposed("audio_added", data)])
            next_audio += SEGMENT_MS

    for number in range(strokes):
        target = start + number * step
        maker.now = max(maker.now, target)
        audio_until(maker.now)
        if number and number % (strokes // 10) == 0:
            maker.switch_page(pages[(number // (strokes // 10)) % 10])
            maker.keyframe(captured_ago_ms=200)
        if number in polls_at:
            maker.poll("کیا آپ سمجھ گئے؟ Did you understand?", ["ہاں", "نہیں"], pupils)
        if number == quiz_at:
            maker.quiz([f"{a} x {a + 1}?" for a in range(3, 8)], pupils[:20])
        maker.stroke(batches=rng.randrange(4, 14), points=3)
    maker.now = max(maker.now, start + length)
    audio_until(maker.now)
    return maker.events, assets


async def write_lesson(
    store: Store,
    db: Path,
    class_id: str,
    events: list[Event],
    assets: dict[str, bytes],
    *,
    teacher: str = TEACHER,
    title: str = "Fractions",
    ended: bool = True,
) -> None:
    """Store the lesson with its own times: the class through the store, the events straight
    into the SQLite file ``db`` (the store's ``append`` would stamp them with now)."""
    await store.create_class(
        ClassRecord(
            id=class_id,
            teacher=teacher,
            title=title,
            join_code=classes.new_join_code(),
            created_at=events[0].ts,
        )
    )
    for asset_id, data in assets.items():
        await store.put_asset(class_id, asset_id, "audio/ogg", data)
    rows = [
        (
            class_id,
            e.seq,
            e.actor.role,
            e.actor.id,
            None,
            json.dumps(e.to_record(), ensure_ascii=False, separators=(",", ":")),
        )
        for e in events
    ]
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
    if ended:
        await store.mark_class_ended(class_id, events[-1].ts)


async def store_lesson(
    store: Store,
    db: Path,
    events: list[Event],
    assets: dict[str, tuple[str, bytes]] | None = None,
    *,
    teacher: str = TEACHER,
    class_id: str | None = None,
) -> str:
    """Store a lesson made in memory (a :class:`LessonMaker`'s events) under ``class_id``
    (default: the events' own); answers the class id."""
    cid = class_id or events[0].class_id
    if cid != events[0].class_id:
        events = [
            Event(cid, e.seq, e.type, e.actor, e.ts, e.data, audience=e.audience) for e in events
        ]
    await write_lesson(
        store, db, cid, events, {k: v for k, (_, v) in (assets or {}).items()}, teacher=teacher
    )
    return cid
