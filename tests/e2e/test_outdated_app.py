"""An app cached before a protocol change reloads itself once, and never in a loop."""

from __future__ import annotations

import pytest

import classroom.protocol
from tests.e2e.conftest import Pages


async def test_a_refused_outdated_app_reloads_once_then_says_so(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server moved on to the next protocol version; the built app still speaks this one.
    monkeypatch.setattr(
        classroom.protocol, "PROTOCOL_VERSION", classroom.protocol.PROTOCOL_VERSION + 1
    )
    cls = await pages.running.new_class()
    ctx = await pages.teacher_context(viewport={"width": 1600, "height": 900})
    page = await ctx.new_page()
    loads: list[str] = []
    page.on("load", lambda _: loads.append(page.url))
    await page.goto(f"{pages.url}/teacher?class={cls['class_id']}")
    # Refused, reloaded, refused again: the second refusal is shown instead of a third load.
    await page.wait_for_function(
        "window.takhti && window.takhti.session.status === 'refused'"
        " && window.takhti.session.statusError.code === 'OUTDATED_CLIENT'"
    )
    assert len(loads) == 2, loads
    assert await page.evaluate("sessionStorage.getItem('takhti.outdated-reload-at')") is not None
