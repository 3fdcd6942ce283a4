"""Names a teacher gives and fixes in the console (issue 15.7): the quiz title typed over the
file's, and students renamed or removed from the roster."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Pages, online

QUIZ = {
    "questions": [
        {"type": "single", "question": "7 x 8 = ?", "options": ["54", "56"], "correct": "B"},
        {"type": "true_false", "question": "2 is a prime number.", "correct": True},
    ]
}
URDU_TITLE = "حساب: ضرب"


async def test_the_quiz_title_is_editable_and_names_the_quiz_everywhere(
    pages: Pages, tmp_path: Path
) -> None:
    teacher, cls = await pages.teacher_console()
    sana = await pages.student(cls["join_code"], "Sana")
    await teacher.click("[data-tab=quiz]")
    quiz_file = tmp_path / "week3-maths.json"
    quiz_file.write_text(json.dumps(QUIZ), encoding="utf-8")
    await teacher.set_input_files("#quiz-file", str(quiz_file))
    field = teacher.locator(".quiz-item input.quiz-title")
    await field.wait_for()
    # A file without a title is named after the file, as a default the teacher can change.
    assert await field.input_value() == "week3-maths"
    label = await teacher.locator(".quiz-title-field label").inner_text()
    assert label.strip() == "Quiz title"
    box = await field.bounding_box()
    assert box is not None and box["height"] >= 48
    await field.fill(URDU_TITLE)
    await teacher.click(".quiz-item [data-action=save-title]")
    await teacher.wait_for_function(
        "t => document.querySelector('.quiz-item h3').textContent === t", arg=URDU_TITLE
    )
    # A reloaded console has it from the server.
    await teacher.reload()
    await online(teacher)
    await teacher.click("[data-tab=quiz]")
    assert await teacher.locator(".quiz-item input.quiz-title").input_value() == URDU_TITLE
    await teacher.click(".quiz-item [data-action=start]")
    # The big screen and the student's tablet name the quiz by it.
    await teacher.click(".quiz-item [data-action=present]")
    head = teacher.locator("dialog.present .present-kind")
    await head.wait_for()
    assert (await head.inner_text()).strip() == URDU_TITLE
    await teacher.click("dialog.present [data-action=end]")
    await teacher.click("dialog.confirm .btn.danger")
    await teacher.wait_for_selector(".quiz-item[data-status=ended]")
    await teacher.click("dialog.present .present-close")
    reports = await teacher.locator(".quiz-item .reports").inner_text()
    assert URDU_TITLE in reports
    # Bad input is refused with the server's reason in words, and the field goes back.
    await teacher.locator(".quiz-item input.quiz-title").fill("   ")
    await teacher.click(".quiz-item [data-action=save-title]")
    await teacher.wait_for_selector(".toast.error")
    assert await teacher.locator(".quiz-item input.quiz-title").input_value() == URDU_TITLE
    await sana.close()


def row(name: str) -> str:
    """The roster row of the student shown as ``name``."""
    return f".student-list li:has(.name:text-is('{name}'))"


async def test_same_names_are_told_apart_and_the_teacher_renames_and_removes(
    pages: Pages, artifacts: Path
) -> None:
    teacher, cls = await pages.teacher_console(lang="ur")
    first = await pages.student(cls["join_code"], "Ali")
    second = await pages.student(cls["join_code"], "Ali")
    await teacher.click("[data-tab=students]")
    await teacher.wait_for_selector(row("Ali 2"))
    names = await teacher.locator(".student-list .name").all_inner_texts()
    assert sorted(names) == ["Ali", "Ali 2"]
    assert "Ali 2" in await second.inner_text(".topbar .who")
    # Big buttons, in the teacher's language, named for the student they act on.
    for action in ("rename-student", "remove-student"):
        button = teacher.locator(f"{row('Ali 2')} [data-action={action}]")
        box = await button.bounding_box()
        assert box is not None and box["height"] >= 48 and box["width"] >= 48
    await teacher.screenshot(path=str(artifacts / "roster-same-names-ur.png"))
    rename = teacher.locator(f"{row('Ali 2')} [data-action=rename-student]")
    assert (await rename.inner_text()).strip() == "نام بدلیں"
    assert await rename.get_attribute("aria-label") == "Ali 2 کا نام بدلیں"

    # Rename: the roster and the student's own tablet show the new name.
    await rename.click()
    dialog = teacher.locator("dialog.rename-student[open]")
    await dialog.locator("input[name=name]").fill("  علی   رضا ")
    await teacher.screenshot(path=str(artifacts / "roster-rename-ur.png"))
    await dialog.locator("[data-action=save-name]").click()
    await teacher.wait_for_selector("dialog.rename-student", state="detached")
    await teacher.wait_for_selector(row("علی رضا"))
    await second.wait_for_function(
        "() => document.querySelector('.topbar .who').textContent.includes('علی رضا')"
    )
    # A name another student has is refused, with the reason in Urdu, and nothing changes.
    await teacher.click(f"{row('Ali')} [data-action=rename-student]")
    await dialog.locator("input[name=name]").fill("علی رضا")
    await dialog.locator("[data-action=save-name]").click()
    problem = dialog.locator(".form-error")
    await problem.wait_for()
    assert (
        await problem.inner_text()
    ).strip() == "اس کلاس میں یہ نام پہلے ہی کسی اور طالب علم کا ہے۔"
    await dialog.locator("button[type=button]").click()
    await teacher.wait_for_selector("dialog.rename-student", state="detached")
    assert sorted(await teacher.locator(".student-list .name").all_inner_texts()) == [
        "Ali",
        "علی رضا",
    ]

    # Remove asks first; "No" keeps the student.
    await teacher.click(f"{row('Ali')} [data-action=remove-student]")
    assert "Ali" in await teacher.inner_text("dialog.confirm p")
    await teacher.click("dialog.confirm .btn:not(.danger)")
    await teacher.wait_for_selector("dialog.confirm", state="detached")
    assert await teacher.locator(row("Ali")).count() == 1
    await teacher.click(f"{row('Ali')} [data-action=remove-student]")
    await teacher.click("dialog.confirm .btn.danger")
    await teacher.wait_for_selector(row("Ali"), state="detached")
    # The removed student's tablet says why and goes back to the join form; a reload does not
    # bring them back in.
    message = first.locator("p.error[role=alert]")
    await message.wait_for()
    assert (await message.inner_text()).startswith("The teacher removed you from this class.")
    await first.reload()
    await first.wait_for_selector("input[name=name]")
    assert await teacher.locator(".student-list .name").all_inner_texts() == ["علی رضا"]
