"""The Takhti protocol in one place: event names, payload schemas and ``PROTOCOL_VERSION``.

Each feature declares its client->server events (``EVENTS``) and its server->client broadcasts
(``BROADCASTS``) in a submodule; this package gathers them. ``docs/protocol.md`` and
``docs/asyncapi.json`` are generated from here (``classroom docs``).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from classroom.errors import InvalidPayload, OutdatedClient
from classroom.protocol import audio, board, camera, core, lessons, polls, quizzes
from classroom.protocol.common import BroadcastSpec, EventSpec, Payload

# Bump on any change an older client cannot follow; a client that sends another version in its
# connect ``auth`` is refused with OUTDATED_CLIENT (the browser then reloads to get the new app).
PROTOCOL_VERSION = 1
NAMESPACE = "/"

# Transient server->client events that are not log entries.
SESSION_READY = "session_ready"
SESSION_ERROR = "session_error"

_FEATURES: tuple[ModuleType, ...] = (core, board, polls, quizzes, camera, audio, lessons)


def _collect() -> tuple[dict[str, EventSpec], dict[str, BroadcastSpec]]:
    events: dict[str, EventSpec] = {}
    broadcasts: dict[str, BroadcastSpec] = {}
    for module in _FEATURES:
        for spec in module.EVENTS:
            if spec.name in events:
                raise RuntimeError(f"event {spec.name!r} declared twice")
            events[spec.name] = spec
        for bspec in module.BROADCASTS:
            if bspec.name in broadcasts:
                raise RuntimeError(f"broadcast {bspec.name!r} declared twice")
            broadcasts[bspec.name] = bspec
    return events, broadcasts


EVENTS, BROADCASTS = _collect()


def check_client_version(auth: dict[str, Any]) -> None:
    """Refuse a connect ``auth`` whose ``protocol_version`` is not ours.

    A client that sends no version is accepted (clients written before the field existed):
    the check protects cached apps, which all send it.
    """
    version = auth.get("protocol_version")
    if version is None:
        return
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidPayload("protocol_version is a whole number", field="protocol_version")
    if version != PROTOCOL_VERSION:
        raise OutdatedClient(
            f"this app speaks protocol {version}, the server {PROTOCOL_VERSION}: reload the app",
            field="protocol_version",
        )


__all__ = [
    "BROADCASTS",
    "EVENTS",
    "NAMESPACE",
    "PROTOCOL_VERSION",
    "SESSION_ERROR",
    "SESSION_READY",
    "BroadcastSpec",
    "EventSpec",
    "Payload",
    "check_client_version",
]
