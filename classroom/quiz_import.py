"""Read quiz files teachers write (CSV from a spreadsheet, JSON, YAML) into a QuizDefinition.

Errors name where the problem is, as the teacher sees it: ``row 4, column 'correct'`` for a
spreadsheet (row 1 holds the column names, so the first question is row 2), ``question 3,
field 'options'`` for JSON and YAML. Nothing is returned unless the whole file is valid.
The layout is documented in ``docs/quiz-format.md`` (English and Urdu).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from types import MappingProxyType
from typing import Any, Literal, NoReturn

import yaml
from pydantic import TypeAdapter, ValidationError

from classroom.errors import InvalidPayload, PayloadTooLarge
from classroom.protocol.quizzes import (
    DEFAULT_POINTS,
    DEFAULT_TIME_LIMIT_S,
    MAX_NUMBER,
    MAX_OPTIONS,
    MAX_POINTS,
    MAX_QUESTIONS,
    MAX_TIME_LIMIT_S,
    MAX_TITLE_CHARS,
    MIN_TIME_LIMIT_S,
    ChoiceQuestion,
    NumericQuestion,
    Question,
    QuizDefinition,
    ShortTextQuestion,
    TrueFalseQuestion,
)
from classroom.quizzes import parse_number

QuizFormat = Literal["csv", "json", "yaml"]

MAX_IMPORT_BYTES = 1_000_000
# A quiz document is four levels deep (quiz, questions, question, options); anything far deeper
# is not a quiz, and deep enough nesting exhausts the parsers' recursion.
MAX_DOCUMENT_DEPTH = 16
MAX_PROBLEM_CHARS = 300
OPTION_LETTERS = "ABCDEFGHIJ"[:MAX_OPTIONS]
OPTION_COLUMNS: tuple[str, ...] = tuple(f"option_{letter.lower()}" for letter in OPTION_LETTERS)
CSV_COLUMNS: tuple[str, ...] = (
    "question",
    "type",
    *OPTION_COLUMNS,
    "correct",
    "time_limit_s",
    "points",
    "tolerance",
    "image",
)
QUESTION_FIELDS: tuple[str, ...] = (
    "question",
    "type",
    "options",
    "correct",
    "time_limit_s",
    "points",
    "tolerance",
    "image",
)

_EXTENSIONS: Mapping[str, QuizFormat] = MappingProxyType(
    {
        "csv": "csv",
        "tsv": "csv",
        "txt": "csv",
        "json": "json",
        "yaml": "yaml",
        "yml": "yaml",
    }
)
_TYPE_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "single": "single",
        "single_choice": "single",
        "mcq": "single",
        "multiple": "multiple",
        "multiple_choice": "multiple",
        "true_false": "true_false",
        "truefalse": "true_false",
        "tf": "true_false",
        "numeric": "numeric",
        "number": "numeric",
        "short_text": "short_text",
        "text": "short_text",
    }
)
_HEADER_ALIASES: Mapping[str, str] = MappingProxyType(
    {"time_limit": "time_limit_s", "time_s": "time_limit_s", "seconds": "time_limit_s"}
)
_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "درست", "صحیح", "سچ", "ہاں", "صحيح"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "غلط", "جھوٹ", "نہیں"})
# Separators between option letters: comma, Urdu comma, semicolon, slash, plus, ampersand, space.
_LETTER_SPLIT = re.compile(r"[\s,;،؛/+&]+")

_QUESTION_ADAPTER: TypeAdapter[Question] = TypeAdapter(Question)


@dataclass(frozen=True, slots=True)
class _Where:
    """Names a place in the file: a spreadsheet row or a question of a JSON/YAML document."""

    row: int | None = None
    question: int | None = None

    def fail(self, column: str, problem: str) -> NoReturn:
        """Raise InvalidPayload naming this place and ``column``."""
        if len(problem) > MAX_PROBLEM_CHARS:  # it may quote a cell of the file: keep it short
            problem = problem[: MAX_PROBLEM_CHARS - 1] + "…"
        column = column[:MAX_PROBLEM_CHARS]
        if self.row is not None:
            raise InvalidPayload(
                f"row {self.row}, column '{column}': {problem}", field=f"rows[{self.row}].{column}"
            )
        index = self.question or 0
        raise InvalidPayload(
            f"question {index + 1}, field '{column}': {problem}",
            field=f"questions[{index}].{column}",
        )


# --- entry point ----------------------------------------------------------------------------


def detect_format(filename_or_format: str) -> QuizFormat:
    """The format named (``csv``, ``json``, ``yaml``) or implied by a file name's extension."""
    name = filename_or_format.strip().lower()
    found = _EXTENSIONS.get(name) or _EXTENSIONS.get(PurePath(name).suffix.lstrip("."))
    if found is None:
        raise InvalidPayload(
            f"cannot tell the format of {filename_or_format!r}: use a .csv, .json or .yaml file",
            field="format",
        )
    return found


def parse_quiz(data: bytes, filename_or_format: str, *, title: str | None = None) -> QuizDefinition:
    """Parse a quiz file (bytes as uploaded) into a validated QuizDefinition.

    ``filename_or_format`` is the uploaded file name (its extension picks the format) or one of
    ``csv``, ``json``, ``yaml``. ``title`` overrides the file's title; a CSV has none, so it
    defaults to the file name without extension. Raises PayloadTooLarge above 1 MB and
    InvalidPayload naming the row/question and column/field of the first problem.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(
            f"the file is {len(data)} bytes; the limit is {MAX_IMPORT_BYTES}", field="file"
        )
    fmt = detect_format(filename_or_format)
    text = decode_text(data)
    stem = PurePath(filename_or_format).stem if "." in filename_or_format else ""
    if fmt == "csv":
        questions = _questions_from_csv(text)
        doc_title = None
    else:
        document = _load_json(text) if fmt == "json" else _load_yaml(text)
        doc_title, questions = _questions_from_document(document)
    return _definition(title or doc_title or stem or "Quiz", questions)


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM, as Excel writes it) or UTF-16 with a BOM.

    Latin-1/ANSI bytes and UTF-16 without a BOM are refused with the line of the first bad byte.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise InvalidPayload(
                f"the file starts like UTF-16 but byte {error.start} is broken", field="file"
            ) from None
    if b"\x00" in data:
        raise InvalidPayload(
            "the file contains NUL bytes: it looks like UTF-16 without a byte order mark; "
            "save it as 'CSV UTF-8' (Excel) or UTF-8",
            field="file",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InvalidPayload(
            f"line {line}: byte 0x{data[error.start]:02X} is not UTF-8 (the file may be saved "
            "as ANSI/Latin-1); save it as 'CSV UTF-8' (Excel) or UTF-8",
            field="file",
        ) from None


def _definition(title: str, questions: list[Question]) -> QuizDefinition:
    title = title.strip()[:MAX_TITLE_CHARS] or "Quiz"
    if not questions:
        raise InvalidPayload("the file has no questions", field="questions")
    try:
        return QuizDefinition(title=title, questions=questions)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "quiz"
        raise InvalidPayload(f"{where}: {first['msg']}", field=where) from None


# --- CSV ------------------------------------------------------------------------------------


def _normalise_header(cell: str) -> str:
    name = re.sub(r"[^0-9a-z]+", "_", cell.strip().lower()).strip("_")
    return _HEADER_ALIASES.get(name, name)


def _pick_delimiter(first_line: str) -> str:
    """The delimiter (comma, semicolon in some Excel locales, tab) that yields a 'question'
    column in the header row."""
    for delimiter in (",", ";", "\t"):
        try:
            header = next(csv.reader([first_line], delimiter=delimiter), [])
        except csv.Error as error:
            raise InvalidPayload(
                f"row 1: the column names are malformed ({error})", field="rows[1]"
            ) from None
        if "question" in (_normalise_header(cell) for cell in header):
            return delimiter
    raise InvalidPayload(
        "row 1: the first row must name the columns, starting with 'question' "
        f"(known columns: {', '.join(CSV_COLUMNS)})",
        field="rows[1]",
    )


def _questions_from_csv(text: str) -> list[Question]:
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0].rstrip("\r")
    delimiter = _pick_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        records = list(reader)
    except csv.Error as error:
        raise InvalidPayload(
            f"row {reader.line_num}: the spreadsheet text is malformed ({error})",
            field=f"rows[{reader.line_num}]",
        ) from None
    header = [_normalise_header(cell) for cell in records[0]]
    _check_header(records[0], header)
    questions: list[Question] = []
    for offset, record in enumerate(records[1:]):
        row = offset + 2  # spreadsheet numbering: row 1 is the header
        cells = [cell.strip() for cell in record]
        if not any(cells):
            continue
        if len(questions) == MAX_QUESTIONS:
            raise InvalidPayload(
                f"row {row}: too many questions; a quiz has at most {MAX_QUESTIONS}",
                field=f"rows[{row}]",
            )
        if len(cells) > len(header) and any(cells[len(header) :]):
            raise InvalidPayload(
                f"row {row}: {len(cells)} cells but only {len(header)} named columns",
                field=f"rows[{row}]",
            )
        values = {name: cells[i] if i < len(cells) else "" for i, name in enumerate(header)}
        questions.append(_question_from_cells(values, _Where(row=row)))
    return questions


def _check_header(raw: list[str], header: list[str]) -> None:
    seen: set[str] = set()
    for position, (cell, name) in enumerate(zip(raw, header, strict=True)):
        if not name:
            if not any(header[position:]):
                continue  # Excel's trailing empty columns
            raise InvalidPayload(
                f"row 1: column {position + 1} has no name", field=f"rows[1][{position}]"
            )
        if name not in CSV_COLUMNS:
            raise InvalidPayload(
                f"row 1, column '{cell.strip()}': unknown column; "
                f"known columns: {', '.join(CSV_COLUMNS)}",
                field=f"rows[1].{cell.strip()}",
            )
        if name in seen:
            raise InvalidPayload(f"row 1, column '{name}': appears twice", field=f"rows[1].{name}")
        seen.add(name)
    if "correct" not in seen:
        raise InvalidPayload("row 1: the 'correct' column is missing", field="rows[1].correct")


def _question_from_cells(values: dict[str, str], where: _Where) -> Question:
    options: list[str] = []
    gap: str | None = None
    for column in OPTION_COLUMNS:
        cell = values.get(column, "")
        if cell and gap is not None:
            where.fail(gap, f"empty, but {column} is filled; fill options from A without gaps")
        if cell:
            options.append(cell)
        elif gap is None:
            gap = column
    fields: dict[str, object] = {
        name: values.get(name, "") for name in QUESTION_FIELDS if name != "options"
    }
    fields["options"] = options
    return _question(fields, where, option_field=lambda i: OPTION_COLUMNS[i])


# --- JSON and YAML --------------------------------------------------------------------------


def _reject_constant(name: str) -> NoReturn:
    raise InvalidPayload(f"JSON: {name} is not a number a quiz can use", field="file")


def _too_deep() -> InvalidPayload:
    return InvalidPayload(
        f"the file nests lists or objects more than {MAX_DOCUMENT_DEPTH} deep; "
        "a quiz is 'title' and a list of 'questions'",
        field="file",
    )


def _load_json(text: str) -> object:
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise InvalidPayload(
            f"line {error.lineno}, column {error.colno}: not valid JSON ({error.msg})",
            field="file",
        ) from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError as error:  # an integer beyond Python's int/str digit limit
        raise InvalidPayload(f"not a usable JSON file ({error})", field="file") from None
    if _depth(document) > MAX_DOCUMENT_DEPTH:
        raise _too_deep()
    return document


def _depth(document: object) -> int:
    """How deeply lists and objects nest in ``document`` (iterative: no recursion limit)."""
    deepest = 0
    pending: list[tuple[object, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DOCUMENT_DEPTH:
                children = value.values() if isinstance(value, dict) else value
                pending.extend((child, depth + 1) for child in children)
    return deepest


# libyaml's parser when PyYAML has it (about 10x faster), otherwise the pure Python one.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> object:
    """Load a YAML quiz without aliases and without deep nesting.

    The events are checked first, before any object is built: an alias (``*name``) is how a
    small file expands into a huge document (a 1 MB file of them took 4-10 s), and a quiz
    never needs one.
    """
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_YAML_LOADER):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark is not None else 0
                raise InvalidPayload(
                    f"line {line}: YAML aliases (*name) are not allowed in a quiz file; "
                    "write the text out",
                    field="file",
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DOCUMENT_DEPTH:
                    raise _too_deep()
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader; events checked above
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f"line {mark.line + 1}: " if mark is not None else ""
        raise InvalidPayload(f"{place}not valid YAML ({error})", field="file") from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError as error:  # an integer beyond Python's int/str digit limit
        raise InvalidPayload(f"not a usable YAML file ({error})", field="file") from None


def _questions_from_document(document: object) -> tuple[str | None, list[Question]]:
    """Questions from ``{"title": ..., "questions": [...]}`` or a bare list of questions."""
    title: str | None = None
    if isinstance(document, dict):
        unknown = sorted(str(key) for key in document if key not in ("title", "questions"))
        if unknown:
            raise InvalidPayload(
                f"unknown field '{unknown[0]}'; a quiz has 'title' and 'questions'",
                field=unknown[0],
            )
        raw_title = document.get("title")
        if raw_title is not None and not isinstance(raw_title, str | int | float):
            raise InvalidPayload("'title' must be text", field="title")
        title = None if raw_title is None else str(raw_title)
        items = document.get("questions")
    else:
        items = document
    if not isinstance(items, list) or not items:
        raise InvalidPayload("'questions' must be a non-empty list", field="questions")
    if len(items) > MAX_QUESTIONS:
        raise InvalidPayload(
            f"question {MAX_QUESTIONS + 1}: too many questions; a quiz has at most {MAX_QUESTIONS}",
            field=f"questions[{MAX_QUESTIONS}]",
        )
    questions: list[Question] = []
    for index, item in enumerate(items):
        where = _Where(question=index)
        if not isinstance(item, dict):
            where.fail("question", "each question must be an object with named fields")
        for key in item:
            if key not in QUESTION_FIELDS:
                where.fail(str(key), f"unknown field; known fields: {', '.join(QUESTION_FIELDS)}")
        options = item.get("options", [])
        if options is None:
            options = []
        if not isinstance(options, list):
            where.fail("options", "must be a list")
        if len(options) > MAX_OPTIONS:
            where.fail("options", f"at most {MAX_OPTIONS} options")
        texts = [_text(value, where, f"options[{i}]") for i, value in enumerate(options)]
        for i, text in enumerate(texts):
            if not text:
                where.fail(f"options[{i}]", "empty option")
        fields = {name: item.get(name) for name in QUESTION_FIELDS}
        fields["options"] = texts
        questions.append(_question(fields, where, option_field=lambda i: f"options[{i}]"))
    return title, questions


def _text(value: object, where: _Where, column: str) -> str:
    """A scalar as text; YAML's yes/no/true/false become booleans, so those must be quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        where.fail(column, f"{value!r} was read as yes/no; put the text in quotes")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    where.fail(column, "must be text")


# --- one question, from either source ----------------------------------------------------------


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _question(
    fields: dict[str, object], where: _Where, *, option_field: Callable[[int], str]
) -> Question:
    """Build and validate one question from raw field values (CSV cells or JSON/YAML values)."""
    text = _text(fields.get("question"), where, "question")
    if not text:
        where.fail("question", "empty; every question needs its text")
    options = fields.get("options")
    option_texts = [str(o) for o in options] if isinstance(options, list) else []
    kind = _kind(fields.get("type"), fields.get("correct"), option_texts, where)
    question: dict[str, Any] = {"type": kind, "question": text}
    correct = fields.get("correct")
    if _is_blank(correct):
        where.fail("correct", "empty; say which answer is correct")
    if kind in ("single", "multiple"):
        if len(option_texts) < 2:
            where.fail(option_field(len(option_texts)), f"a {kind} question needs 2+ options")
        folded = [option.casefold() for option in option_texts]
        for index, option in enumerate(folded):
            if option in folded[:index]:
                where.fail(option_field(index), "same as an earlier option; options must differ")
        question["options"] = option_texts
        question["correct"] = _letters(correct, len(option_texts), kind, where)
    elif option_texts:
        where.fail(option_field(0), f"a {kind} question takes no options")
    if kind == "true_false":
        question["correct"] = _truth(correct, where)
    elif kind == "numeric":
        question["correct"] = _number(correct, where, "correct")
        if not _is_blank(fields.get("tolerance")):
            tolerance = _number(fields.get("tolerance"), where, "tolerance")
            if tolerance < 0:
                where.fail("tolerance", "must not be negative")
            question["tolerance"] = tolerance
    elif kind == "short_text":
        question["correct"] = _accepted(correct, where)
    if kind != "numeric" and not _is_blank(fields.get("tolerance")):
        where.fail("tolerance", "only numeric questions take a tolerance")
    question["time_limit_s"] = _whole(
        fields.get("time_limit_s"),
        where,
        "time_limit_s",
        DEFAULT_TIME_LIMIT_S,
        MIN_TIME_LIMIT_S,
        MAX_TIME_LIMIT_S,
    )
    question["points"] = _whole(
        fields.get("points"), where, "points", DEFAULT_POINTS, 0, MAX_POINTS
    )
    if not _is_blank(fields.get("image")):
        question["image"] = _text(fields.get("image"), where, "image")
    try:
        return _QUESTION_ADAPTER.validate_python(question)
    except ValidationError as error:
        first = error.errors()[0]
        loc = [part for part in first["loc"] if part not in (kind, "function-after")]
        column = str(loc[0]) if loc else "question"
        if column == "options" and len(loc) > 1 and isinstance(loc[1], int):
            column = option_field(loc[1])
        where.fail(column, str(first["msg"]).removeprefix("Value error, "))


def _kind(raw: object, correct: object, options: list[str], where: _Where) -> str:
    if _is_blank(raw):
        if not options:
            where.fail("type", "empty; say single, multiple, true_false, numeric or short_text")
        many = len(_letter_tokens(correct)) > 1
        return "multiple" if many else "single"
    name = re.sub(r"[^0-9a-z]+", "_", str(raw).strip().lower()).strip("_")
    kind = _TYPE_ALIASES.get(name)
    if kind is None:
        where.fail(
            "type", f"{raw!r} is not one of single, multiple, true_false, numeric, short_text"
        )
    return kind


def _letter_tokens(raw: object) -> list[object]:
    """Split 'A, C', 'A،C', 'AC' or ['A', 'C'] into single tokens (not yet checked)."""
    if isinstance(raw, list):
        return [t.strip() if isinstance(t, str) else t for t in raw]
    if isinstance(raw, str):
        tokens = [t for t in _LETTER_SPLIT.split(raw.strip()) if t]
        if len(tokens) == 1 and 1 < len(tokens[0]) <= MAX_OPTIONS and tokens[0].isascii():
            return list(tokens[0])  # "AC"
        return list(tokens)
    return [raw]


def _letters(raw: object, count: int, kind: str, where: _Where) -> list[int]:
    """Option letters ('B', 'A,C', 'AC', ['A', 'C']) as 0-based indexes."""
    last = OPTION_LETTERS[count - 1]
    indexes: list[int] = []
    for token in _letter_tokens(raw):
        if not isinstance(token, str) or len(token) != 1 or token.upper() not in OPTION_LETTERS:
            where.fail("correct", f"{token!r} is not an option letter A-{last}")
        index = OPTION_LETTERS.index(token.upper())
        if index >= count:
            where.fail("correct", f"'{token.upper()}' is not one of the options A-{last}")
        if index in indexes:
            where.fail("correct", f"'{token.upper()}' is listed twice")
        indexes.append(index)
    if not indexes:
        where.fail("correct", "empty; say which option letter is correct")
    if kind == "single" and len(indexes) > 1:
        where.fail("correct", "a single choice question has one correct option; use 'multiple'")
    return sorted(indexes)


def _truth(raw: object, where: _Where) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().casefold()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    where.fail("correct", f"{raw!r} is not true or false (درست / غلط)")


def _number(raw: object, where: _Where, column: str) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            number: float | None = float(raw)
        except OverflowError:
            number = None
        if number is None or not math.isfinite(number) or abs(number) > MAX_NUMBER:
            where.fail(column, f"must be a number of at most {MAX_NUMBER:g} in size")
        return number
    number = parse_number(raw) if isinstance(raw, str) else None
    if number is None:
        where.fail(column, f"{raw!r} is not a number")
    return number


def _whole(raw: object, where: _Where, column: str, default: int, low: int, high: int) -> int:
    if _is_blank(raw):
        return default
    number = _number(raw, where, column)
    if number != int(number) or not low <= number <= high:
        where.fail(column, f"{raw!r} must be a whole number from {low} to {high}")
    return int(number)


def _accepted(raw: object, where: _Where) -> list[str]:
    """Accepted answers: a list, or text with answers separated by '|'."""
    values = (
        raw if isinstance(raw, list) else str(raw).split("|") if isinstance(raw, str) else [raw]
    )
    answers = [_text(value, where, "correct") for value in values]
    answers = [answer for answer in answers if answer]
    if not answers:
        where.fail("correct", "empty; list the accepted answers separated by '|'")
    return answers


# --- writing ---------------------------------------------------------------------------------


def quiz_to_csv(definition: QuizDefinition) -> bytes:
    """Write a quiz in the spreadsheet layout (UTF-8 with BOM, so Excel shows Urdu correctly)."""
    widest = max(
        (len(q.options) for q in definition.questions if isinstance(q, ChoiceQuestion)), default=0
    )
    option_columns = OPTION_COLUMNS[: max(widest, 4)]
    header = ["question", "type", *option_columns, "correct", "time_limit_s", "points"]
    header += ["tolerance", "image"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for question in definition.questions:
        options = list(question.options) if isinstance(question, ChoiceQuestion) else []
        tolerance = ""
        if isinstance(question, ChoiceQuestion):
            correct = ",".join(OPTION_LETTERS[i] for i in question.correct)
        elif isinstance(question, TrueFalseQuestion):
            correct = "true" if question.correct else "false"
        elif isinstance(question, NumericQuestion):
            correct = _plain_number(question.correct)
            tolerance = _plain_number(question.tolerance) if question.tolerance else ""
        elif isinstance(question, ShortTextQuestion):
            correct = "|".join(question.correct)
        options += [""] * (len(option_columns) - len(options))
        writer.writerow(
            [
                question.question,
                question.type,
                *options,
                correct,
                question.time_limit_s,
                question.points,
                tolerance,
                question.image or "",
            ]
        )
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def _plain_number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)
