"""Reports: per-student quiz results, item analysis, poll results; JSON and Excel-ready CSV."""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
from typing import Any

from classroom import polls, quizzes, reports
from classroom.log import Actor, Event, Proposed
from classroom.protocol.polls import PollCreate, PollRef, PollVote
from classroom.protocol.quizzes import QuizAnswer, QuizCreate, QuizDefinition, QuizRef, QuizStart

TEACHER = Actor("teacher", "t1", "Ms Sana")
T0 = 1_700_000_000_000
STUDENTS = {
    "s1": Actor("student", "s1", "علی"),
    "s2": Actor("student", "s2", "Fatima"),
    "s3": Actor("student", "s3", '=HYPERLINK("x")'),
}


class Lesson:
    """Events of one lesson, folded into both projections as they are appended."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.polls = polls.PollsState()
        self.quizzes = quizzes.QuizzesState()

    def commit(self, actor: Actor, proposed: list[Proposed], ts: int) -> None:
        for item in proposed:
            event = Event("c1", len(self.events) + 1, item.type, actor, ts, item.data)
            self.events.append(event)
            polls.apply(self.polls, event)
            quizzes.apply(self.quizzes, event)


def run_quiz() -> Lesson:
    lesson = Lesson()
    definition = QuizDefinition.model_validate(
        {
            "title": "Maths",
            "questions": [
                {"type": "single", "question": "7 x 8?", "options": ["54", "56", "64"],
                 "correct": [1], "time_limit_s": 20},
                {"type": "numeric", "question": "Half of 7?", "correct": 3.5},
                {"type": "single", "question": "Skipped", "options": ["a", "b"], "correct": [0]},
            ],
        }
    )  # fmt: skip
    ref = QuizRef(client_id="quizref-t", quiz_id="q")
    create = QuizCreate(client_id="qc", quiz=definition)
    lesson.commit(TEACHER, quizzes.propose_create(
        lesson.quizzes, TEACHER, create, quiz_id="q"), T0)  # fmt: skip
    lesson.commit(TEACHER, quizzes.propose_start(
        lesson.quizzes, TEACHER, QuizStart(client_id="s", quiz_id="q"), now_ms=T0), T0)  # fmt: skip

    def answer(student: str, question: int, at: int, **value: Any) -> None:
        payload = QuizAnswer.model_validate(
            {"quiz_id": "q", "question": question, "answer_id": f"{student}{question}", **value}
        )
        actor = STUDENTS[student]
        lesson.commit(actor, quizzes.propose_answer(lesson.quizzes, actor, payload, now_ms=at), at)

    answer("s1", 0, T0 + 2000, option=1)
    answer("s2", 0, T0 + 4000, option=0)
    answer("s3", 0, T0 + 6000, option=1)
    lesson.commit(TEACHER, quizzes.propose_next(lesson.quizzes, TEACHER, ref, now_ms=T0 + 9000),
                  T0 + 9000)  # fmt: skip
    lesson.commit(TEACHER, quizzes.propose_next(lesson.quizzes, TEACHER, ref, now_ms=T0 + 10_000),
                  T0 + 10_000)  # fmt: skip
    answer("s1", 1, T0 + 13_000, number=3.5)
    answer("s2", 1, T0 + 20_000, text="-2")
    lesson.commit(TEACHER, quizzes.propose_next(lesson.quizzes, TEACHER, ref, now_ms=T0 + 30_000),
                  T0 + 30_000)  # fmt: skip
    lesson.commit(TEACHER, quizzes.propose_skip(lesson.quizzes, TEACHER, ref, now_ms=T0 + 31_000),
                  T0 + 31_000)  # fmt: skip
    return lesson


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def points(p: int, t_ms: int, limit_ms: int) -> int:
    return 1000 if t_ms <= 500 else math.floor(p * (1 - (t_ms / limit_ms) / 2) + 0.5)


def test_per_student_results() -> None:
    lesson = run_quiz()
    results = reports.quiz_student_results(lesson.quizzes, "q")
    s1_q1, s1_q2 = points(1000, 2000, 20_000), points(1000, 3000, 30_000)
    s3_q1 = points(1000, 6000, 20_000)
    assert [(r["student_id"], r["rank"], r["score"], r["correct"]) for r in results] == [
        ("s1", 1, s1_q1 + s1_q2 + 100, 2),
        ("s3", 2, s3_q1, 1),
        ("s2", 3, 0, 0),
    ]
    s1 = results[0]
    assert s1["name"] == "علی"
    assert s1["answers"] == [
        {"question": 1, "answer": "B", "correct": True, "credit": 1.0, "points": s1_q1,
         "time_ms": 2000},
        {"question": 2, "answer": 3.5, "correct": True, "credit": 1.0, "points": s1_q2 + 100,
         "time_ms": 3000},
    ]  # fmt: skip


def test_item_analysis() -> None:
    items = reports.quiz_item_analysis(run_quiz().quizzes, "q")
    first, second, skipped = items
    assert first["answered"] == 3
    assert first["share_correct"] == round(2 / 3, 4)
    assert first["mean_time_ms"] == 4000
    assert first["distribution"] == {"A": 1, "B": 2, "C": 0}
    assert second["share_correct"] == 0.5 and second["mean_time_ms"] == 6500
    assert second["distribution"] == {"-2": 1, "3.5": 1}
    assert skipped["status"] == "skipped" and skipped["answered"] == 0
    assert skipped["share_correct"] is None and skipped["mean_time_ms"] is None


def test_quiz_report_json_and_csv() -> None:
    lesson = run_quiz()
    report = reports.quiz_report(lesson.quizzes, "q")
    assert json.loads(json.dumps(report)) == report
    assert report["players"] == 3 and report["title"] == "Maths"
    rows = read_csv(reports.quiz_results_csv(lesson.quizzes, "q"))
    assert rows[0][:6] == ["rank", "student_id", "name", "score", "correct", "answered"]
    assert rows[0][6:] == ["q1_answer", "q1_points", "q2_answer", "q2_points", "q3_answer",
                           "q3_points"]  # fmt: skip
    assert rows[1][:3] == ["1", "s1", "علی"]
    assert rows[2][2] == '\'=HYPERLINK("x")'  # no formula runs when the teacher opens it
    assert rows[3][8] == "-2"  # a typed number is a number, not escaped text
    items = read_csv(reports.quiz_items_csv(lesson.quizzes, "q"))
    assert items[1] == ["1", "7 x 8?", "single", "closed", "3", "0.6667", "4",
                        "A: 1; B: 2; C: 0"]  # fmt: skip


def test_reports_from_the_event_list_match_the_live_projection() -> None:
    lesson = run_quiz()
    _, replayed = reports.from_events(lesson.events)
    assert reports.quiz_report(replayed, "q") == reports.quiz_report(lesson.quizzes, "q")


def poll_lesson() -> Lesson:
    lesson = Lesson()
    for poll_id, anonymous in (("named", False), ("anon", True)):
        create = PollCreate(client_id=poll_id, kind="single", question=f"{poll_id}?",
                            options=["Yes", "No"], anonymous=anonymous)  # fmt: skip
        lesson.commit(TEACHER, polls.propose_create(lesson.polls, TEACHER, create,
                                                    poll_id=poll_id), T0)  # fmt: skip
        ref = PollRef(client_id="pollref-t", poll_id=poll_id)
        lesson.commit(TEACHER, polls.propose_open(lesson.polls, TEACHER, ref), T0)
        for number, (student, actor) in enumerate(STUDENTS.items()):
            vote = PollVote(poll_id=poll_id, vote_id=f"{student}{poll_id}", option=number % 2)
            lesson.commit(actor, polls.propose_vote(lesson.polls, actor, vote), T0 + 1)
        lesson.commit(TEACHER, polls.propose_close(lesson.polls, TEACHER, ref), T0 + 2)
    return lesson


def test_poll_results_per_student_only_for_named_polls() -> None:
    lesson = poll_lesson()
    named = reports.poll_report(lesson.polls, "named")
    assert named["totals"]["counts"] == [2, 1]
    assert named["students"] == [
        {"student_id": "s1", "name": "علی", "answer": "Yes"},
        {"student_id": "s2", "name": "Fatima", "answer": "No"},
        {"student_id": "s3", "name": '=HYPERLINK("x")', "answer": "Yes"},
    ]
    anonymous = reports.poll_report(lesson.polls, "anon")
    assert anonymous["totals"]["counts"] == [2, 1]
    assert "students" not in anonymous
    assert "s1" not in json.dumps(anonymous) and "Fatima" not in json.dumps(anonymous)
    rows = read_csv(reports.poll_results_csv(lesson.polls))
    assert rows[0] == ["student_id", "name", "named?"]  # the anonymous poll has no column
    assert rows[1] == ["s1", "علی", "Yes"]
    totals = read_csv(reports.poll_totals_csv(lesson.polls))
    assert ["anon", "anon?", "single", "true", "Yes", "2"] in totals
    assert "Fatima" not in reports.poll_totals_csv(lesson.polls).decode("utf-8-sig")


def test_csv_reports_speak_the_teachers_language() -> None:
    """Issue 15.4: an Urdu teacher's CSV has Urdu headings and the server's own words in Urdu;
    what people typed stays as typed and numbers stay numbers."""
    lesson = run_quiz()
    rows = read_csv(reports.quiz_results_csv(lesson.quizzes, "q", "ur"))
    assert rows[0][:6] == ["پوزیشن", "طالب علم کی شناخت", "نام", "نمبر", "درست", "جواب دیے"]
    assert rows[0][6:8] == ["سوال 1 کا جواب", "سوال 1 کے نمبر"]
    assert rows[1][:4] == ["1", "s1", "علی", rows[1][3]] and rows[1][3].isdigit()
    items = read_csv(reports.quiz_items_csv(lesson.quizzes, "q", "ur"))
    assert items[0][:4] == ["سوال", "عبارت", "قسم", "حالت"]
    assert items[1][2:4] == ["ایک انتخاب", "بند"]
    assert items[1][7] == "A: 1؛ B: 2؛ C: 0"
    assert items[3][3] == "چھوڑا گیا"
    polls_lesson = poll_lesson()
    named = read_csv(reports.poll_results_csv(polls_lesson.polls, "ur"))
    assert named[0] == ["طالب علم کی شناخت", "نام", "named?"]
    totals = read_csv(reports.poll_totals_csv(polls_lesson.polls, "ur"))
    assert totals[0] == ["رائے شماری کی شناخت", "سوال", "قسم", "گمنام", "جواب", "تعداد"]
    # The teacher's own option "Yes" is kept as typed; the anonymous flag is the server's word.
    assert ["anon", "anon?", "ایک انتخاب", "ہاں", "Yes", "2"] in totals
    english = (
        "".join(cell for row in totals[1:] for cell in row[2:4])
        + "".join(rows[0])
        + "".join(items[0])
    )
    assert not any(word in english for word in ("single", "true", "false", "rank", "closed"))
