"""The library in Chromium: the teacher publishes from the lesson's page; a visitor with no
account finds it at /library (search, filters), watches it with its audio, and the page asks
only the library's routes (no token, no class routes) and registers no service worker."""

from __future__ import annotations

import asyncio
import json
import re
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
    await _no_missing_words(page)
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

    # Opened straight from a link in Urdu, on a fresh device: the page shows its own Urdu words
    # (vite.library.config.ts keeps only the library's strings: none may be missing) and plays
    # before the Nastaliq font, which is fetched only once the lesson's board has all arrived
    # (on a weak link it would take the line from the voice), and then drawn in.
    fresh = await pages.context(lang="ur", viewport={"width": 820, "height": 1000})
    order: list[str] = []
    fresh.on("request", lambda request: order.append(request.url))
    await fresh.add_init_script(
        "new MutationObserver(() => { if (!window.__loadedAt &&"
        " document.querySelector(\".replay[data-loaded='1']\"))"
        " window.__loadedAt = performance.now(); })"
        ".observe(document, { subtree: true, attributes: true, attributeFilter: ['data-loaded'] });"
    )
    direct: Any = await fresh.new_page()
    direct.on("pageerror", lambda exc: errors.append(str(exc)))
    # As a lesson longer than the page's first events: the page keeps three and the rest
    # is held on the way until the font's absence has been seen.
    await direct.route(f"**/library/{class_id}", _three_boot_events)
    held = asyncio.Event()

    async def hold(route: Any) -> None:
        await held.wait()
        await route.continue_()

    await direct.route("**/replay/events*", hold)
    async with direct.expect_request("**/replay/events*"):
        await direct.goto(f"{pages.url}/library/{class_id}")
    await direct.wait_for_selector(".replay[data-ready='1']")
    assert not [url for url in order if "-font-" in url or ".woff" in url], order
    held.set()
    assert await direct.evaluate("document.documentElement.dir") == "rtl"
    assert await direct.locator(".replay-play").inner_text() == "چلائیں"
    await direct.wait_for_selector(".replay[data-loaded='1']")
    await direct.wait_for_function(
        "[...document.fonts].some(f => f.family.includes('Noto Nastaliq Urdu')"
        " && f.status === 'loaded')"
    )
    fonts = [url for url in order if url.endswith((".woff2", ".woff"))]
    assert fonts and all("arabic-400" in url for url in fonts), fonts  # one weight: bold drawn
    started = await direct.evaluate(
        "performance.getEntriesByType('resource').filter(e => /\\.woff2?$/.test(e.name))"
        ".map(e => e.startTime - window.__loadedAt)"
    )
    assert started and min(started) >= 0, started
    await direct.locator("button.lang").click()
    await direct.wait_for_function("document.documentElement.dir === 'ltr'")
    await direct.wait_for_selector(".replay[data-ready='1']")
    assert await direct.locator(".replay-play").inner_text() == "Play"
    await _no_missing_words(direct)
    # The list in English too (this test's context starts every page in Urdu).
    await direct.goto(f"{pages.url}/library")
    await direct.wait_for_selector(f".library-lesson[data-class-id='{class_id}']")
    await direct.locator("button.lang").click()
    await direct.wait_for_function("document.documentElement.dir === 'ltr'")
    await direct.wait_for_selector(f".library-lesson[data-class-id='{class_id}']")
    await _no_missing_words(direct)
    # An address a curious student typed: not a lesson, said so, nothing thrown.
    for wrong in ("%E0%A4%A", "c_nothing-here", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"):
        await direct.goto(f"{pages.url}/library/{wrong}")
        await direct.wait_for_selector("[role=alert]")
        assert "نہیں ملا" in await direct.locator("[role=alert]").inner_text()
    assert errors == []


async def _three_boot_events(route: Any) -> None:
    """The lesson's page with only its first three events inside (the replay asks for the
    rest), as a long lesson's page is."""
    response = await route.fetch()
    opening = '<script type="application/json" id="library-boot">'
    head, rest = (await response.text()).split(opening, 1)
    data, tail = rest.split("</script>", 1)
    boot = json.loads(data)
    kept = boot["events"]["events"][:3]
    boot["events"].update(events=kept, next_after_seq=kept[-1]["seq"], more=True)
    inline = json.dumps(boot).replace("<", "\\u003c")
    await route.fulfill(response=response, body=f"{head}{opening}{inline}</script>{tail}")


# A string key shown as it is (the library's build keeps only the strings its code names).
KEY_SHOWN = re.compile(
    r"\b(?:app|lang|common|error|replay|library|lessons|subject|quiz|poll|board|export)\.[a-zA-Z]"
)


async def _no_missing_words(page: Any) -> None:
    """Neither the page's text nor its labels (placeholder, aria-label, title, alt) show a key."""
    shown: str = await page.evaluate(
        "[document.body.innerText, document.title, ...[...document.querySelectorAll('*')]"
        ".flatMap(e => ['placeholder', 'aria-label', 'title', 'alt']"
        ".map(a => e.getAttribute(a) || ''))].join('\\n')"
    )
    assert not KEY_SHOWN.search(shown), KEY_SHOWN.search(shown)
