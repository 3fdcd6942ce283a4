"""Per-process live classes: each follows its log through the store's feed, in seq order.

A ``ClassRuntime`` exists while this process has clients in the class. It folds the log into the
live state, keeps a bounded in-memory tail of recent events (fast resumes), and hands every event
to the transport for fan-out, strictly in seq order. Lost feed messages are detected as gaps and
read back from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from classroom import board, lesson
from classroom.log import LEAN_EVENTS, Actor, Event
from classroom.storage.base import Store

logger = logging.getLogger(__name__)

Emit = Callable[[Event], Awaitable[None]]
# The transport's fan-out: sends an event the runtime has just applied to the clients allowed to
# see it (the runtime tells it whether this process has clients in the class, and the state).
FanOut = Callable[["ClassRuntime", Event], Awaitable[None]]

TAIL_EVENTS = 5000
LOAD_PAGE = 2000
IDLE_UNLOAD_S = 60.0


def _no_resync() -> None:
    return None


class _Resync:
    pass


_RESYNC = _Resync()


class ClassRuntime:
    """The live state of one class in this process (a store feed listener)."""

    def __init__(
        self, class_id: str, store: Store, emit: Emit, resynced: Callable[[], None] = _no_resync
    ) -> None:
        self.class_id = class_id
        self.state = lesson.ClassState(class_id)
        self.tail: deque[Event] = deque(maxlen=TAIL_EVENTS)
        self._store = store
        self._emit = emit
        self._resynced = resynced
        self._inbox: asyncio.Queue[Event | _Resync] = asyncio.Queue()
        self._pump_task: asyncio.Task[None] | None = None
        # Handlers waiting for "my write is in the live state": a heap by seq, released in
        # order as events are applied (O(log n) per waiter, not a wake-up of every waiter).
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._waiter_ids = itertools.count()
        # Held while events are applied and fanned out, by the pump or by apply_appended, so
        # that happens one event at a time in seq order whichever of the two gets there first.
        self._applying = asyncio.Lock()
        self.local_clients = 0
        # Paged snapshots being fetched by this process's clients (class_snapshot_piece).
        self.pins = lesson.SnapshotPins()
        # Snapshot pieces and resume pages (each a few ms of JSON) take turns, one a loop
        # iteration, so a burst of them from one student cannot run back to back.
        self.read_turn = asyncio.Lock()
        # Joins take turns in this process, so two "Ali"s joining at once are told apart in
        # their student_joined events already (across processes the log's fold decides).
        self.join_turn = asyncio.Lock()
        self._unload_handle: asyncio.TimerHandle | None = None
        # The keyed first event of every request but ink batches, by (role, author, key): a
        # retry is answered from here without a store read. Ink batches (most of the log) are
        # found in the tail or the store; their retries are rare and cheap to detect.
        self._keyed: dict[tuple[str, str, str], Event] = {}

    @property
    def seq(self) -> int:
        return self.state.seq

    # FeedListener

    def deliver(self, event: Event) -> None:
        self._inbox.put_nowait(event)

    def resync(self) -> None:
        self._inbox.put_nowait(_RESYNC)
        self._resynced()

    # life cycle

    async def start(self) -> None:
        # Subscribe first so nothing appended while we load is missed; the pump drops what the
        # load already covered.
        await self._store.subscribe(self.class_id, self)
        await self._catch_up(emit=False)
        self._pump_task = asyncio.create_task(self._pump(), name=f"class-{self.class_id}")

    async def stop(self) -> None:
        await self._store.unsubscribe(self.class_id, self)
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task

    async def _catch_up(self, *, emit: bool) -> None:
        while True:
            events = await self._store.read_after(self.class_id, self.state.seq, LOAD_PAGE)
            for event in events:
                await self._apply(event, emit=emit)
            if len(events) < LOAD_PAGE:
                return

    async def _pump(self) -> None:
        while True:
            item = await self._inbox.get()
            try:
                async with self._applying:
                    if isinstance(item, _Resync) or item.seq > self.state.seq + 1:
                        await self._catch_up(emit=True)
                    if isinstance(item, Event) and item.seq == self.state.seq + 1:
                        await self._apply(item, emit=True)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The store may be briefly unreachable; the next event or resync retries.
                logger.exception("class %s: catching up failed", self.class_id)

    async def _apply(self, event: Event, *, emit: bool) -> None:
        try:
            lesson.apply(self.state, event)
        except Exception:
            # A bug in one feature's reducer must not stop the class; the seq still advances.
            logger.exception(
                "class %s: applying seq %d (%s) failed", self.class_id, event.seq, event.type
            )
            self.state.seq = event.seq
        # Kept with their ink compact: as floats, the tail and the index held ~70 MB for a
        # board of 384,000 points; they give the events back as logged (board.expand_ink).
        kept = board.compact_ink(event)
        self.tail.append(kept)
        cid = event.client_id
        if cid is not None and event.type not in LEAN_EVENTS and "#" not in cid:
            self._keyed[(event.actor.role, event.actor.id, cid)] = kept
        self._release_waiters()
        if emit:
            try:
                await self._emit(event)
            except Exception:
                logger.exception("class %s: fan-out of seq %d failed", self.class_id, event.seq)

    async def apply_appended(self, events: Sequence[Event]) -> None:
        """Apply events this process has just appended, from the store's answer, if they are
        next in seq order.

        The feed brings the same events a moment later (the pump then skips them), but a
        handler need not wait for that: with this, its ack usually waits for nothing. If events
        of another process come first and are not applied yet, this does nothing and the feed
        applies everything in order.
        """
        if not events or events[0].seq != self.state.seq + 1 or self._applying.locked():
            return
        async with self._applying:
            for event in events:
                if event.seq != self.state.seq + 1:
                    return
                await self._apply(event, emit=True)

    async def wait_for(self, seq: int, timeout: float = 5.0) -> bool:
        """Wait until the live state includes ``seq`` (read-your-writes for a handler)."""
        if self.state.seq >= seq:
            return True
        applied: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (seq, next(self._waiter_ids), applied))
        try:
            await asyncio.wait_for(applied, timeout)
        except TimeoutError:
            return False
        return True

    def _release_waiters(self) -> None:
        while self._waiters and self._waiters[0][0] <= self.state.seq:
            _, _, applied = heapq.heappop(self._waiters)
            if not applied.done():
                applied.set_result(None)

    async def find_keyed(self, actor: Actor, client_id: str) -> Event | None:
        """The first event ``actor`` appended with idempotency key ``client_id``, or None."""
        found = self._keyed.get((actor.role, actor.id, client_id))
        if found is not None:
            return board.expand_ink(found)
        for event in reversed(self.tail):
            if event.client_id == client_id and (event.actor.role, event.actor.id) == (
                actor.role,
                actor.id,
            ):
                return board.expand_ink(event)
        return await self._store.find_by_client_id(self.class_id, actor, client_id)

    def find_applied(self, actor: Actor, client_id: str) -> Event | None:
        """Like :meth:`find_keyed` for requests other than ink batches, from memory only."""
        found = self._keyed.get((actor.role, actor.id, client_id))
        return None if found is None else board.expand_ink(found)

    async def events_after(self, after_seq: int, limit: int) -> list[Event]:
        """Events with seq > ``after_seq``, from the in-memory tail when it covers them."""
        if self.tail and self.tail[0].seq <= after_seq + 1 and after_seq < self.state.seq:
            start = after_seq + 1 - self.tail[0].seq
            tail = self.tail
            return [board.expand_ink(tail[i]) for i in range(start, min(len(tail), start + limit))]
        if after_seq >= self.state.seq and self.tail:
            return []
        return await self._store.read_after(self.class_id, after_seq, limit)

    def snapshot(self, viewer: Actor) -> tuple[int, dict[str, object]]:
        return self.state.seq, lesson.snapshot(self.state, viewer)


class Hub:
    """The classes this process serves, loaded on first use and unloaded when idle."""

    def __init__(
        self,
        store: Store,
        fan_out: FanOut,
        *,
        on_resync: Callable[[str], None] = lambda class_id: None,
        idle_unload_s: float = IDLE_UNLOAD_S,
    ) -> None:
        self._store = store
        self._fan_out = fan_out
        # Told when a class's store connection was re-made (after an outage).
        self._on_resync = on_resync
        self._runtimes: dict[str, ClassRuntime] = {}
        self._loading: dict[str, asyncio.Task[ClassRuntime]] = {}
        self._idle_unload_s = idle_unload_s

    def __len__(self) -> int:
        return len(self._runtimes)

    def loaded(self, class_id: str) -> ClassRuntime | None:
        """The runtime of a class if this process has it loaded."""
        return self._runtimes.get(class_id)

    async def get(self, class_id: str) -> ClassRuntime:
        """The loaded runtime of a class (loading it from the store if needed)."""
        runtime = self._runtimes.get(class_id)
        if runtime is not None:
            return runtime
        task = self._loading.get(class_id)
        if task is None:
            task = asyncio.create_task(self._load(class_id))
            self._loading[class_id] = task
        return await asyncio.shield(task)

    async def _load(self, class_id: str) -> ClassRuntime:
        try:

            def emit(event: Event) -> Awaitable[None]:
                return self._fan_out(runtime, event)

            runtime = ClassRuntime(class_id, self._store, emit, lambda: self._on_resync(class_id))
            await runtime.start()
            self._runtimes[class_id] = runtime
            # Loaded for an HTTP request or a write with nobody connected: unload when idle.
            self._schedule_unload(runtime)
            return runtime
        finally:
            self._loading.pop(class_id, None)

    async def attach(self, class_id: str) -> ClassRuntime:
        """A local client joined the class: keep its runtime loaded."""
        runtime = await self.get(class_id)
        runtime.local_clients += 1
        if runtime._unload_handle is not None:
            runtime._unload_handle.cancel()
            runtime._unload_handle = None
        return runtime

    def detach(self, class_id: str) -> None:
        """A local client left; unload the class after a grace period if it was the last."""
        runtime = self._runtimes.get(class_id)
        if runtime is None:
            return
        runtime.local_clients = max(0, runtime.local_clients - 1)
        self._schedule_unload(runtime)

    def _schedule_unload(self, runtime: ClassRuntime) -> None:
        if runtime.local_clients == 0 and runtime._unload_handle is None:
            class_id = runtime.class_id
            runtime._unload_handle = asyncio.get_running_loop().call_later(
                self._idle_unload_s, lambda: asyncio.ensure_future(self._unload(class_id))
            )

    async def _unload(self, class_id: str) -> None:
        runtime = self._runtimes.get(class_id)
        if runtime is None or runtime.local_clients > 0:
            return
        del self._runtimes[class_id]
        await runtime.stop()

    async def close(self) -> None:
        for runtime in list(self._runtimes.values()):
            if runtime._unload_handle is not None:
                runtime._unload_handle.cancel()
            await runtime.stop()
        self._runtimes.clear()
