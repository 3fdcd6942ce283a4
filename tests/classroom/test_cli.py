"""The `classroom` command as an administrator uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from classroom.auth import verify_password
from classroom.storage.sqlite import SqliteStore


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "classroom.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["teacher"],
        ["teacher", "add"],
        ["teacher", "passwd"],
        ["lesson"],
        ["lesson", "audio"],
        ["export"],
        ["docs"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: classroom")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--port", "99999"], "outside 1-65535"),
        (["serve", "--port", "eighty"], "is not a port number"),
        (["serve", "--store", "mysql://x"], "use sqlite:///PATH"),
        (["teacher", "add", "Bad Name!"], "teacher name may hold only"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_flags_get_a_clear_error(args: list[str], message: str) -> None:
    result = run_cli(*args, stdin="whatever-password\n")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


async def test_teacher_add_reads_the_password_from_stdin_and_hashes_it(tmp_path: Path) -> None:
    store_url = f"sqlite://{tmp_path / 'school.db'}"
    added = run_cli("teacher", "add", "amina", "--store", store_url, stdin="long-secret-1\n")
    assert added.returncode == 0, added.stderr
    again = run_cli("teacher", "add", "amina", "--store", store_url, stdin="long-secret-2\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    short = run_cli("teacher", "add", "bilal", "--store", store_url, stdin="short\n")
    assert short.returncode == 2 and "at least 8" in short.stderr
    changed = run_cli("teacher", "passwd", "amina", "--store", store_url, stdin="new-secret-3\n")
    assert changed.returncode == 0, changed.stderr

    store = SqliteStore(tmp_path / "school.db")
    await store.open()
    try:
        teacher = await store.get_teacher("amina")
        assert teacher is not None and verify_password("new-secret-3", teacher.password_hash)
        assert "new-secret-3" not in teacher.password_hash
        assert await store.get_teacher("bilal") is None
    finally:
        await store.close()


def test_docs_check_passes_on_the_committed_docs() -> None:
    root = Path(__file__).resolve().parents[2]
    result = run_cli("docs", "--check", "--out-dir", str(root / "docs"))
    assert result.returncode == 0, result.stderr
