"""Redis Cluster store: the Redis store's data and scripts, sharded by class over many masters.

URL: ``redis+cluster://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...][?wait_replicas=1&wait_ms=1000]``
(``rediss+cluster://`` for TLS). The hosts are start-up nodes: any one reachable node is enough,
the client learns the rest of the cluster from it.

Every key of a class carries the hash tag ``{class_id}``, so a class lives on one master and
the append script (log, ids and append keys) runs there. Keys outside a class (teachers, join
codes, the secret) spread over the slots; no command or script touches two slots (pipelines
across slots are split per node by the client).

Fan-out is sharded pub/sub (Redis 7): the append script ``SPUBLISH``es on ``tk:{class_id}:feed``,
a channel in the class's own slot, and a process ``SSUBSCRIBE``s on the master that owns it, one
connection per master it follows classes on. A process hears only the classes its clients are
in; nothing is broadcast across the cluster (classic ``PUBLISH`` in a cluster reaches every
node). When a slot moves (resharding) the old owner ends the subscription (``sunsubscribe``);
when a master dies the connection drops. Either way the channel is subscribed again on the
slot's new owner and, once Redis confirms, the class's listeners resync from the log, so a
gap is repaired by seq as on one Redis.

Failover: an append is acknowledged only after ``WAIT wait_replicas wait_ms``, sent on the
same connection right after the script (one round trip for both), says that many replicas
have the write. (``WAITAOF`` would also wait for the replica's fsync; it needs Redis 7.2.)
If fewer replicas answer in time the append is *not* acknowledged: the caller gets
``StoreUnavailable``, the client retries with the same key and finds the event if it survived
(answered as a duplicate, never stored twice) or stores it once if it did not. A master killed
after WAIT hands over to a replica that holds every acknowledged event. What can still be lost:
a master and its replica both killed before the replica fsynced its AOF (a double failure
within about one fsync), or the replica's copy if both machines lose power at once. An event
that was published live but whose WAIT failed may have been shown to other clients and then
lost in the failover; it was never acknowledged to its author.

Cost (``bench/cluster_wait.py``, one machine): WAIT 1 took the append p50 from 0.70 to 1.13 ms
and p99 from 1.11 to 2.37 ms (docs/operations.md, "Redis Cluster").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qs, unquote

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, PipelineCommand, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import (
    AskError,
    ClusterDownError,
    NoScriptError,
    RedisClusterException,
    RedisError,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)

from classroom.errors import StoreUnavailable
from classroom.storage.base import FeedListener
from classroom.storage.redis import (
    _CONNECTION_ERRORS,
    APPEND_SCRIPT,
    MAX_CONNECTIONS,
    RedisStore,
    _class_key,
)

logger = logging.getLogger(__name__)

CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")
# The same script, publishing on the class's shard channel (same slot as its keys).
CLUSTER_APPEND_SCRIPT = APPEND_SCRIPT.replace("redis.call('PUBLISH',", "redis.call('SPUBLISH',")
assert CLUSTER_APPEND_SCRIPT != APPEND_SCRIPT
# How long an append keeps retrying while its slot moves or its master fails over.
REDIRECT_DEADLINE_S = 15.0
# Errors after which the slot's owner is looked up again and the call retried.
_REDIRECTS = (AskError, TryAgainError, ClusterDownError, RedisClusterException)


def parse_cluster_url(url: str) -> dict[str, Any]:
    """The start-up nodes and options of a ``redis+cluster://`` URL (ValueError if malformed)."""
    if not url.startswith(CLUSTER_SCHEMES):
        raise ValueError(f"not a Redis Cluster URL: {url!r}")
    scheme, _, rest = url.partition("://")
    rest, _, query_text = rest.partition("?")
    netloc = rest.partition("/")[0]
    auth, at, hosts = netloc.rpartition("@")
    nodes: list[tuple[str, int]] = []
    for item in hosts.split(","):
        host, colon, port = item.strip().rpartition(":")
        if not colon or not host or not port.isdigit():
            raise ValueError(f"{url!r}: each node is HOST:PORT")
        nodes.append((host.strip("[]"), int(port)))
    query = parse_qs(query_text)
    options: dict[str, Any] = {
        "nodes": nodes,
        "ssl": scheme == "rediss+cluster",
        "wait_replicas": int(query.get("wait_replicas", ["1"])[0]),
        "wait_ms": int(query.get("wait_ms", ["1000"])[0]),
        "username": None,
        "password": None,
    }
    if at:
        user, colon, password = auth.partition(":")
        options["username"] = unquote(user) or None
        options["password"] = unquote(password) if colon else None
    return options


class RedisClusterStore(RedisStore):
    """Store on a Redis Cluster (see module docstring)."""

    name = "redis-cluster"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.options = parse_cluster_url(url)
        self.wait_replicas: int = self.options["wait_replicas"]
        self.wait_ms: int = self.options["wait_ms"]
        self._cluster: RedisCluster | None = None
        self._raw_cluster: RedisCluster | None = None
        # Sharded feed: one pub/sub connection per master, the channel -> master it is on
        # (None: to be subscribed again), and the channels to resync once Redis confirms.
        self._node_pubsubs: dict[str, tuple[aioredis.Redis, PubSub]] = {}
        self._node_readers: dict[str, asyncio.Task[None]] = {}
        self._channel_node: dict[str, str | None] = {}
        self._resync_on_confirm: set[str] = set()
        self._reroute_wanted = asyncio.Event()
        self._reroute_task: asyncio.Task[None] | None = None

    @property
    def cluster(self) -> RedisCluster:
        if self._cluster is None:
            raise StoreUnavailable("the store is not open")
        return self._cluster

    def _client(self, *, decode: bool, max_connections: int) -> RedisCluster:
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in self.options["nodes"]],
            decode_responses=decode,
            max_connections=max_connections,
            require_full_coverage=False,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=10),
            socket_connect_timeout=2,
            username=self.options["username"],
            password=self.options["password"],
            ssl=self.options["ssl"],
        )

    async def open(self) -> None:
        self._cluster = self._client(decode=True, max_connections=MAX_CONNECTIONS)
        self._raw_cluster = self._client(decode=False, max_connections=4)
        try:
            await self._cluster.initialize()
            await self._raw_cluster.initialize()
        except (*_CONNECTION_ERRORS, RedisError, RedisClusterException) as exc:
            raise StoreUnavailable(f"cannot reach the Redis Cluster at {self.url}: {exc}") from exc
        # RedisStore's commands go through these (the cluster client has the same API).
        self._redis = self._cluster  # type: ignore[assignment]
        self._raw = self._raw_cluster  # type: ignore[assignment]
        await self._check_durability()
        self._reroute_task = asyncio.create_task(self._reroute_loop(), name="redis-reroute")

    async def close(self) -> None:
        tasks = [*self._node_readers.values()]
        if self._reroute_task is not None:
            tasks.append(self._reroute_task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._node_readers.clear()
        self._reroute_task = None
        for name in list(self._node_pubsubs):
            await self._drop_node_pubsub(name)
        self._redis = None
        self._raw = None
        for client in (self._cluster, self._raw_cluster):
            if client is not None:
                await client.aclose()
        self._cluster = None
        self._raw_cluster = None

    async def ping(self) -> None:
        try:
            await self.cluster.ping()
        except (*_CONNECTION_ERRORS, RedisError, RedisClusterException) as exc:
            raise StoreUnavailable(f"cannot reach the Redis Cluster: {exc}") from exc

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except StoreUnavailable:
            raise
        except _CONNECTION_ERRORS as exc:
            raise StoreUnavailable(f"the Redis Cluster is unreachable: {exc}") from exc
        except (RedisError, RedisClusterException) as exc:
            raise StoreUnavailable(f"the Redis Cluster failed: {exc}") from exc

    # the append: script and WAIT on the slot's master, retried across redirects

    async def _run_append(self, keys: list[str], args: list[str]) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REDIRECT_DEADLINE_S
        delay = 0.02
        while True:
            try:
                node = self._owner(keys[0])
                return await self._script_and_wait(node, keys, args)
            except (*_REDIRECTS, *_CONNECTION_ERRORS) as exc:
                if loop.time() > deadline:
                    raise
                logger.info("append to %s redirected or refused (%s); retrying", keys[0], exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
                with contextlib.suppress(*_CONNECTION_ERRORS, RedisError, RedisClusterException):
                    await self.cluster.nodes_manager.initialize()

    async def _script_and_wait(self, node: ClusterNode, keys: list[str], args: list[str]) -> Any:
        if self._append_sha is None:
            self._append_sha = await self.cluster.script_load(CLUSTER_APPEND_SCRIPT)
        commands = [PipelineCommand(0, "EVALSHA", self._append_sha, len(keys), *keys, *args)]
        if self.wait_replicas > 0:
            commands.append(PipelineCommand(1, "WAIT", self.wait_replicas, self.wait_ms))
        await node.execute_pipeline(commands)
        result = commands[0].result
        if isinstance(result, NoScriptError):
            # A node that restarted or was promoted without the script: load it there, retry
            # (the same keys, so an append that did run is found).
            await node.execute_command("SCRIPT", "LOAD", CLUSTER_APPEND_SCRIPT)
            raise TryAgainError("script loaded")
        if isinstance(result, Exception):
            raise result
        if self.wait_replicas > 0:
            acked = commands[1].result
            if isinstance(acked, Exception):
                raise acked
            if int(acked) < self.wait_replicas:
                raise StoreUnavailable(
                    f"the append reached {acked} of {self.wait_replicas} replicas in "
                    f"{self.wait_ms} ms; not acknowledged (a retry with the same key is safe)"
                )
        return result

    # sharded fan-out

    async def subscribe(self, class_id: str, listener: FeedListener) -> None:
        listeners = self._listeners[class_id]
        listeners.append(listener)
        if len(listeners) == 1:
            channel = _class_key(class_id, "feed")
            self._channel_node[channel] = None
            try:
                await self._ssubscribe(channel)
            except (*_CONNECTION_ERRORS, RedisError, RedisClusterException) as exc:
                # Not fatal: the reroute task subscribes it when the slot has an owner again
                # and the listener resyncs then.
                logger.warning("cannot subscribe to %s yet (%s)", channel, exc)
                self._channel_node[channel] = None
                self._resync_on_confirm.add(channel)
                self._reroute_wanted.set()

    async def unsubscribe(self, class_id: str, listener: FeedListener) -> None:
        listeners = self._listeners.get(class_id)
        if not listeners or listener not in listeners:
            return
        listeners.remove(listener)
        if listeners:
            return
        del self._listeners[class_id]
        channel = _class_key(class_id, "feed")
        name = self._channel_node.pop(channel, None)
        self._resync_on_confirm.discard(channel)
        found = self._node_pubsubs.get(name) if name is not None else None
        if found is not None:
            with contextlib.suppress(*_CONNECTION_ERRORS, RedisError):
                await found[1].sunsubscribe(channel)

    def _owner(self, key: str) -> ClusterNode:
        node = self.cluster.get_node_from_key(key)
        if node is None:
            raise SlotNotCoveredError(f"no master holds the slot of {key}")
        return node

    async def _ssubscribe(self, channel: str) -> None:
        node = self._owner(channel)
        pubsub = await self._node_pubsub(node)
        try:
            await pubsub.ssubscribe(channel)
        except (*_CONNECTION_ERRORS, RedisError):
            for other, on in list(self._channel_node.items()):
                if on == node.name:
                    self._orphan(other)
            await self._drop_node_pubsub(node.name)
            raise
        self._channel_node[channel] = node.name
        if node.name not in self._node_readers:
            self._node_readers[node.name] = asyncio.create_task(
                self._read_node(node.name, pubsub), name=f"redis-feed-{node.name}"
            )

    async def _node_pubsub(self, node: ClusterNode) -> PubSub:
        found = self._node_pubsubs.get(node.name)
        if found is not None:
            return found[1]
        client = aioredis.Redis(
            host=node.host,
            port=int(node.port),
            decode_responses=True,
            socket_connect_timeout=2,
            # No reconnect of its own: a dropped connection means "find the new owner".
            retry=Retry(NoBackoff(), 0),
            username=self.options["username"],
            password=self.options["password"],
            ssl=self.options["ssl"],
        )
        pubsub = client.pubsub()
        self._node_pubsubs[node.name] = (client, pubsub)
        return pubsub

    async def _drop_node_pubsub(self, name: str) -> None:
        found = self._node_pubsubs.pop(name, None)
        reader = self._node_readers.pop(name, None)
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        if found is not None:
            with contextlib.suppress(Exception):
                await found[1].aclose()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await found[0].aclose()

    def _orphan(self, channel: str) -> None:
        """Subscribe ``channel`` again on its slot's owner, then resync its listeners."""
        if channel in self._channel_node:
            self._channel_node[channel] = None
            self._resync_on_confirm.add(channel)
            self._reroute_wanted.set()

    async def _read_node(self, name: str, pubsub: PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except ResponseError as exc:
                # MOVED for an SSUBSCRIBE sent with an old slot map: look again.
                logger.info("feed on %s: %s; rerouting", name, exc)
                for channel, on in list(self._channel_node.items()):
                    if on == name:
                        self._resync_on_confirm.add(channel)
                self._reroute_wanted.set()
                continue
            except (*_CONNECTION_ERRORS, RedisError) as exc:
                logger.warning("feed from %s lost (%s); subscribing on the new owners", name, exc)
                for channel, on in list(self._channel_node.items()):
                    if on == name:
                        self._orphan(channel)
                self._node_readers.pop(name, None)
                await self._drop_node_pubsub(name)
                return
            if message is None:
                continue
            kind = message.get("type")
            channel = str(message.get("channel"))
            if kind == "smessage":
                self._deliver_message(channel, message["data"])
            elif kind == "ssubscribe":
                if channel in self._resync_on_confirm and self._channel_node.get(channel) == name:
                    self._resync_on_confirm.discard(channel)
                    self._resync_channel(channel)
            elif kind == "sunsubscribe" and self._channel_node.get(channel) == name:
                # We did not ask: the slot moved away from this master.
                pubsub.shard_channels.pop(channel, None)
                self._orphan(channel)

    def _resync_channel(self, channel: str) -> None:
        class_id = channel[len("tk") + 2 : channel.index("}")]
        for listener in tuple(self._listeners.get(class_id, ())):
            listener.resync()

    async def _reroute_loop(self) -> None:
        delay = 0.05
        while True:
            await self._reroute_wanted.wait()
            self._reroute_wanted.clear()
            try:
                await self.cluster.nodes_manager.initialize()
                for channel, name in list(self._channel_node.items()):
                    owner = self._owner(channel)
                    if name == owner.name and channel not in self._resync_on_confirm:
                        continue
                    if name is not None and name != owner.name:
                        old = self._node_pubsubs.get(name)
                        if old is not None:
                            old[1].shard_channels.pop(channel, None)
                    self._channel_node[channel] = None
                    self._resync_on_confirm.add(channel)
                    await self._ssubscribe(channel)
                delay = 0.05
            except asyncio.CancelledError:
                raise
            except (*_CONNECTION_ERRORS, RedisError, RedisClusterException) as exc:
                logger.info("rerouting the feed failed (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                self._reroute_wanted.set()
