"""Practice classes: the server runs ``classroom simulate`` for a class, as a child process.

One simulator per practice class, never inside the server's event loop: a separate Python
process started with ``asyncio.create_subprocess_exec`` whose standard input is its control
channel (``{"students": N}``, ``{"profile": P}``, ``{"stop": true}``; it stops by itself when
the class ends or its standard input closes, so a server that dies takes its students along).
Stopped when the class ends (``stop``), and all of them when the server stops
(``stop_all``, an app cleanup hook).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from classroom.simulate import TEACHER_TOKEN_ENV

log = logging.getLogger(__name__)

MAX_STUDENTS = 60
DEFAULT_STUDENTS = 25
PROFILES = ("calm", "busy", "weak-link")


@dataclass
class Run:
    class_id: str
    students: int
    profile: str
    proc: asyncio.subprocess.Process
    summary: dict[str, Any] | None = None
    reader: asyncio.Task[None] | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.proc.returncode is None

    def state(self) -> dict[str, Any]:
        summary = self.summary or {}
        return {
            "running": self.running,
            "students": self.students,
            "profile": self.profile,
            "error_acks": summary.get("error_acks"),
            "votes": summary.get("votes"),
            "answers": summary.get("answers"),
        }


class Practices:
    """The simulators this server runs, by class."""

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}

    async def start(
        self,
        class_id: str,
        *,
        server: str,
        code: str,
        students: int,
        profile: str,
        teacher_token: str,
        time_scale: float = 1.0,
    ) -> Run:
        run = self.runs.get(class_id)
        if run is not None and run.running:
            await self.change(class_id, students=students, profile=profile)
            return run
        argv = [
            sys.executable, "-m", "classroom.cli", "simulate", "--server", server,
            "--code", code, "--students", str(students), "--profile", profile,
            "--seed", class_id, "--control", "--time-scale", str(time_scale),
        ]  # fmt: skip
        # The token goes by the environment, not the command line (``ps`` shows that).
        env = {**os.environ, TEACHER_TOKEN_ENV: teacher_token}
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
        )
        run = Run(class_id, students, profile, proc)
        run.reader = asyncio.create_task(self._read(run))
        self.runs[class_id] = run
        log.info("practice class %s: %d simulated students (%s)", class_id, students, profile)
        return run

    async def _read(self, run: Run) -> None:
        assert run.proc.stdout is not None
        async for raw in run.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    run.summary = json.loads(line)
        await run.proc.wait()

    async def _send(self, run: Run, order: dict[str, Any]) -> None:
        stdin = run.proc.stdin
        if stdin is None or stdin.is_closing() or not run.running:
            return
        with contextlib.suppress(ConnectionError):
            stdin.write((json.dumps(order) + "\n").encode())
            await stdin.drain()

    async def change(
        self,
        class_id: str,
        *,
        students: int | None = None,
        profile: str | None = None,
        drop: int | None = None,
        away_s: float = 5.0,
    ) -> Run | None:
        """Change a running class's students; ``drop`` (from 1) takes one off the Wi-Fi."""
        run = self.runs.get(class_id)
        if run is None or not run.running:
            return run
        order: dict[str, Any] = {}
        if students is not None:
            order["students"] = run.students = students
        if profile is not None:
            order["profile"] = run.profile = profile
        if drop is not None and drop <= run.students:
            order["drop"], order["away_s"] = drop - 1, away_s
        if order:
            await self._send(run, order)
        return run

    async def stop(self, class_id: str, *, wait_s: float = 5.0) -> None:
        run = self.runs.get(class_id)
        if run is None:
            return
        if run.running:
            await self._send(run, {"stop": True})
            try:
                await asyncio.wait_for(run.proc.wait(), wait_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    run.proc.kill()
                await run.proc.wait()
        if run.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(run.reader, 2)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(c) for c in list(self.runs)), return_exceptions=True)


PRACTICES = web.AppKey("practices", Practices)


def install(app: web.Application) -> None:
    """Give ``app`` its simulators and stop them all when it stops."""
    app[PRACTICES] = Practices()

    async def cleanup(app: web.Application) -> None:
        await app[PRACTICES].stop_all()

    app.on_shutdown.append(cleanup)
