"""Run ``classroom serve`` for the vote benchmark, optionally profiled or with an experiment.

    python -m bench._votes_server [--profile FILE] [--seq-waiters] -- serve --port ... --store ...

``--profile FILE`` (``{pid}`` is replaced) writes cProfile stats when the server exits (SIGTERM).
``--seq-waiters`` replaces ``ClassRuntime.wait_for`` (one ``asyncio.Condition`` that wakes every
waiting handler on every applied event: O(waiters) per event) with a heap of per-seq futures
released in seq order (O(log waiters)), to size that change without editing ``classroom/hub.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import cProfile
import heapq
import itertools
import os
import sys
from typing import Any


def install_seq_waiters() -> None:
    from classroom import hub
    from classroom.log import Event

    original_apply = hub.ClassRuntime._apply
    counter = itertools.count()

    def release(runtime: Any) -> None:
        waiters = runtime.__dict__.get("_seq_waiters")
        while waiters and waiters[0][0] <= runtime.state.seq:
            future = heapq.heappop(waiters)[2]
            if not future.done():
                future.set_result(None)

    async def _apply(self: Any, event: Event, *, emit: bool) -> None:
        await original_apply(self, event, emit=emit)
        release(self)

    async def wait_for(self: Any, seq: int, timeout: float = 5.0) -> bool:
        if self.state.seq >= seq:
            return True
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self.__dict__.setdefault("_seq_waiters", []), (seq, next(counter), future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False
        return True

    hub.ClassRuntime._apply = _apply  # type: ignore[method-assign]
    hub.ClassRuntime.wait_for = wait_for  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile")
    parser.add_argument("--seq-waiters", action="store_true")
    args, rest = parser.parse_known_args()
    if rest and rest[0] == "--":
        rest = rest[1:]
    if args.seq_waiters:
        install_seq_waiters()
    from classroom import cli

    if args.profile:
        profiler = cProfile.Profile()
        path = args.profile.format(pid=os.getpid())
        atexit.register(lambda: profiler.dump_stats(path))
        profiler.enable()
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main())
