"""Lesson audio segments over a real socket and HTTP: stored once, served, and bad ones refused."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from boardclient.audio import encode_opus
from classroom.audio import check_segment
from classroom.errors import InvalidPayload
from classroom.protocol.audio import MAX_SEGMENT_BYTES
from testkit.audio import beeps, other_codec_file
from testkit.client import Peer
from tests.conftest import Running


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _segment(segment_id: str = "au-1", seconds: float = 1.0, **fields: Any) -> dict[str, Any]:
    return {
        "segment_id": segment_id,
        "captured_at_ms": _now_ms() - round(seconds * 1000),
        "duration_ms": round(seconds * 1000),
        "codec": "opus",
        "container": "ogg",
        "audio": encode_opus(beeps(seconds, [seconds / 2])),
        **fields,
    }


async def _board(running: Running) -> tuple[str, Peer, Peer]:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    device = await running.api.device(running.teacher_token, class_id)
    board = Peer("board")
    await board.connect(running.url, {"token": device["token"]})
    teacher = await running.teacher(class_id)
    return class_id, board, teacher


def _added(peer: Peer) -> list[dict[str, Any]]:
    return [e["data"] for e in peer.log_events() if e["type"] == "audio_added"]


async def test_a_board_segment_is_stored_once_logged_and_served(running: Running) -> None:
    class_id, board, teacher = await _board(running)
    segment = _segment("au-1", 2.0)
    ack = await board.ok("audio_segment", segment)
    assert ack["duplicate"] is False and ack["asset_id"] == "au-au-1"
    assert ack["duration_ms"] == 2000

    # A retry (the ack was lost) is answered with the first one's seq, and stored once.
    again = await board.ok("audio_segment", segment)
    assert again["duplicate"] is True and again["seq"] == ack["seq"]
    await teacher.wait_until(lambda: len(_added(teacher)) == 1)
    data = _added(teacher)[0]
    assert data["captured_at_ms"] == segment["captured_at_ms"]
    assert data["duration_ms"] == 2000 and data["codec"] == "opus"
    assert data["sample_rate"] == 48000 and data["channels"] == 1

    status, body = await running.api.request(
        "GET", f"/api/classes/{class_id}/assets/{data['asset_id']}", token=running.teacher_token
    )
    assert status == 200 and body == segment["audio"]
    snap = await teacher.ok("class_snapshot", {})
    assert snap["state"]["audio"] == {"segments": 1, "duration_ms": 2000}
    await board.disconnect()
    await teacher.disconnect()


async def test_the_console_uploads_webm_over_http(running_sqlite: Running) -> None:
    running = running_sqlite
    class_id, board, teacher = await _board(running)
    audio = encode_opus(beeps(1.5, [0.2]), container="webm")
    query = (
        f"segment_id=console-1&captured_at_ms={_now_ms() - 1500}&duration_ms=1500"
        "&codec=opus&container=webm"
    )
    path = f"/api/classes/{class_id}/audio?{query}"
    status, body = await running.api.request("POST", path, token=running.teacher_token, data=audio)
    assert status == 201, body
    assert body["asset_id"] == "au-console-1" and body["duration_ms"] == 1500
    status, again = await running.api.request("POST", path, token=running.teacher_token, data=audio)
    assert status == 200 and again["duplicate"] is True and again["seq"] == body["seq"]
    # The same id from another sender is refused, not taken as its retry.
    other = {**_segment("console-1"), "container": "webm", "audio": audio, "duration_ms": 1500}
    ack = await board.call("audio_segment", other)
    assert ack["error"]["code"] == "CONFLICT" and ack["error"]["field"] == "segment_id"
    await teacher.wait_until(lambda: len(_added(teacher)) == 1)
    assert _added(teacher)[0]["container"] == "webm"
    assert teacher.log_events()[-1]["by"]["role"] == "teacher"
    await board.disconnect()
    await teacher.disconnect()


def _bad_cases() -> list[tuple[str, dict[str, Any], str, str]]:
    one_second = beeps(1.0, [0.5])
    opus = encode_opus(one_second)
    year_ms = 365 * 24 * 3600_000
    return [
        ("not audio", {"audio": b"\x00" * 4000}, "INVALID_PAYLOAD", "audio"),
        ("truncated", {"audio": opus[: len(opus) // 2]}, "INVALID_PAYLOAD", "audio"),
        (
            "flac, not opus",
            {"audio": other_codec_file(one_second, "flac", "ogg")},
            "INVALID_PAYLOAD",
            "codec",
        ),
        (
            "mp3 said to be ogg",
            {"audio": other_codec_file(one_second, "mp3", "mp3")},
            "INVALID_PAYLOAD",
            "audio",
        ),
        ("ogg said to be webm", {"container": "webm"}, "INVALID_PAYLOAD", "audio"),
        ("codec field", {"codec": "mp3"}, "INVALID_PAYLOAD", "codec"),
        (
            "oversized",
            {"audio": b"OggS" * (MAX_SEGMENT_BYTES // 4 + 1)},
            "INVALID_PAYLOAD",
            "audio",
        ),
        ("too long stated", {"duration_ms": 10_001}, "INVALID_PAYLOAD", "duration_ms"),
        ("wrong duration", {"duration_ms": 3000}, "INVALID_PAYLOAD", "duration_ms"),
        (
            "12 s of audio",
            {"audio": encode_opus(beeps(12.0, [1.0])), "duration_ms": 10_000},
            "INVALID_PAYLOAD",
            "duration_ms",
        ),
        (
            "a year ago",
            {"captured_at_ms": _now_ms() - year_ms},
            "INVALID_PAYLOAD",
            "captured_at_ms",
        ),
        (
            "in the future",
            {"captured_at_ms": _now_ms() + 5 * 60_000},
            "INVALID_PAYLOAD",
            "captured_at_ms",
        ),
        ("bad id", {"segment_id": "../../etc"}, "INVALID_PAYLOAD", "segment_id"),
        ("float time", {"captured_at_ms": 1.5}, "INVALID_PAYLOAD", "captured_at_ms"),
    ]


async def test_bad_segments_are_refused_and_nothing_is_stored(running_unlimited: Running) -> None:
    running = running_unlimited
    class_id, board, teacher = await _board(running)
    cls = await running.services.store.get_class(class_id)
    assert cls is not None
    student, _ = await running.student(cls.join_code, "Sana")
    head = (await teacher.ok("class_snapshot", {}))["seq"]
    for i, (what, change, code, field) in enumerate(_bad_cases()):
        segment = {**_segment(f"bad-{i}"), **change}
        ack = await board.call("audio_segment", segment)
        assert not ack["ok"], what
        assert ack["error"]["code"] == code, (what, ack)
        assert ack["error"].get("field") == field, (what, ack)
        assert "Traceback" not in ack["error"]["message"]
        segment_id = str(segment["segment_id"])
        assert await running.services.store.get_asset(class_id, f"au-{segment_id}") is None, what

    # Audio from a student is refused by role (without the bytes: a student's binary packet
    # would close its connection).
    from_student = {k: v for k, v in _segment("from-student").items() if not isinstance(v, bytes)}
    ack = await student.call("audio_segment", from_student)
    assert ack["error"]["code"] == "FORBIDDEN"

    # Nothing was logged; the class goes on, and the next good segment is taken.
    snap = await teacher.ok("class_snapshot", {})
    assert snap["seq"] == head and snap["state"]["audio"]["segments"] == 0
    assert _added(teacher) == []
    await board.ok("audio_segment", _segment("good"))
    await teacher.wait_until(lambda: len(_added(teacher)) == 1)
    await student.ok("hand_raise", {"raised": True})
    for peer in (board, teacher, student):
        await peer.disconnect()


async def test_http_upload_errors(running_sqlite: Running) -> None:
    running = running_sqlite
    class_id, board, teacher = await _board(running)
    base = f"/api/classes/{class_id}/audio"
    fields = f"segment_id=c1&captured_at_ms={_now_ms() - 1000}&duration_ms=1000&container=ogg"
    opus = encode_opus(beeps(1.0, [0.5]))

    status, body = await running.api.request(
        "POST", f"{base}?{fields}", token=running.teacher_token, data=b"x" * (MAX_SEGMENT_BYTES + 1)
    )
    assert status == 413 and body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    status, body = await running.api.request(
        "POST",
        f"{base}?segment_id=c1&duration_ms=1000&container=ogg",
        token=running.teacher_token,
        data=opus,
    )
    assert status == 400 and body["error"]["field"] == "captured_at_ms"
    status, body = await running.api.request(
        "POST",
        f"{base}?{fields.replace('container=ogg', 'container=wav')}",
        token=running.teacher_token,
        data=opus,
    )
    assert status == 400 and body["error"]["field"] == "container"
    cls = await running.services.store.get_class(class_id)
    assert cls is not None
    joined = await running.api.join(cls.join_code, "Bilal")
    status, body = await running.api.request(
        "POST", f"{base}?{fields}", token=str(joined["token"]), data=opus
    )
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    snap = await teacher.ok("class_snapshot", {})
    assert snap["state"]["audio"]["segments"] == 0
    status, body = await running.api.request(
        "POST", f"{base}?{fields}", token=running.teacher_token, data=opus
    )
    assert status == 201, body
    await board.disconnect()
    await teacher.disconnect()


async def test_audio_is_taken_after_the_class_ended(running_sqlite: Running) -> None:
    """A late upload (after an outage) or an attached recording still joins the lesson."""
    running = running_sqlite
    class_id, board, teacher = await _board(running)
    captured = _now_ms() - 2000
    await board.disconnect()
    await teacher.ok("class_end", {})
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/audio?segment_id=late&captured_at_ms={captured}"
        "&duration_ms=1000&container=ogg",
        token=running.teacher_token,
        data=encode_opus(beeps(1.0, [0.5])),
    )
    assert status == 201, body
    await teacher.disconnect()


def test_damaged_segments_are_refused_never_crash_the_check() -> None:
    """Seeded byte flips, cuts and splices of a real segment: each decodes or is refused."""
    rng = np.random.default_rng(12)
    good = encode_opus(beeps(2.0, [0.5, 1.5]))
    refused = 0
    for _ in range(300):
        data = bytearray(good)
        kind = rng.integers(3)
        if kind == 0:
            for index in rng.integers(0, len(data), size=int(rng.integers(1, 20))):
                data[index] ^= 1 << int(rng.integers(8))
        elif kind == 1:
            data = data[: int(rng.integers(16, len(data)))]
        else:
            start = int(rng.integers(0, len(data)))
            data[start:start] = (
                rng.integers(0, 256, size=int(rng.integers(1, 2000))).astype(np.uint8).tobytes()
            )
        try:
            decoded = check_segment(bytes(data), "ogg", 2000)
        except InvalidPayload as exc:
            refused += 1
            assert exc.field in {"audio", "codec", "duration_ms"}
        else:
            assert abs(decoded.duration_ms - 2000) <= 500
    assert refused > 0
