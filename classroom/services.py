"""What the transport layers share: settings, the store, token signing, live classes, metrics."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from classroom.auth import TokenSigner
from classroom.errors import StoreUnavailable
from classroom.hub import Hub
from classroom.lesson_index import LessonIndex
from classroom.library_catalog import Catalog
from classroom.log import Actor, AppendKeys, NewEvent, Proposed
from classroom.metrics import Metrics
from classroom.pictures import Decoder
from classroom.ratelimit import JoinGuard, Lockout
from classroom.replay_index import ReplayIndex
from classroom.settings import Settings
from classroom.storage.base import AppendResult, Store


@dataclass
class Services:
    """One per application; opened and closed by the app's cleanup context."""

    settings: Settings
    store: Store
    hub: Hub
    metrics: Metrics = field(default_factory=Metrics)
    join_guard: JoinGuard = field(default_factory=JoinGuard)
    login_lockout: Lockout = field(default_factory=Lockout)
    append_keys: AppendKeys = field(default_factory=AppendKeys)
    pictures: Decoder = field(default_factory=Decoder)
    _signer: TokenSigner | None = None
    lesson_index: LessonIndex = field(init=False)
    replay_index: ReplayIndex = field(init=False)
    library: Catalog = field(init=False)  # the published lessons (/library)

    def __post_init__(self) -> None:
        self.lesson_index = LessonIndex(self.store, self.hub)
        self.replay_index = ReplayIndex(self.store)
        self.library = Catalog(self.store, self.lesson_index, school=self.settings.school)

    @property
    def signer(self) -> TokenSigner:
        if self._signer is None:
            raise StoreUnavailable("the server is still starting")
        return self._signer

    async def open(self) -> None:
        await self.store.open()
        self._signer = TokenSigner(await self.store.shared_secret())

    async def close(self) -> None:
        await self.hub.close()
        await self.store.close()
        self.pictures.close()

    async def append(
        self,
        class_id: str,
        actor: Actor,
        proposed: Sequence[Proposed],
        client_id: str | None = None,
        payload_hash: str | None = None,
    ) -> list[AppendResult]:
        """Append a feature's proposed events; the first carries the client id (idempotency)
        and the digest of the request that made them."""
        return await self.append_events(
            class_id, self.new_events(actor, proposed, client_id, payload_hash)
        )

    def new_events(
        self,
        actor: Actor,
        proposed: Sequence[Proposed],
        client_id: str | None = None,
        payload_hash: str | None = None,
    ) -> list[NewEvent]:
        """The events of one append: each with an append key made here, once, so that a retry
        of the append (by the store, or by a caller holding these events) stores them once."""
        key = self.append_keys.next()
        return [
            NewEvent(
                type=p.type,
                actor=actor,
                data=p.data,
                client_id=client_id
                if i == 0
                else (None if client_id is None else f"{client_id}#{i}"),
                audience=p.audience,
                append_key=f"{key}#{i}",
                payload_hash=payload_hash if i == 0 else None,
            )
            for i, p in enumerate(proposed)
        ]

    async def append_events(self, class_id: str, events: Sequence[NewEvent]) -> list[AppendResult]:
        started = time.perf_counter()
        results = await self.store.append(class_id, events)
        self.metrics.store_latency.observe(time.perf_counter() - started)
        self.metrics.appended(sum(1 for r in results if not r.duplicate))
        return results
