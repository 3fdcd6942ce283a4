"""Lesson reports: quiz results per student, item analysis per question, poll results.

Pure functions of the projections (``PollsState``, ``QuizzesState``); to report on a recorded
lesson, fold its events first with :func:`from_events` (a :mod:`classroom.timeline` fold). JSON
forms are plain dicts; CSV forms are UTF-8 bytes with a BOM and CRLF line ends so Excel opens
Urdu names correctly. Text typed by students is guarded against spreadsheet formula injection (a
leading ``= + - @`` gets a ``'``). Anonymous polls report totals only, never who answered what.
CSV headings and the words the server itself writes (kinds, statuses, yes/no, true/false) are in
the teacher's language (``lang``: ``en`` or ``ur``); what people typed is kept as typed, and
numbers stay numbers a spreadsheet can sum.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from classroom import polls, quizzes, timeline
from classroom.errors import NotFound
from classroom.log import Event
from classroom.polls import Poll, PollsState
from classroom.protocol.quizzes import (
    TRUE_FALSE_OPTIONS,
    ChoiceQuestion,
    NumericQuestion,
    Question,
    TrueFalseQuestion,
)
from classroom.quizzes import Quiz, QuizAnswerValue, QuizzesState

OPTION_LETTERS = "ABCDEFGHIJ"
TOP_TYPED_ANSWERS = 10
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None
LANGS = ("en", "ur")

# The words of the CSV reports in Urdu (the English are the keys themselves, made readable).
_URDU = {
    "rank": "پوزیشن",
    "student_id": "طالب علم کی شناخت",
    "name": "نام",
    "score": "نمبر",
    "correct": "درست",
    "answered": "جواب دیے",
    "question": "سوال",
    "text": "عبارت",
    "type": "قسم",
    "status": "حالت",
    "share_correct": "درست کا تناسب",
    "mean_time_s": "اوسط وقت (سیکنڈ)",
    "distribution": "تقسیم",
    "poll_id": "رائے شماری کی شناخت",
    "kind": "قسم",
    "anonymous": "گمنام",
    "answer": "جواب",
    "count": "تعداد",
    "responses": "جوابات",
    "closed": "بند",
    "open": "کھلا",
    "skipped": "چھوڑا گیا",
    "not_asked": "نہیں پوچھا گیا",
    "single": "ایک انتخاب",
    "multiple": "کئی انتخاب",
    "true_false": "درست / غلط",
    "numeric": "عدد",
    "short_text": "مختصر جواب",
    "yes_no": "ہاں / نہیں",
    "rating": "درجہ بندی",
    "word_cloud": "الفاظ کا بادل",
    "open_text": "کھلا جواب",
    "true": "درست",
    "false": "غلط",
    "yes": "ہاں",
    "no": "نہیں",
}


def _w(word: str, lang: str) -> str:
    """A word the server writes, in the report's language."""
    return _URDU.get(word, word) if lang == "ur" else word


def _question_heading(number: int, what: str, lang: str) -> str:
    if lang == "ur":
        return f"سوال {number} {'کا جواب' if what == 'answer' else 'کے نمبر'}"
    return f"q{number}_{what}"


def from_events(events: Iterable[Event]) -> tuple[PollsState, QuizzesState]:
    """Fold a lesson's events into the poll and quiz projections reports read."""
    state = timeline.fold(events, features={"polls", "quizzes"})
    poll_state: PollsState = state.part("polls")
    quiz_state: QuizzesState = state.part("quizzes")
    return poll_state, quiz_state


# --- quizzes --------------------------------------------------------------------------------


def _quiz(state: QuizzesState, quiz_id: str) -> Quiz:
    quiz = state.quizzes.get(quiz_id)
    if quiz is None:
        raise NotFound(f"no quiz {quiz_id!r}", field="quiz_id")
    return quiz


def describe_quiz_answer(question: Question, answer: QuizAnswerValue) -> str | float:
    """An answer as a teacher reads it: option letters, true/false, the number or the text."""
    if isinstance(question, ChoiceQuestion):
        picked = answer if isinstance(answer, list) else [answer]
        return ",".join(OPTION_LETTERS[i] for i in picked if isinstance(i, int))
    if isinstance(question, TrueFalseQuestion):
        return TRUE_FALSE_OPTIONS[answer] if isinstance(answer, int) else str(answer)
    if isinstance(question, NumericQuestion) and isinstance(answer, int | float):
        return answer
    return str(answer)


def quiz_student_results(state: QuizzesState, quiz_id: str) -> list[dict[str, Any]]:
    """Per student, best first: rank, id, name, score, questions fully correct, answered, and
    per asked question the answer, whether fully correct, credit (0..1), points and time."""
    quiz = _quiz(state, quiz_id)
    results: list[dict[str, Any]] = []
    for entry in quizzes.ranking(state, quiz):
        student = entry["student_id"]
        answers: list[dict[str, Any]] = []
        for index, run in sorted(quiz.runs.items()):
            record = run.answers.get(student)
            if record is None or run.status == "skipped":
                continue
            question = quiz.questions[index]
            answers.append(
                {
                    "question": index + 1,
                    "answer": describe_quiz_answer(question, record.answer),
                    "correct": record.fraction == 1,
                    "credit": round(float(record.fraction), 4),
                    "points": record.points,
                    "time_ms": record.time_ms,
                }
            )
        results.append(
            {
                **entry,
                "correct": sum(1 for a in answers if a["correct"]),
                "answered": len(answers),
                "answers": answers,
            }
        )
    return results


def quiz_item_analysis(state: QuizzesState, quiz_id: str) -> list[dict[str, Any]]:
    """Per question: status, how many answered, share fully correct, mean time, distribution.

    ``distribution`` maps option letters (choice), true/false, or the most common typed answers
    (normalised; numeric and short text, top 10) to counts. ``share_correct`` and
    ``mean_time_ms`` are None when nobody answered. Status is ``closed``, ``open``, ``skipped``
    or ``not_asked``.
    """
    quiz = _quiz(state, quiz_id)
    items: list[dict[str, Any]] = []
    for index, question in enumerate(quiz.questions):
        run = quiz.runs.get(index)
        records = list(run.answers.values()) if run is not None else []
        answered = len(records)
        fully = sum(1 for record in records if record.fraction == 1)
        items.append(
            {
                "question": index + 1,
                "text": question.question,
                "type": question.type,
                "status": "not_asked" if run is None else run.status,
                "answered": answered,
                "share_correct": round(fully / answered, 4) if answered else None,
                "mean_time_ms": (
                    round(sum(r.time_ms for r in records) / answered) if answered else None
                ),
                "distribution": _item_distribution(question, [r.answer for r in records]),
            }
        )
    return items


def _item_distribution(question: Question, answers: Sequence[QuizAnswerValue]) -> dict[str, int]:
    if isinstance(question, ChoiceQuestion | TrueFalseQuestion):
        labels = (
            [OPTION_LETTERS[i] for i in range(len(question.options))]
            if isinstance(question, ChoiceQuestion)
            else list(TRUE_FALSE_OPTIONS)
        )
        counts = dict.fromkeys(labels, 0)
        for answer in answers:
            for option in answer if isinstance(answer, list) else [answer]:
                if isinstance(option, int) and 0 <= option < len(labels):
                    counts[labels[option]] += 1
        return counts
    typed: Counter[str] = Counter()
    for answer in answers:
        if isinstance(answer, str):
            typed[polls.normalise_text(answer)] += 1
        elif isinstance(answer, int | float):
            typed[repr(float(answer)).removesuffix(".0")] += 1
    return dict(sorted(typed.items(), key=lambda kc: (-kc[1], kc[0]))[:TOP_TYPED_ANSWERS])


def quiz_report(state: QuizzesState, quiz_id: str) -> dict[str, Any]:
    """The whole quiz report as JSON-ready data: quiz facts, students and items."""
    quiz = _quiz(state, quiz_id)
    return {
        "quiz_id": quiz.quiz_id,
        "title": quiz.definition.title,
        "mode": quiz.mode,
        "status": quiz.status,
        "questions": len(quiz.questions),
        "players": len(quiz.players),
        "students": quiz_student_results(state, quiz_id),
        "items": quiz_item_analysis(state, quiz_id),
    }


def quiz_results_csv(state: QuizzesState, quiz_id: str, lang: str = "en") -> bytes:
    """One row per student: rank, id, name, score, correct, answered, then each question's
    answer and points (``q1_answer``, ``q1_points`` ...)."""
    quiz = _quiz(state, quiz_id)
    count = len(quiz.questions)
    words = ["rank", "student_id", "name", "score", "correct", "answered"]
    header: list[Cell] = [_w(word, lang) for word in words]
    for number in range(1, count + 1):
        header += [
            _question_heading(number, "answer", lang),
            _question_heading(number, "points", lang),
        ]
    rows: list[list[Cell]] = [header]
    for result in quiz_student_results(state, quiz_id):
        row: list[Cell] = [
            result["rank"],
            result["student_id"],
            result["name"],
            result["score"],
            result["correct"],
            result["answered"],
        ]
        by_question = {a["question"]: a for a in result["answers"]}
        for number in range(1, count + 1):
            answer = by_question.get(number)
            if answer is None:
                row += [None, None]
                continue
            said = answer["answer"]
            if isinstance(quiz.questions[number - 1], TrueFalseQuestion) and isinstance(said, str):
                said = _w(said, lang)
            row += [said, answer["points"]]
        rows.append(row)
    return _csv(rows)


def quiz_items_csv(state: QuizzesState, quiz_id: str, lang: str = "en") -> bytes:
    """One row per question: item analysis with the distribution as ``A: 3; B: 10``."""
    words = ["question", "text", "type", "status", "answered", "share_correct"]
    rows: list[list[Cell]] = [[_w(w, lang) for w in [*words, "mean_time_s", "distribution"]]]
    for item in quiz_item_analysis(state, quiz_id):
        mean = item["mean_time_ms"]
        # The language's own list separator: an Urdu reader sees "A: 3؛ B: 10".
        separator = "؛ " if lang == "ur" else "; "
        rows.append(
            [
                item["question"],
                item["text"],
                _w(item["type"], lang),
                _w(item["status"], lang),
                item["answered"],
                item["share_correct"],
                None if mean is None else round(mean / 1000, 2),
                separator.join(
                    f"{_w(label, lang) if item['type'] == 'true_false' else label}: {n}"
                    for label, n in item["distribution"].items()
                ),
            ]
        )
    return _csv(rows)


# --- polls ----------------------------------------------------------------------------------


def _poll(state: PollsState, poll_id: str) -> Poll:
    poll = state.polls.get(poll_id)
    if poll is None:
        raise NotFound(f"no poll {poll_id!r}", field="poll_id")
    return poll


def poll_report(state: PollsState, poll_id: str) -> dict[str, Any]:
    """A poll's totals, and for a named poll each student's answer (anonymous: totals only)."""
    poll = _poll(state, poll_id)
    report: dict[str, Any] = {
        **poll.definition(),
        "status": poll.status,
        "totals": polls.tally(state, poll_id),
    }
    if poll.kind == "open_text" and poll.anonymous:
        report["answers"] = sorted(str(vote.answer) for vote in poll.votes.values())
    if not poll.anonymous:
        report["students"] = [
            {
                "student_id": student,
                "name": state.names.get(student, ""),
                "answer": polls.describe_answer(poll, vote.answer),
            }
            for student, vote in sorted(poll.votes.items())
        ]
    return report


def polls_report(state: PollsState) -> list[dict[str, Any]]:
    """Every non-draft poll's report, in creation order."""
    return [
        poll_report(state, poll.poll_id) for poll in state.polls.values() if poll.status != "draft"
    ]


def poll_results_csv(state: PollsState, lang: str = "en") -> bytes:
    """One row per student, one column per named poll (its question) with their answer.

    Anonymous polls have no column: see :func:`poll_totals_csv`.
    """
    named = [p for p in state.polls.values() if not p.anonymous and p.status != "draft"]
    students = sorted({student for poll in named for student in poll.votes})
    header: list[Cell] = [
        _w("student_id", lang),
        _w("name", lang),
        *(poll.question for poll in named),
    ]
    rows: list[list[Cell]] = [header]
    for student in students:
        row: list[Cell] = [student, state.names.get(student, "")]
        for poll in named:
            vote = poll.votes.get(student)
            row.append(None if vote is None else _poll_answer(poll, vote.answer, lang))
        rows.append(row)
    return _csv(rows)


def _poll_answer(poll: Poll, answer: polls.Answer, lang: str) -> str:
    said = polls.describe_answer(poll, answer)
    return _w(said, lang) if poll.kind == "yes_no" else said


def poll_totals_csv(state: PollsState, lang: str = "en") -> bytes:
    """One row per poll answer choice (option, rating value or word) with its count."""
    words = ["poll_id", "question", "kind", "anonymous", "answer", "count"]
    rows: list[list[Cell]] = [[_w(word, lang) for word in words]]
    for poll in state.polls.values():
        if poll.status == "draft":
            continue
        anonymous = (
            _w("yes" if poll.anonymous else "no", lang)
            if lang == "ur"
            else str(poll.anonymous).lower()
        )
        facts: list[Cell] = [poll.poll_id, poll.question, _w(poll.kind, lang), anonymous]
        totals = polls.tally(state, poll.poll_id)
        if "options" in totals:
            options = totals["options"]
            if poll.kind == "yes_no":
                options = [_w(option, lang) for option in options]
            pairs = list(zip(options, totals["counts"], strict=True))
        elif poll.kind == "rating":
            pairs = [(str(v + 1), n) for v, n in enumerate(totals["counts"])]
        elif poll.kind == "word_cloud":
            pairs = [(word, n) for word, n in totals["words"]]
        else:
            pairs = [(_w("responses", lang), totals["responses"])]
        rows.extend([*facts, label, count] for label, count in pairs)
    return _csv(rows)


# --- CSV ------------------------------------------------------------------------------------


def _safe(cell: Cell) -> Cell:
    """Keep spreadsheets from running a student's text as a formula; write whole numbers plainly."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)  # "4", not "4.0", as a teacher typed it
    return cell


def _csv(rows: list[list[Cell]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if cell is None else _safe(cell) for cell in row])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
