"""The offline package in Chromium: ``lesson.html`` opened from ``file://`` with every request
refused plays like the replay page (seeks land on the server's render of the timeline, chapters,
speeds, the voice in step, also at a 4x CPU slowdown), in Urdu and English, the Kolibri zip's
``index.html`` the same from an extracted folder, and hostile text stays text."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from classroom import render
from classroom.export import ExportOptions, no_progress
from classroom.export import package as package_writer
from classroom.export.source import LessonSource, from_events
from tests.e2e.package_lesson import AUDIO_S, HOSTILE, package_lesson
from tests.e2e.test_lessons import _accessible

SIZE = (240, 135)
TOLERANCE = 1.0  # mean absolute difference per channel, 0-255, after downscaling both
SCRIPTS = 5  # info, pictures, events, audio, player: the page's own blocks
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.blockedURI));
"""


@pytest.fixture(scope="module")
def lesson() -> LessonSource:
    return package_lesson()


@pytest.fixture(scope="module")
def written(lesson: LessonSource, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for lang in ("en", "ur"):
        folder = tmp_path_factory.mktemp(f"package-{lang}")
        paths = package_writer.write(lesson, folder, ExportOptions(lang=lang), no_progress)
        assert [p.name for p in paths] == ["lesson.html", "lesson-kolibri.zip"]
        out[lang] = paths[0]
    return out


class Offline:
    """A page opened from a file with every request refused and recorded."""

    def __init__(self, page: Any, requests: list[str]) -> None:
        self.page = page
        self.requests = requests
        self.errors: list[str] = []


async def _open(browser: Any, path: Path, *, init: str = "") -> Offline:
    # The page's own CSP is bypassed: what it would block must not even be tried, and hostile
    # text must stay text by escaping alone.
    ctx = await browser.new_context(viewport={"width": 1300, "height": 900}, bypass_csp=True)
    requests: list[str] = []
    ctx.on("request", lambda request: requests.append(request.url))

    async def refuse(route: Any) -> None:
        if route.request.url != path.as_uri():
            await route.abort()
        else:
            await route.continue_()

    await ctx.route("**/*", refuse)
    await ctx.add_init_script(WATCH + init)
    page = await ctx.new_page()
    opened = Offline(page, requests)
    page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    await page.goto(path.as_uri())
    await page.wait_for_selector(".replay[data-ready='1']", timeout=10_000)
    return opened


async def _no_network(opened: Offline, path: Path) -> None:
    assert [u for u in opened.requests if not u.startswith(("data:", "blob:"))] == [path.as_uri()]
    assert await opened.page.evaluate("window.__violations") == []
    assert opened.errors == []


def _server_render(source: LessonSource, t_ms: int) -> Image.Image:
    moment = source.timeline.state_at(source.start_ms + t_ms)
    board = moment.state.part("board")
    image = render.render_image(board, board.current, viewer=None, scale=0.25)
    return image.resize(SIZE, Image.Resampling.BOX).convert("RGB")


async def _canvas(page: Any) -> Image.Image:
    url = await page.evaluate(
        "document.querySelector('canvas.replay-canvas').toDataURL('image/png')"
    )
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")
    return image.resize(SIZE, Image.Resampling.BOX)


def _diff(a: Image.Image, b: Image.Image) -> float:
    return float(sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3)


async def _seeks_match(page: Any, source: LessonSource, moments: list[int], tag: str) -> None:
    got: list[Image.Image] = []
    want: list[Image.Image] = []
    for t_ms in moments:
        spent = await page.evaluate(f"window.__replay.goTo({t_ms})")
        assert spent < 1000
        image, server = await _canvas(page), _server_render(source, t_ms)
        diff = _diff(image, server)
        print(f"package {tag} seek {t_ms} ms: mean abs diff {diff:.2f}, {spent:.1f} ms")
        assert diff <= TOLERANCE, (tag, t_ms, diff)
        got.append(image)
        want.append(server)
    # Each seek matches its own moment better than the others' (a page or stroke wrong fails).
    for i, image in enumerate(got):
        for j, other in enumerate(want):
            if _diff(want[i], other) > TOLERANCE:
                assert _diff(image, other) > 2 * _diff(image, want[i]), (
                    tag,
                    moments[i],
                    moments[j],
                )


async def _plays_in_step(page: Any, *, seconds: float) -> dict[str, float]:
    """Play from the start (the play button: a user gesture), sample the player clock against the
    audio element's position every 200 ms; the largest drift and how far the clock got."""
    await page.evaluate("window.__replay.goTo(0)")
    await page.locator(".replay-play").click()
    return await page.evaluate(  # type: ignore[no-any-return]
        """async (seconds) => {
          const r = window.__replay;
          const started = performance.now();
          let worst = 0, samples = 0;
          while (performance.now() - started < seconds * 1000) {
            await new Promise((done) => setTimeout(done, 200));
            const clock = r.clock(), heard = r.audio.currentTime * 1000;
            if (!r.audio.paused && heard > 0) { worst = Math.max(worst, Math.abs(clock - heard)); samples++; }
          }
          const wall = performance.now() - started;
          const reached = r.clock();
          r.pause();
          return { worst, samples, reached, wall };
        }""",
        seconds,
    )


async def test_lesson_html_plays_offline_like_the_replay_page(
    browser: Any, lesson: LessonSource, written: dict[str, Path]
) -> None:
    path = written["en"]
    opened = await _open(browser, path)
    page = opened.page
    assert await page.evaluate("document.documentElement.dir") == "ltr"
    chapters = lesson.timeline.chapters
    assert await page.locator(".replay-mark").count() == len(chapters)
    assert await page.locator(".replay-chapters li").count() == len(chapters)
    speeds = await page.locator(".replay-speed option").evaluate_all("o => o.map(x => x.value)")
    assert speeds == ["0.5", "0.75", "1", "1.5", "2"]
    duration = lesson.duration_ms
    await _seeks_match(page, lesson, [300, 1500, 2500, duration - 100, 50], "en")
    assert await page.evaluate("document.querySelector('.replay').dataset.unpacked") == "native"

    # A chapter button jumps to its moment; the poll card shows its (hostile) question as text.
    poll = next(c for c in chapters if c.kind == "poll")
    await page.locator(".replay-chapters button").nth(chapters.index(poll)).click()
    assert int(await page.evaluate("document.querySelector('.replay').dataset.tMs")) == (
        poll.ts - lesson.start_ms
    )
    card = page.locator(".replay-card[data-kind=poll]")
    await card.wait_for()
    assert HOSTILE in await card.inner_text()

    # Speed: at 2x the clock runs twice as fast as the wall.
    await page.select_option(".replay-speed", "2")
    fast = await _plays_in_step(page, seconds=1.0)
    assert fast["reached"] >= 1.6 * 1000 * 0.8, fast
    await page.select_option(".replay-speed", "1")
    step = await _plays_in_step(page, seconds=2.0)
    print(f"package play: {step}")
    assert step["samples"] >= 4 and step["worst"] <= 250, step
    await page.locator(".replay-seek").focus()
    await page.keyboard.press("End")
    await page.wait_for_function(
        f"Number(document.querySelector('.replay').dataset.tMs) >= {duration - 1}"
    )
    await _no_network(opened, path)
    await _nothing_injected(page)


async def _nothing_injected(page: Any) -> None:
    assert await page.evaluate("window.__pwned") is None
    assert await page.evaluate("document.scripts.length") == SCRIPTS
    # Only the board photo's card makes an <img>; the typed "<img ...>" stayed text.
    sources = await page.evaluate("[...document.images].map((i) => i.src.slice(0, 16))")
    assert all(s.startswith("data:image/") for s in sources), sources
    title = await page.locator("h1").inner_text()
    assert title.startswith(HOSTILE), title
    assert await page.evaluate("document.title") == lesson_title()


def lesson_title() -> str:
    return HOSTILE + " کسریں Fractions"


async def test_keeps_up_with_the_voice_at_a_4x_cpu_slowdown(
    browser: Any, lesson: LessonSource, written: dict[str, Path]
) -> None:
    path = written["en"]
    opened = await _open(browser, path)
    page = opened.page
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    await _seeks_match(page, lesson, [1500, 2500, 300], "4x")
    measured = await _plays_in_step(page, seconds=AUDIO_S - 1.0)
    print(f"package play at 4x CPU slowdown: {measured}")
    # The board's clock is the wall's (not held back by slow frames) and the voice stays with it.
    assert measured["samples"] >= 8, measured
    assert measured["worst"] <= 250, measured
    assert measured["reached"] >= 0.9 * (measured["wall"] - 300), measured
    # What was drawn while throttled is the timeline's state where the clock stopped.
    at = int(await page.evaluate("document.querySelector('.replay').dataset.tMs"))
    assert _diff(await _canvas(page), _server_render(lesson, at)) <= TOLERANCE
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    await _no_network(opened, path)


async def test_urdu_package_is_rtl_with_the_inlined_nastaliq(
    browser: Any, lesson: LessonSource, written: dict[str, Path]
) -> None:
    path = written["ur"]
    opened = await _open(browser, path)
    page = opened.page
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    assert await page.evaluate("document.documentElement.lang") == "ur"
    assert await page.locator(".replay-play").inner_text() == "چلائیں"
    assert "ابواب" in await page.locator("h2").inner_text()
    # The font is the inlined one (no request was made) and has the lesson's typed Urdu.
    loaded = await page.evaluate(
        "[...document.fonts].filter((f) => f.family.includes('Nastaliq') && f.status === 'loaded').length"
    )
    assert loaded == 1
    await _seeks_match(page, lesson, [1500, 2500], "ur")
    await _accessible(page, "package, Urdu")
    # Urdu digits on the clock; the language button switches the whole view to English.
    await page.evaluate("window.__replay.goTo(2500)")
    assert "۰۰:۰۲" in await page.locator(".replay-time").inner_text()
    await page.locator(".replay-lang").click()
    assert await page.evaluate("document.documentElement.dir") == "ltr"
    assert await page.locator(".replay-play").inner_text() == "Play"
    assert "00:02" in await page.locator(".replay-time").inner_text()
    await _no_network(opened, path)


async def test_kolibri_zip_plays_from_an_extracted_folder(
    browser: Any, lesson: LessonSource, written: dict[str, Path], tmp_path: Path
) -> None:
    archive = written["en"].with_name("lesson-kolibri.zip")
    with zipfile.ZipFile(archive) as opened_zip:
        assert opened_zip.namelist() == ["index.html"]
        opened_zip.extractall(tmp_path)
    index = tmp_path / "index.html"
    html = index.read_text(encoding="utf-8")
    # Nothing that navigates the top page or needs storage; no path to any other file.
    for banned in ("target=", "window.top", "top.location", ".parent.", "document.cookie", "../"):
        assert banned not in html, banned
    assert set(re.findall(r"https?://[^\s\"'`)]*", html)) <= {
        "http://www.w3.org/2000/svg",
        "http://127.0.0.1",
    }
    opened = await _open(browser, index)
    await _seeks_match(opened.page, lesson, [300, 2500], "kolibri")
    step = await _plays_in_step(opened.page, seconds=1.5)
    assert step["samples"] >= 3 and step["worst"] <= 250, step
    await _no_network(opened, index)
    await _nothing_injected(opened.page)


async def test_kolibri_page_plays_in_a_sandboxed_frame_without_storage(
    browser: Any, written: dict[str, Path], tmp_path: Path
) -> None:
    """Kolibri shows an app in a sandboxed iframe; without same-origin, storage throws."""
    with zipfile.ZipFile(written["en"].with_name("lesson-kolibri.zip")) as opened_zip:
        opened_zip.extractall(tmp_path / "app")
    host = tmp_path / "host.html"
    host.write_text(
        '<!doctype html><iframe sandbox="allow-scripts" src="app/index.html"'
        ' style="width:1200px;height:800px"></iframe>',
        encoding="utf-8",
    )
    ctx = await browser.new_context()
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(host.as_uri())
    frame = page.frames[1]
    await frame.wait_for_selector(".replay[data-ready='1']", timeout=10_000)
    assert (
        await frame.evaluate(
            "(() => { try { localStorage.length; return 'open'; } catch { return 'blocked'; } })()"
        )
        == "blocked"
    )
    spent = await frame.evaluate("window.__replay.goTo(2500)")
    assert spent < 1000
    assert errors == []


async def test_plays_in_a_browser_without_decompression_stream(
    browser: Any, lesson: LessonSource, written: dict[str, Path]
) -> None:
    """Older Safari, Firefox and Android WebViews: the player's own gunzip unpacks the data."""
    path = written["en"]
    opened = await _open(browser, path, init="delete window.DecompressionStream;")
    page = opened.page
    assert await page.evaluate("document.querySelector('.replay').dataset.unpacked") == "inflate"
    await _seeks_match(page, lesson, [300, 1500, 2500], "inflate")
    await _no_network(opened, path)


async def test_a_lesson_without_voice_plays_on_the_clock(
    browser: Any, lesson: LessonSource, tmp_path: Path
) -> None:
    """The voice's file was lost (or never recorded): the board still plays, on the wall clock."""
    silent = from_events(
        lesson.events,
        record=lesson.record,
        assets={k: v for k, v in lesson.assets.items() if not v[0].startswith("audio/")},
    )
    path = package_writer.write(silent, tmp_path, ExportOptions(), no_progress)[0]
    opened = await _open(browser, path)
    page = opened.page
    await page.locator(".replay-play").click()
    await page.wait_for_function(
        "Number(document.querySelector('.replay').dataset.tMs) >= 1500", timeout=5000
    )
    assert await page.evaluate("document.querySelector('.replay').dataset.audioMs") == ""
    await page.locator(".replay-play").click()
    at = int(await page.evaluate("document.querySelector('.replay').dataset.tMs"))
    assert _diff(await _canvas(page), _server_render(lesson, at)) <= TOLERANCE
    await _no_network(opened, path)
