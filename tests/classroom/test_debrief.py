"""The practice class debrief: a fold over the lesson log, in English and Urdu."""

from __future__ import annotations

from classroom import roster
from classroom.debrief import debrief, facts
from testkit.lessons import TEACHER, LessonMaker, student


def _lesson() -> LessonMaker:
    maker = LessonMaker()
    pupils = [student(i) for i in range(4)]
    for pupil in pupils:
        maker.join(pupil)
    maker.tick(1000)
    # Two of four vote, 300 ms apart; closed 500 ms later.
    maker.poll("کون سا سیارہ سب سے بڑا ہے؟", ["زمین", "مشتری"], pupils[:2])
    maker.raise_hand(pupils[3])
    maker.tick(7000)
    maker.commit(TEACHER, roster.propose_hand_lower(maker.state.roster, pupils[3].id))
    maker.raise_hand(pupils[2])  # never lowered
    page = maker.add_page()
    maker.switch_page(page)
    maker.allow_drawing()
    maker.stroke(pupils[0])
    maker.stroke(pupils[1])
    maker.quiz(["7 x 8?"], pupils)
    return maker


def test_the_debrief_times_polls_hands_pages_and_ink() -> None:
    events = _lesson().events
    f = facts(events)
    assert f["students"] == 4
    poll, question = f["items"]
    assert poll["kind"] == "poll" and poll["answered"] == 2 and poll["shown"] and poll["closed"]
    assert poll["open_s"] == 1  # 600 ms of votes and 500 ms more: rounded to whole seconds
    assert question["kind"] == "question" and question["answered"] == 4
    assert f["hands"] == 2 and f["hands_lowered"] == 1 and f["hands_still_up"] == 1
    assert f["hand_wait_s"] == 7
    assert f["pages"] == 2 and f["page_switches"] == 1
    assert f["student_strokes"] == 2 and f["drawers"] == 2 and f["ink_pages"] == [2]


def test_the_debrief_reads_as_sentences_in_both_languages() -> None:
    out = debrief(_lesson().events)
    en, ur = out["en"], out["ur"]
    assert len(en) == len(ur)
    assert any("کون سا سیارہ" in line and "2 of 4 had answered" in line for line in en)
    assert any("results were shown" in line for line in en)
    assert any("۴ میں سے ۲ نے جواب دیا" in line for line in ur)
    assert any("still up at the end" in line for line in en)
    assert any("2 students drew 2 strokes (on page 2)" in line for line in en)


def test_an_empty_lesson_has_a_debrief_too() -> None:
    out = debrief([])
    assert out["facts"]["students"] == 0
    assert "No poll or quiz question was asked." in out["en"]
    assert "کسی نے ہاتھ نہیں اٹھایا۔" in out["ur"]


def test_long_times_read_in_minutes() -> None:
    maker = LessonMaker()
    pupil = student(1)
    maker.join(pupil)
    maker.raise_hand(pupil)
    maker.tick(95_000)
    maker.commit(TEACHER, roster.propose_hand_lower(maker.state.roster, pupil.id))
    out = debrief(maker.events)
    assert any("longest wait was 1 min 35 s" in line for line in out["en"])
    assert any("۱ منٹ ۳۵ سیکنڈ" in line for line in out["ur"])
