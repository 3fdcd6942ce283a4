"""The outside client (tests/outside/client.mjs, written from docs/ alone) against a real server.

The client plays a lesson and attacks every input as a curious student would; it exits 1 on any
break of the published contract and prints its findings (where the docs say too little or
something else than the server). Here it runs against the server on a real socket, over SQLite
and over Redis, and the server must not log an error while it does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from classroom.auth import hash_password
from classroom.classes import TeacherRecord
from testkit.procs import need_binary
from tests.conftest import Running

CLIENT = Path(__file__).with_name("client.mjs")
SOCKET_IO_CLIENT = Path(__file__).resolve().parents[2] / "webclient/node_modules/socket.io-client"
PASSWORD = "outside-pass-7"


async def test_the_outside_client_finds_the_protocol_as_documented(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    node = need_binary("node")
    if not SOCKET_IO_CLIENT.exists():
        pytest.skip("webclient/node_modules is missing (npm ci in webclient/)")
    name = f"outside-{time.monotonic_ns()}"
    await running.services.store.add_teacher(TeacherRecord(name, hash_password(PASSWORD), 0))
    caplog.set_level(logging.WARNING)
    proc = await asyncio.create_subprocess_exec(
        node,
        str(CLIENT),
        running.url,
        name,
        PASSWORD,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    report = out.decode(errors="replace")
    print(report)  # the findings, for `pytest -s` / `-rP`
    broken = [line for line in report.splitlines() if line.startswith("FAIL")]
    assert proc.returncode == 0, "\n".join(broken) or report[-3000:]
    assert '"fails":0' in report.splitlines()[-1]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]
