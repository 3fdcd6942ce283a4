"""The Redis Cluster store on a real cluster: sharded fan-out, hundreds of classes, resharding."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from classroom.log import Actor, Event, NewEvent
from classroom.storage import open_store
from classroom.storage.cluster import RedisClusterStore, parse_cluster_url
from testkit.procs import RedisCluster

TEACHER = Actor("teacher", "amina", "amina")


class Follower:
    """A feed listener that keeps a class's log in seq order as the hub does.

    An event past a gap, or a resync, makes it read the missing events from the store.
    """

    def __init__(self, store: RedisClusterStore, class_id: str) -> None:
        self.store = store
        self.class_id = class_id
        self.events: list[Event] = []
        self.delivered = 0
        self.resyncs = 0
        self.out_of_order = 0
        self.changed = asyncio.Event()
        self._catching_up: asyncio.Task[None] | None = None

    @property
    def seq(self) -> int:
        return self.events[-1].seq if self.events else 0

    def deliver(self, event: Event) -> None:
        self.delivered += 1
        if event.seq == self.seq + 1 and self._catching_up is None:
            self.events.append(event)
            self.changed.set()
        elif event.seq > self.seq + 1:
            self.out_of_order += 1
            self._catch_up()

    def resync(self) -> None:
        self.resyncs += 1
        self._catch_up()

    def _catch_up(self) -> None:
        if self._catching_up is None:
            self._catching_up = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                more = await self.store.read_after(self.class_id, self.seq, 500)
                self.events.extend(more)
                if len(more) < 500:
                    break
        finally:
            self._catching_up = None
            self.changed.set()

    async def wait_for_seq(self, seq: int, timeout: float = 20) -> None:
        async def wait() -> None:
            while self.seq < seq:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def cluster_store(cluster_url: str, tmp_path: Path) -> AsyncIterator[RedisClusterStore]:
    store = open_store(cluster_url, data_dir=tmp_path)
    assert isinstance(store, RedisClusterStore)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def writer(cluster_url: str, tmp_path: Path) -> AsyncIterator[RedisClusterStore]:
    """A second process's store: appends from here reach the first only through Redis."""
    store = open_store(cluster_url, data_dir=tmp_path)
    assert isinstance(store, RedisClusterStore)
    await store.open()
    yield store
    await store.close()


def cid() -> str:
    return f"c_{secrets.token_hex(6)}"


def new(n: int, key: str | None = None) -> NewEvent:
    return NewEvent(type="note", actor=TEACHER, data={"n": n}, client_id=key or f"k{n}")


def test_cluster_url_names_every_start_up_node_and_the_wait() -> None:
    options = parse_cluster_url("redis+cluster://u:p%40ss@10.0.0.1:7000,10.0.0.2:7001?wait_ms=250")
    assert options["nodes"] == [("10.0.0.1", 7000), ("10.0.0.2", 7001)]
    assert (options["username"], options["password"]) == ("u", "p@ss")
    assert (options["wait_replicas"], options["wait_ms"]) == (1, 250)
    with pytest.raises(ValueError):
        parse_cluster_url("redis+cluster://10.0.0.1")


async def test_cluster_fan_out_is_sharded_to_the_class_s_master_only(
    cluster_store: RedisClusterStore, writer: RedisClusterStore, redis_cluster: RedisCluster
) -> None:
    followed, other = cid(), cid()
    follower = Follower(cluster_store, followed)
    await cluster_store.subscribe(followed, follower)
    # Anything published the classic way would reach a PSUBSCRIBE * on every node.
    classic = [
        aioredis.Redis(port=port, decode_responses=True).pubsub() for port in redis_cluster.ports
    ]
    try:
        for pubsub in classic:
            await pubsub.psubscribe("*")
            assert (await pubsub.get_message(timeout=5))["type"] == "psubscribe"
        await writer.append(other, [new(1)])
        for n in range(1, 6):
            await writer.append(followed, [new(n)])
        await follower.wait_for_seq(5)
        assert [e.data["n"] for e in follower.events] == [1, 2, 3, 4, 5]
        assert follower.delivered == 5  # live, not read back from the log

        # The follower's one subscription is on the class's master; the other class has none.
        for class_id, subscribers in ((followed, 1), (other, 0)):
            channel = f"tk:{{{class_id}}}:feed"
            owner = redis_cluster.owner_of(channel)
            reply = redis_cluster.command(owner, "pubsub", "shardnumsub", channel).split()
            assert reply == [channel, str(subscribers)]
        for pubsub in classic:
            assert await pubsub.get_message(timeout=0.2) is None  # nothing broadcast
    finally:
        for pubsub in classic:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
        await cluster_store.unsubscribe(followed, follower)


async def test_cluster_one_process_follows_300_classes_each_in_seq_order(
    cluster_store: RedisClusterStore, writer: RedisClusterStore
) -> None:
    classes = [cid() for _ in range(300)]
    followers = {class_id: Follower(cluster_store, class_id) for class_id in classes}
    for class_id, follower in followers.items():
        await cluster_store.subscribe(class_id, follower)
    # Subscribed on every master (the classes hash over all the slots).
    assert len(cluster_store._node_pubsubs) == 3
    rounds = 6

    async def teach(class_id: str) -> None:
        for n in range(1, rounds + 1):
            await writer.append(class_id, [new(n)])

    await asyncio.gather(*(teach(class_id) for class_id in classes))
    for follower in followers.values():
        await follower.wait_for_seq(rounds)
    for follower in followers.values():
        assert [e.seq for e in follower.events] == list(range(1, rounds + 1))
        assert [e.data["n"] for e in follower.events] == list(range(1, rounds + 1))
        assert follower.out_of_order == 0
    for class_id, follower in followers.items():
        await cluster_store.unsubscribe(class_id, follower)


async def test_cluster_resharding_a_live_class_loses_and_doubles_nothing(
    cluster_store: RedisClusterStore, writer: RedisClusterStore, redis_cluster: RedisCluster
) -> None:
    class_id = cid()
    follower = Follower(cluster_store, class_id)
    await cluster_store.subscribe(class_id, follower)
    log_key = f"tk:{{{class_id}}}:log"
    acked: list[int] = []
    duplicates = 0
    stop = asyncio.Event()

    async def teach() -> None:
        nonlocal duplicates
        n = 0
        while not stop.is_set():
            n += 1
            (result,) = await writer.append(class_id, [new(n)])
            acked.append(result.event.data["n"])
            duplicates += result.duplicate

    teaching = asyncio.create_task(teach())
    try:
        await follower.wait_for_seq(20)
        source = redis_cluster.owner_of(log_key)
        target = next(port for port in redis_cluster.masters() if port != source)
        before = len(acked)
        await asyncio.to_thread(_move_slot, redis_cluster, log_key, source, target)
        assert redis_cluster.owner_of(log_key) == target
        # Appends go on, to the new master, and the follower hears them there.
        await follower.wait_for_seq(len(acked) + 20)
        assert len(acked) > before + 20
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await teaching
    teaching.result()
    head = await writer.head(class_id)
    await follower.wait_for_seq(head)
    logged = [e.data["n"] for e in await writer.read_after(class_id, 0, head + 10)]
    assert duplicates == 0
    assert logged == acked == list(range(1, len(acked) + 1))  # each once, in order
    assert [e.data["n"] for e in follower.events] == logged
    assert follower.resyncs >= 1  # it was told the subscription moved
    channel = f"tk:{{{class_id}}}:feed"
    reply = redis_cluster.command(target, "pubsub", "shardnumsub", channel).split()
    assert reply == [channel, "1"]
    await cluster_store.unsubscribe(class_id, follower)


def _move_slot(cluster: RedisCluster, key: str, source: int, target: int) -> None:
    """Move ``key``'s slot from master ``source`` to ``target``, keys and all, as Redis does."""
    slot = cluster.command(source, "cluster", "keyslot", key).strip()
    source_id = cluster.command(source, "cluster", "myid").strip()
    target_id = cluster.command(target, "cluster", "myid").strip()
    cluster.command(target, "cluster", "setslot", slot, "importing", source_id)
    cluster.command(source, "cluster", "setslot", slot, "migrating", target_id)
    while keys := cluster.command(source, "cluster", "getkeysinslot", slot, "100").split():
        cluster.command(source, "migrate", "127.0.0.1", str(target), "", "0", "5000", "keys", *keys)
    for port in cluster.masters():
        cluster.command(port, "cluster", "setslot", slot, "node", target_id)
