"""Start and stop real processes: redis-server and `classroom serve`."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need_binary(name: str) -> str:
    """The path of a required binary; in CI a missing one fails instead of skipping."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (run .ci/run or apt-get install it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Block until something accepts connections on ``port`` (or the process died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)  # readiness poll of an external process, not test synchronisation
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


class RedisServer:
    """A redis-server of our own with AOF fsync on every write, on a free port."""

    def __init__(self, data_dir: Path) -> None:
        self.binary = need_binary("redis-server")
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.data_dir),
                "--protected-mode",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


class ServerProcess:
    """`classroom serve` as a real subprocess."""

    def __init__(
        self,
        store_url: str,
        data_dir: Path,
        port: int | None = None,
        *,
        env: dict[str, str] | None = None,
        open_files: int | tuple[int, int] | None = None,
    ) -> None:
        self.store_url = store_url
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = env or {}
        # RLIMIT_NOFILE of the server process: (soft, hard), or one number for both.
        self.open_files = (open_files, open_files) if isinstance(open_files, int) else open_files
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TAKHTI_LOG_LEVEL": "WARNING", **self.env}
        open_files = self.open_files

        def limit_open_files() -> None:
            if open_files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, open_files)

        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "classroom.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--store",
                    self.store_url,
                    "--data-dir",
                    str(self.data_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=limit_open_files if open_files is not None else None,
            )
        wait_for_port(self.port, self.proc)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def add_teacher(store_url: str, data_dir: Path, name: str, password: str) -> None:
    """`classroom teacher add NAME` with the password on stdin, as an admin would."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "classroom.cli",
            "teacher",
            "add",
            name,
            "--store",
            store_url,
            "--data-dir",
            str(data_dir),
        ],
        input=f"{password}\n".encode(),
        check=True,
        capture_output=True,
        timeout=60,
    )
