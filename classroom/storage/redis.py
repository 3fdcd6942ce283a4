"""Redis store: the same data as SQLite, shared by several server processes, plus the fan-out.

Keys use hash tags (``tk:{class_id}:log``) so one class's keys share a slot and the append script
stays valid on Redis Cluster.

The lesson log of a class is a list (``seq`` = position + 1) appended by one Lua script that checks
each event's key (its client id, else its append key), assigns the seq, stores, remembers the key
and publishes to the class's channel in one atomic step: pub/sub order is seq order, whichever
process appended. Because every event has a key, an append retried after its reply was lost
(Redis killed after writing, before answering) is found and answered, not stored twice.

Durability: acknowledged means written to the append-only file. Run Redis with
``--appendonly yes --appendfsync always`` (docker-compose.yml does): Redis then writes and fsyncs
the AOF before it replies, so neither SIGKILL of Redis nor a power cut loses an acknowledged
event. With ``appendfsync everysec`` a power cut can lose the last second; with AOF off, a Redis
restart loses everything. ``open`` logs a warning when the server is not configured durably.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from classroom.classes import ClassRecord, DeviceRecord, StudentRecord, TeacherRecord
from classroom.errors import Conflict, StoreUnavailable
from classroom.log import Actor, AppendKeys, Event, NewEvent
from classroom.storage.base import (
    APPEND_KEY_WINDOW_S,
    AppendResult,
    FeedListener,
    check_imported_log,
)

logger = logging.getLogger(__name__)

PREFIX = "tk"
MAX_CONNECTIONS = 32
# Largest group of events sent in one append script call.
MAX_GROUP_EVENTS = 256
# Append script calls in flight at once per class (each on its own connection).
MAX_GROUPS_IN_FLIGHT = 2

# KEYS: the log, the client ids (kept), the append keys of this window and of the one before.
# ARGV: the feed channel, the server time, when this window's append keys expire, then three
# per event: 'c' (client id) or 'a' (append key), the key, the record without seq and ts.
APPEND_SCRIPT = """
local results = {}
local published = {}
local channel = ARGV[1]
local ts = ARGV[2]
local appended_keys = false
local n = (#ARGV - 3) / 3
for i = 1, n do
  local kind = ARGV[1 + 3 * i]
  local idkey = ARGV[2 + 3 * i]
  local body = ARGV[3 + 3 * i]
  local existing = false
  if kind == 'c' then
    existing = redis.call('HGET', KEYS[2], idkey)
  else
    existing = redis.call('HGET', KEYS[3], idkey) or redis.call('HGET', KEYS[4], idkey)
  end
  if existing then
    results[#results + 1] = '[1,' .. redis.call('LINDEX', KEYS[1], tonumber(existing) - 1) .. ']'
  else
    local seq = redis.call('LLEN', KEYS[1]) + 1
    local record = '{"seq":' .. seq .. ',"ts":' .. ts .. ',' .. body
    redis.call('RPUSH', KEYS[1], record)
    if kind == 'c' then
      redis.call('HSET', KEYS[2], idkey, seq)
    else
      redis.call('HSET', KEYS[3], idkey, seq)
      appended_keys = true
    end
    published[#published + 1] = record
    results[#results + 1] = '[0,' .. record .. ']'
  end
end
if appended_keys then
  redis.call('PEXPIREAT', KEYS[3], ARGV[3])
end
if #published > 0 then
  -- One message for the whole group, in seq order.
  redis.call('PUBLISH', channel, '[' .. table.concat(published, ',') .. ']')
end
-- One JSON string: decoded at C speed, not element by element by the RESP parser.
return '[' .. table.concat(results, ',') .. ']'
"""

# KEYS: the log. ARGV: the records. Written only into an empty log (returns 0 otherwise).
IMPORT_SCRIPT = """
if redis.call('LLEN', KEYS[1]) > 0 then
  return 0
end
for i = 1, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return 1
"""

_CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


def _k(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


def _class_key(class_id: str, what: str) -> str:
    return f"{PREFIX}:{{{class_id}}}:{what}"


class RedisStore:
    """Store on a Redis server (see module docstring)."""

    name = "redis"

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis: aioredis.Redis | None = None
        self._raw: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._pubsub_task: asyncio.Task[None] | None = None
        self._listeners: dict[str, list[FeedListener]] = defaultdict(list)
        self._append_sha: str | None = None
        self._last_ts = 0
        self._pending_appends: dict[
            str, list[tuple[list[NewEvent], asyncio.Future[list[AppendResult]]]]
        ] = defaultdict(list)
        self._appenders: dict[str, set[asyncio.Task[None]]] = defaultdict(set)
        self._append_keys = AppendKeys()

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise StoreUnavailable("the store is not open")
        return self._redis

    async def open(self) -> None:
        retry = Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=8)
        # A blocking pool: a burst of appends waits for a free connection instead of failing.
        pool = aioredis.BlockingConnectionPool.from_url(
            self.url,
            decode_responses=True,
            max_connections=MAX_CONNECTIONS,
            timeout=10,
            retry=retry,
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            socket_connect_timeout=2,
            health_check_interval=10,
        )
        self._redis = aioredis.Redis.from_pool(pool)  # owns the pool: aclose() closes it
        # Images are bytes: a small second pool that does not decode replies.
        raw_pool = aioredis.BlockingConnectionPool.from_url(
            self.url,
            decode_responses=False,
            max_connections=4,
            timeout=10,
            retry=retry,
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            socket_connect_timeout=2,
        )
        self._raw = aioredis.Redis.from_pool(raw_pool)
        try:
            await self._redis.ping()
        except _CONNECTION_ERRORS as exc:
            raise StoreUnavailable(f"cannot reach Redis at {self.url}: {exc}") from exc
        await self._check_durability()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)

    async def _check_durability(self) -> None:
        try:
            config = await self.redis.config_get("append*")
        except ResponseError:  # CONFIG disabled (managed Redis): cannot tell
            logger.warning("cannot read Redis persistence settings; make sure AOF is on")
            return
        if config.get("appendonly") != "yes":
            logger.warning(
                "Redis at %s has appendonly=no: acknowledged events are NOT durable "
                "(start it with --appendonly yes --appendfsync always)",
                self.url,
            )
        elif config.get("appendfsync") != "always":
            logger.warning(
                "Redis appendfsync=%s: a power cut can lose up to a second of acked "
                "events (use --appendfsync always)",
                config.get("appendfsync"),
            )

    async def close(self) -> None:
        if self._pubsub_task is not None:
            self._pubsub_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pubsub_task
            self._pubsub_task = None
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        if self._raw is not None:
            await self._raw.aclose()
            self._raw = None

    async def ping(self) -> None:
        try:
            await self.redis.ping()
        except _CONNECTION_ERRORS as exc:
            raise StoreUnavailable(f"cannot reach Redis: {exc}") from exc

    async def shared_secret(self) -> str:
        key = _k("secret")
        await self._call(self.redis.set(key, secrets.token_urlsafe(32), nx=True))
        value = await self._call(self.redis.get(key))
        return str(value)

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except _CONNECTION_ERRORS as exc:
            raise StoreUnavailable(f"the Redis store is unreachable: {exc}") from exc
        except RedisError as exc:
            raise StoreUnavailable(f"the Redis store failed: {exc}") from exc

    # teachers

    async def add_teacher(self, teacher: TeacherRecord) -> None:
        body = json.dumps(
            {
                "name": teacher.name,
                "password_hash": teacher.password_hash,
                "created_at": teacher.created_at,
            }
        )
        created = await self._call(self.redis.set(_k("teacher", teacher.name), body, nx=True))
        if not created:
            raise Conflict(f"a teacher named {teacher.name!r} already exists")
        await self._call(self.redis.sadd(_k("teachers"), teacher.name))

    async def has_teachers(self) -> bool:
        return bool(await self._call(self.redis.scard(_k("teachers"))))

    async def teacher_names(self) -> list[str]:
        return sorted(await self._call(self.redis.smembers(_k("teachers"))))

    async def set_teacher_password(self, name: str, password_hash: str) -> int:
        found = await self.get_teacher(name)
        if found is None:
            return 0
        # Old tokens end before the new password works: a crash between the two leaves the
        # old password with no live tokens, never old tokens alive after a change.
        generation = await self.revoke_teacher_tokens(name)
        body = json.dumps(
            {"name": name, "password_hash": password_hash, "created_at": found.created_at}
        )
        await self._call(self.redis.set(_k("teacher", name), body))
        return generation

    async def revoke_teacher_tokens(self, name: str) -> int:
        if not await self._call(self.redis.exists(_k("teacher", name))):
            return 0
        return int(await self._call(self.redis.incr(_k("teacher", name, "generation"))))

    async def token_generation(self, name: str) -> int | None:
        pipe = self.redis.pipeline(transaction=False)  # two slots on Redis Cluster
        pipe.get(_k("teacher", name))
        pipe.get(_k("teacher", name, "generation"))
        body, generation = await self._call(pipe.execute())
        if body is None:
            return None
        return int(generation or 0)

    async def get_teacher(self, name: str) -> TeacherRecord | None:
        raw = await self._call(self.redis.get(_k("teacher", name)))
        if raw is None:
            return None
        body = json.loads(raw)
        return TeacherRecord(body["name"], body["password_hash"], int(body["created_at"]))

    # classes

    @staticmethod
    def _class_body(record: ClassRecord) -> str:
        return json.dumps(
            {
                "id": record.id,
                "teacher": record.teacher,
                "title": record.title,
                "join_code": record.join_code,
                "created_at": record.created_at,
                "ended_at": record.ended_at,
                "practice": record.practice,
            },
            ensure_ascii=False,
        )

    @staticmethod
    def _class_from(raw: str | None) -> ClassRecord | None:
        if raw is None:
            return None
        body = json.loads(raw)
        return ClassRecord(
            body["id"],
            body["teacher"],
            body["title"],
            body["join_code"],
            int(body["created_at"]),
            body["ended_at"],
            bool(body.get("practice", False)),
        )

    async def create_class(self, record: ClassRecord) -> None:
        claimed = await self._call(self.redis.set(_k("code", record.join_code), record.id, nx=True))
        if not claimed:
            raise Conflict("join code already in use")
        created = await self._call(
            self.redis.set(_class_key(record.id, "class"), self._class_body(record), nx=True)
        )
        if not created:
            await self._call(self.redis.delete(_k("code", record.join_code)))
            raise Conflict("class id already in use")
        await self._call(
            self.redis.zadd(
                _k("teacher", record.teacher, "classes"), {record.id: record.created_at}
            )
        )

    async def get_class(self, class_id: str) -> ClassRecord | None:
        return self._class_from(await self._call(self.redis.get(_class_key(class_id, "class"))))

    async def find_class_by_code(self, join_code: str) -> ClassRecord | None:
        class_id = await self._call(self.redis.get(_k("code", join_code)))
        return None if class_id is None else await self.get_class(class_id)

    async def list_classes(
        self, teacher: str, *, limit: int, before: tuple[int, str] | None = None
    ) -> list[ClassRecord]:
        key = _k("teacher", teacher, "classes")
        # The sorted set is scored by created_at; ZREVRANGE orders equal scores by id
        # descending, the order SQLite uses too.
        top: str | int = "+inf" if before is None else before[0]
        ids: list[str] = []
        offset = 0
        while len(ids) < limit:
            batch = limit - len(ids) + 8
            found = await self._call(
                self.redis.zrevrangebyscore(
                    key, top, "-inf", start=offset, num=batch, withscores=True
                )
            )
            for class_id, score in found:
                if before is not None and int(score) == before[0] and class_id >= before[1]:
                    continue
                ids.append(class_id)
            if len(found) < batch:
                break
            offset += len(found)
        ids = ids[:limit]
        if not ids:
            return []
        # One round trip for the page (a pipeline, not MGET: the keys live in different
        # Redis Cluster slots).
        pipe = self.redis.pipeline(transaction=False)
        for class_id in ids:
            pipe.get(_class_key(class_id, "class"))
        raws = await self._call(pipe.execute())
        records = [self._class_from(raw) for raw in raws]
        return [record for record in records if record is not None]

    async def mark_class_ended(self, class_id: str, ended_at: int) -> None:
        record = await self.get_class(class_id)
        if record is None or record.ended:
            return
        ended = dataclasses.replace(record, ended_at=ended_at)
        await self._call(self.redis.set(_class_key(class_id, "class"), self._class_body(ended)))

    # students and devices

    async def add_student(self, student: StudentRecord) -> None:
        body = json.dumps(
            {"name": student.name, "created_at": student.created_at}, ensure_ascii=False
        )
        await self._call(
            self.redis.hset(_class_key(student.class_id, "students"), student.id, body)
        )

    async def get_student(self, class_id: str, student_id: str) -> StudentRecord | None:
        raw = await self._call(self.redis.hget(_class_key(class_id, "students"), student_id))
        if raw is None:
            return None
        body = json.loads(raw)
        return StudentRecord(class_id, student_id, body["name"], int(body["created_at"]))

    async def list_students(self, class_id: str) -> list[StudentRecord]:
        raw = await self._call(self.redis.hgetall(_class_key(class_id, "students")))
        students = [
            StudentRecord(class_id, sid, body["name"], int(body["created_at"]))
            for sid, body in ((sid, json.loads(value)) for sid, value in raw.items())
        ]
        return sorted(students, key=lambda s: (s.created_at, s.id))

    async def add_device(self, device: DeviceRecord) -> None:
        body = json.dumps(
            {"name": device.name, "created_at": device.created_at}, ensure_ascii=False
        )
        await self._call(self.redis.hset(_class_key(device.class_id, "devices"), device.id, body))

    async def get_device(self, class_id: str, device_id: str) -> DeviceRecord | None:
        raw = await self._call(self.redis.hget(_class_key(class_id, "devices"), device_id))
        if raw is None:
            return None
        body = json.loads(raw)
        return DeviceRecord(class_id, device_id, body["name"], int(body["created_at"]))

    # assets

    async def put_asset(self, class_id: str, asset_id: str, content_type: str, data: bytes) -> None:
        if self._raw is None:
            raise StoreUnavailable("the store is not open")
        key = _class_key(class_id, f"asset:{asset_id}")
        await self._call(self._raw.hset(key, mapping={"ct": content_type, "data": data}))

    async def get_asset(self, class_id: str, asset_id: str) -> tuple[str, bytes] | None:
        if self._raw is None:
            raise StoreUnavailable("the store is not open")
        key = _class_key(class_id, f"asset:{asset_id}")
        found = await self._call(self._raw.hmget(key, ["ct", "data"]))
        if found[0] is None or found[1] is None:
            return None
        return found[0].decode(), bytes(found[1])

    async def has_asset(self, class_id: str, asset_id: str) -> bool:
        if self._raw is None:
            raise StoreUnavailable("the store is not open")
        key = _class_key(class_id, f"asset:{asset_id}")
        return bool(await self._call(self._raw.hexists(key, "data")))

    async def delete_asset(self, class_id: str, asset_id: str) -> None:
        if self._raw is None:
            raise StoreUnavailable("the store is not open")
        await self._call(self._raw.delete(_class_key(class_id, f"asset:{asset_id}")))

    # the lesson log

    async def append(self, class_id: str, events: Sequence[NewEvent]) -> list[AppendResult]:
        """Queue the events for the class's next group append and wait for their results.

        Appends to one class that arrive while script calls are in flight are sent together in
        the next call (group commit, as the SQLite writer does): one round trip, one AOF fsync
        and one pub/sub message for the lot. Up to ``MAX_GROUPS_IN_FLIGHT`` calls run at once,
        so an append that arrives just after a call went out need not wait for its answer
        before its own can start. Seqs follow the order Redis runs the calls in; concurrent
        appends have no order of their own, and one caller's appends, awaited one after the
        other, keep theirs.
        """
        if not events:
            return []
        done: asyncio.Future[list[AppendResult]] = asyncio.get_running_loop().create_future()
        self._pending_appends[class_id].append((list(events), done))
        appenders = self._appenders[class_id]
        if len(appenders) < MAX_GROUPS_IN_FLIGHT:
            appender = asyncio.create_task(self._append_loop(class_id))
            appenders.add(appender)
        return await done

    async def _append_loop(self, class_id: str) -> None:
        pending = self._pending_appends[class_id]
        try:
            while pending:
                group: list[tuple[list[NewEvent], asyncio.Future[list[AppendResult]]]] = []
                count = 0
                while pending and (not group or count + len(pending[0][0]) <= MAX_GROUP_EVENTS):
                    item = pending.pop(0)
                    group.append(item)
                    count += len(item[0])
                try:
                    results = await self._append_group(
                        class_id, [e for evs, _ in group for e in evs]
                    )
                except Exception as exc:
                    for _, fut in group:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                start = 0
                for evs, fut in group:
                    if not fut.done():
                        fut.set_result(results[start : start + len(evs)])
                    start += len(evs)
        finally:
            appenders = self._appenders[class_id]
            task = asyncio.current_task()
            if task is not None:
                appenders.discard(task)
            if not appenders:
                del self._appenders[class_id]
                if not pending:
                    self._pending_appends.pop(class_id, None)

    async def _append_group(self, class_id: str, events: list[NewEvent]) -> list[AppendResult]:
        """Run the append script once for the group.

        Every event carries a key the script checks: its client id, else its append key, else
        one made here. The arguments are built once, so redis-py's retry of the call after a
        connection error (``Retry`` in ``open``) and the reload after ``NoScriptError`` send
        the same keys: an event whose reply was lost when Redis died is found, not stored
        again. Append keys live in one hash per ``APPEND_KEY_WINDOW_S`` window that expires
        two windows after it began; the script looks in this window and the one before, so a
        key is found for at least one window after it was stored.
        """
        ts = self._next_ts()
        window_ms = APPEND_KEY_WINDOW_S * 1000
        window = ts // window_ms
        args: list[str] = [_class_key(class_id, "feed"), str(ts), str((window + 2) * window_ms)]
        for new in events:
            if new.client_id is not None:
                kind, idkey = "c", f"{new.actor.role}:{new.actor.id}:{new.client_id}"
            else:
                kind, idkey = "a", new.append_key or self._append_keys.next()
            record: dict[str, Any] = {"type": new.type, "by": new.actor.to_wire(), "data": new.data}
            if new.client_id is not None:
                record["cid"] = new.client_id
            if new.audience != "all":
                record["aud"] = new.audience
            if new.payload_hash is not None:
                record["ph"] = new.payload_hash
            body = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            args += [kind, idkey, body[1:]]  # the script prepends '{"seq":N,"ts":T,'
        keys = [
            _class_key(class_id, "log"),
            _class_key(class_id, "ids"),
            _class_key(class_id, f"akeys:{window}"),
            _class_key(class_id, f"akeys:{window - 1}"),
        ]
        raw = await self._call(self._run_append(keys, args))
        return [
            AppendResult(Event.from_record(class_id, record), duplicate=bool(dup))
            for dup, record in json.loads(raw)
        ]

    async def _run_append(self, keys: list[str], args: list[str]) -> Any:
        if self._append_sha is None:
            self._append_sha = await self.redis.script_load(APPEND_SCRIPT)
        try:
            return await self.redis.evalsha(self._append_sha, len(keys), *keys, *args)
        except NoScriptError:
            # Redis restarted and forgot the script (scripts are not persisted).
            self._append_sha = await self.redis.script_load(APPEND_SCRIPT)
            return await self.redis.evalsha(self._append_sha, len(keys), *keys, *args)

    async def import_log(self, class_id: str, events: Sequence[Event]) -> bool:
        batch = tuple(events)
        check_imported_log(batch)
        if not batch:
            return False
        records = [
            json.dumps(e.to_record(), ensure_ascii=False, separators=(",", ":")) for e in batch
        ]
        done = await self._call(
            self.redis.eval(IMPORT_SCRIPT, 1, _class_key(class_id, "log"), *records)
        )
        return bool(done)

    def _next_ts(self) -> int:
        self._last_ts = max(self._last_ts, time.time_ns() // 1_000_000)
        return self._last_ts

    async def read_after(self, class_id: str, after_seq: int, limit: int) -> list[Event]:
        raw = await self._call(
            self.redis.lrange(_class_key(class_id, "log"), after_seq, after_seq + limit - 1)
        )
        return [Event.from_record(class_id, json.loads(record)) for record in raw]

    async def head(self, class_id: str) -> int:
        return int(await self._call(self.redis.llen(_class_key(class_id, "log"))))

    async def find_by_client_id(self, class_id: str, actor: Actor, client_id: str) -> Event | None:
        idkey = f"{actor.role}:{actor.id}:{client_id}"
        seq = await self._call(self.redis.hget(_class_key(class_id, "ids"), idkey))
        if seq is None:
            return None
        record = await self._call(self.redis.lindex(_class_key(class_id, "log"), int(seq) - 1))
        return None if record is None else Event.from_record(class_id, json.loads(record))

    # fan-out over pub/sub

    async def subscribe(self, class_id: str, listener: FeedListener) -> None:
        listeners = self._listeners[class_id]
        listeners.append(listener)
        if len(listeners) == 1 and self._pubsub is not None:
            await self._call(self._pubsub.subscribe(_class_key(class_id, "feed")))
            if self._pubsub_task is None:
                self._pubsub_task = asyncio.create_task(self._read_feed(), name="redis-feed")

    async def unsubscribe(self, class_id: str, listener: FeedListener) -> None:
        listeners = self._listeners.get(class_id)
        if not listeners or listener not in listeners:
            return
        listeners.remove(listener)
        if not listeners:
            del self._listeners[class_id]
            if self._pubsub is not None:
                with contextlib.suppress(*_CONNECTION_ERRORS, RedisError):
                    await self._pubsub.unsubscribe(_class_key(class_id, "feed"))

    async def _read_feed(self) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return
        backoff = 0.05
        while True:
            try:
                message = await pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except (*_CONNECTION_ERRORS, RedisError) as exc:
                logger.warning("Redis feed interrupted (%s); reconnecting", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                try:
                    # Reconnects and re-subscribes to every channel (redis-py's on_connect).
                    await pubsub.ping()
                except (*_CONNECTION_ERRORS, RedisError):
                    continue
                backoff = 0.05
                for listeners in list(self._listeners.values()):
                    for listener in tuple(listeners):
                        listener.resync()
                continue
            if message is None or message.get("type") != "message":
                continue
            self._deliver_message(str(message["channel"]), message["data"])

    def _deliver_message(self, channel: str, data: str) -> None:
        """Hand one feed message (a group of events in seq order) to the class's listeners."""
        class_id = channel[len(PREFIX) + 2 : channel.index("}")]
        try:
            group = [Event.from_record(class_id, record) for record in json.loads(data)]
        except (ValueError, KeyError, TypeError):
            logger.exception("malformed feed message on %s", channel)
            return
        for event in group:
            for listener in tuple(self._listeners.get(class_id, ())):
                try:
                    listener.deliver(event)
                except Exception:
                    logger.exception("feed listener failed")
