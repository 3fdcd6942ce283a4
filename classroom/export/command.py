"""``classroom export``: a recorded lesson written as broadcast, web, PDF or chapter files.

::

    classroom export CLASS_ID --format FORMATS --out DIR [--store URL | --data-dir DIR]
        [--lang ur|en] [--leader] [--interlaced]

The lesson is read from the store once (on an event loop that is closed before any writing
starts), then the writers run in this process at lower priority (``os.nice``, or SCHED_IDLE
with ``--priority idle``), with a progress bar on stderr. What lands in ``DIR`` follows
:mod:`classroom.export.run`: all formats or none.

Exit status: 0 every file written and every QC report passed; 1 the export failed (a full disk,
a writer's error, QC not passed); 2 bad input (a bad flag, an unknown class or format, a lesson
with nothing to show, an output folder that cannot be written); 130 interrupted or cancelled
(SIGINT or SIGTERM). Every failure is one line on stderr, ``classroom export: error: ...``.

``--progress json`` (used by the server's export jobs) writes one JSON object a line on stdout
instead of the bar: ``{"event": "progress", "fraction", "stage"}`` at most every 0.2 s, then
``{"event": "done", "files", "qc"}`` or ``{"event": "error", "code", "message"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from classroom.errors import ClassroomError, ExportFailed, InvalidPayload
from classroom.export import FORMATS, Cancelled, ExportOptions
from classroom.settings import Settings

NICE = 10  # below the live server (nice 0): a 2-core box keeps its class responsive
IDLE_NICE = 19  # --priority idle: the lowest nice value, beside SCHED_IDLE
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130
PROGRESS_EVERY_S = 0.2

# Errors that are the caller's input, not the export failing.
BAD_INPUT_CODES = frozenset(
    {"INVALID_PAYLOAD", "NOT_FOUND", "NOTHING_TO_EXPORT", "NOT_WRITABLE", "FORBIDDEN"}
)


def _formats(raw: str) -> tuple[str, ...]:
    from classroom.export.run import parse_formats

    try:
        return parse_formats(raw)
    except InvalidPayload as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def add_parser(
    commands: Any, add_store_flags: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    """The ``export`` sub-command's flags."""
    export: argparse.ArgumentParser = commands.add_parser(
        "export",
        help="write a recorded lesson as broadcast, web, PDF or chapter files",
        description="Export a recorded lesson. FORMATS is a comma list of "
        f"{', '.join(FORMATS)}: broadcast -> broadcast.mov + broadcast.qc.json, "
        "mxf -> broadcast.mxf + broadcast.mxf.qc.json, web -> web/master.m3u8 (+ rungs) + "
        "lesson.mp4, pdf -> slides.pdf, chapters -> chapters.vtt. Files appear in DIR only "
        "when every format was written. Exit 0 when all were written and passed QC, 1 when "
        "the export failed, 2 on bad input, 130 when interrupted.",
    )
    export.add_argument("class_id", metavar="CLASS_ID")
    export.add_argument(
        "--format",
        dest="formats",
        type=_formats,
        required=True,
        metavar="FORMATS",
        help=f"comma list of {', '.join(FORMATS)}",
    )
    export.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    export.add_argument(
        "--lang", choices=("ur", "en"), default="ur", help="language of cards and slates"
    )
    export.add_argument(
        "--leader", action="store_true", help="broadcast: bars and tone, slate, black first"
    )
    export.add_argument(
        "--interlaced", action="store_true", help="broadcast.mov as 1080i25 (top field first)"
    )
    export.add_argument(
        "--progress",
        choices=("bar", "json", "none"),
        default="bar",
        help="bar on stderr (default), JSON lines on stdout, or nothing",
    )
    export.add_argument(
        "--priority",
        choices=("low", "idle"),
        default="low",
        help="low: nice 10 (default); idle: only CPU time nothing else wants (SCHED_IDLE on "
        "Linux, else nice 19), as the console's export jobs run",
    )
    add_store_flags(export)
    return export


class _Reporter:
    """Progress to a bar on stderr or to JSON lines on stdout, throttled."""

    def __init__(self, mode: str, stream: TextIO) -> None:
        self.mode = mode
        self.stream = stream
        self._last = 0.0
        self._bar: Any = None

    def __call__(self, fraction: float, stage: str) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        if self.mode == "bar" and self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=1000,
                file=sys.stderr,
                bar_format="{desc:<32.32} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
                mininterval=PROGRESS_EVERY_S,
            )
        if self._bar is not None:
            self._bar.set_description_str(stage, refresh=False)
            self._bar.update(max(0, round(fraction * 1000) - self._bar.n))
        elif self.mode == "json":
            self.emit({"event": "progress", "fraction": round(fraction, 4), "stage": stage})

    def emit(self, message: dict[str, Any]) -> None:
        if self.mode == "json":
            self.stream.write(json.dumps(message, ensure_ascii=False) + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _raise_cancelled(signum: int, frame: FrameType | None) -> None:
    raise Cancelled("the export was cancelled")


def _lower_priority(priority: str) -> None:
    """Run below the live server: ``low`` is nice 10; ``idle`` (the console's jobs) is
    SCHED_IDLE, so the export only gets CPU time nothing else wants.

    Linux's autogroup scheduler shares the CPU between sessions first and only then by nice
    value inside a session, so a nice value alone does not yield to a server in another
    session. A process that leads its own session (the console's jobs start the command so)
    also lowers its autogroup to nice 19; a command typed in a terminal leaves the terminal's
    session as it is.
    """
    with contextlib.suppress(OSError):  # already as low as allowed
        os.nice(IDLE_NICE if priority == "idle" else NICE)  # the kernel stops at 19
    if priority != "idle":
        return
    with contextlib.suppress(AttributeError, OSError):  # not Linux: nice 19 is what there is
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    if os.getsid(0) == os.getpid():
        with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as group:
            group.write(str(IDLE_NICE))


async def _load(settings: Settings, class_id: str) -> Any:
    from classroom.export import source
    from classroom.storage import open_store

    store = open_store(settings.store_url, data_dir=settings.data_dir)
    try:
        await store.open()
        try:
            return await source.load(store, class_id, school=settings.school)
        finally:
            await store.close()
    except ClassroomError:
        raise
    except Exception as exc:  # the store's own errors (sqlite3, redis, OSError)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ExportFailed(f"cannot read the lesson from {settings.store_url}: {reason}") from exc


def main(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``classroom export`` (see the module's doc for the exit status)."""
    from classroom.export import run

    reporter = _Reporter(args.progress, sys.stdout)
    previous = signal.signal(signal.SIGTERM, _raise_cancelled)
    _lower_priority(args.priority)
    try:
        run.writers(args.formats)  # a missing writer is said before the lesson is read
        lesson = asyncio.run(_load(settings, args.class_id))
        options = ExportOptions(lang=args.lang, leader=args.leader, interlaced=args.interlaced)
        result = run.run(lesson, args.formats, args.out, options, reporter)
    except (Cancelled, KeyboardInterrupt):
        reporter.close()
        reporter.emit({"event": "error", "code": "CANCELLED", "message": "cancelled"})
        print("classroom export: cancelled; nothing was written", file=sys.stderr)
        return EXIT_CANCELLED
    except ClassroomError as exc:
        reporter.close()
        failed: dict[str, Any] = {"event": "error", "code": exc.code, "message": exc.message}
        kept = getattr(exc, "result", None)
        if kept is not None:  # QC failed: the files were written and are kept
            failed.update(files=kept.files, qc=kept.qc)
        reporter.emit(failed)
        print(f"classroom export: error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT if exc.code in BAD_INPUT_CODES else EXIT_FAILED
    finally:
        signal.signal(signal.SIGTERM, previous)
    reporter.close()
    reporter.emit({"event": "done", "files": result.files, "qc": result.qc})
    if args.progress != "json":
        for name in result.files:
            print(args.out / name)
    return EXIT_OK
