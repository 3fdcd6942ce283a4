"""A practice class in Chromium: the teacher starts it from the classes screen, simulated
students (``classroom simulate``, a child process of the server) vote and answer, the quiz
reaches the podium, and ending the class shows the debrief."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Pages, online

QUIZ = {
    "title": "Tables",
    "questions": [
        {"type": "single", "question": "7 x 8 = ?", "options": ["54", "56", "64"], "correct": "B"},
        {"type": "true_false", "question": "2 is a prime number.", "correct": True},
    ],
}


async def test_practice_class_poll_quiz_and_debrief(
    pages: Pages, tmp_path: Path, artifacts: Path
) -> None:
    running = pages.running
    # Simulated children ten times quicker than real ones (a frozen setting, set for the test).
    object.__setattr__(running.services.settings, "practice_time_scale", 0.1)
    ctx = await pages.teacher_context(viewport={"width": 1600, "height": 900})
    token = running.teacher_token
    teacher = await ctx.new_page()
    await teacher.goto(f"{pages.url}/teacher")
    await teacher.click("[data-action=practice]")
    await teacher.screenshot(path=str(artifacts / "practice-dialog.png"))
    await teacher.fill(".practice-dialog input[name=students]", "4")
    await teacher.select_option(".practice-dialog select[name=profile]", "busy")
    await teacher.click(".practice-dialog button[type=submit]")
    await online(teacher)
    await teacher.wait_for_selector("[data-practice-state=running]")
    # The simulated students join over a few seconds, with Pakistani names.
    await teacher.wait_for_function(
        "document.querySelectorAll('.student-list li[data-online=true]').length >= 4",
        timeout=30_000,
    )
    names = await teacher.locator(".student-list li .name").all_inner_texts()
    assert len(names) == 4 and all(name.strip() for name in names)
    # Drawing allowed: the simulated students draw a few strokes.
    await teacher.click("[data-action=allow-all]")
    await teacher.screenshot(path=str(artifacts / "practice-console.png"))

    # A poll: the votes arrive and the live chart converges on the final tally.
    await teacher.click("[data-tab=polls]")
    await teacher.select_option("select[name=kind]", "single")
    await teacher.fill("input[name=question]", "Which planet is largest?")
    await teacher.fill("textarea[name=options]", "Earth\nJupiter\nMars")
    await teacher.click(".poll-form button[type=submit]")
    await teacher.click(".poll-item [data-action=open]")
    counts = "[...document.querySelectorAll('.poll-item .bar-row')].map(r => +r.dataset.count)"
    await teacher.wait_for_function(f"{counts}.reduce((a, b) => a + b, 0) >= 3", timeout=30_000)
    await teacher.click(".poll-item [data-action=close]")
    await teacher.click(".poll-item [data-action=show]")
    class_id = await teacher.evaluate("new URLSearchParams(location.search).get('class')")
    status, report = await running.api.request(
        "GET", f"/api/classes/{class_id}/reports/polls.json", token=token
    )
    assert status == 200
    final = report["polls"][0]["totals"]["counts"]
    await teacher.wait_for_function(f"{counts}.join() === {','.join(map(str, final))!r}")
    assert sum(final) >= 3

    # A quiz runs to the podium with the simulated students' answers.
    await teacher.click("[data-tab=quiz]")
    quiz_file = tmp_path / "quiz.json"
    quiz_file.write_text(json.dumps(QUIZ), encoding="utf-8")
    await teacher.set_input_files("#quiz-file", str(quiz_file))
    await teacher.click(".quiz-item [data-action=start]")
    scores_js = """() => Object.fromEntries([...document.querySelectorAll(
      '.quiz-item .leaderboard li')].map(li => [li.querySelector('.name').innerText.trim(),
      +li.dataset.score]))"""
    dropped, before = "", 0
    for number, _ in enumerate(QUIZ["questions"]):
        await teacher.wait_for_function(
            "+(document.querySelector('.answered')?.dataset.answered || 0) >= 3",
            timeout=30_000,
        )
        await teacher.click(".quiz-item [data-action=next]")  # reveal + leaderboard
        await teacher.wait_for_selector(".quiz-item .leaderboard li")
        if number == 0:
            # The trainer takes a student off the Wi-Fi: they go offline, come back as
            # themselves (no new student), and keep their score.
            board = await teacher.evaluate(scores_js)
            await teacher.click("[data-tab=students]")  # the class list shows who is online
            await teacher.click("[data-action=practice-drop]")
            away = await teacher.wait_for_selector(
                ".student-list li[data-online=false] .name", timeout=30_000
            )
            dropped = (await away.text_content() or "").strip()
            before = board.get(dropped, 0)
            await teacher.wait_for_function(
                "document.querySelectorAll('.student-list li[data-online=true]').length === 4"
                " && document.querySelectorAll('.student-list li').length === 4",
                timeout=30_000,
            )
            await teacher.click("[data-tab=quiz]")
        final_scores = await teacher.evaluate(scores_js)
        await teacher.click(".quiz-item [data-action=next]")  # next question, or the podium
    await teacher.wait_for_selector(".quiz-item .podium")
    assert dropped and final_scores.get(dropped, 0) >= before, (dropped, before, final_scores)
    await teacher.click("[data-tab=students]")
    await teacher.wait_for_selector(".student-list li")
    assert len(await teacher.locator(".student-list li").all()) == 4  # nobody joined twice

    # Ending the practice class shows the debrief, and the students' process stops.
    await teacher.click("header .btn.danger")
    # The debrief can show (class_ended came over the socket) before the End request has
    # stopped the simulator: its answer is what says the students' process stopped.
    async with teacher.expect_response(f"**/api/classes/{class_id}/end", timeout=30_000) as ended:
        await teacher.click("dialog.confirm .btn.danger")
    assert (await ended.value).ok
    await teacher.wait_for_selector("[data-debrief=ready]", timeout=30_000)
    text = await teacher.inner_text("[data-debrief]")
    await teacher.screenshot(path=str(artifacts / "practice-debrief.png"))
    assert "Which planet is largest?" in text and "results were shown" in text
    assert "7 x 8 = ?" in text and "strokes" in text
    _, state = await running.api.request("GET", f"/api/classes/{class_id}/practice", token=token)
    assert state["running"] is False and state["error_acks"] == 0
