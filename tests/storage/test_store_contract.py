"""One contract, every backend: SQLite files, a real Redis server and a real Redis Cluster."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from classroom.classes import ClassRecord, DeviceRecord, StudentRecord, TeacherRecord
from classroom.errors import Conflict
from classroom.log import Actor, Event, NewEvent
from classroom.storage import Store, open_store

TEACHER = Actor("teacher", "amina", "amina")
STUDENT = Actor("student", "s_1", "Ali")


class Recorder:
    """A feed listener that records deliveries and resync calls."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.resyncs = 0
        self.changed = asyncio.Event()

    def deliver(self, event: Event) -> None:
        self.events.append(event)
        self.changed.set()

    def resync(self) -> None:
        self.resyncs += 1

    async def wait_for_count(self, count: int, timeout: float = 10) -> None:
        async def wait() -> None:
            while len(self.events) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), timeout)


@pytest.fixture(params=["sqlite", "redis", "cluster"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every backend: a SQLite file, one Redis server, a Redis Cluster of 3 masters."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'takhti.sqlite3'}"
    return str(request.getfixturevalue("redis_url" if request.param == "redis" else "cluster_url"))


@pytest.fixture
async def store(store_url: str, tmp_path: Path) -> AsyncIterator[Store]:
    instance = open_store(store_url, data_dir=tmp_path)
    await instance.open()
    yield instance
    await instance.close()


def cid() -> str:
    return f"c_{secrets.token_hex(6)}"


def new(
    kind: str, actor: Actor = TEACHER, client_id: str | None = None, **data: object
) -> NewEvent:
    return NewEvent(type=kind, actor=actor, data=dict(data), client_id=client_id)


async def test_seqs_start_at_one_and_have_no_gaps(store: Store) -> None:
    class_id = cid()
    assert await store.head(class_id) == 0
    first = await store.append(class_id, [new("hand_raised", n=1), new("hand_raised", n=2)])
    second = await store.append(class_id, [new("hand_raised", n=3)])
    assert [r.event.seq for r in first + second] == [1, 2, 3]
    assert await store.head(class_id) == 3
    events = await store.read_after(class_id, 0, 100)
    assert [(e.seq, e.data["n"]) for e in events] == [(1, 1), (2, 2), (3, 3)]
    assert [e.seq for e in await store.read_after(class_id, 1, 1)] == [2]
    assert await store.read_after(class_id, 3, 10) == []


async def test_classes_have_separate_logs(store: Store) -> None:
    a, b = cid(), cid()
    await store.append(a, [new("x")])
    await store.append(b, [new("y"), new("y")])
    assert (await store.head(a), await store.head(b)) == (1, 2)


async def test_event_round_trips_every_field(store: Store) -> None:
    class_id = cid()
    original = NewEvent(
        type="stroke_started",
        actor=STUDENT,
        client_id="k-1",
        data={"points": [[1.5, 2.25, 0.5]], "text": "سلام", "nested": {"a": None}},
        audience="author",
    )
    [result] = await store.append(class_id, [original])
    [stored] = await store.read_after(class_id, 0, 10)
    assert stored == result.event
    assert (stored.type, stored.actor, stored.client_id, stored.audience, stored.data) == (
        "stroke_started",
        STUDENT,
        "k-1",
        "author",
        original.data,
    )
    assert stored.ts > 1_600_000_000_000


async def test_retry_with_same_client_id_is_stored_once(store: Store) -> None:
    class_id = cid()
    [first] = await store.append(class_id, [new("vote", STUDENT, "v1", option=1)])
    [again] = await store.append(class_id, [new("vote", STUDENT, "v1", option=1)])
    assert not first.duplicate and again.duplicate
    assert again.event == first.event
    # The same client id from another author is a different write.
    other = Actor("student", "s_2", "Sana")
    [theirs] = await store.append(class_id, [new("vote", other, "v1", option=2)])
    assert not theirs.duplicate and theirs.event.seq == 2
    assert await store.head(class_id) == 2


async def test_duplicates_inside_one_batch_are_stored_once(store: Store) -> None:
    class_id = cid()
    results = await store.append(class_id, [new("v", STUDENT, "same"), new("v", STUDENT, "same")])
    assert [r.duplicate for r in results] == [False, True]
    assert await store.head(class_id) == 1


async def test_the_same_append_key_is_stored_once(store: Store) -> None:
    """An append re-sent with its append key (no client id) is found, not stored again."""
    class_id = cid()
    poll = NewEvent("poll_created", TEACHER, {"poll_id": "p1"}, append_key="k.1#0")
    [first] = await store.append(class_id, [poll])
    [again] = await store.append(class_id, [poll])
    assert not first.duplicate and again.duplicate
    assert again.event == first.event
    # In one batch too; another key, or no key at all, is another event.
    results = await store.append(
        class_id,
        [
            NewEvent("presence", STUDENT, {}, append_key="k.2#0"),
            NewEvent("presence", STUDENT, {}, append_key="k.2#0"),
            NewEvent("presence", STUDENT, {}, append_key="k.3#0"),
            NewEvent("presence", STUDENT, {}),
        ],
    )
    assert [(r.duplicate, r.event.seq) for r in results] == [
        (False, 2),
        (True, 2),
        (False, 3),
        (False, 4),
    ]
    # Keys belong to a class: the same key in another class is another event.
    [elsewhere] = await store.append(cid(), [poll])
    assert not elsewhere.duplicate
    assert [e.seq for e in await store.read_after(class_id, 0, 10)] == [1, 2, 3, 4]


async def test_concurrent_appends_get_unique_contiguous_seqs(store: Store) -> None:
    class_id = cid()
    batches = await asyncio.gather(*(store.append(class_id, [new("e", n=i)]) for i in range(200)))
    seqs = sorted(r.event.seq for batch in batches for r in batch)
    assert seqs == list(range(1, 201))
    stored = await store.read_after(class_id, 0, 500)
    assert sorted(e.data["n"] for e in stored) == list(range(200))


async def test_feed_delivers_appends_in_seq_order_without_duplicates(store: Store) -> None:
    class_id = cid()
    recorder = Recorder()
    await store.subscribe(class_id, recorder)
    await asyncio.gather(
        *(store.append(class_id, [new("e", STUDENT, f"id{i % 30}", n=i)]) for i in range(60))
    )
    await recorder.wait_for_count(30)
    assert [e.seq for e in recorder.events] == list(range(1, 31))
    await store.unsubscribe(class_id, recorder)
    await store.append(class_id, [new("after-unsubscribe")])
    # Unsubscribed listeners get nothing more (a later append proves the feed still flows).
    other = Recorder()
    await store.subscribe(class_id, other)
    await store.append(class_id, [new("last")])
    await other.wait_for_count(1)
    assert [e.type for e in other.events] == ["last"]
    assert len(recorder.events) == 30
    await store.unsubscribe(class_id, other)


async def test_teachers(store: Store) -> None:
    name = f"t-{secrets.token_hex(4)}"
    assert await store.get_teacher(name) is None
    await store.add_teacher(TeacherRecord(name, "hash-1", 5))
    with pytest.raises(Conflict):
        await store.add_teacher(TeacherRecord(name, "hash-2", 6))
    assert await store.get_teacher(name) == TeacherRecord(name, "hash-1", 5)
    await store.set_teacher_password(name, "hash-3")
    assert (await store.get_teacher(name)) == TeacherRecord(name, "hash-3", 5)
    names = await store.teacher_names()
    assert name in names and names == sorted(names)


async def test_password_changes_and_revocations_raise_the_token_generation(store: Store) -> None:
    name = f"t-{secrets.token_hex(4)}"
    assert await store.token_generation(name) is None
    assert await store.revoke_teacher_tokens(name) == 0  # unknown teacher: nothing happens
    assert await store.token_generation(name) is None
    await store.add_teacher(TeacherRecord(name, "hash-1", 5))
    assert await store.token_generation(name) == 0
    assert await store.revoke_teacher_tokens(name) == 1
    assert await store.set_teacher_password(name, "hash-2") == 2
    assert await store.token_generation(name) == 2
    assert (await store.get_teacher(name)) == TeacherRecord(name, "hash-2", 5)
    other = f"t-{secrets.token_hex(4)}"
    await store.add_teacher(TeacherRecord(other, "hash", 5))
    assert await store.token_generation(other) == 0  # one teacher's sign-out is theirs only


async def test_class_list_pages_newest_first_with_a_cursor(store: Store) -> None:
    teacher = f"t-{secrets.token_hex(4)}"
    made = []
    for i in range(7):
        # Pairs share a created_at: the cursor must not skip or repeat ties.
        record = ClassRecord(cid(), teacher, f"c{i}", secrets.token_hex(4).upper(), 100 + i // 2)
        await store.create_class(record)
        made.append(record)
    await store.create_class(ClassRecord(cid(), "someone-else", "x", secrets.token_hex(4), 1))
    expected = sorted(made, key=lambda r: (r.created_at, r.id), reverse=True)
    pages: list[list[ClassRecord]] = []
    before = None
    while True:
        page = await store.list_classes(teacher, limit=3, before=before)
        if not page:
            break
        pages.append(page)
        before = (page[-1].created_at, page[-1].id)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [r for p in pages for r in p] == expected
    assert await store.list_classes(teacher, limit=100) == expected


async def test_classes_students_devices(store: Store) -> None:
    teacher = f"t-{secrets.token_hex(4)}"
    code = secrets.token_hex(3).upper()
    record = ClassRecord(cid(), teacher, "کلاس پنجم", code, 10)
    await store.create_class(record)
    with pytest.raises(Conflict):
        await store.create_class(ClassRecord(cid(), teacher, "other", code, 11))
    later = ClassRecord(cid(), teacher, "later", secrets.token_hex(3).upper(), 20)
    await store.create_class(later)
    assert await store.get_class(record.id) == record
    assert await store.find_class_by_code(code) == record
    assert await store.find_class_by_code("NOPE00") is None
    assert [c.id for c in await store.list_classes(teacher, limit=10)] == [later.id, record.id]
    await store.mark_class_ended(record.id, 99)
    ended = await store.get_class(record.id)
    assert ended is not None and ended.ended_at == 99

    student = StudentRecord(record.id, "s_x", "Zara", 12)
    await store.add_student(student)
    assert await store.get_student(record.id, "s_x") == student
    assert await store.get_student(later.id, "s_x") is None
    assert await store.list_students(record.id) == [student]
    device = DeviceRecord(record.id, "d_1", "camera", 13)
    await store.add_device(device)
    assert await store.get_device(record.id, "d_1") == device
    assert await store.get_device(record.id, "d_2") is None


async def test_data_and_secret_survive_reopening(store_url: str, tmp_path: Path) -> None:
    class_id = cid()
    first = open_store(store_url, data_dir=tmp_path)
    await first.open()
    secret = await first.shared_secret()
    await first.append(class_id, [new("e", n=1), new("e", n=2)])
    await first.close()
    second = open_store(store_url, data_dir=tmp_path)
    await second.open()
    try:
        assert await second.shared_secret() == secret
        assert [e.data["n"] for e in await second.read_after(class_id, 0, 10)] == [1, 2]
        [third] = await second.append(class_id, [new("e", n=3)])
        assert third.event.seq == 3
    finally:
        await second.close()


async def test_assets_round_trip_and_replace(store: Store) -> None:
    class_id = cid()
    data = bytes(range(256)) * 100  # every byte value, binary-safe
    assert await store.get_asset(class_id, "kf-1") is None
    assert await store.has_asset(class_id, "kf-1") is False
    await store.put_asset(class_id, "kf-1", "image/png", data)
    assert await store.get_asset(class_id, "kf-1") == ("image/png", data)
    assert await store.has_asset(class_id, "kf-1") is True
    assert await store.has_asset(cid(), "kf-1") is False
    await store.put_asset(class_id, "kf-1", "image/jpeg", b"\xff\xd8replaced")
    assert await store.get_asset(class_id, "kf-1") == ("image/jpeg", b"\xff\xd8replaced")
    assert await store.get_asset(cid(), "kf-1") is None


async def test_assets_are_deleted_only_where_named(store: Store) -> None:
    class_id, other = cid(), cid()
    await store.put_asset(class_id, "pic-1", "image/png", b"one")
    await store.put_asset(class_id, "pic-2", "image/png", b"two")
    await store.put_asset(other, "pic-1", "image/png", b"other")
    await store.delete_asset(class_id, "pic-1")
    await store.delete_asset(class_id, "never-stored")  # nothing there: no error
    assert await store.get_asset(class_id, "pic-1") is None
    assert await store.has_asset(class_id, "pic-1") is False
    assert await store.get_asset(class_id, "pic-2") == ("image/png", b"two")
    assert await store.get_asset(other, "pic-1") == ("image/png", b"other")


async def test_sqlite_files_from_before_token_generations_open_and_work(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # the teachers table as earlier versions made it
        conn.execute(
            "CREATE TABLE teachers (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, "
            "created_at INTEGER NOT NULL)"
        )
        conn.execute("INSERT INTO teachers VALUES ('amina', 'hash-1', 5)")
    conn.close()
    store = open_store(f"sqlite://{path}", data_dir=tmp_path)
    await store.open()
    try:
        assert await store.get_teacher("amina") == TeacherRecord("amina", "hash-1", 5)
        assert await store.token_generation("amina") == 0
        assert await store.revoke_teacher_tokens("amina") == 1
    finally:
        await store.close()


async def test_import_log_keeps_seqs_and_times_and_writes_only_into_an_empty_log(
    store: Store,
) -> None:
    class_id = cid()
    teacher = Actor("teacher", "teacher")
    events = [
        Event(class_id, n, "text_added", teacher, 1_000_000 + 7 * n, {"id": f"t{n}"})
        for n in range(1, 2501)
    ]
    assert await store.import_log(class_id, events) is True
    assert await store.head(class_id) == 2500
    assert await store.read_after(class_id, 0, 5000) == events
    # Not into a log that has events, and not a log with gaps or client ids: nothing written.
    assert await store.import_log(class_id, events[:1]) is False
    other = cid()
    with pytest.raises(ValueError):
        await store.import_log(other, [events[1]])
    with pytest.raises(ValueError):
        await store.import_log(other, [Event(other, 1, "x", teacher, 1, {}, client_id="c")])
    assert await store.head(other) == 0
    # The log goes on from there like any other.
    (appended,) = await store.append(class_id, [new("after")])
    assert appended.event.seq == 2501
