"""SQLite store: the embedded default. WAL, ``synchronous=FULL``, one writer thread, group commit.

Durability: an append is acknowledged only after the transaction holding it has committed with
``synchronous=FULL`` in WAL mode, i.e. after the WAL was fsynced. A SIGKILL of the server loses
nothing acknowledged; a power cut loses nothing acknowledged on a disk that honours fsync.

Throughput: appends queue to one writer thread that commits everything waiting in one
transaction (group commit), so one fsync covers many events when the class is busy. Reads run on
their own thread and connection (WAL readers never block the writer).

One process only: several server processes need the Redis store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from classroom.classes import ClassRecord, DeviceRecord, StudentRecord, TeacherRecord
from classroom.errors import Conflict, StoreUnavailable
from classroom.log import Actor, Event, NewEvent
from classroom.storage.base import (
    APPEND_KEY_WINDOW_S,
    AppendResult,
    FeedListener,
    check_imported_log,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
WriteOp = Callable[[sqlite3.Connection], Any]

MAX_GROUP = 512
# Forgotten append keys are deleted at most this often (see APPEND_KEY_WINDOW_S).
SWEEP_KEYS_MS = 60_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS teachers (
    name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
    token_generation INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS classes (
    id TEXT PRIMARY KEY, teacher TEXT NOT NULL, title TEXT NOT NULL,
    join_code TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, ended_at INTEGER,
    practice INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS classes_by_teacher ON classes (teacher, created_at);
CREATE INDEX IF NOT EXISTS classes_by_teacher_newest ON classes (teacher, created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS students (
    class_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL,
    PRIMARY KEY (class_id, id));
CREATE TABLE IF NOT EXISTS devices (
    class_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL,
    PRIMARY KEY (class_id, id));
CREATE TABLE IF NOT EXISTS assets (
    class_id TEXT NOT NULL, id TEXT NOT NULL, content_type TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (class_id, id));
CREATE TABLE IF NOT EXISTS events (
    class_id TEXT NOT NULL, seq INTEGER NOT NULL, actor_role TEXT NOT NULL,
    actor_id TEXT NOT NULL, client_id TEXT, record TEXT NOT NULL,
    PRIMARY KEY (class_id, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_client_id
    ON events (class_id, actor_role, actor_id, client_id) WHERE client_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS append_keys (
    class_id TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
    PRIMARY KEY (class_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS append_keys_by_ts ON append_keys (ts);
"""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a data file made by an older version up to ``SCHEMA``."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(teachers)")}
    if "token_generation" not in columns:
        conn.execute("ALTER TABLE teachers ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0")
        conn.commit()
    columns = {row[1] for row in conn.execute("PRAGMA table_info(classes)")}
    if "practice" not in columns:
        conn.execute("ALTER TABLE classes ADD COLUMN practice INTEGER NOT NULL DEFAULT 0")
        conn.commit()


def _class_row(row: tuple[Any, ...]) -> ClassRecord:
    class_id, teacher, title, join_code, created_at, ended_at, practice = row
    return ClassRecord(class_id, teacher, title, join_code, created_at, ended_at, bool(practice))


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class SqliteStore:
    """The embedded store (see module docstring for durability and concurrency)."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[tuple[WriteOp, asyncio.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._writer: threading.Thread | None = None
        self._reads: ThreadPoolExecutor | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: dict[str, list[FeedListener]] = defaultdict(list)
        self._last_ts = 0
        self._keys_swept_at = 0  # touched by the writer thread only

    # life cycle

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ready: asyncio.Future[None] = self._loop.create_future()
        self._writer = threading.Thread(
            target=self._write_loop, args=(ready,), name="sqlite-writer", daemon=True
        )
        self._writer.start()
        await ready
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-read")

    async def close(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._reads is not None:
            if self._read_conn is not None:
                conn = self._read_conn
                await asyncio.get_running_loop().run_in_executor(self._reads, conn.close)
                self._read_conn = None
            self._reads.shutdown(wait=True)
            self._reads = None

    async def ping(self) -> None:
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())

    # the writer thread

    def _write_loop(self, ready: asyncio.Future[None]) -> None:
        loop = self._loop
        if loop is None:  # pragma: no cover - open() sets it
            return
        try:
            conn = _connect(self.path)
            conn.executescript(SCHEMA)
            _migrate(conn)
        except Exception as exc:  # pragma: no cover - unusable disk
            loop.call_soon_threadsafe(_set_exception, ready, exc)
            return
        loop.call_soon_threadsafe(_set_result, ready, None)
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            outcomes = self._run_batch(conn, batch)
            loop.call_soon_threadsafe(self._finish, outcomes)
        conn.close()

    def _run_batch(
        self, conn: sqlite3.Connection, batch: list[tuple[WriteOp, asyncio.Future[Any]]]
    ) -> list[tuple[asyncio.Future[Any], Any, BaseException | None]]:
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op, fut in batch:
                conn.execute("SAVEPOINT op")
                try:
                    result = op(conn)
                except Exception as exc:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    outcomes.append((fut, None, exc))
                else:
                    conn.execute("RELEASE op")
                    outcomes.append((fut, result, None))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            logger.exception("sqlite commit failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failure = StoreUnavailable(f"the database could not be written: {exc}")
            return [(fut, None, failure) for _, fut in batch]
        return outcomes

    def _finish(
        self, outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]
    ) -> None:
        for fut, result, exc in outcomes:
            if exc is not None:
                if not fut.done():
                    fut.set_exception(exc)
                continue
            if isinstance(result, _Appended):
                for item in result.results:
                    if not item.duplicate:
                        for listener in tuple(self._listeners.get(item.event.class_id, ())):
                            try:
                                listener.deliver(item.event)
                            except Exception:
                                logger.exception("feed listener failed")
            if not fut.done():
                fut.set_result(result)

    async def _write(self, op: Callable[[sqlite3.Connection], T]) -> T:
        if self._loop is None or self._writer is None:
            raise StoreUnavailable("the store is not open")
        fut: asyncio.Future[T] = self._loop.create_future()
        self._queue.put((op, fut))
        return await fut

    async def _read(self, op: Callable[[sqlite3.Connection], T]) -> T:
        if self._reads is None:
            raise StoreUnavailable("the store is not open")

        def run() -> T:
            if self._read_conn is None:
                self._read_conn = _connect(self.path)
            return op(self._read_conn)

        return await asyncio.get_running_loop().run_in_executor(self._reads, run)

    # secret

    async def shared_secret(self) -> str:
        candidate = secrets.token_urlsafe(32)

        def op(conn: sqlite3.Connection) -> str:
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?)", (candidate,)
            )
            row = conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
            return str(row[0])

        return await self._write(op)

    # teachers

    async def add_teacher(self, teacher: TeacherRecord) -> None:
        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO teachers (name, password_hash, created_at) VALUES (?, ?, ?)",
                    (teacher.name, teacher.password_hash, teacher.created_at),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"a teacher named {teacher.name!r} already exists") from exc

        await self._write(op)

    async def set_teacher_password(self, name: str, password_hash: str) -> int:
        rows = await self._write(
            lambda conn: conn.execute(
                "UPDATE teachers SET password_hash = ?, token_generation = token_generation + 1 "
                "WHERE name = ? RETURNING token_generation",
                (password_hash, name),
            ).fetchall()
        )
        return int(rows[0][0]) if rows else 0

    async def revoke_teacher_tokens(self, name: str) -> int:
        rows = await self._write(
            lambda conn: conn.execute(
                "UPDATE teachers SET token_generation = token_generation + 1 "
                "WHERE name = ? RETURNING token_generation",
                (name,),
            ).fetchall()
        )
        return int(rows[0][0]) if rows else 0

    async def token_generation(self, name: str) -> int | None:
        row = await self._read(
            lambda conn: conn.execute(
                "SELECT token_generation FROM teachers WHERE name = ?", (name,)
            ).fetchone()
        )
        return int(row[0]) if row else None

    async def get_teacher(self, name: str) -> TeacherRecord | None:
        row = await self._read(
            lambda conn: conn.execute(
                "SELECT name, password_hash, created_at FROM teachers WHERE name = ?", (name,)
            ).fetchone()
        )
        return TeacherRecord(*row) if row else None

    async def has_teachers(self) -> bool:
        row = await self._read(
            lambda conn: conn.execute("SELECT 1 FROM teachers LIMIT 1").fetchone()
        )
        return row is not None

    async def teacher_names(self) -> list[str]:
        rows = await self._read(
            lambda conn: conn.execute("SELECT name FROM teachers ORDER BY name").fetchall()
        )
        return [str(row[0]) for row in rows]

    # classes

    async def create_class(self, record: ClassRecord) -> None:
        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    f"INSERT INTO classes ({self._CLASS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.id,
                        record.teacher,
                        record.title,
                        record.join_code,
                        record.created_at,
                        record.ended_at,
                        int(record.practice),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("class id or join code already in use") from exc

        await self._write(op)

    _CLASS_COLUMNS = "id, teacher, title, join_code, created_at, ended_at, practice"

    async def get_class(self, class_id: str) -> ClassRecord | None:
        row = await self._read(
            lambda conn: conn.execute(
                f"SELECT {self._CLASS_COLUMNS} FROM classes WHERE id = ?", (class_id,)
            ).fetchone()
        )
        return _class_row(row) if row else None

    async def find_class_by_code(self, join_code: str) -> ClassRecord | None:
        row = await self._read(
            lambda conn: conn.execute(
                f"SELECT {self._CLASS_COLUMNS} FROM classes WHERE join_code = ?", (join_code,)
            ).fetchone()
        )
        return _class_row(row) if row else None

    async def list_classes(
        self, teacher: str, *, limit: int, before: tuple[int, str] | None = None
    ) -> list[ClassRecord]:
        args: tuple[str | int, ...]
        if before is None:
            where, args = "teacher = ?", (teacher,)
        else:
            where = "teacher = ? AND (created_at < ? OR (created_at = ? AND id < ?))"
            args = (teacher, before[0], before[0], before[1])
        rows = await self._read(
            lambda conn: conn.execute(
                f"SELECT {self._CLASS_COLUMNS} FROM classes WHERE {where} "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        )
        return [_class_row(row) for row in rows]

    async def mark_class_ended(self, class_id: str, ended_at: int) -> None:
        await self._write(
            lambda conn: conn.execute(
                "UPDATE classes SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
                (ended_at, class_id),
            )
        )

    # students and devices

    async def add_student(self, student: StudentRecord) -> None:
        await self._write(
            lambda conn: conn.execute(
                "INSERT INTO students VALUES (?, ?, ?, ?)",
                (student.class_id, student.id, student.name, student.created_at),
            )
        )

    async def get_student(self, class_id: str, student_id: str) -> StudentRecord | None:
        row = await self._read(
            lambda conn: conn.execute(
                "SELECT class_id, id, name, created_at FROM students WHERE class_id = ? AND id = ?",
                (class_id, student_id),
            ).fetchone()
        )
        return StudentRecord(*row) if row else None

    async def list_students(self, class_id: str) -> list[StudentRecord]:
        rows = await self._read(
            lambda conn: conn.execute(
                "SELECT class_id, id, name, created_at FROM students WHERE class_id = ? "
                "ORDER BY created_at, id",
                (class_id,),
            ).fetchall()
        )
        return [StudentRecord(*row) for row in rows]

    async def add_device(self, device: DeviceRecord) -> None:
        await self._write(
            lambda conn: conn.execute(
                "INSERT INTO devices VALUES (?, ?, ?, ?)",
                (device.class_id, device.id, device.name, device.created_at),
            )
        )

    async def get_device(self, class_id: str, device_id: str) -> DeviceRecord | None:
        row = await self._read(
            lambda conn: conn.execute(
                "SELECT class_id, id, name, created_at FROM devices WHERE class_id = ? AND id = ?",
                (class_id, device_id),
            ).fetchone()
        )
        return DeviceRecord(*row) if row else None

    # assets

    async def put_asset(self, class_id: str, asset_id: str, content_type: str, data: bytes) -> None:
        await self._write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO assets VALUES (?, ?, ?, ?)",
                (class_id, asset_id, content_type, data),
            )
        )

    async def get_asset(self, class_id: str, asset_id: str) -> tuple[str, bytes] | None:
        row = await self._read(
            lambda conn: conn.execute(
                "SELECT content_type, data FROM assets WHERE class_id = ? AND id = ?",
                (class_id, asset_id),
            ).fetchone()
        )
        return (str(row[0]), bytes(row[1])) if row else None

    async def has_asset(self, class_id: str, asset_id: str) -> bool:
        row = await self._read(
            lambda conn: conn.execute(
                "SELECT 1 FROM assets WHERE class_id = ? AND id = ?", (class_id, asset_id)
            ).fetchone()
        )
        return row is not None

    async def delete_asset(self, class_id: str, asset_id: str) -> None:
        await self._write(
            lambda conn: conn.execute(
                "DELETE FROM assets WHERE class_id = ? AND id = ?", (class_id, asset_id)
            )
        )

    # the lesson log

    async def append(self, class_id: str, events: Sequence[NewEvent]) -> list[AppendResult]:
        batch = tuple(events)

        def op(conn: sqlite3.Connection) -> _Appended:
            results: list[AppendResult] = []
            row = conn.execute(
                "SELECT max(seq) FROM events WHERE class_id = ?", (class_id,)
            ).fetchone()
            head = int(row[0] or 0)
            ts = self._next_ts()
            for new in batch:
                if new.client_id is not None:
                    found = conn.execute(
                        "SELECT record FROM events WHERE class_id = ? AND actor_role = ? "
                        "AND actor_id = ? AND client_id = ?",
                        (class_id, new.actor.role, new.actor.id, new.client_id),
                    ).fetchone()
                    if found:
                        stored = Event.from_record(class_id, json.loads(found[0]))
                        results.append(AppendResult(stored, duplicate=True))
                        continue
                elif new.append_key is not None:
                    # The same commit holds the event and its key, so this only matters for a
                    # caller re-sending an append whose outcome it did not learn.
                    found = conn.execute(
                        "SELECT e.record FROM append_keys k JOIN events e "
                        "ON e.class_id = k.class_id AND e.seq = k.seq "
                        "WHERE k.class_id = ? AND k.key = ?",
                        (class_id, new.append_key),
                    ).fetchone()
                    if found:
                        stored = Event.from_record(class_id, json.loads(found[0]))
                        results.append(AppendResult(stored, duplicate=True))
                        continue
                head += 1
                event = Event(
                    class_id=class_id,
                    seq=head,
                    type=new.type,
                    actor=new.actor,
                    ts=ts,
                    data=new.data,
                    client_id=new.client_id,
                    audience=new.audience,
                    payload_hash=new.payload_hash,
                )
                conn.execute(
                    "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        class_id,
                        head,
                        new.actor.role,
                        new.actor.id,
                        new.client_id,
                        json.dumps(event.to_record(), ensure_ascii=False, separators=(",", ":")),
                    ),
                )
                if new.client_id is None and new.append_key is not None:
                    conn.execute(
                        "INSERT INTO append_keys VALUES (?, ?, ?, ?)",
                        (class_id, new.append_key, head, ts),
                    )
                results.append(AppendResult(event, duplicate=False))
            if ts - self._keys_swept_at >= SWEEP_KEYS_MS:
                self._keys_swept_at = ts
                conn.execute(
                    "DELETE FROM append_keys WHERE ts < ?", (ts - APPEND_KEY_WINDOW_S * 1000,)
                )
            return _Appended(results)

        return (await self._write(op)).results

    async def import_log(self, class_id: str, events: Sequence[Event]) -> bool:
        batch = tuple(events)
        check_imported_log(batch)

        def op(conn: sqlite3.Connection) -> bool:
            found = conn.execute(
                "SELECT 1 FROM events WHERE class_id = ? LIMIT 1", (class_id,)
            ).fetchone()
            if found:
                return False
            conn.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, NULL, ?)",
                [
                    (
                        class_id,
                        e.seq,
                        e.actor.role,
                        e.actor.id,
                        json.dumps(e.to_record(), ensure_ascii=False, separators=(",", ":")),
                    )
                    for e in batch
                ],
            )
            return True

        return bool(await self._write(op))

    def _next_ts(self) -> int:
        # Never step backwards, even if the wall clock does: quiz deadlines compare against it.
        self._last_ts = max(self._last_ts, _now_ms())
        return self._last_ts

    async def read_after(self, class_id: str, after_seq: int, limit: int) -> list[Event]:
        # Decoded in the reader's thread: a page of 2,000 ink events is ~30 ms of JSON and
        # Event building, which on the loop would hold every live class's fan-out that long
        # (in the thread the loop still runs every switch interval, 5 ms).
        return await self._read(
            lambda conn: [
                Event.from_record(class_id, json.loads(row[0]))
                for row in conn.execute(
                    "SELECT record FROM events WHERE class_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (class_id, after_seq, limit),
                )
            ]
        )

    async def find_by_client_id(self, class_id: str, actor: Actor, client_id: str) -> Event | None:
        row = await self._read(
            lambda conn: conn.execute(
                "SELECT record FROM events WHERE class_id = ? AND actor_role = ? "
                "AND actor_id = ? AND client_id = ?",
                (class_id, actor.role, actor.id, client_id),
            ).fetchone()
        )
        return Event.from_record(class_id, json.loads(row[0])) if row else None

    async def head(self, class_id: str) -> int:
        row = await self._read(
            lambda conn: conn.execute(
                "SELECT max(seq) FROM events WHERE class_id = ?", (class_id,)
            ).fetchone()
        )
        return int(row[0] or 0)

    # fan-out: in-process only

    async def subscribe(self, class_id: str, listener: FeedListener) -> None:
        self._listeners[class_id].append(listener)

    async def unsubscribe(self, class_id: str, listener: FeedListener) -> None:
        listeners = self._listeners.get(class_id)
        if listeners and listener in listeners:
            listeners.remove(listener)
            if not listeners:
                del self._listeners[class_id]


class _Appended:
    """Marks an append's result so the loop thread delivers its events to the feed."""

    __slots__ = ("results",)

    def __init__(self, results: list[AppendResult]) -> None:
        self.results = results


def _set_result(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
