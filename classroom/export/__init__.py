"""Exports: a recorded lesson folded into files a broadcaster, a web portal or a USB stick takes.

Every export is a fold over the lesson's timeline (``classroom/timeline.py``), read through one
:class:`~classroom.export.source.LessonSource`. A format is a *writer*::

    def write(source: LessonSource, out: Path, options: ExportOptions, progress: Progress)
        -> list[Path]

It writes its files under ``out`` (each under a temporary name, renamed at the end:
:func:`classroom.export.files.final_file`), calls ``progress(fraction, stage)`` as it goes
(``progress`` raises :class:`Cancelled` when the export was cancelled) and returns the final
paths. Writers are pure CPU and file work: no store, no event loop. ``classroom export`` and the
console's export jobs load the source, then call the writers in a worker process.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from classroom.export.source import LessonSource

FORMATS = ("broadcast", "mxf", "web", "pdf", "chapters", "package")

# format -> "module:function"; imported only when the format is asked for (PyAV, fpdf2).
WRITERS = {
    "broadcast": "classroom.export.broadcast:write_mov",
    "mxf": "classroom.export.broadcast:write_mxf",
    "web": "classroom.export.web:write",
    "pdf": "classroom.export.slides:write",
    "chapters": "classroom.export.chapters:write",
    "package": "classroom.export.package:write",
}


@dataclass(frozen=True, slots=True)
class ExportOptions:
    lang: Literal["ur", "en"] = "ur"  # the language of cards, slates and titles
    leader: bool = False  # broadcast: bars and tone, slate, black before the programme
    interlaced: bool = False  # broadcast.mov: 1080i25 top field first instead of 1080p25


class Progress(Protocol):
    def __call__(self, fraction: float, stage: str) -> None: ...


class Cancelled(Exception):
    """Raised by a progress callback when the export was cancelled."""


Writer = Callable[["LessonSource", Path, ExportOptions, Progress], list[Path]]


def no_progress(fraction: float, stage: str) -> None:
    """A progress callback that ignores progress (tests, nested steps)."""


def writer(fmt: str) -> Writer:
    """The writer of a format (ValueError for an unknown one)."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown export format {fmt!r}: one of {', '.join(FORMATS)}")
    module, _, name = WRITERS[fmt].partition(":")
    found: Writer = getattr(importlib.import_module(module), name)
    return found
