"""The lesson timeline: one class's log folded into its state at any moment, and its chapters.

A recorded lesson is its log. Replay, reports and exports are folds over it, all through here:

* :func:`fold` folds a whole log (or only some features of it) into a :class:`ClassState`, the
  same way the live server does (``hub.ClassRuntime``), so a report of a recorded lesson and the
  live class agree.
* :class:`Timeline` keeps the log with its clock and a checkpoint every ``checkpoint_every``
  events. :meth:`Timeline.state_at` (lesson time ``t``, ms) and :meth:`Timeline.state_at_seq`
  copy the nearest checkpoint at or before the moment and fold at most ``checkpoint_every - 1``
  events onto it. The :class:`Moment` they return shows exactly what a client that joined then
  would have been sent (``moment.snapshot(viewer) == lesson.snapshot(live_state, viewer)``).
* :attr:`Timeline.chapters`: the page switches, polls, quiz questions and camera keyframes, with
  titles taken from the lesson ("Page 3", the poll's question as typed, in Urdu or English).

Time is the events' server ``ts``. The lesson clock of event ``i`` is the largest ``ts`` up to
it, so the clock never runs backwards even when two server processes' clocks disagree by a few
ms; the state at ``t`` is the fold of every event whose clock is ``<= t`` (a prefix of the log,
ties in seq order). Events with no ``ts`` (``0``: a lean wire form) take the clock before them.

Ink between batches. A stroke's points carry their own time ``t`` (ms since the pen went
down), but reach the log in batches every ~33-50 ms, so a replay that showed each batch whole at
its event would draw in steps. Between two batches a :class:`Moment` of :meth:`Timeline.state_at`
also shows the part of each stroke's *next* batch drawn by then (:attr:`Moment.ink`), by this
rule (the browser's player, ``webclient/src/replay/player.ts``, follows the same):

* a stroke's origin is the clock of its ``stroke_started`` minus the ``t`` of that event's last
  point (0 with none): where its ``t = 0`` falls on the lesson clock. Its first batch shows whole
  at its event;
* point ``j`` of a later batch (event clock ``C``; the stroke's previous batch at clock ``P``)
  shows at ``origin + t_j``, kept inside ``[P + 1, C]``;
* a batch whose points carry no times (every ``t`` equal to the stroke's point before it)
  is spread evenly over ``(P, C]``: point ``j`` of ``m`` at ``P + ceil((C - P)(j + 1) / m)``.

So the moment at an event's own clock is exactly the fold of the log up to it (``state`` never
holds ink of a later event); only what is drawn (:meth:`Moment.board`) adds ``ink``.

Checkpoints share what did not change since the previous checkpoint (a page nobody drew on, a
finished stroke, a quiz definition), so their memory grows with what changed, not with the
board's size times the number of checkpoints. They are never mutated; a seek folds onto a copy.

Pure: no I/O. Everything here reads the features' own ``apply``/``snapshot`` functions through
:mod:`classroom.lesson` and never reaches into a feature's storage layout beyond the attributes
named in each accessor below.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
from array import array
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel

from classroom import board as board_feature
from classroom import camera, lesson
from classroom.board import BoardState, Stroke
from classroom.lesson import ClassState
from classroom.log import Actor, Event
from classroom.polls import Poll, PollsState
from classroom.quizzes import QuestionRun, Quiz, QuizzesState

CHECKPOINT_EVERY = 256

ChapterKind = Literal["page", "poll", "question", "keyframe"]


# --- folding --------------------------------------------------------------------------------


def apply(state: ClassState, event: Event) -> bool:
    """Fold one event as the live server does; False if a feature's reducer raised.

    The live class (``hub.ClassRuntime._apply``) keeps going past a reducer bug with the seq
    advanced, so a replay must too, or it would show a different class from that event on.
    """
    try:
        lesson.apply(state, event)
    except Exception:
        state.seq = event.seq
        return False
    return True


def fold(
    events: Iterable[Event], *, class_id: str = "", features: Collection[str] | None = None
) -> ClassState:
    """Fold a whole log into a fresh class state.

    ``features`` (names from ``lesson.FEATURES``, e.g. ``{"polls"}``) folds only those features'
    events: the other parts stay as a new class has them, and a report of a lesson of 100,000
    ink batches does not fold the board at all.
    """
    state = ClassState(class_id)
    wanted = None if features is None else frozenset(features)
    for event in events:
        if wanted is None or not wanted.isdisjoint(lesson.features_of(event.type)):
            apply(state, event)
        else:
            state.seq = event.seq
    return state


# --- ink between batches ---------------------------------------------------------------------


def batch_times(
    points: Sequence[float], *, origin: int, previous: int, clock: int, t_before: float = 0
) -> list[int]:
    """When each point of an ink batch shows on the lesson clock (ms), by the module's rule.

    ``points`` : flat ``[x, y, pressure, t, ...]`` of a ``stroke_extended`` event at ``clock``;
    ``previous`` : the clock of the stroke's batch before it; ``origin`` : where the stroke's
    ``t = 0`` falls; ``t_before`` : the ``t`` of the stroke's last point before the batch.
    The times never decrease and lie in ``[previous + 1, clock]`` (``clock`` when equal).
    """
    times = points[3::4]
    count = len(times)
    if not count:
        return []
    if all(t == t_before for t in times):
        span = clock - previous
        return [previous + -(-span * (j + 1) // count) for j in range(count)]
    low = previous + 1
    return [min(clock, max(low, origin + round(t))) for t in times]


@dataclass(frozen=True, slots=True)
class _Batch:
    origin: int
    previous: int
    t_before: float


# --- checkpoints ----------------------------------------------------------------------------

_ATOMIC: frozenset[type] = frozenset({str, int, float, bool, type(None), bytes, Fraction})


class _Copier:
    """Copies a class state's object graph, keeping its aliasing (a stroke is both in its page
    and in the board's index: the copy has one stroke in both).

    With ``previous`` (the memo of the last checkpoint: id of a live object -> its copy) an
    object equal to its copy in the previous checkpoint is not copied again but shared. Sharing
    is only safe because checkpoints are never mutated; ids of live objects that died may be
    reused, which the equality check makes harmless.
    """

    def __init__(
        self, previous: dict[int, Any] | None = None, *, flat: set[int], freezing: bool
    ) -> None:
        self.memo: dict[int, Any] = {}
        self._previous = previous or {}
        # Ids of checkpoint lists known to hold plain values only (points): a frozen list never
        # changes, so a seek copies it without looking at each value again.
        self._flat = flat
        self._freezing = freezing
        self._fields: dict[type, tuple[str, ...]] = {}
        self._dict_fields: dict[type, tuple[str, ...]] = {}

    def copy(self, obj: Any, depth: int = 0) -> Any:
        kind = type(obj)
        if kind in _ATOMIC:
            return obj
        key = id(obj)
        done = self.memo.get(key)
        if done is not None:
            return done
        # The top of the graph (the state, its parts) always changes; comparing it would only
        # compare everything twice.
        if depth >= 2 and not isinstance(obj, dict):
            before = self._previous.get(key)
            if before is not None and type(before) is kind and before == obj:
                self.memo[key] = before
                self._register_items(obj, before)
                return before
        new = self._copy_new(obj, kind, depth + 1)
        self.memo[key] = new
        return new

    def _register_items(self, live: Any, shared: Any) -> None:
        """Note the copies of the values of a shared object's dict fields (a page's items), so
        the board's own index of the same strokes finds them without comparing them again."""
        kind = type(live)
        names = self._dict_fields.get(kind)
        if names is None:
            # Which fields hold dicts, from the first one seen (a stroke: none, so sharing one
            # costs a lookup); the type is checked again below, so a guess wrong is harmless.
            fields = self._field_names(kind, live) if dataclasses.is_dataclass(live) else ()
            names = tuple(name for name in fields if type(getattr(live, name)) is dict)
            self._dict_fields[kind] = names
        for name in names:
            items = getattr(live, name)
            if type(items) is dict:
                frozen = getattr(shared, name)
                self.memo.update((id(value), frozen[key]) for key, value in items.items())

    def _field_names(self, kind: type, obj: Any) -> tuple[str, ...]:
        names = self._fields.get(kind)
        if names is None:
            names = tuple(f.name for f in dataclasses.fields(obj))
            self._fields[kind] = names
        return names

    def _copy_dict(self, obj: dict[Any, Any], kind: type, depth: int) -> Any:
        """``copy`` of each value, inlined: a board's item and op indexes are most of the
        visits a checkpoint makes (one per item: 14.7 -> 8.8 ms a checkpoint at 2,400 items)."""
        new: dict[Any, Any] = kind()
        memo, previous, setitem = self.memo, self._previous, dict.__setitem__
        for key, value in obj.items():
            value_kind = type(value)
            if value_kind in _ATOMIC:
                setitem(new, key, value)
                continue
            done = memo.get(id(value))
            if done is None and depth >= 2 and value_kind is not dict:
                before = previous.get(id(value))
                if before is not None and type(before) is value_kind and before == value:
                    memo[id(value)] = done = before
                    self._register_items(value, before)
            setitem(new, key, self.copy(value, depth) if done is None else done)
        return new

    def _copy_new(self, obj: Any, kind: type, depth: int) -> Any:
        if isinstance(obj, dict):
            return self._copy_dict(obj, kind, depth)
        if kind is list:
            if id(obj) in self._flat or all(map(_ATOMIC.__contains__, map(type, obj))):
                flat = list(obj)  # points: the check and the copy run in C
                if self._freezing:
                    self._flat.add(id(flat))
                return flat
            return [self.copy(value, depth) for value in obj]
        if kind is tuple:
            if all(map(_ATOMIC.__contains__, map(type, obj))):
                return obj  # immutable all the way down: an author key
            return tuple(self.copy(value, depth) for value in obj)
        if kind is set or kind is frozenset:
            return kind(self.copy(value, depth) for value in obj)
        if kind is array:
            return array(obj.typecode, obj)
        if isinstance(obj, BaseModel):
            return obj.model_copy(deep=True)
        if dataclasses.is_dataclass(obj):
            names = self._field_names(kind, obj)
            new_obj: Any = object.__new__(kind)
            setattr_ = object.__setattr__
            for name in names:
                value = getattr(obj, name)
                if type(value) not in _ATOMIC:  # most fields are: skip the call
                    value = self.copy(value, depth)
                setattr_(new_obj, name, value)
            return new_obj
        return copy.deepcopy(obj)


@dataclass(frozen=True, slots=True)
class _Checkpoint:
    index: int  # events folded into it
    state: ClassState


# --- the timeline ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chapter:
    """A moment a viewer may jump to: a page shown, a poll or quiz question opened, a keyframe.

    ``id`` is stable for the log (folding the same log again gives the same ids); ``seq`` is
    the event that began it and ``ts`` its lesson time in ms (a keyframe: when it was captured,
    which is earlier than its event when it was uploaded late). ``ref`` names what the chapter
    is about: ``page_id``/``number``, ``poll_id``, ``quiz_id``/``question``/``number``,
    ``keyframe_id``/``asset_id``.
    """

    id: str
    kind: ChapterKind
    seq: int
    ts: int
    title: str
    ref: dict[str, str | int] = field(default_factory=dict, hash=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "seq": self.seq,
            "ts": self.ts,
            "title": self.title,
            **self.ref,
        }


@dataclass(frozen=True, slots=True)
class Moment:
    """The class as it was at one moment of the lesson: its state after ``seq``.

    ``state`` is this moment's own copy. ``folded`` is how many events the seek folded onto its
    checkpoint (the seek's cost, bounded by the checkpoint spacing). ``t`` is the lesson time
    asked for (``ts`` is the clock of the last event folded, at or before it) and ``ink`` the
    points each stroke drew since its last folded batch, by ``t`` (the module's ink rule; empty
    for :meth:`Timeline.state_at_seq`).
    """

    state: ClassState
    ts: int
    folded: int
    t: int = 0
    ink: dict[str, list[float]] = field(default_factory=dict)

    @property
    def seq(self) -> int:
        return self.state.seq

    def board(self) -> BoardState:
        """The board as drawn at ``t``: the folded board plus :attr:`ink` (what a renderer
        draws; ``state`` itself is the plain fold and is not changed)."""
        folded: BoardState = self.state.part("board")
        return board_feature.with_ink(folded, self.ink)

    def stroke_points(self, stroke_id: str) -> list[float]:
        """The points of a stroke visible at ``t``, flat ``[x, y, pressure, t, ...]`` (empty
        for no such stroke): its folded batches and the part of its next batch drawn by then."""
        item = self.state.part("board").items.get(stroke_id)
        if not isinstance(item, Stroke):
            return []
        return item.pts + self.ink.get(stroke_id, [])

    def snapshot(self, viewer: Actor) -> dict[str, Any]:
        """What a client joining at this moment would have been sent (``class_snapshot``)."""
        return lesson.snapshot(self.state, viewer)

    @property
    def page_id(self) -> str:
        """The page the class was shown."""
        current: str = self.state.part("board").current
        return current

    @property
    def page_number(self) -> int:
        """The shown page's place in the page order, from 1."""
        board = self.state.part("board")
        return int(board.order.index(board.current)) + 1

    def open_poll(self) -> Poll | None:
        """The poll taking votes (the latest opened, if several are)."""
        polls: PollsState = self.state.part("polls")
        open_polls = [poll for poll in polls.polls.values() if poll.status == "open"]
        return open_polls[-1] if open_polls else None

    def shown_results(self) -> list[Poll]:
        """Polls whose results the class was being shown (``poll.shown_tally``)."""
        polls: PollsState = self.state.part("polls")
        return [poll for poll in polls.polls.values() if poll.results_shown]

    def open_question(self) -> tuple[Quiz, QuestionRun] | None:
        """The quiz question being answered, with its run (deadline, answers so far)."""
        quizzes: QuizzesState = self.state.part("quizzes")
        for quiz in reversed(quizzes.quizzes.values()):
            run = quiz.current_run()
            if quiz.status == "running" and run is not None and run.status == "open":
                return quiz, run
        return None

    def camera_view(self) -> dict[str, Any] | None:
        """The camera board at this moment as a stored picture (its event data, whose
        ``asset_id`` names it): the latest view kept for replays, or a keyframe captured later
        (``classroom.camera.shown``); None before the camera showed anything."""
        return camera.shown(self.state.part("camera"))


class Timeline:
    """A recorded lesson's log with its clock, checkpoints and chapters.

    ``events`` must be the whole log of one class in seq order, as stored (every audience: the
    timeline filters per viewer in :meth:`Moment.snapshot`, as the live server does). A
    viewer's ``log_resume`` pages are not that log: they leave out events the viewer may not
    see, and name nobody as the voter of an anonymous poll vote, so its tally would count them
    as one student.
    """

    def __init__(
        self,
        events: Iterable[Event],
        *,
        class_id: str | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self.events: tuple[Event, ...] = tuple(events)
        self.class_id = class_id if class_id is not None else self._class_of(self.events)
        self.checkpoint_every = checkpoint_every
        self._seqs: list[int] = []
        self._clock: list[int] = []
        self._checkpoints: list[_Checkpoint] = []
        self._copies: dict[int, Any] = {}  # id of a live object -> its latest checkpoint copy
        self._flat: set[int] = set()
        self.chapters: tuple[Chapter, ...] = ()
        self._ink = _InkTimes()  # ink between batches: each stroke's later batches, timed
        self.faults = 0  # events a reducer raised on (the live class skipped them too)
        self.final = self._build()

    @staticmethod
    def _class_of(events: Sequence[Event]) -> str:
        return events[0].class_id if events else ""

    # building

    def _build(self) -> ClassState:
        state = ClassState(self.class_id)
        chapters = _Chapters()
        self._checkpoint(state, 0)
        clock = 0
        last_seq = 0
        touched: set[str] = set()
        for index, event in enumerate(self.events):
            if event.seq <= last_seq:
                raise ValueError(f"events out of order: seq {event.seq} after {last_seq}")
            last_seq = event.seq
            clock = max(clock, event.ts)
            self._seqs.append(event.seq)
            self._clock.append(clock)
            if event.type in _INK:
                self._ink.note(index, event, clock)
            before = chapters.before(state, event)
            if not apply(state, event):
                self.faults += 1
            chapters.after(state, event, clock, before)
            touched.update(lesson.features_of(event.type))
            touched.update(lesson.EVERY_EVENT_FEATURES)
            if (index + 1) % self.checkpoint_every == 0:
                self._checkpoint(state, index + 1, touched)
                touched.clear()
        self.chapters = tuple(sorted(chapters.found, key=lambda c: (c.ts, c.seq)))
        return state

    def _checkpoint(self, state: ClassState, index: int, touched: Collection[str] = ()) -> None:
        """Keep a frozen copy of ``state``; parts no event since the last checkpoint folded
        into (``touched`` names those that were) are the last checkpoint's, not visited."""
        copier = _Copier(self._copies, flat=self._flat, freezing=True)
        previous = self._checkpoints[-1].state.parts if self._checkpoints else None
        parts: dict[str, Any] = {}
        for name, part in state.parts.items():
            if previous is not None and name not in touched:
                parts[name] = previous[name]
            else:
                parts[name] = copier.copy(part, 1)
        # Kept across checkpoints, not per checkpoint: an object shared whole (a page) is not
        # visited, and its strokes must still be found when the page changes later.
        self._copies.update(copier.memo)
        self._checkpoints.append(_Checkpoint(index, ClassState(state.class_id, state.seq, parts)))

    # reading

    @property
    def start_ms(self) -> int | None:
        """The lesson time of the first event (None for an empty log)."""
        return self._clock[0] if self._clock else None

    @property
    def end_ms(self) -> int | None:
        """The lesson time of the last event."""
        return self._clock[-1] if self._clock else None

    @property
    def duration_ms(self) -> int:
        if not self._clock:
            return 0
        return self._clock[-1] - self._clock[0]

    @property
    def checkpoints(self) -> int:
        return len(self._checkpoints)

    def index_at(self, t: int) -> int:
        """How many events the state at lesson time ``t`` folds."""
        return bisect.bisect_right(self._clock, t)

    def state_at(self, t: int) -> Moment:
        """The class at lesson time ``t`` (ms): every event whose clock is ``<= t``, and the
        ink drawn by ``t`` of the batches still to come (:attr:`Moment.ink`)."""
        return self._moment(self.index_at(t), t)

    def state_at_seq(self, seq: int) -> Moment:
        """The class right after event ``seq`` (what ``class_snapshot`` answered at ``seq``)."""
        return self._moment(bisect.bisect_right(self._seqs, seq))

    def _moment(self, count: int, t: int | None = None) -> Moment:
        checkpoint = self._checkpoints[count // self.checkpoint_every]
        state: ClassState = _Copier(flat=self._flat, freezing=False).copy(checkpoint.state)
        for event in self.events[checkpoint.index : count]:
            apply(state, event)
        ts = self._clock[count - 1] if count else (self.start_ms or 0)
        if t is None:
            return Moment(state, ts, count - checkpoint.index, ts)
        return Moment(state, ts, count - checkpoint.index, t, self.ink_at(state, count, t))

    def appear_times(self, index: int) -> list[int]:
        """When each point of event ``index`` (a stroke batch) shows on the lesson clock: the
        module's ink rule; a ``stroke_started`` shows whole at its clock."""
        event = self.events[index]
        points: list[float] = event.data.get("pts", []) if event.type in _INK else []
        batch = self._ink.batches.get(index)
        if batch is None:
            return [self._clock[index]] * (len(points) // 4)
        return batch_times(
            points,
            origin=batch.origin,
            previous=batch.previous,
            clock=self._clock[index],
            t_before=batch.t_before,
        )

    def ink_at(self, state: ClassState, count: int, t: int) -> dict[str, list[float]]:
        """The ink drawn by ``t`` that ``state`` (the fold of the first ``count`` events) does
        not hold yet: for each unfinished stroke, the points of its next batch shown by ``t``
        (only those its fold will keep)."""
        board: BoardState = state.part("board")
        ink: dict[str, list[float]] = {}
        for item in board.items.values():
            if type(item) is not Stroke or item.done:
                continue
            points = self.stroke_ink(board, item.id, count, t)
            if points:
                ink[item.id] = points
        return ink

    def stroke_ink(self, board: BoardState, stroke_id: str, count: int, t: int) -> list[float]:
        """One stroke's part of :meth:`ink_at`: the points of its next batch after the first
        ``count`` events shown by ``t`` (``board`` is the fold of those events); empty for
        none. An incremental renderer asks this for the strokes still open only."""
        later = self._ink.stroke_batches.get(stroke_id)
        if not later:
            return []
        position = bisect.bisect_left(later, count)
        if position == len(later):
            return []
        index = later[position]
        found = board_feature.extension(board, self.events[index])
        if found is None:
            return []
        _, first, stop = found
        shown = bisect.bisect_right(self.appear_times(index), t, first, stop) - first
        if shown <= 0:
            return []
        return list(self.events[index].data["pts"][first * 4 : (first + shown) * 4])

    def open_strokes(self) -> list[tuple[int, int, str]]:
        """``(first, last, stroke_id)`` for each stroke with later batches: while a moment folds
        more than ``first`` and at most ``last`` events, :meth:`stroke_ink` may show some of
        its next batch (``first`` is the index of its first event, ``last`` of its last batch),
        sorted by ``first``."""
        spans = []
        for stroke_id, batches in self._ink.stroke_batches.items():
            spans.append((self._ink.started[stroke_id], batches[-1], stroke_id))
        spans.sort()
        return spans

    def events_between(self, t0: int, t1: int) -> tuple[Event, ...]:
        """The events with clock in ``(t0, t1]``: what an incremental renderer draws next."""
        return self.events[self.index_at(t0) : self.index_at(t1)]

    def clock_of(self, seq: int) -> int:
        """The lesson time of event ``seq`` (the clock of the last event at or before it)."""
        count = bisect.bisect_right(self._seqs, seq)
        return self._clock[count - 1] if count else (self.start_ms or 0)

    def camera_at(self, t: int) -> dict[str, Any] | None:
        """The keyframe showing the board at lesson time ``t``: the latest captured at or before
        ``t`` among the lesson's keyframes (late uploads included), or None."""
        keyframes: list[dict[str, Any]] = self.final.part("camera").keyframes
        times = [int(k["captured_at_ms"]) for k in keyframes]
        position = bisect.bisect_right(times, t)
        return keyframes[position - 1] if position else None


_INK = frozenset({"stroke_started", "stroke_extended"})


class _InkTimes:
    """Each stroke's origin and later batches, noted while the timeline is built (the ink rule)."""

    def __init__(self) -> None:
        self.stroke_batches: dict[str, list[int]] = {}  # stroke id -> its later batches' indexes
        self.batches: dict[int, _Batch] = {}  # event index -> how its points are timed
        self.started: dict[str, int] = {}  # stroke id -> the index of its stroke_started
        self._origin: dict[str, int] = {}
        self._last_clock: dict[str, int] = {}
        self._last_t: dict[str, float] = {}

    def note(self, index: int, event: Event, clock: int) -> None:
        stroke_id = str(event.data.get("id"))
        points = event.data.get("pts") or []
        if event.type == "stroke_started":
            if stroke_id in self._origin:
                return  # a repeated id: the fold keeps the first
            self.started[stroke_id] = index
            last_t = float(points[-1]) if len(points) >= 4 else 0.0
            self._origin[stroke_id] = clock - round(last_t)
            self._last_clock[stroke_id] = clock
            self._last_t[stroke_id] = last_t
            return
        origin = self._origin.get(stroke_id)
        if origin is None or len(points) < 4:
            return
        self.batches[index] = _Batch(origin, self._last_clock[stroke_id], self._last_t[stroke_id])
        self.stroke_batches.setdefault(stroke_id, []).append(index)
        self._last_clock[stroke_id] = clock
        self._last_t[stroke_id] = float(points[-1])


class Outline:
    """A lesson's span and chapters, folded a few events at a time as its log grows.

    What a replay's info needs, without a :class:`Timeline`'s checkpoints or its events: the
    state after the newest event (to find the chapters of what comes next), the clock and the
    audio events. ``extend`` with the events appended since gives the same ``start_ms``,
    ``duration_ms`` and ``chapters`` as a Timeline of the whole log.
    """

    def __init__(self, class_id: str) -> None:
        self.class_id = class_id
        self.seq = 0
        self.events = 0
        self.start_ms: int | None = None
        self.end_ms: int | None = None
        self.audio: list[Event] = []  # the ``audio_added`` events, in log order
        self._state = ClassState(class_id)
        self._chapters = _Chapters()

    def extend(self, events: Iterable[Event]) -> None:
        """Fold the events after ``seq`` (in seq order)."""
        clock = self.end_ms or 0
        for event in events:
            if event.seq <= self.seq:
                raise ValueError(f"events out of order: seq {event.seq} after {self.seq}")
            self.seq = event.seq
            clock = max(clock, event.ts)
            if self.start_ms is None:
                self.start_ms = clock
            before = self._chapters.before(self._state, event)
            apply(self._state, event)
            self._chapters.after(self._state, event, clock, before)
            if event.type == "audio_added":
                self.audio.append(event)
            self.events += 1
        self.end_ms = clock if self.events else None

    @property
    def duration_ms(self) -> int:
        if self.start_ms is None or self.end_ms is None:
            return 0
        return self.end_ms - self.start_ms

    @property
    def chapters(self) -> tuple[Chapter, ...]:
        return tuple(sorted(self._chapters.found, key=lambda c: (c.ts, c.seq)))


# --- chapters -------------------------------------------------------------------------------


class _Chapters:
    """Finds chapters while the timeline folds: compares a few facts before and after events."""

    def __init__(self) -> None:
        self.found: list[Chapter] = []
        self._keyframes = 0
        self._page: str | None = None
        self._last_page: Chapter | None = None

    def before(self, state: ClassState, event: Event) -> Any:
        data = event.data
        if event.type == "poll_opened":
            poll = state.part("polls").polls.get(str(data.get("poll_id")))
            return None if poll is None else poll.status
        if event.type == "quiz_question_opened":
            quiz = state.part("quizzes").quizzes.get(str(data.get("quiz_id")))
            return None if quiz is None else quiz.runs.get(data.get("question"))
        if event.type == "camera_keyframe_added":
            return data.get("keyframe_id") in state.part("camera").keyframe_ids
        return None

    def after(self, state: ClassState, event: Event, clock: int, before: Any) -> None:
        board = state.part("board")
        if board.current != self._page:
            self._page = board.current
            number = board.order.index(board.current) + 1
            last = self._last_page
            if last is not None and last.ts == clock:
                # Shown for no time at all (pages added in one go): not a place to jump to.
                self.found.remove(last)
            self._last_page = Chapter(
                f"page-{event.seq}",
                "page",
                event.seq,
                clock,
                f"Page {number}",
                {"page_id": board.current, "number": number},
            )
            self.found.append(self._last_page)
        data = event.data
        if event.type == "poll_opened":
            poll = state.part("polls").polls.get(str(data.get("poll_id")))
            if poll is not None and before == "draft" and poll.status == "open":
                ref: dict[str, str | int] = {"poll_id": poll.poll_id}
                self.found.append(
                    Chapter(f"poll-{poll.poll_id}", "poll", event.seq, clock, poll.question, ref)
                )
        elif event.type == "quiz_question_opened":
            quiz = state.part("quizzes").quizzes.get(str(data.get("quiz_id")))
            run = None if quiz is None else quiz.current_run()
            if quiz is not None and run is not None and before is None and run.opened_ts:
                question = quiz.questions[run.index]
                self.found.append(
                    Chapter(
                        f"question-{quiz.quiz_id}-{run.index}",
                        "question",
                        event.seq,
                        clock,
                        question.question,
                        {"quiz_id": quiz.quiz_id, "question": run.index, "number": run.index + 1},
                    )
                )
        elif event.type == "camera_keyframe_added":
            keyframe_id = str(data.get("keyframe_id"))
            if before is False and keyframe_id in state.part("camera").keyframe_ids:
                self._keyframes += 1
                self.found.append(
                    Chapter(
                        f"keyframe-{keyframe_id}",
                        "keyframe",
                        event.seq,
                        int(data.get("captured_at_ms", clock)),
                        f"Board photo {self._keyframes}",
                        {"keyframe_id": keyframe_id, "asset_id": str(data.get("asset_id"))},
                    )
                )
