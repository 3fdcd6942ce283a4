"""Shared pieces of the protocol: the payload base model, common field types, spec records."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from classroom.log import Role


class Payload(BaseModel):
    """Base of every client->server payload: strict types, no unknown fields, no NaN/Infinity."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class Broadcast(BaseModel):
    """Base of the ``data`` of server->client events (documentation and TypeScript types)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# A client-made id: makes a retried write idempotent (stroke id, vote id ...).
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
# A server-made id of a class, student, device, page, poll ...
ServerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# Short human text (names, titles) and longer text (questions, open answers).
Name = Annotated[str, StringConstraints(min_length=1, max_length=60, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Seq = Annotated[int, Field(ge=0, le=2**53)]

ALL_ROLES: frozenset[Role] = frozenset({"teacher", "student", "board"})
TEACHER: frozenset[Role] = frozenset({"teacher"})
STUDENT: frozenset[Role] = frozenset({"student"})
BOARD: frozenset[Role] = frozenset({"board"})


@dataclass(frozen=True)
class EventSpec:
    """A client->server event: its payload schema, who may send it, and its ack's extra fields."""

    name: str
    payload: type[Payload]
    roles: frozenset[Role]
    summary: str
    ack: type[BaseModel] | None = None
    # Rate-limit bucket; see classroom.ratelimit.
    rate: str = "default"
    feature: str = "core"
    # A valid payload, for the docs and for the role-matrix and fuzz tests.
    example: dict[str, Any] = field(default_factory=dict)
    # How a write's idempotency key is made from its payload: a ``str.format`` template over
    # payload fields (``"vote:{poll_id}:{vote_id}"``). Two writes of one author with the same key
    # are the same request: the second is answered with the first one's stored result. Reads
    # (``writes=False``) have none.
    idempotency: str | None = None
    writes: bool = True
    # Whether a retry must repeat the stored payload exactly (else IDEMPOTENCY_CONFLICT). Ink
    # batches compare point by point instead: a resend may merge batches that overlap.
    same_payload: bool = True

    @property
    def key_fields(self) -> tuple[str, ...]:
        """The payload fields the idempotency key is made of."""
        if self.idempotency is None:
            return ()
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.idempotency) if name)

    def idempotency_key(self, payload: Payload) -> str | None:
        """This write's idempotency key (None for a read)."""
        if self.idempotency is None:
            return None
        return self.idempotency.format_map({k: getattr(payload, k) for k in self.key_fields})


@dataclass(frozen=True)
class BroadcastSpec:
    """A server->client event (an appended log event or a transient notice)."""

    name: str
    data: type[BaseModel]
    summary: str
    audience: str = "all"
    logged: bool = True
    feature: str = "core"
