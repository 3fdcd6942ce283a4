"""The library in Chromium: the teacher publishes from the lesson's page; a visitor with no
account finds it at /library (search, filters), watches it with its audio, and the page asks
only the library's routes (no token, no class routes) and registers no service worker."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Pages
from tests.e2e.test_replay import _open_teacher, _record


async def test_a_published_lesson_is_found_and_played_by_a_visitor_without_an_account(
    pages: Pages,
) -> None:
    class_id, _ = await _record(pages)
    teacher = await _open_teacher(pages, class_id)
    await teacher.locator(".replay-publish input[type=checkbox]").check()
    await teacher.wait_for_function(
        "document.querySelector('.replay-publish').textContent.includes('library')"
    )

    requests: list[str] = []
    visitor = await pages.context(lang="ur", viewport={"width": 820, "height": 1000})
    visitor.on("request", lambda request: requests.append(request.url))
    page: Any = await visitor.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{pages.url}/library")
    await page.wait_for_selector(f".library-lesson[data-class-id='{class_id}']")
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    await page.fill("input[name=q]", "nothing-like-this")
    await page.press("input[name=q]", "Enter")
    await page.wait_for_function("document.querySelectorAll('.library-lesson').length === 0")
    assert "نہیں ملا" in await page.locator("[role=status]").inner_text()
    await page.fill("input[name=q]", "MATHS")
    await page.press("input[name=q]", "Enter")
    await page.wait_for_selector(f".library-lesson[data-class-id='{class_id}']")
    await page.select_option("select[name=lang]", "en")
    await page.wait_for_function("document.querySelectorAll('.library-lesson').length === 0")
    await page.select_option("select[name=lang]", "")
    await page.wait_for_selector(f".library-lesson[data-class-id='{class_id}']")

    await page.locator(f".library-lesson[data-class-id='{class_id}'] a.btn.primary").click()
    await page.wait_for_selector(".replay[data-loaded='1']")
    await page.locator(".replay-play").click()
    await page.wait_for_function(
        "Number(document.querySelector('.replay').dataset.tMs) > 300"
        " && document.querySelector('.replay').dataset.audioMs !== ''"
    )
    assert errors == [] and teacher.errors == []
    # A plain-http LAN page caches no app shell: no service worker from /library (on a LAN
    # address one could not register anyway; on this machine's it would fetch the whole app).
    assert (
        await page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
    )
    assert not any(url.endswith("/sw.js") for url in requests), requests
    api = [url for url in requests if "/api/" in url]
    assert api and all("/api/library" in url for url in api), api
    assert not any("token=" in url for url in requests)
    # The lesson's page held its info and first events: the app did not ask for them again,
    # and the voice came from the page's own <audio> element, played from its URL (ranges).
    assert not any("/replay/info" in url or "after_seq=0&" in url for url in api), api
    played = await page.evaluate(
        "(() => { const a = document.querySelector('audio.replay-audio');"
        " return [a.src, a.currentSrc.startsWith('blob:')]; })()"
    )
    assert "/api/library/" in played[0] and played[1] is False, played
