"""After class, the teacher gives the lesson its details in Urdu; /lessons lists it in both languages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import Pages
from tests.e2e.test_accessibility import contrast, unnamed_controls

TITLE = "کسور: جمع اور تفریق"
TEACHER_NAME = "مس عائشہ"
DESCRIPTION = "ایک جیسے نسب نما والی کسریں"


async def _lesson(pages: Pages, class_id: str) -> dict[str, Any]:
    status, body = await pages.running.api.request(
        "GET", f"/api/classes/{class_id}/lesson", token=pages.running.teacher_token
    )
    assert status == 200, body
    lesson: dict[str, Any] = body["lesson"]
    return lesson


async def _accessible(page: Any, where: str, *, modal: bool = False) -> None:
    """Every control named, every text at WCAG AA contrast (as the console's own test checks).

    Behind an open modal dialog the page is rightly out of the accessibility tree.
    """
    count, unnamed = await unnamed_controls(page)
    if modal:
        unnamed = [bad for bad in unnamed if not bad.endswith("hidden from the accessibility tree")]
    assert count > 0 and unnamed == [], (where, unnamed)
    result = await contrast(page)
    assert result["checked"] > 0 and result["failures"] == [], (where, result["failures"])


async def test_teacher_edits_details_in_urdu_and_sees_them_on_lessons(
    pages: Pages, artifacts: Path
) -> None:
    console, cls = await pages.teacher_console(lang="ur")
    class_id = cls["class_id"]
    status, _ = await pages.running.api.request(
        "POST", f"/api/classes/{class_id}/end", token=pages.running.teacher_token
    )
    assert status == 200
    details = console.locator("[data-action=lesson-details]")
    await details.click()
    form = console.locator("dialog.details-dialog form")
    await form.wait_for()
    await form.locator("input[name=title]").fill(TITLE)
    await form.locator("select[name=subject]").select_option("maths")
    await form.locator("select[name=grade]").select_option("5")
    await form.locator("input[name=languages][value=ur]").check()
    await form.locator("input[name=teacher_name]").fill(TEACHER_NAME)
    await form.locator("textarea[name=description]").fill(DESCRIPTION)
    # A trim point past the end of the lesson is refused, in Urdu, and nothing is stored.
    await form.locator("input[name=trim_end]").fill("99:00")
    await form.locator("button[type=submit]").click()
    alert = form.locator("[role=alert]")
    await alert.wait_for(state="visible")
    await console.wait_for_function(
        "document.querySelector('dialog.details-dialog [role=alert]').textContent.includes('سبق کے اندر')"
    )
    assert (await _lesson(pages, class_id))["details_set"] is False
    await console.screenshot(path=str(artifacts / "lesson-details-urdu.png"))
    await _accessible(console, "details form, Urdu", modal=True)
    await form.locator("input[name=trim_end]").fill("")
    await form.locator("button[type=submit]").click()
    await console.locator("dialog.details-dialog").wait_for(state="detached")
    stored = await _lesson(pages, class_id)
    assert stored["title"] == TITLE and stored["subject"] == "maths" and stored["grade"] == "5"
    assert stored["languages"] == ["ur"] and stored["teacher_name"] == TEACHER_NAME
    assert stored["description"] == DESCRIPTION and stored["trim_end_ms"] is None

    # The list, in Urdu (right to left), then in English.
    await console.locator("a[href='/lessons']").first.click()
    await console.wait_for_url("**/lessons")
    item = console.locator(f"li.lesson[data-class-id='{class_id}']")
    await item.wait_for()
    assert await console.evaluate("document.documentElement.dir") == "rtl"
    urdu = await item.inner_text()
    for text in (TITLE, TEACHER_NAME, "ریاضی", "جماعت ۵", "اردو", "صفحات: ۱", "آواز نہیں"):
        assert text in urdu, (text, urdu)
    replay = item.locator("a.btn")
    assert await replay.get_attribute("href") == f"/lessons/{class_id}"
    box = await replay.bounding_box()
    assert box["height"] >= 48  # a touch target a finger hits on the smartboard
    await console.screenshot(path=str(artifacts / "lessons-urdu.png"))
    await _accessible(console, "lessons, Urdu")

    await console.locator("button.lang").click()
    await console.wait_for_function("document.documentElement.dir === 'ltr'")
    english = await console.locator(f"li.lesson[data-class-id='{class_id}']").inner_text()
    for text in (TITLE, "Maths", "Class 5", "Urdu", "Pages: 1", "No audio"):
        assert text in english, (text, english)
    await _accessible(console, "lessons, English")

    await console.locator(f"li.lesson[data-class-id='{class_id}'] a.btn").click()
    await console.wait_for_url(f"**/lessons/{class_id}")
    await console.locator("h1", has_text=TITLE).wait_for()
