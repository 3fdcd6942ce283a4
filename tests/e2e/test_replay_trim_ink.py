"""The replay player in Chromium between batches and within trim points: a stroke seeked to
between two of its batches shows the part of the next batch drawn by then (as the server's
timeline draws it), the camera board is the view kept at that time, and a trimmed lesson plays
only its programme (start, end, seek bar, chapter marks, audio)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from classroom import camera, render
from classroom.log import Actor
from testkit.client import Peer
from tests.classroom.test_camera import board_jpeg
from tests.e2e.conftest import Pages
from tests.e2e.test_replay import (
    SIZE,
    TOLERANCE,
    _canvas,
    _diff,
    _open_student,
    _open_teacher,
    _pause,
    _record,
    _timeline,
)

PEN = {"tool": "pen", "color": "#1a1a1a", "width": 40}
TEACHER = Actor("teacher", "t", "t")


def _render(board: Any) -> Image.Image:
    image = render.render_image(board, board.current, viewer=TEACHER, scale=0.25)
    return image.resize(SIZE, Image.Resampling.BOX).convert("RGB")


async def _view(device: Peer, snapshot_id: str, seed: int) -> None:
    image = board_jpeg(seed=seed)
    await device.ok(
        "camera_snapshot",
        {"snapshot_id": snapshot_id, "image": image, "format": "jpeg", "width": 320, "height": 180},
    )


async def test_a_stroke_between_batches_and_the_camera_board_of_that_moment(
    pages: Pages, artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Views 300 ms apart are kept (the rule's 10 s, shortened for a lesson of two seconds).
    monkeypatch.setattr(camera, "KEEP_VIEW_EVERY_MS", 300)
    running = pages.running
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    teacher = await running.teacher(class_id)
    device_token = await running.api.device(running.teacher_token, class_id)
    device = Peer("board")
    await device.connect(running.url, {"token": device_token["token"]})
    await _view(device, "v0", 1)
    first = [[200.0 + 20 * i, 300.0, 0.5, 16.0 * i] for i in range(3)]
    await teacher.ok(
        "stroke_start", {"stroke_id": "a", "page_id": "page-1", **PEN, "points": first}
    )
    await _pause(400)  # the pen moves on; its next batch reaches the server 400 ms later
    later = [[300.0 + 90 * i, 300.0 + 30 * (i % 4), 0.5, 40.0 + 20 * i] for i in range(14)]
    await teacher.ok("stroke_extend", {"stroke_id": "a", "offset": 3, "points": later})
    await teacher.ok("stroke_end", {"stroke_id": "a", "length": 17})
    await _pause(400)
    await _view(device, "v1", 2)
    await _pause(300)
    await device.disconnect()
    await teacher.disconnect()
    status, _ = await running.api.request(
        "POST", f"/api/classes/{class_id}/end", token=running.teacher_token
    )
    assert status == 200
    line = await _timeline(pages, class_id)
    start = line.start_ms or 0
    started = next(line.clock_of(e.seq) for e in line.events if e.type == "stroke_started")
    page = await _open_teacher(pages, class_id)

    mid = started - start + 150  # lesson ms: 150 ms into the 400 ms between the batches
    moment = line.state_at(start + mid)
    shown = len(moment.ink.get("a", [])) // 4
    assert 0 < shown < 14, shown  # the timeline has part of the second batch
    await page.evaluate(f"window.__replay.goTo({mid})")
    got = await _canvas(page)
    want = _render(moment.board())
    folded_only = _render(moment.state.part("board"))
    whole = _render(line.state_at(start + mid + 400).board())
    got.save(artifacts / "replay-ink-browser.png")
    want.save(artifacts / "replay-ink-server.png")
    diff = _diff(got, want)
    print(f"between batches: {shown} of 14 points, diff {diff:.2f}")
    assert diff <= TOLERANCE
    # Not the first batch alone, not the whole stroke: the part drawn by then.
    assert _diff(got, folded_only) > 2 * max(diff, 0.3)
    assert _diff(got, whole) > 2 * max(diff, 0.3)

    # The camera board: the view kept at that time, then the later one.
    views = [e for e in line.events if e.type == "camera_updated"]
    assert [e.data["kept"] for e in views] == [True, True]
    for t_ms, asset_id in ((mid, "cam-v0"), (line.duration_ms, "cam-v1")):
        assert line.state_at(start + t_ms).camera_view()["asset_id"] == asset_id  # type: ignore[index]
        await page.evaluate(f"window.__replay.goTo({t_ms})")
        img = page.locator(".replay-card[data-kind=camera] img")
        await page.wait_for_function(
            "([id]) => { const i = document.querySelector('.replay-card[data-kind=camera] img');"
            " return i && i.src.includes('/assets/' + id + '?') && i.complete && i.naturalWidth === 320; }",
            arg=[asset_id],
        )
        assert await img.count() == 1
    assert page.errors == []


async def test_a_trimmed_lesson_plays_only_its_programme(pages: Pages) -> None:
    class_id, joined = await _record(pages)
    running = pages.running
    line = await _timeline(pages, class_id)
    duration = line.duration_ms
    begin, end = 1000, duration - 400
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/lesson",
        token=running.teacher_token,
        json={"trim_start_ms": begin, "trim_end_ms": end},
    )
    assert status == 200, body
    page = await _open_teacher(pages, class_id)
    replay = page.locator(".replay")
    # It opens at the start trim point, the board and the voice there.
    assert await replay.get_attribute("data-t-ms") == str(begin)
    got = await _canvas(page)
    want = _render(line.state_at((line.start_ms or 0) + begin).board())
    assert _diff(got, want) <= TOLERANCE
    await page.wait_for_function(
        f"Math.abs(Number(document.querySelector('.replay').dataset.audioMs) - {begin}) <= 150"
    )
    # The bar spans the programme, its marks only the chapters inside it, its clock from 0.
    seek = page.locator(".replay-seek")
    assert (await seek.get_attribute("min"), await seek.get_attribute("max")) == (
        str(begin),
        str(end),
    )
    start = line.start_ms or 0
    inside = [c for c in line.chapters if begin <= c.ts - start <= end]
    assert 0 < len(inside) < len(line.chapters)
    assert await page.locator(".replay-mark").count() == len(inside)
    lefts = await page.locator(".replay-mark").evaluate_all(
        "m => m.map(x => parseFloat(x.style.left))"
    )
    assert all(0 <= left <= 100 for left in lefts)
    assert (await page.locator(".replay-time").inner_text()).startswith("00:00 /")
    # Seeks and keys stay inside; playing runs to the end trim point and stops there.
    assert await page.evaluate("window.__replay.goTo(0).then(() => 0)") == 0
    assert await replay.get_attribute("data-t-ms") == str(begin)
    await page.locator("body").press("End")
    await page.wait_for_function(f"document.querySelector('.replay').dataset.tMs === '{end}'")
    await page.select_option(".replay-speed", "2")
    await page.locator("body").press("Space")  # at the end: plays the programme again
    await page.wait_for_function(
        f"(() => {{ const t = Number(document.querySelector('.replay').dataset.tMs);"
        f" return t > {begin} && t < {begin + 1500}; }})()"
    )
    await page.wait_for_function(
        f"document.querySelector('.replay').dataset.tMs === '{end}'"
        " && document.querySelector('.replay-play').getAttribute('aria-pressed') === 'false'",
        timeout=10_000,
    )
    # A student replaying the shared lesson gets the same programme.
    status, _ = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/share",
        token=running.teacher_token,
        json={"shared": True},
    )
    assert status == 200
    student = await _open_student(pages, joined, class_id)
    await student.wait_for_selector(".replay[data-loaded='1']")
    assert await student.locator(".replay").get_attribute("data-t-ms") == str(begin)
    assert await student.locator(".replay-seek").get_attribute("max") == str(end)
    assert page.errors == [] and student.errors == []
