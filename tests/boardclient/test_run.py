"""`boardclient run` against a real server: the class gets the camera board and keyframes."""

from __future__ import annotations

from pathlib import Path

import cv2

from boardclient.live import run_live
from boardclient.record import read_index
from testkit.synth import make_board_video
from tests.conftest import Running


async def test_run_streams_snapshots_and_keyframes_and_records_locally(
    running_sqlite: Running, tmp_path: Path
) -> None:
    cls = await running_sqlite.new_class()
    class_id = str(cls["class_id"])
    device = await running_sqlite.api.device(running_sqlite.teacher_token, class_id)
    student, _ = await running_sqlite.student(str(cls["join_code"]), "Watcher")

    video = make_board_video(4, size=(640, 360), fps=2)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(video.n_frames):
        cv2.imwrite(str(frames / f"{i:05d}.jpg"), video.frame(i))

    out = tmp_path / "recording"
    summary = await run_live(str(frames), running_sqlite.url, str(device["token"]), out, fps=2)
    assert summary.board_found and summary.all_uploaded
    assert summary.keyframes >= 2 and summary.uploaded_keyframes == summary.keyframes

    # The class has the keyframes (in capture order) and a live view; students were told.
    runtime = await running_sqlite.services.hub.get(class_id)
    camera = runtime.state.part("camera")
    assert len(camera.keyframes) == summary.keyframes
    times = [k["captured_at_ms"] for k in camera.keyframes]
    assert times == sorted(times) and camera.keyframes[-1]["reason"] == "end"
    assert camera.latest is not None
    await student.wait_until(lambda: any(e == "camera_updated" for e, _ in student.events))

    # ...and the same keyframes are in the local recording.
    local = [e for e in read_index(out / "index.jsonl") if e["type"] == "keyframe"]
    assert len(local) == summary.keyframes
    assert not list((out / "upload-spool").glob("*.json"))  # nothing left to upload
    await student.disconnect()


async def test_run_with_a_wrong_token_keeps_everything_for_later(
    running_sqlite: Running, tmp_path: Path
) -> None:
    video = make_board_video(2, size=(640, 360), fps=2)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(video.n_frames):
        cv2.imwrite(str(frames / f"{i:05d}.jpg"), video.frame(i))
    out = tmp_path / "recording"
    summary = await run_live(
        str(frames), running_sqlite.url, "not-a-token", out, fps=2, drain_seconds=1.0
    )
    assert summary.board_found and not summary.all_uploaded
    spooled = list((out / "upload-spool").glob("*.json"))
    assert len(spooled) == summary.keyframes >= 1  # kept on disk, to upload later
