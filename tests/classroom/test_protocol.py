"""The protocol boundary: roles on every event, bad input of every kind, generated docs."""

from __future__ import annotations

import copy
import io
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest
import socketio
import websockets
import yaml
from PIL import Image
from pydantic import BaseModel, ValidationError

from boardclient.audio import encode_opus
from classroom import protocol_docs, protocol_ts, quiz_import
from classroom.app import create_app
from classroom.auth import hash_password
from classroom.classes import TeacherRecord
from classroom.protocol import BROADCASTS, EVENTS, PROTOCOL_VERSION
from classroom.protocol.acks import ack_model
from classroom.protocol.board import BOARD_HEIGHT, BOARD_WIDTH
from classroom.protocol.http import HTTP_ROUTES, ErrorDetail, ErrorResponse, HttpRoute
from classroom.protocol.quizzes import QuizCreate
from classroom.protocol.snapshot import PollTally
from classroom.settings import Settings
from testkit.audio import beeps
from testkit.client import Peer
from tests.conftest import Running

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
    "quiz_rename": {"teacher"},
    "student_rename": {"teacher"},
    "student_remove": {"teacher"},
    "quiz_end": {"teacher"},
    "quiz_answer": {"student"},
    "camera_snapshot": {"board"},
    "camera_keyframe": {"board"},
    "lesson_details_update": {"teacher"},
    "lesson_share": {"teacher"},
    "lesson_publish": {"teacher"},
    "audio_segment": {"board"},
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
            probe = await peers[role].call(name, {"__probe__": 1}, fill=False)
            expected = "INVALID_PAYLOAD" if role in EXPECTED_ROLES[name] else "FORBIDDEN"
            assert probe["error"]["code"] == expected, (name, role, probe)
            if role not in EXPECTED_ROLES[name]:
                # Binary from anyone but the board closes the connection (test_transport.py).
                example = {
                    k: "binary" if isinstance(v, bytes) else v
                    for k, v in copy.deepcopy(EVENTS[name].example).items()
                }
                real = await peers[role].call(name, example)
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
        ack = await sender.call(name, payload, fill=False)
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


ROOT = Path(__file__).resolve().parents[2]


def test_committed_protocol_docs_match_the_schemas() -> None:
    rendered = protocol_docs.rendered()
    assert {"docs/protocol.md", "docs/openapi.json", protocol_docs.TS_PATH} <= set(rendered)
    for name, text in rendered.items():
        on_disk = (ROOT / name).read_text(encoding="utf-8")
        assert on_disk == text, f"{name} is stale: run `classroom docs`"


def test_docs_check_fails_on_a_stale_file_and_names_it(tmp_path: Path) -> None:
    ts_out = tmp_path / "protocol.gen.ts"
    assert protocol_docs.main(tmp_path, check=False, ts_out=ts_out) == 0
    assert protocol_docs.main(tmp_path, check=True, ts_out=ts_out) == 0
    ts_out.write_text(ts_out.read_text().replace("BOARD_WIDTH = 1920", "BOARD_WIDTH = 1280"))
    assert protocol_docs.main(tmp_path, check=True, ts_out=ts_out) == 1


def test_asyncapi_document_lists_every_event_with_its_schema() -> None:
    doc = protocol_docs.asyncapi()
    messages = doc["channels"]["class"]["messages"]
    for name, spec in EVENTS.items():
        assert messages[name]["payload"] == spec.payload.model_json_schema(mode="validation")
        assert set(messages[name]["x-roles"]) == EXPECTED_ROLES[name]


# --- the generated TypeScript -------------------------------------------------------------------


def test_typescript_types_name_every_event_and_the_board_size() -> None:
    ts = protocol_ts.typescript()
    assert f"export const PROTOCOL_VERSION = {PROTOCOL_VERSION};" in ts
    assert f"export const BOARD_WIDTH = {BOARD_WIDTH};" in ts
    assert f"export const BOARD_HEIGHT = {BOARD_HEIGHT};" in ts
    for name, spec in EVENTS.items():
        assert f"  {name}: {{ payload: {spec.payload.__name__}; " in ts, name
        assert f"export interface {spec.payload.__name__} " in ts or (
            f"export type {spec.payload.__name__} = " in ts
        )
    for name, bspec in BROADCASTS.items():
        assert f"  {name}: {bspec.data.__name__};" in ts, name
    # A required field is required in TypeScript, a defaulted one optional.
    start = ts[ts.index("export interface StrokeStart {") :]
    start = start[: start.index("\n}")]
    assert "  stroke_id: string;" in start
    assert "  points?: [number, number, number, number][];" in start


def test_browser_code_takes_event_names_and_board_size_from_the_generated_file() -> None:
    """No hand-copied board size or event lists left in the browser app."""
    src = ROOT / "webclient" / "src"
    offenders = []
    for path in src.rglob("*.ts"):
        if path.name.endswith((".gen.ts", ".test.ts")):
            continue
        text = path.read_text(encoding="utf-8")
        if "= 1920" in text or "= 1080" in text:
            offenders.append(f"{path.name}: board size")
        if '"stroke_started",' in text or '"poll_opened",' in text or '"quiz_started",' in text:
            offenders.append(f"{path.name}: event list")
    assert offenders == []


# --- protocol version ---------------------------------------------------------------------------


async def test_an_outdated_app_is_refused_with_a_code_it_can_act_on(running: Running) -> None:
    cls = await running.new_class()
    auth = {"token": running.teacher_token, "class_id": str(cls["class_id"])}
    old = Peer("old app")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await old.connect(running.url, {**auth, "protocol_version": PROTOCOL_VERSION - 1})
    assert old.connect_errors[-1]["data"]["code"] == "OUTDATED_CLIENT"
    assert old.connect_errors[-1]["data"]["field"] == "protocol_version"
    bad = Peer("bad version")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await bad.connect(running.url, {**auth, "protocol_version": "1"})
    assert bad.connect_errors[-1]["data"]["code"] == "INVALID_PAYLOAD"
    current = Peer("current app")
    await current.connect(running.url, {**auth, "protocol_version": PROTOCOL_VERSION})
    snapshot = await current.ok("class_snapshot", {})
    assert snapshot["protocol_version"] == PROTOCOL_VERSION
    # A client written before the field existed still connects.
    unversioned = Peer("script")
    await unversioned.connect(running.url, auth)
    await unversioned.ok("class_snapshot", {})
    await current.disconnect()
    await unversioned.disconnect()


# --- every ack, the snapshot and the tally, as documented -----------------------------------------


def _check_shape(model: type[BaseModel], body: dict[str, Any], what: str) -> None:
    """``body`` has only documented fields, every required one, of the documented types."""
    undocumented = set(body) - set(model.model_fields)
    assert not undocumented, f"{what}: fields not in {model.__name__}: {undocumented}"
    model.model_validate(body)


class AckRecorder:
    """Sends events for one peer and checks each ok ack against the declared ack model."""

    def __init__(self, seen: set[str]) -> None:
        self.seen = seen

    async def ok(self, peer: Peer, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack = await peer.ok(name, payload)
        fields = {k: v for k, v in ack.items() if k != "ok"}
        _check_shape(ack_model(EVENTS[name]), fields, f"{name} ack")
        self.seen.add(name)
        return ack


def _png(width: int = 32, height: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (250, 250, 250)).save(out, format="PNG")
    return out.getvalue()


async def test_every_event_answers_the_ack_the_docs_declare(running_unlimited: Running) -> None:
    peers, _ = await _three_roles(running_unlimited)
    teacher, student, board = peers["teacher"], peers["student"], peers["board"]
    seen: set[str] = set()
    r = AckRecorder(seen)
    for peer in peers.values():
        await r.ok(peer, "class_snapshot", {})
        await r.ok(peer, "clock_sync", {"client_time_ms": 1764280000000.5})
        await r.ok(peer, "log_resume", {"after_seq": 0})
    await r.ok(teacher, "roster_get", {})
    await r.ok(student, "hand_raise", {"raised": True, "client_id": "h1"})
    student_id = (await r.ok(student, "class_snapshot", {}))["you"]["id"]
    await r.ok(teacher, "hand_lower", {"student_id": student_id, "client_id": "l1"})
    await r.ok(teacher, "board_allow_drawing", {"ink": "teacher"})
    pen = {"tool": "pen", "color": "#1a1a1a", "width": 4}
    await r.ok(student, "stroke_start", {"stroke_id": "k1", "page_id": "page-1", **pen})
    await r.ok(
        student, "stroke_extend", {"stroke_id": "k1", "offset": 0, "points": [[1, 2, 0.5, 0]]}
    )
    await r.ok(student, "stroke_end", {"stroke_id": "k1", "length": 1})
    shape = {"page_id": "page-1", "kind": "line", "start": [0, 0], "end": [50, 50], "width": 4}
    await r.ok(teacher, "board_add_shape", {"shape_id": "sh1", **shape, "color": "#1a1a1a"})
    text = {"page_id": "page-1", "text": "سلام", "x": 10, "y": 10, "size": 40, "color": "#000000"}
    await r.ok(teacher, "board_add_text", {"text_id": "t1", **text})
    await r.ok(teacher, "board_erase", {"op_id": "e1", "page_id": "page-1", "ids": ["sh1"]})
    await r.ok(teacher, "board_undo", {"client_id": "u1"})
    await r.ok(teacher, "board_redo", {"client_id": "r1"})
    await r.ok(teacher, "page_add", {"page_id": "page-2"})
    await r.ok(teacher, "page_switch", {"page_id": "page-1"})
    await r.ok(teacher, "page_reorder", {"order": ["page-2", "page-1"]})
    await r.ok(
        teacher, "page_set_background", {"page_id": "page-2", "background": {"kind": "grid"}}
    )
    await r.ok(teacher, "page_clear", {"page_id": "page-2", "op_id": "c1"})
    # Snapshots with ink, pages and private student ink in them, for every role.
    for peer in peers.values():
        await r.ok(peer, "class_snapshot", {})
    # A board bigger than one piece, fetched in pieces.
    walk = [[float(100 + 7 * i), float(100 + (i * 37) % 900), 0.5, float(9 * i)] for i in range(64)]
    for n in range(150):
        fill = {"stroke_id": f"fill-{n}", "page_id": "page-1", **pen, "points": walk}
        await r.ok(teacher, "stroke_start", fill)
    paged = await r.ok(student, "class_snapshot", {"paged": True})
    assert paged["cursor"] is not None
    await r.ok(student, "class_snapshot_piece", {"cursor": paged["cursor"]})
    await r.ok(teacher, "page_delete", {"page_id": "page-2"})
    await r.ok(teacher, "board_revoke_drawing", {})

    created = await r.ok(teacher, "poll_create", {"kind": "multiple", "question": "Primes?",
                                                 "options": ["2", "9", "11"]})  # fmt: skip
    poll = {"poll_id": created["poll_id"]}
    await r.ok(teacher, "poll_open", poll)
    await r.ok(student, "poll_vote", {**poll, "vote_id": "v1", "options": [0, 2]})
    await teacher.wait_until(lambda: any(e == "poll_tally" for e, _ in teacher.events))
    await r.ok(teacher, "poll_close", poll)
    await r.ok(teacher, "poll_show_results", poll)
    await r.ok(teacher, "poll_hide_results", poll)

    quiz = {"title": "Maths", "questions": [
        {"type": "single", "question": "7 x 8?", "options": ["54", "56"], "correct": [1]},
        {"type": "true_false", "question": "2 is prime.", "correct": True},
    ]}  # fmt: skip
    made = await r.ok(teacher, "quiz_create", {"quiz": quiz})
    ref = {"quiz_id": made["quiz_id"]}
    await r.ok(teacher, "quiz_start", ref)
    await r.ok(teacher, "quiz_rename", {**ref, "title": "حساب"})
    answer = {**ref, "question": 0, "answer_id": "a1", "option": 1}
    await r.ok(student, "quiz_answer", answer)
    for peer in peers.values():
        await r.ok(peer, "class_snapshot", {})
    await r.ok(teacher, "quiz_next", ref)
    await r.ok(teacher, "quiz_skip", ref)
    await r.ok(teacher, "quiz_end", ref)

    image = {"image": _png(), "format": "png", "width": 32, "height": 32}
    await r.ok(board, "camera_snapshot", {"snapshot_id": "cam1", **image})
    await r.ok(board, "camera_keyframe", {"keyframe_id": "kf1", "captured_at_ms": 1, **image})
    segment = {
        "segment_id": "au1",
        "captured_at_ms": time.time_ns() // 1_000_000 - 1000,
        "duration_ms": 1000,
        "codec": "opus",
        "container": "ogg",
        "audio": encode_opus(beeps(1.0, [0.5])),
    }
    await r.ok(board, "audio_segment", segment)
    for peer in peers.values():
        await r.ok(peer, "class_snapshot", {})
    await r.ok(teacher, "student_rename", {"student_id": student_id, "name": "حنا"})
    await r.ok(teacher, "student_remove", {"student_id": student_id})
    await r.ok(teacher, "class_end", {"client_id": "end"})
    # Details are typed after class.
    details = {"title": "کسور", "languages": ["ur"], "client_id": "details-1"}
    await r.ok(teacher, "lesson_details_update", details)
    await r.ok(teacher, "lesson_share", {"shared": True, "client_id": "share-1"})
    await r.ok(teacher, "lesson_publish", {"published": True, "client_id": "publish-1"})

    assert seen == set(EVENTS), f"no ok ack checked for {set(EVENTS) - seen}"
    # Every broadcast the peers received has the documented data shape.
    for peer in peers.values():
        for name, data in peer.events:
            spec = BROADCASTS.get(name)
            if spec is None or not isinstance(data, dict):
                continue
            body = data["data"] if spec.logged else data
            _check_shape(spec.data, body, f"{name} data")
            if name in ("poll_tally", "poll_results_shown"):
                _check_shape(PollTally, body["tally"], f"{name} tally")
    for peer in peers.values():
        await peer.disconnect()


# --- the HTTP API as declared ---------------------------------------------------------------------


def _route_key(method: str, path: str) -> tuple[str, str]:
    return method, protocol_docs.openapi_path(path)[0]


def test_the_server_registers_exactly_the_declared_http_routes(tmp_path: Path) -> None:
    app = create_app(Settings(store_url=f"sqlite://{tmp_path / 'db.sqlite3'}", data_dir=tmp_path))
    registered: dict[tuple[str, str], str] = {}
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        if route.method == "HEAD" or not path.startswith(("/api/", "/healthz", "/metrics")):
            continue
        handler = getattr(route.handler, "__name__", "")
        registered[_route_key(route.method, path)] = handler
    declared = {_route_key(r.method, r.path): r.handler for r in HTTP_ROUTES}
    assert registered == declared


def test_openapi_documents_every_route_with_its_answers_and_errors() -> None:
    doc = protocol_docs.openapi()
    for route in HTTP_ROUTES:
        path, params = protocol_docs.openapi_path(route.path)
        operation = doc["paths"][path][route.method.lower()]
        assert str(route.status) in operation["responses"]
        for error in route.errors:
            assert error.code in operation["responses"][str(error.http_status)]["description"]
        assert {p["name"] for p in operation["parameters"] if p["in"] == "path"} == {
            name for name, _ in params
        }
        if route.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/" + route.body.__name__)
    assert "JoinBody" in doc["components"]["schemas"]


async def test_http_answers_have_the_declared_shapes(running_sqlite: Running) -> None:
    api, token = running_sqlite.api, running_sqlite.teacher_token
    routes: dict[tuple[str, str], HttpRoute] = {}
    for declared in HTTP_ROUTES:
        routes.setdefault((declared.method, declared.handler), declared)
    checked: set[str] = set()

    async def call(
        method: str, handler: str, path: str, *, auth: str | None = None, **kw: Any
    ) -> Any:
        route = routes[(method, handler)]
        status, body = await api.request(method, path, token=auth, **kw)
        if status >= 400:
            _check_shape(ErrorResponse, body, f"{handler} error")
            _check_shape(ErrorDetail, body["error"], f"{handler} error")
            raise AssertionError(f"{handler}: {status} {body}")
        assert status == route.status, (handler, status)
        if isinstance(body, dict):
            assert route.answer is not None, handler
            _check_shape(route.answer, body, handler)
        checked.add(handler)
        return body

    await call("GET", "healthz", "/healthz")
    await call("GET", "setup_state", "/api/setup")
    store = running_sqlite.services.store
    await store.add_teacher(TeacherRecord("docs-teacher", hash_password("docs-password-1"), 0))
    login = {"name": "docs-teacher", "password": "docs-password-1"}
    await call("POST", "login", "/api/login", json=login)
    cls = await call("POST", "create_class", "/api/classes", auth=token, json={"title": "5B"})
    base = f"/api/classes/{cls['class_id']}"
    await call("GET", "list_classes", "/api/classes", auth=token)
    await call("GET", "get_class", base, auth=token)
    await call("POST", "issue_device", f"{base}/devices", auth=token, json={"name": "Cam"})
    await call("POST", "join", "/api/join", json={"join_code": cls["join_code"], "name": "Ali"})
    await call("POST", "upload_image", f"{base}/images", auth=token, data=_png(64, 48))
    quiz_file = (ROOT / "docs" / "samples" / "quiz.zip").read_bytes()  # quiz and picture
    parsed = await call(
        "POST", "parse_quiz_file", f"{base}/quizzes/parse?filename=quiz.zip", auth=token,
        data=quiz_file,
    )  # fmt: skip
    made = await call(
        "POST", "import_quiz", f"{base}/quizzes?filename=quiz.zip", auth=token, data=quiz_file
    )
    assert made["questions"] == len(parsed["quiz"]["questions"])
    await call("GET", "quiz_report", f"{base}/reports/quizzes/{made['quiz_id']}.json", auth=token)
    await call("GET", "polls_report", f"{base}/reports/polls.json", auth=token)
    await call("GET", "debrief", f"{base}/debrief", auth=token)
    trial = await call("POST", "create_practice", "/api/practice", auth=token, json={"students": 1})
    trial_base = f"/api/classes/{trial['class_id']}"
    await call("GET", "get_practice", f"{trial_base}/practice", auth=token)
    await call(
        "POST", "change_practice", f"{trial_base}/practice", auth=token, json={"students": 2}
    )
    await call("POST", "end_class", f"{trial_base}/end", auth=token)
    fields = f"segment_id=s1&captured_at_ms={time.time_ns() // 1_000_000 - 1000}&duration_ms=1000"
    audio = encode_opus(beeps(1.0, [0.5]), container="webm")
    await call(
        "POST", "upload_audio", f"{base}/audio?{fields}&container=webm", auth=token, data=audio
    )
    await call("POST", "end_class", f"{base}/end", auth=token)
    lesson = {"title": "کسور", "subject": "maths", "grade": "5", "languages": ["ur", "en"]}
    await call("POST", "set_lesson", f"{base}/lesson", auth=token, json=lesson)
    await call("GET", "get_lesson", f"{base}/lesson", auth=token)
    await call("GET", "list_lessons", "/api/lessons", auth=token)
    await call("POST", "share_lesson", f"{base}/share", auth=token, json={"shared": True})
    await call("GET", "replay_info", f"{base}/replay/info", auth=token)
    await call("GET", "replay_events", f"{base}/replay/events?limit=100", auth=token)
    await call("POST", "publish_lesson", f"{base}/publish", auth=token, json={"published": True})
    shelf = f"/api/library/{cls['class_id']}"
    await call("GET", "library_list", "/api/library?q=%DA%A9%D8%B3%D9%88%D8%B1")
    await call("GET", "library_replay_info", f"{shelf}/replay/info")
    await call("GET", "library_replay_events", f"{shelf}/replay/events?limit=100")
    await call("GET", "library_manifest", "/api/library/manifest")
    await call("GET", "get_export", f"{base}/export", auth=token)
    await call("POST", "start_export", f"{base}/export", auth=token, json={"formats": ["chapters"]})
    await call("POST", "cancel_export", f"{base}/export/cancel", auth=token)
    login = await call("POST", "login", "/api/login", json=login)
    changed = await call(
        "POST", "change_password", "/api/password", auth=login["token"],
        json={"current_password": "docs-password-1", "new_password": "docs-password-2"},
    )  # fmt: skip
    await call("POST", "sign_out_everywhere", "/api/sign-out-everywhere", auth=changed["token"])
    status, refused = await api.request("POST", "/api/login", json={"name": "x", "password": "y"})
    assert status == 401
    _check_shape(ErrorResponse, refused, "login error")
    # setup answers like login, but only on a server without teachers (tests/classroom/test_http).
    json_routes = {r.handler for r in HTTP_ROUTES if r.answer is not None} - {"setup"}
    assert json_routes <= checked, json_routes - checked


# --- the quiz format the docs show ----------------------------------------------------------------


def _code_blocks(markdown: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", markdown, flags=re.DOTALL)


def test_quiz_format_doc_shows_both_forms_and_each_is_accepted_where_it_says() -> None:
    doc = (ROOT / "docs" / "quiz-format.md").read_text(encoding="utf-8")
    files = _code_blocks(doc, "yaml")
    protocol_forms = _code_blocks(doc, "json")
    assert files and protocol_forms
    for block in files:
        # The file form is what the import and parse routes read ...
        definition = quiz_import.parse_quiz(block.encode(), "quiz.yaml")
        # ... and quiz_create refuses it: letters are not option indexes.
        with pytest.raises(ValidationError):
            QuizCreate.model_validate({"client_id": "create-1", "quiz": yaml.safe_load(block)})
    for block in protocol_forms:
        QuizCreate.model_validate(json.loads(block))
    # The doc's protocol form is the same quiz as its file form, but for the picture: over the
    # socket a question may name only a picture the class has stored (the import stores it).
    unpictured = definition.model_copy(
        update={"questions": [q.model_copy(update={"image": None}) for q in definition.questions]}
    )
    assert QuizCreate.model_validate(json.loads(protocol_forms[0])).quiz == unpictured


async def test_events_named_like_connection_handlers_are_unknown_events(
    running_sqlite: Running,
) -> None:
    """A student's raw ``disconnect`` event ended their session (the socket stayed open, they
    were logged offline); ``connect`` ran the connect handler; odd packets logged tracebacks."""
    cls = await running_sqlite.new_class()
    teacher = await running_sqlite.teacher(str(cls["class_id"]))
    joined = await running_sqlite.api.join(str(cls["join_code"]), "Raw")
    ws_url = running_sqlite.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(ws_url) as ws:
        assert str(await ws.recv()).startswith("0")  # engine.io open
        await ws.send("40" + json.dumps({"token": joined["token"]}))
        assert str(await ws.recv()).startswith("40")
        odd = ['421["disconnect",{}]', '422["connect",{"token":"x"}]', "42", "42{}", "44", "49"]
        for frame in odd:
            await ws.send(frame)
        await ws.send('423["clock_sync",{"client_time_ms": 9}]')
        answers: dict[str, Any] = {}
        while len(answers) < 3:
            frame = str(await ws.recv())
            if frame.startswith("43"):
                answers[frame[2]] = json.loads(frame[3:])[0]
        assert answers["1"]["error"]["code"] == "UNKNOWN_EVENT"
        assert answers["2"]["error"]["code"] == "UNKNOWN_EVENT"
        assert answers["3"]["ok"] is True
        snapshot = await teacher.ok("class_snapshot")
        [student] = snapshot["state"]["core"]["students"]
        assert student["online"] is True
    await teacher.disconnect()
