"""What the export pictures cost: frames/s of the incremental renderer vs the full redraw.

The synthetic 30-minute lesson of ``bench/replay.py`` (2,000 strokes over 10 pages, 3 polls, a
5-question quiz, a camera keyframe at every page switch, here with real JPEG bytes) is rendered
by :func:`classroom.export.frames.frames` at 1920x1080 and 1280x720, 25 fps, every frame of the
programme; :func:`~classroom.export.frames.reference_frames` (a full redraw whenever anything
changed) is timed in the same run over a ``--reference-s`` window from the lesson's middle
(the whole lesson would take hours). ``budget_ms_per_frame`` is what a 3x-realtime encode at
25 fps leaves for everything (13.3 ms). ``slides_s`` times ``slides.pdf`` for the same lesson.

Run: ``flock /work/bench.lock nice .venv/bin/python bench/frames.py``; the last stdout line is
one JSON object with the load average.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401
from replay import make_lesson

from classroom.export import ExportOptions, no_progress
from classroom.export import frames as export_frames
from classroom.export import source as export_source
from testkit.picture_lesson import jpeg

FPS = 25


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def lesson(strokes: int) -> export_source.LessonSource:
    events, _audio = make_lesson("bench-frames", strokes, with_audio=False, distinct_audio=0)
    assets: dict[str, tuple[str, bytes]] = {}
    for number, event in enumerate(e for e in events if e.type == "camera_keyframe_added"):
        picture = jpeg(1280, 720, (228, 232, 224), seed=number)
        assets[str(event.data["asset_id"])] = ("image/jpeg", picture)
    return export_source.from_events(events, assets=assets)


def time_frames(
    source: export_source.LessonSource, width: int, height: int, *, count: int | None
) -> dict[str, Any]:
    started = time.perf_counter()
    cpu = time.process_time()
    total = changed = 0
    last = None
    for frame in itertools.islice(
        export_frames.frames(source, width=width, height=height, fps=FPS), count
    ):
        total += 1
        if frame is not last:
            changed += 1
        last = frame
    wall = time.perf_counter() - started
    return {
        "frames": total,
        "changed_frames": changed,
        "seconds": round(wall, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "fps": round(total / wall, 1),
        "ms_per_frame": round(wall * 1000 / total, 3),
        "x_realtime": round(total / FPS / wall, 2),
    }


def time_reference(
    source: export_source.LessonSource, width: int, height: int, seconds: int
) -> dict[str, Any]:
    middle = export_frames.frame_count(source, FPS) // 2
    count = seconds * FPS
    redraws = 0

    def counted(_index: int) -> None:
        nonlocal redraws
        redraws += 1

    frames = export_frames.reference_frames(
        source, width=width, height=height, fps=FPS, start_index=middle, on_redraw=counted
    )
    next(frames)  # the setup (a seek, the first page) is not what differs: time from here
    started = time.perf_counter()
    redraws = 0
    total = sum(1 for _ in itertools.islice(frames, count))
    wall = time.perf_counter() - started
    return {
        "frames": total,
        "redraws": redraws,
        "seconds": round(wall, 2),
        "fps": round(total / wall, 2),
        "ms_per_frame": round(wall * 1000 / total, 1),
        "ms_per_redraw": round(wall * 1000 / max(1, redraws), 1),
    }


def time_window(
    source: export_source.LessonSource, width: int, height: int, seconds: int
) -> dict[str, Any]:
    """The incremental renderer over the same window as the reference."""
    middle = export_frames.frame_count(source, FPS) // 2
    started = time.perf_counter()
    frames = export_frames.frames(source, width=width, height=height, fps=FPS, start_index=middle)
    next(frames)
    started = time.perf_counter()
    total = sum(1 for _ in itertools.islice(frames, seconds * FPS))
    wall = time.perf_counter() - started
    return {"frames": total, "seconds": round(wall, 2), "fps": round(total / wall, 1)}


def time_slides(source: export_source.LessonSource) -> float | None:
    try:
        from classroom.export import slides
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        slides.write(source, Path(folder), ExportOptions(), no_progress)
        return round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strokes", type=int, default=2000)
    parser.add_argument("--reference-s", type=int, default=20)
    parser.add_argument("--frames", type=int, default=None, help="only the first N frames")
    args = parser.parse_args()
    load_before = os.getloadavg()
    log(f"making the lesson ({args.strokes} strokes)")
    source = lesson(args.strokes)
    source.timeline  # noqa: B018  (fold before timing)
    result: dict[str, Any] = {
        "lesson_s": round(source.duration_ms / 1000, 1),
        "events": len(source.events),
        "fps": FPS,
        "budget_ms_per_frame": round(1000 / (3 * FPS), 1),
    }
    for width, height in ((1920, 1080), (1280, 720)):
        log(f"incremental {width}x{height}")
        result[f"incremental_{height}p"] = time_frames(source, width, height, count=args.frames)
        log(f"reference {width}x{height} over {args.reference_s} s from the middle")
        reference = time_reference(source, width, height, args.reference_s)
        window = time_window(source, width, height, args.reference_s)
        result[f"reference_{height}p"] = reference
        result[f"window_incremental_{height}p"] = window
        result[f"speedup_{height}p"] = round(window["fps"] / reference["fps"], 1)
    log("slides.pdf")
    result["slides_s"] = time_slides(source)
    result["load_before"] = [round(x, 2) for x in load_before]
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    result["cpus"] = os.cpu_count()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
