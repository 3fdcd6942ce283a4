"""A recorded lesson replayed in Chromium: seeks land on the board the server's timeline has at
that moment (compared with classroom/render.py's drawing), cards and audio follow the seek, and
a student replays it only once the teacher shares it."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageStat

from boardclient.audio import encode_opus
from classroom import render, timeline
from classroom.log import Actor, Event
from testkit.audio import beeps
from testkit.client import Peer
from tests.e2e.conftest import Pages
from tests.e2e.test_lessons import _accessible

PEN = {"tool": "pen", "color": "#1a1a1a", "width": 20}
SIZE = (240, 135)
TOLERANCE = 1.0  # mean absolute difference per channel, 0-255, after downscaling both
AUDIO_S = 4.0


def _points(x0: float, y0: float, n: int = 12) -> list[list[float]]:
    return [[x0 + 40 * i, y0 + 25 * (i % 3), 0.5, 16 * i] for i in range(n)]


async def _stroke(teacher: Peer, stroke_id: str, page: str, x0: float, y0: float) -> None:
    await teacher.ok("stroke_start", {"stroke_id": stroke_id, "page_id": page, **PEN})
    await teacher.ok(
        "stroke_extend", {"stroke_id": stroke_id, "offset": 0, "points": _points(x0, y0)}
    )
    await teacher.ok("stroke_end", {"stroke_id": stroke_id, "length": 12})


async def _pause(ms: int) -> None:
    # Lesson time passing between the teacher's actions (the log's clock), not a wait for
    # anything to happen.
    await asyncio.sleep(ms / 1000)


async def _record(pages: Pages) -> tuple[str, dict[str, Any]]:
    running = pages.running
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    teacher = await running.teacher(class_id)
    student, joined = await running.student(str(cls["join_code"]), "Ali")
    started = time.time_ns() // 1_000_000
    await _stroke(teacher, "a", "page-1", 200, 200)
    # The teacher's voice from just after the start, AUDIO_S long.
    fields = f"segment_id=v1&captured_at_ms={started + 100}&duration_ms={int(AUDIO_S * 1000)}"
    audio = encode_opus(beeps(AUDIO_S, [0.5, 1.5, 2.5]), container="ogg")
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/audio?{fields}&container=ogg",
        token=running.teacher_token,
        data=audio,
    )
    assert status == 201, body
    await _pause(700)
    await _stroke(teacher, "b", "page-1", 300, 600)
    await _pause(700)
    await teacher.ok("page_add", {"page_id": "page-2"})
    await _stroke(teacher, "c", "page-2", 900, 300)
    await _pause(700)
    made = await teacher.ok(
        "poll_create", {"kind": "single", "question": "کتنے؟ How many?", "options": ["3", "4"]}
    )
    poll_id = str(made["poll_id"])
    await teacher.ok("poll_open", {"poll_id": poll_id})
    await student.wait_until(lambda: any(n == "poll_opened" for n, _ in student.events))
    await student.ok("poll_vote", {"poll_id": poll_id, "vote_id": "v1", "option": 1})
    await teacher.ok("poll_close", {"poll_id": poll_id})
    await teacher.ok("poll_show_results", {"poll_id": poll_id})
    await _pause(700)
    await teacher.ok("page_switch", {"page_id": "page-1"})
    await _stroke(teacher, "d", "page-1", 1200, 800)
    await _pause(300)
    await student.disconnect()
    await teacher.disconnect()
    status, _ = await running.api.request(
        "POST", f"/api/classes/{class_id}/end", token=running.teacher_token
    )
    assert status == 200
    return class_id, {**joined, "code": str(cls["join_code"])}


async def _timeline(pages: Pages, class_id: str) -> timeline.Timeline:
    store = pages.running.services.store
    events: list[Event] = []
    while True:
        chunk = await store.read_after(class_id, events[-1].seq if events else 0, 1000)
        events += chunk
        if len(chunk) < 1000:
            return timeline.Timeline(events, class_id=class_id)


def _server_render(line: timeline.Timeline, t_ms: int) -> tuple[Image.Image, str]:
    moment = line.state_at((line.start_ms or 0) + t_ms)
    board = moment.state.part("board")
    teacher = Actor("teacher", "t", "t")
    image = render.render_image(board, board.current, viewer=teacher, scale=0.25)
    return image.resize(SIZE, Image.Resampling.BOX).convert("RGB"), board.current


async def _canvas(page: Any) -> Image.Image:
    url = await page.evaluate(
        "document.querySelector('canvas.replay-canvas').toDataURL('image/png')"
    )
    raw = base64.b64decode(url.split(",", 1)[1])
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    return image.resize(SIZE, Image.Resampling.BOX)


def _diff(a: Image.Image, b: Image.Image) -> float:
    return float(sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3)


async def _open_teacher(pages: Pages, class_id: str, *, lang: str = "en") -> Any:
    ctx = await pages.teacher_context(lang=lang, viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(f"{pages.url}/lessons/{class_id}")
    await page.wait_for_selector(".replay[data-loaded='1']")
    return page


async def _open_student(pages: Pages, joined: dict[str, Any], class_id: str) -> Any:
    ctx = await pages.context(viewport={"width": 820, "height": 1000})
    code = joined["code"]
    saved = {
        "token": joined["token"],
        "class_id": class_id,
        "student_id": joined["student_id"],
        "name": joined["name"],
        "title": joined["title"],
        "code": code,
    }
    await ctx.add_init_script(
        f"localStorage.setItem('takhti.student.{code}', JSON.stringify({json.dumps(saved)}));"
        f"localStorage.setItem('takhti.student.last', JSON.stringify({code!r}));"
    )
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(f"{pages.url}/replay/{class_id}")
    return page


async def test_seeks_match_the_server_render_and_audio_follows(
    pages: Pages, artifacts: Path
) -> None:
    class_id, _ = await _record(pages)
    line = await _timeline(pages, class_id)
    page = await _open_teacher(pages, class_id)
    chapters = line.chapters
    assert any(c.kind == "poll" for c in chapters)
    duration = line.duration_ms
    # Bar marks for every chapter, and the speeds the issue names.
    assert await page.locator(".replay-mark").count() == len(chapters)
    speeds = await page.locator(".replay-speed option").evaluate_all("o => o.map(x => x.value)")
    assert speeds == ["0.5", "0.75", "1", "1.5", "2"]

    # Just after strokes a, b and c ended (from the log: a loaded machine stretches the
    # recording), the end, and back to the start.
    start = line.start_ms or 0
    ended = {
        str(e.data["id"]): line.clock_of(e.seq) - start
        for e in line.events
        if e.type == "stroke_ended"
    }
    moments = [ended["a"] + 50, ended["b"] + 50, ended["c"] + 50, duration - 200, 50]
    images = []
    renders: list[Image.Image] = []
    for t_ms in moments:
        spent = await page.evaluate(f"window.__replay.goTo({t_ms})")
        assert spent < 1000
        got = await _canvas(page)
        want, page_id = _server_render(line, t_ms)
        diff = _diff(got, want)
        got.save(artifacts / f"replay-{t_ms}-browser.png")
        want.save(artifacts / f"replay-{t_ms}-server.png")
        assert diff <= TOLERANCE, (t_ms, page_id, diff)
        images.append(got)
        renders.append(want)
        # The audio element's position follows the seek while the voice lasts.
        if 200 <= t_ms <= AUDIO_S * 1000 - 100:
            await page.wait_for_function(
                "([t]) => { const a = document.querySelector('.replay').dataset.audioMs;"
                " return a !== '' && Math.abs(Number(a) - t) <= 150; }",
                arg=[t_ms],
                timeout=3000,
            )
        print(f"replay seek {t_ms} ms: page {page_id}, mean abs diff {diff:.2f}, {spent:.1f} ms")
    # Each seek matches its own moment far better than the others' (a stroke missing or a page
    # wrong would fail): the moments differ by several times the tolerance.
    for i, got in enumerate(images[:4]):
        for j, other in enumerate(renders[:4]):
            if i != j:
                assert _diff(got, other) > 2 * _diff(got, renders[i]), (moments[i], moments[j])

    # The poll results card shows at its time, with the question and the count.
    results_at = max(c.ts for c in chapters if c.kind == "poll") - (line.start_ms or 0) + 100
    await page.evaluate(f"window.__replay.goTo({results_at})")
    card = page.locator(".replay-card[data-kind=results]")
    await card.wait_for()
    assert "How many?" in await card.inner_text()
    await page.evaluate("window.__replay.goTo(100)")
    assert await page.locator(".replay-card[data-kind=results]").count() == 0

    # Keyboard: Space plays (the clock and the audio move on), End goes to the end.
    await page.locator("body").press("Space")
    await page.wait_for_function(
        "Number(document.querySelector('.replay').dataset.tMs) >= 600", timeout=5000
    )
    await page.wait_for_function(
        "Number(document.querySelector('.replay').dataset.audioMs) >= 500", timeout=5000
    )
    # Read together: the player's clock and the audio element's position agree while playing.
    t_now, audio_now = await page.evaluate(
        "(() => { const d = document.querySelector('.replay').dataset;"
        " return [Number(d.tMs), Number(d.audioMs)]; })()"
    )
    assert abs(t_now - audio_now) <= 400, (t_now, audio_now)
    await page.locator("body").press("Space")
    await page.locator("body").press("End")
    await page.wait_for_function(
        f"Number(document.querySelector('.replay').dataset.tMs) >= {duration - 1}"
    )
    assert page.errors == []


async def test_urdu_replay_is_rtl_and_students_watch_only_when_shared(pages: Pages) -> None:
    class_id, joined = await _record(pages)
    teacher_page = await _open_teacher(pages, class_id, lang="ur")
    assert await teacher_page.evaluate("document.documentElement.dir") == "rtl"
    assert "چلائیں" in await teacher_page.locator(".replay-play").inner_text()
    await _accessible(teacher_page, "replay, Urdu")

    student = await _open_student(pages, joined, class_id)
    await student.wait_for_selector("[role=alert]")
    assert "not shared" in await student.locator("[role=alert]").inner_text()

    await teacher_page.locator(".replay-share input[type=checkbox]").check()
    await teacher_page.wait_for_function(
        "document.querySelector('.replay-share').textContent.includes('دیکھ سکتے')"
    )
    await student.reload()
    await student.wait_for_selector(".replay[data-loaded='1']")
    spent = await student.evaluate("window.__replay.goTo(1000)")
    assert spent < 1000
    assert student.errors == [] and teacher_page.errors == []
