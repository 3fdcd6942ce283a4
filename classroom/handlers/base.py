"""What a socket event handler receives: the caller's session and the services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from classroom import roster
from classroom.errors import StoreUnavailable
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


@dataclass(frozen=True)
class Call:
    """The context of one client event."""

    services: Services
    session: Session
    runtime: ClassRuntime

    @property
    def actor(self) -> Actor:
        return self.session.actor

    def open_part(self, feature: str) -> Any:
        """A feature's live state, refusing with CLASS_ENDED once the teacher ended the class."""
        roster.check_open(self.runtime.state.roster)
        return self.runtime.state.part(feature)

    async def append(
        self, proposed: Sequence[Proposed], client_id: str | None = None
    ) -> list[AppendResult]:
        return await self.services.append(self.session.class_id, self.actor, proposed, client_id)

    async def append_ack(
        self, proposed: Sequence[Proposed], client_id: str | None = None
    ) -> dict[str, Any]:
        """Append, wait until the live state includes the events, and answer with the
        standard ``{"seq", "duplicate"}`` ack fields.

        Waiting gives the client read-your-writes: its next message (the next stroke batch,
        say) is checked against a state that already holds this one, even when the events
        come back through Redis from another process. Usually nothing is left to wait for:
        the runtime applies this process's own events straight from the store's answer.
        """
        if not proposed:
            return {"seq": self.runtime.seq, "duplicate": True}
        results = await self.append(proposed, client_id)
        await self.runtime.apply_appended([r.event for r in results if not r.duplicate])
        if not await self.runtime.wait_for(results[-1].event.seq):
            raise StoreUnavailable("the write is stored but the class is catching up; retry")
        return {"seq": results[0].event.seq, "duplicate": results[0].duplicate}


Handler = Callable[[Call, Any], Awaitable[dict[str, Any]]]
