"""Poll events: payload schemas of every client->server event, and the broadcasts they cause.

Roles: the teacher creates and runs polls; students vote; the board device does neither.
Votes are logged with audience ``author`` (teachers and the voting student), never to all.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

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
from classroom.protocol.snapshot import PollTally

MAX_POLL_OPTIONS = 10
MIN_POLL_OPTIONS = 2
MAX_QUESTION_CHARS = 500
MAX_OPTION_CHARS = 200
MAX_OPEN_TEXT_CHARS = 500
MAX_WORD_CHARS = 30
MAX_WORDS_PER_VOTE = 3
MAX_RATING_SCALE = 10
MAX_SHOWN_ANSWERS = 100

PollKind = Literal["single", "multiple", "yes_no", "rating", "word_cloud", "open_text"]
POLL_KINDS: tuple[PollKind, ...] = (
    "single",
    "multiple",
    "yes_no",
    "rating",
    "word_cloud",
    "open_text",
)
CHOICE_KINDS: frozenset[str] = frozenset({"single", "multiple"})
YES_NO_OPTIONS: tuple[str, str] = ("yes", "no")

QuestionText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS, strip_whitespace=True)
]
OptionText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_OPTION_CHARS, strip_whitespace=True)
]
OptionIndex = Annotated[int, Field(ge=0, lt=MAX_POLL_OPTIONS)]
Word = Annotated[str, StringConstraints(min_length=1, max_length=MAX_WORD_CHARS)]
OpenText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_OPEN_TEXT_CHARS)]


class PollFields(Payload):
    """What defines a poll (as stored in its ``poll_created`` event)."""

    kind: PollKind
    question: QuestionText
    options: list[OptionText] = Field(default_factory=list, max_length=MAX_POLL_OPTIONS)
    anonymous: bool = False
    scale_max: Annotated[int, Field(ge=2, le=MAX_RATING_SCALE)] = 5
    max_words: Annotated[int, Field(ge=1, le=MAX_WORDS_PER_VOTE)] = 1

    @model_validator(mode="after")
    def _options_fit_kind(self) -> PollFields:
        if self.kind in CHOICE_KINDS:
            if len(self.options) < MIN_POLL_OPTIONS:
                raise ValueError(
                    f"a {self.kind} poll needs {MIN_POLL_OPTIONS} to {MAX_POLL_OPTIONS} options"
                )
            folded = [option.casefold() for option in self.options]
            if len(set(folded)) != len(folded):
                raise ValueError("options must be different from each other")
        elif self.options:
            raise ValueError(f"a {self.kind} poll takes no options")
        return self


class PollCreate(PollFields):
    """Create a draft poll (teacher). Only the teacher sees it until it is opened."""

    client_id: ClientId


class PollRef(Payload):
    """Name one poll (open, close, hide results)."""

    poll_id: ServerId
    client_id: ClientId


class PollShowResults(Payload):
    """Show a closed poll's results to the class; for open text, the answers the teacher picked."""

    poll_id: ServerId
    answer_ids: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list, max_length=MAX_SHOWN_ANSWERS
    )
    client_id: ClientId


class PollVote(Payload):
    """A student's response. Exactly the field matching the poll's kind must be set.

    ``option`` answers single choice and yes/no (0 = yes, 1 = no); ``options`` answers multiple
    choice; ``rating`` is 1..scale_max; ``words`` feeds a word cloud; ``text`` answers open text.
    ``vote_id`` is made by the client: a retry with the same id counts once.
    """

    poll_id: ServerId
    vote_id: ClientId
    option: OptionIndex | None = None
    options: list[OptionIndex] | None = Field(default=None, max_length=MAX_POLL_OPTIONS)
    rating: Annotated[int, Field(ge=1, le=MAX_RATING_SCALE)] | None = None
    words: list[Word] | None = Field(default=None, min_length=1, max_length=MAX_WORDS_PER_VOTE)
    text: OpenText | None = None

    @model_validator(mode="after")
    def _one_answer(self) -> PollVote:
        given = [
            name
            for name in ("option", "options", "rating", "words", "text")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError("set exactly one of option, options, rating, words, text")
        return self


# --- broadcasts (log event data) -------------------------------------------------------------


class PollDefinitionData(Broadcast):
    """A poll as the class sees it."""

    poll_id: str
    kind: PollKind
    question: str
    options: list[str]
    anonymous: bool
    scale_max: int
    max_words: int


class PollVotedData(Broadcast):
    """A counted response (audience: teachers and the voter). ``answer`` is normalised."""

    poll_id: str
    vote_id: str
    answer: int | list[int] | list[str] | str


class PollRefData(Broadcast):
    poll_id: str


class PollResultsData(Broadcast):
    """A poll's tally: the final one shown to the class, or the live one for teachers."""

    poll_id: str
    tally: PollTally


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "poll_create",
        PollCreate,
        TEACHER,
        "Create a draft poll.",
        feature="polls",
        example={
            "client_id": "create-1",
            "kind": "single",
            "question": "Largest planet?",
            "options": ["Mars", "Jupiter"],
        },
        idempotency="poll_create:{client_id}",
    ),
    EventSpec(
        "poll_open",
        PollRef,
        TEACHER,
        "Open a draft poll for votes.",
        feature="polls",
        example={"client_id": "open-1", "poll_id": "p1"},
        idempotency="poll_open:{client_id}",
    ),
    EventSpec(
        "poll_close",
        PollRef,
        TEACHER,
        "Stop taking votes.",
        feature="polls",
        example={"client_id": "close-1", "poll_id": "p1"},
        idempotency="poll_close:{client_id}",
    ),
    EventSpec(
        "poll_show_results",
        PollShowResults,
        TEACHER,
        "Show a closed poll's final tally to the class.",
        feature="polls",
        example={"client_id": "show-results-1", "poll_id": "p1", "answer_ids": []},
        idempotency="poll_show_results:{client_id}",
    ),
    EventSpec(
        "poll_hide_results",
        PollRef,
        TEACHER,
        "Hide shown results again.",
        feature="polls",
        example={"client_id": "hide-results-1", "poll_id": "p1"},
        idempotency="poll_hide_results:{client_id}",
    ),
    EventSpec(
        "poll_vote",
        PollVote,
        STUDENT,
        "Vote; a later vote replaces the earlier one until the poll closes (then CONFLICT).",
        rate="vote",
        feature="polls",
        example={"poll_id": "p1", "vote_id": "vote-1", "option": 1},
        idempotency="vote:{poll_id}:{vote_id}",
    ),
)

BROADCASTS: tuple[BroadcastSpec, ...] = (
    BroadcastSpec(
        "poll_created", PollDefinitionData, "A draft poll.", audience="teachers", feature="polls"
    ),
    BroadcastSpec("poll_opened", PollDefinitionData, "A poll takes votes.", feature="polls"),
    BroadcastSpec(
        "poll_voted",
        PollVotedData,
        "A student's response.",
        audience="author",
        feature="polls",
    ),
    BroadcastSpec("poll_closed", PollRefData, "A poll stopped taking votes.", feature="polls"),
    BroadcastSpec(
        "poll_results_shown", PollResultsData, "Final tally shown to all.", feature="polls"
    ),
    BroadcastSpec("poll_results_hidden", PollRefData, "Results hidden again.", feature="polls"),
    BroadcastSpec(
        "poll_tally",
        PollResultsData,
        "Live tally for teachers (coalesced, not logged).",
        audience="teachers",
        logged=False,
        feature="polls",
    ),
)
