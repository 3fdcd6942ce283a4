"""Timeline cost for a long synthetic lesson: fold, checkpoints (time and memory), seeks.

The lesson (``testkit.lessons.synthetic_lesson``) is made through the real ``propose_*``
functions: 30 students, ink over 10 pages in strokes of 40 batches, polls, quizzes, keyframes.

Measured: ``fold_s`` (a plain fold of the whole log, what reports pay), ``build_s`` (the
timeline: fold + checkpoints + chapters), ``checkpoint_mb`` (memory the timeline holds beyond
the events, by tracemalloc in a second build), ``deepcopy_checkpoints_mb_estimate`` (what
``copy.deepcopy`` checkpoints would hold: the deep size of the checkpoints at 1/4, 1/2, 3/4 and
the end of the lesson, integrated over all of them), seek ``p50/p99/max`` ms over random
times with the split between copying the checkpoint and folding, ``max_folded`` events per
seek, and ``snapshot_ms`` (the teacher's snapshot of the final state).

Progress goes to stderr; the last stdout line is one JSON object.
Run: ``nice .venv/bin/python bench/timeline.py [--events 200000 --seeks 200]``.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import random
import sys
import time
import tracemalloc
from typing import Any

import _path  # noqa: F401

from classroom import lesson, timeline
from classroom.log import Actor
from testkit.lessons import synthetic_lesson

TEACHER = Actor("teacher", "amina", "Ms Amina")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def deep_size(state: Any) -> int:
    """Bytes a ``copy.deepcopy`` of ``state`` allocates."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = copy.deepcopy(state)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return after - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seeks", type=int, default=200)
    parser.add_argument("--every", type=int, default=timeline.CHECKPOINT_EVERY)
    args = parser.parse_args()

    print(f"making a lesson of {args.events} events", file=sys.stderr)
    events = synthetic_lesson(args.events)
    strokes = sum(1 for e in events if e.type == "stroke_started")

    started = time.perf_counter()
    final = timeline.fold(events)
    fold_s = time.perf_counter() - started

    gc.collect()
    started = time.perf_counter()
    line = timeline.Timeline(events, checkpoint_every=args.every)
    build_s = time.perf_counter() - started
    print(f"fold {fold_s:.2f} s, timeline {build_s:.2f} s", file=sys.stderr)
    del line
    gc.collect()

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    line = timeline.Timeline(events, checkpoint_every=args.every)
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    final_state_bytes = deep_size(final)
    # deepcopy checkpoints would hold the sum of the state sizes: sample and integrate.
    samples = [deep_size(line.state_at_seq(len(events) * k // 4).state) for k in (1, 2, 3, 4)]
    per = line.checkpoints / 4
    deepcopy_estimate = sum(samples) * per

    rng = random.Random(7)
    start, end = line.start_ms or 0, line.end_ms or 0
    seek_ms: list[float] = []
    copy_ms: list[float] = []
    folded: list[int] = []
    for _ in range(args.seeks):
        t = rng.randint(start, end)
        began = time.perf_counter()
        moment = line.state_at(t)
        seek_ms.append((time.perf_counter() - began) * 1000)
        folded.append(moment.folded)
        checkpoint = line.index_at(t) // line.checkpoint_every
        began = time.perf_counter()
        line.state_at_seq(events[checkpoint * line.checkpoint_every - 1].seq if checkpoint else 0)
        copy_ms.append((time.perf_counter() - began) * 1000)
    began = time.perf_counter()
    lesson.snapshot(final, TEACHER)
    snapshot_ms = (time.perf_counter() - began) * 1000

    result = {
        "events": len(events),
        "strokes": strokes,
        "duration_min": round(line.duration_ms / 60_000, 1),
        "chapters": len(line.chapters),
        "checkpoint_every": line.checkpoint_every,
        "checkpoints": line.checkpoints,
        "fold_s": round(fold_s, 2),
        "build_s": round(build_s, 2),
        "timeline_held_mb": round(held / 2**20, 1),
        "final_state_mb": round(final_state_bytes / 2**20, 1),
        "deepcopy_checkpoints_mb_estimate": round(deepcopy_estimate / 2**20),
        "seek_p50_ms": round(percentile(seek_ms, 0.5), 1),
        "seek_p99_ms": round(percentile(seek_ms, 0.99), 1),
        "seek_max_ms": round(max(seek_ms), 1),
        "seek_copy_p50_ms": round(percentile(copy_ms, 0.5), 1),
        "max_folded": max(folded),
        "snapshot_ms": round(snapshot_ms, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
