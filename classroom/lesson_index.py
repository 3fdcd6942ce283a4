"""The lessons of a teacher's list, folded from their logs without loading their classes.

Loading a class (``Hub.get``) folds its whole log into every feature's state: ~13 s for a page
of 20 lessons of 8,000 events each, measured, most of it the board. A list needs only each
lesson's small :class:`classroom.lessons.LessonState`, so this folds just that, remembers it
with its seq, and next time folds only the events appended since. A class loaded in this
process answers from its live state.
"""

from __future__ import annotations

import asyncio
import copy
from collections import OrderedDict

from classroom import lessons
from classroom.hub import Hub
from classroom.storage.base import Store

READ_PAGE = 500


class LessonIndex:
    """Each lesson's :class:`~classroom.lessons.LessonState`, kept for up to ``size`` lessons."""

    def __init__(self, store: Store, hub: Hub, *, size: int = 2000) -> None:
        self._store = store
        self._hub = hub
        self._size = size
        self._kept: OrderedDict[str, lessons.LessonState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    async def state(self, class_id: str) -> lessons.LessonState:
        """The lesson's state as of its newest event (a copy: the caller may keep it)."""
        runtime = self._hub.loaded(class_id)
        if runtime is not None:
            live: lessons.LessonState = runtime.state.part("lesson")
            return copy.deepcopy(live)
        state = self._kept.pop(class_id, None) or lessons.LessonState()
        while True:
            events = await self._store.read_after(class_id, state.seq, READ_PAGE)
            for event in events:
                lessons.apply(state, event)
            if len(events) < READ_PAGE:
                break
            await asyncio.sleep(0)  # a long log is read a page at a time: the ink goes first
        self._kept[class_id] = state
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return copy.deepcopy(state)
