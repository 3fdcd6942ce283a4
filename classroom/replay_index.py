"""What a lesson's replay info needs (span, chapters, audio), kept per class and brought up to
date with only the events appended since.

``/replay/info`` folded the whole log on every request (0.35 s for a 53,000-event lesson, on a
worker thread, and a read of every event). This keeps a :class:`classroom.timeline.Outline` per
lesson, keyed by the seq it has folded: a request for a lesson nobody added to reads nothing
from the log, and one after new events reads and folds just those. At most ``size`` lessons are
kept (the least recently asked for goes first): an outline holds the lesson's folded state,
a few MB for a long lesson.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

from classroom.log import Event
from classroom.storage.base import Store
from classroom.timeline import Chapter, Outline

READ_PAGE = 2000
INLINE_EVENTS = 200  # fewer new events than this are folded on the loop: a thread costs more


@dataclass(frozen=True, slots=True)
class ReplayOutline:
    """One lesson's replay info as of event ``seq`` (never changed once made)."""

    seq: int
    start_ms: int | None
    duration_ms: int
    chapters: tuple[Chapter, ...]
    audio: tuple[Event, ...]


class _Kept:
    __slots__ = ("answer", "lock", "outline")

    def __init__(self, class_id: str) -> None:
        self.lock = asyncio.Lock()
        self.outline = Outline(class_id)
        self.answer = ReplayOutline(0, None, 0, (), ())


class ReplayIndex:
    """Each lesson's :class:`ReplayOutline`, for up to ``size`` lessons."""

    def __init__(self, store: Store, *, size: int = 8) -> None:
        self._store = store
        self._size = size
        self._kept: OrderedDict[str, _Kept] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    async def outline(self, class_id: str, head: int) -> ReplayOutline:
        """The lesson's outline with at least every event up to ``head`` (the seq the caller
        saw last) folded in; reads the log only past what was folded before."""
        kept = self._kept.get(class_id)
        if kept is None:
            kept = self._kept[class_id] = _Kept(class_id)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        self._kept.move_to_end(class_id)
        if kept.answer.seq >= head:
            return kept.answer
        async with kept.lock:
            line = kept.outline
            while line.seq < head:
                events = await self._store.read_after(class_id, line.seq, READ_PAGE)
                if len(events) < INLINE_EVENTS:
                    line.extend(events)
                else:
                    await asyncio.to_thread(line.extend, events)
                if len(events) < READ_PAGE:
                    break
            kept.answer = ReplayOutline(
                line.seq, line.start_ms, line.duration_ms, line.chapters, tuple(line.audio)
            )
            return kept.answer
