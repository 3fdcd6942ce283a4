"""Real clients: HTTP calls with aiohttp and Socket.IO peers that record what they receive."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio

from classroom.protocol import EVENTS

_request_ids = itertools.count(1)


def with_client_id(event: str, payload: Any) -> Any:
    """``payload`` with a fresh ``client_id`` where the event is keyed by one and it has none,
    as the browser's connection adds one to each new request (a retry reuses it)."""
    spec = EVENTS.get(event)
    if spec is None or "client_id" not in spec.key_fields:
        return payload
    if payload is None:
        payload = {}
    if isinstance(payload, dict) and "client_id" not in payload:
        return {**payload, "client_id": f"{event}-{secrets.token_hex(4)}-{next(_request_ids)}"}
    return payload


@dataclass
class Api:
    """The HTTP API as the web client uses it."""

    base_url: str
    http: aiohttp.ClientSession

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: Any = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(
            method, self.base_url + path, json=json, data=data, headers=headers
        ) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.read()

    async def login(self, name: str, password: str) -> str:
        status, body = await self.request(
            "POST", "/api/login", json={"name": name, "password": password}
        )
        if status != 200:
            raise AssertionError(f"login failed: {status} {body}")
        return str(body["token"])

    async def create_class(self, token: str, title: str = "Class 5 Maths") -> dict[str, Any]:
        status, body = await self.request(
            "POST", "/api/classes", token=token, json={"title": title}
        )
        if status != 201:
            raise AssertionError(f"create class failed: {status} {body}")
        return dict(body)

    async def join(self, join_code: str, name: str) -> dict[str, Any]:
        status, body = await self.request(
            "POST", "/api/join", json={"join_code": join_code, "name": name}
        )
        if status != 201:
            raise AssertionError(f"join failed: {status} {body}")
        return dict(body)

    async def device(self, token: str, class_id: str) -> dict[str, Any]:
        status, body = await self.request(
            "POST",
            f"/api/classes/{class_id}/devices",
            token=token,
            json={"name": "Back-wall camera"},
        )
        if status != 201:
            raise AssertionError(f"device failed: {status} {body}")
        return dict(body)


@dataclass
class Peer:
    """A Socket.IO client that records every server event it receives, in order."""

    name: str = "peer"
    events: list[tuple[str, Any]] = field(default_factory=list)
    sio: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    connect_errors: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sio.on("*", self._record)
        self.sio.on("connect_error", self.connect_errors.append)
        # The catch-all hears no disconnect: wake ``wait_until`` for it too, so a predicate on
        # ``sio.connected`` is looked at again when the server closes the socket.
        self.sio.on("disconnect", self._disconnected)

    async def _disconnected(self, *reason: Any) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _record(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))
        async with self._changed:
            self._changed.notify_all()

    async def connect(self, url: str, auth: dict[str, Any]) -> None:
        await self.sio.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)

    async def disconnect(self) -> None:
        await self.sio.disconnect()

    async def call(
        self, event: str, payload: Any = None, timeout: float = 10, *, fill: bool = True
    ) -> dict[str, Any]:
        """Send one event and return its ack; ``fill`` adds a fresh ``client_id`` where the event
        needs one and the payload has none (``fill=False`` sends the payload as it is)."""
        if fill:
            payload = with_client_id(event, payload)
        if payload is None:
            ack = await self.sio.call(event, timeout=timeout)
        else:
            ack = await self.sio.call(event, payload, timeout=timeout)
        return dict(ack)

    async def ok(self, event: str, payload: Any = None) -> dict[str, Any]:
        ack = await self.call(event, payload)
        if not ack.get("ok"):
            raise AssertionError(f"{event} refused: {ack}")
        return ack

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    def log_events(self) -> list[dict[str, Any]]:
        """The lesson-log events received live (those with a seq)."""
        return [data for _, data in self.events if isinstance(data, dict) and "seq" in data]

    def seqs(self) -> list[int]:
        return [event["seq"] for event in self.log_events()]
