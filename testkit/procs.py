"""Start and stop real processes: redis-server, `classroom serve` and `classroom teacher add`."""

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

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need_binary(name: str) -> str:
    """The path of a required binary; in CI a missing one fails instead of skipping."""
    import pytest  # only tests skip; a benchmark run needs no pytest to import the kit

    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (run .ci/run or apt-get install it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Block until something accepts connections on ``port`` (or the process died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)  # readiness poll of an external process, not test synchronisation
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


class _Child:
    """A child process the test owns: stopped politely, or killed with SIGKILL."""

    proc: subprocess.Popen[bytes] | None = None
    stop_timeout_s = 10.0

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
                self.proc.wait(self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(self.stop_timeout_s)
        self.proc = None


def durable_redis_argv(binary: str, port: int, data_dir: Path) -> list[str]:
    """A redis-server on 127.0.0.1:``port`` that keeps everything in an AOF fsynced on every
    write (no RDB snapshots), in ``data_dir``."""
    return [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        str(data_dir),
        "--protected-mode",
        "no",
        "--loglevel",
        "warning",
    ]


class RedisServer(_Child):
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
            durable_redis_argv(self.binary, self.port, self.data_dir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc)


def serve_argv(
    port: int, data_dir: Path, *, store_url: str | None = None, entry: list[str] | None = None
) -> list[str]:
    """``classroom serve`` on ``port``; the store defaults to a SQLite file in ``data_dir``.

    ``entry`` replaces ``-m classroom.cli`` (a benchmark's wrapper script around the CLI).
    """
    store = store_url or f"sqlite://{data_dir / 'takhti.sqlite3'}"
    return [
        sys.executable,
        *(entry or ["-m", "classroom.cli"]),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--store",
        store,
        "--data-dir",
        str(data_dir),
    ]


class CommandServer(_Child):
    """A server subprocess run from ``argv``, listening on ``port``, its output in ``log_path``."""

    stop_timeout_s = 15.0

    def __init__(
        self,
        argv: list[str],
        port: int,
        log_path: Path,
        env: dict[str, str] | None = None,
        open_files: int | tuple[int, int] | None = None,
    ) -> None:
        self.argv = argv
        self.port = port
        self.log_path = log_path
        self.extra_env = env or {}
        # RLIMIT_NOFILE of the server process: (soft, hard), or one number for both.
        self.open_files = (open_files, open_files) if isinstance(open_files, int) else open_files
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("not started")
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TAKHTI_LOG_LEVEL": "WARNING"}
        env.update(self.extra_env)
        # The repo root first, so a child runs this checkout's code (and can import the kit).
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        open_files = self.open_files

        def limit_open_files() -> None:
            if open_files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, open_files)

        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
                preexec_fn=limit_open_files if open_files is not None else None,
            )
        wait_for_port(self.port, self.proc, timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class ServerProcess(CommandServer):
    """`classroom serve` as a real subprocess on ``store_url``, with its data in ``data_dir``."""

    def __init__(
        self,
        store_url: str,
        data_dir: Path,
        port: int | None = None,
        *,
        env: dict[str, str] | None = None,
        open_files: int | tuple[int, int] | None = None,
    ) -> None:
        port = port or free_port()
        super().__init__(
            serve_argv(port, data_dir, store_url=store_url),
            port,
            data_dir / f"server-{port}.log",
            env=env,
            open_files=open_files,
        )
        self.store_url = store_url
        self.data_dir = data_dir


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


def _free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class RedisCluster:
    """A real Redis Cluster: 3 masters and 3 replicas, AOF fsync on every write, on free ports.

    Made with ``redis-cli --cluster create --cluster-replicas 1``; ``start`` returns when every
    node says ``cluster_state:ok`` and every master has its replica's link up (so ``WAIT 1``
    can succeed). ``node_timeout_ms`` is small so a killed master's replica takes over in
    about two seconds.
    """

    def __init__(self, data_dir: Path, *, nodes: int = 6, node_timeout_ms: int = 1000) -> None:
        self.binary = need_binary("redis-server")
        self.cli = need_binary("redis-cli")
        self.data_dir = data_dir
        self.node_timeout_ms = node_timeout_ms
        self.ports = [_free_cluster_port() for _ in range(nodes)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start_node(self, port: int) -> None:
        node_dir = self.data_dir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        self.procs[port] = subprocess.Popen(
            [
                *durable_redis_argv(self.binary, port, node_dir),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(node_dir / "nodes.conf"),
                "--cluster-node-timeout",
                str(self.node_timeout_ms),
                # A replica may always take over (this is about speed, not old data: WAIT
                # made sure it has every acknowledged write).
                "--cluster-replica-validity-factor",
                "0",
                # The other masters' classes keep working while one shard fails over.
                "--cluster-require-full-coverage",
                "no",
                # A replica's first full sync starts at once (the default waits 5 s).
                "--repl-diskless-sync-delay",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(port, self.procs[port])

    def start(self, timeout: float = 30.0) -> None:
        for port in self.ports:
            self.start_node(port)
        subprocess.run(
            [
                self.cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        self.wait_healthy(timeout)

    def command(self, port: int, *args: str) -> str:
        """One redis-cli command against one node; its reply as text."""
        done = subprocess.run(
            [self.cli, "-p", str(port), *args], capture_output=True, timeout=10, check=True
        )
        return done.stdout.decode()

    def _info(self, port: int, *args: str) -> dict[str, str]:
        fields: dict[str, str] = {}
        for line in self.command(port, *args).splitlines():
            key, sep, value = line.strip().partition(":")
            if sep:
                fields[key] = value
        return fields

    def masters(self) -> list[int]:
        return [p for p in self.alive() if self._info(p, "info", "replication")["role"] == "master"]

    def alive(self) -> list[int]:
        return [p for p, proc in self.procs.items() if proc.poll() is None]

    def wait_healthy(self, timeout: float = 30.0, *, masters: int = 3) -> None:
        """Until every live node says the cluster is ok and ``masters`` masters have a replica."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(subprocess.SubprocessError, KeyError):
                states = [self._info(p, "cluster", "info")["cluster_state"] for p in self.alive()]
                replicated = [
                    p
                    for p in self.alive()
                    if (info := self._info(p, "info", "replication"))["role"] == "master"
                    and "state=online" in info.get("slave0", "")
                    and int(info.get("connected_slaves", "0")) >= 1
                ]
                if all(s == "ok" for s in states) and len(replicated) >= masters:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("the Redis Cluster did not become healthy")
            time.sleep(0.05)  # readiness poll of external processes, not test synchronisation

    def owner_of(self, key: str) -> int:
        """The port of the master that holds ``key``'s slot."""
        slot = int(self.command(self.alive()[0], "cluster", "keyslot", key).strip())
        for port in self.masters():
            for line in self.command(port, "cluster", "nodes").splitlines():
                parts = line.split()
                if "myself" not in parts[2]:
                    continue
                for span in parts[8:]:
                    low, _, high = span.partition("-")
                    if low.isdigit() and int(low) <= slot <= int(high or low):
                        return port
        raise LookupError(f"no master holds slot {slot}")

    def kill(self, port: int) -> None:
        """SIGKILL one node."""
        proc = self.procs[port]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
