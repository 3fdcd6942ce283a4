"""The lesson timeline: state at any moment equals the live fold, cheap seeks, chapters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classroom import board, lesson, polls, quizzes, reports, timeline
from classroom.lesson import ClassState
from classroom.log import Actor, Event
from testkit.lessons import TEACHER, LessonMaker, student, synthetic_lesson
from testkit.scenario import read_whole_log
from tests.conftest import Running

ALI = student(1)
SARA = student(2)
BOARD = Actor("board", "cam1", "Board camera")
VIEWERS = (TEACHER, ALI, SARA, BOARD)


def straight_snapshots(events: list[Event], viewer: Actor) -> list[dict[str, Any]]:
    """The snapshot after each prefix of ``events`` (index n: n events), by one plain fold."""
    state = ClassState(events[0].class_id if events else "c1")
    shots = [lesson.snapshot(state, viewer)]
    for event in events:
        lesson.apply(state, event)
        shots.append(lesson.snapshot(state, viewer))
    return shots


def a_lesson() -> LessonMaker:
    """Two students, ink on two pages, a poll, a two-question quiz, a keyframe uploaded late."""
    maker = LessonMaker()
    for actor in (ALI, SARA):
        maker.join(actor)
    maker.stroke()
    maker.tick(5000)
    second = maker.add_page()
    maker.stroke()
    maker.tick(3000)
    maker.keyframe(captured_ago_ms=2500)  # uploaded 2.5 s after it was taken
    maker.tick(1000)
    maker.poll("کیا آپ نے ہوم ورک کیا؟", ["ہاں", "نہیں"], [ALI, SARA])
    maker.tick(1000)
    maker.switch_page(board.FIRST_PAGE_ID)
    maker.tick(1000)
    maker.quiz(["7 x 8?", "آدھا 7؟"], [ALI, SARA])
    maker.tick(1000)
    maker.switch_page(second)
    maker.stroke()
    return maker


# --- chapters -------------------------------------------------------------------------------


def test_chapters_name_pages_polls_questions_and_keyframes_from_the_lesson() -> None:
    maker = a_lesson()
    line = timeline.Timeline(maker.events)
    titles = [(c.kind, c.title) for c in line.chapters]
    assert titles == [
        ("page", "Page 1"),
        ("page", "Page 2"),
        ("keyframe", "Board photo 1"),
        ("poll", "کیا آپ نے ہوم ورک کیا؟"),
        ("page", "Page 1"),
        ("question", "7 x 8?"),
        ("question", "آدھا 7؟"),
        ("page", "Page 2"),
    ]
    by_kind = {c.kind: c for c in line.chapters}
    poll_event = next(e for e in maker.events if e.type == "poll_opened")
    assert by_kind["poll"].seq == poll_event.seq and by_kind["poll"].ts == poll_event.ts
    assert by_kind["poll"].ref == {"poll_id": poll_event.data["poll_id"]}
    question = [c for c in line.chapters if c.kind == "question"][1]
    assert question.ref["number"] == 2 and question.ref["question"] == 1
    keyframe_event = next(e for e in maker.events if e.type == "camera_keyframe_added")
    # A keyframe chapter is when the photo was taken, not when it arrived.
    assert (
        by_kind["keyframe"].ts == keyframe_event.data["captured_at_ms"] == keyframe_event.ts - 2500
    )
    assert by_kind["keyframe"].ref["asset_id"] == keyframe_event.data["asset_id"]
    # Ids are stable: the same log gives the same chapters, and ids are unique.
    again = timeline.Timeline(list(maker.events), checkpoint_every=7)
    assert [c.to_json() for c in again.chapters] == [c.to_json() for c in line.chapters]
    assert len({c.id for c in line.chapters}) == len(line.chapters)
    assert json.loads(json.dumps([c.to_json() for c in line.chapters]))[3]["title"] == (
        "کیا آپ نے ہوم ورک کیا؟"
    )


def test_pages_shown_for_no_time_are_not_chapters() -> None:
    maker = LessonMaker()
    maker.stroke()
    maker.tick(1000)
    pages = [maker.add_page() for _ in range(3)]  # three pages added in one go, last one shown
    maker.stroke()
    line = timeline.Timeline(maker.events)
    assert [(c.title, c.ref["page_id"]) for c in line.chapters] == [
        ("Page 1", board.FIRST_PAGE_ID),
        ("Page 4", pages[-1]),
    ]


# --- state at a moment ----------------------------------------------------------------------


def test_state_at_a_time_is_the_class_as_it_was_then() -> None:
    maker = a_lesson()
    events = maker.events
    line = timeline.Timeline(events, checkpoint_every=16)
    assert line.start_ms == events[0].ts and line.end_ms == events[-1].ts
    assert line.duration_ms == events[-1].ts - events[0].ts > 0
    assert line.state_at(events[0].ts - 1).seq == 0
    assert line.state_at(events[-1].ts + 10**9).snapshot(TEACHER) == lesson.snapshot(
        maker.state, TEACHER
    )

    poll_open = next(e for e in events if e.type == "poll_opened")
    during = line.state_at(poll_open.ts)
    open_poll = during.open_poll()
    assert open_poll is not None and open_poll.question == "کیا آپ نے ہوم ورک کیا؟"
    assert during.shown_results() == []
    shown = next(e for e in events if e.type == "poll_results_shown")
    after = line.state_at(shown.ts)
    assert after.open_poll() is None
    assert [p.shown_tally for p in after.shown_results()] == [shown.data["tally"]]

    second_q = [e for e in events if e.type == "quiz_question_opened"][1]
    asked = line.state_at(second_q.ts).open_question()
    assert asked is not None and asked[1].index == 1 and asked[1].opened_ts == second_q.ts
    assert line.state_at(second_q.ts - 1).open_question() is None  # between questions
    assert line.state_at(second_q.ts).page_number == 1
    assert line.state_at(events[-1].ts).page_number == 2

    keyframe = next(e for e in events if e.type == "camera_keyframe_added")
    taken = keyframe.data["captured_at_ms"]
    assert line.camera_at(taken - 1) is None
    assert line.camera_at(taken) == line.camera_at(events[-1].ts) == keyframe.data


def test_ties_in_time_go_by_seq_and_the_clock_never_runs_back() -> None:
    maker = LessonMaker()
    maker.stroke(batches=2)
    events = list(maker.events)
    # Another process's clock 40 ms behind: its event is still after the ones before it.
    late = events[2]
    events[2] = Event(late.class_id, late.seq, late.type, late.actor, events[1].ts - 40, late.data)
    line = timeline.Timeline(events)
    assert line.clock_of(3) == line.clock_of(2) == events[1].ts
    assert line.state_at(events[1].ts).seq == 3  # both events at that time, in seq order
    assert line.events_between(events[0].ts, events[1].ts) == tuple(events[1:3])


def test_a_seek_folds_at_most_one_checkpoint_spacing_of_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = synthetic_lesson(3000, pages=3, students=4)
    line = timeline.Timeline(events, checkpoint_every=64)
    assert line.checkpoints == len(events) // 64 + 1
    folded: list[Event] = []
    real_apply = lesson.apply

    def counting(state: ClassState, event: Event) -> None:
        folded.append(event)
        real_apply(state, event)

    counts = (0, 1, 63, 64, 65, 1000, 2047, len(events) - 1, len(events))
    expected = snapshots_at(events, counts)
    monkeypatch.setattr(lesson, "apply", counting)
    worst = 0
    for count in counts:
        folded.clear()
        moment = line.state_at_seq(events[count - 1].seq if count else 0)
        assert len(folded) == moment.folded == count % 64
        worst = max(worst, len(folded))
        assert moment.snapshot(TEACHER) == expected[count]
    assert worst == 63
    # The default spacing: a few hundred events at most, whatever the lesson's length.
    by_default = timeline.Timeline(events)
    folded.clear()
    default = by_default.state_at(events[-1].ts)
    assert len(folded) == default.folded == len(events) % 256 < timeline.CHECKPOINT_EVERY == 256


def snapshots_at(events: list[Event], counts: tuple[int, ...]) -> dict[int, dict[str, Any]]:
    """The teacher's snapshot after the first ``count`` events, for each count, by a plain fold."""
    state = ClassState(events[0].class_id)
    shots = {0: lesson.snapshot(state, TEACHER)}
    for count, event in enumerate(events, start=1):
        lesson.apply(state, event)
        if count in counts:
            shots[count] = lesson.snapshot(state, TEACHER)
    return shots


def test_seeking_never_changes_the_checkpoints() -> None:
    maker = a_lesson()
    line = timeline.Timeline(maker.events, checkpoint_every=8)
    target = maker.events[len(maker.events) // 2].seq
    first = line.state_at_seq(target)
    expected = first.snapshot(TEACHER)
    first.state.part("board").pages.clear()  # a caller scribbling on its moment
    later = line.state_at_seq(len(maker.events))
    assert later.snapshot(ALI) == lesson.snapshot(maker.state, ALI)
    assert line.state_at_seq(target).snapshot(TEACHER) == expected


def test_checkpoints_share_what_did_not_change() -> None:
    maker = LessonMaker()
    kept = maker.stroke(batches=2)
    second = maker.add_page()
    for _ in range(40):
        maker.stroke(batches=2)
    maker.switch_page(board.FIRST_PAGE_ID)
    maker.stroke(batches=1)
    line = timeline.Timeline(maker.events, checkpoint_every=8)
    # The memory claim is about the checkpoints themselves, so this looks at them directly.
    checkpoints = [c.state for c in line._checkpoints[1:]]
    strokes = {id(c.part("board").items[kept]) for c in checkpoints}
    quiet_pages = {id(c.part("board").pages[board.FIRST_PAGE_ID]) for c in checkpoints[:-1]}
    assert len(checkpoints) > 20
    assert len(strokes) == 1  # one copy of a finished stroke for the whole lesson
    assert len(quiet_pages) == 1  # page 1 untouched while the teacher drew on page 2
    assert len({id(c.part("board").pages[second]) for c in checkpoints}) > 20
    assert len({id(c.part("polls")) for c in checkpoints}) == 1  # no poll event at all


def test_a_reducer_that_raises_is_skipped_as_the_live_class_skips_it() -> None:
    maker = LessonMaker()
    maker.stroke()
    broken = Event("c1", maker.state.seq + 1, "stroke_started", TEACHER, maker.now, {"id": "x"})
    maker.events.append(broken)
    maker.state.seq += 1
    maker.stroke()
    line = timeline.Timeline(maker.events)
    assert line.faults == 1
    assert line.state_at_seq(maker.state.seq).snapshot(TEACHER) == lesson.snapshot(
        maker.state, TEACHER
    )


def test_the_old_refolds_fold_through_the_timeline() -> None:
    maker = a_lesson()
    final = timeline.fold(maker.events)
    assert lesson.snapshot(final, TEACHER) == lesson.snapshot(maker.state, TEACHER)
    poll_state = polls.replay(maker.events)
    (poll_id,) = poll_state.polls
    assert polls.tally(poll_state, poll_id) == polls.tally(maker.state.part("polls"), poll_id)
    quiz_state = quizzes.replay(maker.events)
    assert quizzes.snapshot(quiz_state, TEACHER) == quizzes.snapshot(
        maker.state.part("quizzes"), TEACHER
    )
    report_polls, report_quizzes = reports.from_events(maker.events)
    assert reports.polls_report(report_polls) == reports.polls_report(maker.state.part("polls"))
    (quiz_id,) = report_quizzes.quizzes
    assert reports.quiz_report(report_quizzes, quiz_id) == reports.quiz_report(
        maker.state.part("quizzes"), quiz_id
    )
    # A polls-only fold leaves the board as a new class has it (it never folds the ink).
    assert timeline.fold(maker.events, features={"polls"}).part("board").items == {}


# --- property: any moment through checkpoints == the straight fold -------------------------

ACTIONS = (
    "stroke",
    "student_stroke",
    "delete_page",
    "clear",
    "page",
    "switch",
    "erase",
    "undo",
    "redo",
    "allow",
    "poll",
    "quiz",
    "keyframe",
    "late_keyframe",
    "camera",
    "hand",
    "join",
)


def play(maker: LessonMaker, actions: list[str]) -> None:
    pages = [board.FIRST_PAGE_ID]
    strokes: list[str] = []
    for step, action in enumerate(actions):
        maker.tick(maker.rng.randrange(0, 400))
        if action == "stroke":
            strokes.append(maker.stroke(batches=maker.rng.randrange(0, 3)))
        elif action == "student_stroke":
            strokes.append(maker.stroke(ALI, batches=1))
        elif action == "page":
            pages.append(maker.add_page())
        elif action == "switch":
            maker.switch_page(maker.rng.choice(pages))
        elif action == "delete_page" and len(pages) > 1:
            maker.delete_page(pages.pop(maker.rng.randrange(len(pages))))
        elif action == "clear":
            maker.clear_page()
        elif action == "erase" and strokes:
            maker.erase(strokes[-2:])
        elif action == "undo":
            maker.undo()
        elif action == "redo":
            maker.redo()
        elif action == "allow":
            maker.allow_drawing()
        elif action == "poll":
            maker.poll(f"سوال {step}?", ["a", "b", "c"], [ALI, SARA])
        elif action == "quiz":
            maker.quiz(["1 + 1?"], [ALI, SARA])
        elif action == "keyframe":
            maker.keyframe()
        elif action == "late_keyframe":
            maker.keyframe(captured_ago_ms=maker.rng.randrange(1, 30_000))
        elif action == "camera":
            maker.camera_view()
        elif action == "hand":
            maker.raise_hand(SARA)
        elif action == "join":
            maker.join(maker.rng.choice([ALI, SARA]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    actions=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=30),
    every=st.integers(min_value=1, max_value=9),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_every_moment_through_checkpoints_equals_the_straight_fold(
    actions: list[str], every: int, seed: int
) -> None:
    maker = LessonMaker(seed=seed)
    play(maker, actions)
    events = maker.events
    line = timeline.Timeline(events, checkpoint_every=every)
    for viewer in VIEWERS:
        expected = straight_snapshots(events, viewer)
        for count in range(len(events) + 1):
            seq = events[count - 1].seq if count else 0
            moment = line.state_at_seq(seq)
            assert moment.folded < every
            assert moment.snapshot(viewer) == expected[count], (viewer, count)
    # By time: the last event at each time is the moment the class was in at that time.
    expected = straight_snapshots(events, TEACHER)
    for count, event in enumerate(events, start=1):
        if count == len(events) or events[count].ts != event.ts:
            assert line.state_at(event.ts).snapshot(TEACHER) == expected[count]


# --- property: live snapshots of a real class equal the timeline at their seq -----------------


async def test_live_snapshots_of_a_real_class_equal_the_timeline_at_their_seq(
    running: Running,
) -> None:
    created = await running.new_class()
    class_id = str(created["class_id"])
    teacher = await running.teacher(class_id)
    ali, _ = await running.student(str(created["join_code"]), "علی")
    sara, _ = await running.student(str(created["join_code"]), "Sara")
    peers = [teacher, ali, sara]
    taken: list[tuple[Actor, int, dict[str, Any]]] = []

    async def snap() -> None:
        for peer in (teacher, ali):
            shot = await peer.ok("class_snapshot", {})
            taken.append((Actor.from_wire(shot["you"]), int(shot["seq"]), shot["state"]))

    try:
        await snap()
        for number in range(3):
            stroke_id = f"s{number}"
            pts = [[100.0 + number, 100.0, 0.5, 0.0], [110.0, 105.0, 0.6, 16.0]]
            await teacher.ok(
                "stroke_start",
                {
                    "stroke_id": stroke_id,
                    "page_id": "page-1",
                    "tool": "pen",
                    "color": "#203040",
                    "width": 4,
                    "points": pts,
                },
            )
            more = [[120.0, 110.0, 0.5, 32.0], [130.0, 112.5, 0.5, 48.0]]
            await teacher.ok("stroke_extend", {"stroke_id": stroke_id, "offset": 2, "points": more})
            await snap()  # mid-stroke
            await teacher.ok("stroke_end", {"stroke_id": stroke_id, "length": 4})
        await teacher.ok("board_undo", {})
        await teacher.ok("page_add", {"page_id": "p2"})
        await snap()
        await teacher.ok(
            "board_add_text",
            {
                "text_id": "t1",
                "page_id": "p2",
                "text": "سبق ۳",
                "x": 300.0,
                "y": 200.0,
                "size": 40.0,
                "color": "#000000",
            },
        )
        poll = await teacher.ok(
            "poll_create",
            {"kind": "single", "question": "پسندیدہ رنگ؟", "options": ["سرخ", "نیلا"]},
        )
        poll_id = poll["poll_id"]
        await teacher.ok("poll_open", {"poll_id": poll_id})
        await ali.ok("poll_vote", {"poll_id": poll_id, "vote_id": "a1", "option": 0})
        await snap()  # an open poll with a vote
        await sara.ok("poll_vote", {"poll_id": poll_id, "vote_id": "s1", "option": 1})
        await teacher.ok("poll_close", {"poll_id": poll_id})
        await teacher.ok("poll_show_results", {"poll_id": poll_id})
        await snap()  # results shown
        await teacher.ok("page_switch", {"page_id": "page-1"})
        quiz = {
            "title": "Quick",
            "questions": [
                {"type": "single", "question": "2 + 2?", "options": ["3", "4"], "correct": [1]},
                {"type": "true_false", "question": "زمین گول ہے", "correct": True},
            ],
        }
        quiz_id = (await teacher.ok("quiz_create", {"quiz": quiz}))["quiz_id"]
        await teacher.ok("quiz_start", {"quiz_id": quiz_id})
        await ali.ok(
            "quiz_answer", {"quiz_id": quiz_id, "question": 0, "answer_id": "q0", "option": 1}
        )
        await snap()  # a question open, one answer in
        await teacher.ok("quiz_next", {"quiz_id": quiz_id})
        await snap()  # revealed
        await teacher.ok("quiz_next", {"quiz_id": quiz_id})
        await sara.ok(
            "quiz_answer", {"quiz_id": quiz_id, "question": 1, "answer_id": "q1", "option": 0}
        )
        await teacher.ok("quiz_end", {"quiz_id": quiz_id})
        await snap()

        records = await read_whole_log(teacher)
    finally:
        for peer in peers:
            await peer.disconnect()

    events = [Event.from_record(class_id, record) for record in records]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    line = timeline.Timeline(events, checkpoint_every=8)
    assert len(taken) == 20 and len({seq for _, seq, _ in taken}) >= 8
    for viewer, seq, live in taken:
        replayed = json.loads(json.dumps(line.state_at_seq(seq).snapshot(viewer)))
        assert replayed == live, (viewer, seq)
    kinds = [c.kind for c in line.chapters]
    assert kinds == ["page", "page", "poll", "page", "question", "question"]
    assert [c.title for c in line.chapters][2] == "پسندیدہ رنگ؟"
