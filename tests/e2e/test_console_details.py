"""Small things a new teacher or student trips over (issue 15.7), each seen in a real browser."""

from __future__ import annotations

import re
from typing import Any

from classroom.classes import JOIN_CODE_ALPHABET, JOIN_CODE_LENGTH
from tests.e2e.conftest import Pages
from tests.e2e.test_console_tools import confirm


async def new_poll(teacher: Any, kind: str, question: str, **fields: str) -> None:
    await teacher.click("[data-tab=polls]")
    await teacher.select_option("select[name=kind]", kind)
    await teacher.fill("input[name=question]", question)
    for name, value in fields.items():
        await teacher.fill(f"input[name={name}]", value)
    await teacher.click(".poll-form button[type=submit]")
    await teacher.click(".poll-item [data-action=open]")
    await teacher.wait_for_selector(".poll-item[data-status=open]")


async def test_word_cloud_limit_is_set_by_the_teacher_and_extra_words_are_refused(
    pages: Pages,
) -> None:
    teacher, cls = await pages.teacher_console()
    student = await pages.student(cls["join_code"], "Hina")
    await teacher.click("[data-tab=polls]")
    await teacher.select_option("select[name=kind]", "word_cloud")
    assert await teacher.is_visible("input[name=max_words]")
    await new_poll(teacher, "word_cloud", "Describe the sea", max_words="2")
    poll_id = await teacher.get_attribute(".poll-item", "data-poll")
    hint = await student.wait_for_selector(".poll-card .hint")
    assert "2 words" in await hint.inner_text()
    # Three words: refused in the app with a message, nothing is sent (or cut short).
    await student.fill(".poll-card input", "blue deep salty")
    await student.click(".poll-card button[type=submit]")
    note = student.locator(".poll-card .note")
    await note.filter(has_text="At most 2 words").wait_for()
    assert "you wrote 3" in await note.inner_text()
    assert await teacher.locator(".poll-item .cloud li").count() == 0
    # The server refuses them too, with a clear error, for a client that skips the check.
    peer, _ = await pages.running.student(cls["join_code"], "Omar")
    try:
        ack = await peer.call(
            "poll_vote", {"poll_id": poll_id, "vote_id": "v-3", "words": ["a", "b", "c"]}
        )
        assert ack["ok"] is False and ack["error"]["code"] == "INVALID_PAYLOAD"
        assert ack["error"]["field"] == "words"
    finally:
        await peer.disconnect()
    # Two words go through.
    await student.fill(".poll-card input", "blue deep")
    await student.click(".poll-card button[type=submit]")
    await teacher.wait_for_function(
        "[...document.querySelectorAll('.poll-item .cloud li')].length === 2"
    )


async def test_rating_poll_labels_its_ends(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    student = await pages.student(cls["join_code"], "Hina")
    await new_poll(teacher, "rating", "How well did you follow?")
    ends = await student.wait_for_selector(".poll-card .rating-ends")
    assert await ends.inner_text() == "1 = not at all, 5 = very much"
    await student.get_by_role("button", name="4").click()
    await teacher.wait_for_selector(".poll-item .bar-row[data-count='1']")
    assert "5 = very much" in await teacher.inner_text(".poll-item .rating-ends")


async def test_open_text_results_show_the_answers_the_teacher_picked(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    hina = await pages.student(cls["join_code"], "Hina")
    omar = await pages.student(cls["join_code"], "Omar")
    await new_poll(teacher, "open_text", "One thing you learnt")
    for page, text in ((hina, "Plants need light"), (omar, "Something rude")):
        await page.fill(".poll-card input", text)
        await page.click(".poll-card button[type=submit]")
        await page.wait_for_selector(".poll-card .note:text-matches('sent', 'i')")
    await teacher.wait_for_function(
        "document.querySelectorAll('.poll-item .answers li').length === 2"
    )
    await teacher.click(".poll-item [data-action=close]")
    await teacher.locator(".poll-item label.check", has_text="Plants need light").click()
    await teacher.click(".poll-item [data-action=show]")
    for page in (hina, omar):
        shown = page.locator(".poll-card .shown-answers li")
        await shown.first.wait_for()
        assert await shown.all_inner_texts() == ["Plants need light"]


async def test_tools_look_disabled_after_the_class_ends(pages: Pages) -> None:
    teacher, _ = await pages.teacher_console()
    tools = teacher.locator(".console-tools")
    assert float(await tools.evaluate("e => getComputedStyle(e).opacity")) == 1
    await teacher.click(".topbar .btn.danger")
    await confirm(teacher)
    await teacher.wait_for_selector(".console.ended .console-tools[inert]")
    assert float(await tools.evaluate("e => getComputedStyle(e).opacity")) < 0.6
    # Inert: a tap on a tool does nothing.
    pen = teacher.locator("[data-tool=highlighter]")
    assert await pen.get_attribute("aria-pressed") != "true"
    await pen.click(force=True)
    assert await pen.get_attribute("aria-pressed") != "true"


async def test_join_code_hint_looks_like_a_real_code(pages: Pages) -> None:
    for lang in ("en", "ur"):
        page = await pages.page("/", lang=lang, viewport={"width": 800, "height": 1000})
        await page.wait_for_selector("form.join-card .hint")
        hint = await page.inner_text("form.join-card .hint")
        examples = re.findall(r"[A-Z0-9-]{3,}", hint)
        assert len(examples) == 1, hint
        assert len(examples[0]) == JOIN_CODE_LENGTH
        assert set(examples[0]) <= set(JOIN_CODE_ALPHABET), examples[0]


async def test_download_icon_is_a_common_glyph(pages: Pages) -> None:
    teacher, _ = await pages.teacher_console()
    await new_poll(teacher, "yes_no", "Ready?")
    icon = teacher.locator(".reports [data-report] .icon")
    # U+2193 DOWNWARDS ARROW is in every common UI font (U+2B73 was a box on most tablets).
    assert await icon.inner_text() == "\u2193"
    assert await icon.get_attribute("aria-hidden") == "true"
