"""The camera views a class saw are kept for replays, bounded (classroom/camera.py): each kept
view is its own stored asset the timeline names at its moment, the others overwrite the live
view, and the live path adds a small event per view (bytes per minute measured here)."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest

from classroom import camera, timeline
from classroom.log import Actor, Event
from classroom.protocol.camera import CameraSnapshot
from classroom.storage.base import Store
from testkit.lessons import LessonMaker
from tests.classroom.test_camera import _setup, board_jpeg
from tests.conftest import Running

DEVICE = Actor("board", "cam1", "Board camera")
VIEW_BYTES = 100_000  # a 1280 x 720 board JPEG
MINUTE = 60_000


async def _log(store: Store, class_id: str) -> list[Event]:
    events: list[Event] = []
    while chunk := await store.read_after(class_id, events[-1].seq if events else 0, 500):
        events += chunk
    return events


def _stream(maker: LessonMaker, minutes: int, per_s: float, size: int = VIEW_BYTES) -> None:
    """The board device sends a changed view ``per_s`` times a second for ``minutes``."""
    image = b"\xff\xd8" + bytes(size - 2)
    step = round(1000 / per_s)
    for _ in range(round(minutes * MINUTE / step)):
        maker.tick(step)
        payload = CameraSnapshot.model_validate(
            {
                "snapshot_id": maker.new_id("cs"),
                "image": image,
                "format": "jpeg",
                "width": 1280,
                "height": 720,
            }
        )
        state = maker.state.part("camera")
        maker.commit(DEVICE, camera.propose_snapshot(state, DEVICE, payload, now_ms=maker.now))


def test_one_view_in_ten_seconds_is_kept_and_the_log_grows_by_kilobytes_a_minute() -> None:
    maker = LessonMaker()
    _stream(maker, minutes=10, per_s=2)
    views = [e for e in maker.events if e.type == "camera_updated"]
    kept = [e for e in views if e.data["kept"]]
    log_bytes = sum(len(json.dumps(e.to_record())) for e in views)
    kept_bytes = sum(int(e.data["bytes"]) for e in kept)
    per_minute = {"log": log_bytes / 10, "kept_assets": kept_bytes / 10, "views": len(views) / 10}
    print("camera views per minute:", per_minute)
    assert per_minute["views"] == 120
    # The log: a small reference per view (~200 B), not the image: kilobytes a minute.
    assert per_minute["log"] < 40_000
    # Assets: one view in 10 s kept (6 a minute, ~0.6 MB), the rest overwrite the live view.
    assert len(kept) == 60 and per_minute["kept_assets"] <= 6 * VIEW_BYTES
    assert all(b.ts - a.ts >= camera.KEEP_VIEW_EVERY_MS for a, b in itertools.pairwise(kept))
    assert {e.data["asset_id"] for e in views if not e.data["kept"]} == {camera.LATEST_ASSET}


def test_the_kept_views_stop_at_the_class_budget() -> None:
    maker = LessonMaker()
    _stream(maker, minutes=5, per_s=1, size=1_400_000)  # huge views: the budget binds first
    kept = [e for e in maker.events if e.type == "camera_updated" and e.data["kept"]]
    assert sum(int(e.data["bytes"]) for e in kept) <= camera.KEPT_VIEWS_MAX_BYTES
    assert len(kept) == camera.KEPT_VIEWS_MAX_BYTES // 1_400_000
    # Past the budget the replay keeps showing the last kept view (and later keyframes).
    line = timeline.Timeline(maker.events)
    assert line.state_at(line.end_ms or 0).camera_view() == kept[-1].data


async def test_each_kept_view_is_its_own_asset_named_by_the_timeline_at_its_moment(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Views 300 ms apart are kept (the rule's 10 s, shortened so the test runs in a second).
    monkeypatch.setattr(camera, "KEEP_VIEW_EVERY_MS", 300)
    teacher, student, board, cls = await _setup(running)
    class_id = str(cls["class_id"])
    images = {}
    sent: list[dict[str, object]] = []
    for number in range(6):
        snapshot_id = f"v{number}"
        images[snapshot_id] = board_jpeg(seed=number + 1)
        ack = await board.ok(
            "camera_snapshot",
            {
                "snapshot_id": snapshot_id,
                "image": images[snapshot_id],
                "format": "jpeg",
                "width": 320,
                "height": 180,
            },
        )
        sent.append(ack)
        if number % 2:
            # Lesson time passing between views (the log's clock), not a wait for anything.
            await asyncio.sleep(0.35)
    events = await _log(running.services.store, class_id)
    views = [e for e in events if e.type == "camera_updated"]
    assert [e.data["kept"] for e in views] == [True, False, True, False, True, False]
    # The ack names where the view went; students fetch it from there.
    assert [a["asset_id"] for a in sent] == [e.data["asset_id"] for e in views]
    store = running.services.store
    for event in views:
        found = await store.get_asset(class_id, str(event.data["asset_id"]))
        assert found is not None
        if event.data["kept"]:
            assert found[1] == images[str(event.data["snapshot_id"])]  # never overwritten
    # The live view is the latest one, as before.
    latest = await store.get_asset(class_id, camera.LATEST_ASSET)
    assert latest is not None and latest[1] == images["v5"]
    # At every moment, the timeline's camera view is the kept view seen last, and it is stored.
    line = timeline.Timeline(events)
    for event in views:
        shown = line.state_at(line.clock_of(event.seq)).camera_view()
        assert shown is not None and shown["kept"]
        want = "v" + str(int(str(event.data["snapshot_id"])[1:]) // 2 * 2)
        assert shown["snapshot_id"] == want
        assert (await store.get_asset(class_id, str(shown["asset_id"]))) is not None
    for peer in (teacher, student, board):
        await peer.disconnect()


def test_the_replay_shows_the_latest_kept_view_or_a_keyframe_captured_after_it() -> None:
    # The same lesson as webclient/test/replay.test.ts "camera board": both players agree.
    t0 = 1_764_280_000_000
    view = {"format": "jpeg", "width": 64, "height": 36, "bytes": 100}
    frame = {"format": "jpeg", "width": 64, "height": 36, "reason": "erase"}
    made = [
        ("camera_updated", 10, {"snapshot_id": "v0", "asset_id": "cam-v0", "kept": True}),
        ("camera_updated", 20, {"snapshot_id": "v1", "asset_id": "camera-latest", "kept": False}),
        ("camera_keyframe_added", 30, {"keyframe_id": "k1", "captured_at_ms": t0 + 5}),
        ("camera_keyframe_added", 40, {"keyframe_id": "k2", "captured_at_ms": t0 + 35}),
        ("camera_updated", 50, {"snapshot_id": "v2", "asset_id": "cam-v2", "kept": True}),
    ]
    events = []
    for seq, (kind, at, data) in enumerate(made, start=1):
        extra = view if kind == "camera_updated" else frame
        if kind == "camera_keyframe_added":
            data = {**data, "asset_id": camera.keyframe_asset_id(str(data["keyframe_id"]))}
        events.append(Event("c1", seq, kind, DEVICE, t0 + at, {**extra, **data}))
    line = timeline.Timeline(events)
    shown = []
    for at in (10, 20, 30, 40, 50):
        view_now = line.state_at(t0 + at).camera_view()
        shown.append(None if view_now is None else view_now["asset_id"])
    assert shown == ["cam-v0", "cam-v0", "cam-v0", "kf-k2", "cam-v2"]
    assert line.state_at(t0).camera_view() is None


def test_a_snapshot_id_sent_again_later_never_replaces_a_kept_view() -> None:
    maker = LessonMaker()
    state = maker.state.part("camera")

    def send(snapshot_id: str) -> dict[str, object]:
        payload = CameraSnapshot.model_validate(
            {
                "snapshot_id": snapshot_id,
                "image": b"\xff\xd8" + bytes(100),
                "format": "jpeg",
                "width": 64,
                "height": 36,
            }
        )
        (event,) = maker.commit(
            DEVICE, camera.propose_snapshot(state, DEVICE, payload, now_ms=maker.now)
        )
        return event.data

    assert send("a")["kept"] is True
    maker.tick(camera.KEEP_VIEW_EVERY_MS)
    assert send("b")["kept"] is True
    maker.tick(camera.KEEP_VIEW_EVERY_MS)
    again = send("a")  # a restarted device counting from its first id again
    assert again["kept"] is False and again["asset_id"] == camera.LATEST_ASSET
