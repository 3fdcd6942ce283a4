"""Live quizzes: the teacher paces questions, students answer against a server deadline.

Timing is server-authoritative. A question's deadline is the server time (``event.ts``) of its
``quiz_question_opened`` event plus its time limit; ``propose_answer`` refuses an answer after it
(``TOO_LATE``) using the ``now_ms`` it is given, and ``apply`` ignores an answer event whose
``ts`` is past the deadline, so a race between processes cannot let a late answer count.

Scoring (timed mode), for a question worth ``P`` points with limit ``T`` answered at ``t``::

    speed points = round(P * fraction * (1 - (t / T) / 2))    # halves round up; t <= 0.5 s: full
    streak bonus = min(100 * (streak - 1), 500)                 # streak = consecutive full marks

``fraction`` is 1 or 0, except multiple choice: ``max(0, (right picked - wrong picked) / number
correct)``. Only a fully correct answer extends the streak; anything else (a wrong or partial
answer, or no answer) resets it. A skipped question changes nobody's score or streak. Untimed
mode scores ``round(P * fraction)`` with no speed factor and no streak bonus. Points are added
when the question closes, so the leaderboard never leaks correctness early.

Scores live in the projection keyed by student id: a student who reconnects keeps score and
streak.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal

from pydantic import ValidationError

from classroom import roster
from classroom.classes import clean_display_name
from classroom.errors import Conflict, Forbidden, InvalidPayload, NotFound
from classroom.log import Actor, Audience, Event, Proposed
from classroom.polls import normalise_text
from classroom.protocol.quizzes import (
    MAX_ANSWER_CHARS,
    MAX_NUMBER,
    MAX_TITLE_CHARS,
    TRUE_FALSE_OPTIONS,
    ChoiceQuestion,
    NumericQuestion,
    Question,
    QuizAnswer,
    QuizCreate,
    QuizDefinition,
    QuizMode,
    QuizRef,
    QuizRename,
    QuizStart,
    ShortTextQuestion,
    TrueFalseQuestion,
)

FULL_POINTS_WITHIN_MS = 500
STREAK_STEP = 100
STREAK_CAP = 500
LEADERBOARD_SIZE = 10
PODIUM_PLACES = 3

QuizStatus = Literal["ready", "running", "ended"]
RunStatus = Literal["open", "closed", "skipped"]
QuizAnswerValue = int | list[int] | float | str


class TooLate(Conflict):
    """The question's deadline has passed or it is closed."""

    code = "TOO_LATE"


class AlreadyAnswered(Conflict):
    """The student already answered this question; the first answer counts."""

    code = "ALREADY_ANSWERED"


class WrongQuestion(Conflict):
    """The answer names a question that is not the one open now."""

    code = "WRONG_QUESTION"


# --- scoring ------------------------------------------------------------------------------


def _round_half_up(value: Fraction) -> int:
    return int((value + Fraction(1, 2)) // 1)


def speed_points(points: int, fraction: Fraction, time_ms: int, limit_ms: int) -> int:
    """Points for an answer worth ``fraction`` of ``points`` given at ``time_ms`` of ``limit_ms``.

    ``round(points * fraction * (1 - (t/T)/2))`` with halves rounded up; answers within the
    first 500 ms get the full ``points * fraction``; ``t`` is clamped to ``[0, T]``.
    """
    if fraction <= 0:
        return 0
    t = min(max(time_ms, 0), limit_ms)
    if t <= FULL_POINTS_WITHIN_MS or limit_ms <= 0:
        return _round_half_up(points * fraction)
    return _round_half_up(points * fraction * Fraction(2 * limit_ms - t, 2 * limit_ms))


def streak_bonus(streak: int) -> int:
    """Bonus for the ``streak``-th fully correct answer in a row: +100 per answer after the
    first, capped at +500."""
    return min(STREAK_STEP * max(streak - 1, 0), STREAK_CAP)


def parse_number(text: str) -> float | None:
    """Read a typed number: Urdu/Arabic digits, ``٫`` or ``.`` as decimal point, ``1,000``
    thousands; None if it is not a finite number within limits."""
    chars: list[str] = []
    for char in unicodedata.normalize("NFKC", text).strip():
        if unicodedata.category(char) == "Nd":
            chars.append(str(unicodedata.decimal(char)))
        elif char == "\u066b":  # ARABIC DECIMAL SEPARATOR
            chars.append(".")
        elif char in "\u066c\u2212":  # ARABIC THOUSANDS SEPARATOR, MINUS SIGN
            chars.append("," if char == "\u066c" else "-")
        elif not char.isspace():
            chars.append(char)
    cleaned = "".join(chars)
    if "," in cleaned:
        if not re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
            return None
        cleaned = cleaned.replace(",", "")
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)", cleaned):
        return None
    try:
        value = float(Decimal(cleaned))
    except (InvalidOperation, ValueError, OverflowError):
        return None
    return value if abs(value) <= MAX_NUMBER else None


def _decimal(value: float) -> Decimal:
    # repr() gives the shortest decimal that round-trips, i.e. what a person typed.
    return Decimal(repr(float(value)))


def answer_fraction(question: Question, answer: QuizAnswerValue) -> Fraction:
    """How much of the question's points ``answer`` (normalised, as logged) earns: 0..1."""
    if isinstance(question, ChoiceQuestion):
        if question.type == "single":
            return Fraction(int(answer == question.correct[0]))
        picked = set(answer) if isinstance(answer, list) else set()
        right = len(picked & set(question.correct))
        wrong = len(picked) - right
        return max(Fraction(0), Fraction(right - wrong, len(question.correct)))
    if isinstance(question, TrueFalseQuestion):
        return Fraction(int(answer == (0 if question.correct else 1)))
    if isinstance(question, NumericQuestion):
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            return Fraction(0)
        distance = abs(_decimal(answer) - _decimal(question.correct))
        return Fraction(int(distance <= _decimal(question.tolerance)))
    accepted = {normalise_text(text) for text in question.correct}
    return Fraction(int(isinstance(answer, str) and normalise_text(answer) in accepted))


def public_question(question: Question) -> dict[str, Any]:
    """The question as students see it while answering: no correct answer."""
    if isinstance(question, ChoiceQuestion):
        options = list(question.options)
    elif isinstance(question, TrueFalseQuestion):
        options = list(TRUE_FALSE_OPTIONS)
    else:
        options = []
    return {
        "type": question.type,
        "text": question.question,
        "options": options,
        "image": question.image,
        "points": question.points,
    }


def reveal(question: Question) -> Any:
    """The correct answer in the answer's own form (option indexes, bool, number, texts)."""
    if isinstance(question, ChoiceQuestion):
        return list(question.correct)
    if isinstance(question, NumericQuestion):
        return {"value": question.correct, "tolerance": question.tolerance}
    if isinstance(question, ShortTextQuestion):
        return list(question.correct)
    return question.correct


# --- state ----------------------------------------------------------------------------------


@dataclass(slots=True)
class AnswerRecord:
    """One student's counted answer to one question."""

    answer_id: str
    answer: QuizAnswerValue
    ts: int
    time_ms: int
    fraction: Fraction
    speed_points: int
    bonus: int = 0
    points: int = 0  # speed points + bonus, set when the question closes


@dataclass(slots=True)
class QuestionRun:
    """A question as it was asked: when it opened, its deadline and the answers."""

    index: int
    opened_ts: int | None
    deadline_ms: int | None
    status: RunStatus
    answers: dict[str, AnswerRecord] = field(default_factory=dict)


@dataclass(slots=True)
class Player:
    """A student's standing in one quiz, kept across reconnects."""

    student_id: str
    score: int = 0
    streak: int = 0


@dataclass(slots=True)
class Quiz:
    """A quiz, its pacing and its players."""

    quiz_id: str
    definition: QuizDefinition
    created_seq: int
    status: QuizStatus = "ready"
    mode: QuizMode = "timed"
    current: int = -1
    runs: dict[int, QuestionRun] = field(default_factory=dict)
    players: dict[str, Player] = field(default_factory=dict)
    last_leaderboard: dict[str, Any] | None = None
    final: dict[str, Any] | None = None

    @property
    def questions(self) -> list[Question]:
        return self.definition.questions

    def current_run(self) -> QuestionRun | None:
        return self.runs.get(self.current)


@dataclass(slots=True)
class QuizzesState:
    """The quizzes of one class and the names students gave."""

    quizzes: dict[str, Quiz] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    name_index: dict[str, str] = field(default_factory=dict)  # see roster.distinct_name


# --- propose --------------------------------------------------------------------------------


def _require_teacher(actor: Actor, doing: str) -> None:
    if actor.role != "teacher":
        raise Forbidden(f"only a teacher may {doing}")


def _get(state: QuizzesState, quiz_id: str) -> Quiz:
    quiz = state.quizzes.get(quiz_id)
    if quiz is None:
        raise NotFound(f"no quiz {quiz_id!r}", field="quiz_id")
    return quiz


def propose_create(
    state: QuizzesState, actor: Actor, payload: QuizCreate, *, quiz_id: str
) -> list[Proposed]:
    """Create a quiz with the server-made ``quiz_id`` (teachers only see it, answers included)."""
    _require_teacher(actor, "create a quiz")
    if quiz_id in state.quizzes:
        raise Conflict(f"quiz {quiz_id!r} already exists", field="quiz_id")
    data = {"quiz_id": quiz_id, "quiz": payload.quiz.model_dump(mode="json")}
    return [Proposed("quiz_created", data, audience="teachers")]


def propose_rename(state: QuizzesState, actor: Actor, payload: QuizRename) -> list[Proposed]:
    """Give a quiz a new title (checked like any display name; the same title does nothing).

    Reports and exports name the quiz by its title at the time they are made, so a quiz may be
    renamed in any state. Students learn a title once the quiz has started, as they learn the
    quiz itself.
    """
    _require_teacher(actor, "rename a quiz")
    title = clean_display_name(payload.title, field="title", limit=MAX_TITLE_CHARS)
    quiz = _get(state, payload.quiz_id)
    if title == quiz.definition.title:
        return []
    audience: Audience = "teachers" if quiz.status == "ready" else "all"
    return [Proposed("quiz_renamed", {"quiz_id": quiz.quiz_id, "title": title}, audience)]


def propose_start(
    state: QuizzesState, actor: Actor, payload: QuizStart, *, now_ms: int
) -> list[Proposed]:
    """Start a ready quiz and open its first question; starting a running quiz does nothing."""
    _require_teacher(actor, "start a quiz")
    quiz = _get(state, payload.quiz_id)
    if quiz.status == "running":
        return []
    if quiz.status == "ended":
        raise Conflict("this quiz has ended", field="quiz_id")
    started = {
        "quiz_id": quiz.quiz_id,
        "title": quiz.definition.title,
        "mode": payload.mode,
        "questions": len(quiz.questions),
    }
    return [Proposed("quiz_started", started), _opened(quiz, 0, payload.mode)]


def propose_next(
    state: QuizzesState, actor: Actor, payload: QuizRef, *, now_ms: int
) -> list[Proposed]:
    """Advance one step: close the open question (reveal + leaderboard), else open the next
    question, else end the quiz with the podium."""
    _require_teacher(actor, "pace a quiz")
    quiz = _running(state, payload.quiz_id)
    run = quiz.current_run()
    if run is not None and run.status == "open":
        outcome = _close_outcome(quiz, run)
        return [_closed(quiz, run), _leaderboard(state, quiz, run.index, outcome)]
    if quiz.current + 1 < len(quiz.questions):
        return [_opened(quiz, quiz.current + 1, quiz.mode)]
    return [_ended(state, quiz, {})]


def propose_skip(
    state: QuizzesState, actor: Actor, payload: QuizRef, *, now_ms: int
) -> list[Proposed]:
    """Drop a question unscored and open the one after it (or end the quiz).

    While a question is open, that question is dropped; after a reveal, the coming question is
    dropped without being asked.
    """
    _require_teacher(actor, "pace a quiz")
    quiz = _running(state, payload.quiz_id)
    run = quiz.current_run()
    skip = quiz.current if run is not None and run.status == "open" else quiz.current + 1
    if skip >= len(quiz.questions):
        return [_ended(state, quiz, {})]
    events = [Proposed("quiz_question_skipped", {"quiz_id": quiz.quiz_id, "question": skip})]
    if skip + 1 < len(quiz.questions):
        events.append(_opened(quiz, skip + 1, quiz.mode))
    else:
        events.append(_ended(state, quiz, {}))
    return events


def propose_end(
    state: QuizzesState, actor: Actor, payload: QuizRef, *, now_ms: int
) -> list[Proposed]:
    """End the quiz: an open question is closed and scored first; ending twice does nothing."""
    _require_teacher(actor, "end a quiz")
    quiz = _get(state, payload.quiz_id)
    if quiz.status == "ended":
        return []
    if quiz.status == "ready":
        raise Conflict("this quiz has not started", field="quiz_id")
    run = quiz.current_run()
    if run is not None and run.status == "open":
        return [_closed(quiz, run), _ended(state, quiz, _close_outcome(quiz, run))]
    return [_ended(state, quiz, {})]


def propose_answer(
    state: QuizzesState, actor: Actor, payload: QuizAnswer, *, now_ms: int
) -> list[Proposed]:
    """Record a student's first answer to the open question (audience: teachers and the student).

    A retry with the same ``answer_id`` is a no-op; a different second answer is refused
    (``ALREADY_ANSWERED``), as is an answer after the deadline (``TOO_LATE``) or to another
    question (``WRONG_QUESTION``).
    """
    if actor.role != "student":
        raise Forbidden("only a student may answer")
    quiz = _get(state, payload.quiz_id)
    if quiz.status != "running":
        raise Conflict("this quiz is not running", field="quiz_id")
    run = quiz.runs.get(payload.question)
    if run is not None:
        earlier = run.answers.get(actor.id)
        if earlier is not None:
            if earlier.answer_id == payload.answer_id:
                return []
            raise AlreadyAnswered("you already answered this question", field="question")
    if payload.question != quiz.current or run is None:
        raise WrongQuestion(
            f"question {payload.question + 1} is not the open question", field="question"
        )
    if run.status != "open" or (run.deadline_ms is not None and now_ms > run.deadline_ms):
        raise TooLate("time is up for this question", field="question")
    answer = _answer_from_payload(quiz.questions[run.index], payload)
    data: dict[str, Any] = {
        "quiz_id": quiz.quiz_id,
        "question": run.index,
        "answer_id": payload.answer_id,
        "answer": answer,
    }
    return [Proposed("quiz_answered", data, audience="author")]


def _answer_from_payload(question: Question, payload: QuizAnswer) -> QuizAnswerValue:
    """Check the answer fits the question's type and return its normalised form."""
    if isinstance(question, ChoiceQuestion) and question.type == "multiple":
        if payload.options is None:
            raise InvalidPayload("a multiple choice question takes 'options'", field="options")
        for position, option in enumerate(payload.options):
            _check_option(option, len(question.options), f"options[{position}]")
        return sorted(set(payload.options))
    if isinstance(question, ChoiceQuestion | TrueFalseQuestion):
        if payload.option is None:
            raise InvalidPayload(f"a {question.type} question takes 'option'", field="option")
        count = len(question.options) if isinstance(question, ChoiceQuestion) else 2
        _check_option(payload.option, count, "option")
        return payload.option
    if isinstance(question, NumericQuestion):
        if payload.number is not None:
            return payload.number
        number = None if payload.text is None else parse_number(payload.text)
        if number is None:
            raise InvalidPayload("a numeric question takes a number", field="number")
        return number
    if payload.text is None:
        raise InvalidPayload("a short text question takes 'text'", field="text")
    text = payload.text.strip()
    if not text:
        raise InvalidPayload("the answer is empty", field="text")
    return text


def _check_option(option: int, count: int, where: str) -> None:
    if option >= count:
        raise InvalidPayload(f"option {option} is not between 0 and {count - 1}", field=where)


def _running(state: QuizzesState, quiz_id: str) -> Quiz:
    quiz = _get(state, quiz_id)
    if quiz.status == "ready":
        raise Conflict("start the quiz first", field="quiz_id")
    if quiz.status == "ended":
        raise Conflict("this quiz has ended", field="quiz_id")
    return quiz


def _opened(quiz: Quiz, index: int, mode: QuizMode) -> Proposed:
    question = quiz.questions[index]
    data = {
        "quiz_id": quiz.quiz_id,
        "question": index,
        "questions": len(quiz.questions),
        **public_question(question),
        "time_limit_ms": question.time_limit_s * 1000 if mode == "timed" else None,
    }
    return Proposed("quiz_question_opened", data)


def _closed(quiz: Quiz, run: QuestionRun) -> Proposed:
    question = quiz.questions[run.index]
    data = {
        "quiz_id": quiz.quiz_id,
        "question": run.index,
        "correct": reveal(question),
        "answered": len(run.answers),
        "distribution": distribution(question, run),
    }
    return Proposed("quiz_question_closed", data)


def _leaderboard(
    state: QuizzesState, quiz: Quiz, index: int, outcome: Mapping[str, tuple[int, int, int]]
) -> Proposed:
    board = ranking(state, quiz, outcome)
    data = {
        "quiz_id": quiz.quiz_id,
        "question": index,
        "players": len(board),
        "top": board[:LEADERBOARD_SIZE],
    }
    return Proposed("quiz_leaderboard", data)


def _ended(
    state: QuizzesState, quiz: Quiz, outcome: Mapping[str, tuple[int, int, int]]
) -> Proposed:
    board = ranking(state, quiz, outcome)
    data = {
        "quiz_id": quiz.quiz_id,
        "players": len(board),
        "podium": [entry for entry in board if entry["rank"] <= PODIUM_PLACES],
        "top": board[:LEADERBOARD_SIZE],
    }
    return Proposed("quiz_ended", data)


# --- scoring at close -------------------------------------------------------------------------


def _close_outcome(quiz: Quiz, run: QuestionRun) -> dict[str, tuple[int, int, int]]:
    """What closing ``run`` does to each player: (points awarded, bonus, new streak). Pure."""
    timed = quiz.mode == "timed"
    outcome: dict[str, tuple[int, int, int]] = {}
    for student, player in quiz.players.items():
        record = run.answers.get(student)
        if record is None:
            outcome[student] = (0, 0, 0)
            continue
        streak = player.streak + 1 if record.fraction == 1 else 0
        bonus = streak_bonus(streak) if timed else 0
        outcome[student] = (record.speed_points + bonus, bonus, streak if timed else 0)
    return outcome


def ranking(
    state: QuizzesState, quiz: Quiz, outcome: Mapping[str, tuple[int, int, int]] | None = None
) -> list[dict[str, Any]]:
    """Every player, best first: rank (ties share it), id, name, score, streak.

    ``outcome`` (from closing a question not yet applied) is added to the current scores.
    """
    after = outcome or {}
    rows: list[tuple[int, int, str]] = []
    for student, player in quiz.players.items():
        points, _bonus, streak = after.get(student, (0, 0, player.streak))
        rows.append((player.score + points, streak, student))
    rows.sort(key=lambda row: (-row[0], row[2]))
    board: list[dict[str, Any]] = []
    for position, (score, streak, student) in enumerate(rows):
        rank = board[-1]["rank"] if board and board[-1]["score"] == score else position + 1
        board.append(
            {
                "rank": rank,
                "student_id": student,
                "name": state.names.get(student, ""),
                "score": score,
                "streak": streak,
            }
        )
    return board


def distribution(question: Question, run: QuestionRun) -> list[int] | None:
    """How many students picked each option (choice and true/false questions), else None."""
    if isinstance(question, ChoiceQuestion):
        counts = [0] * len(question.options)
    elif isinstance(question, TrueFalseQuestion):
        counts = [0, 0]
    else:
        return None
    for record in run.answers.values():
        picked = record.answer if isinstance(record.answer, list) else [record.answer]
        for option in picked:
            if isinstance(option, int) and 0 <= option < len(counts):
                counts[option] += 1
    return counts


# --- apply ----------------------------------------------------------------------------------


def apply(state: QuizzesState, event: Event) -> None:
    """Fold one logged event into the projection; ignore events that are no longer valid."""
    if event.type in roster.NAME_EVENTS:
        roster.fold_name(state.names, state.name_index, event)
        return
    handler = _APPLIERS.get(event.type)
    if handler is None:
        return
    quiz = state.quizzes.get(str(event.data.get("quiz_id")))
    if event.type == "quiz_created":
        if quiz is None:
            _apply_created(state, event)
    elif quiz is not None:
        handler(state, quiz, event)


def _apply_created(state: QuizzesState, event: Event) -> None:
    if event.actor.role != "teacher":
        return
    try:
        definition = QuizDefinition.model_validate(event.data.get("quiz"))
    except ValidationError:
        return
    quiz_id = str(event.data["quiz_id"])
    state.quizzes[quiz_id] = Quiz(quiz_id=quiz_id, definition=definition, created_seq=event.seq)


def _apply_started(state: QuizzesState, quiz: Quiz, event: Event) -> None:
    mode = event.data.get("mode")
    if quiz.status == "ready" and mode in ("timed", "untimed"):
        quiz.status = "running"
        quiz.mode = "timed" if mode == "timed" else "untimed"


def _advances_to(quiz: Quiz, index: object) -> bool:
    """Whether ``index`` is the next question and the current one is no longer open."""
    run = quiz.current_run()
    return (
        quiz.status == "running"
        and index == quiz.current + 1
        and quiz.current + 1 < len(quiz.questions)
        and (run is None or run.status != "open")
    )


def _apply_opened(state: QuizzesState, quiz: Quiz, event: Event) -> None:
    index = event.data.get("question")
    if not isinstance(index, int) or not _advances_to(quiz, index):
        return
    limit_ms = quiz.questions[index].time_limit_s * 1000
    deadline = event.ts + limit_ms if quiz.mode == "timed" else None
    quiz.runs[index] = QuestionRun(index, opened_ts=event.ts, deadline_ms=deadline, status="open")
    quiz.current = index


def _apply_skipped(state: QuizzesState, quiz: Quiz, event: Event) -> None:
    index = event.data.get("question")
    run = quiz.current_run()
    if run is not None and run.status == "open" and index == quiz.current:
        run.status = "skipped"
        run.answers.clear()  # answers to a skipped question never count
    elif isinstance(index, int) and _advances_to(quiz, index):
        quiz.runs[index] = QuestionRun(index, opened_ts=None, deadline_ms=None, status="skipped")
        quiz.current = index


def _apply_answered(state: QuizzesState, quiz: Quiz, event: Event) -> None:
    data = event.data
    run = quiz.current_run()
    student = event.actor.id
    answer_id = data.get("answer_id")
    if (
        quiz.status != "running"
        or run is None
        or run.status != "open"
        or run.opened_ts is None
        or data.get("question") != run.index
        or event.actor.role != "student"
        or not isinstance(answer_id, str)
        or student in run.answers  # the first answer in the log counts
        or (run.deadline_ms is not None and event.ts > run.deadline_ms)
    ):
        return
    question = quiz.questions[run.index]
    answer = _valid_logged_answer(question, data.get("answer"))
    if answer is None:
        return
    time_ms = max(0, event.ts - run.opened_ts)
    fraction = answer_fraction(question, answer)
    if quiz.mode == "timed":
        points = speed_points(question.points, fraction, time_ms, question.time_limit_s * 1000)
    else:
        points = _round_half_up(question.points * fraction)
    run.answers[student] = AnswerRecord(answer_id, answer, event.ts, time_ms, fraction, points)
    quiz.players.setdefault(student, Player(student))
    if event.actor.name:
        # The roster's name events come first and win (a rename, "Ali 2").
        state.names.setdefault(student, event.actor.name)


def _valid_logged_answer(question: Question, answer: object) -> QuizAnswerValue | None:
    """The logged answer if it fits the question, else None (so apply never crashes)."""
    if isinstance(answer, bool):
        return None
    if isinstance(question, ChoiceQuestion) and question.type == "multiple":
        if not isinstance(answer, list) or not answer:
            return None
        picked = [o for o in answer if type(o) is int and 0 <= o < len(question.options)]
        return picked if len(picked) == len(answer) == len(set(answer)) else None
    if isinstance(question, ChoiceQuestion | TrueFalseQuestion):
        count = len(question.options) if isinstance(question, ChoiceQuestion) else 2
        return answer if isinstance(answer, int) and 0 <= answer < count else None
    if isinstance(question, NumericQuestion):
        ok = isinstance(answer, int | float) and abs(answer) <= MAX_NUMBER
        return float(answer) if ok and isinstance(answer, int | float) else None
    ok = isinstance(answer, str) and 0 < len(answer) <= MAX_ANSWER_CHARS
    return answer if ok and isinstance(answer, str) else None


def _apply_closed(state: QuizzesState, quiz: Quiz, event: Event) -> None:
    run = quiz.current_run()
    if run is None or run.status != "open" or event.data.get("question") != run.index:
        return
    for student, (points, bonus, streak) in _close_outcome(quiz, run).items():
        player = quiz.players[student]
        player.score += points
        player.streak = streak
        record = run.answers.get(student)
        if record is not None:
            record.bonus = bonus
            record.points = points
    run.status = "closed"


def _apply_renamed(state: QuizzesState, quiz: Quiz, event: Event) -> None:
    title = event.data.get("title")
    if event.actor.role == "teacher" and isinstance(title, str) and title:
        quiz.definition = quiz.definition.model_copy(update={"title": title})


def _apply_leaderboard(state: QuizzesState, quiz: Quiz, event: Event) -> None:
    quiz.last_leaderboard = dict(event.data)


def _apply_ended(state: QuizzesState, quiz: Quiz, event: Event) -> None:
    if quiz.status != "running":
        return
    run = quiz.current_run()
    if run is not None and run.status == "open":
        # Ended without a close event (a racing proposal): the open question is not scored.
        run.status = "skipped"
        run.answers.clear()
    quiz.status = "ended"
    quiz.final = dict(event.data)


_APPLIERS: Mapping[str, Callable[[QuizzesState, Quiz, Event], None]] = MappingProxyType(
    {
        "quiz_created": lambda state, quiz, event: None,
        "quiz_started": _apply_started,
        "quiz_renamed": _apply_renamed,
        "quiz_question_opened": _apply_opened,
        "quiz_question_skipped": _apply_skipped,
        "quiz_answered": _apply_answered,
        "quiz_question_closed": _apply_closed,
        "quiz_leaderboard": _apply_leaderboard,
        "quiz_ended": _apply_ended,
    }
)


def replay(events: Iterable[Event]) -> QuizzesState:
    """Fold a whole event list (e.g. a recorded lesson) into a fresh projection."""
    # Imported here: the timeline folds through classroom.lesson, which imports this module.
    from classroom import timeline

    state: QuizzesState = timeline.fold(events, features={"quizzes"}).part("quizzes")
    return state


# --- read -----------------------------------------------------------------------------------


def student_result(state: QuizzesState, quiz_id: str, student_id: str) -> dict[str, Any]:
    """One student's standing: score, streak, rank and players (scores of closed questions)."""
    quiz = _get(state, quiz_id)
    board = ranking(state, quiz)
    mine = next((entry for entry in board if entry["student_id"] == student_id), None)
    return {
        "quiz_id": quiz_id,
        "score": 0 if mine is None else mine["score"],
        "streak": 0 if mine is None else mine["streak"],
        "rank": None if mine is None else mine["rank"],
        "players": len(board),
    }


def question_results(
    state: QuizzesState, quiz_id: str, question: int, students: Iterable[str] = ()
) -> dict[str, dict[str, Any]]:
    """Each student's own outcome of a closed question (``quiz_result``), by student id: the
    quiz's players, and ``students`` (the class) who have not played yet (no place)."""
    quiz = _get(state, quiz_id)
    run = quiz.runs.get(question)
    if run is None or run.status != "closed":
        return {}
    board = ranking(state, quiz)
    results: dict[str, dict[str, Any]] = {}
    for entry in board:
        record = run.answers.get(entry["student_id"])
        results[entry["student_id"]] = {
            "quiz_id": quiz_id,
            "question": question,
            "answered": record is not None,
            "correct": record is not None and record.fraction == 1,
            "points": 0 if record is None else record.points,
            "score": entry["score"],
            "rank": entry["rank"],
            "players": len(board),
        }
    for student_id in students:
        results.setdefault(
            student_id,
            {
                "quiz_id": quiz_id,
                "question": question,
                "answered": False,
                "correct": False,
                "points": 0,
                "score": 0,
                "rank": None,
                "players": len(board),
            },
        )
    return results


def snapshot(state: QuizzesState, viewer: Actor) -> dict[str, Any]:
    """What ``viewer`` may see. Teachers: everything. Students and boards: started quizzes,
    the current question without its answer until it closes, and (students) only their own
    answers and standing."""
    quizzes: list[dict[str, Any]] = []
    for quiz in state.quizzes.values():
        if viewer.role != "teacher" and quiz.status == "ready":
            continue
        view: dict[str, Any] = {
            "quiz_id": quiz.quiz_id,
            "title": quiz.definition.title,
            "status": quiz.status,
            "mode": quiz.mode,
            "questions": len(quiz.questions),
            "current": _current_view(quiz, viewer),
            "leaderboard": _renamed(quiz.last_leaderboard, state.names),
            "final": _renamed(quiz.final, state.names),
        }
        if viewer.role == "teacher":
            view["definition"] = quiz.definition.model_dump(mode="json")
            view["ranking"] = ranking(state, quiz)
        elif viewer.role == "student":
            view["me"] = student_result(state, quiz.quiz_id, viewer.id)
            view["my_answers"] = _own_answers(quiz, viewer.id)
        quizzes.append(view)
    return {"quizzes": quizzes}


def _renamed(board: dict[str, Any] | None, names: Mapping[str, str]) -> dict[str, Any] | None:
    """A logged leaderboard or podium with each student's name as it is now (renamed since)."""
    if board is None:
        return None
    out = dict(board)
    for key in ("top", "podium"):
        rows = board.get(key)
        if isinstance(rows, list):
            out[key] = [
                {**row, "name": names.get(row.get("student_id", ""), row.get("name", ""))}
                if isinstance(row, dict)
                else row
                for row in rows
            ]
    return out


def _current_view(quiz: Quiz, viewer: Actor) -> dict[str, Any] | None:
    run = quiz.current_run()
    if run is None:
        return None
    question = quiz.questions[run.index]
    view: dict[str, Any] = {
        "question": run.index,
        **public_question(question),
        "status": run.status,
        "opened_ms": run.opened_ts,
        "deadline_ms": run.deadline_ms,
        "answered": len(run.answers),
    }
    if run.status == "closed" or viewer.role == "teacher":
        view["correct"] = reveal(question)
        view["distribution"] = distribution(question, run)
    return view


def _own_answers(quiz: Quiz, student_id: str) -> list[dict[str, Any]]:
    mine: list[dict[str, Any]] = []
    for index, run in sorted(quiz.runs.items()):
        record = run.answers.get(student_id)
        if record is None:
            continue
        entry: dict[str, Any] = {
            "question": index,
            "answer_id": record.answer_id,
            "answer": record.answer,
        }
        if run.status == "closed":
            entry["correct"] = record.fraction == 1
            entry["points"] = record.points
        mine.append(entry)
    return mine
