"""Live polls: single/multiple choice, yes/no, rating, word cloud and open text.

A poll goes draft -> open -> closed, then its results may be shown to the class (and hidden again).
Each student has at most one counted response per poll: a later vote replaces the earlier one until
the poll closes, and a retried vote (same ``vote_id``) counts once. The tally is maintained
incrementally in ``apply`` so ``tally()`` is cheap enough to call ten times a second.

Follows the contract in :mod:`classroom.log`: ``propose_*`` validate and return events without
mutating, ``apply`` folds a logged event (ignoring one that is no longer valid), ``snapshot``
returns what one viewer may see.
"""

from __future__ import annotations

import heapq
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from classroom import roster
from classroom.errors import Conflict, Forbidden, InvalidPayload, NotFound
from classroom.log import Actor, Event, Proposed, Role
from classroom.protocol.polls import (
    CHOICE_KINDS,
    MAX_OPEN_TEXT_CHARS,
    MAX_WORD_CHARS,
    YES_NO_OPTIONS,
    PollCreate,
    PollFields,
    PollKind,
    PollRef,
    PollShowResults,
    PollVote,
)

PollStatus = Literal["draft", "open", "closed"]
Answer = int | list[int] | list[str] | str
# Says whether a normalised word must be kept out of a word cloud (True = blocked).
ProfanityFilter = Callable[[str], bool]

WORD_CLOUD_TOP = 100

# A deliberately small default; schools configure their own filter on the server.
DEFAULT_BLOCKLIST: frozenset[str] = frozenset(
    {
        "fuck",
        "fucking",
        "shit",
        "bitch",
        "bastard",
        "asshole",
        "dick",
        "harami",
        "haramzada",
        "kamina",
        "kameena",
        "kanjar",
        "ullu ka pattha",
        "حرامی",
        "حرامزادہ",
        "کمینہ",
        "کمینی",
        "کنجر",
    }
)

# --- text normalisation -------------------------------------------------------------------

# Arabic-script harakat (zabar, zer, pesh, tanween, shadda, sukun ...), superscript alef, tatweel.
_DIACRITICS = frozenset([*range(0x064B, 0x0653), *range(0x0656, 0x0660), 0x0670, 0x0640])
# Zero-width and direction marks that keyboards insert invisibly.
_INVISIBLE = frozenset(
    [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x061C, 0xFEFF, *range(0x2066, 0x206A)]
)
# Arabic letter forms typed on Arabic keyboards -> the Urdu letters.
_URDU_LETTERS: Mapping[int, str] = MappingProxyType(
    {
        0x064A: "\u06cc",  # ARABIC YEH -> FARSI YEH
        0x0649: "\u06cc",  # ALEF MAKSURA -> FARSI YEH
        0x0643: "\u06a9",  # ARABIC KAF -> KEHEH
        0x0647: "\u06c1",  # ARABIC HEH -> HEH GOAL
    }
)
_APOSTROPHES = frozenset("'\u2019\u2018`\u02bc")


def normalise_text(text: str) -> str:
    """Normalise an answer for comparison: NFKC, casefold, no punctuation, Urdu-aware.

    Drops Arabic-script diacritics, tatweel and invisible marks, maps Arabic yeh/kaf/heh to the
    Urdu letters, turns any decimal digit (Urdu ۰-۹ too) into ASCII, removes apostrophes and
    symbols, turns other punctuation (including ۔ ، ؟) into spaces, and collapses whitespace.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for char in folded:
        code = ord(char)
        if code in _DIACRITICS or code in _INVISIBLE or char in _APOSTROPHES:
            continue
        if code in _URDU_LETTERS:
            out.append(_URDU_LETTERS[code])
            continue
        category = unicodedata.category(char)
        if category == "Nd":
            out.append(str(unicodedata.decimal(char)))
        elif category[0] == "S" or category == "Mn":
            continue
        elif category[0] in "PZC":
            out.append(" ")
        else:
            out.append(char)
    return " ".join("".join(out).split())


def default_profanity_filter(word: str) -> bool:
    """Block a normalised word or phrase that is, contains or (minus spaces) is a listed word."""
    tokens = word.split()
    return any(form in DEFAULT_BLOCKLIST for form in (word, "".join(tokens), *tokens))


# --- state ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Vote:
    """One student's current response to a poll."""

    vote_id: str
    answer: Answer
    seq: int
    ts: int


@dataclass(slots=True)
class Poll:
    """A poll and its incrementally maintained tally."""

    poll_id: str
    kind: PollKind
    question: str
    options: tuple[str, ...]
    anonymous: bool
    scale_max: int
    max_words: int
    created_seq: int
    status: PollStatus = "draft"
    results_shown: bool = False
    shown_tally: dict[str, Any] | None = None
    votes: dict[str, Vote] = field(default_factory=dict)
    seen_vote_ids: dict[str, set[str]] = field(default_factory=dict)
    counts: list[int] = field(default_factory=list)
    rating_sum: int = 0
    words: Counter[str] = field(default_factory=Counter)

    def choices(self) -> tuple[str, ...]:
        """The labels a vote's option index refers to."""
        return YES_NO_OPTIONS if self.kind == "yes_no" else self.options

    def definition(self) -> dict[str, Any]:
        """The poll as the class sees it (no votes)."""
        return {
            "poll_id": self.poll_id,
            "kind": self.kind,
            "question": self.question,
            "options": list(self.options),
            "anonymous": self.anonymous,
            "scale_max": self.scale_max,
            "max_words": self.max_words,
        }


@dataclass(slots=True)
class PollsState:
    """The polls of one class, in creation order, and the names students gave."""

    polls: dict[str, Poll] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    name_index: dict[str, str] = field(default_factory=dict)  # see roster.distinct_name


# --- propose --------------------------------------------------------------------------------


def _require_role(actor: Actor, role: Role, doing: str) -> None:
    if actor.role != role:
        raise Forbidden(f"only a {role} may {doing}")


def _get(state: PollsState, poll_id: str) -> Poll:
    poll = state.polls.get(poll_id)
    if poll is None:
        raise NotFound(f"no poll {poll_id!r}", field="poll_id")
    return poll


def propose_create(
    state: PollsState, actor: Actor, payload: PollCreate, *, poll_id: str
) -> list[Proposed]:
    """Create a draft poll with the server-made ``poll_id`` (visible to teachers only)."""
    _require_role(actor, "teacher", "create a poll")
    if poll_id in state.polls:
        raise Conflict(f"poll {poll_id!r} already exists", field="poll_id")
    data = {"poll_id": poll_id, **payload.model_dump(mode="json", exclude={"client_id"})}
    return [Proposed("poll_created", data, audience="teachers")]


def propose_open(state: PollsState, actor: Actor, payload: PollRef) -> list[Proposed]:
    """Open a draft poll for votes; opening an open poll again does nothing."""
    _require_role(actor, "teacher", "open a poll")
    poll = _get(state, payload.poll_id)
    if poll.status == "open":
        return []
    if poll.status == "closed":
        raise Conflict("this poll is closed; create a new one", field="poll_id")
    return [Proposed("poll_opened", poll.definition())]


def propose_close(state: PollsState, actor: Actor, payload: PollRef) -> list[Proposed]:
    """Stop taking votes; closing a closed poll again does nothing."""
    _require_role(actor, "teacher", "close a poll")
    poll = _get(state, payload.poll_id)
    if poll.status == "closed":
        return []
    if poll.status == "draft":
        raise Conflict("this poll was never opened", field="poll_id")
    return [Proposed("poll_closed", {"poll_id": poll.poll_id})]


def propose_show_results(
    state: PollsState, actor: Actor, payload: PollShowResults
) -> list[Proposed]:
    """Show a closed poll's final tally to everyone (open text: only the answers picked)."""
    _require_role(actor, "teacher", "show poll results")
    poll = _get(state, payload.poll_id)
    if poll.status != "closed":
        raise Conflict("close the poll before showing its results", field="poll_id")
    final = tally(state, poll.poll_id)
    if poll.kind == "open_text":
        by_seq = {vote.seq: vote for vote in poll.votes.values()}
        shown: list[str] = []
        for position, answer_id in enumerate(payload.answer_ids):
            vote = by_seq.get(answer_id)
            if vote is None:
                raise InvalidPayload(
                    f"answer {answer_id} is not a current answer of this poll",
                    field=f"answer_ids[{position}]",
                )
            shown.append(str(vote.answer))
        final["answers"] = shown
    elif payload.answer_ids:
        raise InvalidPayload("answer_ids is for open text polls only", field="answer_ids")
    return [Proposed("poll_results_shown", {"poll_id": poll.poll_id, "tally": final})]


def propose_hide_results(state: PollsState, actor: Actor, payload: PollRef) -> list[Proposed]:
    """Hide shown results again; hiding hidden results does nothing."""
    _require_role(actor, "teacher", "hide poll results")
    poll = _get(state, payload.poll_id)
    if not poll.results_shown:
        return []
    return [Proposed("poll_results_hidden", {"poll_id": poll.poll_id})]


def propose_vote(
    state: PollsState,
    actor: Actor,
    payload: PollVote,
    *,
    profanity: ProfanityFilter = default_profanity_filter,
) -> list[Proposed]:
    """Record a student's vote (audience: teachers and the voter); a retried ``vote_id`` is a no-op.

    Word-cloud words are normalised; words the ``profanity`` filter blocks are dropped, and a
    vote left with no words is refused.
    """
    _require_role(actor, "student", "vote")
    poll = _get(state, payload.poll_id)
    if payload.vote_id in poll.seen_vote_ids.get(actor.id, ()):
        return []
    if poll.status != "open":
        raise Conflict(
            "this poll is not open for votes" if poll.status == "draft" else "this poll is closed",
            field="poll_id",
        )
    answer = _answer_from_payload(poll, payload, profanity)
    data: dict[str, Any] = {"poll_id": poll.poll_id, "vote_id": payload.vote_id, "answer": answer}
    if poll.anonymous:
        # The log keeps the voter (one counted vote per student), but nobody else is told.
        data["anon"] = True
    return [Proposed("poll_voted", data, audience="author")]


def _answer_from_payload(poll: Poll, payload: PollVote, profanity: ProfanityFilter) -> Answer:
    """Check the payload answers this poll's kind and return the normalised answer."""
    kind = poll.kind
    if kind in ("single", "yes_no"):
        if payload.option is None:
            raise InvalidPayload(f"a {kind} poll takes 'option'", field="option")
        _check_option(poll, payload.option, "option")
        return payload.option
    if kind == "multiple":
        if payload.options is None or not payload.options:
            raise InvalidPayload("a multiple choice poll takes 'options'", field="options")
        for position, option in enumerate(payload.options):
            _check_option(poll, option, f"options[{position}]")
        return sorted(set(payload.options))
    if kind == "rating":
        if payload.rating is None:
            raise InvalidPayload("a rating poll takes 'rating'", field="rating")
        if payload.rating > poll.scale_max:
            raise InvalidPayload(
                f"rating {payload.rating} is not between 1 and {poll.scale_max}", field="rating"
            )
        return payload.rating
    if kind == "word_cloud":
        if payload.words is None:
            raise InvalidPayload("a word cloud poll takes 'words'", field="words")
        if len(payload.words) > poll.max_words:
            raise InvalidPayload(f"at most {poll.max_words} words", field="words")
        words: list[str] = []
        for position, raw in enumerate(payload.words):
            word = normalise_text(raw)
            if not word:
                raise InvalidPayload("a word needs letters or digits", field=f"words[{position}]")
            if not profanity(word) and word not in words:
                words.append(word)
        if not words:
            raise InvalidPayload("these words are not allowed", field="words")
        return words
    if payload.text is None:
        raise InvalidPayload("an open text poll takes 'text'", field="text")
    text = payload.text.strip()
    if not text:
        raise InvalidPayload("the answer is empty", field="text")
    return text


def _check_option(poll: Poll, option: int, where: str) -> None:
    count = len(poll.choices())
    if not 0 <= option < count:
        raise InvalidPayload(f"option {option} is not between 0 and {count - 1}", field=where)


# --- apply ----------------------------------------------------------------------------------


def apply(state: PollsState, event: Event) -> None:
    """Fold one logged event into the projection; ignore events that are no longer valid."""
    if event.type in roster.NAME_EVENTS:
        roster.fold_name(state.names, state.name_index, event)
        return
    handler = _APPLIERS.get(event.type)
    if handler is not None:
        handler(state, event)


def _apply_created(state: PollsState, event: Event) -> None:
    data = event.data
    if event.actor.role != "teacher" or data.get("poll_id") in state.polls:
        return
    try:
        payload = PollFields.model_validate({key: data[key] for key in data if key != "poll_id"})
    except ValueError:
        return
    poll = Poll(
        poll_id=str(data["poll_id"]),
        kind=payload.kind,
        question=payload.question,
        options=tuple(payload.options),
        anonymous=payload.anonymous,
        scale_max=payload.scale_max,
        max_words=payload.max_words,
        created_seq=event.seq,
    )
    if poll.kind in (*CHOICE_KINDS, "yes_no"):
        poll.counts = [0] * len(poll.choices())
    elif poll.kind == "rating":
        poll.counts = [0] * poll.scale_max
    state.polls[poll.poll_id] = poll


def _apply_opened(state: PollsState, event: Event) -> None:
    poll = state.polls.get(str(event.data.get("poll_id")))
    if poll is not None and poll.status == "draft":
        poll.status = "open"


def _apply_closed(state: PollsState, event: Event) -> None:
    poll = state.polls.get(str(event.data.get("poll_id")))
    if poll is not None and poll.status == "open":
        poll.status = "closed"


def _apply_results_shown(state: PollsState, event: Event) -> None:
    poll = state.polls.get(str(event.data.get("poll_id")))
    shown = event.data.get("tally")
    if poll is not None and poll.status == "closed" and isinstance(shown, dict):
        poll.results_shown = True
        poll.shown_tally = shown


def _apply_results_hidden(state: PollsState, event: Event) -> None:
    poll = state.polls.get(str(event.data.get("poll_id")))
    if poll is not None:
        poll.results_shown = False


def _apply_voted(state: PollsState, event: Event) -> None:
    poll = state.polls.get(str(event.data.get("poll_id")))
    student = event.actor.id
    vote_id = event.data.get("vote_id")
    if poll is None or poll.status != "open" or event.actor.role != "student":
        return
    if not isinstance(vote_id, str):
        return
    seen = poll.seen_vote_ids.setdefault(student, set())
    if vote_id in seen:
        return  # a retry another process also accepted
    answer = _valid_logged_answer(poll, event.data.get("answer"))
    if answer is None:
        return
    seen.add(vote_id)
    old = poll.votes.get(student)
    if old is not None:
        _count(poll, old.answer, -1)
    poll.votes[student] = Vote(vote_id=vote_id, answer=answer, seq=event.seq, ts=event.ts)
    _count(poll, answer, +1)
    if event.actor.name:
        # The roster's name events come first and win (a rename, "Ali 2").
        state.names.setdefault(student, event.actor.name)


def _valid_logged_answer(poll: Poll, answer: object) -> Answer | None:
    """The logged answer if it still fits the poll, else None (so apply never crashes)."""
    options = len(poll.choices())
    if isinstance(answer, bool):
        return None
    if isinstance(answer, int):
        if poll.kind in ("single", "yes_no") and 0 <= answer < options:
            return answer
        if poll.kind == "rating" and 1 <= answer <= poll.scale_max:
            return answer
        return None
    if isinstance(answer, str):
        if poll.kind == "open_text" and 0 < len(answer) <= MAX_OPEN_TEXT_CHARS:
            return answer
        return None
    if not isinstance(answer, list) or not answer or len(set(answer)) != len(answer):
        return None
    if poll.kind == "multiple":
        indexes = [o for o in answer if type(o) is int and 0 <= o < options]
        return indexes if len(indexes) == len(answer) else None
    if poll.kind == "word_cloud" and len(answer) <= poll.max_words:
        words = [w for w in answer if isinstance(w, str) and 0 < len(w) <= MAX_WORD_CHARS]
        return words if len(words) == len(answer) else None
    return None


def _count(poll: Poll, answer: Answer, delta: int) -> None:
    """Add (delta=+1) or remove (delta=-1) one response from the running tally."""
    if poll.kind in ("single", "yes_no") and isinstance(answer, int):
        poll.counts[answer] += delta
    elif poll.kind == "multiple" and isinstance(answer, list):
        for option in answer:
            if isinstance(option, int):
                poll.counts[option] += delta
    elif poll.kind == "rating" and isinstance(answer, int):
        poll.counts[answer - 1] += delta
        poll.rating_sum += delta * answer
    elif poll.kind == "word_cloud" and isinstance(answer, list):
        for word in answer:
            if isinstance(word, str):
                poll.words[word] += delta
                if poll.words[word] <= 0:
                    del poll.words[word]


_APPLIERS: Mapping[str, Callable[[PollsState, Event], None]] = MappingProxyType(
    {
        "poll_created": _apply_created,
        "poll_opened": _apply_opened,
        "poll_voted": _apply_voted,
        "poll_closed": _apply_closed,
        "poll_results_shown": _apply_results_shown,
        "poll_results_hidden": _apply_results_hidden,
    }
)


def replay(events: Iterable[Event]) -> PollsState:
    """Fold a whole event list (e.g. a recorded lesson) into a fresh projection."""
    # Imported here: the timeline folds through classroom.lesson, which imports this module.
    from classroom import timeline

    state: PollsState = timeline.fold(events, features={"polls"}).part("polls")
    return state


# --- read -----------------------------------------------------------------------------------


def tally(state: PollsState, poll_id: str) -> dict[str, Any]:
    """The live tally of one poll (cheap: copies running counts; word clouds keep the top 100).

    Keys: ``poll_id``, ``kind``, ``status``, ``responses`` (students counted), then by kind
    ``options`` and ``counts`` (choice, yes/no), ``counts`` for 1..scale_max and ``mean``
    (rating), ``words`` as ``[word, count]`` pairs, most frequent first (word cloud).
    """
    poll = _get(state, poll_id)
    result: dict[str, Any] = {
        "poll_id": poll.poll_id,
        "kind": poll.kind,
        "status": poll.status,
        "responses": len(poll.votes),
    }
    if poll.kind in (*CHOICE_KINDS, "yes_no"):
        result["options"] = list(poll.choices())
        result["counts"] = list(poll.counts)
    elif poll.kind == "rating":
        result["counts"] = list(poll.counts)
        result["mean"] = round(poll.rating_sum / len(poll.votes), 2) if poll.votes else None
    elif poll.kind == "word_cloud":
        top = heapq.nsmallest(WORD_CLOUD_TOP, poll.words.items(), key=lambda wc: (-wc[1], wc[0]))
        result["words"] = [[word, count] for word, count in top]
    return result


def describe_answer(poll: Poll, answer: Answer) -> str:
    """A vote as a person reads it: option labels, rating number, words or the text."""
    if isinstance(answer, int):
        return str(answer) if poll.kind == "rating" else poll.choices()[answer]
    if isinstance(answer, list):
        labels = [poll.choices()[a] if isinstance(a, int) else a for a in answer]
        return "; ".join(labels)
    return answer


def snapshot(state: PollsState, viewer: Actor) -> dict[str, Any]:
    """What ``viewer`` may see: teachers see everything (no names on anonymous polls);
    students and boards see opened polls, shown results and only their own vote."""
    polls: list[dict[str, Any]] = []
    for poll in state.polls.values():
        if viewer.role == "teacher":
            polls.append(_teacher_view(state, poll))
        elif poll.status != "draft":
            view: dict[str, Any] = {
                **poll.definition(),
                "status": poll.status,
                "results_shown": poll.results_shown,
                "results": poll.shown_tally if poll.results_shown else None,
            }
            if viewer.role == "student":
                own = poll.votes.get(viewer.id)
                view["my_vote"] = (
                    None
                    if own is None
                    else {
                        "vote_id": own.vote_id,
                        "answer": own.answer,
                    }
                )
            polls.append(view)
    return {"polls": polls}


def _teacher_view(state: PollsState, poll: Poll) -> dict[str, Any]:
    view: dict[str, Any] = {
        **poll.definition(),
        "status": poll.status,
        "results_shown": poll.results_shown,
        "results": poll.shown_tally if poll.results_shown else None,
        "tally": tally(state, poll.poll_id),
    }
    if poll.kind == "open_text":
        view["answers"] = [
            {"id": vote.seq, "text": vote.answer}
            | ({} if poll.anonymous else {"student_id": student})
            for student, vote in sorted(poll.votes.items(), key=lambda sv: sv[1].seq)
        ]
    if not poll.anonymous:
        view["votes"] = {
            student: {"name": state.names.get(student, ""), "answer": vote.answer}
            for student, vote in poll.votes.items()
        }
    return view
