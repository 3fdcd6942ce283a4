"""`boardclient run --audio` against a real server: the teacher's voice on the lesson's clock.

The audio source is a WAV file with beeps at known moments, played in real time, the way a
video file stands in for the camera. ``boardclient`` runs as its own process, so it can be
killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from boardclient import live
from boardclient.audio import BLOCK, SAMPLE_RATE, Block, DeviceSource, decode_file
from classroom import board
from classroom.log import Event
from classroom.storage import open_store
from testkit.audio import beeps, onsets_s, write_wav
from testkit.client import Api
from testkit.procs import ROOT, ServerProcess, add_teacher
from testkit.synth import make_board_video
from tests.conftest import Running

BEEPS_S = (3.2, 4.7, 6.1, 7.9)


def _boardclient(
    server_url: str, token: str, out: Path, wav: Path, segment_s: float, log: Path
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    argv = [
        sys.executable,
        "-m",
        "boardclient",
        "run",
        "--audio",
        str(wav),
        "--audio-segment-seconds",
        str(segment_s),
        "--server",
        server_url,
        "--token",
        token,
        "--out",
        str(out),
        "--drain-seconds",
        "30",
    ]
    with log.open("ab") as sink:
        return subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=ROOT)


async def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _exited(proc: subprocess.Popen[bytes], timeout: float) -> int:
    await _until(lambda: proc.poll() is not None, timeout, "boardclient to finish")
    return int(proc.returncode)


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _added(events: list[Event]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == "audio_added"]


async def test_strokes_drawn_at_each_beep_line_up_with_the_audio(
    running_sqlite: Running, tmp_path: Path
) -> None:
    running = running_sqlite
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    device = await running.api.device(running.teacher_token, class_id)
    teacher = await running.teacher(class_id)
    wav = write_wav(tmp_path / "beeps.wav", beeps(9.0, BEEPS_S))
    out = tmp_path / "recording"
    proc = _boardclient(
        running.url, str(device["token"]), out, wav, 2.0, tmp_path / "boardclient.log"
    )
    try:
        # The teacher learns when the recording started from its first segment (it arrives
        # about 2 s later, before the first beep) and draws a stroke as each beep plays.
        await teacher.wait_until(
            lambda: any(e["type"] == "audio_added" for e in teacher.log_events()), timeout=20
        )
        first = next(e for e in teacher.log_events() if e["type"] == "audio_added")
        started_ms = int(first["data"]["captured_at_ms"])
        for i, beep in enumerate(BEEPS_S):
            due_s = (started_ms + beep * 1000) / 1000 - time.time()
            assert due_s > 0, "the first segment came too late to draw at the beep"
            await asyncio.sleep(due_s)  # the teacher's hand, not synchronisation
            await teacher.ok(
                "stroke_start",
                {
                    "stroke_id": f"beep-{i}",
                    "page_id": board.FIRST_PAGE_ID,
                    "tool": "pen",
                    "color": "#112233",
                    "width": 4,
                    "points": [[100.0 + 200 * i, 500.0, 0.5, 0.0]],
                },
            )
        assert await _exited(proc, 40) == 0, (tmp_path / "boardclient.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # The replay timeline: the stored segments placed at their capture times, the strokes at
    # their log times, both on the server's clock.
    store = running.services.store
    events = await store.read_after(class_id, 0, 10_000)
    segments = sorted(_added(events), key=lambda s: s["captured_at_ms"])
    assert sum(s["duration_ms"] for s in segments) >= 8900
    origin = segments[0]["captured_at_ms"]
    span = segments[-1]["captured_at_ms"] + segments[-1]["duration_ms"] - origin
    timeline = np.zeros(round(span * SAMPLE_RATE / 1000) + SAMPLE_RATE, np.float32)
    for segment in segments:
        found = await store.get_asset(class_id, segment["asset_id"])
        assert found is not None and found[0] == "audio/ogg"
        samples = decode_file(io.BytesIO(found[1]))
        at = round((segment["captured_at_ms"] - origin) * SAMPLE_RATE / 1000)
        timeline[at : at + len(samples)] = samples
    heard_ms = [origin + t * 1000 for t in onsets_s(timeline)]
    drawn_ms = [e.ts for e in events if e.type == "stroke_started"]
    assert len(heard_ms) == len(BEEPS_S) and len(drawn_ms) == len(BEEPS_S)
    errors = [abs(d - h) for d, h in zip(drawn_ms, heard_ms, strict=True)]
    assert max(errors) <= 150, errors
    await teacher.disconnect()


async def test_boardclient_killed_mid_lesson_uploads_every_spooled_segment_once(
    running_sqlite: Running, tmp_path: Path
) -> None:
    running = running_sqlite
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    token = str((await running.api.device(running.teacher_token, class_id))["token"])
    out = tmp_path / "recording"
    log = tmp_path / "boardclient.log"
    proc = _boardclient(
        running.url, token, out, write_wav(tmp_path / "a.wav", beeps(8.0, [1.0])), 0.5, log
    )
    store = running.services.store
    uploaded = out / "audio" / "uploaded.jsonl"
    try:
        await _until(lambda: len(_lines(uploaded)) >= 3, 20, "three uploaded segments")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    recorded = {line["segment_id"] for line in _lines(out / "audio" / "index.jsonl")}
    spooled = {p.stem for p in (out / "audio-spool").glob("*.json")}
    assert len(recorded) >= 3 and spooled <= recorded

    # Restarted (with a short new recording), it uploads what it kept, then its new segments.
    proc = _boardclient(
        running.url, token, out, write_wav(tmp_path / "b.wav", beeps(1.0, [0.5])), 0.5, log
    )
    assert await _exited(proc, 40) == 0, log.read_text()
    ids = [s["segment_id"] for s in _added(await store.read_after(class_id, 0, 10_000))]
    assert len(ids) == len(set(ids)), "a segment was stored twice"
    everything = {line["segment_id"] for line in _lines(out / "audio" / "index.jsonl")}
    assert recorded | spooled <= set(ids) and set(ids) == everything
    assert not list((out / "audio-spool").glob("*.json"))


async def test_a_server_killed_mid_lesson_loses_no_acknowledged_segment(
    tmp_path: Path,
) -> None:
    store_url = f"sqlite://{tmp_path / 'takhti.sqlite3'}"
    add_teacher(store_url, tmp_path, "amina", "a-long-password")
    server = ServerProcess(store_url, tmp_path)
    server.start()
    out = tmp_path / "recording"
    log = tmp_path / "boardclient.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            api = Api(server.url, http)
            teacher_token = await api.login("amina", "a-long-password")
            cls = await api.create_class(teacher_token)
            class_id = str(cls["class_id"])
            token = str((await api.device(teacher_token, class_id))["token"])
        wav = write_wav(tmp_path / "a.wav", beeps(7.0, [1.0]))
        proc = _boardclient(server.url, token, out, wav, 0.5, log)
        uploaded = out / "audio" / "uploaded.jsonl"
        index = out / "audio" / "index.jsonl"
        await _until(lambda: len(_lines(uploaded)) >= 3, 20, "three uploaded segments")
        server.kill()
        acked = {line["segment_id"] for line in _lines(uploaded)}
        # Recording goes on while the server is away...
        recorded_at_kill = len(_lines(index))
        await _until(lambda: len(_lines(index)) >= recorded_at_kill + 3, 20, "more segments")
        server.start()
        # ...and what was kept is uploaded when it returns.
        assert await _exited(proc, 60) == 0, log.read_text()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        server.stop()
    store = open_store(store_url, data_dir=tmp_path)
    await store.open()
    try:
        ids = [s["segment_id"] for s in _added(await store.read_after(class_id, 0, 10_000))]
    finally:
        await store.close()
    assert len(ids) == len(set(ids)), "a segment was stored twice"
    assert acked <= set(ids), acked - set(ids)
    assert set(ids) == {line["segment_id"] for line in _lines(index)}
    assert not list((out / "audio-spool").glob("*.json"))


class StuckMicrophone(DeviceSource):
    """A microphone whose driver hangs after a few blocks, ignoring stop (no sound card here)."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__(0)
        self.release = release

    def blocks(self, stop: threading.Event) -> Iterator[Block]:
        started = time.time() * 1000
        for i in range(10):
            yield Block(started + i * 20, np.zeros(BLOCK, np.float32))
        self.release.wait()


async def test_a_stuck_microphone_never_holds_up_the_camera(
    running_sqlite: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = running_sqlite
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    device = await running.api.device(running.teacher_token, class_id)
    video = make_board_video(4, size=(640, 360), fps=2)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(video.n_frames):
        cv2.imwrite(str(frames / f"{i:05d}.jpg"), video.frame(i))
    release = threading.Event()
    monkeypatch.setattr(live, "open_source", lambda spec, clock: StuckMicrophone(release))
    try:
        started = time.monotonic()
        summary = await live.run_live(
            str(frames), running.url, str(device["token"]), tmp_path / "rec", fps=2, audio="0"
        )
        took = time.monotonic() - started
    finally:
        release.set()
    assert summary.frames == video.n_frames and summary.board_found
    assert summary.keyframes >= 2 and summary.uploaded_keyframes == summary.keyframes
    assert summary.all_uploaded and took < 30
    runtime = await running.services.hub.get(class_id)
    assert len(runtime.state.part("camera").keyframes) == summary.keyframes


async def test_audio_from_a_computer_whose_clock_is_an_hour_fast_lands_on_the_server_clock(
    running_sqlite: Running, tmp_path: Path
) -> None:
    running = running_sqlite
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    device = await running.api.device(running.teacher_token, class_id)
    wav = write_wav(tmp_path / "a.wav", beeps(2.0, [0.5]))
    started_ms = time.time_ns() // 1_000_000
    summary = await live.run_live(
        None,
        running.url,
        str(device["token"]),
        tmp_path / "rec",
        audio=str(wav),
        audio_segment_s=1.0,
        clock=lambda: time.time() + 3600,
    )
    assert summary.all_uploaded and summary.uploaded_audio == summary.audio_segments == 2
    runtime = await running.services.hub.get(class_id)
    times = [s["captured_at_ms"] - started_ms for s in runtime.state.part("audio").segments]
    # Where the sound really was by the server's clock (not an hour later), within 100 ms.
    assert times[0] == pytest.approx(0, abs=100) and times[1] == pytest.approx(1000, abs=100)
