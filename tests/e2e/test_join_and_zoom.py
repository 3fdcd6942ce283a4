"""The full-screen join code and QR, and the student's local pinch zoom of the live board."""

from __future__ import annotations

import asyncio
import re

from tests.e2e.conftest import Pages
from tests.e2e.test_classroom import INK_PIXELS_JS, STROKES_JS, draw, zigzag

PINCH_JS = """([spread]) => {
  const c = document.querySelector('.board-canvas');
  const r = c.getBoundingClientRect();
  const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
  const fire = (type, id, x) => c.dispatchEvent(new PointerEvent(type, {
    pointerId: id, pointerType: 'touch', isPrimary: id === 1, bubbles: true, cancelable: true,
    clientX: x, clientY: cy, buttons: type === 'pointerup' ? 0 : 1}));
  fire('pointerdown', 1, cx - 20); fire('pointerdown', 2, cx + 20);
  for (let i = 1; i <= 10; i++) { fire('pointermove', 1, cx - 20 - i * spread / 10);
                                  fire('pointermove', 2, cx + 20 + i * spread / 10); }
  fire('pointerup', 1, cx - 20 - spread); fire('pointerup', 2, cx + 20 + spread);
}"""


async def test_join_screen_shows_code_link_and_qr(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    await teacher.click(".join-chip")
    await teacher.wait_for_selector("dialog.join-screen[open]")
    assert (await teacher.inner_text(".join-code-big")).strip() == cls["join_code"]
    await teacher.wait_for_function(
        "(() => { const q = document.querySelector('dialog.join-screen img.qr');"
        " return q !== null && q.complete && q.naturalWidth > 100; })()"
    )
    assert await teacher.get_attribute("dialog.join-screen img.qr", "alt")


async def test_student_pinch_zooms_the_board_locally(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    student = await pages.student(cls["join_code"], "Hira")
    await draw(teacher, zigzag(0.5, 16))
    await student.wait_for_function(f"({STROKES_JS})().filter(s => s.done).length === 1")
    await student.wait_for_function(f"({INK_PIXELS_JS})() > 50")
    before = await student.evaluate(INK_PIXELS_JS)
    await student.evaluate(PINCH_JS, [200])
    # Zoomed in, the same stroke covers more screen pixels; the teacher's board is unchanged.
    await student.wait_for_function(f"({INK_PIXELS_JS})() > {before} * 1.5")
    assert await teacher.evaluate(STROKES_JS) == await student.evaluate(STROKES_JS)


async def test_teacher_reopens_a_class_and_finds_its_board(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    await draw(teacher, zigzag(0.4))
    await teacher.wait_for_function(f"({STROKES_JS})().filter(s => s.done).length === 1")
    drawn = await teacher.evaluate(STROKES_JS)
    await teacher.evaluate("window.takhti.session.leftBehind = true")
    # Back to the class list, then open the same class again: a new session loads the board.
    await teacher.click("button:has-text('‹')")
    row = teacher.locator(".class-list li", has_text=cls["join_code"])
    await row.locator("button").click()
    await teacher.wait_for_function(
        f"!window.takhti.session.leftBehind && window.takhti.session.ready"
        f" && ({STROKES_JS})().filter(s => s.done).length === 1"
    )
    assert await teacher.evaluate(STROKES_JS) == drawn


async def test_join_screen_says_plainly_when_tablets_cannot_reach_the_server(pages: Pages) -> None:
    # The test server listens on 127.0.0.1 only: no tablet could open its join link.
    teacher, cls = await pages.teacher_console(lang="ur")
    assert cls["join_reachable"] is False
    await teacher.click(".join-chip")
    warning = await teacher.wait_for_selector("dialog.join-screen [data-join-unreachable]")
    text = await warning.inner_text()
    assert "--public-url" in text and "نیٹ ورک" in text  # Urdu, with the fix named


async def test_the_join_form_works_before_the_drawing_code_arrives(pages: Pages) -> None:
    """On a weak link the student can type the code and name while the board, socket and
    drawing code are still on their way: the join form does not wait for them."""
    ctx = await pages.context(viewport={"width": 800, "height": 1280})
    held: list[str] = []
    live_app_asked = asyncio.Event()

    async def hold(route: object) -> None:
        held.append(route.request.url)  # type: ignore[attr-defined]
        if "/assets/app-" in route.request.url:  # type: ignore[attr-defined]
            live_app_asked.set()
        await route.abort()  # type: ignore[attr-defined]

    await ctx.route(re.compile(r"/assets/(app|toolbar|render)-[^/]*\.js$"), hold)
    page = await ctx.new_page()
    await page.goto(pages.url + "/join/ABC123")
    await page.fill("input[name=name]", "Hira")
    assert await page.input_value("input[name=code]") == "ABC123"
    assert await page.is_enabled("form button[type=submit]")
    # The live app was asked for (prefetched while the student types), and was not needed.
    await asyncio.wait_for(live_app_asked.wait(), 10)


async def test_urdu_strings_lost_on_the_way_leave_an_english_page_not_a_blank_one(
    pages: Pages,
) -> None:
    """The Urdu strings are their own chunk (fetched only in Urdu). When a dropped link loses
    it, the page comes up in English; the next load, with the link back, is in Urdu again."""
    ctx = await pages.context(lang="ur", viewport={"width": 800, "height": 1280})

    async def drop(route: object) -> None:
        await route.abort()  # type: ignore[attr-defined]

    await ctx.route(re.compile(r"/assets/i18n-ur-[^/]*\.js$"), drop)
    page = await ctx.new_page()
    await page.goto(pages.url + "/join/ABC123")
    await page.fill("input[name=name]", "Hira")
    assert await page.evaluate("document.documentElement.dir") == "ltr"
    assert await page.is_enabled("form button[type=submit]")
    await ctx.unroute(re.compile(r"/assets/i18n-ur-[^/]*\.js$"))
    await page.reload()
    await page.wait_for_function("document.documentElement.dir === 'rtl'")
