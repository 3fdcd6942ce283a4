"""Polls: lifecycle, one counted vote per student, exact tallies, filtering, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from classroom import polls
from classroom.errors import Conflict, Forbidden, InvalidPayload, NotFound
from classroom.log import Actor, Event, Proposed
from classroom.protocol.polls import (
    BROADCASTS,
    EVENTS,
    PollCreate,
    PollRef,
    PollShowResults,
    PollVote,
)

TEACHER = Actor("teacher", "t1", "Ms Ayesha")
BOARD = Actor("board", "b1")


def student(number: int) -> Actor:
    return Actor("student", f"s{number}", f"Student {number}")


class Log:
    """A minimal in-memory lesson log: numbers events and folds them into the projection."""

    def __init__(self) -> None:
        self.state = polls.PollsState()
        self.events: list[Event] = []
        self.ts = 1_700_000_000_000

    def commit(self, actor: Actor, proposed: list[Proposed]) -> list[Event]:
        appended = []
        for item in proposed:
            self.ts += 10
            event = Event(
                "c1",
                len(self.events) + 1,
                item.type,
                actor,
                self.ts,
                item.data,
                None,
                item.audience,
            )
            self.events.append(event)
            polls.apply(self.state, event)
            appended.append(event)
        return appended

    def create(self, poll_id: str = "p1", **fields: Any) -> str:
        payload = PollCreate.model_validate({"client_id": "pc", "question": "Which?", **fields})
        self.commit(TEACHER, polls.propose_create(self.state, TEACHER, payload, poll_id=poll_id))
        return poll_id

    def open(self, poll_id: str = "p1") -> None:
        self.commit(
            TEACHER,
            polls.propose_open(
                self.state, TEACHER, PollRef(client_id="pollref-t", poll_id=poll_id)
            ),
        )

    def close(self, poll_id: str = "p1") -> None:
        self.commit(
            TEACHER,
            polls.propose_close(
                self.state, TEACHER, PollRef(client_id="pollref-t", poll_id=poll_id)
            ),
        )

    def vote(self, actor: Actor, vote_id: str, poll_id: str = "p1", **answer: Any) -> list[Event]:
        payload = PollVote.model_validate({"poll_id": poll_id, "vote_id": vote_id, **answer})
        return self.commit(actor, polls.propose_vote(self.state, actor, payload))


def open_single(log: Log, options: int = 3, **fields: Any) -> None:
    log.create(kind="single", options=[f"opt {i}" for i in range(options)], **fields)
    log.open()


def test_tally_counts_each_vote_and_a_change_replaces_the_earlier_vote() -> None:
    log = Log()
    open_single(log)
    log.vote(student(1), "v1", option=0)
    log.vote(student(2), "v2", option=0)
    log.vote(student(3), "v3", option=2)
    assert polls.tally(log.state, "p1")["counts"] == [2, 0, 1]
    log.vote(student(1), "v1b", option=1)  # student 1 changes their mind
    tally = polls.tally(log.state, "p1")
    assert tally["counts"] == [1, 1, 1]
    assert tally["responses"] == 3


def test_a_retried_vote_counts_once_even_after_a_change() -> None:
    log = Log()
    open_single(log)
    log.vote(student(1), "v1", option=0)
    assert log.vote(student(1), "v1", option=0) == []  # retry: nothing appended
    log.vote(student(1), "v2", option=2)
    assert log.vote(student(1), "v1", option=0) == []  # a late retry does not undo the change
    assert polls.tally(log.state, "p1")["counts"] == [0, 0, 1]


def test_two_processes_accepting_the_same_student_count_once() -> None:
    log = Log()
    open_single(log)
    stale = log.state  # both processes propose against the same projection
    first = polls.propose_vote(stale, student(1), PollVote(poll_id="p1", vote_id="a", option=0))
    second = polls.propose_vote(stale, student(1), PollVote(poll_id="p1", vote_id="b", option=1))
    again = polls.propose_vote(stale, student(1), PollVote(poll_id="p1", vote_id="a", option=0))
    log.commit(student(1), first)
    log.commit(student(1), second)
    log.commit(student(1), again)  # the same vote id appended twice: applied once
    tally = polls.tally(log.state, "p1")
    assert tally["responses"] == 1
    assert tally["counts"] == [0, 1, 0]  # log order decides: the later vote stands


def test_a_retry_accepted_by_a_lagging_process_does_not_undo_a_change() -> None:
    log = Log()
    open_single(log)
    behind = polls.replay(log.events)  # a process that has seen nothing since the poll opened
    log.vote(student(1), "first", option=0)
    log.vote(student(1), "second", option=2)
    retried = PollVote(poll_id="p1", vote_id="first", option=0)
    log.commit(student(1), polls.propose_vote(behind, student(1), retried))
    assert polls.tally(log.state, "p1")["counts"] == [0, 0, 1]


def test_vote_logged_after_close_is_ignored() -> None:
    log = Log()
    open_single(log)
    late = polls.propose_vote(log.state, student(1), PollVote(poll_id="p1", vote_id="v", option=0))
    log.close()
    log.commit(student(1), late)
    assert polls.tally(log.state, "p1")["responses"] == 0


def test_votes_go_to_teachers_and_the_voter_only() -> None:
    log = Log()
    open_single(log)
    (event,) = log.vote(student(1), "v1", option=1)
    assert event.audience == "author"
    assert event.visible_to(TEACHER) and event.visible_to(student(1))
    assert not event.visible_to(student(2)) and not event.visible_to(BOARD)


def test_bad_votes_are_refused_with_clear_codes() -> None:
    log = Log()
    log.create(kind="single", options=["a", "b", "c"])
    with pytest.raises(Conflict):  # still a draft
        log.vote(student(1), "v", option=0)
    log.open()
    with pytest.raises(NotFound) as unknown:
        log.vote(student(1), "v", poll_id="nope", option=0)
    assert unknown.value.code == "NOT_FOUND"
    with pytest.raises(InvalidPayload) as out_of_range:
        log.vote(student(1), "v", option=3)
    assert out_of_range.value.field == "option"
    with pytest.raises(InvalidPayload):
        log.vote(student(1), "v", rating=3)  # wrong answer field for this kind
    with pytest.raises(Forbidden):
        log.vote(TEACHER, "v", option=0)
    with pytest.raises(Forbidden):
        log.vote(BOARD, "v", option=0)
    log.close()
    with pytest.raises(Conflict) as closed:
        log.vote(student(1), "v", option=0)
    assert "closed" in closed.value.message
    assert polls.tally(log.state, "p1")["responses"] == 0


def test_payload_limits_are_explicit() -> None:
    with pytest.raises(ValidationError):
        PollVote(poll_id="p1", vote_id="v", text="x" * 501)
    with pytest.raises(ValidationError):
        PollVote(poll_id="p1", vote_id="v", option=1, rating=2)
    with pytest.raises(ValidationError):
        PollCreate(
            client_id="pollcreate-t",
            kind="single",
            question="?",
            options=[str(i) for i in range(11)],
        )
    with pytest.raises(ValidationError):
        PollCreate(client_id="pollcreate-t", kind="single", question="?", options=["same", "Same"])
    with pytest.raises(ValidationError):
        PollCreate(client_id="pollcreate-t", kind="yes_no", question="?", options=["a", "b"])


def test_multiple_choice_rating_and_yes_no_tallies() -> None:
    log = Log()
    log.create("m", kind="multiple", options=["a", "b", "c"])
    log.open("m")
    log.vote(student(1), "1", poll_id="m", options=[0, 2])
    log.vote(student(2), "2", poll_id="m", options=[2])
    assert polls.tally(log.state, "m")["counts"] == [1, 0, 2]
    assert polls.tally(log.state, "m")["responses"] == 2

    log.create("r", kind="rating", scale_max=5)
    log.open("r")
    log.vote(student(1), "3", poll_id="r", rating=5)
    log.vote(student(2), "4", poll_id="r", rating=2)
    with pytest.raises(InvalidPayload):
        log.vote(student(3), "5", poll_id="r", rating=6)
    rating = polls.tally(log.state, "r")
    assert rating["counts"] == [0, 1, 0, 0, 1]
    assert rating["mean"] == 3.5

    log.create("y", kind="yes_no")
    log.open("y")
    log.vote(student(1), "6", poll_id="y", option=1)
    assert polls.tally(log.state, "y")["counts"] == [0, 1]
    assert polls.tally(log.state, "y")["options"] == ["yes", "no"]


def test_word_cloud_normalises_words_in_english_and_urdu() -> None:
    log = Log()
    log.create(kind="word_cloud", max_words=2)
    log.open()
    log.vote(student(1), "1", words=["Lahore!", "لاہور۔"])
    log.vote(student(2), "2", words=["  LAHORE "])
    log.vote(student(3), "3", words=["لاهور"])  # Arabic heh typed on an Arabic keyboard
    log.vote(student(4), "4", words=["لَاہور"])  # with a zabar
    words = dict(polls.tally(log.state, "p1")["words"])
    assert words == {"lahore": 2, "لاہور": 3}


def test_profanity_filter_is_a_hook_with_a_default_list() -> None:
    log = Log()
    log.create(kind="word_cloud", max_words=2)
    log.open()
    with pytest.raises(InvalidPayload):
        log.vote(student(1), "1", words=["S.H.I.T!"])  # case and punctuation do not hide it
    proposed = polls.propose_vote(
        log.state, student(1), PollVote(poll_id="p1", vote_id="2", words=["mango", "banana"])
    )
    assert proposed[0].data["answer"] == ["mango", "banana"]
    custom = polls.propose_vote(
        log.state,
        student(1),
        PollVote(poll_id="p1", vote_id="3", words=["mango", "banana"]),
        profanity=lambda word: word == "banana",
    )
    assert custom[0].data["answer"] == ["mango"]  # blocked words are dropped


def test_results_reach_students_only_when_shown() -> None:
    log = Log()
    open_single(log, options=2)
    log.vote(student(1), "1", option=0)
    log.vote(student(2), "2", option=1)
    log.vote(student(3), "3", option=1)
    view = polls.snapshot(log.state, student(1))["polls"][0]
    assert view["results"] is None and view["my_vote"]["answer"] == 0
    assert "tally" not in view and "votes" not in view
    with pytest.raises(Conflict):  # must close first
        polls.propose_show_results(
            log.state, TEACHER, PollShowResults(client_id="pollshowresults-t", poll_id="p1")
        )
    log.close()
    (shown,) = log.commit(
        TEACHER,
        polls.propose_show_results(
            log.state, TEACHER, PollShowResults(client_id="pollshowresults-t", poll_id="p1")
        ),
    )
    assert shown.type == "poll_results_shown" and shown.audience == "all"
    assert shown.data["tally"]["counts"] == [1, 2]
    assert polls.snapshot(log.state, BOARD)["polls"][0]["results"]["counts"] == [1, 2]
    log.commit(
        TEACHER,
        polls.propose_hide_results(
            log.state, TEACHER, PollRef(client_id="pollref-t", poll_id="p1")
        ),
    )
    assert polls.snapshot(log.state, student(2))["polls"][0]["results"] is None


def test_students_never_see_drafts_or_other_students_votes() -> None:
    log = Log()
    log.create("draft", kind="yes_no")
    open_single(log)
    log.vote(student(1), "1", option=2)
    log.vote(student(2), "2", option=0)
    view = polls.snapshot(log.state, student(2))
    assert [p["poll_id"] for p in view["polls"]] == ["p1"]
    assert view["polls"][0]["my_vote"]["answer"] == 0
    assert "s1" not in json.dumps(view)
    teacher = polls.snapshot(log.state, TEACHER)
    assert {p["poll_id"] for p in teacher["polls"]} == {"draft", "p1"}
    assert teacher["polls"][1]["votes"]["s1"] == {"name": "Student 1", "answer": 2}


def test_open_text_teacher_picks_answers_and_anonymous_hides_names() -> None:
    log = Log()
    log.create(kind="open_text", anonymous=True)
    log.open()
    log.vote(student(1), "1", text="Plants need sunlight")
    log.vote(student(2), "2", text="Something rude")
    teacher = polls.snapshot(log.state, TEACHER)["polls"][0]
    assert "votes" not in teacher
    assert all("student_id" not in answer for answer in teacher["answers"])
    picked = next(a["id"] for a in teacher["answers"] if a["text"] == "Plants need sunlight")
    log.close()
    with pytest.raises(InvalidPayload) as bad_pick:
        polls.propose_show_results(
            log.state,
            TEACHER,
            PollShowResults(client_id="pollshowresults-t", poll_id="p1", answer_ids=[999]),
        )
    assert bad_pick.value.field == "answer_ids[0]"
    log.commit(
        TEACHER,
        polls.propose_show_results(
            log.state,
            TEACHER,
            PollShowResults(client_id="pollshowresults-t", poll_id="p1", answer_ids=[picked]),
        ),
    )
    shown = polls.snapshot(log.state, student(3))["polls"][0]["results"]
    assert shown["answers"] == ["Plants need sunlight"]


def test_lifecycle_retries_are_harmless() -> None:
    log = Log()
    open_single(log)
    assert (
        polls.propose_open(log.state, TEACHER, PollRef(client_id="pollref-t", poll_id="p1")) == []
    )
    log.close()
    assert (
        polls.propose_close(log.state, TEACHER, PollRef(client_id="pollref-t", poll_id="p1")) == []
    )
    with pytest.raises(Conflict):
        polls.propose_open(log.state, TEACHER, PollRef(client_id="pollref-t", poll_id="p1"))
    with pytest.raises(Forbidden):
        polls.propose_close(log.state, student(1), PollRef(client_id="pollref-t", poll_id="p1"))


def test_replay_of_the_log_gives_the_same_tally() -> None:
    log = Log()
    open_single(log)
    for number in range(5):
        log.vote(student(number), f"v{number}", option=number % 3)
    log.vote(student(0), "again", option=2)
    assert polls.tally(polls.replay(log.events), "p1") == polls.tally(log.state, "p1")


def test_protocol_specs_name_events_and_roles() -> None:
    for spec in EVENTS:  # the documented example of every event is a valid payload
        spec.payload.model_validate(spec.example)
    names = {spec.name: spec for spec in EVENTS}
    assert set(names) == {
        "poll_create",
        "poll_open",
        "poll_close",
        "poll_show_results",
        "poll_hide_results",
        "poll_vote",
    }
    assert names["poll_vote"].roles == frozenset({"student"})
    assert all(
        spec.roles == frozenset({"teacher"}) for n, spec in names.items() if n != "poll_vote"
    )
    assert all(spec.feature == "polls" for spec in EVENTS)
    assert all(spec.feature == "polls" for spec in BROADCASTS)
    voted = next(spec for spec in BROADCASTS if spec.name == "poll_voted")
    assert voted.audience == "author"


# Each step: (student, "vote" with a new id or "retry" of one of that student's earlier vote ids,
# option, lag, pick). With lag > 0 the vote is proposed against a projection that is missing the
# last ``lag`` events (another server process that is behind); both end up in the log.
steps = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.sampled_from(["vote", "retry"]),
        st.integers(0, 3),
        st.integers(0, 6),
        st.integers(0, 100),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_tally_equals_distinct_voters_under_any_interleaving(
    plan: list[tuple[int, str, int, int, int]],
) -> None:
    log = Log()
    open_single(log, options=4)
    setup = len(log.events)
    history: dict[int, list[tuple[str, int]]] = {}
    current: dict[int, int] = {}  # the option of each student's latest new vote
    for step, (number, kind, option, lag, pick) in enumerate(plan):
        voter = student(number)
        earlier = history.get(number, [])
        fresh = kind == "vote" or not earlier
        vote_id, option = (f"v{step}", option) if fresh else earlier[pick % len(earlier)]
        behind = polls.replay(log.events[: max(setup, len(log.events) - lag)])
        basis = behind if lag else log.state
        payload = PollVote(poll_id="p1", vote_id=vote_id, option=option)
        log.commit(voter, polls.propose_vote(basis, voter, payload))
        if fresh:
            history.setdefault(number, []).append((vote_id, option))
            current[number] = option
    tally = polls.tally(log.state, "p1")
    assert tally["responses"] == len(current)
    assert sum(tally["counts"]) == len(current)
    expected = [0, 0, 0, 0]
    for option in current.values():
        expected[option] += 1
    assert tally["counts"] == expected
