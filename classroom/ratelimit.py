"""Rate limits: token buckets per client and event family, join-code and login guessing."""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict, deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_s`` tokens a second, bursts of up to ``burst``."""

    per_s: float
    burst: float


# Per connected client. "board": ink arrives at up to ~30 batches/s plus starts and ends.
RATES: dict[str, Rate] = {
    "default": Rate(per_s=10, burst=30),
    "read": Rate(per_s=5, burst=20),
    # The further pieces of a paged snapshot (~64 KB of JSON each, built from a pin made by a
    # "read" class_snapshot; ~3 ms of loop time each): 120 at once is a 7.7 MB board, 60/s
    # about 4 MB/s, more than a tablet's link carries.
    "piece": Rate(per_s=60, burst=120),
    # log_resume pages (up to 5,000 events or ~1 MB, ~100 ms of loop time each, in short
    # steps): 50 at once resume a 200,000-event lesson (40 pages) in ~6-7 s on a loaded
    # 2-core box (the "read" bucket's 5/s made it at least 16 s); after that 4/s, at most
    # ~40% of a core for one client.
    "resume": Rate(per_s=4, burst=50),
    "board": Rate(per_s=60, burst=120),
    "vote": Rate(per_s=5, burst=10),
    # Camera snapshots go out only when the board changed; keyframes arrive in bursts after an
    # outage (the device uploads what it kept offline).
    "camera": Rate(per_s=4, burst=60),
    # A segment every few seconds live; after an outage the device uploads what it kept
    # (a 10-minute outage is 200 segments of 3 s).
    "audio": Rate(per_s=5, burst=240),
}


class TokenBucket:
    """A classic token bucket; ``now`` is passed in so tests need no clock."""

    __slots__ = ("_rate", "_tokens", "_updated")

    def __init__(self, rate: Rate, now: float) -> None:
        self._rate = rate
        self._tokens = rate.burst
        self._updated = now

    def take(self, now: float, cost: float = 1.0) -> float:
        """Take ``cost`` tokens: 0.0 if allowed, else the seconds until it would be."""
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._rate.burst, self._tokens + elapsed * self._rate.per_s)
        self._updated = now
        if self._tokens >= cost:
            self._tokens -= cost
            return 0.0
        return (cost - self._tokens) / self._rate.per_s

    def peek(self, now: float, cost: float = 1.0) -> float:
        """Like :meth:`take` without taking: 0.0 if ``cost`` is available now."""
        elapsed = max(0.0, now - self._updated)
        tokens = min(self._rate.burst, self._tokens + elapsed * self._rate.per_s)
        return 0.0 if tokens >= cost else (cost - tokens) / self._rate.per_s


class Lockout:
    """Counts failures per key (a client address); too many in a window locks the key out.

    Bounded memory: at most ``max_keys`` addresses are tracked (least recently failed dropped).
    """

    def __init__(
        self,
        *,
        max_failures: int = 10,
        window_s: float = 300.0,
        lockout_s: float = 300.0,
        max_keys: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.max_keys = max_keys
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._locked_until: dict[str, float] = {}

    def locked_for(self, key: str, now: float) -> float:
        """Seconds ``key`` is still locked out for (0.0 when it may try)."""
        until = self._locked_until.get(key)
        if until is None:
            return 0.0
        if now >= until:
            del self._locked_until[key]
            self._failures.pop(key, None)
            return 0.0
        return until - now

    def fail(self, key: str, now: float) -> None:
        """Record a failed attempt; lock the key out when it reaches the limit."""
        recent = [t for t in self._failures.pop(key, []) if now - t < self.window_s]
        recent.append(now)
        self._failures[key] = recent
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)
        if len(recent) >= self.max_failures:
            self._locked_until[key] = now + self.lockout_s
        if len(self._locked_until) > self.max_keys:
            for stale in [k for k, until in self._locked_until.items() if until <= now]:
                del self._locked_until[stale]

    def succeed(self, key: str) -> None:
        """Forget ``key``'s failures. Only for keys one person owns (a teacher's name at an
        address, a remembered device): success by one person must not wipe out the failures
        of another behind the same key (join codes never call this)."""
        self._failures.pop(key, None)


# Join-code guessing (docs/operations.md, "Guessing join codes", works out what they allow).
# Wrong codes one address may send: 10 at once (a few students mistyping at the start of a
# lesson), then one every 2 minutes (720 a day).
WRONG_CODES_PER_ADDRESS = Rate(per_s=1 / 120, burst=10)
# Wrong codes the whole server accepts from addresses that have failed in the last hour: 72 an
# hour once a burst of 200 (a typo storm when every class starts at once) is used up. Addresses
# with no recent failure are not held back by it, so draining it locks nobody else out.
WRONG_CODES_GLOBAL = Rate(per_s=0.02, burst=200)
SUSPECT_S = 3600.0
# Students one address may add to one class: 45 at once (a whole class behind a school's NAT),
# then one every 2 s. Stops one machine creating thousands of fake students.
STUDENTS_PER_CLASS_AND_ADDRESS = Rate(per_s=0.5, burst=45)
# A class stays "home" to an address (its teacher was there, or a student joined from there)
# for the length of a school day.
HOME_S = 12 * 3600.0
MAX_HOME_CLASSES = 32


class _Address:
    __slots__ = ("home", "last_failure", "students", "wrong")

    def __init__(self, now: float) -> None:
        self.wrong = TokenBucket(WRONG_CODES_PER_ADDRESS, now)
        self.last_failure = float("-inf")
        self.home: OrderedDict[str, float] = OrderedDict()
        self.students: dict[str, TokenBucket] = {}


class JoinGuard:
    """Decides whether a join attempt may look at the code, and counts wrong codes.

    * Wrong codes are limited per address and, for addresses that failed recently, globally.
      A successful join never gives failures back (guessing between real joins gains nothing).
    * While an address is held back, every attempt answers the same ``retry_after`` whatever
      the code, except for a class that is *home* to the address: its teacher created it or
      connected to it from there, or a student joined it from there today. Those codes are on
      the board in front of whoever sits behind that address, so letting them through tells an
      attacker nothing, and one tablet that burns its school's budget behind a shared NAT
      address cannot keep its classmates out.
    * Students created per class and address are limited separately (fake students).

    Memory is bounded: at most ``max_addresses`` addresses are remembered (least recent
    dropped, which only forgets their failures and home classes).
    """

    def __init__(self, *, max_addresses: int = 10_000, now: float = 0.0) -> None:
        self.max_addresses = max_addresses
        self._addresses: OrderedDict[str, _Address] = OrderedDict()
        self._global = TokenBucket(WRONG_CODES_GLOBAL, now)

    def _entry(self, key: str, now: float) -> _Address:
        entry = self._addresses.pop(key, None)
        if entry is None:
            entry = _Address(now)
        self._addresses[key] = entry
        while len(self._addresses) > self.max_addresses:
            self._addresses.popitem(last=False)
        return entry

    def _suspect(self, entry: _Address, now: float) -> bool:
        return now - entry.last_failure < SUSPECT_S

    def held_back_for(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try an unknown code again (0.0: it may now)."""
        entry = self._addresses.get(key)
        if entry is None:
            return 0.0
        wait = entry.wrong.peek(now)
        if wait == 0.0 and self._suspect(entry, now):
            wait = self._global.peek(now)
        return wait

    def has_home(self, key: str, now: float) -> bool:
        entry = self._addresses.get(key)
        return entry is not None and any(until > now for until in entry.home.values())

    def is_home(self, key: str, class_id: str, now: float) -> bool:
        entry = self._addresses.get(key)
        return entry is not None and entry.home.get(class_id, float("-inf")) > now

    def mark_home(self, key: str, class_id: str, now: float) -> None:
        """``class_id`` is on a board that people behind ``key`` can see."""
        entry = self._entry(key, now)
        entry.home.pop(class_id, None)
        entry.home[class_id] = now + HOME_S
        while len(entry.home) > MAX_HOME_CLASSES:
            entry.home.popitem(last=False)

    def wrong_code(self, key: str, now: float) -> None:
        """Count a wrong code against ``key`` (and the global budget if ``key`` is a suspect)."""
        entry = self._entry(key, now)
        if self._suspect(entry, now):
            self._global.take(now)
        entry.wrong.take(now)
        entry.last_failure = now

    def add_student(self, key: str, class_id: str, now: float) -> float:
        """Take one student from ``key``'s allowance for ``class_id``: 0.0 or seconds to wait."""
        entry = self._entry(key, now)
        bucket = entry.students.get(class_id)
        if bucket is None:
            if len(entry.students) >= MAX_HOME_CLASSES:
                entry.students.pop(next(iter(entry.students)))
            bucket = entry.students[class_id] = TokenBucket(STUDENTS_PER_CLASS_AND_ADDRESS, now)
        return bucket.take(now)


# Connection attempts, counted before any store read (classroom/live.py, ``Admission``).
# Engine.IO handshakes from one client address: a whole class at once behind one address,
# then 10 a second. The server's own computer (127.0.0.1, ::1) is not counted.
CONNECT_ATTEMPTS_PER_ADDRESS = Rate(per_s=10, burst=100)
# Socket.IO connects with one token: a reloaded page or a tablet whose Wi-Fi came back
# reconnects a few times a minute; one in a loop gets 10 at once, then one every 2 s. 2,000
# attempts on one token used to cost two store reads each and stall the class's ink.
CONNECTS_PER_TOKEN = Rate(per_s=0.5, burst=10)


class Buckets:
    """A token bucket per key (a client address, a token's owner), made on first use.

    Bounded memory: at most ``max_keys`` keys are remembered (least recently used dropped; a
    dropped key starts again with a full bucket).
    """

    def __init__(self, rate: Rate, *, max_keys: int = 10_000) -> None:
        self.rate = rate
        self.max_keys = max_keys
        self._buckets: OrderedDict[object, TokenBucket] = OrderedDict()

    def take(self, key: object, now: float) -> float:
        """Take one attempt for ``key``: 0.0 if allowed, else the seconds until it would be."""
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = TokenBucket(self.rate, now)
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return bucket.take(now)


Identity = tuple[str, str, str]  # (class_id, role, actor id)


class ConnectionBook:
    """Live connections of this process by identity and by client address.

    Everything is O(1) per connect and disconnect whatever one identity or address holds, so
    a flood of connections on one token costs no more per connection than one tablet.
    The address key ``""`` stands for "not capped" (the server's own computer).
    """

    def __init__(self, *, per_identity: int, per_address: int) -> None:
        self.per_identity = per_identity
        self.per_address = per_address
        # Oldest first; dicts keep insertion order, so eviction takes the first keys.
        self._by_identity: dict[Identity, dict[str, None]] = {}
        self._by_address: dict[str, int] = {}
        self._of_sid: dict[str, tuple[Identity, str]] = {}

    def open_address(self, key: str) -> bool:
        """Count a connection attempt from ``key``; False (nothing counted) at the cap."""
        if not key:
            return True
        held = self._by_address.get(key, 0)
        if held >= self.per_address:
            return False
        self._by_address[key] = held + 1
        return True

    def close_address(self, key: str) -> None:
        """Give back an attempt counted by :meth:`open_address` (refused connections)."""
        if not key:
            return
        held = self._by_address.get(key, 0) - 1
        if held > 0:
            self._by_address[key] = held
        else:
            self._by_address.pop(key, None)

    def add(self, identity: Identity, sid: str, address_key: str) -> tuple[bool, list[str]]:
        """Register ``sid`` (its address already opened): (whether it is the identity's first
        live connection here, the oldest connections to close so the identity holds at most
        ``per_identity``)."""
        sids = self._by_identity.setdefault(identity, {})
        first = not sids
        sids[sid] = None
        self._of_sid[sid] = (identity, address_key)
        return first, list(itertools.islice(sids, max(0, len(sids) - self.per_identity)))

    def remove(self, sid: str) -> bool:
        """Forget ``sid`` and give back its address; True when it was its identity's last
        live connection here."""
        found = self._of_sid.pop(sid, None)
        if found is None:
            return False
        identity, address_key = found
        self.close_address(address_key)
        sids = self._by_identity[identity]
        del sids[sid]
        if sids:
            return False
        del self._by_identity[identity]
        return True

    def holds(self, sid: str) -> bool:
        return sid in self._of_sid

    def connections(self, identity: Identity) -> int:
        return len(self._by_identity.get(identity, ()))

    def from_address(self, key: str) -> int:
        return self._by_address.get(key, 0)


class Gate:
    """At most ``working`` holders at once and ``waiting`` more in line, first come first
    served; beyond that :meth:`enter` refuses at once (a flood is turned away for the price of
    a comparison, and what waits is bounded).

    One event loop; ``enter`` and ``leave`` pair like a lock's acquire and release.
    """

    def __init__(self, *, working: int, waiting: int) -> None:
        self.working = working
        self.max_waiting = waiting
        self._holders = 0
        self._line: deque[asyncio.Future[None]] = deque()

    @property
    def holders(self) -> int:
        return self._holders

    @property
    def waiting(self) -> int:
        return len(self._line)

    async def enter(self) -> bool:
        """Hold a place (waiting in line for one): False at once when the line is full."""
        if self._holders < self.working and not self._line:
            self._holders += 1
            return True
        if len(self._line) >= self.max_waiting:
            return False
        turn = asyncio.get_running_loop().create_future()
        self._line.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.leave()  # the place was handed over just as the waiter gave up
            elif turn in self._line:
                self._line.remove(turn)
            raise
        return True

    def leave(self) -> None:
        """Give the place back: to the first in line, or free."""
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_result(None)  # the place passes on; the holder count stays
                return
        self._holders -= 1
