"""Live poll tallies for teachers, coalesced to at most ``TALLY_HZ`` updates a second per poll."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from classroom import polls
from classroom.hub import ClassRuntime
from classroom.log import Event

logger = logging.getLogger(__name__)

TALLY_HZ = 10
# Events after which a poll's tally may have changed.
TALLY_EVENTS = frozenset({"poll_voted", "poll_opened", "poll_closed"})

SendTally = Callable[[str, dict[str, Any]], Awaitable[None]]


class TallyCoalescer:
    """Marks polls dirty as votes are applied and sends each dirty tally at most 10 times a second.

    The first vote after a quiet spell is sent at once (leading edge); a burst is sent every
    1/TALLY_HZ seconds while it lasts and once more after it ends (trailing edge), so the last
    tally a teacher sees is always the final one.
    """

    def __init__(self, send: SendTally, *, hz: float = TALLY_HZ) -> None:
        self._send = send
        self._interval = 1.0 / hz
        # Dirty polls, with the runtime whose state holds their tally.
        self._dirty: dict[tuple[str, str], ClassRuntime] = {}
        self._last_sent: dict[tuple[str, str], float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None

    def touch(self, runtime: ClassRuntime, event: Event) -> None:
        """Called for every event ``runtime`` applies (cheap when it is not a poll event)."""
        if event.type not in TALLY_EVENTS:
            return
        poll_id = event.data.get("poll_id")
        if not isinstance(poll_id, str):
            return
        key = (event.class_id, poll_id)
        self._dirty[key] = runtime
        if self._timer is None:
            now = time.monotonic()
            due = max(0.0, self._last_sent.get(key, 0.0) + self._interval - now)
            self._timer = asyncio.get_running_loop().call_later(due, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        dirty, self._dirty = self._dirty, {}
        now = time.monotonic()
        for (class_id, poll_id), runtime in dirty.items():
            self._last_sent[(class_id, poll_id)] = now
            try:
                tally = polls.tally(runtime.state.part("polls"), poll_id)
                await self._send(class_id, {"poll_id": poll_id, "tally": tally})
            except Exception:
                logger.exception("sending the tally of poll %s failed", poll_id)
        if len(self._last_sent) > 10_000:
            self._last_sent = {k: t for k, t in self._last_sent.items() if now - t < 60}
        if self._dirty and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._fire)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
