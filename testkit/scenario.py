"""A small classroom set up over HTTP against a running server (in-process or subprocess)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

from testkit.client import Api, Peer


@dataclass
class Classroom:
    api: Api
    teacher_token: str
    class_id: str
    join_code: str

    @classmethod
    async def create(
        cls, http: aiohttp.ClientSession, url: str, teacher: str, password: str
    ) -> Classroom:
        api = Api(url, http)
        token = await api.login(teacher, password)
        created = await api.create_class(token)
        return cls(api, token, str(created["class_id"]), str(created["join_code"]))

    async def teacher(self, url: str | None = None) -> Peer:
        peer = Peer("teacher")
        await peer.connect(
            url or self.api.base_url, {"token": self.teacher_token, "class_id": self.class_id}
        )
        return peer

    async def student(self, name: str, url: str | None = None) -> tuple[Peer, dict[str, Any]]:
        joined = await self.api.join(self.join_code, name)
        peer = Peer(name)
        await peer.connect(url or self.api.base_url, {"token": joined["token"]})
        return peer, joined


async def read_whole_log(peer: Peer, after_seq: int = 0) -> list[dict[str, Any]]:
    """Page through ``log_resume`` until the head."""
    events: list[dict[str, Any]] = []
    while True:
        page = await peer.ok("log_resume", {"after_seq": after_seq, "limit": 500})
        events += page["events"]
        after_seq = page["next_after_seq"]
        if not page["more"]:
            return events


async def gather_acks(peer: Peer, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Send many events at once and collect every ack."""
    return list(await asyncio.gather(*(peer.call(name, payload) for name, payload in calls)))
