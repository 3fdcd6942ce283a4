"""The Takhti protocol in one place: event names, payload schemas and ``PROTOCOL_VERSION``.

Each feature declares its client->server events (``EVENTS``) and its server->client broadcasts
(``BROADCASTS``) in a submodule; this package gathers them. ``docs/protocol.md`` and
``docs/asyncapi.json`` are generated from here (``classroom docs``).
"""

from __future__ import annotations

from types import ModuleType

from classroom.protocol import board, camera, core, polls, quizzes
from classroom.protocol.common import BroadcastSpec, EventSpec, Payload

PROTOCOL_VERSION = 1
NAMESPACE = "/"

# Transient server->client events that are not log entries.
SESSION_READY = "session_ready"
SESSION_ERROR = "session_error"

_FEATURES: tuple[ModuleType, ...] = (core, board, polls, quizzes, camera)


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
]
