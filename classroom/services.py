"""What the transport layers share: settings, the store, token signing, live classes, metrics."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from classroom.auth import TokenSigner
from classroom.errors import StoreUnavailable
from classroom.hub import Hub
from classroom.log import Actor, NewEvent, Proposed
from classroom.metrics import Metrics
from classroom.pictures import Decoder
from classroom.ratelimit import Lockout
from classroom.settings import Settings
from classroom.storage.base import AppendResult, Store


@dataclass
class Services:
    """One per application; opened and closed by the app's cleanup context."""

    settings: Settings
    store: Store
    hub: Hub
    metrics: Metrics = field(default_factory=Metrics)
    join_lockout: Lockout = field(default_factory=Lockout)
    login_lockout: Lockout = field(default_factory=Lockout)
    pictures: Decoder = field(default_factory=Decoder)
    _signer: TokenSigner | None = None

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
    ) -> list[AppendResult]:
        """Append a feature's proposed events; the first carries the client id (idempotency)."""
        events = [
            NewEvent(
                type=p.type,
                actor=actor,
                data=p.data,
                client_id=client_id
                if i == 0
                else (None if client_id is None else f"{client_id}#{i}"),
                audience=p.audience,
            )
            for i, p in enumerate(proposed)
        ]
        started = time.perf_counter()
        results = await self.store.append(class_id, events)
        self.metrics.store_latency.observe(time.perf_counter() - started)
        self.metrics.appended(sum(1 for r in results if not r.duplicate))
        return results
