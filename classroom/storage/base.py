"""The async store interface every backend implements, and the contract it promises.

Contract (tests/storage/test_store_contract.py runs it against every backend):

* ``append`` assigns each class's events consecutive seqs starting at 1, in call order, and returns
  only once the events are durable (an acknowledged event survives SIGKILL of the server, and of
  the store's own process where it has one).
* An event with a ``client_id`` is stored at most once per (class, actor, client_id); a retry
  returns the stored event with ``duplicate=True``.
* An event without a client id is stored at most once per (class, ``append_key``) when the same
  key comes again within ``APPEND_KEY_WINDOW_S`` of its first append (the store's own retry
  after a lost reply, or a caller re-sending an append whose outcome it could not learn); the
  answer is the stored event with ``duplicate=True``. Append keys are forgotten after at most
  twice the window, so they cost memory only for recent events. A backend that can retry an
  append internally gives every event a key, also when the caller did not.
* ``read_after`` returns events in seq order with no gaps.
* ``import_log`` writes a complete log into an empty class, all or nothing, keeping its seqs and
  times (a lesson brought from another server's library).
* Every appended event reaches every feed listener of its class, in every process sharing the
  store, in seq order. Delivery is at-most-once (a listener that sees a gap or a ``resync`` call
  reads the missing range with ``read_after``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from classroom.classes import ClassRecord, DeviceRecord, StudentRecord, TeacherRecord
from classroom.log import Actor, Event, NewEvent

# How long a store remembers an append key (see the contract above): longer than any outage a
# retried append can wait out, short enough that the keys of a busy day do not pile up.
APPEND_KEY_WINDOW_S = 600


def check_imported_log(events: Sequence[Event]) -> None:
    """An imported log runs 1, 2, 3 ... and has no client ids (see ``Store.import_log``)."""
    for n, event in enumerate(events, start=1):
        if event.seq != n or event.client_id is not None:
            raise ValueError(f"an imported log must run 1, 2, 3 ... without client ids (seq {n})")


@dataclass(frozen=True, slots=True)
class AppendResult:
    event: Event
    duplicate: bool


class FeedListener(Protocol):
    """Receives a class's appended events as they are committed."""

    def deliver(self, event: Event) -> None:
        """Called on the event loop, in seq order; must not block."""

    def resync(self) -> None:
        """Called when deliveries may have been lost (e.g. the store connection was re-made)."""


class Store(Protocol):
    """Durable storage of teachers, classes, students, devices and the per-class lesson log."""

    name: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the store cannot be reached."""

    async def shared_secret(self) -> str:
        """The token-signing secret: created once, then the same for every process."""

    # teachers
    async def add_teacher(self, teacher: TeacherRecord) -> None:
        """Add a teacher or raise ``Conflict`` if the name is taken."""

    async def set_teacher_password(self, name: str, password_hash: str) -> int:
        """Change a password and end the teacher's tokens (as ``revoke_teacher_tokens``);
        returns the new token generation (0 for an unknown teacher, which changes nothing)."""

    async def revoke_teacher_tokens(self, name: str) -> int:
        """Raise the teacher's token generation by one and return it: tokens issued with a
        lower generation are refused from now on. 0 for an unknown teacher."""

    async def token_generation(self, name: str) -> int | None:
        """The teacher's token generation (0 until the first revocation), None if unknown."""

    async def get_teacher(self, name: str) -> TeacherRecord | None: ...

    async def has_teachers(self) -> bool:
        """Whether any teacher account exists (first-run set-up offers to create one)."""

    async def teacher_names(self) -> list[str]:
        """Every teacher's login name, sorted (the library's one-time check of every class)."""

    # classes
    async def create_class(self, record: ClassRecord) -> None:
        """Store a new class or raise ``Conflict`` if its id or join code is taken."""

    async def get_class(self, class_id: str) -> ClassRecord | None: ...

    async def find_class_by_code(self, join_code: str) -> ClassRecord | None: ...

    async def list_classes(
        self, teacher: str, *, limit: int, before: tuple[int, str] | None = None
    ) -> list[ClassRecord]:
        """Up to ``limit`` of the teacher's classes, newest first (``created_at`` then ``id``,
        both descending); with ``before=(created_at, id)`` only those after that one in this
        order (the cursor of the previous page's last class)."""

    async def mark_class_ended(self, class_id: str, ended_at: int) -> None: ...

    # people and devices in a class
    async def add_student(self, student: StudentRecord) -> None: ...

    async def get_student(self, class_id: str, student_id: str) -> StudentRecord | None: ...

    async def list_students(self, class_id: str) -> list[StudentRecord]: ...

    async def add_device(self, device: DeviceRecord) -> None: ...

    async def get_device(self, class_id: str, device_id: str) -> DeviceRecord | None: ...

    # images (camera snapshots and keyframes, uploaded backgrounds)
    async def put_asset(self, class_id: str, asset_id: str, content_type: str, data: bytes) -> None:
        """Store (or replace) a class's binary asset durably."""

    async def get_asset(self, class_id: str, asset_id: str) -> tuple[str, bytes] | None:
        """``(content_type, data)`` of an asset, or None."""

    async def has_asset(self, class_id: str, asset_id: str) -> bool:
        """Whether the class has the asset (its bytes are not read: a quiz's pictures are
        checked this way, each up to a few MB)."""

    async def delete_asset(self, class_id: str, asset_id: str) -> None:
        """Remove an asset (nothing happens when there is none): what a failed quiz import
        stored is taken back."""

    # the lesson log
    async def append(self, class_id: str, events: Sequence[NewEvent]) -> list[AppendResult]:
        """Append events durably, in order; idempotent per (actor, client_id)."""

    async def read_after(self, class_id: str, after_seq: int, limit: int) -> list[Event]:
        """Up to ``limit`` events with seq > ``after_seq``, in order."""

    async def head(self, class_id: str) -> int:
        """The newest seq of the class (0 when the log is empty)."""

    async def import_log(self, class_id: str, events: Sequence[Event]) -> bool:
        """Write a whole log brought from another server, keeping each event's seq and time.

        Only into an empty log, all at once (durably, like ``append``), and only a log whose
        seqs run 1, 2, 3 ... with no client ids; returns False (and writes nothing) when the
        class already has events. No feed listener hears them: the class is a recording.
        """

    async def find_by_client_id(self, class_id: str, actor: Actor, client_id: str) -> Event | None:
        """The event ``actor`` appended with ``client_id``, or None."""

    # fan-out
    async def subscribe(self, class_id: str, listener: FeedListener) -> None: ...

    async def unsubscribe(self, class_id: str, listener: FeedListener) -> None: ...
