"""/replay/info is kept per lesson (classroom/replay_index.py): a second request reads nothing
from the log, a new event is folded in alone, and the answer equals the whole log's timeline."""

from __future__ import annotations

import random
from typing import Any

import pytest

from classroom import board, timeline
from classroom.log import Event
from classroom.storage.base import Store
from tests.classroom.test_replay import _get, _recorded
from tests.classroom.test_timeline import a_lesson
from tests.conftest import Running


class ReadCounter:
    """Counts what the real store's ``read_after`` is asked for and gives back (a spy)."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[int, int]] = []  # (after_seq, events returned)
        real = store.read_after

        async def read_after(class_id: str, after_seq: int, limit: int) -> list[Event]:
            events = await real(class_id, after_seq, limit)
            self.calls.append((after_seq, len(events)))
            return events

        monkeypatch.setattr(store, "read_after", read_after)

    @property
    def events_read(self) -> int:
        return sum(n for _, n in self.calls)


async def _log(store: Store, class_id: str) -> list[Event]:
    events: list[Event] = []
    while chunk := await store.read_after(class_id, events[-1].seq if events else 0, 500):
        events += chunk
    return events


def _expected(events: list[Event]) -> dict[str, Any]:
    line = timeline.Timeline(events)
    start = line.start_ms or 0
    return {
        "started_at": line.start_ms,
        "duration_ms": line.duration_ms,
        "head_seq": events[-1].seq,
        "chapters": [{**c.to_json(), "t_ms": c.ts - start} for c in line.chapters],
    }


async def test_a_second_info_reads_no_events_and_a_new_event_is_folded_in_alone(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls, teacher, ali, _ = await _recorded(running)
    class_id = str(cls["class_id"])
    store = running.services.store
    path = f"/api/classes/{class_id}/replay/info"
    token = running.teacher_token
    counter = ReadCounter(store, monkeypatch)

    status, first, _ = await _get(running, path, token)
    assert status == 200
    head = first["head_seq"]
    assert counter.events_read == head  # the first answer folds the log once
    whole = _expected(await _log(store, class_id))
    assert {k: first[k] for k in whole} == whole
    counter.calls.clear()
    status, second, _ = await _get(running, path, token)
    assert status == 200 and second == first
    assert counter.events_read == 0  # nothing read again

    # A new page and a switch to it: a new chapter, and only the new events are read.
    await teacher.ok("page_add", {"page_id": "page-3"})
    await teacher.ok("page_switch", {"page_id": "page-3"})
    counter.calls.clear()
    status, third, _ = await _get(running, path, token)
    assert status == 200
    assert third["head_seq"] > head
    assert all(after >= head for after, _ in counter.calls)
    assert counter.events_read == third["head_seq"] - head
    assert [c["title"] for c in third["chapters"] if c["kind"] == "page"][-1] == "Page 3"
    whole = _expected(await _log(store, class_id))
    assert {k: third[k] for k in whole} == whole
    for peer in (teacher, ali):
        await peer.disconnect()


def test_an_outline_folded_in_pieces_equals_the_whole_timeline() -> None:
    maker = a_lesson()  # pages, a poll, a quiz, a late keyframe
    pages = [board.FIRST_PAGE_ID]
    for number in range(12):
        maker.tick(700)
        maker.stroke(batches=8)
        if number % 3 == 0:
            pages.append(maker.add_page())
        maker.switch_page(pages[number % len(pages)])
        maker.keyframe(captured_ago_ms=number * 100)
    events = maker.events
    whole = timeline.Timeline(events)
    rng = random.Random(4)
    outline = timeline.Outline(events[0].class_id)
    at = 0
    while at < len(events):
        step = rng.randrange(1, 40)
        outline.extend(events[at : at + step])
        at += step
        line = timeline.Timeline(events[:at])
        assert (outline.start_ms, outline.duration_ms) == (line.start_ms, line.duration_ms)
        assert outline.chapters == line.chapters
        assert outline.seq == events[min(at, len(events)) - 1].seq
    assert outline.chapters == whole.chapters and len(whole.chapters) > 10
