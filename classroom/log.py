"""The lesson log: one ordered, durable sequence of events per class.

Feature modules (``board.py``, ``polls.py`` ...) are pure. They follow one shape:

* ``propose_<verb>(state, actor, payload) -> list[Proposed]`` validates a request against the
  projection and returns the events to append; it raises a ``ClassroomError`` and never mutates.
* ``apply(state, event) -> None`` folds one appended event into the projection. It is
  deterministic and tolerates an event that is no longer valid when applied (ignores it), because
  several server processes may propose concurrently and the log order decides.
* ``snapshot(state, viewer) -> dict`` is the JSON a joining client starts from.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["teacher", "student", "board"]
ROLES: tuple[Role, ...] = ("teacher", "student", "board")

# Who may see an event: everyone in the class, teachers only, or teachers plus its author.
Audience = Literal["all", "teachers", "author"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused an event: a teacher (id = teacher name), a student or a board device."""

    role: Role
    id: str
    name: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {"role": self.role, "id": self.id, "name": self.name}

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> Actor:
        return cls(role=raw["role"], id=raw["id"], name=raw.get("name", ""))


ANONYMOUS = Actor(role="student", id="", name="")

# Ink batches are most of a live lesson's messages: on the wire they leave out what no client
# uses (the server time, the idempotency key, the author's display name), which takes the
# stream to about 51 compressed bytes a batch instead of 62.
LEAN_EVENTS = frozenset({"stroke_extended"})


@dataclass(frozen=True, slots=True)
class Proposed:
    """An event a feature wants appended; the log gives it a sequence number and a time."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    audience: Audience = "all"


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A proposed event with its author and the keys that make retries idempotent.

    ``client_id`` is the client's key, kept for the lesson's lifetime. ``append_key`` is the
    server's key for one append call: a store that retries the call after a lost reply (Redis
    killed between storing and answering) finds the key and does not store the event again.
    Stores keep append keys for at least ``APPEND_KEY_WINDOW_S`` (``storage/base.py``).
    """

    type: str
    actor: Actor
    data: dict[str, Any]
    client_id: str | None = None
    audience: Audience = "all"
    append_key: str | None = None
    # A digest of the request that made the event (its first event only): a retry with the same
    # client id and another payload is refused instead of being answered as a duplicate.
    payload_hash: str | None = None


class AppendKeys:
    """Makes append keys unique across processes: a random prefix per maker, then a counter."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._count = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}.{next(self._count)}"


@dataclass(frozen=True, slots=True)
class Event:
    """An appended event. ``seq`` starts at 1 and has no gaps within a class."""

    class_id: str
    seq: int
    type: str
    actor: Actor
    ts: int  # server wall clock, milliseconds since the Unix epoch
    data: dict[str, Any]
    client_id: str | None = None
    audience: Audience = "all"
    payload_hash: str | None = None

    def visible_to(self, viewer: Actor) -> bool:
        """Whether ``viewer`` may see this event."""
        if self.audience == "all" or viewer.role == "teacher":
            return True
        if self.audience == "author":
            return viewer.role == self.actor.role and viewer.id == self.actor.id
        return False

    def to_record(self) -> dict[str, Any]:
        """The stored form (compact keys)."""
        record: dict[str, Any] = {
            "seq": self.seq,
            "type": self.type,
            "by": self.actor.to_wire(),
            "ts": self.ts,
            "data": self.data,
        }
        if self.client_id is not None:
            record["cid"] = self.client_id
        if self.audience != "all":
            record["aud"] = self.audience
        if self.payload_hash is not None:
            record["ph"] = self.payload_hash
        return record

    @classmethod
    def from_record(cls, class_id: str, record: dict[str, Any]) -> Event:
        """An event from its stored form (or its wire form, where a lean event has no ``ts``)."""
        return cls(
            class_id=class_id,
            seq=int(record["seq"]),
            type=record["type"],
            actor=Actor.from_wire(record["by"]),
            ts=int(record.get("ts", 0)),
            data=record["data"],
            client_id=record.get("cid"),
            audience=record.get("aud", "all"),
            payload_hash=record.get("ph"),
        )

    def to_wire(self) -> dict[str, Any]:
        """What clients receive: the stored form, or its lean form for ink batches."""
        if self.type not in LEAN_EVENTS:
            record = self.to_record()
            record.pop("ph", None)
            return record
        wire: dict[str, Any] = {
            "seq": self.seq,
            "type": self.type,
            "by": {"role": self.actor.role, "id": self.actor.id},
            "data": self.data,
        }
        if self.audience != "all":
            wire["aud"] = self.audience
        return wire

    @property
    def anonymous(self) -> bool:
        """An anonymous poll vote: only its author may see who sent it."""
        return bool(self.data.get("anon"))

    def to_wire_for(self, viewer: Actor) -> dict[str, Any]:
        """The wire form for ``viewer``: anonymous events lose their author for everyone else."""
        record = self.to_record()
        record.pop("ph", None)
        if self.anonymous and (viewer.role, viewer.id) != (self.actor.role, self.actor.id):
            record["by"] = ANONYMOUS.to_wire()
        return record
