"""Hostile files and bodies over real HTTP: a clear 400/413 with a stable code, nothing stored,
and the server keeps answering (issue 11 item 8)."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image, PngImagePlugin

from testkit.client import Peer
from tests.conftest import Running

DEEP = 100_000
LONG_NUMBER = "1" * 5_000  # over Python's 4,300-digit int/str limit
HUGE_NUMBER = "9" * 4_000  # an int, but too large for a float


async def _quizzes(running: Running, class_id: str) -> list[object]:
    teacher = await running.teacher(class_id)
    snapshot = await teacher.ok("class_snapshot")
    await teacher.disconnect()
    return list(snapshot["state"]["quizzes"]["quizzes"])


async def _still_serving(running: Running) -> None:
    status, body = await running.api.request("GET", "/healthz")
    assert status == 200 and body["ok"] is True


QUIZ_FILES = {
    "deep.json": b"[" * DEEP + b"]" * DEEP,
    "deep-questions.json": b'{"questions": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "deep.yaml": b"[" * DEEP + b"]" * DEEP,
    "deep-block.yaml": b"questions:\n" + b"".join(b" " * i + b"- \n" for i in range(1, 1_200)),
    "long-number.json": (
        b'{"questions": [{"question": "q", "type": "numeric", "correct": '
        + LONG_NUMBER.encode()
        + b"}]}"
    ),
    "huge-number.json": (
        b'{"questions": [{"question": "q", "type": "numeric", "correct": '
        + HUGE_NUMBER.encode()
        + b"}]}"
    ),
    "long-number.yaml": (
        b"questions:\n- question: q\n  type: numeric\n  correct: " + LONG_NUMBER.encode() + b"\n"
    ),
    "huge-number.yaml": (
        b"questions:\n- question: q\n  type: numeric\n  correct: " + HUGE_NUMBER.encode() + b"\n"
    ),
    "long-number.csv": b"question,type,correct\nq,numeric," + LONG_NUMBER.encode() + b"\n",
    "wide-header.csv": b"question," + b"x" * 200_000 + b"\nq,1\n",
    "wide-cell.csv": b"question,type,correct\n" + b"q" * 200_000 + b",true_false,true\n",
}


def billion_laughs(size: int = 1_000_000) -> bytes:
    """A YAML file of nested aliases (each level ten times the last), about ``size`` bytes."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        refs = ",".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    body = "\n".join(lines) + "\n"
    filler = ",".join(["*a9"] * 40)
    index = 0
    while len(body) < size:
        body += f"b{index}: [{filler}]\n"
        index += 1
    return body.encode()


@pytest.mark.parametrize("route", ["quizzes", "quizzes/parse"])
@pytest.mark.parametrize("filename", sorted(QUIZ_FILES))
async def test_hostile_quiz_files_are_refused(
    running_sqlite: Running, route: str, filename: str
) -> None:
    running = running_sqlite
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/{route}?filename={filename}",
        token=running.teacher_token,
        data=QUIZ_FILES[filename],
    )
    assert status == 400, body
    assert body["error"]["code"] == "INVALID_PAYLOAD"
    assert len(body["error"]["message"]) < 500  # does not echo a huge cell back
    assert await _quizzes(running, class_id) == []
    await _still_serving(running)


async def test_yaml_aliases_are_refused_quickly(running_sqlite: Running) -> None:
    running = running_sqlite
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    data = billion_laughs()
    assert len(data) >= 1_000_000 - 2_000
    started = time.perf_counter()
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/quizzes?filename=laughs.yaml",
        token=running.teacher_token,
        data=data[:1_000_000],
    )
    elapsed = time.perf_counter() - started
    assert status == 400, body
    assert body["error"]["code"] == "INVALID_PAYLOAD" and "alias" in body["error"]["message"]
    assert elapsed < 1.0  # was 4-10 s
    assert await _quizzes(running, class_id) == []


async def test_yaml_without_aliases_still_imports(running_sqlite: Running) -> None:
    running = running_sqlite
    cls = await running.new_class()
    quiz = b"title: Plants\nquestions:\n- question: Do plants need light?\n  type: tf\n"
    quiz += b"  correct: 'yes'\n"
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{cls['class_id']}/quizzes?filename=plants.yaml",
        token=running.teacher_token,
        data=quiz,
    )
    assert status == 201, body
    assert body["questions"] == 1


JSON_BODIES = {
    "deep": (b"[" * DEEP + b"]" * DEEP, 413),  # larger than the 64 KB body limit
    "deep-within-limit": (b'{"title": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", 400),
    "long-number": (b'{"title": ' + LONG_NUMBER.encode() + b"}", 400),
    "huge-float": (b'{"title": 1e999999}', 400),
}


@pytest.mark.parametrize("name", sorted(JSON_BODIES))
async def test_hostile_json_bodies_are_refused(running_sqlite: Running, name: str) -> None:
    running = running_sqlite
    data, expected = JSON_BODIES[name]
    _, before = await running.api.request("GET", "/api/classes", token=running.teacher_token)
    status, body = await running.api.request(
        "POST", "/api/classes", token=running.teacher_token, data=data
    )
    assert status == expected, body
    assert body["error"]["code"] == ("PAYLOAD_TOO_LARGE" if expected == 413 else "INVALID_PAYLOAD")
    _, after = await running.api.request("GET", "/api/classes", token=running.teacher_token)
    assert after == before
    await _still_serving(running)


# --- pictures ---------------------------------------------------------------------------------


def png_with_big_text() -> bytes:
    """A small PNG whose compressed text chunk inflates past Pillow's safety limit."""
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * 20_000_000, zip=True)
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` pixels but carries almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def truncated_jpeg(width: int = 320, height: int = 180) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((width, height), 60).convert("RGB").save(out, format="JPEG")
    whole = out.getvalue()
    return whole[: len(whole) // 2]


PICTURES = {
    "big-text-chunk.png": png_with_big_text,
    "claims-20000x20000.png": lambda: png_claiming(20_000, 20_000),
    "claims-7000x7000.png": lambda: png_claiming(7_000, 7_000),
    "truncated.jpg": truncated_jpeg,
}


@pytest.mark.parametrize("name", sorted(PICTURES))
async def test_hostile_pictures_are_refused_at_upload(running_sqlite: Running, name: str) -> None:
    running = running_sqlite
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/images",
        token=running.teacher_token,
        data=PICTURES[name](),
    )
    assert status == 400, body
    assert body["error"]["code"] == "INVALID_PAYLOAD" and body["error"]["field"] == "file"
    await _still_serving(running)


CAMERA_PICTURES = {
    "big-text-chunk.png": ("png", 32, 32, png_with_big_text),
    "claims-20000x20000.png": ("png", 320, 180, lambda: png_claiming(20_000, 20_000)),
    "claims-its-size.png": ("png", 4096, 4096, lambda: png_claiming(4096, 4096)),
    "truncated.jpg": ("jpeg", 320, 180, truncated_jpeg),
}


@pytest.mark.parametrize("name", sorted(CAMERA_PICTURES))
async def test_hostile_camera_pictures_are_refused(running: Running, name: str) -> None:
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    device = await running.api.device(running.teacher_token, class_id)
    board = Peer("board")
    await board.connect(running.url, {"token": device["token"]})
    fmt, width, height, make = CAMERA_PICTURES[name]
    image = make()
    snapshot = {"snapshot_id": "s1", "image": image, "format": fmt, "width": width}
    ack = await board.call("camera_snapshot", {**snapshot, "height": height})
    assert ack["ok"] is False and ack["error"]["code"] == "INVALID_PAYLOAD", ack
    keyframe = {"keyframe_id": "k1", "image": image, "format": fmt, "width": width}
    ack = await board.call(
        "camera_keyframe", {**keyframe, "height": height, "captured_at_ms": 1, "reason": "erase"}
    )
    assert ack["ok"] is False and ack["error"]["code"] == "INVALID_PAYLOAD", ack
    assert await running.services.store.get_asset(class_id, "camera-latest") is None
    assert await running.services.store.get_asset(class_id, "kf-k1") is None
    state = (await board.ok("class_snapshot"))["state"]["camera"]
    assert state == {"latest": None, "keyframes": []}
    await board.disconnect()
    await _still_serving(running)


async def test_a_bad_stored_background_does_not_break_the_page(running: Running) -> None:
    """A picture stored before uploads were checked renders as a blank background."""
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    await running.services.store.put_asset(class_id, "img_broken", "image/jpeg", truncated_jpeg())
    teacher = await running.teacher(class_id)
    await teacher.ok(
        "page_add", {"page_id": "p2", "background": {"kind": "image", "image": "img_broken"}}
    )
    student = await running.api.join(str(cls["join_code"]), "Sami")
    for token in (running.teacher_token, student["token"]):
        status, png = await running.api.request(
            "GET", f"/api/classes/{class_id}/pages/p2.png?scale=0.25", token=token
        )
        assert status == 200, png
        assert Image.open(io.BytesIO(png)).size == (480, 270)
    await teacher.disconnect()
    await _still_serving(running)
