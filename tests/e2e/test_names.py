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
