"""The camera board reaches the student app: a board device's snapshot appears as a picture."""

from __future__ import annotations

from testkit.client import Peer
from tests.classroom.test_camera import board_jpeg
from tests.e2e.conftest import Pages


async def test_student_sees_the_camera_board(pages: Pages) -> None:
    running = pages.running
    cls = await running.new_class()
    student = await pages.student(str(cls["join_code"]), "Nadia")
    device = await running.api.device(running.teacher_token, str(cls["class_id"]))
    board = Peer("board")
    await board.connect(running.url, {"token": device["token"]})
    try:
        await board.ok(
            "camera_snapshot",
            {
                "snapshot_id": "s1",
                "image": board_jpeg(),
                "format": "jpeg",
                "width": 320,
                "height": 180,
            },
        )
        await student.wait_for_function(
            "(() => { const img = document.querySelector('.camera-card img');"
            " return img !== null && img.complete && img.naturalWidth === 320; })()"
        )
        alt = await student.get_attribute(".camera-card img", "alt")
        assert alt and "camera" in alt.lower()
        # A newer view replaces the picture (the URL carries the snapshot id).
        await board.ok(
            "camera_snapshot",
            {
                "snapshot_id": "s2",
                "image": board_jpeg(seed=2),
                "format": "jpeg",
                "width": 320,
                "height": 180,
            },
        )
        await student.wait_for_function(
            "document.querySelector('.camera-card img').src.includes('v=s2')"
        )
        assert student.errors == []
    finally:
        await board.disconnect()
