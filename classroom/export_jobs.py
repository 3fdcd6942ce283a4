"""Export jobs from the teacher console: one lesson's export at a time, in a worker process.

A job runs ``classroom export ... --progress json`` as a child process (its own session, at
idle priority: the command puts itself under SCHED_IDLE with ``--priority idle``, and its
session's autogroup at nice 19), so no export work touches the server's event loop: the loop
only reads the child's progress lines from a pipe. Jobs wait in one queue per
server process and run one at a time (a 2-core school box has no room for two encoders beside
a live class).

Each class has at most one job, its latest; its state is kept in memory and in
``DATA_DIR/exports/{class_id}/job.json`` beside the files it wrote (the command's own output
folder, see :mod:`classroom.export.run`: all formats or none). The console polls
``GET /api/classes/{id}/export`` (the after-class page has no class socket to push to).

A restart does not leave a job "running" for good: the server writes the running job's
``updated_at`` every few seconds; a job found on disk as queued or running whose server is
gone (a process on this host that no longer exists, this process after a restart, or no beat
for :data:`STALE_S`) reads as ``failed`` with ``INTERRUPTED``, and the staging folder its
child left is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import secrets
import signal
import socket
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from classroom.errors import Conflict, InvalidPayload, NotFound
from classroom.export import WRITERS
from classroom.export.run import clean_staging, parse_formats
from classroom.settings import Settings

logger = logging.getLogger(__name__)

State = Literal["queued", "running", "done", "failed", "cancelled"]
ACTIVE: tuple[State, ...] = ("queued", "running")
JOB_FILE = "job.json"
BEAT_S = 5.0  # the running job's updated_at is written at least this often
STALE_S = 30.0  # a queued/running job with no beat for this long has lost its server
SAVE_EVERY_S = 1.0  # progress is written to job.json at most this often
CANCEL_GRACE_S = 10.0  # after SIGTERM, the child is killed if it has not stopped by then
MAX_QUEUE = 20

# What the download route answers (mimetypes has no entry for most of these).
MEDIA_TYPES = {
    ".mov": "video/quicktime",
    ".mxf": "application/mxf",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".m4a": "audio/mp4",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".pdf": "application/pdf",
    ".vtt": "text/vtt; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".zip": "application/zip",
}


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class ExportJob:
    """One export of one lesson, as the console sees it."""

    job_id: str
    class_id: str
    teacher: str
    formats: list[str]
    lang: str
    state: State = "queued"
    fraction: float = 0.0
    stage: str = ""
    files: list[str] = field(default_factory=list)
    qc: dict[str, bool] = field(default_factory=dict)
    error: dict[str, str] | None = None
    cancel_requested: bool = False
    created_at: int = field(default_factory=_now_ms)
    started_at: int | None = None
    finished_at: int | None = None
    updated_at: int = field(default_factory=_now_ms)
    owner: str = ""  # "host:pid:token" of the server process that runs it

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportJob:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def public(self) -> dict[str, Any]:
        """The job as the HTTP answer shows it (no owner)."""
        data = asdict(self)
        del data["owner"]
        return data


def format_available(fmt: str) -> bool:
    """Whether this installation has the format's writer (found without importing it)."""
    module = WRITERS[fmt].partition(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ExportJobs:
    """The server's export queue. ``command`` is the argv that starts ``classroom``."""

    def __init__(self, settings: Settings, *, command: list[str] | None = None) -> None:
        self.settings = settings
        self.root = (settings.data_dir / "exports").resolve()
        self.command = command or [sys.executable, "-m", "classroom.cli"]
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._jobs: dict[str, ExportJob] = {}
        self._queue: asyncio.Queue[ExportJob] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._child: asyncio.subprocess.Process | None = None
        self._running: ExportJob | None = None
        self._last_save = 0.0
        self._stopping: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        await asyncio.to_thread(self._sweep)
        self._worker = asyncio.create_task(self._work(), name="export-jobs")

    async def close(self) -> None:
        job, child = self._running, self._child
        if job is not None and child is not None and child.returncode is None:
            job.error = {"code": "INTERRUPTED", "message": "the server stopped during the export"}
            job.cancel_requested = True
            await self._stop_child(child)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        for waiting in self._jobs.values():
            if waiting.state in ACTIVE:
                self._finish(waiting, "failed", waiting.error or self._interrupted())
                self._save(waiting)

    def _sweep(self) -> None:
        """At start: jobs a gone server left queued or running become failed, INTERRUPTED."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            job = self._read(folder.name)
            if job is not None and job.state in ACTIVE and self._orphan(job):
                self._finish(job, "failed", self._interrupted())
                self._save(job)
                clean_staging(folder)

    # --- the routes' calls -------------------------------------------------------------------

    async def start(self, class_id: str, teacher: str, formats: list[str], lang: str) -> ExportJob:
        """Queue an export of a lesson (InvalidPayload, Conflict while one is queued/running)."""
        chosen = parse_formats(formats)
        missing = [fmt for fmt in chosen if not format_available(fmt)]
        if missing:
            raise InvalidPayload(
                f"not available in this installation: {', '.join(missing)}", field="formats"
            )
        current = await self.get(class_id)
        if current is not None and current.state in ACTIVE:
            raise Conflict("an export of this lesson is already queued or running")
        if sum(1 for j in self._jobs.values() if j.state == "queued") >= MAX_QUEUE:
            raise Conflict("the export queue is full; try again later")
        job = ExportJob(
            job_id=secrets.token_hex(6),
            class_id=class_id,
            teacher=teacher,
            formats=list(chosen),
            lang=lang,
            owner=self.owner,
        )
        self._jobs[class_id] = job
        await asyncio.to_thread(self._save, job)
        self._queue.put_nowait(job)
        return job

    async def get(self, class_id: str) -> ExportJob | None:
        """The class's latest job (from memory, else from its job.json)."""
        job = self._jobs.get(class_id)
        if job is not None:
            return job
        found = await asyncio.to_thread(self._read, class_id)
        if found is not None and found.state in ACTIVE and self._orphan(found):
            self._finish(found, "failed", self._interrupted())
        return found

    async def cancel(self, class_id: str) -> ExportJob:
        """Cancel the class's queued or running job (a finished one is answered as it is)."""
        job = self._jobs.get(class_id)
        if job is None:
            found = await self.get(class_id)
            if found is None:
                raise NotFound("this lesson has no export", field="class_id")
            if found.state in ACTIVE:
                raise Conflict("the export runs on another server process")
            return found
        if job.state == "queued":
            self._finish(job, "cancelled", None)
            await asyncio.to_thread(self._save, job)
        elif job.state == "running" and not job.cancel_requested:
            job.cancel_requested = True
            child = self._child
            if child is not None and child.returncode is None and self._running is job:
                # The command turns SIGTERM into a cancel: its temporary files are removed.
                self._stopping = asyncio.create_task(self._stop_child(child))
        return job

    def file(self, job: ExportJob, name: str) -> Path:
        """A file the job wrote (NotFound for anything else: no path from the request)."""
        if name not in job.files:
            raise NotFound(f"this export has no file {name!r}", field="name")
        path = self.root / job.class_id / name
        if not path.is_file():
            raise NotFound(f"the file {name!r} is gone; export again", field="name")
        return path

    # --- the worker --------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            if job.state != "queued":
                continue  # cancelled while it waited
            try:
                await self._run(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("export job %s of %s failed", job.job_id, job.class_id)
                self._finish(job, "failed", {"code": "INTERNAL", "message": "the export failed"})
            finally:
                self._running, self._child = None, None
                await asyncio.to_thread(self._save, job)

    def _argv(self, job: ExportJob, out: Path) -> list[str]:
        data_dir = self.settings.data_dir.resolve()
        return [
            *self.command,
            "export",
            job.class_id,
            "--format",
            ",".join(job.formats),
            "--out",
            str(out),
            "--lang",
            job.lang,
            "--progress",
            "json",
            "--priority",
            "idle",
            "--store",
            self.settings.store_url,
            "--data-dir",
            str(data_dir),
        ]

    async def _run(self, job: ExportJob) -> None:
        out = self.root / job.class_id
        job.state, job.started_at = "running", _now_ms()
        self._running = job
        await asyncio.to_thread(self._save, job)
        env = {**os.environ, "TAKHTI_SCHOOL": self.settings.school}
        child = await asyncio.create_subprocess_exec(
            *self._argv(job, out),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env=env,
        )
        self._child = child
        if child.stdout is None or child.stderr is None:
            raise RuntimeError("the export's pipes did not open")
        tail: deque[str] = deque(maxlen=5)
        reading = asyncio.create_task(self._stderr_tail(child.stderr, tail))
        final: dict[str, Any] | None = None
        while True:
            try:
                line = await asyncio.wait_for(child.stdout.readline(), BEAT_S)
            except TimeoutError:
                job.updated_at = _now_ms()
                await asyncio.to_thread(self._save, job)
                continue
            if not line:
                break
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if message.get("event") == "progress":
                job.fraction = float(message.get("fraction", job.fraction))
                job.stage = str(message.get("stage", ""))[:200]
                job.updated_at = _now_ms()
                if time.monotonic() - self._last_save >= SAVE_EVERY_S:
                    await asyncio.to_thread(self._save, job)
            elif message.get("event") in ("done", "error"):
                final = message
        code = await child.wait()
        await reading
        await asyncio.to_thread(clean_staging, out)
        if final is not None:
            job.files = [str(f) for f in final.get("files", [])]
            job.qc = {str(k): bool(v) for k, v in dict(final.get("qc", {})).items()}
        if code == 0:
            job.fraction = 1.0
            self._finish(job, "done", None)
        elif job.cancel_requested and job.error is None:
            self._finish(job, "cancelled", None)
        elif job.error is not None:
            self._finish(job, "failed", job.error)
        elif final is not None and final.get("event") == "error":
            error = {"code": str(final.get("code")), "message": str(final.get("message"))}
            self._finish(job, "cancelled" if error["code"] == "CANCELLED" else "failed", error)
        else:
            said = " ".join(tail) or f"exit status {code}"
            self._finish(job, "failed", {"code": "EXPORT_FAILED", "message": said[-300:]})

    async def _stderr_tail(self, stream: asyncio.StreamReader, tail: deque[str]) -> None:
        while line := await stream.readline():
            text = line.decode("utf-8", "replace").strip()
            if text.startswith("classroom export:") or "Error" in text:
                tail.append(text)

    async def _stop_child(self, child: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.wait(), CANCEL_GRACE_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)

    # --- job.json ----------------------------------------------------------------------------

    def _finish(self, job: ExportJob, state: State, error: dict[str, str] | None) -> None:
        job.state, job.error = state, error
        job.finished_at = job.updated_at = _now_ms()

    def _interrupted(self) -> dict[str, str]:
        return {
            "code": "INTERRUPTED",
            "message": "the server restarted during the export; start it again",
        }

    def _orphan(self, job: ExportJob) -> bool:
        if job.owner == self.owner:
            return False
        host, _, rest = job.owner.partition(":")
        pid_text = rest.partition(":")[0]
        if host == socket.gethostname() and pid_text.isdigit():
            pid = int(pid_text)
            if pid == os.getpid() or not _pid_alive(pid):
                return True
        return _now_ms() - job.updated_at > STALE_S * 1000

    def _read(self, class_id: str) -> ExportJob | None:
        path = self.root / class_id / JOB_FILE
        try:
            return ExportJob.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def _save(self, job: ExportJob) -> None:
        self._last_save = time.monotonic()
        folder = self.root / job.class_id
        try:
            folder.mkdir(parents=True, exist_ok=True)
            temp = folder / f".{JOB_FILE}.{secrets.token_hex(4)}"
            temp.write_text(json.dumps(asdict(job), ensure_ascii=False), encoding="utf-8")
            os.replace(temp, folder / JOB_FILE)
        except OSError as exc:
            # A full disk must not stop the queue: the job's state stays right in memory.
            logger.warning("could not save export job %s: %s", job.job_id, exc)
