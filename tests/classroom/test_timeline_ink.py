"""Ink between batches: a moment between two batches of a stroke shows the part of the next
batch drawn by then, at the pace its points were drawn (classroom/timeline.py's ink rule)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ImageChops

from classroom import board, render, timeline
from classroom.protocol import board as pb
from testkit.lessons import TEACHER, LessonMaker

PEN = {"tool": "pen", "color": "#101010", "width": 12.0}


def _stroke(
    maker: LessonMaker, stroke_id: str, batches: list[tuple[int, list[list[float]]]]
) -> None:
    """A stroke whose batches reach the log ``after`` ms after the one before."""
    state = maker.state.part("board")
    first_after, first = batches[0]
    maker.tick(first_after)
    start: dict[str, Any] = {"stroke_id": stroke_id, "page_id": state.current, **PEN}
    maker.commit(
        TEACHER,
        board.propose(state, TEACHER, pb.StrokeStart.model_validate({**start, "points": first})),
    )
    length = len(first)
    for after, points in batches[1:]:
        maker.tick(after)
        payload = {"stroke_id": stroke_id, "offset": length, "points": points}
        maker.commit(
            TEACHER, board.propose(state, TEACHER, pb.StrokeExtend.model_validate(payload))
        )
        length += len(points)
    maker.tick(5)
    end = pb.StrokeEnd.model_validate({"stroke_id": stroke_id, "length": length})
    maker.commit(TEACHER, board.propose(state, TEACHER, end))


def _points(times: list[float], x0: float = 100) -> list[list[float]]:
    return [[x0 + 10 * i + t, 200.0 + t, 0.5, t] for i, t in enumerate(times)]


def test_a_batch_shows_point_by_point_at_the_pace_its_points_were_drawn() -> None:
    maker = LessonMaker()
    # Down at 0 (first batch: t 0-32, logged at T+10), then a batch of t 40-100 logged 100 ms
    # later: origin T+10-32, so its points show at T+18, 38, 58, 78.
    _stroke(maker, "s1", [(10, _points([0, 16, 32])), (100, _points([40, 60, 80, 100], 300))])
    line = timeline.Timeline(maker.events)
    start = line.start_ms or 0
    started = next(line.clock_of(e.seq) for e in maker.events if e.type == "stroke_started")
    extended = next(e for e in maker.events if e.type == "stroke_extended")
    assert line.clock_of(extended.seq) == started + 100
    index = maker.events.index(extended)
    assert line.appear_times(index) == [started + 8, started + 28, started + 48, started + 68]
    seen = []
    for after in (0, 7, 8, 30, 50, 68, 99, 100):
        moment = line.state_at(started + after)
        points = moment.stroke_points("s1")
        seen.append(len(points) // 4)
        # The fold itself never holds a later event's points: only what is drawn adds them.
        assert moment.state.part("board").items["s1"].length == (3 if after < 100 else 7)
    assert seen == [3, 3, 4, 5, 6, 7, 7, 7]
    assert start <= started
    # The drawn board has the partial batch; the moment's own state is unchanged by drawing it.
    moment = line.state_at(started + 30)
    assert moment.ink == {"s1": [float(v) for p in _points([40, 60], 300) for v in p]}
    drawn = moment.board()
    assert drawn.items["s1"].length == 5
    assert drawn.pages[drawn.current].items["s1"] is drawn.items["s1"]
    assert moment.state.part("board").items["s1"].length == 3


def test_points_without_times_are_spread_evenly_since_the_batch_before() -> None:
    maker = LessonMaker()
    _stroke(maker, "s1", [(10, _points([0])), (40, _points([0, 0, 0, 0], 300))])
    line = timeline.Timeline(maker.events)
    started = next(line.clock_of(e.seq) for e in maker.events if e.type == "stroke_started")
    index = next(i for i, e in enumerate(maker.events) if e.type == "stroke_extended")
    assert line.appear_times(index) == [started + 10, started + 20, started + 30, started + 40]
    counts = [len(line.state_at(started + a).stroke_points("s1")) // 4 for a in (9, 10, 25, 39)]
    assert counts == [1, 2, 3, 4]


def test_a_late_batch_is_squeezed_between_its_neighbours_never_shown_early() -> None:
    # A batch that took 2 s to arrive (a stalled link) shows its points at their drawn times;
    # one drawn before the batch before it arrived shows just after that batch, one claiming a
    # time later than its batch's arrival shows at its event.
    assert timeline.batch_times(
        [0, 0, 0.5, 20, 0, 0, 0.5, 900, 0, 0, 0.5, 5000],
        origin=1000,
        previous=1040,
        clock=3000,
        t_before=33,
    ) == [1041, 1900, 3000]


def test_the_server_render_of_a_moment_between_batches_draws_the_partial_batch() -> None:
    maker = LessonMaker()
    far = _points([40, 60, 80, 100], 900)
    _stroke(maker, "s1", [(10, _points([0, 16, 32])), (100, far)])
    line = timeline.Timeline(maker.events)
    started = next(line.clock_of(e.seq) for e in maker.events if e.type == "stroke_started")
    images = [
        render.render_image(line.state_at(started + a).board(), board.FIRST_PAGE_ID, scale=0.25)
        for a in (10, 40, 100)
    ]
    before, middle, after = images
    assert ImageChops.difference(before, middle).getbbox() is not None
    assert ImageChops.difference(middle, after).getbbox() is not None


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=6),
    sizes=st.lists(st.integers(min_value=1, max_value=6), min_size=7, max_size=7),
    pace=st.sampled_from([0, 7, 16, 60]),  # ms between points; 0: points without times
)
def test_a_stroke_only_grows_through_its_points_and_meets_the_fold_at_every_event(
    gaps: list[int], sizes: list[int], pace: int
) -> None:
    maker = LessonMaker()
    batches = []
    t = 0.0
    for number, gap in enumerate([10, *gaps]):
        points = []
        for _ in range(sizes[number]):
            points.append([100.0 + len(batches) * 10 + len(points), 200.0, 0.5, t])
            t += pace
        batches.append((gap, points))
    _stroke(maker, "s1", batches)
    line = timeline.Timeline(maker.events)
    final = line.final.part("board").items["s1"].pts
    start, end = line.start_ms or 0, line.end_ms or 0
    before = 0
    for at in range(start, end + 2):
        points = line.state_at(at).stroke_points("s1")
        assert points == final[: len(points)]  # a prefix of the stroke, as drawn
        assert len(points) >= before  # never shrinks as time goes on
        before = len(points)
    for event in maker.events:
        moment = line.state_at(line.clock_of(event.seq))
        if moment.seq == event.seq:  # the last event at its time
            folded = moment.state.part("board").items.get("s1")
            assert moment.stroke_points("s1") == ([] if folded is None else folded.pts)
