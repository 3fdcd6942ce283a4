"""Running an export: the formats asked for, written into one folder together, or not at all.

Used by ``classroom export`` and, through it, by the console's export jobs
(:mod:`classroom.export_jobs`). The rule for an output folder ``DIR``:

* Every format is written first into a hidden staging folder ``DIR/.export-XXXX.part/`` (each
  file there under a temporary name too, :mod:`classroom.export.files`). Only when every format
  asked for was written are its files moved into ``DIR`` (renames within one file system: no
  copy, nothing to fill the disk). So a run that fails (a full disk, a writer's error, a
  cancel) leaves ``DIR`` as it was: no half-written file under a final name, and no file of an
  earlier format that looks like the result of a run that did not finish. A file that was in
  ``DIR`` before is replaced only by a complete one.
* A QC report (``*.qc.json``) that does not pass is not a write failure: the files and their
  reports are kept (they are complete and the report says what to fix) and the run ends with
  :class:`QcFailed`.

Writers are pure CPU and file work; this module calls them in the caller's thread, never on an
event loop.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classroom.errors import (
    ClassroomError,
    DiskFull,
    ExportFailed,
    InvalidPayload,
    NotWritable,
    QcFailed,
)
from classroom.export import (
    FORMATS,
    WRITERS,
    Cancelled,
    ExportOptions,
    Progress,
    Writer,
    writer,
)
from classroom.export.source import LessonSource

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})
STAGING_PREFIX = ".export-"


@dataclass
class ExportResult:
    """What a finished run left in ``out``: the files (relative, POSIX) and each QC verdict."""

    out: Path
    files: list[str] = field(default_factory=list)
    qc: dict[str, bool] = field(default_factory=dict)  # report file -> passed


def parse_formats(raw: str | Sequence[str]) -> tuple[str, ...]:
    """``"pdf,chapters"`` (or a list) as formats in the order given, each once.

    Raises :class:`InvalidPayload` (``field="formats"``) for an empty list or an unknown name.
    """
    names = raw.split(",") if isinstance(raw, str) else list(raw)
    found: list[str] = []
    for name in (n.strip().lower() for n in names):
        if not name:
            continue
        if name not in FORMATS:
            raise InvalidPayload(
                f"unknown format {name!r}: use one or more of {', '.join(FORMATS)}",
                field="formats",
            )
        if name not in found:
            found.append(name)
    if not found:
        raise InvalidPayload(
            f"no format given: use one or more of {', '.join(FORMATS)}", field="formats"
        )
    return tuple(found)


def writers(formats: Sequence[str]) -> list[tuple[str, Writer]]:
    """Each format's writer, imported now so a missing one is said before any work starts."""
    found = []
    for fmt in formats:
        try:
            found.append((fmt, writer(fmt)))
        except (ImportError, AttributeError):
            module = WRITERS[fmt].partition(":")[0]
            raise InvalidPayload(
                f"the {fmt!r} export is not available in this installation ({module})",
                field="formats",
            ) from None
    return found


def check_out_dir(out: Path) -> None:
    """Make ``out`` if needed and check a file can be made in it (:class:`NotWritable`)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".takhti-probe-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:
            raise DiskFull(f"the disk holding {out} is full") from None
        reason = exc.strerror or exc.__class__.__name__
        raise NotWritable(f"cannot write to {out}: {reason}", field="out") from None


def disk_error(exc: BaseException) -> int | None:
    """The errno of a full disk (ENOSPC, EFBIG, EDQUOT) in ``exc`` or what caused it."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        number = getattr(seen, "errno", None)
        if isinstance(number, int) and number in FULL_ERRNOS:
            return number
        seen = seen.__cause__ or seen.__context__
    return None


def qc_passed(report: Any) -> bool | None:
    """The verdict of a QC report: a top-level ``passed``/``pass``/``ok`` boolean, else every
    check's (``checks`` as a list or a mapping of objects with one of those keys); ``None`` when
    the report has no verdict at all."""
    if not isinstance(report, dict):
        return None
    for key in ("passed", "pass", "ok"):
        if isinstance(report.get(key), bool):
            return bool(report[key])
    checks = report.get("checks")
    items = checks.values() if isinstance(checks, dict) else checks
    if not isinstance(items, list | type({}.values())) or not items:
        return None
    verdicts = []
    for check in items:
        verdict = next(
            (check[k] for k in ("passed", "pass", "ok") if isinstance(check, dict) and k in check),
            None,
        )
        if not isinstance(verdict, bool):
            return None
        verdicts.append(verdict)
    return all(verdicts)


def failed_checks(report: Any) -> list[str]:
    """The names of the checks that did not pass (for the error message)."""
    checks = report.get("checks") if isinstance(report, dict) else None
    named = checks.items() if isinstance(checks, dict) else enumerate(checks or [])
    failed = []
    for key, check in named:
        if isinstance(check, dict) and any(check.get(k) is False for k in ("passed", "pass", "ok")):
            failed.append(str(check.get("name", key)))
    return failed


def run(
    source: LessonSource,
    formats: Sequence[str],
    out: Path,
    options: ExportOptions,
    progress: Progress,
) -> ExportResult:
    """Write ``formats`` of ``source`` into ``out`` (all or nothing, see the module's doc).

    ``progress(fraction, stage)`` gets the whole run's fraction; it may raise
    :class:`~classroom.export.Cancelled`, which leaves ``out`` as it was. Raises
    :class:`DiskFull`, :class:`NotWritable`, :class:`ExportFailed` or :class:`QcFailed`.
    """
    chosen = writers(formats)
    check_out_dir(out)
    staging = out / f"{STAGING_PREFIX}{secrets.token_hex(4)}.part"
    count = len(chosen)
    fmt = chosen[0][0]
    try:
        staging.mkdir()
        for number, (fmt, write) in enumerate(chosen):
            progress(number / count, f"{fmt}")

            def step(fraction: float, stage: str, number: int = number, fmt: str = fmt) -> None:
                progress((number + min(1.0, max(0.0, fraction))) / count, f"{fmt}: {stage}")

            write(source, staging, options, step)
        progress(1.0, "saving")
        result = ExportResult(out)
        _publish(staging, out, result)
    except OSError as exc:
        if disk_error(exc) is not None:
            raise DiskFull(f"the disk filled up while writing {fmt} into {out}") from exc
        if isinstance(exc, PermissionError):
            raise NotWritable(f"cannot write {fmt} into {out}: {exc.strerror}") from exc
        raise ExportFailed(f"the {fmt} export failed: {exc}") from exc
    except (ClassroomError, Cancelled):
        raise  # a writer's own verdict (NOTHING_TO_EXPORT, QC_FAILED) as it said it
    except Exception as exc:
        if disk_error(exc) is not None:
            raise DiskFull(f"the disk filled up while writing {fmt} into {out}") from exc
        raise ExportFailed(f"the {fmt} export failed: {_short(exc)}") from exc
    finally:
        remove_tree(staging)
    _check_qc(result)
    return result


def _publish(staging: Path, out: Path, result: ExportResult) -> None:
    """Move the staged files into ``out``; a folder (``web/``) replaces the old one whole."""
    for entry in sorted(staging.iterdir()):
        if entry.name.startswith("."):
            continue  # a writer's leftover temporary name
        final = out / entry.name
        if entry.is_dir():
            old = out / f".{entry.name}.{secrets.token_hex(4)}.old"
            if final.exists():
                os.replace(final, old)
            os.replace(entry, final)
            remove_tree(old)
            result.files.extend(
                p.relative_to(out).as_posix()
                for p in sorted(final.rglob("*"))
                if p.is_file() and not p.name.startswith(".")
            )
        else:
            os.replace(entry, final)
            result.files.append(entry.name)
    with contextlib.suppress(OSError):
        directory = os.open(out, os.O_RDONLY)
        try:
            os.fsync(directory)  # the renames survive a power cut
        finally:
            os.close(directory)


def _check_qc(result: ExportResult) -> None:
    failures = []
    for name in result.files:
        if not name.endswith(".qc.json"):
            continue
        try:
            report = json.loads((result.out / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = None
        verdict = qc_passed(report)
        result.qc[name] = verdict is True
        if verdict is None:
            failures.append(f"{name} has no verdict")
        elif not verdict:
            checks = failed_checks(report)
            failures.append(f"{name}: " + (", ".join(checks) if checks else "failed"))
    if failures:
        failed = QcFailed("QC did not pass: " + "; ".join(failures))
        failed.result = result
        raise failed


def remove_tree(path: Path) -> None:
    """Remove a staging or old folder, whatever is left in it."""
    shutil.rmtree(path, ignore_errors=True)


def clean_staging(out: Path) -> None:
    """Remove staging folders a killed run left behind in ``out``."""
    if out.is_dir():
        for entry in out.iterdir():
            if entry.name.startswith(STAGING_PREFIX) and entry.name.endswith(".part"):
                remove_tree(entry)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
