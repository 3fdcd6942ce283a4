"""The library's catalog: the published lessons of this server, found from their logs.

Where to look is the ``~library`` log (:data:`classroom.library.LIBRARY_LOG`): one
``library_listed`` event per lesson published here or imported, read incrementally. Whether a
listed lesson is in the library is its own log's word (its last ``lesson_published``), folded
by :class:`classroom.lesson_index.LessonIndex`; so a lesson taken out of the library is gone
from the next answer, also in the other processes sharing a Redis store.

A lesson is listed *before* it is published (``classroom/handlers/lessons.py``), so a crash
between the two appends leaves a listed lesson that is not published, never the reverse. Lessons
published before that order was kept may have been left unlisted by such a crash: once per store,
:meth:`Catalog.reconcile` looks at every class and lists the published ones it misses, then marks
the index (``library_reconciled``) so later starts skip it.

The catalog is refreshed at most every :data:`REFRESH_S` seconds (a library answer is a read of
memory, not of every log), and a refresh reads only the index's new events and the lessons they
name: a publish, a withdrawal or new details of a published lesson append a ``library_listed``
for it after its own event (:meth:`Catalog.touch`), so the other processes sharing a Redis store
look at that lesson again, and nothing else. Every :data:`RECHECK_S` seconds each listed lesson
is looked at once more (what changed without a touch: audio attached later, a touch lost in a
crash). A change in this process refreshes at once. Each entry keeps
what a search needs (its normalised details and board text); the library view of a log is
made on demand and kept for the few lessons being watched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from classroom import lessons, library
from classroom.errors import ClassroomError, NotFound
from classroom.lesson_index import LessonIndex
from classroom.log import Actor, Event, NewEvent
from classroom.storage.base import Store

REFRESH_S = 1.0
RECHECK_S = 60.0
READ_CHUNK = 2000
VIEWS_KEPT = 8
LISTER = Actor("teacher", "~library")
LISTED = "library_listed"
RECONCILED = "library_reconciled"
RECONCILE_PAGE = 200

logger = logging.getLogger(__name__)


@dataclass
class Entry:
    """One published lesson: its public summary, search text and the assets its replay uses."""

    class_id: str
    seq: int  # the lesson's last event when this was made
    summary: dict[str, Any]
    text: str
    assets: frozenset[str] = field(default_factory=frozenset)


def _origin(raw: bytes) -> dict[str, Any]:
    try:
        found = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return found if isinstance(found, dict) else {}


class Catalog:
    """The published lessons of the store, newest first."""

    def __init__(
        self,
        store: Store,
        index: LessonIndex,
        *,
        school: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._index = index
        self._school = school
        self._clock = clock
        self._listed: dict[str, None] = {}
        self._dirty: set[str] = set()  # listed lessons to look at on the next refresh
        self._rechecked_at = float("-inf")
        self._listed_seq = 0
        self._reconciled = False
        self._reconciling: asyncio.Task[None] | None = None
        self._entries: dict[str, Entry] = {}
        self._refreshed_at = float("-inf")
        self._lock = asyncio.Lock()
        self._views: OrderedDict[tuple[str, int], list[Event]] = OrderedDict()

    async def list_lesson(self, class_id: str) -> None:
        """Make sure ``class_id`` is in the library's index (after it was published)."""
        await self._read_index()
        if class_id not in self._listed:
            await self._store.append(
                library.LIBRARY_LOG, [NewEvent(LISTED, LISTER, {"class_id": class_id})]
            )
        self.changed(class_id)

    async def touch(self, class_id: str) -> None:
        """``class_id`` was published, taken out or its details changed: every process sharing
        the store looks at it again on its next refresh.

        After the lesson's own event is stored: a failure here is logged, not the writer's
        (this process looks at it at once, the others at their next recheck)."""
        self.changed(class_id)
        try:
            await self._store.append(
                library.LIBRARY_LOG, [NewEvent(LISTED, LISTER, {"class_id": class_id})]
            )
        except ClassroomError as exc:
            logger.warning("library: could not mark %s as changed: %s", class_id, exc.message)

    def changed(self, class_id: str) -> None:
        """``class_id`` changed in this process: look at it on the next read."""
        self._dirty.add(class_id)
        self._refreshed_at = float("-inf")

    async def _read_index(self) -> None:
        while True:
            events = await self._store.read_after(library.LIBRARY_LOG, self._listed_seq, 1000)
            for event in events:
                self._listed_seq = max(self._listed_seq, event.seq)
                if event.type == LISTED:
                    class_id = str(event.data.get("class_id", ""))
                    self._listed[class_id] = None
                    self._dirty.add(class_id)
                elif event.type == RECONCILED:
                    self._reconciled = True
            if len(events) < 1000:
                return

    def open(self) -> None:
        """Start :meth:`reconcile` in the background (a server at start), then build every
        published lesson's entry, so the first visitor after a start does not wait for that
        (a second for a few long lessons)."""
        self._reconciling = asyncio.create_task(self._reconcile_logged())

    async def close(self) -> None:
        if self._reconciling is not None:
            self._reconciling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconciling

    async def reconciled(self) -> None:
        """Wait for the background :meth:`reconcile` started by :meth:`open`."""
        if self._reconciling is not None:
            await asyncio.shield(self._reconciling)

    async def _reconcile_logged(self) -> None:
        # A failure (the store unreachable at start) is logged; the next start tries again.
        try:
            await self.reconcile()
        except Exception:
            logger.exception("library: the check for unlisted published lessons failed")
        try:
            logger.info("library: %d published lessons ready", len(await self.entries()))
        except Exception:
            logger.exception("library: the published lessons could not be read at start")

    async def reconcile(self) -> list[str]:
        """List every published lesson of the store the index misses (see module docstring):
        the ids listed now. Once per store; a server runs it in the background at start."""
        await self._read_index()
        if self._reconciled:
            return []
        found: list[str] = []
        for teacher in await self._store.teacher_names():
            before: tuple[int, str] | None = None
            while True:
                records = await self._store.list_classes(
                    teacher, limit=RECONCILE_PAGE, before=before
                )
                for record in records:
                    if record.practice or record.id in self._listed:
                        continue
                    if (await self._index.state(record.id)).published:
                        await self.list_lesson(record.id)
                        found.append(record.id)
                if len(records) < RECONCILE_PAGE:
                    break
                before = (records[-1].created_at, records[-1].id)
        await self._store.append(
            library.LIBRARY_LOG, [NewEvent(RECONCILED, LISTER, {"listed": len(found)})]
        )
        self._reconciled = True
        if found:
            logger.warning("library: listed %d published lessons it had missed", len(found))
        return found

    async def entries(self) -> list[Entry]:
        """Every published lesson, newest published first (refreshed at most every REFRESH_S)."""
        async with self._lock:
            if self._clock() - self._refreshed_at >= REFRESH_S:
                await self._refresh()
                self._refreshed_at = self._clock()
            found = list(self._entries.values())
        found.sort(key=lambda e: (e.summary.get("published_at") or 0, e.class_id), reverse=True)
        return found

    async def _refresh(self) -> None:
        await self._read_index()
        if self._clock() - self._rechecked_at >= RECHECK_S:
            self._dirty.update(self._listed)
            self._rechecked_at = self._clock()
        dirty = [class_id for class_id in self._listed if class_id in self._dirty]
        self._dirty.clear()  # an id not listed (taken out before it was ever listed) goes too
        for n, class_id in enumerate(dirty):
            try:
                await self._look_at(class_id)
            except BaseException:
                self._dirty.update(dirty[n:])  # looked at on the next refresh
                raise

    async def _look_at(self, class_id: str) -> None:
        state = await self._index.state(class_id)
        kept = self._entries.get(class_id)
        if not state.published:
            self._entries.pop(class_id, None)
            return
        if kept is not None and kept.seq == state.seq:
            return
        entry = await self._entry(class_id, state)
        if entry is None:
            self._entries.pop(class_id, None)
        else:
            self._entries[class_id] = entry

    async def _entry(self, class_id: str, state: lessons.LessonState) -> Entry | None:
        record = await self._store.get_class(class_id)
        if record is None:
            return None
        view = await self.view(class_id, state.seq)
        summary = lessons.lesson_summary(record, state, school=self._school)
        if record.teacher == library.IMPORTED_TEACHER:
            # A lesson from another school shows that school and its teacher, not ours.
            marker = await self._store.get_asset(class_id, library.ORIGIN_ASSET)
            origin = _origin(marker[1]) if marker is not None else {}
            summary["school"] = str(origin.get("school", ""))
            if not (state.details or {}).get("teacher_name"):
                summary["teacher_name"] = str(origin.get("teacher_name", ""))
        return Entry(
            class_id=class_id,
            seq=state.seq,
            summary=library.public_summary(summary),
            text=library.search_text(summary, library.board_text(view)),
            assets=frozenset(library.referenced_assets(view)),
        )

    async def view(self, class_id: str, seq: int) -> list[Event]:
        """The library view of the lesson's log up to ``seq`` (kept for a few lessons)."""
        key = (class_id, seq)
        kept = self._views.get(key)
        if kept is not None:
            self._views.move_to_end(key)
            return kept
        events: list[Event] = []
        after = 0
        while after < seq:
            chunk = await self._store.read_after(class_id, after, min(READ_CHUNK, seq - after))
            if not chunk:
                break
            events.extend(chunk)
            after = chunk[-1].seq
            await asyncio.sleep(0)
        shown = await asyncio.to_thread(library.library_events, events)
        self._views[key] = shown
        while len(self._views) > VIEWS_KEPT:
            self._views.popitem(last=False)
        return shown

    async def get(self, class_id: str) -> Entry:
        """A published lesson, or NOT_FOUND: the same answer for an unpublished lesson as for
        an id that never existed, so guessing ids tells nothing."""
        if len(class_id) <= 64:
            for entry in await self.entries():
                if entry.class_id == class_id:
                    return entry
        raise NotFound("no such lesson in the library")

    async def search(self, filters: library.Filters) -> list[Entry]:
        return [e for e in await self.entries() if library.matches(e.summary, e.text, filters)]
