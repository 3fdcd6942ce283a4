"""Run ``classroom serve`` for the vote benchmark, optionally under cProfile.

    python -m bench._votes_server [--profile FILE] -- serve --port ... --store ...

``--profile FILE`` (``{pid}`` is replaced) writes cProfile stats when the server exits (SIGTERM).
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile")
    args, rest = parser.parse_known_args()
    if rest and rest[0] == "--":
        rest = rest[1:]
    from classroom import cli

    if args.profile:
        profiler = cProfile.Profile()
        path = args.profile.format(pid=os.getpid())
        atexit.register(lambda: profiler.dump_stats(path))
        profiler.enable()
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main())
