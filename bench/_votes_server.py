"""Run ``classroom serve`` for the vote benchmark, optionally under cProfile.

    python -m bench._votes_server [--profile FILE] -- serve --port ... --store ...

``--profile FILE`` (``{pid}`` is replaced): SIGUSR1 starts profiling, SIGUSR2 stops it and writes
the cProfile stats, so a profile covers just the part of a run the benchmark cares about (the vote
burst), not start-up, joins and connects.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import signal
import sys
import time
from types import FrameType


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile")
    args, rest = parser.parse_known_args()
    if rest and rest[0] == "--":
        rest = rest[1:]
    from classroom import cli

    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not wall time
        path = args.profile.format(pid=os.getpid())

        def start(signum: int, frame: FrameType | None) -> None:
            profiler.enable()

        def stop(signum: int, frame: FrameType | None) -> None:
            profiler.disable()
            profiler.dump_stats(path)

        signal.signal(signal.SIGUSR1, start)
        signal.signal(signal.SIGUSR2, stop)
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main())
