"""Hypothesis fuzzing of every event schema over a real socket: never a crash, never INTERNAL."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classroom.auth import hash_password
from classroom.classes import TeacherRecord
from classroom.errors import ClassroomError
from classroom.keys import SERVICES
from classroom.protocol import EVENTS
from classroom.settings import Settings
from testkit.client import Api, Peer
from tests.conftest import start_app

T = TypeVar("T")


def _all_codes() -> set[str]:
    import classroom.lesson  # noqa: F401  (defines every feature's errors)

    codes, stack = set(), [ClassroomError]
    while stack:
        cls = stack.pop()
        codes.add(cls.code)
        stack.extend(cls.__subclasses__())
    return codes


KNOWN_CODES = _all_codes() - {"INTERNAL"}
ROLE_ORDER = ("teacher", "student", "board")


class LoopThread:
    """An event loop in its own thread, so synchronous hypothesis tests can drive async peers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class FuzzEnv:
    loop: LoopThread
    peers: dict[str, Peer]
    runner: web.AppRunner

    def call(self, role: str, name: str, payload: Any) -> dict[str, Any]:
        return self.loop.run(self.peers[role].call(name, payload, fill=False))


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzEnv]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    loop = LoopThread()

    async def setup() -> FuzzEnv:
        settings_ = Settings(
            host="127.0.0.1",
            port=0,
            data_dir=tmp,
            rate_limits=False,
            store_url=f"sqlite://{tmp / 'fuzz.db'}",
        )
        runner, url = await start_app(settings_)
        services = runner.app[SERVICES]
        await services.store.add_teacher(TeacherRecord("fuzz", hash_password("fuzz-pass-1"), 0))
        async with aiohttp.ClientSession() as http:
            api = Api(url, http)
            token = await api.login("fuzz", "fuzz-pass-1")
            cls = await api.create_class(token)
            joined = await api.join(str(cls["join_code"]), "Fuzzy")
            device = await api.device(token, str(cls["class_id"]))
        peers = {role: Peer(role) for role in ROLE_ORDER}
        await peers["teacher"].connect(url, {"token": token, "class_id": cls["class_id"]})
        await peers["student"].connect(url, {"token": joined["token"]})
        await peers["board"].connect(url, {"token": device["token"]})
        await peers["teacher"].ok("board_allow_drawing", {"ink": "class"})
        return FuzzEnv(loop, peers, runner)

    env = loop.run(setup())
    yield env

    async def teardown() -> None:
        for peer in env.peers.values():
            await peer.disconnect()
        await env.runner.cleanup()
        leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    loop.run(teardown())
    loop.stop()


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)  # no binary: only the camera's image may be binary (the examples carry it); see test_transport
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@st.composite
def event_and_payload(draw: st.DrawFn) -> tuple[str, str, Any]:
    name = draw(st.sampled_from(sorted(EVENTS)))
    spec = EVENTS[name]
    role = next(r for r in ROLE_ORDER if r in spec.roles)
    example = copy.deepcopy(spec.example)
    kind = draw(st.sampled_from(["mutate", "mutate", "raw"]))
    if kind == "raw" or not example:
        return name, role, draw(json_values)
    keys = [*sorted(example), "unexpected"]
    changes = draw(st.dictionaries(st.sampled_from(keys), json_values, min_size=1, max_size=3))
    dropped = draw(st.sets(st.sampled_from(sorted(example)), max_size=1))
    payload = {k: v for k, v in {**example, **changes}.items() if k not in dropped}
    return name, role, payload


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=event_and_payload())
def test_any_payload_gets_a_well_formed_ack(fuzz_env: FuzzEnv, case: tuple[str, str, Any]) -> None:
    name, role, payload = case
    ack = fuzz_env.call(role, name, payload)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        error = ack["error"]
        assert error["code"] in KNOWN_CODES, (name, payload, ack)
        assert isinstance(error["message"], str) and "Traceback" not in error["message"]


def test_server_still_serves_after_the_fuzzing(fuzz_env: FuzzEnv) -> None:
    started = time.time() * 1000
    for role in ROLE_ORDER:
        ack = fuzz_env.call(role, "clock_sync", {"client_time_ms": started})
        assert ack["ok"] and ack["server_time_ms"] >= started - 1000
    snap = fuzz_env.call("teacher", "class_snapshot", None)
    assert snap["ok"] and snap["seq"] >= 1
