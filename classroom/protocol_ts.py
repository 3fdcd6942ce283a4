"""TypeScript types for the browser, generated from the protocol schemas.

``webclient/src/net/protocol.gen.ts`` holds ``PROTOCOL_VERSION``, the board size and limits, every
event name (client->server and server->client, and the broadcasts by feature), and an interface
per payload, ack and broadcast. The browser imports these instead of copying names and numbers;
``classroom docs --check`` fails when the file is stale.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from classroom.errors import error_classes
from classroom.protocol import BROADCASTS, EVENTS, NAMESPACE, PROTOCOL_VERSION
from classroom.protocol import audio as audio_protocol
from classroom.protocol import board as board_protocol
from classroom.protocol import camera as camera_protocol
from classroom.protocol import core as core_protocol
from classroom.protocol import polls as poll_protocol
from classroom.protocol import quizzes as quiz_protocol
from classroom.protocol.acks import ack_model
from classroom.protocol.snapshot import ClassSnapshotAck, PollTally

# Modules whose upper-case numeric constants (limits, defaults, the board size) are exported.
_CONSTANT_MODULES: tuple[ModuleType, ...] = (
    audio_protocol,
    board_protocol,
    camera_protocol,
    core_protocol,
    poll_protocol,
    quiz_protocol,
)
_CONSTANT_PREFIXES = ("BOARD_", "MAX_", "MIN_", "DEFAULT_", "HIGHLIGHTER_")


def _ts_literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class _Writer:
    """Turns pydantic JSON schemas into named TypeScript declarations (one per model)."""

    def __init__(self) -> None:
        self.declarations: dict[str, str] = {}
        self._schemas: dict[str, dict[str, Any]] = {}

    def add(self, model: type[BaseModel]) -> str:
        schema = model.model_json_schema(mode="validation", ref_template="{model}")
        for name, body in schema.pop("$defs", {}).items():
            self._declare(name, body)
        self._declare(model.__name__, schema)
        return model.__name__

    def _declare(self, name: str, schema: dict[str, Any]) -> None:
        if name in self._schemas:
            if self._schemas[name] != schema:
                raise RuntimeError(f"two different schemas are named {name!r}")
            return
        self._schemas[name] = schema
        doc = _doc(schema.get("description"), "")
        if schema.get("type") == "object" and schema.get("properties"):
            self.declarations[name] = f"{doc}export interface {name} {self._object(schema, '')}\n"
        else:
            self.declarations[name] = f"{doc}export type {name} = {self.type(schema, '')};\n"

    def _object(self, schema: dict[str, Any], indent: str) -> str:
        props: dict[str, Any] = schema.get("properties", {})
        if not props:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                return f"Record<string, {self.type(extra, indent)}>"
            return "Record<string, never>" if extra is False else "Record<string, unknown>"
        required = set(schema.get("required", []))
        inner = indent + "  "
        lines = ["{"]
        for field, body in props.items():
            lines.append(_doc(body.get("description"), inner).rstrip("\n"))
            optional = "" if field in required else "?"
            lines.append(f"{inner}{field}{optional}: {self.type(body, inner)};")
        lines.append(f"{indent}}}")
        return "\n".join(line for line in lines if line)

    def type(self, schema: dict[str, Any], indent: str) -> str:
        """The TypeScript type of one JSON schema."""
        if "$ref" in schema:
            return str(schema["$ref"])
        if "const" in schema:
            return _ts_literal(schema["const"])
        if "enum" in schema:
            return " | ".join(_ts_literal(value) for value in schema["enum"])
        for union in ("anyOf", "oneOf"):
            if union in schema:
                return " | ".join(self.type(alt, indent) for alt in schema[union])
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(self.type({**schema, "type": k}, indent) for k in kind)
        if kind == "string":
            return "string"
        if kind in ("integer", "number"):
            return "number"
        if kind == "boolean":
            return "boolean"
        if kind == "null":
            return "null"
        if kind == "array":
            if "prefixItems" in schema:
                items = ", ".join(self.type(item, indent) for item in schema["prefixItems"])
                return f"[{items}]"
            item = self.type(schema.get("items", {}), indent)
            return f"({item})[]" if " | " in item else f"{item}[]"
        if kind == "object":
            return self._object(schema, indent)
        return "unknown"


def _doc(text: str | None, indent: str) -> str:
    if not text:
        return ""
    lines = " ".join(text.split()).replace("*/", "* /")
    return f"{indent}/** {lines} */\n"


def _constants() -> dict[str, int | float]:
    found: dict[str, int | float] = {}
    for module in _CONSTANT_MODULES:
        for name, value in vars(module).items():
            if not name.startswith(_CONSTANT_PREFIXES) or not name.isupper():
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if found.setdefault(name, value) != value:
                raise RuntimeError(f"{name} differs between protocol modules")
    return dict(sorted(found.items()))


def typescript() -> str:
    """The whole generated ``protocol.gen.ts``."""
    writer = _Writer()
    client_rows = []
    for name, spec in sorted(EVENTS.items()):
        payload = writer.add(spec.payload)
        ack = writer.add(ack_model(spec))
        roles = " | ".join(_ts_literal(role) for role in sorted(spec.roles))
        client_rows.append(f"  {name}: {{ payload: {payload}; ack: {ack}; roles: {roles} }};")
    server_rows = []
    for name, bspec in sorted(BROADCASTS.items()):
        server_rows.append(f"  {name}: {writer.add(bspec.data)};")
    writer.add(ClassSnapshotAck)
    writer.add(PollTally)
    features: dict[str, list[str]] = {}
    for name, bspec in sorted(BROADCASTS.items()):
        features.setdefault(bspec.feature, []).append(name)
    constants = "\n".join(f"export const {k} = {v!r};" for k, v in _constants().items())
    out = [
        "// Generated from classroom/protocol/ by `classroom docs`; do not edit.",
        "// `classroom docs --check` (and the test suite) fails when this file is stale.",
        "/* eslint-disable */",
        "",
        f"export const PROTOCOL_VERSION = {PROTOCOL_VERSION};",
        f"export const NAMESPACE = {_ts_literal(NAMESPACE)};",
        "",
        constants,
        "",
        "/** Client->server events: payload, ok-ack fields (besides `ok`), who may send. */",
        "export interface ClientEvents {",
        *client_rows,
        "}",
        "export type ClientEventName = keyof ClientEvents;",
        "export const CLIENT_EVENTS: readonly ClientEventName[] = "
        + _ts_literal(sorted(EVENTS))
        + ";",
        "/** Writes keyed by a `client_id` the client makes once per request (a retry reuses"
        " it). */",
        "export const CLIENT_ID_EVENTS: readonly ClientEventName[] = "
        + _ts_literal(sorted(n for n, s in EVENTS.items() if "client_id" in s.key_fields))
        + ";",
        "",
        "/** Server->client events: the `data` of each (the log entry's, or the bare notice). */",
        "export interface ServerEvents {",
        *server_rows,
        "}",
        "export type ServerEventName = keyof ServerEvents;",
        "export const SERVER_EVENTS: readonly ServerEventName[] = "
        + _ts_literal(sorted(BROADCASTS))
        + ";",
        "/** Every error code the server may answer with (stable; the UI maps each to words). */",
        "export const ERROR_CODES = "
        + _ts_literal([cls.code for cls in error_classes()])
        + " as const;",
        "export type ErrorCode = (typeof ERROR_CODES)[number];",
        "",
        "/** Server events by the feature that folds them into its state. */",
        "export const FEATURE_EVENTS: Readonly<Record<string, readonly ServerEventName[]>> = "
        + _ts_literal(dict(sorted(features.items())))
        + ";",
        "",
        *(writer.declarations[name] for name in sorted(writer.declarations)),
    ]
    return "\n".join(out)
