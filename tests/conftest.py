"""Fixtures with real parts: an in-process server on a real socket, a real Redis server."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from classroom.auth import hash_password
from classroom.classes import TeacherRecord
from classroom.keys import SERVICES
from classroom.services import Services
from classroom.settings import Settings
from testkit.client import Api, Peer
from testkit.inprocess import start_app
from testkit.procs import RedisCluster, RedisServer

TEACHER = "amina"
PASSWORD = "correct-horse-9"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One durable redis-server for the session (tests use random class ids, no clashes)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return os.environ.get("REDIS_URL") or redis_server.url


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """One real Redis Cluster for the session: 3 masters, 3 replicas, AOF fsync always."""
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster_url(redis_cluster: RedisCluster) -> str:
    return os.environ.get("REDIS_CLUSTER_URL") or redis_cluster.url


@pytest.fixture(params=["redis", "cluster"])
def shared_store_url(request: pytest.FixtureRequest) -> str:
    """A store several server processes share: one Redis server, or a Redis Cluster."""
    return str(request.getfixturevalue("redis_url" if request.param == "redis" else "cluster_url"))


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'takhti.sqlite3'}"
    return str(request.getfixturevalue("redis_url"))


@dataclass
class Running:
    url: str
    app: web.Application
    api: Api
    teacher_token: str
    # Sockets opened through teacher()/student(): closed before the app shuts down (an open
    # websocket makes aiohttp's shutdown wait its full grace period, 20 s a test).
    peers: list[Peer] = field(default_factory=list)

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    async def new_class(self) -> dict[str, object]:
        return await self.api.create_class(self.teacher_token)

    async def teacher(self, class_id: str, name: str = "teacher") -> Peer:
        peer = Peer(name)
        self.peers.append(peer)
        await peer.connect(self.url, {"token": self.teacher_token, "class_id": class_id})
        return peer

    async def student(self, join_code: str, name: str = "Ali") -> tuple[Peer, dict[str, object]]:
        joined = await self.api.join(join_code, name)
        peer = Peer(name)
        self.peers.append(peer)
        await peer.connect(self.url, {"token": joined["token"]})
        return peer, joined

    async def close_peers(self) -> None:
        for peer in self.peers:
            with contextlib.suppress(Exception):
                await peer.disconnect()


@pytest.fixture
async def peers() -> AsyncIterator[list[Peer]]:
    """Peers a test opens itself; all disconnected at the end, even when the test fails."""
    opened: list[Peer] = []
    yield opened
    for peer in opened:
        await peer.disconnect()


@pytest.fixture
async def running(tmp_path: Path, store_url: str) -> AsyncIterator[Running]:
    """The server app on a real socket, over SQLite and over Redis, with one teacher."""
    async for item in _running(tmp_path, store_url):
        yield item


@pytest.fixture
async def running_sqlite(tmp_path: Path) -> AsyncIterator[Running]:
    async for item in _running(tmp_path, f"sqlite://{tmp_path / 'takhti.sqlite3'}"):
        yield item


@pytest.fixture
async def running_unlimited(tmp_path: Path) -> AsyncIterator[Running]:
    """SQLite server without per-connection rate limits, for tests that send floods on purpose."""
    async for item in _running(
        tmp_path, f"sqlite://{tmp_path / 'takhti.sqlite3'}", rate_limits=False
    ):
        yield item


async def _running(
    tmp_path: Path, store_url: str, *, rate_limits: bool = True
) -> AsyncIterator[Running]:
    settings = Settings(
        host="127.0.0.1",
        port=0,
        store_url=store_url,
        data_dir=tmp_path,
        rate_limits=rate_limits,
    )
    runner, url = await start_app(settings)
    services = runner.app[SERVICES]
    name = f"{TEACHER}-{time.monotonic_ns()}"
    await services.store.add_teacher(TeacherRecord(name, hash_password(PASSWORD), 0))
    async with aiohttp.ClientSession() as http:
        api = Api(url, http)
        token = await api.login(name, PASSWORD)
        running = Running(url, runner.app, api, token)
        yield running
        await running.close_peers()
    await runner.cleanup()
