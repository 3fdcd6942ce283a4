"""Storage backends behind one async interface: SQLite (embedded default) and Redis."""

from __future__ import annotations

from pathlib import Path

from classroom.storage.base import AppendResult, FeedListener, Store


def open_store(url: str, *, data_dir: Path) -> Store:
    """Create (not yet open) the store named by ``url``: ``sqlite:///PATH``, ``redis://...`` or ``redis+cluster://H:P,H:P``."""
    if url.startswith("sqlite:"):
        from classroom.storage.sqlite import SqliteStore

        path = url.removeprefix("sqlite://")
        if path.startswith("/") and path != "/":
            db_path = Path(path)
        elif path in ("", "/"):
            db_path = data_dir / "takhti.sqlite3"
        else:
            db_path = data_dir / path
        return SqliteStore(db_path)
    if url.startswith(("redis+cluster://", "rediss+cluster://")):
        from classroom.storage.cluster import RedisClusterStore

        return RedisClusterStore(url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from classroom.storage.redis import RedisStore

        return RedisStore(url)
    raise ValueError(
        f"unknown store URL {url!r}: use sqlite:///PATH redis://HOST:PORT/DB or redis+cluster://HOST:PORT,HOST:PORT"
    )


__all__ = ["AppendResult", "FeedListener", "Store", "open_store"]
