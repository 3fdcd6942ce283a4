"""The attacks of ``bench/abuse.py``, run one at a time in their own process.

Each attack is a coroutine ``attack(ctx, seconds) -> dict`` that runs for a bounded time, closes
everything it opened, and returns its own figures plus ``checks``: booleans that say whether the
server behaved as issue 11 asks (True = the defect is not there). They are written to work
against both the server as it is and the hardened one: refusals, closed connections, 429s, error
acks and snapshots in pieces are all counted, never treated as a crash of the benchmark.

Commands on the pipe: ``("run", name, seconds, extra)`` answered ``("result", figures)``;
``("quit",)`` answered ``("bye",)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import resource
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from _abuse_clients import (
    WireSocket,
    ack_error_code,
    ack_value,
    fetch_snapshot,
    frame,
    host_port,
    open_wire,
)

Attack = Callable[[dict[str, Any], float, dict[str, Any]], Awaitable[dict[str, Any]]]
CONNECTED = re.compile(rb'^takhti_connected_clients\{role="student"\} ([0-9.e+]+)$', re.M)


def attacker_process(ctx: dict[str, Any], pipe: Connection) -> None:
    asyncio.run(_serve(ctx, pipe))


async def _serve(ctx: dict[str, Any], pipe: Connection) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of sockets
    queue: asyncio.Queue[Any] = asyncio.Queue()
    asyncio.get_running_loop().add_reader(pipe.fileno(), lambda: queue.put_nowait(pipe.recv()))
    pipe.send(("ready", hard))
    while True:
        command = await queue.get()
        if command[0] == "quit":
            pipe.send(("bye",))
            return
        _, name, seconds, extra = command
        started = time.monotonic()
        try:
            figures = await asyncio.wait_for(ATTACKS[name](ctx, seconds, extra), seconds * 3 + 90)
        except Exception as exc:  # the attack itself broke: say so, keep the run going
            figures = {"bench_error": f"{type(exc).__name__}: {exc}"[:300]}
        figures["attack_s"] = round(time.monotonic() - started, 2)
        pipe.send(("result", figures))


# --- helpers -----------------------------------------------------------------------------------


def session(local_ip: str, *, limit: int = 8, timeout: float = 20.0) -> aiohttp.ClientSession:
    """An HTTP client whose connections come from ``local_ip`` (one tablet's address)."""
    connector = aiohttp.TCPConnector(local_addr=(local_ip, 0), limit=limit, force_close=False)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout))


async def join(
    url: str,
    code: str,
    name: str,
    local_ip: str,
    *,
    deadline_s: float = 20.0,
    timeout: float = 20.0,
) -> tuple[int, dict[str, Any]]:
    """POST /api/join from ``local_ip``; waits out 429s (Retry-After) until ``deadline_s``.

    Status 0 means no answer within ``timeout`` (or the connection failed).
    """
    until = time.monotonic() + deadline_s
    async with session(local_ip, timeout=timeout) as http:
        while True:
            try:
                async with http.post(
                    f"{url}/api/join", json={"join_code": code, "name": name}
                ) as response:
                    body = await _json(response)
                    status = response.status
                    retry = _retry_after(response)
            except (TimeoutError, aiohttp.ClientError) as exc:
                status, body, retry = 0, {"error": repr(exc)}, 1.0
            if (status != 429 and status != 0) or time.monotonic() + retry > until:
                return status, body
            await asyncio.sleep(retry)


def _retry_after(response: aiohttp.ClientResponse) -> float:
    try:
        return min(10.0, max(0.2, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return {}
    return body if isinstance(body, dict) else {}


async def connected_students(url: str) -> float | None:
    """``takhti_connected_clients{role="student"}`` from /metrics (None if it did not answer)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http,
            http.get(f"{url}/metrics") as response,
        ):
            found = CONNECTED.search(await response.read())
            return float(found.group(1)) if found else None
    except (TimeoutError, aiohttp.ClientError, ValueError):
        return None


async def healthz(url: str, local_ip: str, timeout: float = 2.0) -> tuple[bool, float]:
    """Whether /healthz answered 200 within ``timeout`` (fresh connection), and how fast."""
    started = time.monotonic()
    connector = aiohttp.TCPConnector(local_addr=(local_ip, 0), force_close=True)
    try:
        async with (
            aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as http,
            http.get(f"{url}/healthz") as response,
        ):
            await response.read()
            return response.status == 200, time.monotonic() - started
    except (TimeoutError, aiohttp.ClientError, OSError):
        return False, time.monotonic() - started


async def wait_any(futures: list[asyncio.Future[Any]], timeout: float) -> None:
    if futures:
        await asyncio.wait(futures, timeout=timeout)


async def open_student_wire(
    url: str, student: dict[str, Any], **options: Any
) -> tuple[WireSocket | None, str]:
    """A Socket.IO connection for ``student`` (None and the reason when refused)."""
    try:
        wire = await open_wire(url, local_ip=student["ip"], **options)
    except ConnectionRefusedError as exc:  # an HTTP answer instead of the websocket
        return None, f"open: {str(exc).split(' ', 1)[-1][:40]}"
    except Exception as exc:
        return None, f"open: {type(exc).__name__}"
    try:
        await wire.sio_connect({"token": student["token"]})
    except Exception as exc:
        wire.abort()
        return None, wire.refusal or f"connect: {type(exc).__name__}"
    return wire, ""


def rate(count: float, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else 0.0


# --- 1. reserved event names ------------------------------------------------------------------


async def reserved_events(
    ctx: dict[str, Any], seconds: float, extra: dict[str, Any]
) -> dict[str, Any]:
    """A student sends ``connect`` / ``disconnect`` as ordinary events, in a loop.

    Each round: (every 10th) ``disconnect``, then ``connect`` with the student's own auth, then a
    ``clock_sync`` (rate-limited to 10/s, burst 30). If the reserved names run the server's
    handlers, each ``connect`` resets the rate limits and logs a presence event.
    """
    url, student = ctx["url"], ctx["students"]["reserved"][0]
    wire, refused = await open_student_wire(url, student)
    if wire is None:
        return {"bench_error": f"the hostile student could not connect: {refused}"}
    outcome: Counter[str] = Counter()
    clock: Counter[str] = Counter()
    started = time.monotonic()
    deadline = started + seconds
    rounds = 0
    while time.monotonic() < deadline and not wire.lost.done():
        rounds += 1
        reserved = []
        if rounds % 10 == 0:
            reserved.append(wire.call("disconnect"))
        reserved.append(wire.call("connect", {}, {"token": student["token"]}))
        tick = wire.call("clock_sync", {"client_time_ms": time.time() * 1000})
        await wait_any([*reserved, tick], 5.0)
        for fut in reserved:
            outcome[_classify_reserved(fut)] += 1
        code = _ack_code(tick)
        clock["ok" if code is None else code] += 1
    elapsed = time.monotonic() - started
    closed_by_server = wire.closed_by_server
    wire.abort()
    ran = outcome["EMPTY"]  # the handler ran and returned nothing: python-socketio acks []
    allowed_clock = 30 + 10 * elapsed  # burst + rate of the "default" bucket
    return {
        "rounds": rounds,
        "reserved_frames": sum(outcome.values()),
        "reserved_outcomes": dict(outcome),
        "reserved_handled_per_s": rate(ran, elapsed),
        "clock_sync_ok": clock["ok"],
        "clock_sync_ok_per_s": rate(clock["ok"], elapsed),
        "clock_sync_allowed": round(allowed_clock),
        "clock_sync_outcomes": dict(clock),
        "hostile_closed_by_server": closed_by_server,
        "student_id": student["student_id"],
        "checks": {
            "reserved_names_refused": ran == 0,
            "rate_limit_holds": clock["ok"] <= allowed_clock + 2,
        },
    }


def _ack_code(fut: asyncio.Future[bytes]) -> str | None:
    if not fut.done():
        return "NO_ANSWER"
    if fut.exception() is not None:
        return "CLOSED"
    return ack_error_code(fut.result())


def _classify_reserved(fut: asyncio.Future[bytes]) -> str:
    code = _ack_code(fut)
    return "OK" if code is None else code


# --- 2. binary attachments ----------------------------------------------------------------------


async def binary_attachments(
    ctx: dict[str, Any], seconds: float, extra: dict[str, Any]
) -> dict[str, Any]:
    """Three students each declare 9,999,999,999 binary attachments, then stream 1 MiB frames."""
    url = ctx["url"]
    budget = int(ctx["binary_mb"]) * 2**20
    chunk = frame(0x2, bytes(2**20))
    deadline = time.monotonic() + seconds

    async def one(student: dict[str, Any]) -> dict[str, Any]:
        wire, refused = await open_student_wire(url, student)
        if wire is None:
            return {"refused": refused, "sent_mb": 0.0, "closed_by_server": True}
        wire.send_text('459999999999-["poll_vote",{"_placeholder":true,"num":0}]')
        sent = 0
        started = time.monotonic()
        while sent < budget and time.monotonic() < deadline and not wire.lost.done():
            if not wire.send_raw(chunk):
                break
            sent += len(chunk)
            await wire.drain()
        send_s = time.monotonic() - started
        # Hold the connection (and whatever the server buffered for it) to the end of the phase.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(wire.lost), max(0.0, deadline - time.monotonic()))
        closed = wire.closed_by_server
        wire.abort()
        return {
            "sent_mb": round(sent / 2**20, 1),
            "send_s": round(send_s, 2),
            "closed_by_server": closed,
        }

    sockets = await asyncio.gather(*(one(s) for s in ctx["students"]["binary"]))
    accepted = [s["sent_mb"] for s in sockets]
    return {
        "sockets": sockets,
        "mb_sent": round(sum(accepted), 1),
        "sockets_closed_by_server": sum(1 for s in sockets if s["closed_by_server"]),
        "checks": {
            # Refused before any attachment is buffered: the connection closes at the header, so
            # at most what was already in flight (loopback socket buffers: a few MiB) got out.
            "binary_refused": all(s["closed_by_server"] and s["sent_mb"] <= 16 for s in sockets)
        },
    }


# --- 3. long-polling clients that stop polling --------------------------------------------------


async def stalled_polling(
    ctx: dict[str, Any], seconds: float, extra: dict[str, Any]
) -> dict[str, Any]:
    """50 students connect over HTTP long-polling, then never poll again while the class gets ink.

    They keep their Engine.IO session alive the cheap way (a ``3`` pong posted every 2 s, which
    re-arms the server's ping timer without fetching anything), so only a bound on what the server
    queues for them, or on how long a client may go without polling, gets rid of them. At the end
    each one polls once: the answer is its queue (or a refusal if the server dropped it).
    """
    url = ctx["url"]
    base = f"{url}/socket.io/?EIO=4&transport=polling"
    deadline = time.monotonic() + seconds

    async def one(student: dict[str, Any]) -> dict[str, Any]:
        async with session(student["ip"], limit=2) as http:
            try:
                async with http.get(base) as response:
                    opened = await response.text()
                sid = json.loads(opened[opened.index("{") :])["sid"]
                poll = f"{base}&sid={sid}"
                async with http.post(
                    poll, data="40" + json.dumps({"token": student["token"]})
                ) as r:
                    await r.read()
                async with http.get(poll) as response:
                    first = await response.text()
                if "40{" not in first and "40" not in first.split("\x1e"):
                    return {"state": "refused", "detail": first[:120]}
            except (TimeoutError, aiohttp.ClientError, ValueError, KeyError) as exc:
                return {"state": "refused", "detail": repr(exc)[:120]}
            while time.monotonic() < deadline:
                await asyncio.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with http.post(poll, data="3") as r:
                        await r.read()
            try:
                async with http.get(poll, timeout=aiohttp.ClientTimeout(total=5)) as response:
                    body = await response.read()
                    status = response.status
            except (TimeoutError, aiohttp.ClientError):
                return {"state": "dropped", "queued_kb": 0.0}
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with http.post(poll, data="1") as r:
                    await r.read()
            if status != 200:
                return {"state": "dropped", "queued_kb": 0.0}
            packets = body.split(b"\x1e")
            state = "closed" if b"1" in packets else "connected"
            return {"state": state, "queued_kb": round(len(body) / 1024, 1)}

    clients = await asyncio.gather(*(one(s) for s in ctx["students"]["polling"]))
    states = Counter(c["state"] for c in clients)
    queued = [c.get("queued_kb", 0.0) for c in clients if c["state"] == "connected"]
    return {
        "pollers": len(clients),
        "states_at_end": dict(states),
        "still_connected_at_end": states["connected"],
        "queued_kb_mean": round(statistics.mean(queued), 1) if queued else 0.0,
        "queued_kb_max": max(queued) if queued else 0.0,
        "refusals": [c["detail"] for c in clients if c["state"] == "refused"][:3],
        "checks": {"stalled_pollers_dropped": states["connected"] == 0},
    }


# --- 4. many connections on one token ---------------------------------------------------------


async def token_connections(
    ctx: dict[str, Any], seconds: float, extra: dict[str, Any]
) -> dict[str, Any]:
    """One student token opens up to 2,000 connections (64 at a time), then drops them all."""
    url, student = ctx["url"], ctx["students"]["tokens"][0]
    target = int(ctx["token_connections"])
    started = time.monotonic()
    open_until = started + seconds * 0.6
    deadline = started + seconds
    baseline = await connected_students(url)
    alive: list[WireSocket] = []
    outcome: Counter[str] = Counter()
    open_ms: list[float] = []
    peak_alive = 0
    peak_metric = baseline or 0.0
    attempts = 0

    async def opener() -> None:
        nonlocal attempts
        while attempts < target and time.monotonic() < open_until:
            attempts += 1
            t0 = time.monotonic()
            wire, refused = await open_student_wire(url, student, timeout=10.0)
            if wire is None:
                outcome["refused" if refused.startswith("44") else refused] += 1
                continue
            open_ms.append((time.monotonic() - t0) * 1000)
            outcome["opened"] += 1
            alive.append(wire)

    def alive_now() -> int:
        return sum(1 for w in alive if not w.lost.done() and not w.sio_disconnected)

    async def sampler() -> None:
        nonlocal peak_alive, peak_metric
        while time.monotonic() < open_until:
            peak_alive = max(peak_alive, alive_now())
            value = await connected_students(url)
            if value is not None:
                peak_metric = max(peak_metric, value)
            await asyncio.sleep(0.5)

    watch = asyncio.create_task(sampler())
    await asyncio.gather(*(opener() for _ in range(64)))
    open_s = time.monotonic() - started
    peak_alive = max(peak_alive, alive_now())
    watch.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watch
    # "The newest wins": older connections of the token closed, or told to disconnect.
    kicked = sum(1 for w in alive if w.closed_by_server or w.sio_disconnected)
    dropped_at = time.monotonic()
    for wire in alive:
        wire.abort()
    # How long until the server's count of connected students is back where it was.
    drain_s: float | None = None
    while time.monotonic() < deadline + 20:
        value = await connected_students(url)
        if value is not None and baseline is not None and value <= baseline:
            drain_s = round(time.monotonic() - dropped_at, 2)
            break
        await asyncio.sleep(0.25)
    open_ms.sort()
    return {
        "attempts": attempts,
        "outcomes": dict(outcome),
        "open_s": round(open_s, 2),
        "opens_per_s": rate(outcome["opened"], open_s),
        "open_p50_ms": round(open_ms[len(open_ms) // 2], 1) if open_ms else None,
        "open_max_ms": round(open_ms[-1], 1) if open_ms else None,
        "kicked_by_server_before_drop": kicked,
        "peak_alive_on_token": peak_alive,
        "connected_students_peak_metric": peak_metric,
        "connected_students_before": baseline,
        "drain_s": drain_s,
        "checks": {
            "connections_per_token_bounded": peak_alive <= 16,
            "drop_drains_quickly": drain_s is not None and drain_s <= 5.0,
        },
    }


# --- 5. join-code guessing and forged X-Forwarded-For ------------------------------------------


async def join_guessing(
    ctx: dict[str, Any], seconds: float, extra: dict[str, Any]
) -> dict[str, Any]:
    """Guess join codes from one address, 9 wrong guesses then 1 real join, 4 at a time; then the
    same with a forged X-Forwarded-For on every request; then try to lock out a victim's address
    and the teacher's with forged headers, and a neighbour behind the trusted proxy by guessing
    through it, and check they all still get in."""
    url, code = ctx["url"], ctx["join_code"]
    alphabet, length = ctx["join_alphabet"], ctx["join_length"]
    rng = random.Random(11)
    addresses = ctx["addresses"]
    attacker_ip, victim_ip = addresses["guesser"], addresses["victim"]

    def wrong() -> str:
        while True:
            guess = "".join(rng.choice(alphabet) for _ in range(length))
            if guess != code:
                return guess

    async def hammer(until: float, *, forge: bool, real_every: int) -> Counter[str]:
        counts: Counter[str] = Counter()
        serial = 0
        async with session(attacker_ip, limit=4) as http:

            async def worker() -> None:
                nonlocal serial
                while time.monotonic() < until:
                    serial += 1
                    real = real_every and serial % real_every == 0
                    headers = {}
                    if forge:
                        headers["X-Forwarded-For"] = (
                            f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                        )
                    body = {"join_code": code if real else wrong(), "name": f"Guesser {serial}"}
                    try:
                        async with http.post(f"{url}/api/join", json=body, headers=headers) as r:
                            await r.read()
                            status = r.status
                    except (TimeoutError, aiohttp.ClientError):
                        status = 0
                    kind = "join" if real else "guess"
                    counts[f"{kind}_{status}"] += 1

            await asyncio.gather(*(worker() for _ in range(4)))
        return counts

    started = time.monotonic()
    plain_until = started + seconds * 0.5
    plain = await hammer(plain_until, forge=False, real_every=10)
    plain_s = time.monotonic() - started
    forged_started = time.monotonic()
    forged = await hammer(forged_started + seconds * 0.3, forge=True, real_every=0)
    forged_s = time.monotonic() - forged_started

    # Lock-outs as a weapon: wrong guesses / logins claiming to come from someone else.
    async with session(attacker_ip, limit=4) as http:
        for _ in range(15):
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with http.post(
                    f"{url}/api/join",
                    json={"join_code": wrong(), "name": "x"},
                    headers={"X-Forwarded-For": victim_ip},
                ) as r:
                    await r.read()
        for _ in range(12):
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with http.post(
                    f"{url}/api/login",
                    json={"name": ctx["teacher_name"], "password": "wrong-password"},
                    headers={"X-Forwarded-For": "127.0.0.1"},
                ) as r:
                    await r.read()
    # Behind the school's proxy: a tablet guessing there must not lock out the one next to it.
    proxy = ctx["proxy_address"]
    async with session(proxy, limit=4) as http:
        for _ in range(15):
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with http.post(
                    f"{url}/api/join",
                    json={"join_code": wrong(), "name": "x"},
                    headers={"X-Forwarded-For": "192.168.7.1"},
                ) as r:
                    await r.read()
        try:
            async with http.post(
                f"{url}/api/join",
                json={"join_code": code, "name": "Behind the proxy"},
                headers={"X-Forwarded-For": "192.168.7.2"},
            ) as r:
                proxied_status = r.status
        except (TimeoutError, aiohttp.ClientError):
            proxied_status = 0
    victim_status, _ = await join(url, code, "Victim", victim_ip, deadline_s=0, timeout=10)
    shared_status, _ = await join(url, code, "Classmate", attacker_ip, deadline_s=0, timeout=10)
    async with (
        session("127.0.0.1") as http,
        http.post(
            f"{url}/api/login",
            json={"name": ctx["teacher_name"], "password": ctx["password"]},
        ) as r,
    ):
        teacher_status = r.status

    guesses = plain["guess_404"]
    forged_guesses = forged["guess_404"]
    space = len(alphabet) ** length
    per_s = guesses / plain_s if plain_s else 0.0
    return {
        "plain": dict(plain),
        "guesses_per_s": rate(guesses, plain_s),
        "guesses_per_5_min": round(per_s * 300),
        "fake_students_created": plain["join_201"],
        "years_to_hit_one_class_at_this_rate": round(space / 2 / per_s / 31_557_600, 3)
        if per_s
        else None,
        "forged": dict(forged),
        "forged_xff_guesses_per_s": rate(forged_guesses, forged_s),
        "victim_join_status": victim_status,
        "shared_address_join_status": shared_status,
        "teacher_login_status": teacher_status,
        "behind_proxy_join_status": proxied_status,
        "checks": {
            # 9 guesses per real join must not buy a fresh allowance: a handful per minute at most.
            "guessing_bounded": guesses <= 20 + plain_s / 6,
            "forged_xff_ignored": forged_guesses <= 20 + forged_s / 6,
            "victim_not_locked_out": victim_status == 201,
            "shared_address_not_locked_out": shared_status == 201,
            "teacher_not_locked_out": teacher_status == 200,
            "proxy_neighbour_not_locked_out": proxied_status == 201,
        },
    }


# --- 6. snapshot requests from one student ------------------------------------------------------


async def snapshot_flood(
    ctx: dict[str, Any], seconds: float, extra: dict[str, Any]
) -> dict[str, Any]:
    """One student sends 60 ``class_snapshot`` requests at once (a ~9 MB board), reads fast.

    Paged where the server knows ``paged`` (then one ``class_snapshot_piece`` for each cursor
    that comes back, as a hostile client would), whole otherwise.
    """
    url, student = ctx["url"], ctx["students"]["flood"][0]
    wire, refused = await open_student_wire(url, student, deflate=True)
    if wire is None:
        return {"bench_error": f"the student could not connect: {refused}"}
    started = time.monotonic()
    deadline = started + seconds
    probe = wire.call("class_snapshot", {"paged": True})
    await wait_any([probe], seconds)
    paged = _ack_code(probe) != "INVALID_PAYLOAD"
    request = {"paged": True} if paged else {}
    futures = [probe] + [wire.call("class_snapshot", request) for _ in range(59)]
    await wait_any(futures, max(0.0, deadline - time.monotonic()))
    pieces: list[asyncio.Future[bytes]] = []
    for fut in futures:
        if fut.done() and fut.exception() is None and len(fut.result()) < 2**20:
            cursor = (ack_value(fut.result()) or {}).get("cursor")
            if cursor is not None:
                pieces.append(wire.call("class_snapshot_piece", {"cursor": cursor}))
    await wait_any(pieces, max(0.0, deadline - time.monotonic()))
    last = time.monotonic() - started
    answered = [f for f in futures + pieces if f.done() and f.exception() is None]
    sizes = [len(f.result()) for f in answered]
    closed = wire.closed_by_server
    wire.abort()
    return {
        "paged": paged,
        "requests": len(futures),
        "outcomes": dict(Counter(_classify_reserved(f) for f in futures)),
        "piece_requests": len(pieces),
        "piece_outcomes": dict(Counter(_classify_reserved(f) for f in pieces)),
        "answered_mb": round(sum(sizes) / 2**20, 1),
        "largest_answer_mb": round(max(sizes) / 2**20, 2) if sizes else 0.0,
        "seconds_to_last_answer": round(last, 2),
        "closed_by_server": closed,
    }


# --- 7. a late joiner on a slow link ------------------------------------------------------------


async def late_joiner(ctx: dict[str, Any], seconds: float, extra: dict[str, Any]) -> dict[str, Any]:
    """A student joins now and fetches the board through a link that reads 1 MB/s.

    It asks as :func:`_abuse_clients.fetch_snapshot` does: in pieces where the server offers
    them (``paged`` / ``cursor`` / ``more``), else the whole state in one ack. Attempts alternate
    between a client that negotiates permessage-deflate (a browser) and one that does not (a
    proxy that strips it), until the phase ends (an attempt under way may finish, up to 60 s).
    """
    url = ctx["url"]
    ip = ctx["addresses"]["late"]
    status, body = await join(url, ctx["join_code"], "Late joiner", ip)
    if status != 201:
        return {"bench_error": f"join answered {status}: {body}"}
    student = {"token": body["token"], "ip": ip}
    read_rate = float(ctx["late_read_rate"])
    started = time.monotonic()
    deadline = started + seconds
    attempts: list[dict[str, Any]] = []
    while len(attempts) < 6 and (not attempts or time.monotonic() < deadline):
        deflate = len(attempts) % 2 == 0
        attempts.append(await _fetch_board(url, student, read_rate, deflate, timeout=60.0))
    ok = [a for a in attempts if a["result"] == "ok"]
    return {
        "read_rate_mb_s": round(read_rate / 2**20, 2),
        "attempts": attempts,
        "succeeded": len(ok),
        "checks": {"late_joiner_gets_in": len(ok) == len(attempts)},
    }


async def _fetch_board(
    url: str, student: dict[str, Any], read_rate: float, deflate: bool, *, timeout: float
) -> dict[str, Any]:
    started = time.monotonic()
    wire, refused = await open_student_wire(
        url, student, deflate=deflate, read_rate=read_rate, rcvbuf=128 * 1024
    )
    if wire is None:
        return {"deflate": deflate, "result": f"refused: {refused}"}

    async def request(event: str, payload: dict[str, Any]) -> tuple[Any, int]:
        fut = wire.call(event, payload)
        await wait_any([fut], max(0.1, timeout - (time.monotonic() - started)))
        if not fut.done():
            raise TimeoutError("no answer")
        raw = fut.result()  # raises when the connection was dropped
        return ack_value(raw), len(raw)

    try:
        found = await fetch_snapshot(request)
    except TimeoutError:
        found = {"result": "timeout"}
    except ConnectionError:
        found = {"result": "dropped"}
    finally:
        wire.abort()
    size = found.pop("bytes", 0)
    return {
        "deflate": deflate,
        **found,
        "snapshot_mb": round(size / 2**20, 2),
        "wire_mb": round(wire.wire_bytes / 2**20, 2),
        "seconds": round(time.monotonic() - started, 2),
    }


# --- 8. concurrent large image uploads ----------------------------------------------------------


async def image_uploads(
    ctx: dict[str, Any], seconds: float, extra: dict[str, Any]
) -> dict[str, Any]:
    """The teacher's token uploads six 40-megapixel PNGs at once as page backgrounds, then six
    12-megapixel ones at once (what a server with a decode budget still decodes)."""
    url, class_id = ctx["url"], ctx["class_id"]
    headers = {"Authorization": f"Bearer {ctx['teacher_token']}", "Content-Type": "image/png"}
    started = time.monotonic()

    async def one(http: aiohttp.ClientSession, picture: bytes) -> tuple[int, float]:
        t0 = time.monotonic()
        try:
            async with http.post(
                f"{url}/api/classes/{class_id}/images",
                data=picture,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=120),
            ) as r:
                await r.read()
                return r.status, time.monotonic() - t0
        except (TimeoutError, aiohttp.ClientError):
            return 0, time.monotonic() - t0

    figures: dict[str, Any] = {}
    statuses: Counter[int] = Counter()
    async with session("127.0.0.1", limit=6) as http:
        for label, key in (("40mp", "png_path"), ("12mp", "png_decoded_path")):
            picture = Path(ctx[key]).read_bytes()
            t0 = time.monotonic()
            results = await asyncio.gather(*(one(http, picture) for _ in range(6)))
            statuses.update(status for status, _ in results)
            figures[label] = {
                "png_mb": round(len(picture) / 2**20, 2),
                "statuses": dict(Counter(status for status, _ in results)),
                "slowest_upload_s": round(max(s for _, s in results), 2),
                "all_done_s": round(time.monotonic() - t0, 2),
            }
    upload_s = time.monotonic() - started
    # Stay to the end of the phase: does the memory come back afterwards?
    await asyncio.sleep(max(0.0, seconds - upload_s))
    return {**figures, "statuses": dict(statuses), "all_done_s": round(upload_s, 2)}


# --- 9. invalid websocket frames ----------------------------------------------------------------

INVALID_FRAMES = (
    bytes((0xF3, 0x80)) + bytes(4),  # reserved opcode 3 with RSV bits set
    frame(0x1, b"\xff\xfe\xfd"),  # text that is not UTF-8
    bytes((0x83, 0x80)) + bytes(4),  # reserved opcode 3
    bytes((0x81, 0x05)) + b"hello",  # unmasked client frame
)


async def invalid_frames(
    ctx: dict[str, Any], seconds: float, extra: dict[str, Any]
) -> dict[str, Any]:
    """Open a websocket (no token needed), send one invalid frame, repeat; 8 at a time."""
    url = ctx["url"]
    deadline = time.monotonic() + seconds
    counts: Counter[str] = Counter()
    ips = ctx["addresses"]["frames"]

    async def worker(k: int) -> None:
        serial = k
        while time.monotonic() < deadline and sum(counts.values()) < 200_000:
            serial += 8
            try:
                wire = await open_wire(url, local_ip=ips[serial % len(ips)], timeout=3.0)
            except Exception:
                counts["no_handshake"] += 1
                await asyncio.sleep(0.05)
                continue
            wire.send_raw(INVALID_FRAMES[serial % len(INVALID_FRAMES)])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(wire.lost), 1.0)
            counts["closed_by_server" if wire.closed_by_server else "left_open"] += 1
            wire.abort()

    started = time.monotonic()
    await asyncio.gather(*(worker(k) for k in range(8)))
    elapsed = time.monotonic() - started
    sent = counts["closed_by_server"] + counts["left_open"]
    return {
        "frames_sent": sent,
        "frames_per_s": rate(sent, elapsed),
        "outcomes": dict(counts),
    }


# --- 10. descriptor exhaustion --------------------------------------------------------------------


class Idle(asyncio.Protocol):
    """A TCP connection that sends at most a first piece and then waits; notes when it closed."""

    def __init__(self, first: bytes) -> None:
        self.first = first
        self.opened_at = time.monotonic()
        self.lost_at: float | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.opened_at = time.monotonic()
        if self.first:
            self.transport.write(self.first)

    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost_at = time.monotonic()
        if not self.lost.done():
            self.lost.set_result(None)


async def fd_exhaustion(
    ctx: dict[str, Any], seconds: float, extra: dict[str, Any]
) -> dict[str, Any]:
    """Half-open HTTP requests and idle sockets, up to the server's open-file limit and past it.

    Each slot (the server's free descriptors + 64) holds one connection, half of them with an
    unfinished request, and opens a new one when the server closes it: the pressure stays on
    (at most 4 opens a slot). Meanwhile /healthz is asked every second and, at 60% of the phase,
    one student tries to join, each on a fresh connection from its own address.
    """
    url = ctx["url"]
    host, port = host_port(url)
    loop = asyncio.get_running_loop()
    count = max(0, min(int(extra["fd_headroom"]) + 64, 4000))
    ips = ctx["addresses"]["fd"]
    half_open = f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: slow\r\n".encode()
    conns: list[Idle] = []
    lifetimes: list[float] = []
    failures: Counter[str] = Counter()
    started = time.monotonic()
    deadline = started + seconds
    gate = asyncio.Semaphore(128)
    first_wave: list[int] = []

    async def slot(k: int) -> None:
        for _ in range(4):
            if time.monotonic() >= deadline:
                return
            async with gate:
                try:
                    _, proto = await asyncio.wait_for(
                        loop.create_connection(
                            lambda: Idle(half_open if k % 2 else b""),
                            host,
                            port,
                            local_addr=(ips[k % len(ips)], 0),
                        ),
                        2.0,
                    )
                except (TimeoutError, OSError) as exc:
                    failures[type(exc).__name__] += 1
                    await asyncio.sleep(0.25)
                    continue
            conns.append(proto)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.shield(proto.lost), max(0.0, deadline - time.monotonic())
                )
            if proto.lost_at is None:
                return
            lifetimes.append(proto.lost_at - proto.opened_at)
            await asyncio.sleep(0.1)

    health: list[tuple[bool, float]] = []

    async def probe() -> None:
        while time.monotonic() < deadline:
            health.append(await healthz(url, ctx["addresses"]["health"]))
            await asyncio.sleep(max(0.0, 1.0 - health[-1][1]))

    async def join_midway() -> int:
        await asyncio.sleep(seconds * 0.6)
        status, _ = await join(
            url,
            ctx["join_code"],
            "Joins during exhaustion",
            ctx["addresses"]["fd_join"],
            deadline_s=0,
            timeout=5.0,
        )
        return status

    async def note_first_wave() -> None:
        await asyncio.sleep(min(2.0, seconds * 0.2))
        first_wave.append(sum(1 for c in conns if c.lost_at is None))

    prober = asyncio.create_task(probe())
    joiner = asyncio.create_task(join_midway())
    noter = asyncio.create_task(note_first_wave())
    await asyncio.gather(*(slot(k) for k in range(count)))
    join_status = await joiner
    await noter
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(prober, 5)
    for c in conns:
        if c.transport is not None:
            c.transport.abort()
    ok = sum(1 for good, _ in health if good)
    held = first_wave[0] if first_wave else 0
    return {
        "server_fd_headroom": extra["fd_headroom"],
        "slots": count,
        "connections_opened": len(conns),
        "open_after_2s": held,
        "connect_failures": dict(failures),
        "closed_by_server": len(lifetimes),
        "closed_by_server_median_s": round(statistics.median(lifetimes), 2) if lifetimes else None,
        "healthz_ok": ok,
        "healthz_tries": len(health),
        "join_status": join_status,
        "checks": {
            "healthz_answers": bool(health) and ok >= 0.8 * len(health),
            "join_answers": join_status == 201,
            "idle_sockets_time_out": bool(lifetimes) and len(lifetimes) >= 0.9 * held,
        },
    }


# In the order they run. Join guessing comes after the attacks that join students, so that a
# server that slows every join down after guessing does not spoil them; descriptor exhaustion
# comes last.
ATTACKS: dict[str, Attack] = {
    "reserved_events": reserved_events,
    "binary_attachments": binary_attachments,
    "stalled_polling": stalled_polling,
    "token_connections": token_connections,
    "snapshot_flood": snapshot_flood,
    "late_joiner": late_joiner,
    "join_guessing": join_guessing,
    "image_uploads": image_uploads,
    "invalid_frames": invalid_frames,
    "fd_exhaustion": fd_exhaustion,
}
