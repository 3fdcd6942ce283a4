"""Server settings: one frozen dataclass, read from the environment, overridable by CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8080


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to start. Nothing here needs changing for a school."""

    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    # sqlite:///ABSOLUTE/PATH, sqlite:///  (= DATA_DIR/takhti.sqlite3) or redis://HOST:PORT/DB
    store_url: str = "sqlite:///"
    data_dir: Path = Path("data")
    # Base of join links and QR codes; by default taken from the teacher's own request.
    public_url: str | None = None
    # Largest Socket.IO message accepted (bytes); payload schemas bound each field far below.
    max_message_bytes: int = 2_000_000
    # A class with no connected client is unloaded from memory after this many seconds.
    idle_unload_s: float = 60.0
    log_level: str = "INFO"
    # Behind a reverse proxy (docker-compose's nginx): take client addresses from the last
    # X-Forwarded-For entry, so lock-outs apply per tablet and not to the proxy.
    trust_proxy: bool = False
    # Per-connection event rate limits (classroom.ratelimit.RATES); off only in tests that flood.
    rate_limits: bool = True
    # An HTTP connection with no request in progress (idle keep-alive, or headers that never
    # finish) is closed after this many seconds; a request body must arrive within
    # request_body_timeout_s (classroom.serving).
    http_idle_timeout_s: float = 10.0
    request_body_timeout_s: float = 30.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if "TAKHTI_HOST" in env:
            values["host"] = env["TAKHTI_HOST"]
        if "TAKHTI_PORT" in env:
            values["port"] = int(env["TAKHTI_PORT"])
        if "TAKHTI_STORE" in env:
            values["store_url"] = env["TAKHTI_STORE"]
        if "TAKHTI_DATA_DIR" in env:
            values["data_dir"] = Path(env["TAKHTI_DATA_DIR"])
        if "TAKHTI_PUBLIC_URL" in env:
            values["public_url"] = env["TAKHTI_PUBLIC_URL"].rstrip("/")
        if "TAKHTI_TRUST_PROXY" in env:
            values["trust_proxy"] = env["TAKHTI_TRUST_PROXY"].lower() in {"1", "true", "yes"}
        if "TAKHTI_HTTP_IDLE_TIMEOUT_S" in env:
            values["http_idle_timeout_s"] = float(env["TAKHTI_HTTP_IDLE_TIMEOUT_S"])
        if "TAKHTI_REQUEST_BODY_TIMEOUT_S" in env:
            values["request_body_timeout_s"] = float(env["TAKHTI_REQUEST_BODY_TIMEOUT_S"])
        if "TAKHTI_LOG_LEVEL" in env:
            values["log_level"] = env["TAKHTI_LOG_LEVEL"].upper()
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given fields replaced (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})
