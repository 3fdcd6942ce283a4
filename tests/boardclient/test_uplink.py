"""boardclient's uplink against a real server: keyframes survive the network going away."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import numpy as np

from boardclient.uplink import QUALITY_LADDER, Spool, Uplink, encode_jpeg, encode_keyframe
from classroom.auth import hash_password
from classroom.classes import TeacherRecord
from classroom.keys import SERVICES
from classroom.settings import Settings
from testkit.client import Api
from testkit.procs import free_port
from tests.conftest import start_app


def board(seed: int, width: int = 640, height: int = 360) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 250, np.uint8)
    for _ in range(20):
        x, y = rng.integers(20, width - 60), rng.integers(20, height - 20)
        image[y : y + 3, x : x + 50] = (30, 30, 30)
    return image


async def _class_with_device(settings: Settings) -> tuple[str, str, str]:
    runner, url = await start_app(settings)
    try:
        await runner.app[SERVICES].store.add_teacher(
            TeacherRecord("cam", hash_password("camera-pass-1"), 0)
        )
        async with aiohttp.ClientSession() as http:
            api = Api(url, http)
            token = await api.login("cam", "camera-pass-1")
            cls = await api.create_class(token)
            device = await api.device(token, str(cls["class_id"]))
        return token, str(cls["class_id"]), str(device["token"])
    finally:
        await runner.cleanup()


async def test_keyframes_made_while_offline_arrive_when_the_server_returns(
    tmp_path: Path,
) -> None:
    port = free_port()
    settings = Settings(
        host="127.0.0.1",
        port=port,
        data_dir=tmp_path,
        store_url=f"sqlite://{tmp_path / 'class.db'}",
    )
    teacher_token, class_id, device_token = await _class_with_device(settings)

    # The server is down: the uplink keeps retrying and the keyframes wait on disk.
    spool = Spool(tmp_path / "spool")
    uplink = Uplink(f"http://127.0.0.1:{port}", device_token, spool)
    await uplink.start()
    for n, captured in enumerate([3_000, 1_000, 2_000]):
        uplink.add_keyframe(board(n), captured_at_ms=captured, reason="erase")
    assert [k.captured_at_ms for k in spool.pending()] == [1_000, 2_000, 3_000]
    assert not uplink.connected

    runner, _ = await start_app(settings)
    try:
        assert await uplink.drained(timeout=30)
        runtime = await runner.app[SERVICES].hub.get(class_id)
        kept = runtime.state.part("camera").keyframes
        assert [k["captured_at_ms"] for k in kept] == [1_000, 2_000, 3_000]
        assert spool.pending() == []
        stored = await runner.app[SERVICES].store.get_asset(class_id, kept[0]["asset_id"])
        assert stored is not None and stored[0] == "image/png"

        # The live view: the newest board goes out, and students are told.
        uplink.offer_snapshot(board(9))
        assert await uplink.drained(timeout=30)
        assert runtime.state.part("camera").latest is not None
        assert uplink.sent_snapshots == 1
    finally:
        await uplink.stop()
        await runner.cleanup()
    del teacher_token


def test_spool_survives_a_restart_and_ignores_half_written_entries(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    data, fmt, w, h = encode_keyframe(board(1))
    spool.add("k1", data, fmt, w, h, 5_000, "erase")
    (tmp_path / "k2.png").write_bytes(data)  # crashed before its JSON was written
    (tmp_path / "k3.json.tmp").write_text("{")  # crashed mid-JSON
    again = Spool(tmp_path)
    pending = again.pending()
    assert [k.keyframe_id for k in pending] == ["k1"]
    assert pending[0].image_path.read_bytes() == data
    again.remove(pending[0])
    assert Spool(tmp_path).pending() == []


def test_quality_ladder_shrinks_snapshots() -> None:
    image = board(3, 1280, 720)
    sizes = [len(encode_jpeg(image, longest, quality)[0]) for longest, quality in QUALITY_LADDER]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-1] < sizes[0] / 2
    data, width, height = encode_jpeg(image, 640, 45)
    assert (width, height) == (640, 360) and data[:2] == b"\xff\xd8"
