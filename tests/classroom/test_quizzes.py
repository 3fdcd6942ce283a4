"""Quizzes: server-timed answers, exact scoring, streaks, pacing and what students may see."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from classroom import quizzes
from classroom.errors import Conflict, Forbidden, InvalidPayload
from classroom.log import Actor, Event, Proposed
from classroom.protocol.quizzes import (
    BROADCASTS,
    EVENTS,
    QuizAnswer,
    QuizCreate,
    QuizDefinition,
    QuizMode,
    QuizRef,
    QuizStart,
)
from classroom.quizzes import AlreadyAnswered, TooLate, WrongQuestion

TEACHER = Actor("teacher", "t1", "Sir Bilal")
BOARD = Actor("board", "b1")
T0 = 1_700_000_000_000


def student(number: int, name: str | None = None) -> Actor:
    return Actor("student", f"s{number}", name or f"Student {number}")


def expected_points(points: int, t_ms: int, limit_ms: int, credit: float = 1.0) -> int:
    """The documented formula, written out independently: halves round up."""
    if t_ms <= 500:
        return math.floor(points * credit + 0.5)
    return math.floor(points * credit * (1 - (t_ms / limit_ms) / 2) + 0.5)


def single(text: str = "2 + 2?", limit: int = 20, points: int = 1000) -> dict[str, Any]:
    return {
        "type": "single",
        "question": text,
        "options": ["3", "4", "5"],
        "correct": [1],
        "time_limit_s": limit,
        "points": points,
    }


class Game:
    """A quiz driven through propose/apply with an explicit server clock."""

    def __init__(self, questions: list[dict[str, Any]], mode: QuizMode = "timed") -> None:
        self.state = quizzes.QuizzesState()
        self.events: list[Event] = []
        self.now = T0
        definition = QuizDefinition.model_validate({"title": "Test", "questions": questions})
        self.commit(
            TEACHER,
            quizzes.propose_create(
                self.state,
                TEACHER,
                QuizCreate(client_id="quizcreate-t", quiz=definition),
                quiz_id="q1",
            ),
        )
        self.commit(
            TEACHER,
            quizzes.propose_start(
                self.state,
                TEACHER,
                QuizStart(client_id="quizstart-t", quiz_id="q1", mode=mode),
                now_ms=self.now,
            ),
        )

    def commit(self, actor: Actor, proposed: list[Proposed], ts: int | None = None) -> list[Event]:
        appended = []
        for item in proposed:
            event = Event(
                "c1",
                len(self.events) + 1,
                item.type,
                actor,
                self.now if ts is None else ts,
                item.data,
                None,
                item.audience,
            )
            self.events.append(event)
            quizzes.apply(self.state, event)
            appended.append(event)
        return appended

    @property
    def quiz(self) -> quizzes.Quiz:
        return self.state.quizzes["q1"]

    def opened_at(self) -> int:
        run = self.quiz.current_run()
        assert run is not None and run.opened_ts is not None
        return run.opened_ts

    def answer(
        self, actor: Actor, after_ms: int, answer_id: str | None = None, **answer: Any
    ) -> None:
        """Answer the current question ``after_ms`` after it opened."""
        self.now = self.opened_at() + after_ms
        payload = QuizAnswer.model_validate(
            {
                "quiz_id": "q1",
                "question": self.quiz.current,
                "answer_id": answer_id or f"{actor.id}-{self.quiz.current}",
                **answer,
            }
        )
        self.commit(actor, quizzes.propose_answer(self.state, actor, payload, now_ms=self.now))

    def step(self, verb: str = "next") -> list[Event]:
        self.now += 1000
        propose = {
            "next": quizzes.propose_next,
            "skip": quizzes.propose_skip,
            "end": quizzes.propose_end,
        }[verb]
        return self.commit(
            TEACHER,
            propose(
                self.state, TEACHER, QuizRef(client_id="quizref-t", quiz_id="q1"), now_ms=self.now
            ),
        )

    def score(self, number: int) -> int:
        return self.quiz.players[f"s{number}"].score


def test_speed_scoring_matches_the_formula() -> None:
    for t_ms, limit_s, points in [(7000, 20, 1000), (570, 30, 1000), (19_999, 20, 1000),
                                  (400, 10, 750), (5000, 30, 250)]:  # fmt: skip
        game = Game([single(limit=limit_s, points=points)])
        game.answer(student(1), t_ms, option=1)
        assert game.score(1) == 0  # points are added when the question closes
        game.step()
        assert game.score(1) == expected_points(points, t_ms, limit_s * 1000)
    assert expected_points(1000, 7000, 20_000) == 825
    assert expected_points(1000, 570, 30_000) == 991  # 990.5 rounds up, not to even


def test_wrong_answer_scores_zero_and_the_reveal_follows() -> None:
    game = Game([single()])
    game.answer(student(1), 1000, option=0)
    closed, board = game.step()
    assert closed.type == "quiz_question_closed" and closed.data["correct"] == [1]
    assert closed.data["distribution"] == [1, 0, 0]
    assert board.type == "quiz_leaderboard" and board.data["top"][0]["score"] == 0
    assert game.score(1) == 0


def test_streak_bonus_grows_by_100_caps_at_500_and_resets() -> None:
    game = Game([single(f"q{i}") for i in range(10)])
    gained = []
    for index in range(10):
        before = game.score(1) if "s1" in game.quiz.players else 0
        wrong = index == 7
        game.answer(student(1), 200, option=0 if wrong else 1)
        game.step()  # close: reveal + leaderboard
        gained.append(game.score(1) - before)
        if index < 9:
            game.step()  # open the next question
    assert gained == [1000, 1100, 1200, 1300, 1400, 1500, 1500, 0, 1000, 1100]


def test_a_missed_question_resets_the_streak() -> None:
    game = Game([single("a"), single("b"), single("c")])
    game.answer(student(1), 100, option=1)
    game.answer(student(2), 100, option=1)
    game.step()
    game.step()
    game.answer(student(2), 100, option=1)  # student 1 does not answer
    game.step()
    game.step()
    game.answer(student(1), 100, option=1)
    game.answer(student(2), 100, option=1)
    game.step()
    assert game.score(1) == 1000 + 1000
    assert game.score(2) == 1000 + 1100 + 1200


def test_multiple_choice_partial_credit() -> None:
    question = {
        "type": "multiple",
        "question": "Primes?",
        "options": ["2", "4", "5", "9"],
        "correct": [0, 2],
        "time_limit_s": 20,
    }
    game = Game([question, single()])
    game.answer(student(1), 4000, options=[0])  # half the correct options
    game.answer(student(2), 4000, options=[0, 1])  # one right, one wrong: (1 - 1) / 2 = 0
    game.answer(student(3), 4000, options=[0, 2])  # fully correct
    game.answer(student(4), 4000, options=[1, 3])  # floored at 0
    game.step()
    assert game.score(1) == expected_points(1000, 4000, 20_000, credit=0.5) == 450
    assert game.score(2) == 0
    assert game.score(3) == expected_points(1000, 4000, 20_000) == 900
    assert game.score(4) == 0
    game.step()
    for number in (1, 3):
        game.answer(student(number), 100, option=1)
    game.step()
    assert game.score(1) == 450 + 1000  # partial credit does not start a streak
    assert game.score(3) == 900 + 1000 + 100


def test_untimed_mode_scores_correctness_only() -> None:
    game = Game([single("a"), single("b", points=500)], mode="untimed")
    game.answer(student(1), 15_000, option=1)
    game.step()
    game.step()
    game.answer(student(1), 3_600_000, option=1)  # an hour later: no deadline, no speed factor
    game.step()
    assert game.score(1) == 1000 + 500  # and no streak bonus
    opened = next(e for e in game.events if e.type == "quiz_question_opened")
    assert opened.data["time_limit_ms"] is None


def test_late_answers_are_refused_and_ignored() -> None:
    game = Game([single(limit=10)])
    deadline = game.opened_at() + 10_000
    late = QuizAnswer(quiz_id="q1", question=0, answer_id="a", option=1)
    with pytest.raises(TooLate) as refused:
        quizzes.propose_answer(game.state, student(1), late, now_ms=deadline + 1)
    assert refused.value.code == "TOO_LATE"
    # Another process accepted it just in time, but the log stamped it after the deadline.
    accepted = quizzes.propose_answer(game.state, student(2), late, now_ms=deadline)
    game.commit(student(2), accepted, ts=deadline + 5)
    assert game.quiz.runs[0].answers == {}
    on_time = QuizAnswer(quiz_id="q1", question=0, answer_id="b", option=1)
    game.commit(
        student(3),
        quizzes.propose_answer(game.state, student(3), on_time, now_ms=deadline),
        ts=deadline,
    )
    assert list(game.quiz.runs[0].answers) == ["s3"]


def test_one_answer_per_student_per_question() -> None:
    game = Game([single(), single()])
    game.answer(student(1), 1000, answer_id="x", option=0)
    assert (
        quizzes.propose_answer(
            game.state,
            student(1),
            QuizAnswer(quiz_id="q1", question=0, answer_id="x", option=0),
            now_ms=game.now,
        )
        == []
    )  # a retry is a no-op
    with pytest.raises(AlreadyAnswered) as second:
        game.answer(student(1), 2000, answer_id="y", option=1)
    assert second.value.code == "ALREADY_ANSWERED"
    with pytest.raises(WrongQuestion):
        quizzes.propose_answer(
            game.state,
            student(2),
            QuizAnswer(quiz_id="q1", question=1, answer_id="z", option=1),
            now_ms=game.now,
        )
    # Two processes both accepted different answers: the first in the log counts.
    first = QuizAnswer(quiz_id="q1", question=0, answer_id="p", option=1)
    other = QuizAnswer(quiz_id="q1", question=0, answer_id="q", option=0)
    both = quizzes.propose_answer(game.state, student(2), first, now_ms=game.now)
    both += quizzes.propose_answer(game.state, student(2), other, now_ms=game.now)
    game.commit(student(2), both)
    assert game.quiz.runs[0].answers["s2"].answer == 1


def test_bad_answers_name_the_field() -> None:
    game = Game([single()])
    with pytest.raises(InvalidPayload) as out_of_range:
        game.answer(student(1), 100, option=3)
    assert out_of_range.value.field == "option"
    with pytest.raises(InvalidPayload):
        game.answer(student(1), 100, text="4")
    with pytest.raises(Forbidden):
        quizzes.propose_answer(
            game.state,
            BOARD,
            QuizAnswer(quiz_id="q1", question=0, answer_id="b", option=1),
            now_ms=game.now,
        )
    with pytest.raises(Forbidden):
        quizzes.propose_next(
            game.state, student(1), QuizRef(client_id="quizref-t", quiz_id="q1"), now_ms=game.now
        )


def test_reconnecting_student_keeps_score_and_streak() -> None:
    game = Game([single("a"), single("b"), single("c")])
    game.answer(student(1), 100, option=1)
    game.step()
    game.step()
    game.answer(student(1), 100, option=1)
    game.step()
    rejoined = Actor("student", "s1", "Student 1")  # a new connection, same student id
    me = quizzes.snapshot(game.state, rejoined)["quizzes"][0]["me"]
    assert me == {"quiz_id": "q1", "score": 2100, "streak": 2, "rank": 1, "players": 1}
    game.step()
    game.answer(rejoined, 100, option=1)
    game.step()
    assert game.score(1) == 1000 + 1100 + 1200


def test_students_never_see_the_answer_before_the_reveal() -> None:
    game = Game([single(), {"type": "short_text", "question": "Capital?", "correct": ["Quetta"]}])
    game.answer(student(1), 100, option=0)
    view = quizzes.snapshot(game.state, student(1))["quizzes"][0]
    assert "correct" not in view["current"] and "definition" not in view
    assert view["my_answers"] == [{"question": 0, "answer_id": "s1-0", "answer": 0}]
    assert view["me"]["score"] == 0
    opened = next(e for e in game.events if e.type == "quiz_question_opened")
    assert "correct" not in opened.data
    created = next(e for e in game.events if e.type == "quiz_created")
    assert created.audience == "teachers"
    assert "correct" in quizzes.snapshot(game.state, TEACHER)["quizzes"][0]["current"]
    game.step()
    view = quizzes.snapshot(game.state, student(1))["quizzes"][0]
    assert view["current"]["correct"] == [1]
    assert view["my_answers"][0]["correct"] is False
    game.step()
    view = quizzes.snapshot(game.state, BOARD)["quizzes"][0]
    assert "Quetta" not in json.dumps(view)


def test_numeric_and_short_text_answers_compare_like_people_do() -> None:
    questions: list[dict[str, Any]] = [
        {"type": "numeric", "question": "0.3 ± 0.1?", "correct": 0.3, "tolerance": 0.1},
        {"type": "numeric", "question": "3.5?", "correct": 3.5},
        {"type": "short_text", "question": "Capital?", "correct": ["Islamabad", "اسلام آباد"]},
        {"type": "true_false", "question": "Earth is round.", "correct": True},
    ]
    game = Game(questions, mode="untimed")
    game.answer(student(1), 100, number=0.4)  # 0.4 - 0.3 is 0.10000000000000003 in floats
    game.answer(student(2), 100, number=0.41)
    game.step()
    game.step()
    game.answer(student(1), 100, text="۳٫۵")  # Urdu digits and decimal separator
    game.answer(student(2), 100, text="3.50")
    game.step()
    game.step()
    game.answer(student(1), 100, text="  islamabad. ")
    game.answer(student(2), 100, text="اسلام آباد")
    game.step()
    game.step()
    with pytest.raises(InvalidPayload):
        game.answer(student(3), 100, option=2)  # true/false has options 0 and 1
    game.answer(student(1), 100, option=0)
    game.answer(student(2), 100, option=1)
    game.step()
    assert game.score(1) == 4000
    assert game.score(2) == 2000


def test_pacing_next_skip_end_and_the_podium() -> None:
    game = Game([single("a"), single("b"), single("c"), single("d")])
    for number, after in [(1, 100), (2, 100), (3, 5000), (4, 9000)]:
        game.answer(student(number), after, option=1)
    game.answer(student(5), 100, option=0)
    game.step()  # close a
    game.step()  # open b
    game.answer(student(5), 100, option=1)
    skipped = game.step("skip")  # b dropped, c opens
    assert [e.type for e in skipped] == ["quiz_question_skipped", "quiz_question_opened"]
    assert game.quiz.runs[1].answers == {} and game.score(5) == 0
    assert game.quiz.current == 2
    game.step()  # close c with no answers
    skipped = game.step("skip")  # from the reveal: d is dropped unasked, then the quiz ends
    assert [e.type for e in skipped] == ["quiz_question_skipped", "quiz_ended"]
    ended = skipped[-1].data
    a_points = expected_points(1000, 5000, 20_000), expected_points(1000, 9000, 20_000)
    assert [(p["rank"], p["student_id"], p["score"]) for p in ended["podium"]] == [
        (1, "s1", 1000),
        (1, "s2", 1000),  # a tie shares the place
        (3, "s3", a_points[0]),
    ]
    assert ended["players"] == 5
    with pytest.raises(Conflict):
        game.step()
    assert (
        quizzes.propose_end(
            game.state, TEACHER, QuizRef(client_id="quizref-t", quiz_id="q1"), now_ms=game.now
        )
        == []
    )


def test_end_scores_the_open_question_and_next_past_the_last_ends() -> None:
    game = Game([single("a")])
    game.answer(student(1), 100, option=1)
    events = game.step("end")
    assert [e.type for e in events] == ["quiz_question_closed", "quiz_ended"]
    assert events[-1].data["podium"][0]["score"] == 1000
    assert game.quiz.status == "ended"

    game = Game([single("a")])
    game.step()
    assert [e.type for e in game.step()] == ["quiz_ended"]


def test_racing_pacing_events_apply_once() -> None:
    game = Game([single("a"), single("b"), single("c")])
    game.step()  # close a
    stale = quizzes.propose_next(
        game.state, TEACHER, QuizRef(client_id="quizref-t", quiz_id="q1"), now_ms=game.now
    )
    game.commit(TEACHER, stale)
    game.commit(TEACHER, stale)  # a second process opened b too
    assert game.quiz.current == 1
    assert [run.index for run in game.quiz.runs.values()] == [0, 1]


def test_deadline_comes_from_the_server_time_of_the_opened_event() -> None:
    game = Game([single(limit=15)])
    opened = next(e for e in game.events if e.type == "quiz_question_opened")
    assert game.quiz.runs[0].deadline_ms == opened.ts + 15_000
    view = quizzes.snapshot(game.state, student(1))["quizzes"][0]["current"]
    assert view["deadline_ms"] == opened.ts + 15_000


def test_protocol_specs_name_events_and_roles() -> None:
    for spec in EVENTS:  # the documented example of every event is a valid payload
        spec.payload.model_validate(spec.example)
    names = {spec.name: spec for spec in EVENTS}
    assert set(names) == {
        "quiz_create",
        "quiz_start",
        "quiz_next",
        "quiz_skip",
        "quiz_end",
        "quiz_rename",
        "quiz_answer",
    }
    assert names["quiz_answer"].roles == frozenset({"student"})
    assert all(spec.feature == "quizzes" for spec in EVENTS)
    assert all(spec.feature == "quizzes" for spec in BROADCASTS)
    assert {spec.name for spec in BROADCASTS} >= {"quiz_question_opened", "quiz_leaderboard"}
