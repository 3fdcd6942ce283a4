"""The school's lesson library: what a published lesson shows to anyone, and how it is found.

A lesson the teacher published (``lesson_published`` in its log, see ``classroom/lessons.py``)
is open to anyone on the school network at ``/library``, with no account, and travels to other
schools (``classroom/library_travel.py``). What they see is the *library view* of its log,
made here and nowhere else:

* only events every student of the class saw (audience ``all``), and of those only the kinds
  a replay draws (:data:`KEPT_EVENTS`: the board, pages, audio, camera keyframes, polls and
  quiz questions as shown to the class, the lesson's details); everything about people
  (joins, presence, hands, votes, answers, drawing rights) is left out, and so is any kind
  this module does not know (a new feature is private until it is added here);
* no names: the teacher is ``teacher``, students and board devices become ``s1``, ``s2`` ...
  and ``b1`` ... in order of appearance (their ink stays theirs in the fold, nameless);
  leaderboards and podiums are emptied; client ids and request digests are dropped.

Search: :func:`normalise` folds the letter variants and diacritics of Urdu and Arabic text (and
Latin accents) so a search finds what a person means: ``كتاب`` (Arabic kaf, yeh) finds ``کتاب``,
``ہمزۂ`` finds ``ہمزہ``, digits in any script match.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from classroom.errors import InvalidPayload
from classroom.log import Actor, Event

# The log of the library's own index: a ``library_listed`` event per lesson published here
# (or imported). It only says where to look; each lesson's own log decides whether it is
# published (see ``classroom/library_catalog.py``). Class ids never start with "~".
LIBRARY_LOG = "~library"

# An imported lesson (classroom/library_travel.py) belongs to this teacher, which is not a login
# name (no one can sign in as it); its ORIGIN_ASSET holds where it came from: JSON with the
# events file's hash and the school and teacher's name it had there.
IMPORTED_TEACHER = "~library"
ORIGIN_ASSET = "library-origin"

KEPT_EVENTS = frozenset(
    {
        "stroke_started",
        "stroke_extended",
        "stroke_ended",
        "shape_added",
        "text_added",
        "items_erased",
        "board_undone",
        "board_redone",
        "page_added",
        "page_switched",
        "page_reordered",
        "page_deleted",
        "page_cleared",
        "page_background_set",
        "audio_added",
        "camera_keyframe_added",
        "class_ended",
        "lesson_details_updated",
        "lesson_published",
        "poll_opened",
        "poll_closed",
        "poll_results_shown",
        "poll_results_hidden",
        "quiz_started",
        "quiz_question_opened",
        "quiz_question_closed",
        "quiz_question_skipped",
        "quiz_leaderboard",
        "quiz_ended",
    }
)
# Events whose data name students: kept for the chapters, with the names taken out.
_SCRUBBED = {"quiz_leaderboard": ("top", "podium"), "quiz_ended": ("top", "podium")}

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 12


class LibraryView:
    """Turns a lesson's events into their library view, one at a time (see module docstring).

    Keeps the pseudonyms it gave, so the pages of one replay (or one export) agree.
    """

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], str] = {}

    def _actor(self, actor: Actor) -> Actor:
        if actor.role == "teacher":
            return Actor("teacher", "teacher")
        key = (actor.role, actor.id)
        name = self._names.get(key)
        if name is None:
            prefix = "s" if actor.role == "student" else "b"
            count = sum(1 for role, _ in self._names if role == actor.role)
            name = self._names[key] = f"{prefix}{count + 1}"
        return Actor(actor.role, name)

    def event(self, event: Event, *, seq: int | None = None) -> Event | None:
        """The library form of ``event``, or None when the library never shows it."""
        if event.audience != "all" or event.type not in KEPT_EVENTS:
            return None
        data: Mapping[str, Any] = event.data
        scrub = _SCRUBBED.get(event.type)
        if scrub:
            data = {k: ([] if k in scrub else v) for k, v in data.items()}
        return Event(
            class_id=event.class_id,
            seq=event.seq if seq is None else seq,
            type=event.type,
            actor=self._actor(event.actor),
            ts=event.ts,
            data=dict(data),
        )


def library_events(events: Iterable[Event], *, renumber: bool = False) -> list[Event]:
    """The library view of a whole log; ``renumber``: seqs 1, 2, 3 ... (a travelling copy)."""
    view = LibraryView()
    kept: list[Event] = []
    for event in events:
        shown = view.event(event, seq=len(kept) + 1 if renumber else None)
        if shown is not None:
            kept.append(shown)
    return kept


def board_text(events: Iterable[Event]) -> list[str]:
    """The text typed on the board (every text item the class saw), in the order typed."""
    return [
        str(e.data.get("text", ""))
        for e in events
        if e.type == "text_added" and e.audience == "all"
    ]


def referenced_assets(events: Iterable[Event]) -> list[str]:
    """The stored assets a library view's replay loads: audio segments, camera keyframes and
    page background pictures (never the camera's live view, which keeps changing)."""
    found: dict[str, None] = {}
    for e in events:
        if e.type in ("audio_added", "camera_keyframe_added"):
            found[str(e.data.get("asset_id", ""))] = None
        elif e.type in ("page_added", "page_background_set"):
            background = e.data.get("background")
            if isinstance(background, dict) and background.get("image"):
                found[str(background["image"])] = None
    found.pop("", None)
    return list(found)


# --- search ------------------------------------------------------------------------------------

# Arabic-script letters people type for the same Urdu letter (Arabic and Persian keyboards,
# old fonts): folded onto the Urdu letter. Diacritics (zer, zabar, pesh, shadda, the hamza
# above of ۂ and ئ after decomposition) are dropped before this.
_LETTERS = str.maketrans(
    {
        "\u064a": "\u06cc",  # ي Arabic yeh -> ی
        "\u0649": "\u06cc",  # ى alef maksura -> ی
        "\u06d3": "\u06d2",  # ۓ -> ے
        "\u0643": "\u06a9",  # ك Arabic kaf -> ک
        "\u0647": "\u06c1",  # ه Arabic heh -> ہ
        "\u0629": "\u06c1",  # ة teh marbuta -> ہ
        "\u06c3": "\u06c1",  # ۃ -> ہ
        "\u06d5": "\u06c1",  # ە -> ہ
        "\u0623": "\u0627",  # أ -> ا
        "\u0625": "\u0627",  # إ -> ا
        "\u0622": "\u0627",  # آ -> ا
        "\u0671": "\u0627",  # ٱ -> ا
        "\u0624": "\u0648",  # ؤ -> و
        "\u0640": None,  # tatweel (kashida), a stretch only
        "\u200c": None,  # zero-width non-joiner
        "\u200d": None,  # zero-width joiner
        "\u200f": None,  # right-to-left mark
        "\u200e": None,  # left-to-right mark
        **{chr(0x0660 + n): str(n) for n in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + n): str(n) for n in range(10)},  # Urdu (extended) digits
    }
)


def normalise(text: str) -> str:
    """Text folded for search: letter variants, diacritics, case, digits, punctuation.

    Returns space-separated words (punctuation and symbols become spaces).
    """
    decomposed = unicodedata.normalize("NFKD", text)
    kept = []
    for ch in decomposed:
        category = unicodedata.category(ch)
        if category.startswith("M"):
            continue  # combining marks: Urdu/Arabic harakat, hamza above, Latin accents
        if category[0] in "PSZC":
            kept.append(" ")
        else:
            kept.append(ch)
    folded = "".join(kept).translate(_LETTERS).casefold()
    return " ".join(unicodedata.normalize("NFC", folded).split())


def query_words(raw: str) -> list[str]:
    """The words of a search box's text, normalised; refuses what no person types.

    INVALID_PAYLOAD (field ``q``) for more than :data:`MAX_QUERY_CHARS` characters, more
    than :data:`MAX_QUERY_WORDS` words or a control character. Nothing in the text is
    interpreted: words are matched as plain substrings (no regex, no SQL).
    """
    if len(raw) > MAX_QUERY_CHARS:
        raise InvalidPayload(f"a search is at most {MAX_QUERY_CHARS} characters", field="q")
    if any(unicodedata.category(ch) == "Cc" for ch in raw):
        raise InvalidPayload("a search may not contain control characters", field="q")
    words = normalise(raw).split()
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidPayload(f"a search is at most {MAX_QUERY_WORDS} words", field="q")
    return words


@dataclass(frozen=True)
class Filters:
    """What a library visitor asked for: search words and exact subject, grade, language."""

    words: Sequence[str] = ()
    subject: str = ""
    grade: str = ""
    language: str = ""


def search_text(summary: Mapping[str, Any], typed: Iterable[str]) -> str:
    """The normalised text a lesson is found by: its details and the text on its board."""
    parts = [
        str(summary.get("title", "")),
        str(summary.get("description", "")),
        str(summary.get("teacher_name", "")),
        str(summary.get("subject", "")),
        *typed,
    ]
    return normalise("\n".join(parts))


def matches(summary: Mapping[str, Any], text: str, filters: Filters) -> bool:
    """Whether a lesson (its public summary and :func:`search_text`) fits the filters."""
    if filters.subject and normalise(str(summary.get("subject", ""))) != normalise(filters.subject):
        return False
    if filters.grade and normalise(str(summary.get("grade", ""))) != normalise(filters.grade):
        return False
    if filters.language and filters.language not in summary.get("languages", []):
        return False
    return all(word in text for word in filters.words)


# The public fields of a lesson's summary (``lessons.lesson_summary``): nothing else leaves.
PUBLIC_FIELDS = (
    "class_id",
    "title",
    "subject",
    "grade",
    "languages",
    "teacher_name",
    "school",
    "description",
    "started_at",
    "duration_ms",
    "chapters",
    "has_audio",
    "published_at",
)


def public_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A lesson summary cut to :data:`PUBLIC_FIELDS`, with its library address."""
    public = {name: summary.get(name) for name in PUBLIC_FIELDS}
    public["url"] = f"/library/{summary['class_id']}"
    return public
