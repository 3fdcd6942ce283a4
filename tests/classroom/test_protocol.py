"""The protocol boundary: roles on every event, bad input of every kind, generated docs."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
import socketio
import websockets

from classroom import protocol_docs
from classroom.protocol import EVENTS
from tests.conftest import Running
from tests.support.client import Peer

# Written out by hand on purpose: a change to who may send what must change this table too.
EXPECTED_ROLES: dict[str, set[str]] = {
    "log_resume": {"teacher", "student", "board"},
    "class_snapshot": {"teacher", "student", "board"},
    "class_snapshot_piece": {"teacher", "student", "board"},
    "clock_sync": {"teacher", "student", "board"},
    "roster_get": {"teacher"},
    "hand_raise": {"student"},
    "hand_lower": {"teacher"},
    "class_end": {"teacher"},
    "stroke_start": {"teacher", "student"},
    "stroke_extend": {"teacher", "student"},
    "stroke_end": {"teacher", "student"},
    "board_add_shape": {"teacher", "student"},
    "board_add_text": {"teacher", "student"},
    "board_erase": {"teacher", "student"},
    "board_undo": {"teacher", "student"},
    "board_redo": {"teacher", "student"},
    "page_add": {"teacher"},
    "page_switch": {"teacher"},
    "page_reorder": {"teacher"},
    "page_delete": {"teacher"},
    "page_clear": {"teacher"},
    "page_set_background": {"teacher"},
    "board_allow_drawing": {"teacher"},
    "board_revoke_drawing": {"teacher"},
    "poll_create": {"teacher"},
    "poll_open": {"teacher"},
    "poll_close": {"teacher"},
    "poll_show_results": {"teacher"},
    "poll_hide_results": {"teacher"},
    "poll_vote": {"student"},
    "quiz_create": {"teacher"},
    "quiz_start": {"teacher"},
    "quiz_next": {"teacher"},
    "quiz_skip": {"teacher"},
    "quiz_end": {"teacher"},
    "quiz_answer": {"student"},
    "camera_snapshot": {"board"},
    "camera_keyframe": {"board"},
}

ROLES = ("teacher", "student", "board")


async def _three_roles(running: Running) -> tuple[dict[str, Peer], str]:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    student, _ = await running.student(str(cls["join_code"]), "Hina")
    device = await running.api.device(running.teacher_token, str(cls["class_id"]))
    board = Peer("board")
    await board.connect(running.url, {"token": device["token"]})
    await teacher.ok("board_allow_drawing", {"ink": "class"})
    return {"teacher": teacher, "student": student, "board": board}, str(cls["class_id"])


def test_every_event_has_a_row_in_the_role_table() -> None:
    assert set(EVENTS) == set(EXPECTED_ROLES)


async def test_role_matrix_every_event_by_every_role(running_unlimited: Running) -> None:
    peers, class_id = await _three_roles(running_unlimited)
    runtime = await running_unlimited.services.hub.get(class_id)
    for name in sorted(EVENTS):
        for role in ROLES:
            before = runtime.seq
            # The role gate runs before validation: an allowed role gets INVALID_PAYLOAD for a
            # probe payload, a forbidden one gets FORBIDDEN.
            probe = await peers[role].call(name, {"__probe__": 1})
            expected = "INVALID_PAYLOAD" if role in EXPECTED_ROLES[name] else "FORBIDDEN"
            assert probe["error"]["code"] == expected, (name, role, probe)
            if role not in EXPECTED_ROLES[name]:
                real = await peers[role].call(name, copy.deepcopy(EVENTS[name].example))
                assert real["error"]["code"] == "FORBIDDEN", (name, role, real)
            assert runtime.seq == before, f"{name} by {role} changed the log"
    for peer in peers.values():
        await peer.disconnect()


def _allowed_role(name: str) -> str:
    return next(role for role in ROLES if role in EXPECTED_ROLES[name])


def _wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float)):
        return "12"
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return {"not": "a list"}
    if isinstance(value, dict):
        return [1, 2]
    return {"unexpected": True}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _bad_payloads(example: dict[str, Any]) -> list[tuple[str, Any]]:
    bad: list[tuple[str, Any]] = [
        ("list", [example]),
        ("string", "hello"),
        ("number", 7),
        ("unknown field", {**example, "surprise": 1}),
        ("deep nesting", {**example, "deep": _nested(300)}),
    ]
    for key, value in example.items():
        rest = {k: v for k, v in example.items() if k != key}
        bad.append((f"missing {key}", rest))
        bad.append((f"wrong type {key}", {**rest, key: _wrong_type(value)}))
        bad.append((f"1 MB string {key}", {**rest, key: "x" * 1_000_000}))
        bad.append((f"NaN {key}", {**rest, key: math.nan}))
        bad.append((f"Infinity {key}", {**rest, key: math.inf}))
        bad.append((f"nested {key}", {**rest, key: _nested(300)}))
        if isinstance(value, list) and value and isinstance(value[0], list):
            poisoned = copy.deepcopy(value)
            poisoned[0][0] = math.nan
            bad.append((f"NaN inside {key}", {**rest, key: poisoned}))
    return bad


@pytest.mark.parametrize("name", sorted(EXPECTED_ROLES))
async def test_bad_input_is_refused_and_changes_nothing(
    running_unlimited: Running, name: str
) -> None:
    peers, class_id = await _three_roles(running_unlimited)
    runtime = await running_unlimited.services.hub.get(class_id)
    sender = peers[_allowed_role(name)]
    bystander = peers["board"] if sender is not peers["board"] else peers["teacher"]
    snapshot_before = await peers["teacher"].ok("class_snapshot")
    for label, payload in _bad_payloads(EVENTS[name].example):
        # Payloads whose every field is optional stay valid without a field: skip those cases.
        if label.startswith("missing ") and _is_optional(name, label.removeprefix("missing ")):
            continue
        ack = await sender.call(name, payload)
        assert ack["ok"] is False, (label, ack)
        assert ack["error"]["code"] in {"INVALID_PAYLOAD", "PAYLOAD_TOO_LARGE"}, (label, ack)
        assert isinstance(ack["error"]["message"], str) and "Traceback" not in json.dumps(ack)
        assert len(json.dumps(ack)) < 2000, "the error must not echo the input back"
        assert runtime.seq == snapshot_before["seq"], f"{label} changed the log"
    # The server keeps serving everyone, and the state is exactly what it was.
    assert (await bystander.ok("clock_sync", {"client_time_ms": 1.0}))["ok"]
    snapshot_after = await peers["teacher"].ok("class_snapshot")
    assert snapshot_after["state"] == snapshot_before["state"]
    for peer in peers.values():
        await peer.disconnect()


def _is_optional(name: str, field: str) -> bool:
    return field not in EVENTS[name].payload.model_json_schema().get("required", [])


async def test_unknown_event_and_no_class(running: Running) -> None:
    cls = await running.new_class()
    student, _ = await running.student(str(cls["join_code"]))
    ack = await student.call("drop_table", {"x": 1})
    assert ack["error"]["code"] == "UNKNOWN_EVENT"
    # A token for a class that does not exist is refused at connect, with a code.
    for auth, code in [
        ({"token": running.teacher_token, "class_id": "c_doesnotexist"}, "NOT_FOUND"),
        ({"token": "forged.token.value"}, "UNAUTHORIZED"),
        ({"token": running.teacher_token}, "INVALID_PAYLOAD"),
        ("not a dict", "UNAUTHORIZED"),
    ]:
        stranger = Peer("stranger")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await stranger.connect(running.url, auth)  # type: ignore[arg-type]
        assert stranger.connect_errors, auth
        assert stranger.connect_errors[-1]["data"]["code"] == code, stranger.connect_errors
    assert (await student.ok("clock_sync", {"client_time_ms": 5.0}))["client_time_ms"] == 5.0
    await student.disconnect()


async def test_undecodable_json_gets_an_error_ack_and_the_connection_lives(
    running_sqlite: Running,
) -> None:
    """A raw Socket.IO frame nested 100,000 deep (no JSON library would encode it)."""
    cls = await running_sqlite.new_class()
    joined = await running_sqlite.api.join(str(cls["join_code"]), "Raw")
    ws_url = running_sqlite.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(ws_url) as ws:
        assert str(await ws.recv()).startswith("0")  # engine.io open
        await ws.send("40" + json.dumps({"token": joined["token"]}))
        assert str(await ws.recv()).startswith("40")  # nothing comes before CONNECT
        depth = 100_000
        await ws.send('421["clock_sync",' + "[" * depth + "]" * depth + "]")
        await ws.send('422["clock_sync",{"client_time_ms": NaN]')
        await ws.send('423["clock_sync",{"client_time_ms": 9}]')
        answers: dict[str, Any] = {}
        while len(answers) < 3:
            frame = str(await ws.recv())
            if frame.startswith("43"):
                ack_id = frame[2]
                answers[ack_id] = json.loads(frame[3:])[0]
        assert answers["1"]["error"]["code"] == "INVALID_PAYLOAD"
        assert answers["2"]["error"]["code"] == "INVALID_PAYLOAD"
        assert answers["3"] == {
            "ok": True,
            "client_time_ms": 9,
            "server_time_ms": answers["3"]["server_time_ms"],
        }


def test_committed_protocol_docs_match_the_schemas() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    for name, text in protocol_docs.rendered().items():
        on_disk = (docs / name).read_text(encoding="utf-8")
        assert on_disk == text, f"docs/{name} is stale: run `classroom docs`"


def test_asyncapi_document_lists_every_event_with_its_schema() -> None:
    doc = protocol_docs.asyncapi()
    messages = doc["channels"]["class"]["messages"]
    for name, spec in EVENTS.items():
        assert messages[name]["payload"] == spec.payload.model_json_schema(mode="validation")
        assert set(messages[name]["x-roles"]) == EXPECTED_ROLES[name]
