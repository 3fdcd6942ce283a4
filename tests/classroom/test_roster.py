"""Students' names as folds of the log (issue 15.7): the same name told apart, renames reaching
polls, quizzes and reports, removal leaving the roster; the same in a replay's timeline."""

from __future__ import annotations

import pytest

from classroom import errors, reports, roster, timeline
from classroom.classes import MAX_NAME_CHARS
from classroom.log import Actor
from testkit.lessons import TEACHER, LessonMaker


@pytest.mark.parametrize(
    ("names", "typed", "shown"),
    [
        ({}, "Ali", "Ali"),
        ({"a": "Ali"}, "Ali", "Ali 2"),
        ({"a": "Ali"}, "ALI", "ALI 2"),  # without case: the teacher reads them as one name
        ({"a": "Ali", "b": "Ali 2"}, "ali", "ali 3"),
        ({"a": "علی"}, "علی", "علی ۲"),  # the number in the name's script
        ({"a": "Ali 2"}, "Ali", "Ali"),
        ({"a": "x" * MAX_NAME_CHARS}, "x" * MAX_NAME_CHARS, "x" * (MAX_NAME_CHARS - 2) + " 2"),
    ],
)
def test_distinct_name(names: dict[str, str], typed: str, shown: str) -> None:
    index = {name.casefold(): sid for sid, name in names.items()}
    assert roster.distinct_name(index, typed, "new") == shown
    assert len(shown) <= MAX_NAME_CHARS


def test_a_students_own_name_is_not_taken_from_them() -> None:
    assert roster.distinct_name({"ali": "me"}, "ali", "me") == "ali"


def test_names_renames_and_removals_fold_into_every_feature_and_the_timeline() -> None:
    maker = LessonMaker()
    ali, ali_too = Actor("student", "s1", "Ali"), Actor("student", "s2", "Ali")
    sana = Actor("student", "s3", "Sana")
    for actor in (ali, ali_too, sana):
        maker.join(actor)
    assert maker.state.roster.names == {"s1": "Ali", "s2": "Ali 2", "s3": "Sana"}
    quiz_id = maker.quiz(["7 x 8?"], [ali, ali_too, sana])
    maker.commit(TEACHER, roster.propose_rename(maker.state.roster, "s2", "علی رضا"))
    maker.commit(TEACHER, roster.propose_remove(maker.state.roster, "s3"))
    with pytest.raises(errors.NameTaken):
        roster.propose_rename(maker.state.roster, "s1", "SANA")  # still reserved
    # The renamed student's old name is free again.
    assert roster.propose_rename(maker.state.roster, "s1", "ali 2")
    with pytest.raises(errors.StudentRemoved):
        roster.propose_joined(maker.state.roster, "s3", "Sana")

    expected = {"s1": "Ali", "s2": "علی رضا", "s3": "Sana"}
    # Reports read a fold of only the poll and quiz events; the names come with them.
    _polls, quiz_state = reports.from_events(maker.events)
    assert quiz_state.names == expected
    results = reports.quiz_student_results(quiz_state, quiz_id)
    # The removed student's answers stay in the report.
    assert {r["student_id"]: r["name"] for r in results} == expected
    line = timeline.Timeline(maker.events, checkpoint_every=3)
    end = line.state_at_seq(maker.state.seq).state
    assert end.part("quizzes").names == expected
    assert [s["name"] for s in roster.roster(end.roster)] == ["Ali", "علی رضا"]
    # Before the rename, the replay shows the name as it was then.
    before = line.state_at_seq(maker.state.seq - 2).state
    assert before.part("quizzes").names["s2"] == "Ali 2"
