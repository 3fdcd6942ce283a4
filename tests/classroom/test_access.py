"""Who may connect and how often: connection caps, join-code guessing, logins, revocation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from classroom.auth import hash_password
from classroom.boundary import client_address, limit_key
from classroom.classes import TeacherRecord
from classroom.keys import LIVE, SERVICES, TRANSPORT
from classroom.live import REFUSAL_HOLD_S
from classroom.ratelimit import (
    CONNECT_ATTEMPTS_PER_ADDRESS,
    CONNECTS_PER_TOKEN,
    STUDENTS_PER_CLASS_AND_ADDRESS,
    WRONG_CODES_GLOBAL,
    WRONG_CODES_PER_ADDRESS,
    ConnectionBook,
    JoinGuard,
)
from classroom.services import Services
from classroom.settings import Settings, parse_trusted_proxies
from testkit.client import Api, Peer
from tests.conftest import PASSWORD, TEACHER, Running, start_app

# A wrong code, well formed (passes the alphabet check) so it reaches the store lookup.
WRONG = "AAAAAA"


class Server:
    """A server on a real socket with its own settings, one teacher and an HTTP client."""

    def __init__(
        self, url: str, app: web.Application, http: aiohttp.ClientSession, name: str
    ) -> None:
        self.app = app
        self.services: Services = app[SERVICES]
        self.url = url
        self.http = http
        self.api = Api(url, http)
        self.name = name

    def services_live_connections(self) -> ConnectionBook:
        return self.app[LIVE].connections

    async def post(
        self, path: str, body: Any, *, via: str | None = None, token: str | None = None
    ) -> tuple[int, Any]:
        """POST as the device at address ``via`` (an X-Forwarded-For the proxy would add)."""
        headers = {}
        if via is not None:
            headers["X-Forwarded-For"] = via
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.post(self.url + path, json=body, headers=headers) as resp:
            return resp.status, await resp.json()

    async def login(self, *, via: str | None = None, **extra: Any) -> dict[str, Any]:
        status, body = await self.post(
            "/api/login", {"name": self.name, "password": PASSWORD, **extra}, via=via
        )
        assert status == 200, body
        return dict(body)

    async def new_class(self, token: str, *, via: str | None = None) -> dict[str, Any]:
        status, body = await self.post("/api/classes", {"title": "Maths"}, via=via, token=token)
        assert status == 201, body
        return dict(body)

    async def join(self, code: str, *, via: str | None = None) -> tuple[int, Any]:
        return await self.post("/api/join", {"join_code": code, "name": "Ali"}, via=via)


@asynccontextmanager
async def server(tmp_path: Path, store_url: str, **overrides: Any) -> AsyncIterator[Server]:
    settings = Settings(
        host="127.0.0.1", port=0, store_url=store_url, data_dir=tmp_path, **overrides
    )
    runner, url = await start_app(settings)
    services = runner.app[SERVICES]
    name = f"{TEACHER}-{time.monotonic_ns()}"
    await services.store.add_teacher(TeacherRecord(name, hash_password(PASSWORD), 0))
    try:
        async with aiohttp.ClientSession() as http:
            yield Server(url, runner.app, http, name)
    finally:
        await runner.cleanup()


def watch_disconnect(peer: Peer) -> asyncio.Event:
    gone = asyncio.Event()
    peer.sio.on("disconnect", lambda *args: gone.set())
    return gone


async def refused_code(url: str, auth: dict[str, Any]) -> str:
    peer = Peer("refused")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(url, auth)
    return str(peer.connect_errors[-1]["data"]["code"])


def presence(peer: Peer, kind: str) -> int:
    return sum(1 for name, _ in peer.events if name == kind)


# 3. connections per identity and per address


async def test_one_token_holds_three_connections_and_the_newest_win(running: Running) -> None:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    joined = await running.api.join(str(cls["join_code"]), "Ali")
    cap = running.services.settings.max_connections_per_token
    assert cap == 3
    peers = []
    for i in range(cap + 2):
        peer = Peer(f"tab-{i}")
        gone = watch_disconnect(peer)
        await peer.connect(running.url, {"token": joined["token"]})
        peers.append((peer, gone))
    # The two oldest were closed by the server; the three newest still answer.
    for _, gone in peers[:2]:
        await asyncio.wait_for(gone.wait(), 10)
    for peer, gone in peers[2:]:
        assert not gone.is_set()
        assert (await peer.ok("clock_sync", {"client_time_ms": 1.0}))["ok"]
    # Presence is per student, not per connection: one student_connected for five sockets.
    assert presence(teacher, "student_connected") == 1
    for peer, _ in peers[2:]:
        await peer.disconnect()
    await teacher.wait_until(lambda: presence(teacher, "student_disconnected") == 1)
    snap = await teacher.ok("class_snapshot")
    assert presence(teacher, "student_disconnected") == 1
    assert snap["state"]["core"]["students"][0]["online"] is False
    await teacher.disconnect()


async def test_many_connections_on_one_token_cost_one_presence_event(running: Running) -> None:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    joined = await running.api.join(str(cls["join_code"]), "Ali")
    head_before = await running.services.store.head(str(cls["class_id"]))
    peers = [Peer(f"flood-{i}") for i in range(40)]
    started = time.perf_counter()
    results = await asyncio.gather(
        *(peer.connect(running.url, {"token": joined["token"]}) for peer in peers),
        return_exceptions=True,
    )
    # Connections replaced while still being accepted are refused; nothing else fails.
    assert all(isinstance(r, socketio.exceptions.ConnectionError) for r in results if r is not None)
    book = running.app[LIVE].connections
    identity = (str(cls["class_id"]), "student", str(joined["student_id"]))
    await until(lambda: book.connections(identity) == 3)
    assert sum(1 for peer in peers if peer.sio.connected) >= 3
    await asyncio.gather(*(peer.disconnect() for peer in peers if peer.sio.connected))
    await until(lambda: book.connections(identity) == 0)
    await teacher.wait_until(lambda: presence(teacher, "student_disconnected") >= 1)
    elapsed = time.perf_counter() - started
    # One connected and one disconnected in the log, not 40 of each.
    head_after = await running.services.store.head(str(cls["class_id"]))
    assert head_after - head_before == 2, (head_before, head_after)
    assert elapsed < 10
    await teacher.disconnect()


async def connect_via(peer: Peer, url: str, auth: dict[str, Any], via: str) -> None:
    await peer.sio.connect(
        url,
        auth=auth,
        headers={"X-Forwarded-For": via},
        transports=["websocket"],
        wait_timeout=10,
    )


async def test_connections_per_address_are_capped(tmp_path: Path) -> None:
    school = "203.0.113.5"
    async with server(
        tmp_path,
        f"sqlite://{tmp_path / 'db.sqlite3'}",
        max_connections_per_address=4,
        trusted_proxies=("127.0.0.1",),
    ) as srv:
        token = (await srv.login())["token"]
        cls = await srv.new_class(token)
        tokens = [(await srv.api.join(str(cls["join_code"]), f"S{i}"))["token"] for i in range(6)]
        peers = []
        for student_token in tokens[:4]:
            peer = Peer()
            await connect_via(peer, srv.url, {"token": student_token}, school)
            peers.append(peer)
        # Refused before the token is even looked at, with a code the client can show.
        for auth in ({"token": tokens[4]}, {"token": "garbage"}):
            refused = Peer()
            with pytest.raises(socketio.exceptions.ConnectionError):
                await connect_via(refused, srv.url, auth, school)
            assert refused.connect_errors[-1]["data"]["code"] == "RATE_LIMITED"
        # Other addresses, and the server's own computer, are not affected.
        elsewhere, here = Peer(), Peer()
        await connect_via(elsewhere, srv.url, {"token": tokens[4]}, "198.51.100.9")
        await here.connect(srv.url, {"token": tokens[5]})
        # A closed connection gives its place back.
        await peers.pop().disconnect()
        book = srv.services_live_connections()
        await until(lambda: book.from_address(school) == 3)
        late = Peer()
        await connect_via(late, srv.url, {"token": tokens[3]}, school)
        for peer in [*peers, late, elsewhere, here]:
            await peer.disconnect()


async def test_connects_on_one_token_are_limited_before_the_store_is_read(
    store_url: str, tmp_path: Path
) -> None:
    """A tablet reconnecting in a loop (or 2,000 attempts on one token) is refused before its
    student is looked up; its classmates at the same address and the teacher on the server's
    own computer are not held back."""
    tablet = "198.51.100.7"
    async with server(tmp_path, store_url, trusted_proxies=("127.0.0.1",)) as srv:
        token = (await srv.login())["token"]
        cls = await srv.new_class(token)
        code = str(cls["join_code"])
        looping, classmate = (await srv.join(code, via=tablet))[1], (await srv.join(code))[1]
        store = srv.services.store
        lookups = 0
        look_up = store.get_student

        async def counted(*args: Any) -> Any:
            nonlocal lookups
            lookups += 1
            return await look_up(*args)

        store.get_student = counted  # type: ignore[method-assign]  # a count, same store
        burst = int(CONNECTS_PER_TOKEN.burst)
        answers: list[str] = []
        for _ in range(burst + 5):
            peer = Peer()
            try:
                await connect_via(peer, srv.url, {"token": looping["token"]}, tablet)
            except socketio.exceptions.ConnectionError:
                refusal = peer.connect_errors[-1]["data"]
                answers.append(refusal["code"])
                assert refusal["retry_after_s"] > 0
                continue
            answers.append("ok")
            await peer.disconnect()
        assert answers == ["ok"] * burst + ["RATE_LIMITED"] * 5
        assert lookups == burst
        peer = Peer()
        await connect_via(peer, srv.url, {"token": classmate["token"]}, tablet)
        await peer.disconnect()
        for _ in range(burst + 5):
            teacher = Peer()
            await teacher.connect(srv.url, {"token": token, "class_id": cls["class_id"]})
            await teacher.disconnect()


async def test_new_connections_from_one_address_are_limited_before_any_work(
    tmp_path: Path,
) -> None:
    """Engine.IO handshakes from one address past its allowance are answered 429 (no
    session, no websocket); other addresses and the server's own computer get in."""
    async with server(
        tmp_path, f"sqlite://{tmp_path / 'db.sqlite3'}", trusted_proxies=("127.0.0.1",)
    ) as srv:

        async def handshake(via: str | None) -> tuple[int, str, str | None]:
            headers = {} if via is None else {"X-Forwarded-For": via}
            async with srv.http.get(
                srv.url + "/socket.io/?EIO=4&transport=polling", headers=headers
            ) as resp:
                return resp.status, await resp.text(), resp.headers.get("Retry-After")

        allowed = int(CONNECT_ATTEMPTS_PER_ADDRESS.burst)
        started = time.monotonic()
        opened = 0
        while True:
            sessions = len(srv.app[TRANSPORT]._sio.eio.sockets)  # the seam's own table
            asked = time.monotonic()
            status, text, retry_after = await handshake("198.51.100.8")
            if status != 200:
                break
            assert text.startswith("0{")
            opened += 1
            assert opened <= 2 * allowed, "the address was never held back"
        # The burst, and what the rate gave back meanwhile; then a refusal that made nothing.
        rate = CONNECT_ATTEMPTS_PER_ADDRESS.per_s
        assert allowed <= opened <= allowed + rate * (time.monotonic() - started) + 1
        assert status == 429 and json.loads(text)["error"]["code"] == "RATE_LIMITED"
        assert retry_after is not None and int(retry_after) >= 1
        assert len(srv.app[TRANSPORT]._sio.eio.sockets) == sessions  # nothing was made
        # Answered after a while: a client retrying in a loop slows down to that pace.
        assert time.monotonic() - asked >= 0.9 * REFUSAL_HOLD_S
        assert (await handshake("198.51.100.9"))[0] == 200
        own = [(await handshake(None))[0] for _ in range(allowed + 5)]
        assert own == [200] * (allowed + 5)


async def until(predicate: Any, timeout: float = 10) -> None:
    """Wait for a server-side condition (checked on each turn of the loop)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


# 4. join codes and logins


def test_forwarded_headers_count_only_from_configured_proxies() -> None:
    def remote(peer: str, forwarded: str) -> Any:
        request = make_mocked_request("GET", "/", headers={"X-Forwarded-For": forwarded})
        return request.clone(remote=peer)

    proxies = ("10.0.0.2", "172.16.0.0/12")
    # From the proxy: the rightmost entry that is not a proxy is the client.
    assert client_address(remote("10.0.0.2", "6.6.6.6, 203.0.113.5"), trusted_proxies=proxies) == (
        "203.0.113.5"
    )
    assert (
        client_address(
            remote("10.0.0.2", "6.6.6.6, 203.0.113.5, 172.16.3.3"), trusted_proxies=proxies
        )
        == "203.0.113.5"
    )
    # From anyone else the header is ignored: a forged one neither dodges nor frames anybody.
    assert client_address(remote("198.51.100.7", "6.6.6.6"), trusted_proxies=proxies) == (
        "198.51.100.7"
    )
    assert client_address(remote("10.0.0.2", "6.6.6.6"), trusted_proxies=()) == "10.0.0.2"
    assert client_address(remote("10.0.0.2", "not-an-ip"), trusted_proxies=proxies) == "10.0.0.2"
    # The old boolean keeps a meaning: one proxy on this host or a private network, and only
    # the address it saw counts (a LAN tablet's own forged entry, private or not, does not).
    assert parse_trusted_proxies("1") == ("private",)
    lan = remote("172.18.0.5", "10.0.0.99, 192.168.1.50")
    assert client_address(lan, trusted_proxies=("private",)) == "192.168.1.50"
    assert client_address(remote("192.0.2.1", "10.0.0.99"), trusted_proxies=("private",)) == (
        "192.0.2.1"
    )
    assert parse_trusted_proxies("false") == ()
    assert parse_trusted_proxies("10.0.0.2, 172.16.0.0/12") == ("10.0.0.2/32", "172.16.0.0/12")
    with pytest.raises(ValueError):
        parse_trusted_proxies("10.0.0.2, nginx")
    # An IPv6 client is limited as its /64: it can pick any address inside it.
    assert limit_key("2001:db8:1:2::5") == limit_key("2001:db8:1:2:ffff::1")


async def test_forged_forwarded_headers_do_not_buy_more_guesses(tmp_path: Path) -> None:
    async with server(
        tmp_path, f"sqlite://{tmp_path / 'db.sqlite3'}", trusted_proxies=("10.9.9.9",)
    ) as srv:
        statuses = []
        for i in range(int(WRONG_CODES_PER_ADDRESS.burst) + 3):
            status, _ = await srv.join(WRONG, via=f"198.51.100.{i}")
            statuses.append(status)
        # The test client (127.0.0.1) is not the proxy: every guess is counted against it.
        assert statuses[: int(WRONG_CODES_PER_ADDRESS.burst)] == [404] * 10
        assert set(statuses[int(WRONG_CODES_PER_ADDRESS.burst) :]) == {429}


async def test_real_joins_between_guesses_give_no_guesses_back(
    store_url: str, tmp_path: Path
) -> None:
    async with server(tmp_path, store_url, trusted_proxies=("127.0.0.1",)) as srv:
        token = (await srv.login(via="192.0.2.10"))["token"]
        cls = await srv.new_class(token, via="192.0.2.10")
        attacker = "198.51.100.66"
        statuses = []
        for _ in range(4):  # 9 guesses, 1 real join, as the outside test did
            for _ in range(9):
                statuses.append((await srv.join(WRONG, via=attacker))[0])
            statuses.append((await srv.join(str(cls["join_code"]), via=attacker))[0])
        guesses = [s for i, s in enumerate(statuses) if i % 10 != 9]
        # Only the first burst of wrong codes is looked at; the real joins reset nothing.
        assert guesses.count(404) == WRONG_CODES_PER_ADDRESS.burst
        assert set(guesses[int(WRONG_CODES_PER_ADDRESS.burst) :]) == {429}


async def test_one_tablet_cannot_lock_its_school_out(store_url: str, tmp_path: Path) -> None:
    school, other_school = "203.0.113.5", "198.51.100.9"
    async with server(tmp_path, store_url, trusted_proxies=("127.0.0.1",)) as srv:
        token = (await srv.login(via=school))["token"]
        ours = await srv.new_class(token, via=school)  # made on the school's smartboard
        theirs = await srv.new_class(token, via=other_school)
        for _ in range(int(WRONG_CODES_PER_ADDRESS.burst)):
            assert (await srv.join(WRONG, via=school))[0] == 404
        status, body = await srv.join(WRONG, via=school)
        assert status == 429 and body["error"]["code"] == "RATE_LIMITED"
        # The classmates behind the same NAT address still join their own class...
        for _ in range(5):
            assert (await srv.join(str(ours["join_code"]), via=school))[0] == 201
        # ...but the school's address learns nothing about other classes: a real code of
        # another school answers exactly like a wrong one.
        status, other = await srv.join(str(theirs["join_code"]), via=school)
        assert status == 429 and other["error"]["code"] == body["error"]["code"]
        # Everyone else is unaffected.
        assert (await srv.join(str(theirs["join_code"]), via=other_school))[0] == 201
        assert (await srv.join(str(ours["join_code"]), via="192.0.2.77"))[0] == 201


async def test_one_address_cannot_fill_a_class_with_fake_students(
    store_url: str, tmp_path: Path
) -> None:
    async with server(tmp_path, store_url, trusted_proxies=("127.0.0.1",)) as srv:
        token = (await srv.login(via="192.0.2.10"))["token"]
        cls = await srv.new_class(token, via="192.0.2.10")
        burst = int(STUDENTS_PER_CLASS_AND_ADDRESS.burst)
        for _ in range(burst):
            assert (await srv.join(str(cls["join_code"]), via="198.51.100.66"))[0] == 201
        status, body = await srv.join(str(cls["join_code"]), via="198.51.100.66")
        assert status == 429 and body["error"]["code"] == "RATE_LIMITED"
        roster = await srv.services.store.list_students(str(cls["class_id"]))
        assert len(roster) == burst
        # Another address, and the server's own computer (practice classes), still add.
        assert (await srv.join(str(cls["join_code"]), via="198.51.100.67"))[0] == 201
        assert (await srv.join(str(cls["join_code"])))[0] == 201


def test_draining_the_global_budget_holds_back_only_suspect_addresses() -> None:
    guard = JoinGuard()
    now = 1000.0
    # Many addresses, each within its own allowance, together drain the global budget.
    address = 0
    while guard.held_back_for("192.0.2.250", now) == 0 or address < 5:
        key = f"10.{address // 250}.{address % 250}.1"
        for _ in range(int(WRONG_CODES_PER_ADDRESS.burst)):
            if guard.held_back_for(key, now) == 0:
                guard.wrong_code(key, now)
        address += 1
        if address == 1:
            guard.wrong_code("192.0.2.250", now)  # one typo makes an address a suspect
        if address > 10_000:
            break
    assert address * WRONG_CODES_PER_ADDRESS.burst >= WRONG_CODES_GLOBAL.burst
    # The suspect waits for the global budget; a clean address is not held back at all.
    assert guard.held_back_for("192.0.2.250", now) > 0
    assert guard.held_back_for("192.0.2.251", now) == 0


async def test_a_student_cannot_lock_the_teacher_out(store_url: str, tmp_path: Path) -> None:
    school = "203.0.113.5"
    async with server(tmp_path, store_url, trusted_proxies=("127.0.0.1",)) as srv:
        remembered = (await srv.login(via=school))["device"]
        for _ in range(srv.services.login_lockout.max_failures):
            status, _ = await srv.post(
                "/api/login", {"name": srv.name, "password": "guess-guess"}, via=school
            )
            assert status == 401
        status, body = await srv.post(
            "/api/login", {"name": srv.name, "password": PASSWORD}, via=school
        )
        assert status == 429 and body["error"]["code"] == "RATE_LIMITED"
        # The teacher's own browser (it signed in here before) still gets in...
        assert (await srv.login(via=school, device=remembered))["token"]
        # ...and so does anyone at the server's own computer, however many failures it had.
        for _ in range(srv.services.login_lockout.max_failures + 1):
            status, _ = await srv.post("/api/login", {"name": srv.name, "password": "nope-nope"})
            assert status == 401
        assert (await srv.login())["token"]
        # A remembered-device token of another teacher does not help.
        status, _ = await srv.post(
            "/api/login",
            {"name": "someone-else", "password": PASSWORD, "device": remembered},
            via=school,
        )
        assert status == 401


# 9. revocation and the class list


async def test_sign_out_everywhere_ends_every_teacher_token(running: Running) -> None:
    cls = await running.new_class()
    other_login = await running.api.login(_name(running), PASSWORD)
    console = await running.teacher(str(cls["class_id"]))
    gone = watch_disconnect(console)
    status, body = await running.api.request(
        "POST", "/api/sign-out-everywhere", token=running.teacher_token
    )
    assert status == 200 and body["ok"] is True
    await asyncio.wait_for(gone.wait(), 10)
    for token in (running.teacher_token, other_login):
        status, body = await running.api.request("GET", "/api/classes", token=token)
        assert status == 401 and body["error"]["code"] == "UNAUTHORIZED"
        auth = {"token": token, "class_id": cls["class_id"]}
        assert await refused_code(running.url, auth) == "UNAUTHORIZED"
    fresh = await running.api.login(_name(running), PASSWORD)
    status, _ = await running.api.request("GET", "/api/classes", token=fresh)
    assert status == 200


async def test_changing_the_password_ends_other_tokens(running: Running) -> None:
    name = _name(running)
    second = await running.api.login(name, PASSWORD)
    status, body = await running.api.request(
        "POST",
        "/api/password",
        token=running.teacher_token,
        json={"current_password": "wrong-one-1", "new_password": "new-password-2"},
    )
    assert status == 403 and body["error"]["field"] == "current_password"
    status, body = await running.api.request(
        "POST",
        "/api/password",
        token=running.teacher_token,
        json={"current_password": PASSWORD, "new_password": "new-password-2"},
    )
    assert status == 200, body
    renewed = body["token"]
    for old in (running.teacher_token, second):
        assert (await running.api.request("GET", "/api/classes", token=old))[0] == 401
    assert (await running.api.request("GET", "/api/classes", token=renewed))[0] == 200
    status, _ = await running.api.request(
        "POST", "/api/login", json={"name": name, "password": PASSWORD}
    )
    assert status == 401
    assert await running.api.login(name, "new-password-2")


@pytest.mark.parametrize("how", ["socket", "http"])
async def test_ending_a_class_ends_its_student_and_device_tokens(
    running: Running, how: str
) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    teacher = await running.teacher(class_id)
    student, joined = await running.student(str(cls["join_code"]))
    device = await running.api.device(running.teacher_token, class_id)
    board = Peer("board")
    await board.connect(running.url, {"token": device["token"]})
    student_gone, board_gone = watch_disconnect(student), watch_disconnect(board)
    if how == "socket":
        await teacher.ok("class_end", {})
    else:
        status, _ = await running.api.request(
            "POST", f"/api/classes/{class_id}/end", token=running.teacher_token
        )
        assert status == 200
    await asyncio.wait_for(student_gone.wait(), 10)
    await asyncio.wait_for(board_gone.wait(), 10)
    assert any(name == "class_ended" for name, _ in student.events)  # told before the close
    assert await refused_code(running.url, {"token": joined["token"]}) == "CLASS_ENDED"
    assert await refused_code(running.url, {"token": device["token"]}) == "CLASS_ENDED"
    status, body = await running.api.request(
        "GET", f"/api/classes/{class_id}/pages/p1.svg?token={joined['token']}"
    )
    assert status == 409 and body["error"]["code"] == "CLASS_ENDED"
    # The teacher can still look back at the ended class.
    assert (await teacher.ok("class_snapshot"))["state"]["core"]["ended"] is True
    await teacher.disconnect()


async def test_the_class_list_comes_in_pages(running: Running) -> None:
    made = [str((await running.new_class())["class_id"]) for _ in range(5)]
    seen: list[str] = []
    created: list[int] = []
    before = ""
    pages = 0
    while True:
        path = "/api/classes?limit=2" + (f"&before={before}" if before else "")
        status, body = await running.api.request("GET", path, token=running.teacher_token)
        assert status == 200
        pages += 1
        seen += [c["class_id"] for c in body["classes"]]
        created += [c["created_at"] for c in body["classes"]]
        if body["next"] is None:
            break
        before = body["next"]
    # Every class once, newest first.
    assert pages == 3 and sorted(seen) == sorted(made) and len(set(seen)) == 5
    assert created == sorted(created, reverse=True)
    for bad in ("limit=0", "limit=201", "limit=x", "before=nonsense"):
        status, body = await running.api.request(
            "GET", f"/api/classes?{bad}", token=running.teacher_token
        )
        assert status == 400 and body["error"]["code"] == "INVALID_PAYLOAD", bad


def _name(running: Running) -> str:
    return running.services.signer.check(running.teacher_token).subject


async def test_a_connection_dropped_while_being_accepted_leaves_nothing_behind(
    running: Running,
) -> None:
    cls = await running.new_class()
    joined = await running.api.join(str(cls["join_code"]), "Ali")
    live = running.app[LIVE]
    ws_url = running.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    auth = "40" + json.dumps({"token": joined["token"]})

    async def hang_up() -> None:
        # Send the Socket.IO CONNECT and hang up at once: with many at a time, closes arrive
        # while the server is still checking tokens against the store.
        async with running.api.http.ws_connect(ws_url) as ws:
            await ws.receive()  # Engine.IO open packet
            await ws.send_str(auth)

    for _ in range(3):
        await asyncio.gather(*(hang_up() for _ in range(40)))
    await until(lambda: not live.sessions)
    identity = (str(cls["class_id"]), "student", str(joined["student_id"]))
    assert live.connections.connections(identity) == 0
    runtime = running.services.hub.loaded(str(cls["class_id"]))
    assert runtime is not None
    await until(lambda: runtime.local_clients == 0)
    await until(lambda: not runtime.state.roster.connections)
