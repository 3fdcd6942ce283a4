"""Quiz import: the documented samples, Excel's encodings, and errors that name row and field."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from classroom.errors import InvalidPayload, PayloadTooLarge
from classroom.protocol.quizzes import (
    ChoiceQuestion,
    NumericQuestion,
    QuizCreate,
    ShortTextQuestion,
    TrueFalseQuestion,
)
from classroom.quiz_import import MAX_IMPORT_BYTES, parse_quiz, quiz_to_csv

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = "question,type,option_a,option_b,option_c,correct,time_limit_s,points,tolerance,image\n"


def csv_error(body: str, header: str = HEADER) -> InvalidPayload:
    with pytest.raises(InvalidPayload) as caught:
        parse_quiz((header + body).encode(), "quiz.csv")
    return caught.value


def test_the_three_english_samples_are_the_same_quiz() -> None:
    from_csv = parse_quiz((SAMPLES / "quiz.csv").read_bytes(), "quiz.csv")
    from_yaml = parse_quiz((SAMPLES / "quiz.yaml").read_bytes(), "quiz.yaml")
    from_json = parse_quiz((SAMPLES / "quiz.json").read_bytes(), "quiz.json")
    assert from_csv.title == "quiz"  # a CSV has no title: the file name is used
    assert from_yaml == from_json
    assert from_csv.questions == from_yaml.questions
    first, multiple, truth, provinces, boiling, capital, picture = from_csv.questions
    assert isinstance(first, ChoiceQuestion) and first.correct == [1]
    assert first.options == ["54", "56", "64", "48"] and first.time_limit_s == 20
    assert isinstance(multiple, ChoiceQuestion) and multiple.correct == [0, 2]
    assert isinstance(truth, TrueFalseQuestion) and truth.correct is True
    assert isinstance(provinces, NumericQuestion) and provinces.correct == 4
    assert isinstance(boiling, NumericQuestion) and boiling.tolerance == 1
    assert isinstance(capital, ShortTextQuestion)
    assert capital.correct == ["Islamabad", "اسلام آباد"]
    assert picture.image == "circle.png" and picture.points == 500
    # What the server receives in quiz_create is exactly this JSON form.
    QuizCreate.model_validate({"client_id": "qc", "quiz": json.loads(from_csv.model_dump_json())})


def test_urdu_csv_round_trips() -> None:
    data = (SAMPLES / "quiz-ur.csv").read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    quiz = parse_quiz(data, "quiz-ur.csv", title="عام معلومات")
    assert quiz.questions[0].question == "سات ضرب آٹھ کتنے ہوتے ہیں؟"
    assert isinstance(quiz.questions[2], TrueFalseQuestion) and quiz.questions[2].correct is True
    assert isinstance(quiz.questions[3], NumericQuestion) and quiz.questions[3].correct == 4
    written = quiz_to_csv(quiz)
    assert written.startswith(codecs.BOM_UTF8)
    assert parse_quiz(written, "csv", title="عام معلومات") == quiz


def test_csv_with_or_without_bom_and_utf16_with_bom_read_alike() -> None:
    text = HEADER + "2 + 2?,single,3,4,5,B,,,,\n"
    plain = parse_quiz(text.encode(), "quiz.csv")
    assert parse_quiz(codecs.BOM_UTF8 + text.encode(), "quiz.csv") == plain
    # Excel's "Unicode Text" is UTF-16 with a BOM and tab-separated.
    assert parse_quiz(text.replace(",", "\t").encode("utf-16"), "quiz.txt") == plain
    # Some Excel locales separate with semicolons.
    assert parse_quiz(text.replace(",", ";").encode(), "quiz.csv") == plain


def test_bad_encodings_are_refused_with_the_line() -> None:
    latin1 = (HEADER + "Café?,single,a,b,c,A,,,,\n").encode("latin-1")
    with pytest.raises(InvalidPayload) as caught:
        parse_quiz(latin1, "quiz.csv")
    assert caught.value.message.startswith("line 2: byte 0xE9 is not UTF-8")
    assert caught.value.field == "file"
    with pytest.raises(InvalidPayload) as utf16:
        parse_quiz((HEADER + "x,single,a,b,c,A,,,,\n").encode("utf-16-le"), "quiz.csv")
    assert "UTF-16 without a byte order mark" in utf16.value.message


def test_correct_letter_outside_the_options_names_row_and_column() -> None:
    error = csv_error(
        "First?,single,a,b,c,A,,,,\nSecond?,single,a,b,,B,,,,\nThird?,single,a,b,c,E,,,,\n"
    )
    assert error.message == "row 4, column 'correct': 'E' is not one of the options A-C"
    assert error.field == "rows[4].correct"
    assert error.code == "INVALID_PAYLOAD"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (",single,a,b,c,A,,,,\n", "rows[2].question", "empty"),
        ("Q?,single,a,,c,A,,,,\n", "rows[2].option_b", "without gaps"),
        ('Q?,single,a,b,c,"A,B",,,,\n', "rows[2].correct", "use 'multiple'"),
        ("Q?,multi,a,b,c,A,,,,\n", "rows[2].type", "is not one of"),
        ("Q?,single,a,b,c,,,,,\n", "rows[2].correct", "empty"),
        ("Q?,single,a,b,c,A,3,,,\n", "rows[2].time_limit_s", "from 5 to 600"),
        ("Q?,single,a,b,c,A,,lots,,\n", "rows[2].points", "not a number"),
        ("Q?,numeric,,,,ten,,,,\n", "rows[2].correct", "not a number"),
        ("Q?,numeric,,,,10,,,-1,\n", "rows[2].tolerance", "negative"),
        ("Q?,single,a,b,c,A,,,1,\n", "rows[2].tolerance", "only numeric"),
        ("Q?,true_false,,,,maybe,,,,\n", "rows[2].correct", "not true or false"),
        ("Q?,true_false,a,b,,true,,,,\n", "rows[2].option_a", "no options"),
        ("Q?,single,a,b,c,A,,,,../secret.png\n", "rows[2].image", "'..'"),
        ("Q?,single,a,A,c,A,,,,\n", "rows[2].option_b", "must differ"),
        ("Q?,single,a,b,c,A,,,,,extra\n", "rows[2]", "cells"),
    ],
)
def test_row_errors_name_the_row_and_column(body: str, field: str, words: str) -> None:
    error = csv_error(body)
    assert error.field == field
    assert words in error.message
    assert error.message.startswith(field.replace("rows[", "row ").split("]")[0])


def test_wrong_columns_are_named() -> None:
    unknown = csv_error("Q?,A\n", header="question,answer\n")
    assert unknown.field == "rows[1].answer" and "unknown column" in unknown.message
    missing = csv_error("Q?,single\n", header="question,type\n")
    assert missing.field == "rows[1].correct"
    no_header = csv_error("", header="foo,bar\n")
    assert no_header.field == "rows[1]"


def test_limits_on_rows_and_size() -> None:
    rows = "".join(f"Question {i}?,single,a,b,c,A,,,,\n" for i in range(101))
    error = csv_error(rows)
    assert error.field == "rows[102]" and "at most 100" in error.message
    blank_lines = "Q?,single,a,b,c,A,,,,\n" + ",,,,,,,,,\n" * 5
    assert len(parse_quiz((HEADER + blank_lines).encode(), "csv").questions) == 1
    with pytest.raises(PayloadTooLarge):
        parse_quiz(b" " * (MAX_IMPORT_BYTES + 1), "quiz.csv")
    with pytest.raises(InvalidPayload) as empty:
        parse_quiz(HEADER.encode(), "quiz.csv")
    assert empty.value.field == "questions"


def test_json_and_yaml_errors_name_question_and_field() -> None:
    doc = {"title": "T", "questions": [
        {"question": "a?", "type": "single", "options": ["x", "y"], "correct": "A"},
        {"question": "b?", "type": "single", "options": ["x", "y"], "correct": "C"},
    ]}  # fmt: skip
    with pytest.raises(InvalidPayload) as caught:
        parse_quiz(json.dumps(doc).encode(), "json")
    assert caught.value.field == "questions[1].correct"
    assert caught.value.message == "question 2, field 'correct': 'C' is not one of the options A-B"
    with pytest.raises(InvalidPayload) as yes_no:
        parse_quiz(
            b"questions:\n  - question: Agree?\n    type: single\n"
            b"    options: [yes, no]\n    correct: A\n",
            "quiz.yaml",
        )
    assert yes_no.value.field == "questions[0].options[0]" and "quotes" in yes_no.value.message
    with pytest.raises(InvalidPayload) as broken:
        parse_quiz(b'{"questions": [', "quiz.json")
    assert broken.value.message.startswith("line 1")
    with pytest.raises(InvalidPayload) as nan:
        parse_quiz(b'{"questions": [{"question": "x", "type": "numeric", "correct": NaN}]}', "json")
    assert "NaN" in nan.value.message
    with pytest.raises(InvalidPayload) as extra:
        parse_quiz(b'{"questions": [{"question": "x", "typo": 1}]}', "json")
    assert extra.value.field == "questions[0].typo"
    with pytest.raises(InvalidPayload) as unknown_format:
        parse_quiz(b"{}", "quiz.docx")
    assert unknown_format.value.field == "format"
