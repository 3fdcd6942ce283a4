"""What a socket event handler receives: the caller's session and the services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from classroom.hub import ClassRuntime
from classroom.log import Actor, Proposed
from classroom.ratelimit import TokenBucket
from classroom.services import Services
from classroom.storage.base import AppendResult


@dataclass(eq=False)
class Session:
    """One connected socket: who it speaks for and in which class."""

    sid: str
    actor: Actor
    class_id: str
    address: str
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    # The pending write that logs this socket's connection (students only).
    presence: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class Call:
    """The context of one client event."""

    services: Services
    session: Session
    runtime: ClassRuntime

    @property
    def actor(self) -> Actor:
        return self.session.actor

    async def append(
        self, proposed: Sequence[Proposed], client_id: str | None = None
    ) -> list[AppendResult]:
        return await self.services.append(self.session.class_id, self.actor, proposed, client_id)

    async def append_ack(
        self, proposed: Sequence[Proposed], client_id: str | None = None
    ) -> dict[str, Any]:
        """Append and answer with the standard ``{"seq", "duplicate"}`` ack fields."""
        if not proposed:
            return {"seq": self.runtime.seq, "duplicate": True}
        results = await self.append(proposed, client_id)
        return {"seq": results[0].event.seq, "duplicate": results[0].duplicate}


Handler = Callable[[Call, Any], Awaitable[dict[str, Any]]]
