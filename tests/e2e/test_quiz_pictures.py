"""A quiz imported from the console with its picture: the sample zip, several files chosen at
once, and a missing picture named in Urdu, in a real browser against a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import Pages

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
PICTURE_QUESTION = "Which shape is shown in the picture?"


def loaded_picture_js(scope: str) -> str:
    """True once the question's picture in ``scope`` has loaded: the sample circle, 320 x 240."""
    return f"""() => {{
      const img = document.querySelector('{scope} img.question-picture');
      return !!img && img.complete && img.naturalWidth === 320 && img.naturalHeight === 240;
    }}"""


async def run_to_the_picture_question(teacher: Any) -> None:
    """Start the imported sample quiz untimed and step to its 7th question (the picture)."""
    await teacher.select_option(".quiz-item select", "untimed")
    await teacher.click(".quiz-item [data-action=start]")
    for _ in range(6):
        await teacher.click(".quiz-item [data-action=next]")  # reveal
        await teacher.wait_for_selector(".quiz-item .reveal")
        await teacher.click(".quiz-item [data-action=next]")  # the next question
        await teacher.wait_for_selector(".quiz-item .reveal", state="detached")
    assert (await teacher.inner_text(".quiz-item .question")).strip() == PICTURE_QUESTION


async def test_the_sample_zip_imports_and_its_picture_shows(pages: Pages, artifacts: Path) -> None:
    teacher, cls = await pages.teacher_console()
    ali = await pages.student(str(cls["join_code"]), "Ali")
    await teacher.click("[data-tab=quiz]")
    assert await teacher.get_attribute("#quiz-file", "multiple") is not None
    await teacher.set_input_files("#quiz-file", str(SAMPLES / "quiz.zip"))
    await teacher.wait_for_selector(".quiz-item[data-status=ready]")
    await run_to_the_picture_question(teacher)
    await teacher.wait_for_function(loaded_picture_js(".quiz-item"))
    await ali.wait_for_function(loaded_picture_js(".quiz-card"))
    await teacher.screenshot(path=str(artifacts / "quiz-picture-console.png"))
    assert ali.errors == []
    assert pages.external == []


async def test_several_files_at_once_and_a_missing_picture_named_in_urdu(
    pages: Pages,
) -> None:
    teacher, _ = await pages.teacher_console(lang="ur")
    await teacher.click("[data-tab=quiz]")
    # The quiz file alone: its last question's picture is missing, and the error says which.
    await teacher.set_input_files("#quiz-file", str(SAMPLES / "quiz.yaml"))
    error = teacher.locator(".toast.error")
    await error.wait_for()
    text = await error.inner_text()
    assert "circle.png" in text and "تصویر" in text, text
    assert await teacher.locator(".quiz-item").count() == 0
    # The quiz file and its picture chosen together: imported, picture and all.
    await teacher.set_input_files(
        "#quiz-file", [str(SAMPLES / "quiz.yaml"), str(SAMPLES / "circle.png")]
    )
    await teacher.wait_for_selector(".quiz-item[data-status=ready]")
    await run_to_the_picture_question(teacher)
    await teacher.wait_for_function(loaded_picture_js(".quiz-item"))
