"""The big screen on a 1920x1080 smartboard: polls and quizzes readable from the back of the room,
the lobby that opens after "New class" (issue 15.2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Pages, online
from tests.e2e.test_console_tools import confirm

BOARD = {"width": 1920, "height": 1080}

# Every element with its own visible text inside the big screen whose font is under 32 px.
SMALL_TEXT_JS = """() => {
  const small = [];
  for (const el of document.querySelectorAll('dialog.present[open] *')) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < 32) small.push([el.tagName, el.className, el.textContent.trim().slice(0, 30), px]);
  }
  return small;
}"""

# Each bar's length as a fraction of its track, with the row's count.
BARS_JS = """() => [...document.querySelectorAll('dialog.present .bar-row')].map(r => ({
  count: Number(r.dataset.count),
  fill: r.querySelector('.bar').getBoundingClientRect().width
        / r.querySelector('.bar-track').getBoundingClientRect().width,
}))"""

OPTION_COLOURS_JS = """() => [...document.querySelectorAll('dialog.present .present-option')]
  .map(o => [o.className.match(/shape-\\d/)[0], getComputedStyle(o).backgroundColor,
             getComputedStyle(o.querySelector('.shape')).clipPath,
             getComputedStyle(o.querySelector('.shape')).borderRadius])"""


async def readable(page: Any) -> None:
    small = await page.evaluate(SMALL_TEXT_JS)
    assert small == [], f"text under 32 px on the big screen: {small}"


async def teacher_on_board(pages: Pages, lang: str = "en") -> tuple[Any, dict[str, Any]]:
    page, cls = await pages.teacher_console(lang=lang)
    await page.set_viewport_size(BOARD)
    return page, cls


async def test_new_class_opens_the_lobby_which_counts_students_live(pages: Pages) -> None:
    ctx = await pages.teacher_context(viewport=BOARD)
    teacher = await ctx.new_page()
    await teacher.goto(f"{pages.url}/teacher")
    await teacher.fill("input[name=title]", "Science 7B")
    await teacher.click("form.create-class button[type=submit]")
    # The join screen opens by itself, as a lobby with nobody in it yet.
    lobby = teacher.locator("dialog.join-screen[open] .lobby-count")
    await lobby.wait_for()
    assert await lobby.get_attribute("data-joined") == "0"
    await online(teacher)
    code = (await teacher.inner_text("dialog.join-screen .join-code-big")).strip()
    await pages.student(code, "Ayesha")
    await teacher.wait_for_selector("dialog.join-screen .lobby-count[data-joined='1']")
    await pages.student(code, "Bilal")
    await teacher.wait_for_selector("dialog.join-screen .lobby-count[data-joined='2']")
    names = await teacher.locator("dialog.join-screen .lobby-names li").all_inner_texts()
    assert sorted(names) == ["Ayesha", "Bilal"]
    assert "2 joined" in await lobby.inner_text()
    # Everything on the join screen, its Close button too, is inside the 1080p screen.
    close = await teacher.locator("dialog.join-screen .btn.big").bounding_box()
    assert close is not None and close["y"] + close["height"] <= BOARD["height"]
    # Closed, it stays closed; the chip opens it again, still counting.
    await teacher.click("dialog.join-screen .btn.big")
    await teacher.wait_for_selector("dialog.join-screen", state="detached")
    await teacher.click(".join-chip")
    await teacher.wait_for_selector("dialog.join-screen .lobby-count[data-joined='2']")


async def test_poll_on_the_big_screen_shows_shares_of_the_total(
    pages: Pages, artifacts: Path
) -> None:
    teacher, cls = await teacher_on_board(pages)
    students = [await pages.student(cls["join_code"], n) for n in ("Ali", "Sana", "Hamza")]
    await teacher.click("[data-tab=polls]")
    await teacher.select_option("select[name=kind]", "single")
    await teacher.fill("input[name=question]", "Which planet is largest?")
    await teacher.fill("textarea[name=options]", "Earth\nJupiter\nMars")
    await teacher.click(".poll-form button[type=submit]")
    await teacher.click(".poll-item [data-action=present]")
    await teacher.click("dialog.present [data-action=open]")
    await teacher.wait_for_selector("dialog.present .present-option")
    # The options in the students' colours and shapes: four different looks.
    looks = await teacher.evaluate(OPTION_COLOURS_JS)
    assert [s for s, *_ in looks] == ["shape-0", "shape-1", "shape-2"]
    assert len({colour for _, colour, *_ in looks}) == 3
    assert looks[0][3] == "50%" and "polygon" in looks[1][2]
    for student, choice in zip(students, ["Jupiter", "Jupiter", "Mars"], strict=True):
        await student.get_by_role("button", name=choice).click()
    await teacher.wait_for_selector("dialog.present .present-answered[data-answered='3']")
    assert "3 of 3 answered" in await teacher.inner_text("dialog.present .present-answered")
    await readable(teacher)
    await teacher.click("dialog.present [data-action=close]")
    await teacher.click("dialog.present [data-action=show]")
    await teacher.wait_for_selector("dialog.present .bar-row")
    bars = await teacher.evaluate(BARS_JS)
    assert [b["count"] for b in bars] == [0, 2, 1]
    # Shares of everyone who answered, not of the largest bar (that would be 1.0 and 0.5).
    for bar, share in zip(bars, [0.0, 2 / 3, 1 / 3], strict=True):
        assert abs(bar["fill"] - share) < 0.02, bars
    values = await teacher.locator("dialog.present .bar-value").all_inner_texts()
    assert "67%" in values[1] and "33%" in values[2]
    await readable(teacher)
    await teacher.screenshot(path=str(artifacts / "present-poll-en.png"))


QUIZ = {
    "title": "Quick maths",
    "questions": [
        {
            "type": "single",
            "question": "7 x 8 = ?",
            "options": ["54", "56", "64", "72"],
            "correct": "B",
            "time_limit_s": 30,
        },
        {"type": "true_false", "question": "2 is a prime number.", "correct": True},
    ],
}


async def test_quiz_on_the_big_screen_in_urdu(
    pages: Pages, artifacts: Path, tmp_path: Path
) -> None:
    teacher, cls = await teacher_on_board(pages, lang="ur")
    sana = await pages.student(cls["join_code"], "ثنا", lang="ur")
    omar = await pages.student(cls["join_code"], "عمر", lang="ur")
    await teacher.click("[data-tab=quiz]")
    quiz_file = tmp_path / "quiz.json"
    quiz_file.write_text(json.dumps(QUIZ), encoding="utf-8")
    await teacher.set_input_files("#quiz-file", str(quiz_file))
    await teacher.click(".quiz-item [data-action=start]")
    await teacher.click(".quiz-item [data-action=present]")
    # A large countdown, the four options, nobody answered yet.
    timer = teacher.locator("dialog.present .present-timer[data-left]")
    await timer.wait_for()
    assert 20 <= int(await timer.get_attribute("data-left") or "0") <= 30
    assert await teacher.locator("dialog.present .present-option").count() == 4
    assert await teacher.evaluate("document.documentElement.dir") == "rtl"
    await teacher.wait_for_function("document.fonts.check('32px \"Noto Nastaliq Urdu\"', 'اردو')")
    await readable(teacher)
    timer_px = await timer.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert timer_px >= 64
    await teacher.screenshot(path=str(artifacts / "present-quiz-open-ur.png"))
    await sana.get_by_role("button", name="56").click()
    await omar.get_by_role("button", name="64").click()
    await teacher.wait_for_selector("dialog.present .present-answered[data-answered='2']")
    await teacher.click("dialog.present [data-action=next]")  # reveal
    await teacher.wait_for_selector("dialog.present .leaderboard li")
    bars = await teacher.evaluate(BARS_JS)
    assert [b["count"] for b in bars] == [0, 1, 1, 0]
    assert all(abs(b["fill"] - b["count"] / 2) < 0.02 for b in bars), bars
    assert await teacher.locator("dialog.present .bar-row.is-correct").count() == 1
    await readable(teacher)
    await teacher.screenshot(path=str(artifacts / "present-quiz-results-ur.png"))
    await teacher.click("dialog.present [data-action=next]")  # question 2
    await sana.get_by_role("button", name="درست").click()
    await teacher.wait_for_selector("dialog.present .present-answered[data-answered='1']")
    await teacher.click("dialog.present [data-action=next]")  # reveal the last question
    # The last question's "Next" reads differently: it shows the winners.
    last = teacher.locator("dialog.present [data-action=next][data-last=true]")
    await last.wait_for()
    assert (await last.inner_text()).strip() == "جیتنے والے دکھائیں"
    await last.click()
    await teacher.wait_for_selector("dialog.present .podium")
    assert "ثنا" in await teacher.inner_text("dialog.present .podium .place-1")
    await readable(teacher)
    await teacher.screenshot(path=str(artifacts / "present-podium-ur.png"))


async def test_end_quiz_asks_first(pages: Pages, tmp_path: Path) -> None:
    teacher, cls = await pages.teacher_console()
    await pages.student(cls["join_code"], "Sana")
    await teacher.click("[data-tab=quiz]")
    quiz_file = tmp_path / "quiz.json"
    quiz_file.write_text(json.dumps(QUIZ), encoding="utf-8")
    await teacher.set_input_files("#quiz-file", str(quiz_file))
    await teacher.click(".quiz-item [data-action=start]")
    await teacher.click(".quiz-item [data-action=end]")
    # "No" keeps the quiz running.
    await teacher.click("dialog.confirm .btn:not(.danger)")
    await teacher.wait_for_selector("dialog.confirm", state="detached")
    assert await teacher.get_attribute(".quiz-item", "data-status") == "running"
    await teacher.click(".quiz-item [data-action=end]")
    await confirm(teacher)
    await teacher.wait_for_selector(".quiz-item[data-status=ended]")
