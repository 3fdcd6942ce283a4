"""HTTP API: health, metrics, login, classes, joining, QR codes, devices, lock-outs."""

from __future__ import annotations

import io
import time
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from classroom import auth, errors
from classroom.classes import (
    JOIN_CODE_ALPHABET,
    JOIN_CODE_LENGTH,
    TeacherRecord,
    normalize_join_code,
)
from classroom.errors import Unauthorized
from classroom.ratelimit import JoinGuard
from classroom.settings import Settings
from testkit.client import Api, Peer
from tests.conftest import Running, start_app


async def test_healthz_reports_the_store(running: Running) -> None:
    status, body = await running.api.request("GET", "/healthz")
    assert status == 200 and body["ok"] is True
    assert body["store"] in {"sqlite", "redis"} and body["store_ping_ms"] >= 0


async def test_metrics_count_clients_by_role_and_events(running: Running) -> None:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    student, _ = await running.student(str(cls["join_code"]))
    await student.ok("hand_raise", {"raised": True})
    status, raw = await running.api.request("GET", "/metrics")
    text = raw.decode()
    assert status == 200
    assert 'takhti_connected_clients{role="teacher"} 1.0' in text
    assert 'takhti_connected_clients{role="student"} 1.0' in text
    appended = [
        line for line in text.splitlines() if line.startswith("takhti_events_appended_total")
    ]
    # student_joined, student_connected, hand_raised
    assert float(appended[0].split()[-1]) >= 3
    assert "takhti_store_append_seconds_bucket" in text
    assert "takhti_events_per_second" in text
    await student.disconnect()
    await teacher.disconnect()


async def test_login_refuses_wrong_password_and_bad_bodies(running: Running) -> None:
    api = running.api
    status, body = await api.request("POST", "/api/login", json={"name": "nobody", "password": "x"})
    assert status == 401 and body["error"]["code"] == "UNAUTHORIZED"
    status, body = await api.request("POST", "/api/login", data=b"{not json")
    assert status == 400 and body["error"]["code"] == "INVALID_PAYLOAD"
    status, body = await api.request(
        "POST", "/api/login", json={"name": "a", "password": "b", "admin": True}
    )
    assert status == 400 and body["error"]["field"] == "admin"
    status, body = await api.request("POST", "/api/login", data=b"x" * 100_000)
    assert status == 413 and body["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_class_creation_gives_code_link_and_qr(running: Running) -> None:
    cls = await running.new_class()
    code = str(cls["join_code"])
    assert len(code) == JOIN_CODE_LENGTH and set(code) <= set(JOIN_CODE_ALPHABET)
    assert str(cls["join_url"]).endswith(f"/join/{code}")
    status, png = await running.api.request("GET", str(cls["qr_png"]), token=running.teacher_token)
    assert status == 200
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width > 200
    status, svg = await running.api.request("GET", str(cls["qr_svg"]), token=running.teacher_token)
    assert status == 200 and b'xmlns="http://www.w3.org/2000/svg"' in svg  # usable as <img>
    status, _body = await running.api.request("GET", str(cls["qr_png"]))
    assert status == 401
    status, listing = await running.api.request("GET", "/api/classes", token=running.teacher_token)
    assert [c["class_id"] for c in listing["classes"]] == [cls["class_id"]]


def test_join_codes_are_unambiguous_and_plentiful() -> None:
    assert len(JOIN_CODE_ALPHABET) ** JOIN_CODE_LENGTH >= 10**6
    assert not set("01OILZ2S5BG68") & set(JOIN_CODE_ALPHABET)
    # Lower case, spaces and dashes as a student may type them are accepted.
    assert normalize_join_code(" acd-efh ") == "ACDEFH"


async def test_another_teacher_cannot_touch_my_class(running: Running) -> None:
    cls = await running.new_class()
    signer = running.services.signer
    other = f"someone-else-{time.monotonic_ns()}"
    await running.services.store.add_teacher(TeacherRecord(other, "scrypt$x", 0))
    stranger = signer.issue(auth.TokenClaims(role="teacher", subject=other))
    status, body = await running.api.request(
        "GET", f"/api/classes/{cls['class_id']}", token=stranger
    )
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    student_token = (await running.api.join(str(cls["join_code"]), "Sara"))["token"]
    status, body = await running.api.request(
        "POST", "/api/classes", token=student_token, json={"title": "mine"}
    )
    assert status == 403


async def test_board_device_joins_with_the_token_the_teacher_issues(running: Running) -> None:
    cls = await running.new_class()
    device = await running.api.device(running.teacher_token, str(cls["class_id"]))
    board = Peer("board")
    await board.connect(running.url, {"token": device["token"]})
    snap = await board.ok("class_snapshot")
    assert snap["you"]["role"] == "board" and snap["class_id"] == cls["class_id"]
    await board.disconnect()


async def test_ending_a_class_stops_writes_and_joins(running: Running) -> None:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    student, _ = await running.student(str(cls["join_code"]))
    await teacher.ok("class_end", {})
    await student.wait_until(lambda: any(e == "class_ended" for e, _ in student.events))
    ack = await teacher.call("hand_lower", {"student_id": "s_x"})
    assert ack["error"]["code"] == "CLASS_ENDED"
    status, body = await running.api.request(
        "POST", "/api/join", json={"join_code": cls["join_code"], "name": "Late"}
    )
    assert status == 409 and body["error"]["code"] == "CLASS_ENDED"
    # The teacher can still read what happened after the end (students are disconnected:
    # tests/classroom/test_access.py).
    assert (await teacher.ok("class_snapshot"))["state"]["core"]["ended"] is True
    await student.disconnect()
    await teacher.disconnect()


async def test_wrong_join_codes_hold_the_address_back(running_sqlite: Running) -> None:
    from classroom.ratelimit import WRONG_CODES_PER_ADDRESS

    cls = await running_sqlite.new_class()
    # Forget that the class was made from this address (its teacher's), so it is not home here.
    running_sqlite.services.join_guard = JoinGuard()
    api = running_sqlite.api
    for _ in range(int(WRONG_CODES_PER_ADDRESS.burst)):
        status, body = await api.request(
            "POST", "/api/join", json={"join_code": "ZZZZZZ", "name": "Guesser"}
        )
        assert status == 404 and body["error"]["field"] == "join_code"
    # Held back now: a real code of a class not home to this address answers the same.
    status, body = await api.request(
        "POST", "/api/join", json={"join_code": cls["join_code"], "name": "Guesser"}
    )
    assert status == 429 and body["error"]["code"] == "RATE_LIMITED"
    assert body["error"]["retry_after_s"] > 60


def test_lockout_expires_and_counts_only_recent_failures() -> None:
    from classroom.ratelimit import Lockout

    lockout = Lockout(max_failures=3, window_s=10, lockout_s=30)
    lockout.fail("10.0.0.1", 0)
    lockout.fail("10.0.0.1", 11)  # the first failure is outside the window now
    lockout.fail("10.0.0.1", 12)
    assert lockout.locked_for("10.0.0.1", 12) == 0
    lockout.fail("10.0.0.1", 13)
    assert lockout.locked_for("10.0.0.1", 14) == pytest.approx(29)
    assert lockout.locked_for("10.0.0.2", 14) == 0  # other addresses are unaffected
    assert lockout.locked_for("10.0.0.1", 44) == 0


def test_expired_tokens_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = auth.TokenSigner("secret")
    claims = auth.TokenClaims(role="teacher", subject="amina")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - auth.TOKEN_MAX_AGE_S["teacher"] - 60)
    old = signer.issue(claims)
    monkeypatch.setattr(time, "time", lambda: now)
    with pytest.raises(Unauthorized, match="expired"):
        signer.check(old)
    assert signer.check(signer.issue(claims)) == claims
    with pytest.raises(Unauthorized):
        auth.TokenSigner("other secret").check(signer.issue(claims))


def test_passwords_are_stored_with_scrypt_never_in_clear() -> None:
    stored = auth.hash_password("correct-horse-9")
    assert stored.startswith("scrypt$") and "correct-horse-9" not in stored
    assert auth.verify_password("correct-horse-9", stored)
    assert not auth.verify_password("wrong", stored)
    assert auth.hash_password("correct-horse-9") != stored  # salted


async def test_first_run_setup_creates_one_teacher_only(running_sqlite: Running) -> None:
    api = running_sqlite.api
    status, body = await api.request("GET", "/api/setup")
    assert body["needs_setup"] is False  # the fixture already has a teacher
    status, body = await api.request(
        "POST", "/api/setup", json={"name": "intruder", "password": "longpassword"}
    )
    assert status == 409 and body["error"]["code"] == "CONFLICT"


async def test_first_run_setup_on_an_empty_server(tmp_path: Path) -> None:
    settings = Settings(
        host="127.0.0.1", port=0, store_url=f"sqlite://{tmp_path / 'new.db'}", data_dir=tmp_path
    )
    runner, url = await start_app(settings)
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(url, http)
            _, body = await api.request("GET", "/api/setup")
            assert body == {"ok": True, "needs_setup": True, "allowed_here": True}
            status, body = await api.request(
                "POST", "/api/setup", json={"name": "amina", "password": "short"}
            )
            assert status == 400 and body["error"]["field"] == "password"
            status, body = await api.request(
                "POST", "/api/setup", json={"name": "amina", "password": "long-enough-1"}
            )
            assert status == 201 and body["teacher"] == "amina"
            created = await api.create_class(body["token"])
            assert created["join_code"]
            assert await api.login("amina", "long-enough-1")
            _, body = await api.request("GET", "/api/setup")
            assert body["needs_setup"] is False
    finally:
        await runner.cleanup()


async def test_a_teacher_may_have_an_urdu_name(tmp_path: Path) -> None:
    """Every name a person types may be Urdu (issue 15.4): a teacher named in Urdu sets up and
    logs in; case and spacing do not make a second teacher; names that are not names are refused."""
    settings = Settings(
        host="127.0.0.1", port=0, store_url=f"sqlite://{tmp_path / 'new.db'}", data_dir=tmp_path
    )
    runner, url = await start_app(settings)
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(url, http)
            for bad in ("<b>x</b>", ".amina", "a/b", "x" * 41, "علی\u202e"):
                status, body = await api.request(
                    "POST", "/api/setup", json={"name": bad, "password": "long-enough-1"}
                )
                assert status == 400 and body["error"]["field"] == "name", bad
            status, body = await api.request(
                "POST", "/api/setup", json={"name": "  عائشہ   صدیقی ", "password": "long-enough-1"}
            )
            assert status == 201 and body["teacher"] == "عائشہ صدیقی"
            assert await api.login("عائشہ صدیقی", "long-enough-1")
            # The same name typed with a double space still finds her.
            assert await api.login("عائشہ  صدیقی", "long-enough-1")
            created = await api.create_class(body["token"])
            assert created["join_code"]
            _, listing = await api.request("GET", "/api/classes", token=body["token"])
            assert [c["class_id"] for c in listing["classes"]] == [created["class_id"]]
    finally:
        await runner.cleanup()


def test_teacher_names_fold_case_and_keep_old_names() -> None:
    from classroom.classes import check_teacher_name, teacher_name_key

    assert check_teacher_name("amina.k_2-b") == "amina.k_2-b"  # names made before stay as they were
    assert check_teacher_name("Amina Khan") == teacher_name_key("AMINA  khan") == "amina khan"
    # An Arabic presentation form folds to the letter it shows.
    assert teacher_name_key("\ufee3\ufeae\ufef3\ufee2") == "مريم"


def test_client_address_uses_the_proxy_header_only_when_trusted() -> None:
    from aiohttp.test_utils import make_mocked_request

    from classroom.boundary import client_address

    request = make_mocked_request("GET", "/", headers={"X-Forwarded-For": "6.6.6.6, 10.1.2.3"})
    request = request.clone(remote="172.18.0.2")
    assert client_address(request, trusted_proxies=("172.16.0.0/12",)) == "10.1.2.3"
    assert client_address(request, trusted_proxies=()) == "172.18.0.2"


async def test_routing_refusals_answer_documented_codes(running: Running) -> None:
    """A wrong method answered METHOD_NOT_ALLOWED, a code missing from the error table."""
    documented = {error.code: error.http_status for error in errors.error_classes()}
    for method, path, status in [
        ("DELETE", "/api/join", 405),
        ("PUT", "/api/classes", 405),
        ("GET", "/api/no-such-route", 404),
    ]:
        code, body = await running.api.request(method, path)
        assert code == status, (method, path, code, body)
        assert body["ok"] is False
        assert documented[body["error"]["code"]] == status, body
