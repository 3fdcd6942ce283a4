"""Broadcast masters: how much faster than real time ``broadcast.mov`` and ``broadcast.mxf`` are
written for a synthetic lesson (strokes all along, speech-like sound), and their peak memory.

Each step runs in its own child process (its peak RSS is its own):

- ``frames``: the baseline, the programme's pictures from ``classroom.export.frames`` alone
  (no conversion, no encoding): what any video export pays before encoding;
- ``sound``: the lesson's sound decoded and normalised to -23 LUFS (``programme_sound``);
- ``mov`` / ``mxf``: the whole writer (sound, pictures, encoding, muxing, QC by decoding).

Reported per step: seconds, x realtime (programme seconds / wall seconds), CPU seconds of
all its threads and programme seconds per CPU second (what one free core gives: the machine
is shared, wall time depends on the others' load), peak RSS (MB), and for the writers their
share over the frames baseline; plus the machine's load before and after. Targets (issue 13):
mov >= 3x realtime, mxf >= 1.5x. Progress goes to stderr; the last stdout line is one JSON
object.

Run (benchmarks never overlap on this machine)::

    flock /work/bench.lock .venv/bin/python bench/broadcast.py [--minutes 3] [--interlaced]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def child(step: str, minutes: float, interlaced: bool) -> dict[str, Any]:
    from classroom.export import ExportOptions, broadcast, frames, no_progress
    from testkit.programmes import lesson_with_sound

    source = lesson_with_sound(minutes * 60, sound="speech", strokes_per_second=0.5)
    source.timeline  # noqa: B018  (the fold is not what is measured)
    options = ExportOptions(interlaced=interlaced)
    programme_s = broadcast.layout(source, None).programme_s
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu_before = time.process_time()  # every thread of this process: x264's, FFmpeg's too
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    if step == "frames":
        distinct, last = 0, None
        for picture in frames.frames(source, width=1920, height=1080, fps=25):
            if picture is not last:
                distinct += 1
                last = picture
        extra["distinct_frames"] = distinct
    elif step == "sound":
        broadcast.programme_sound(source, broadcast.layout(source, None))
    else:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as out:
            write = broadcast.write_mov if step == "mov" else broadcast.write_mxf
            paths = write(source, Path(out), options, no_progress)
            extra["size_mb"] = round(paths[0].stat().st_size / 1e6, 1)
            report = json.loads(paths[1].read_text())
            extra["qc_passed"] = report["passed"]
            extra["integrated_lufs"] = report["audio"]["programme"]["integrated_lufs"]
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    return {
        "step": step,
        "programme_s": programme_s,
        "seconds": round(seconds, 2),
        "x_realtime": round(programme_s / seconds, 2),
        # CPU seconds, all threads: on a machine shared with other work, programme / CPU is the
        # speed one free core would give (two free cores give up to twice that).
        "cpu_s": round(cpu, 2),
        "x_realtime_per_cpu_s": round(programme_s / cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_step_mb": round(rss_before),  # the interpreter, PyAV and the lesson
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--interlaced", action="store_true", help="broadcast.mov at 1080i25")
    parser.add_argument("--steps", default="frames,sound,mov,mxf")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.minutes, args.interlaced)))
        return
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    for step in args.steps.split(","):
        log(f"{step}: {args.minutes} min lesson ...")
        command = [sys.executable, __file__, "--child", step, "--minutes", str(args.minutes)]
        if args.interlaced:
            command.append("--interlaced")
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        results[step] = json.loads(done.stdout.strip().splitlines()[-1])
        log(f"{step}: {results[step]}")
    frames_s = results.get("frames", {}).get("seconds")
    for step in ("mov", "mxf"):
        if step in results and frames_s:
            results[step]["over_frames_baseline"] = round(results[step]["seconds"] / frames_s, 2)
    targets = {"mov": 3.0, "mxf": 1.5}
    summary = {
        "bench": "broadcast",
        "minutes": args.minutes,
        "interlaced": args.interlaced,
        "cores": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "steps": results,
        "targets_x_realtime": targets,
        "met": {k: results[k]["x_realtime"] >= v for k, v in targets.items() if k in results},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
