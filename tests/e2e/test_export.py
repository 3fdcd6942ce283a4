"""The teacher exports a recorded lesson from its page in Chromium: picks the formats, starts,
watches the progress reach done, downloads the file; the panel in Urdu is right-to-left and
every control is named."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from testkit.export_lesson import short_lesson
from testkit.long_lesson import store_lesson
from tests.classroom.export.vtt import parse as parse_vtt
from tests.e2e.conftest import Pages
from tests.e2e.test_lessons import _accessible


async def _stored(pages: Pages) -> str:
    running = pages.running
    lesson = short_lesson(4.0).source
    teacher = running.services.signer.check(running.teacher_token).subject
    db = Path(running.services.settings.store_url.removeprefix("sqlite://"))
    return await store_lesson(
        running.services.store, db, list(lesson.events), dict(lesson.assets), teacher=teacher,
        class_id="c_e2e_export",
    )  # fmt: skip


async def _open(pages: Pages, class_id: str, lang: str) -> Any:
    ctx = await pages.teacher_context(lang=lang, viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    await page.goto(f"{pages.url}/lessons/{class_id}")
    await page.wait_for_selector(".export-format[data-format='chapters']:not([disabled])")
    return page


async def test_teacher_exports_chapters_from_the_console_and_downloads_them(
    pages: Pages, tmp_path: Path
) -> None:
    class_id = await _stored(pages)
    page = await _open(pages, class_id, "en")
    chapters = page.locator(".export-format[data-format='chapters']")
    assert await chapters.get_attribute("aria-pressed") == "true"  # chosen by default
    # A format this server lacks cannot be chosen.
    for fmt in ("broadcast", "mxf", "web", "pdf", "package"):
        toggle = page.locator(f".export-format[data-format='{fmt}']")
        if await toggle.is_disabled():
            assert await toggle.get_attribute("aria-pressed") == "false"
    pdf = page.locator(".export-format[data-format='pdf']")
    await pdf.click()
    assert await pdf.get_attribute("aria-pressed") == "true"
    await page.click(".export-start")
    await page.wait_for_selector(".export-panel[data-state='done']", timeout=60_000)
    assert await page.locator(".export-progress").evaluate("(bar) => bar.value") == 1
    assert "Done" in await page.locator(".export-status").inner_text()
    link = page.locator(".export-file[data-name='chapters.vtt']")
    async with page.expect_download() as event:
        await link.click()
    download = await event.value
    saved = tmp_path / "chapters.vtt"
    await download.save_as(saved)
    cues = parse_vtt(saved.read_text(encoding="utf-8"))
    assert cues and cues[0].start_ms == 0
    assert "کیا آپ سمجھ گئے؟" in saved.read_text(encoding="utf-8")  # the poll, as typed
    href = await page.locator(".export-file[data-name='slides.pdf']").get_attribute("href")
    served = await page.evaluate(
        """async (href) => { const r = await fetch(href);
             const head = new Uint8Array(await r.arrayBuffer()).slice(0, 5);
             return [r.status, r.headers.get('content-type'), String.fromCharCode(...head)]; }""",
        href,
    )
    assert served == [200, "application/pdf", "%PDF-"]
    assert page.errors == []


async def test_the_export_panel_in_urdu_is_rtl_and_every_control_is_named(pages: Pages) -> None:
    class_id = await _stored(pages)
    page = await _open(pages, class_id, "ur")
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    assert await page.locator("#export-heading").inner_text() == "ایکسپورٹ"
    assert "ایکسپورٹ شروع کریں" in await page.locator(".export-start").inner_text()
    await page.click(".export-start")
    await page.wait_for_selector(".export-panel[data-state='done']", timeout=60_000)
    assert "مکمل" in await page.locator(".export-status").inner_text()
    await _accessible(page, "export panel, Urdu")
    assert page.errors == []


async def test_the_replay_offers_the_video_once_lesson_mp4_was_exported(pages: Pages) -> None:
    class_id = await _stored(pages)
    api, token = pages.running.api, pages.running.teacher_token
    base = f"/api/classes/{class_id}/export"
    status, _ = await api.request("POST", base, token=token, json={"formats": ["web"]})
    assert status == 202
    for _ in range(600):
        _, body = await api.request("GET", base, token=token)
        if body["job"]["state"] not in ("queued", "running"):
            break
        await asyncio.sleep(body["poll_ms"] / 1000)
    assert body["job"]["state"] == "done", body
    page = await _open(pages, class_id, "en")
    await page.wait_for_selector(".replay-video a")
    link = page.locator(".replay-video a")
    assert await link.inner_text() == "Video (MP4)"
    served = await page.evaluate(
        """async (href) => { const r = await fetch(href, { headers: { Range: 'bytes=4-7' } });
             const box = String.fromCharCode(...new Uint8Array(await r.arrayBuffer()));
             return [r.status, r.headers.get('content-type'), box]; }""",
        await link.get_attribute("href"),
    )
    assert served == [206, "video/mp4", "ftyp"]
    assert page.errors == []
