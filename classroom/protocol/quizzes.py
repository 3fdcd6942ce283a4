"""Quiz events: the quiz definition schema, client->server payloads and the broadcasts.

Roles: the teacher creates a quiz and paces it (start, next, skip, end); students answer; the
board device does neither. Answers are logged with audience ``author``. Correct answers travel
only to teachers (``quiz_created``) until a question is closed (``quiz_question_closed``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from classroom.protocol.common import (
    STUDENT,
    TEACHER,
    Broadcast,
    BroadcastSpec,
    ClientId,
    EventSpec,
    Payload,
    ServerId,
)

MAX_QUESTIONS = 100
MIN_OPTIONS = 2
MAX_OPTIONS = 10
MAX_TITLE_CHARS = 200
MAX_QUESTION_CHARS = 500
MAX_OPTION_CHARS = 200
MAX_ACCEPTED_ANSWERS = 20
MAX_ACCEPTED_CHARS = 100
MAX_ANSWER_CHARS = 200
MAX_IMAGE_REF_CHARS = 300
MIN_TIME_LIMIT_S = 5
MAX_TIME_LIMIT_S = 600
DEFAULT_TIME_LIMIT_S = 30
MAX_POINTS = 10_000
DEFAULT_POINTS = 1000
MAX_NUMBER = 1e15

QuestionKind = Literal["single", "multiple", "true_false", "numeric", "short_text"]
QUESTION_KINDS: tuple[QuestionKind, ...] = (
    "single",
    "multiple",
    "true_false",
    "numeric",
    "short_text",
)
QuizMode = Literal["timed", "untimed"]
TRUE_FALSE_OPTIONS: tuple[str, str] = ("true", "false")


def _check_image_ref(value: str) -> str:
    """An image reference names an uploaded file or media id relative to the quiz: no paths
    outside it, no URLs (schools are offline), no control characters."""
    if value.startswith(("/", "\\")) or "\\" in value or "://" in value:
        raise ValueError("an image is a file name such as 'map.png', not a path or URL")
    if ".." in value.split("/"):
        raise ValueError("an image name may not contain '..'")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError("an image name may not contain control characters")
    return value


Title = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TITLE_CHARS, strip_whitespace=True)
]
QuestionText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS, strip_whitespace=True)
]
OptionText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_OPTION_CHARS, strip_whitespace=True)
]


def _check_accepted(value: str) -> str:
    """An accepted answer may not contain ``|``: spreadsheets use it to separate answers."""
    if "|" in value:
        raise ValueError("an accepted answer may not contain '|'")
    return value


AcceptedText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ACCEPTED_CHARS, strip_whitespace=True),
    AfterValidator(_check_accepted),
]
ImageRef = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_IMAGE_REF_CHARS, strip_whitespace=True),
    AfterValidator(_check_image_ref),
]
OptionIndex = Annotated[int, Field(ge=0, lt=MAX_OPTIONS)]
Number = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)]


class QuestionBase(Payload):
    """Fields every question has."""

    question: QuestionText
    time_limit_s: Annotated[int, Field(ge=MIN_TIME_LIMIT_S, le=MAX_TIME_LIMIT_S)] = (
        DEFAULT_TIME_LIMIT_S
    )
    points: Annotated[int, Field(ge=0, le=MAX_POINTS)] = DEFAULT_POINTS
    image: ImageRef | None = None


class ChoiceQuestion(QuestionBase):
    """Single choice (exactly one correct option) or multiple choice (one or more)."""

    type: Literal["single", "multiple"]
    options: list[OptionText] = Field(min_length=MIN_OPTIONS, max_length=MAX_OPTIONS)
    correct: list[OptionIndex] = Field(min_length=1, max_length=MAX_OPTIONS)

    @model_validator(mode="after")
    def _correct_fits_options(self) -> ChoiceQuestion:
        if len(set(self.correct)) != len(self.correct):
            raise ValueError("a correct option is listed twice")
        if any(index >= len(self.options) for index in self.correct):
            raise ValueError(f"correct options must be between 0 and {len(self.options) - 1}")
        if self.type == "single" and len(self.correct) != 1:
            raise ValueError("a single choice question has exactly one correct option")
        folded = [option.casefold() for option in self.options]
        if len(set(folded)) != len(folded):
            raise ValueError("options must be different from each other")
        return self


class TrueFalseQuestion(QuestionBase):
    """A statement that is true or false; students answer option 0 (true) or 1 (false)."""

    type: Literal["true_false"]
    correct: bool


class NumericQuestion(QuestionBase):
    """A number; answers within ``tolerance`` of ``correct`` (inclusive) are correct."""

    type: Literal["numeric"]
    correct: Number
    tolerance: Annotated[float, Field(ge=0, le=MAX_NUMBER)] = 0.0


class ShortTextQuestion(QuestionBase):
    """A short typed answer compared with each accepted answer after normalisation."""

    type: Literal["short_text"]
    correct: list[AcceptedText] = Field(min_length=1, max_length=MAX_ACCEPTED_ANSWERS)


Question = Annotated[
    ChoiceQuestion | TrueFalseQuestion | NumericQuestion | ShortTextQuestion,
    Field(discriminator="type"),
]


class QuizDefinition(Payload):
    """A whole quiz: its title and 1..100 questions, with the correct answers."""

    title: Title
    questions: list[Question] = Field(min_length=1, max_length=MAX_QUESTIONS)


class QuizCreate(Payload):
    """Create a quiz from its definition (the JSON form ``parse_quiz`` produces)."""

    quiz: QuizDefinition
    client_id: ClientId


class QuizRef(Payload):
    """Name one quiz (next, skip, end)."""

    quiz_id: ServerId
    client_id: ClientId


class QuizStart(Payload):
    """Start a quiz: ``timed`` scores speed and streaks; ``untimed`` scores correctness only."""

    quiz_id: ServerId
    mode: QuizMode = "timed"
    client_id: ClientId


class QuizRename(Payload):
    """Give a quiz a new title (shown on the big screen, in reports and exports); Urdu is
    welcome. The title is checked like every display name: 1-80 characters, no control
    characters, spaces collapsed."""

    quiz_id: ServerId
    title: Annotated[str, StringConstraints(min_length=1, max_length=4 * MAX_TITLE_CHARS)]
    client_id: ClientId


class QuizAnswer(Payload):
    """A student's answer to the question with index ``question``; exactly one answer field.

    ``option`` answers single choice and true/false (0 = true, 1 = false); ``options``
    multiple choice; ``number`` numeric (``text`` is accepted too, Urdu digits included);
    ``text`` short text. ``answer_id`` is made by the client: a retry with it is a no-op.
    """

    quiz_id: ServerId
    question: Annotated[int, Field(ge=0, lt=MAX_QUESTIONS)]
    answer_id: ClientId
    option: OptionIndex | None = None
    options: list[OptionIndex] | None = Field(default=None, min_length=1, max_length=MAX_OPTIONS)
    number: Number | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ANSWER_CHARS)] | None = None

    @model_validator(mode="after")
    def _one_answer(self) -> QuizAnswer:
        given = [
            name
            for name in ("option", "options", "number", "text")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError("set exactly one of option, options, number, text")
        return self


# --- broadcasts (log event data) -------------------------------------------------------------


class QuizCreatedData(Broadcast):
    """A quiz with its answers (audience: teachers)."""

    quiz_id: str
    quiz: dict[str, Any]


class QuizStartedData(Broadcast):
    quiz_id: str
    title: str
    mode: QuizMode
    questions: int


class QuizRenamedData(Broadcast):
    """A quiz's new title (audience: teachers until the quiz starts, then everyone)."""

    quiz_id: str
    title: str


class QuestionOpenedData(Broadcast):
    """A question as students see it. Deadline (ms epoch) = the event's ``ts`` + time_limit_ms;
    ``time_limit_ms`` is null in untimed mode."""

    quiz_id: str
    question: int
    questions: int
    type: QuestionKind
    text: str
    options: list[str]
    image: str | None
    points: int
    time_limit_ms: int | None


class QuizAnsweredData(Broadcast):
    """An answer (audience: teachers and the student); ``answer`` is normalised."""

    quiz_id: str
    question: int
    answer_id: str
    answer: int | list[int] | float | str


class QuestionClosedData(Broadcast):
    """The reveal: the correct answer, how many answered, and the answer distribution."""

    quiz_id: str
    question: int
    correct: Any
    answered: int
    distribution: list[int] | None


class QuestionSkippedData(Broadcast):
    quiz_id: str
    question: int


class LeaderboardEntry(Broadcast):
    rank: int
    student_id: str
    name: str
    score: int
    streak: int


class LeaderboardData(Broadcast):
    """The top ten after a question and how many students play."""

    quiz_id: str
    question: int
    players: int
    top: list[LeaderboardEntry]


class QuizEndedData(Broadcast):
    """The end: the podium (places 1-3, ties share a place) and the top ten."""

    quiz_id: str
    players: int
    podium: list[LeaderboardEntry]
    top: list[LeaderboardEntry]


class QuizResultData(Broadcast):
    """One student's own outcome of the question that just closed (sent to that student only)."""

    quiz_id: str
    question: int = Field(description="The question that closed, from 0.")
    answered: bool = Field(description="Whether this student answered it in time.")
    correct: bool = Field(description="Fully right (false when not answered).")
    points: int = Field(description="Points for this question, bonus included.")
    score: int = Field(description="The student's total after it.")
    rank: int | None = Field(description="Place among the players (1 = first); null: none yet.")
    players: int


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "quiz_create",
        QuizCreate,
        TEACHER,
        "Create a quiz from its definition. A question's `image` is the id of a picture this "
        "class has stored (the quiz import stores them and answers their ids); any other name "
        "is refused with PICTURE_MISSING (`field`: the name).",
        feature="quizzes",
        idempotency="quiz_create:{client_id}",
        example={
            "client_id": "create-1",
            "quiz": {
                "title": "Maths",
                "questions": [
                    {
                        "type": "single",
                        "question": "7 x 8?",
                        "options": ["54", "56"],
                        "correct": [1],
                    }
                ],
            },
        },
    ),
    EventSpec(
        "quiz_start",
        QuizStart,
        TEACHER,
        "Start a quiz at its first question.",
        feature="quizzes",
        example={"client_id": "start-1", "quiz_id": "q1", "mode": "timed"},
        idempotency="quiz_start:{client_id}",
    ),
    EventSpec(
        "quiz_next",
        QuizRef,
        TEACHER,
        "Close the open question (reveal + leaderboard), or open the next one, or end.",
        feature="quizzes",
        example={"client_id": "next-1", "quiz_id": "q1"},
        idempotency="quiz_next:{client_id}",
    ),
    EventSpec(
        "quiz_skip",
        QuizRef,
        TEACHER,
        "Drop the current question unscored and open the next one.",
        feature="quizzes",
        example={"client_id": "skip-1", "quiz_id": "q1"},
        idempotency="quiz_skip:{client_id}",
    ),
    EventSpec(
        "quiz_end",
        QuizRef,
        TEACHER,
        "End the quiz and show the podium.",
        feature="quizzes",
        example={"client_id": "end-1", "quiz_id": "q1"},
        idempotency="quiz_end:{client_id}",
    ),
    EventSpec(
        "quiz_rename",
        QuizRename,
        TEACHER,
        QuizRename.__doc__ or "",
        feature="quizzes",
        example={"quiz_id": "q1", "title": "حساب: کسریں", "client_id": "rename-1"},
        idempotency="quiz_rename:{client_id}",
    ),
    EventSpec(
        "quiz_answer",
        QuizAnswer,
        STUDENT,
        "Answer the open question; the first answer counts.",
        rate="vote",
        feature="quizzes",
        example={"quiz_id": "q1", "question": 0, "answer_id": "answer-1", "option": 1},
        idempotency="answer:{quiz_id}:{answer_id}",
    ),
)

BROADCASTS: tuple[BroadcastSpec, ...] = (
    BroadcastSpec(
        "quiz_created",
        QuizCreatedData,
        "A quiz with its answers.",
        audience="teachers",
        feature="quizzes",
    ),
    BroadcastSpec("quiz_started", QuizStartedData, "A quiz started.", feature="quizzes"),
    BroadcastSpec(
        "quiz_renamed",
        QuizRenamedData,
        "A quiz got a new title (to teachers while it is ready, to everyone once started).",
        audience="varies",
        feature="quizzes",
    ),
    BroadcastSpec(
        "quiz_question_opened",
        QuestionOpenedData,
        "A question takes answers until its deadline.",
        feature="quizzes",
    ),
    BroadcastSpec(
        "quiz_answered",
        QuizAnsweredData,
        "A student's answer.",
        audience="author",
        feature="quizzes",
    ),
    BroadcastSpec(
        "quiz_question_closed",
        QuestionClosedData,
        "Answers closed; the correct answer is revealed and scores are counted.",
        feature="quizzes",
    ),
    BroadcastSpec(
        "quiz_question_skipped",
        QuestionSkippedData,
        "A question dropped without scoring.",
        feature="quizzes",
    ),
    BroadcastSpec(
        "quiz_leaderboard", LeaderboardData, "Scores after a question.", feature="quizzes"
    ),
    BroadcastSpec("quiz_ended", QuizEndedData, "The quiz ended; the podium.", feature="quizzes"),
    BroadcastSpec(
        "quiz_result",
        QuizResultData,
        "Right after `quiz_question_closed`: each student's own result (right or not, points,"
        " total, place), sent to that student only. Not logged: a joining student finds the"
        " same in the snapshot (`my_answers`, `me`).",
        audience="self",
        logged=False,
        feature="quizzes",
    ),
)
