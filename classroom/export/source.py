"""What an export reads: one class's whole log, its details and the bytes it refers to.

Loaded once from the store (:func:`load`), or made from events in memory (:func:`from_events`,
for tests and benches), then handed to the writers, which never touch the store. The
programme is the lesson between its trim points: ``start_ms``-``end_ms`` on the timeline's
clock (server ms); a writer's time 0 is ``start_ms``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from classroom import lessons, timeline
from classroom.classes import ClassRecord
from classroom.errors import NotFound, NothingToExport
from classroom.log import Event
from classroom.storage.base import Store

READ_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class AudioPiece:
    """One recorded audio segment: where it sits on the lesson clock and its encoded bytes."""

    segment_id: str
    captured_at_ms: int  # lesson clock (server ms) of its first sample
    duration_ms: int
    container: str  # "ogg", "webm", ... as stored
    data: bytes


@dataclass
class LessonSource:
    class_id: str
    events: tuple[Event, ...]
    record: ClassRecord | None = None
    school: str = ""
    assets: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)  # id -> (type, bytes)
    _timeline: timeline.Timeline | None = field(default=None, repr=False)
    _lesson: lessons.LessonState | None = field(default=None, repr=False)

    @property
    def timeline(self) -> timeline.Timeline:
        if self._timeline is None:
            self._timeline = timeline.Timeline(self.events, class_id=self.class_id)
        return self._timeline

    @property
    def lesson(self) -> lessons.LessonState:
        if self._lesson is None:
            state = lessons.LessonState()
            for event in self.events:
                lessons.apply(state, event)
            self._lesson = state
        return self._lesson

    @property
    def summary(self) -> dict[str, Any]:
        """The lesson's details as ``/api/lessons`` shows them (title, teacher, subject, ...)."""
        record = self.record or ClassRecord(
            self.class_id, "", self.class_id, "", self.lesson.started_at or 0
        )
        return lessons.lesson_summary(record, self.lesson, school=self.school)

    @property
    def start_ms(self) -> int:
        """The programme's first moment on the lesson clock (the start trim point applied)."""
        first = self.timeline.start_ms or 0
        trim = self.summary.get("trim_start_ms")
        return first + int(trim) if trim is not None else first

    @property
    def end_ms(self) -> int:
        """The programme's last moment on the lesson clock (the end trim point applied)."""
        first = self.timeline.start_ms or 0
        trim = self.summary.get("trim_end_ms")
        if trim is not None:
            return first + int(trim)
        return first + lessons.duration_ms(self.lesson)

    @property
    def duration_ms(self) -> int:
        return max(0, self.end_ms - self.start_ms)

    def audio(self) -> list[AudioPiece]:
        """The lesson's audio segments in capture order (those whose bytes were found)."""
        pieces = []
        for data in self.timeline.final.part("audio").segments:
            stored = self.assets.get(str(data["asset_id"]))
            if stored is None:
                continue
            pieces.append(
                AudioPiece(
                    segment_id=str(data["segment_id"]),
                    captured_at_ms=int(data["captured_at_ms"]),
                    duration_ms=int(data["duration_ms"]),
                    container=str(data.get("container", "")),
                    data=stored[1],
                )
            )
        return pieces

    def asset(self, asset_id: str) -> bytes | None:
        stored = self.assets.get(asset_id)
        return stored[1] if stored is not None else None


def from_events(
    events: Iterable[Event],
    *,
    class_id: str | None = None,
    record: ClassRecord | None = None,
    school: str = "",
    assets: Mapping[str, tuple[str, bytes]] | None = None,
) -> LessonSource:
    listed = tuple(events)
    if not listed:
        raise NothingToExport("the lesson has no events: nothing to export")
    cid = class_id or (record.id if record else listed[0].class_id)
    return LessonSource(cid, listed, record=record, school=school, assets=dict(assets or {}))


def _referenced_assets(events: Iterable[Event]) -> set[str]:
    """Every asset id the log names: audio segments, keyframes, camera views, backgrounds."""
    wanted: set[str] = set()
    for event in events:
        data = event.data
        asset_id = data.get("asset_id")
        if isinstance(asset_id, str):
            wanted.add(asset_id)
        background = data.get("background")
        if isinstance(background, dict) and isinstance(background.get("image"), str):
            wanted.add(background["image"])
        image = data.get("image")
        if isinstance(image, str) and len(image) < 200:
            wanted.add(image)
    return wanted


async def load(store: Store, class_id: str, *, school: str = "") -> LessonSource:
    """Read a class's log and the assets it names (NotFound, NothingToExport)."""
    record = await store.get_class(class_id)
    if record is None:
        raise NotFound(f"no class {class_id!r}", field="class_id")
    events: list[Event] = []
    while True:
        chunk = await store.read_after(class_id, events[-1].seq if events else 0, READ_CHUNK)
        events.extend(chunk)
        if len(chunk) < READ_CHUNK:
            break
        await asyncio.sleep(0)
    assets: dict[str, tuple[str, bytes]] = {}
    for asset_id in sorted(_referenced_assets(events)):
        stored = await store.get_asset(class_id, asset_id)
        if stored is not None:
            assets[asset_id] = stored
    source = from_events(events, class_id=class_id, record=record, school=school, assets=assets)
    # The timeline's fold is CPU work: build it off the caller's loop.
    await asyncio.to_thread(functools.partial(getattr, source, "timeline"))
    return source
