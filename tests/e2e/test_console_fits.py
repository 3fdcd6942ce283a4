"""The teacher console fits a smartboard screen (issue 15.5): at 1920x1080 and at 1280x720 (a
1080p board at 150% scaling) nothing scrolls the page, the board takes most of the screen, the
side columns scroll inside themselves, tools are big enough to tap and read, and a raised hand
shows whatever tab is open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Pages, online

LAYOUT_JS = """() => {
  const c = document.querySelector('.board-canvas').getBoundingClientRect();
  const s = document.scrollingElement;
  const style = (sel) => getComputedStyle(document.querySelector(sel));
  return {
    share: (c.width * c.height) / (innerWidth * innerHeight),
    pageScrolls: s.scrollHeight > innerHeight || s.scrollWidth > innerWidth,
    boardInside: c.top >= 0 && c.bottom <= innerHeight && c.left >= 0 && c.right <= innerWidth,
    toolsScroll: style('.console-tools').overflowY,
    panelScroll: style('.panel-body').overflowY,
    smallTargets: [...document.querySelectorAll('.console-tools button, .tabs button, .topbar button')]
      .filter(b => b.offsetParent !== null)
      .map(b => b.getBoundingClientRect())
      .filter(r => r.width < 48 || r.height < 48).length,
    smallLabels: [...document.querySelectorAll('.console-tools .tool')]
      .map(b => parseFloat(getComputedStyle(b).fontSize)).filter(px => px < 16).length,
  };
}"""


async def console_at(pages: Pages, width: int, height: int, lang: str) -> tuple[Any, Any]:
    cls = await pages.running.new_class()
    ctx = await pages.teacher_context(lang=lang, viewport={"width": width, "height": height})
    page = await ctx.new_page()
    await page.goto(f"{pages.url}/teacher?class={cls['class_id']}")
    await online(page)
    await page.wait_for_selector(".board-canvas")
    return page, cls


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720)])
async def test_console_fits_and_the_board_takes_most_of_it(
    pages: Pages, artifacts: Path, width: int, height: int
) -> None:
    for lang in ("en", "ur"):
        teacher, _ = await console_at(pages, width, height, lang)
        layout = await teacher.evaluate(LAYOUT_JS)
        await teacher.screenshot(path=str(artifacts / f"console-{lang}-{width}x{height}.png"))
        assert not layout["pageScrolls"], (lang, layout)
        assert layout["boardInside"], (lang, layout)
        # Measured before the change: 43% at 1080p, 23% at 1280x720.
        assert layout["share"] > 0.5, (lang, layout)
        assert layout["toolsScroll"] == "auto" and layout["panelScroll"] == "auto"
        assert layout["smallTargets"] == 0, (lang, layout)
        assert layout["smallLabels"] == 0, (lang, layout)


async def test_a_raised_hand_shows_on_every_tab(pages: Pages) -> None:
    teacher, cls = await console_at(pages, 1280, 720, "en")
    student = await pages.student(cls["join_code"], "Hina")
    await teacher.click("[data-tab=polls]")
    await student.click(".hand")
    badge = teacher.locator(".topbar .hand-badge[data-hands='1']")
    await badge.wait_for()
    for name in ("pages", "quiz"):
        await teacher.click(f"[data-tab={name}]")
        assert await badge.is_visible()
    await teacher.click("[data-action=fold-panel]")
    assert await badge.is_visible()
    # A tap on it opens the students tab, with the raised hand on top.
    await badge.click()
    await teacher.wait_for_selector("[data-tab=students][aria-selected=true]")
    await teacher.wait_for_selector(".student-list .hand-up")


async def test_a_long_connection_status_does_not_move_the_board(pages: Pages) -> None:
    for lang in ("en", "ur"):
        teacher, _ = await console_at(pages, 1280, 720, lang)
        before = await teacher.locator(".board-canvas").bounding_box()
        # The longest status the pill shows: refused, with the server's reason, and waiting ink.
        await teacher.evaluate(
            """() => { document.querySelector('.topbar .status').lastChild.textContent =
                 'The server refused the connection: this class has ended, 12 strokes waiting '
                 + 'to be sent, please check the network and try again'; }"""
        )
        await teacher.wait_for_timeout(0)
        after = await teacher.locator(".board-canvas").bounding_box()
        assert before == after, (lang, before, after)
        assert not await teacher.evaluate(
            "document.scrollingElement.scrollWidth > innerWidth"
            " || document.scrollingElement.scrollHeight > innerHeight"
        )
