"""The debrief of a practice class: what the teacher did, in plain words (English and Urdu).

A fold over the lesson log (``classroom.timeline``): the final state names the students and
pages, and one pass over the events times each poll and quiz question (how long it stayed
open, how many had answered by the time it closed, whether the results were shown), each raised
hand (how long until it came down) and the students' ink (strokes per page). Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from classroom import timeline
from classroom.board import BoardState
from classroom.log import Event

_UR_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _ur(n: int | float | str) -> str:
    return str(n).translate(_UR_DIGITS)


def _dur_en(s: int) -> str:
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60} s"


def _dur_ur(s: int) -> str:
    return f"{_ur(s)} سیکنڈ" if s < 60 else f"{_ur(s // 60)} منٹ {_ur(s % 60)} سیکنڈ"


def _secs(ms: int) -> int:
    return max(0, round(ms / 1000))


@dataclass
class _Item:
    kind: str  # "poll" | "question"
    title: str
    opened: int
    closed: int | None = None
    answered_by: set[str] = field(default_factory=set)
    shown: bool = False


def facts(events: Sequence[Event], *, class_id: str = "") -> dict[str, Any]:
    """The numbers the debrief is made of (also the API's ``facts``)."""
    state = timeline.fold(events, class_id=class_id)
    students = len(state.roster.names)
    items: list[_Item] = []
    open_polls: dict[str, _Item] = {}
    open_questions: dict[tuple[str, int], _Item] = {}
    hands: dict[str, int] = {}
    hand_waits: list[int] = []
    pages_shown: list[str] = []
    ink = Counter[str]()  # strokes by students, per page
    drawers: set[str] = set()
    first = events[0].ts if events else 0
    last = max((e.ts for e in events), default=0)
    for event in events:
        data = event.data
        if event.type == "poll_opened":
            item = _Item("poll", str(data.get("question", "")), event.ts)
            open_polls[str(data["poll_id"])] = item
            items.append(item)
        elif event.type == "poll_voted":
            poll = open_polls.get(str(data.get("poll_id")))
            if poll is not None and poll.closed is None:
                poll.answered_by.add(event.actor.id)
        elif event.type == "poll_closed":
            poll = open_polls.get(str(data.get("poll_id")))
            if poll is not None:
                poll.closed = event.ts
        elif event.type == "poll_results_shown":
            poll = open_polls.get(str(data.get("poll_id")))
            if poll is not None:
                poll.shown = True
        elif event.type == "quiz_question_opened":
            item = _Item("question", str(data.get("text", "")), event.ts)
            open_questions[(str(data["quiz_id"]), int(data["question"]))] = item
            items.append(item)
        elif event.type == "quiz_answered":
            q = open_questions.get((str(data.get("quiz_id")), int(data.get("question", -1))))
            if q is not None and q.closed is None:
                q.answered_by.add(event.actor.id)
        elif event.type in ("quiz_question_closed", "quiz_question_skipped"):
            q = open_questions.get((str(data.get("quiz_id")), int(data.get("question", -1))))
            if q is not None:
                q.closed = event.ts
                q.shown = event.type == "quiz_question_closed"  # the answer is revealed
        elif event.type == "hand_raised":
            hands.setdefault(str(data["student_id"]), event.ts)
        elif event.type == "hand_lowered":
            raised = hands.pop(str(data["student_id"]), None)
            if raised is not None:
                hand_waits.append(event.ts - raised)
        elif event.type == "page_switched" or (event.type == "page_added" and data.get("switch")):
            pages_shown.append(str(data.get("page")))
        elif event.type == "stroke_started" and event.actor.role == "student":
            ink[str(data.get("page"))] += 1
            drawers.add(event.actor.id)
    still_up = len(hands)
    board: BoardState = state.part("board")
    order = list(board.order)
    page_no = {page: i + 1 for i, page in enumerate(order)}
    return {
        "students": students,
        "duration_s": _secs(last - first),
        "items": [
            {
                "kind": item.kind,
                "title": item.title,
                "open_s": _secs((item.closed if item.closed is not None else last) - item.opened),
                "closed": item.closed is not None,
                "answered": len(item.answered_by),
                "shown": item.shown,
            }
            for item in items
        ],
        "hands": len(hand_waits) + still_up,
        "hands_lowered": len(hand_waits),
        "hands_still_up": still_up,
        "hand_wait_s": _secs(sorted(hand_waits)[len(hand_waits) // 2]) if hand_waits else None,
        "hand_wait_max_s": _secs(max(hand_waits)) if hand_waits else None,
        "pages": len(order),
        "pages_shown": len(set(pages_shown) | ({order[0]} if order else set())),
        "page_switches": len(pages_shown),
        "student_strokes": sum(ink.values()),
        "drawers": len(drawers),
        "ink_pages": sorted(page_no.get(p, 0) for p in ink),
    }


def debrief(events: Sequence[Event], *, class_id: str = "") -> dict[str, Any]:
    """``{"facts": ..., "en": [lines], "ur": [lines]}``: short sentences a teacher reads."""
    f = facts(events, class_id=class_id)
    n = f["students"]
    en: list[str] = [f"{n} students took part over {_dur_en(f['duration_s'])}."]
    ur: list[str] = [f"{_ur(n)} طلبہ نے {_dur_ur(f['duration_s'])} حصہ لیا۔"]
    for item in f["items"]:
        noun_en = "The poll" if item["kind"] == "poll" else "The question"
        noun_ur = "سروے" if item["kind"] == "poll" else "سوال"
        state_en = "was open" if item["closed"] else "was still open after"
        en.append(
            f"{noun_en} “{item['title']}” {state_en} {_dur_en(item['open_s'])}: "
            f"{item['answered']} of {n} had answered."
            + (" The results were shown." if item["shown"] else " The results were not shown.")
        )
        ur.append(
            f"{noun_ur} “{item['title']}” {_dur_ur(item['open_s'])} کھلا رہا: "
            f"{_ur(n)} میں سے {_ur(item['answered'])} نے جواب دیا۔"
            + (" نتائج دکھائے گئے۔" if item["shown"] else " نتائج نہیں دکھائے گئے۔")
        )
        if item["closed"] and n and item["answered"] < n / 2:
            en.append("  Fewer than half had answered: next time, wait a little longer.")
            ur.append("  آدھے سے کم نے جواب دیا تھا: اگلی بار تھوڑا اور انتظار کریں۔")
    if not f["items"]:
        en.append("No poll or quiz question was asked.")
        ur.append("کوئی سروے یا کوئز سوال نہیں پوچھا گیا۔")
    if f["hands"]:
        line_en = f"Hands raised: {f['hands']}."
        line_ur = f"ہاتھ اٹھائے گئے: {_ur(f['hands'])}۔"
        if f["hand_wait_s"] is not None:
            line_en += (
                f" Half came down within {_dur_en(f['hand_wait_s'])}; the longest wait was "
                f"{_dur_en(f['hand_wait_max_s'])}."
            )
            line_ur += (
                f" آدھے {_dur_ur(f['hand_wait_s'])} میں نیچے ہوئے؛ سب سے لمبا انتظار "
                f"{_dur_ur(f['hand_wait_max_s'])}۔"
            )
        if f["hands_still_up"]:
            line_en += f" {f['hands_still_up']} still up at the end."
            line_ur += f" آخر میں {_ur(f['hands_still_up'])} ہاتھ ابھی تک اٹھے تھے۔"
        en.append(line_en)
        ur.append(line_ur)
    else:
        en.append("No hands were raised.")
        ur.append("کسی نے ہاتھ نہیں اٹھایا۔")
    en.append(f"Pages: {f['pages']} ({f['pages_shown']} shown, {f['page_switches']} page changes).")
    ur.append(
        f"صفحات: {_ur(f['pages'])} ({_ur(f['pages_shown'])} دکھائے گئے، "
        f"{_ur(f['page_switches'])} بار صفحہ بدلا)۔"
    )
    if f["student_strokes"]:
        pages = ", ".join(str(p) for p in f["ink_pages"])
        en.append(f"{f['drawers']} students drew {f['student_strokes']} strokes (on page {pages}).")
        ur.append(
            f"{_ur(f['drawers'])} طلبہ نے {_ur(f['student_strokes'])} لکیریں کھینچیں "
            f"(صفحہ {_ur(pages)} پر)۔"
        )
    else:
        en.append("The students did not draw.")
        ur.append("طلبہ نے کچھ نہیں بنایا۔")
    return {"facts": f, "en": en, "ur": ur}
