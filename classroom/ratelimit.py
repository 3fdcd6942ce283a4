"""Rate limits: token buckets per client and event family, lock-outs for join-code guessing."""

from __future__ import annotations

from collections import OrderedDict
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
        self._failures.pop(key, None)
