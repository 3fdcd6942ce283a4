"""Writing export files so that a final name never holds a half-written file."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def part_name(final: Path) -> Path:
    """A temporary name beside ``final``: hidden, same folder (so the rename is atomic)."""
    return final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")


@contextlib.contextmanager
def final_file(final: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is fsynced and renamed to ``final``.

    On any exception (a full disk, a cancel) the temporary file is removed and ``final`` is
    left as it was.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = part_name(final)
    try:
        yield temp
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


@contextlib.contextmanager
def final_dir(final: Path) -> Iterator[Path]:
    """Like :func:`final_file` for a folder of files (an HLS ladder): renamed as a whole.

    An existing ``final`` folder is replaced only once the new one is complete.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = part_name(final)
    temp.mkdir()
    old = final.with_name(f".{final.name}.{secrets.token_hex(4)}.old")
    try:
        yield temp
        for path in temp.rglob("*"):
            if path.is_file():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        if final.exists():
            os.replace(final, old)
        os.replace(temp, final)
    finally:
        for leftover in (temp, old):
            if leftover.exists():
                _remove_tree(leftover)


def _remove_tree(path: Path) -> None:
    for child in sorted(path.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()
