"""What a socket event handler receives: the caller's session and the services."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from classroom import roster
from classroom.errors import IdempotencyConflict, StoreUnavailable
from classroom.hub import ClassRuntime
from classroom.log import Actor, Event, Proposed
from classroom.protocol.common import Payload
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
    # A socket's writes run one at a time, in the order they arrived: a client may pipeline
    # (send the next ink batch before the previous one's ack) and each write is still checked
    # against a state that holds the ones before it.
    writes: asyncio.Lock = field(default_factory=asyncio.Lock)


def payload_digest(payload: Payload) -> str:
    """A short digest of a request's payload (compares a retry with the stored original)."""
    canonical = json.dumps(
        payload.model_dump(),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=_digest_bytes,  # a camera image is hashed, not spelled out
    )
    return hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()


def _digest_bytes(value: object) -> str:
    if isinstance(value, bytes):
        return hashlib.blake2b(value, digest_size=16).hexdigest()
    raise TypeError(f"cannot digest {type(value).__name__}")


# Extra ack fields of a write, made from its stored first event (the same for the first answer
# and for every retry). May raise: a vote the log did not count is refused again on a retry.
AckFields = Callable[["Call", Event | None], dict[str, Any]]


def no_fields(call: Call, event: Event | None) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Call:
    """The context of one client event."""

    services: Services
    session: Session
    runtime: ClassRuntime
    payload: BaseModel
    # The request's idempotency key (None for reads) and payload digest.
    key: str | None = None
    payload_hash: str | None = None
    fields: AckFields = no_fields

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
        return await self.services.append(
            self.session.class_id, self.actor, proposed, client_id, self.payload_hash
        )

    def stored_ack(self, event: Event) -> dict[str, Any]:
        """The answer to a retry of the request that stored ``event`` first."""
        if (
            event.payload_hash is not None
            and self.payload_hash is not None
            and event.payload_hash != self.payload_hash
        ):
            raise IdempotencyConflict(
                f"client id {self.key!r} was used before for another request", field="client_id"
            )
        return {"seq": event.seq, "duplicate": True, **self.fields(self, event)}

    async def append_ack(
        self, proposed: Sequence[Proposed], key: str | None = None
    ) -> dict[str, Any]:
        """Append under the request's idempotency key, wait until the live state includes the
        events, and answer with the ``{"seq", "duplicate", ...}`` ack fields.

        A retry (its key already stored, by this connection or another, in this process or
        another) is answered with the stored first event's seq and fields. A request that is
        valid but changes nothing answers ``noop`` with the class's seq.

        Waiting gives the client read-your-writes: its next message (the next stroke batch,
        say) is checked against a state that already holds this one, even when the events
        come back through Redis from another process. Usually nothing is left to wait for:
        the runtime applies this process's own events straight from the store's answer.
        """
        key = self.key if key is None else key
        if not proposed:
            stored = (
                None if self.key is None else await self.runtime.find_keyed(self.actor, self.key)
            )
            if stored is not None:
                return self.stored_ack(stored)
            return {
                "seq": self.runtime.seq,
                "duplicate": False,
                "noop": True,
                **self.fields(self, None),
            }
        results = await self.append(proposed, key)
        await self.runtime.apply_appended([r.event for r in results if not r.duplicate])
        if not await self.runtime.wait_for(results[-1].event.seq):
            raise StoreUnavailable("the write is stored but the class is catching up; retry")
        first = results[0]
        if first.duplicate:
            return self.stored_ack(first.event)
        return {"seq": first.event.seq, "duplicate": False, **self.fields(self, first.event)}


Handler = Callable[[Call, Any], Awaitable[dict[str, Any]]]
