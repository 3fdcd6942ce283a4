"""Presence: students' connections logged exactly once, and put right after a store outage.

The transport logs ``student_connected`` / ``student_disconnected`` as student sockets come and
go; ``roster.apply`` folds them into connection counts. A store outage breaks that: an append
that fails may have been stored (Redis wrote it, then died before answering) or not, and the
transport cannot tell which. Dropping it left students online forever after an outage (29 of
30 after 30 s); re-sending it blindly would double it.

:class:`PresenceLog` keeps every presence event of this process, with the append key it was
made with, until the store has answered for it, and re-sends what is unanswered when the store
is back: the store's append-key check stores each at most once. Then (:meth:`reconcile`, after
the store reports a resync) it compares what this process has logged with the sockets actually
connected here and logs the difference (:func:`presence_fixes`).

Only this process's own presence events are compared: with several processes sharing Redis, the
students connected to the others are theirs to log. A process that dies (SIGKILL) leaves its
students' presence behind; that is not repaired here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from classroom import roster
from classroom.log import Actor, NewEvent, Proposed
from classroom.services import Services

logger = logging.getLogger(__name__)

# Waits between re-sends of presence events the store did not answer for.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0

# Student sockets connected to this process in one class, per student.
ConnectedHere = Callable[[str], Mapping[Actor, int]]


def presence_fixes(
    logged: Mapping[Actor, int], connected: Mapping[Actor, int]
) -> list[tuple[Actor, Proposed]]:
    """The presence events that take the ``logged`` connection counts to ``connected``.

    Both map a student to a number of connections; students missing count as 0. Events come in
    student id order, each with the student it is logged for.
    """
    fixes: list[tuple[Actor, Proposed]] = []
    for student in sorted(set(logged) | set(connected), key=lambda a: a.id):
        delta = connected.get(student, 0) - logged.get(student, 0)
        event = roster.presence(student.id, connected=delta > 0)
        fixes += [(student, event)] * abs(delta)
    return fixes


def _fold(logged: dict[Actor, int], event: NewEvent) -> None:
    """Count one stored presence event, as ``roster.apply`` does."""
    count = logged.get(event.actor, 0) + (1 if event.type == "student_connected" else -1)
    if count > 0:
        logged[event.actor] = count
    else:
        logged.pop(event.actor, None)


@dataclass
class _ClassPresence:
    logged: dict[Actor, int] = field(default_factory=dict)  # stored by this process
    unanswered: deque[NewEvent] = field(default_factory=deque)  # made, not yet answered for
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)
    retry: asyncio.Task[None] | None = None


class PresenceLog:
    """This process's presence events, re-sent with their keys until the store answers."""

    def __init__(self, services: Services, connected_here: ConnectedHere) -> None:
        self._services = services
        self._connected_here = connected_here
        self._classes: dict[str, _ClassPresence] = {}
        self._reconciling: set[asyncio.Task[bool]] = set()

    def logged(self, class_id: str) -> dict[Actor, int]:
        """Connection counts of the presence events this process has stored, per student."""
        found = self._classes.get(class_id)
        return {} if found is None else dict(found.logged)

    async def log(self, class_id: str, student: Actor, *, connected: bool) -> bool:
        """Log that a student socket connected or disconnected; False if the store did not
        answer (the event is kept and re-sent until it does)."""
        presence = self._classes.setdefault(class_id, _ClassPresence())
        # Queued before any await: it stays in step with the transport's sessions.
        proposed = roster.presence(student.id, connected=connected)
        presence.unanswered.extend(self._services.new_events(student, [proposed]))
        return await self._send(class_id, presence)

    def after_outage(self, class_id: str) -> None:
        """The store connection was re-made: reconcile the class soon."""
        task = asyncio.get_running_loop().create_task(self.reconcile(class_id))
        self._reconciling.add(task)
        task.add_done_callback(self._reconciling.discard)

    async def reconcile(self, class_id: str) -> bool:
        """Re-send what the store has not answered for, then log what the sockets connected
        here say is missing; False if the store did not answer (retried later)."""
        presence = self._classes.setdefault(class_id, _ClassPresence())
        async with presence.sending:
            sent = await self._send_unanswered(class_id, presence)
            if sent:
                # No await between reading the sockets and queueing the fixes.
                fixes = presence_fixes(presence.logged, self._connected_here(class_id))
                for student, proposed in fixes:
                    presence.unanswered.extend(self._services.new_events(student, [proposed]))
                if fixes:
                    logger.warning("class %s: %d presence events put right", class_id, len(fixes))
                sent = await self._send_unanswered(class_id, presence)
        self._forget_if_idle(class_id, presence)
        return sent

    async def _send(self, class_id: str, presence: _ClassPresence) -> bool:
        async with presence.sending:
            sent = await self._send_unanswered(class_id, presence)
        self._forget_if_idle(class_id, presence)
        return sent

    def _forget_if_idle(self, class_id: str, presence: _ClassPresence) -> None:
        """Nobody of this class is connected here and nothing waits: forget the class."""
        idle = not (presence.logged or presence.unanswered or presence.sending.locked())
        retrying = presence.retry is not None and not presence.retry.done()
        if retrying and presence.retry is not asyncio.current_task():
            idle = False
        if idle and self._classes.get(class_id) is presence:
            del self._classes[class_id]

    async def _send_unanswered(self, class_id: str, presence: _ClassPresence) -> bool:
        while presence.unanswered:
            batch = list(presence.unanswered)
            try:
                await self._services.append_events(class_id, batch)
            except Exception as exc:
                logger.warning(
                    "class %s: %d presence events wait for the store (%s)",
                    class_id,
                    len(batch),
                    exc,
                )
                self._retry_later(class_id, presence)
                return False
            for event in batch:
                presence.unanswered.popleft()
                _fold(presence.logged, event)
        return True

    def _retry_later(self, class_id: str, presence: _ClassPresence) -> None:
        if presence.retry is None or presence.retry.done():
            presence.retry = asyncio.get_running_loop().create_task(self._retry(class_id))

    async def _retry(self, class_id: str) -> None:
        wait = RETRY_FIRST_S
        while True:
            await asyncio.sleep(wait)  # back-off between attempts, not synchronisation
            if await self.reconcile(class_id):
                return
            wait = min(wait * 2, RETRY_MAX_S)

    async def close(self) -> None:
        tasks: list[asyncio.Task[bool] | asyncio.Task[None]] = [*self._reconciling]
        tasks += [p.retry for p in self._classes.values() if p.retry is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
