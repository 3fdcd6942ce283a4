"""The teacher console and the student app in a real browser against a real server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import E2E_PASSWORD, Pages, online

STROKES_JS = """() => [...window.takhti.session.board.items.values()]
    .filter(i => i.type === 'stroke' && i.hidden.size === 0)
    .map(i => ({id: i.id, pts: i.pts, done: i.done, color: i.color}))
    .sort((a, b) => a.id.localeCompare(b.id))"""

INK_PIXELS_JS = """() => {
  const c = document.querySelector('.board-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let ink = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] < 128 && d[i + 1] < 128 && d[i + 2] < 128) ink++;
  return ink;
}"""


async def draw(page: Any, points: list[tuple[float, float]]) -> None:
    """Draw one stroke with the mouse; points are fractions of the board's width and height."""
    box = await page.locator(".board-canvas").bounding_box()
    x0, y0 = box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"]
    await page.mouse.move(x0, y0)
    await page.mouse.down()
    for fx, fy in points[1:]:
        await page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=4)
    await page.mouse.up()


def zigzag(y: float, n: int = 12) -> list[tuple[float, float]]:
    return [(0.1 + i * 0.06, y + (0.05 if i % 2 else 0)) for i in range(n)]


async def test_teacher_strokes_appear_on_student_board(pages: Pages, artifacts: Path) -> None:
    name = await pages.teacher_login()
    teacher = await pages.page("/teacher", viewport={"width": 1600, "height": 900})
    await teacher.fill("input[name=name]", name)
    await teacher.fill("input[name=password]", E2E_PASSWORD)
    await teacher.click("form button[type=submit]")
    await teacher.fill("input[name=title]", "Class 5 Science")
    await teacher.click("form.create-class button[type=submit]")
    await online(teacher)
    code = (await teacher.inner_text(".join-chip strong")).strip()
    student = await pages.student(code, "Ayesha")
    # A new class opens on its join screen (the lobby); the teacher closes it to teach.
    await teacher.wait_for_selector("dialog.join-screen .lobby-count[data-joined='1']")
    await teacher.click("dialog.join-screen .btn.big")
    await teacher.wait_for_selector("dialog.join-screen", state="detached")

    await draw(teacher, zigzag(0.2))
    await teacher.click("[data-color='#c0392b']")
    await draw(teacher, zigzag(0.6))
    await student.wait_for_function(
        f"({STROKES_JS})().filter(s => s.done).length === 2", timeout=10_000
    )
    await teacher.wait_for_function(f"({STROKES_JS})().filter(s => s.done).length === 2")
    assert await student.evaluate(STROKES_JS) == await teacher.evaluate(STROKES_JS)
    strokes = await student.evaluate(STROKES_JS)
    assert [s["color"] for s in sorted(strokes, key=lambda s: s["pts"][1])] == [
        "#1a1a1a",
        "#c0392b",
    ]
    assert all(len(s["pts"]) >= 4 * 12 for s in strokes)
    assert await student.evaluate(INK_PIXELS_JS) > 200
    await student.screenshot(path=str(artifacts / "student-board.png"))
    await teacher.screenshot(path=str(artifacts / "teacher-console.png"))
    assert teacher.errors == [] and student.errors == []


async def test_student_reconnects_and_catches_up(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    student = await pages.student(cls["join_code"], "Bilal")
    await teacher.click("[data-tab=students]")
    await teacher.click("[data-action=allow-all]")
    await student.wait_for_selector(".drawbar .toolbar")

    ctx = student.context
    await ctx.set_offline(True)
    await student.evaluate("window.takhti.session.conn.simulateDrop()")
    await student.wait_for_selector(".status[data-status=offline]")
    # While the student is away: the teacher draws and adds a page; the student draws too.
    await draw(teacher, zigzag(0.3))
    await draw(student, zigzag(0.7, 8))
    await teacher.click("[data-action=add-page]")
    await teacher.wait_for_function("window.takhti.session.board.order.length === 2")
    assert await student.evaluate("window.takhti.session.board.order.length") == 1

    await ctx.set_offline(False)
    await student.wait_for_selector(".status[data-status=online]", timeout=15_000)
    # The student follows the teacher to page 2 and still has page 1's strokes, and the stroke
    # drawn offline reached the teacher with the same id.
    await student.wait_for_function("window.takhti.session.board.order.length === 2")
    await student.wait_for_function(
        "window.takhti.session.board.current === window.takhti.session.board.order[1]"
    )
    await teacher.wait_for_function(
        "[...window.takhti.session.board.items.values()]"
        ".filter(i => i.by.role === 'student' && i.done).length === 1"
    )
    await student.wait_for_function(f"({STROKES_JS})().filter(s => s.done).length === 2")
    assert await student.evaluate(STROKES_JS) == await teacher.evaluate(STROKES_JS)
    seq_student = await student.evaluate("window.takhti.session.conn.follower.lastSeq")
    assert seq_student >= 5
    assert not await student.is_visible("form.join-card")


async def test_poll_votes_show_in_teacher_chart(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    students = [await pages.student(cls["join_code"], n) for n in ("Ali", "Sana", "Hamza")]
    await teacher.click("[data-tab=polls]")
    await teacher.select_option("select[name=kind]", "single")
    await teacher.fill("input[name=question]", "Which planet is largest?")
    await teacher.fill("textarea[name=options]", "Earth\nJupiter\nMars")
    await teacher.click(".poll-form button[type=submit]")
    await teacher.click(".poll-item [data-action=open]")
    for student, choice in zip(students, ["Jupiter", "Jupiter", "Mars"], strict=True):
        await student.get_by_role("button", name=choice).click()
        await student.wait_for_selector(".poll-card .note:text-matches('sent', 'i')")
    counts = ".poll-item .bar-row"
    await teacher.wait_for_function(
        f"[...document.querySelectorAll('{counts}')].map(r => r.dataset.count).join() === '0,2,1'"
    )
    rows = await teacher.locator(counts).all_inner_texts()
    assert "Jupiter" in rows[1] and "2" in rows[1]
    await teacher.click(".poll-item [data-action=close]")
    await teacher.click(".poll-item [data-action=show]")
    for student in students:
        await student.wait_for_function(
            "[...document.querySelectorAll('.poll-card .bar-row')]"
            ".map(r => r.dataset.count).join() === '0,2,1'"
        )


QUIZ = {
    "title": "Quick maths",
    "questions": [
        {
            "type": "single",
            "question": "7 x 8 = ?",
            "options": ["54", "56", "64"],
            "correct": "B",  # the letter, as teachers write it (docs/quiz-format.md)
            "time_limit_s": 30,
        },
        {"type": "true_false", "question": "2 is a prime number.", "correct": True},
    ],
}


async def test_quiz_runs_two_questions_and_ranks_students(pages: Pages, tmp_path: Path) -> None:
    teacher, cls = await pages.teacher_console()
    sana = await pages.student(cls["join_code"], "Sana")
    omar = await pages.student(cls["join_code"], "Omar")
    await teacher.click("[data-tab=quiz]")
    quiz_file = tmp_path / "quiz.json"
    quiz_file.write_text(json.dumps(QUIZ), encoding="utf-8")
    await teacher.set_input_files("#quiz-file", str(quiz_file))
    await teacher.click(".quiz-item [data-action=start]")

    # Question 1: Sana right, Omar wrong. The countdown runs on the server clock.
    for page in (sana, omar):
        await page.wait_for_selector(".quiz-card .timer[data-left]")
        left = int(await page.get_attribute(".quiz-card .timer", "data-left") or "0")
        assert 20 <= left <= 30
    await sana.get_by_role("button", name="56").click()
    await omar.get_by_role("button", name="64").click()
    await teacher.wait_for_selector(".answered[data-answered='2']")
    await teacher.click(".quiz-item [data-action=next]")  # reveal + leaderboard
    await sana.wait_for_selector(".quiz-card .reveal")
    # At once, without a reload: each student's own result, points and place.
    right = await sana.wait_for_selector(".quiz-card [data-result=right]")
    assert "Correct!" in await right.inner_text() and "points" in await right.inner_text()
    await sana.wait_for_selector(".quiz-card .my-score")
    assert "place 1 of 2" in await sana.inner_text(".quiz-card .my-score")
    wrong = await omar.wait_for_selector(".quiz-card [data-result=wrong]")
    assert "Not this time" in await wrong.inner_text()
    assert "place 2 of 2" in await omar.inner_text(".quiz-card .my-score")
    await teacher.click(".quiz-item [data-action=next]")  # question 2
    # Question 2: both right.
    await sana.get_by_role("button", name="True").click()
    await omar.get_by_role("button", name="True").click()
    await teacher.wait_for_selector(".answered[data-answered='2']")
    await teacher.click(".quiz-item [data-action=next]")
    await teacher.wait_for_selector(".quiz-item .leaderboard li")
    names = await teacher.locator(".quiz-item .leaderboard li .name").all_inner_texts()
    assert names == ["Sana", "Omar"]
    scores = [
        int(s)
        for s in await teacher.eval_on_selector_all(
            ".quiz-item .leaderboard li", "els => els.map(e => e.dataset.score)"
        )
    ]
    assert scores[0] > scores[1] > 0
    await teacher.click(".quiz-item [data-action=next]")  # ends the quiz: podium
    await teacher.wait_for_selector(".quiz-item .podium")
    await sana.wait_for_selector(".quiz-card .podium")
    assert "Sana" in await sana.inner_text(".podium .place-1")


async def test_urdu_interface_is_right_to_left(pages: Pages, artifacts: Path) -> None:
    teacher, cls = await pages.teacher_console(lang="ur")
    student = await pages.student(cls["join_code"], "عائشہ", lang="ur")
    for page in (teacher, student):
        assert await page.evaluate("document.documentElement.dir") == "rtl"
        assert await page.evaluate("document.documentElement.lang") == "ur"
        await page.wait_for_function("document.fonts.check('16px \"Noto Nastaliq Urdu\"', 'اردو')")
    assert "منسلک" in await student.inner_text(".status")
    # The board column sits on the right in RTL: the status pill is left of the class title.
    title = await teacher.locator(".class-title").bounding_box()
    status = await teacher.locator(".status").bounding_box()
    assert status["x"] < title["x"]
    # Numbers use Urdu digits.
    await teacher.wait_for_function(
        "document.querySelector('.roster .muted').textContent.includes('۱')"
    )
    await teacher.screenshot(path=str(artifacts / "teacher-urdu.png"))
    await student.screenshot(path=str(artifacts / "student-urdu.png"))
    # English devices never download the Urdu font.
    english = await pages.page("/", viewport={"width": 800, "height": 900})
    fonts: list[str] = []
    english.on("request", lambda r: fonts.append(r.url) if ".woff" in r.url else None)
    await english.reload()
    await english.wait_for_selector("form.join-card")
    assert await english.evaluate("document.documentElement.dir") == "ltr"
    assert fonts == []


XSS_NAME = "<img src=x onerror=window.__pwned=1>Zara"
XSS_QUESTION = "<script>window.__pwned=1</script>Best <b>fruit</b>?"


async def test_names_and_poll_text_are_shown_as_text(pages: Pages) -> None:
    teacher, cls = await pages.teacher_console()
    student = await pages.student(cls["join_code"], XSS_NAME)
    await teacher.wait_for_selector(".student-list li")
    assert (await teacher.inner_text(".student-list li .name")).strip() == XSS_NAME
    await teacher.click("[data-tab=polls]")
    await teacher.select_option("select[name=kind]", "single")
    await teacher.fill("input[name=question]", XSS_QUESTION)
    await teacher.fill("textarea[name=options]", "<i>Mango</i>\n<svg onload=window.__pwned=1>")
    await teacher.click(".poll-form button[type=submit]")
    await teacher.click(".poll-item [data-action=open]")
    await student.wait_for_selector(".poll-card h2")
    assert (await student.inner_text(".poll-card h2")).strip() == XSS_QUESTION
    await student.get_by_role("button", name="<i>Mango</i>").click()
    await student.wait_for_selector(".poll-card .note:text-matches('sent', 'i')")
    await teacher.wait_for_function(
        "[...document.querySelectorAll('.poll-item .bar-row')].map(r => r.dataset.count).join() === '1,0'"
    )
    for page in (teacher, student):
        assert await page.evaluate("window.__pwned") is None
        assert await page.locator("img[src=x], .poll-card script, svg[onload]").count() == 0


async def test_app_shell_loads_offline_on_a_repeat_visit(pages: Pages) -> None:
    page = await pages.page("/", viewport={"width": 800, "height": 900})
    await page.wait_for_selector("form.join-card")
    status = await page.evaluate("fetch('/sw.js').then(r => r.status)")
    assert status == 200, "the server must serve classroom/static/sw.js at /sw.js"
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await page.reload()
    await page.wait_for_function("navigator.serviceWorker.controller !== null")
    await page.context.set_offline(True)
    await page.reload()
    await page.wait_for_selector("form.join-card")
    assert await page.inner_text("h1") == "Join your class"
