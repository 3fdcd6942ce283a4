"""The camera board over real sockets: live view, keyframes, late uploads, bad images."""

from __future__ import annotations

import asyncio
import io

import numpy as np
from PIL import Image

from testkit.client import Peer
from tests.conftest import Running


def board_jpeg(width: int = 320, height: int = 180, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = np.full((height, width, 3), 245, np.uint8)
    pixels[rng.integers(0, height, 200), rng.integers(0, width, 200)] = (20, 20, 120)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=80)
    return out.getvalue()


async def _setup(running: Running) -> tuple[Peer, Peer, Peer, dict[str, object]]:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    student, joined = await running.student(str(cls["join_code"]), "Asad")
    device = await running.api.device(running.teacher_token, str(cls["class_id"]))
    board = Peer("board")
    await board.connect(running.url, {"token": device["token"]})
    return teacher, student, board, {**cls, "student_token": joined["token"]}


async def test_snapshot_reaches_students_and_late_joiners(running: Running) -> None:
    teacher, student, board, cls = await _setup(running)
    image = board_jpeg()
    ack = await board.ok(
        "camera_snapshot",
        {"snapshot_id": "s1", "image": image, "format": "jpeg", "width": 320, "height": 180},
    )
    await student.wait_until(lambda: any(e == "camera_updated" for e, _ in student.events))
    event = next(d for e, d in student.events if e == "camera_updated")
    assert event["data"]["snapshot_id"] == "s1"
    path = f"/api/classes/{cls['class_id']}/assets/{event['data']['asset_id']}"
    status, body = await running.api.request("GET", path, token=str(cls["student_token"]))
    assert status == 200 and body == image
    # The same snapshot sent again (a retry) is applied once.
    again = await board.ok(
        "camera_snapshot",
        {"snapshot_id": "s1", "image": image, "format": "jpeg", "width": 320, "height": 180},
    )
    assert again["duplicate"] is True and again["seq"] == ack["seq"]
    # A late joiner starts from the latest view.
    late, _ = await running.student(str(cls["join_code"]), "Late")
    snap = await late.ok("class_snapshot")
    assert snap["state"]["camera"]["latest"]["snapshot_id"] == "s1"
    for peer in (teacher, student, board, late):
        await peer.disconnect()


async def test_keyframes_uploaded_late_are_kept_in_capture_order(running: Running) -> None:
    teacher, student, board, cls = await _setup(running)
    for keyframe_id, captured in [("k2", 2_000), ("k1", 1_000), ("k3", 3_000)]:
        await board.ok(
            "camera_keyframe",
            {
                "keyframe_id": keyframe_id,
                "image": board_jpeg(seed=captured),
                "format": "jpeg",
                "width": 320,
                "height": 180,
                "captured_at_ms": captured,
                "reason": "erase",
            },
        )
    dup = await board.ok(
        "camera_keyframe",
        {
            "keyframe_id": "k1",
            "image": board_jpeg(seed=1_000),
            "format": "jpeg",
            "width": 320,
            "height": 180,
            "captured_at_ms": 1_000,
        },
    )
    assert dup["duplicate"] is True
    snap = await teacher.ok("class_snapshot")
    kept = snap["state"]["camera"]["keyframes"]
    assert [k["keyframe_id"] for k in kept] == ["k1", "k2", "k3"]
    status, body = await running.api.request(
        "GET",
        f"/api/classes/{cls['class_id']}/assets/{kept[0]['asset_id']}",
        token=running.teacher_token,
    )
    assert status == 200 and body == board_jpeg(seed=1_000)
    for peer in (teacher, student, board):
        await peer.disconnect()


async def test_bad_images_are_refused_and_nothing_is_stored(running: Running) -> None:
    teacher, student, board, cls = await _setup(running)
    runtime = await running.services.hub.get(str(cls["class_id"]))
    before = runtime.seq
    good = board_jpeg()
    png = io.BytesIO()
    Image.new("RGB", (320, 180), "white").save(png, format="PNG")
    cases = [
        ({"image": b"GIF89a" + b"\x00" * 40, "format": "jpeg"}, "image"),
        ({"image": good, "format": "jpeg", "width": 640}, "width"),
        ({"image": png.getvalue(), "format": "jpeg"}, "format"),
        ({"image": good, "format": "bmp"}, "format"),
        ({"image": "not bytes", "format": "jpeg"}, "image"),
    ]
    for changes, field in cases:
        payload = {
            "snapshot_id": "bad",
            "image": good,
            "format": "jpeg",
            "width": 320,
            "height": 180,
            **changes,
        }
        ack = await board.call("camera_snapshot", payload)
        assert ack["error"]["code"] == "INVALID_PAYLOAD", (changes, ack)
        assert ack["error"]["field"] == field
    assert runtime.seq == before
    assert await running.services.store.get_asset(str(cls["class_id"]), "camera-latest") is None
    # Students cannot pretend to be the camera; they may not send binary at all.
    ack = await student.call(
        "camera_snapshot",
        {"snapshot_id": "x", "image": "jpeg", "format": "jpeg", "width": 320, "height": 180},
    )
    assert ack["error"]["code"] == "FORBIDDEN"
    await student.sio.emit(
        "camera_snapshot",
        {"snapshot_id": "x", "image": good, "format": "jpeg", "width": 320, "height": 180},
    )
    await asyncio.wait_for(student.sio.wait(), 10)  # the server closed the connection
    assert await running.services.store.get_asset(str(cls["class_id"]), "camera-latest") is None
    for peer in (teacher, board):
        await peer.disconnect()
