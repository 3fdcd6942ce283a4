"""Server settings: one frozen dataclass, read from the environment, overridable by CLI flags."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8080

# What TAKHTI_TRUST_PROXY=1|true|yes|private means: one proxy in front, on this host or on a
# private network (docker-compose's nginx). Its peers may send X-Forwarded-For; only the last
# entry (the address that proxy saw) is believed.
PRIVATE = "private"
PRIVATE_NETWORKS = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)


def parse_trusted_proxies(raw: str) -> tuple[str, ...]:
    """``TAKHTI_TRUST_PROXY``: a comma-separated list of proxy addresses/CIDRs, or a boolean.

    ``1``/``true``/``yes`` keep their old meaning of "behind one proxy" (``private``: a proxy on
    this host or a private network, believing only the last X-Forwarded-For entry);
    ``0``/``false``/``no`` or empty trust nobody. A malformed entry raises ``ValueError`` at
    start rather than silently trusting nobody (or everybody).
    """
    value = raw.strip().lower()
    if value in {"1", "true", "yes", PRIVATE}:
        return (PRIVATE,)
    if value in {"", "0", "false", "no"}:
        return ()
    networks = []
    for entry in raw.split(","):
        entry = entry.strip()
        if entry.lower() == PRIVATE:
            networks.append(PRIVATE)
        elif entry:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
    return tuple(networks)


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
    # Reverse proxies (docker-compose's nginx) whose X-Forwarded-For is believed, as addresses
    # or CIDR networks: the client address is the rightmost X-Forwarded-For entry that is not
    # one of them, so lock-outs apply per tablet and not to the proxy. Requests from any other
    # peer are taken at their socket address whatever headers they carry (a forged header then
    # changes nothing). TAKHTI_TRUST_PROXY=1 (the old boolean) becomes ("private",): one proxy
    # on the loopback or a private network (PRIVATE_NETWORKS), see parse_trusted_proxies.
    trusted_proxies: tuple[str, ...] = ()
    # Live connections one identity (a student, a board device, a teacher in one class) may
    # hold in this process; a newer one disconnects the oldest. A student's tablet needs one,
    # two while a page reloads; 3 leaves room and stops one token from opening thousands.
    max_connections_per_token: int = 3
    # Live connections from one client address. Tablets on a school LAN each have their own
    # address; behind a school's NAT a hosted server sees one address for the whole school
    # (40 tablets a class, several classes at once, each tablet up to two while reloading):
    # 300 covers a large school behind one address and stops one machine from taking the
    # process's file descriptors.
    max_connections_per_address: int = 300
    # Per-connection event rate limits (classroom.ratelimit.RATES); off only in tests that flood.
    rate_limits: bool = True
    # An HTTP connection with no request in progress (idle keep-alive, or headers that never
    # finish) is closed after this many seconds; a request body must arrive within
    # request_body_timeout_s (classroom.serving).
    http_idle_timeout_s: float = 10.0
    request_body_timeout_s: float = 30.0
    # The school's name, shown (read-only) with every recorded lesson's details.
    school: str = ""
    # Practice classes' simulated students wait this many times as long as real children
    # (below 1 only for demos and tests: env TAKHTI_PRACTICE_TIME_SCALE).
    practice_time_scale: float = 1.0

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
            values["trusted_proxies"] = parse_trusted_proxies(env["TAKHTI_TRUST_PROXY"])
        if "TAKHTI_MAX_CONNECTIONS_PER_ADDRESS" in env:
            values["max_connections_per_address"] = int(env["TAKHTI_MAX_CONNECTIONS_PER_ADDRESS"])
        if "TAKHTI_HTTP_IDLE_TIMEOUT_S" in env:
            values["http_idle_timeout_s"] = float(env["TAKHTI_HTTP_IDLE_TIMEOUT_S"])
        if "TAKHTI_REQUEST_BODY_TIMEOUT_S" in env:
            values["request_body_timeout_s"] = float(env["TAKHTI_REQUEST_BODY_TIMEOUT_S"])
        if "TAKHTI_SCHOOL" in env:
            values["school"] = " ".join(env["TAKHTI_SCHOOL"].split())
        if "TAKHTI_PRACTICE_TIME_SCALE" in env:
            values["practice_time_scale"] = float(env["TAKHTI_PRACTICE_TIME_SCALE"])
        if "TAKHTI_LOG_LEVEL" in env:
            values["log_level"] = env["TAKHTI_LOG_LEVEL"].upper()
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given fields replaced (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})
