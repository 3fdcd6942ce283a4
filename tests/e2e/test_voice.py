"""The console's "Record voice" in Chromium: a (fake) microphone's WebM/Opus segments reach the
lesson on its clock; where the page is not a secure context, the button says why."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import Running
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, Pages, online, playwright_api

FAKE_MICROPHONE = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture
async def mic_pages(browser: Any, running_sqlite: Running) -> AsyncIterator[Pages]:
    """Pages in a Chromium with a fake microphone (a beeping test signal)."""
    assert playwright_api is not None  # the browser fixture checked
    async with playwright_api.async_playwright() as pw:
        instance = await pw.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_MICROPHONE]
        )
        opened = Pages(instance, running_sqlite)
        yield opened
        for ctx in opened.contexts:
            await ctx.close()
        await instance.close()
        assert opened.external == [], f"requests to non-local hosts: {opened.external}"


def _segments(running: Running, class_id: str) -> list[dict[str, Any]]:
    runtime = running.services.hub.loaded(class_id)
    return [] if runtime is None else list(runtime.state.part("audio").segments)


async def _until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_record_voice_sends_whole_segments_on_the_lesson_clock(mic_pages: Pages) -> None:
    running = mic_pages.running
    page, cls = await mic_pages.teacher_console(permissions=["microphone"])
    class_id = str(cls["class_id"])
    button = page.locator("[data-voice]")
    assert await button.get_attribute("data-voice") == "ready"
    clicked_ms = time.time_ns() // 1_000_000
    await button.click()
    await page.wait_for_selector("[data-voice=recording]")
    try:
        await _until(lambda: len(_segments(running, class_id)) >= 1, 20, "the first segment")
        first = _segments(running, class_id)[0]
        # The teacher talks on for a second into the next segment, then presses Stop.
        second_starts_ms = first["captured_at_ms"] + first["duration_ms"]
        await _until(
            lambda: time.time_ns() // 1_000_000 >= second_starts_ms + 1000, 20, "a second of talk"
        )
        await page.click("[data-voice=recording]")
        await _until(lambda: len(_segments(running, class_id)) >= 2, 20, "the last segment")
    except AssertionError as exc:
        toasts = await page.locator(".toast").all_inner_texts()
        raise AssertionError(f"{exc}; the console said {toasts}") from None
    await page.wait_for_selector("[data-voice=ready]")

    segments = _segments(running, class_id)
    assert {s["container"] for s in segments} == {"webm"}
    assert segments[0]["captured_at_ms"] - clicked_ms < 2000
    # One after the other, without gaps or overlaps longer than a few tens of ms.
    for before, after in itertools.pairwise(segments):
        end = before["captured_at_ms"] + before["duration_ms"]
        assert abs(after["captured_at_ms"] - end) < 250, (before, after)


async def test_outside_a_secure_context_the_button_says_why(pages: Pages) -> None:
    page, _ = await pages.teacher_console()
    await page.add_init_script(
        "Object.defineProperty(window, 'isSecureContext', { get: () => false });"
    )
    await page.reload()
    await online(page)
    button = page.locator("[data-voice]")
    assert await button.get_attribute("data-voice") == "insecure"
    assert await button.get_attribute("aria-disabled") == "true"
    await button.click(force=True)  # aria-disabled: still pressable, to tell why
    toast = page.locator(".toast", has_text="server's own computer")
    await toast.wait_for()
    assert "boardclient run --audio" in (await toast.inner_text())
