"""A class runtime on every store: its own appends are applied from the append answer, every
event exactly once and in seq order, whether it came from that answer or from the feed."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from classroom.hub import ClassRuntime
from classroom.log import Actor, Event, NewEvent
from classroom.storage import Store, open_store

STUDENT = Actor("student", "s_1", "Ali")


@pytest.fixture
async def store(store_url: str, tmp_path: Path) -> AsyncIterator[Store]:
    instance = open_store(store_url, data_dir=tmp_path)
    await instance.open()
    yield instance
    await instance.close()


def note(n: int) -> NewEvent:
    return NewEvent(type="note", actor=STUDENT, data={"n": n})


class Emitted:
    """The fan-out of a runtime: the seqs it sent, in order."""

    def __init__(self) -> None:
        self.seqs: list[int] = []

    async def __call__(self, event: Event) -> None:
        self.seqs.append(event.seq)


async def started(class_id: str, store: Store, emitted: Emitted) -> ClassRuntime:
    runtime = ClassRuntime(class_id, store, emitted)
    await runtime.start()
    return runtime


async def test_own_append_is_live_without_the_feed(store: Store) -> None:
    class_id = f"c_{secrets.token_hex(6)}"
    emitted = Emitted()
    runtime = await started(class_id, store, emitted)
    try:
        # Cut the feed: whatever the runtime applies now came from the append answer.
        await store.unsubscribe(class_id, runtime)
        results = await store.append(class_id, [note(1), note(2)])
        await runtime.apply_appended([r.event for r in results])
        assert runtime.seq == 2
        assert emitted.seqs == [1, 2]
        assert [e.data["n"] for e in runtime.tail] == [1, 2]
    finally:
        await runtime.stop()


async def test_own_append_after_an_unseen_event_waits_for_it(store: Store) -> None:
    class_id = f"c_{secrets.token_hex(6)}"
    emitted = Emitted()
    runtime = await started(class_id, store, emitted)
    try:
        await store.unsubscribe(class_id, runtime)
        await store.append(class_id, [note(1)])  # another process's event, not seen here
        results = await store.append(class_id, [note(2)])
        await runtime.apply_appended([r.event for r in results])
        # Applying seq 2 would skip seq 1: the runtime leaves it to the feed.
        assert runtime.seq == 0
        assert emitted.seqs == []
    finally:
        await runtime.stop()


async def test_answers_and_feed_together_apply_each_event_once_in_order(store: Store) -> None:
    class_id = f"c_{secrets.token_hex(6)}"
    emitted = Emitted()
    runtime = await started(class_id, store, emitted)

    async def own(n: int) -> None:
        results = await store.append(class_id, [note(n)])
        await runtime.apply_appended([r.event for r in results])
        assert await runtime.wait_for(results[0].event.seq)
        assert runtime.seq >= results[0].event.seq

    async def other(n: int) -> None:
        await store.append(class_id, [note(n)])

    try:
        await asyncio.gather(*(own(n) if n % 3 else other(n) for n in range(60)))
        assert await runtime.wait_for(60)
        assert emitted.seqs == list(range(1, 61))
        assert [e.seq for e in runtime.tail] == list(range(1, 61))
        assert sorted(e.data["n"] for e in runtime.tail) == list(range(60))
    finally:
        await runtime.stop()
