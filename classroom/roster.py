"""Who is in the class, who is connected, raised hands, and whether the class has ended.

Names: every student of a class has a name no other student of it has (compared without case),
so a teacher can tell two "Ali"s apart in the roster, the lobby, the leaderboard and reports.
The second is "Ali 2" ("علی ۲" in Urdu script), decided by the fold of the log, so a replay and
every process agree. A teacher may rename a student (``student_renamed``) or remove one
(``student_removed``): a removed student leaves the roster, their token no longer connects,
and what they did stays in the log. Their name stays reserved and their quiz scores stay on the
leaderboard and in reports: the points were earned, and the others' places do not shift in the
middle of a quiz (rename the student first if the name is the problem).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from classroom.classes import MAX_NAME_CHARS
from classroom.errors import ClassEnded, Conflict, NameTaken, NotFound, StudentRemoved
from classroom.log import Actor, Event, Proposed

# The events that give a student a name; polls and quizzes fold them too (for their reports).
NAME_EVENTS = frozenset({"student_joined", "student_renamed"})
_URDU_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _in_arabic_script(name: str) -> bool:
    return any("ARABIC" in unicodedata.name(ch, "") for ch in name if ch.isalpha())


def name_key(name: str) -> str:
    """What two names must differ in to be told apart: not case, not the joiners a name may
    hold (ZWJ, ZWNJ: invisible), not Arabic presentation forms (NFKC: "ﻋﻠﯽ" looks like
    "علی"). A student cannot join as a look-alike of another."""
    return unicodedata.normalize(
        "NFKC", name.replace("\u200c", "").replace("\u200d", "")
    ).casefold()


def distinct_name(index: Mapping[str, str], name: str, student_id: str) -> str:
    """``name``, or the first of ``name 2``, ``name 3`` ... that no other student has.

    ``index`` maps each name taken, by :func:`name_key`, to its student's id (:func:`fold_name`
    keeps it; a lookup, not a scan: a class of 2,000 folds its joins in O(N)). Compared by key;
    the number is in the name's script (Urdu digits for an Urdu name) and the name is shortened
    to keep within :data:`MAX_NAME_CHARS`.
    """

    def free(candidate: str) -> bool:
        return index.get(name_key(candidate), student_id) == student_id

    if free(name):
        return name
    urdu = _in_arabic_script(name)
    number = 2
    while True:
        suffix = f" {number}".translate(_URDU_DIGITS) if urdu else f" {number}"
        candidate = name[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
        if free(candidate):
            return candidate
        number += 1


def fold_name(names: dict[str, str], index: dict[str, str], event: Event) -> None:
    """Fold a :data:`NAME_EVENTS` event into a feature's names (student id -> shown name) and
    their index (:func:`name_key` -> student id; a renamed student's old name is freed)."""
    student_id, name = event.data.get("student_id"), event.data.get("name")
    if not isinstance(student_id, str) or not isinstance(name, str) or not name:
        return
    if event.type == "student_joined":
        applies = student_id not in names
    else:  # renamed: only a teacher renames, only a student already in
        applies = student_id in names and event.actor.role == "teacher"
    if not applies:
        return
    shown = distinct_name(index, name, student_id)
    old = names.get(student_id)
    if old is not None and index.get(name_key(old)) == student_id:
        del index[name_key(old)]
    names[student_id] = shown
    index[name_key(shown)] = student_id


@dataclass
class RosterState:
    """Projection of the roster events of one class."""

    names: dict[str, str] = field(default_factory=dict)  # student id -> display name
    name_index: dict[str, str] = field(default_factory=dict)  # see distinct_name
    connections: dict[str, int] = field(default_factory=dict)  # student id -> open sockets
    hands: dict[str, int] = field(default_factory=dict)  # student id -> seq it was raised at
    removed: set[str] = field(default_factory=set)  # their names stay in ``names``, reserved
    ended: bool = False


def check_open(state: RosterState) -> None:
    """Refuse writes to a class the teacher has ended."""
    if state.ended:
        raise ClassEnded("this class has ended")


def propose_joined(state: RosterState, student_id: str, name: str) -> list[Proposed]:
    """A student joins with the name they typed, made distinct from the others' names."""
    check_open(state)
    if student_id in state.removed:
        raise StudentRemoved("the teacher removed you from this class")
    shown = state.names.get(student_id) or distinct_name(state.name_index, name, student_id)
    # Teachers (and the student) only: telling every tablet about every arrival costs O(N^2)
    # messages when a whole class joins at once.
    return [Proposed("student_joined", {"student_id": student_id, "name": shown}, "author")]


def _present(state: RosterState, student_id: str) -> None:
    if student_id not in state.names or student_id in state.removed:
        raise NotFound("no such student in this class", field="student_id")


def propose_rename(state: RosterState, student_id: str, name: str) -> list[Proposed]:
    """The teacher gives a student a new (already cleaned) name; the same name does nothing.

    Everyone is told (``all``): the student sees their new name, the teachers their roster.
    """
    check_open(state)
    _present(state, student_id)
    if name == state.names[student_id]:
        return []
    if distinct_name(state.name_index, name, student_id) != name:
        raise NameTaken("another student in this class already has this name", field="name")
    return [Proposed("student_renamed", {"student_id": student_id, "name": name})]


def propose_remove(state: RosterState, student_id: str) -> list[Proposed]:
    """The teacher removes a student (removing one already removed does nothing)."""
    check_open(state)
    if student_id in state.removed:
        return []
    _present(state, student_id)
    return [Proposed("student_removed", {"student_id": student_id})]


def presence(student_id: str, *, connected: bool) -> Proposed:
    """A student's device connected or disconnected (logged even after the class ended)."""
    kind = "student_connected" if connected else "student_disconnected"
    return Proposed(kind, {"student_id": student_id}, "author")


def propose_hand_raise(state: RosterState, actor: Actor, raised: bool) -> list[Proposed]:
    check_open(state)
    kind = "hand_raised" if raised else "hand_lowered"
    return [Proposed(kind, {"student_id": actor.id})]


def propose_hand_lower(state: RosterState, student_id: str) -> list[Proposed]:
    check_open(state)
    _present(state, student_id)
    if student_id not in state.hands:
        raise Conflict("that student's hand is not raised", field="student_id")
    return [Proposed("hand_lowered", {"student_id": student_id})]


def propose_end(state: RosterState) -> list[Proposed]:
    check_open(state)
    return [Proposed("class_ended", {})]


def apply(state: RosterState, event: Event) -> None:
    """Fold one roster event into the projection."""
    data = event.data
    match event.type:
        case "student_joined" | "student_renamed":
            fold_name(state.names, state.name_index, event)
        case "student_removed":
            sid = data["student_id"]
            if event.actor.role == "teacher" and sid in state.names:
                state.removed.add(sid)
                state.hands.pop(sid, None)
        case "student_connected":
            sid = data["student_id"]
            state.connections[sid] = state.connections.get(sid, 0) + 1
        case "student_disconnected":
            sid = data["student_id"]
            left = state.connections.get(sid, 0) - 1
            if left > 0:
                state.connections[sid] = left
            else:
                state.connections.pop(sid, None)
        case "hand_raised":
            if not state.ended and data["student_id"] not in state.removed:
                state.hands.setdefault(data["student_id"], event.seq)
        case "hand_lowered":
            state.hands.pop(data["student_id"], None)
        case "class_ended":
            state.ended = True
            state.hands.clear()


def roster(state: RosterState) -> list[dict[str, Any]]:
    """The roster a teacher sees: every student, connection state and hand."""
    return [
        {
            "student_id": sid,
            "name": name,
            "online": state.connections.get(sid, 0) > 0,
            "hand_raised": sid in state.hands,
        }
        for sid, name in state.names.items()
        if sid not in state.removed
    ]


def snapshot(state: RosterState, viewer: Actor) -> dict[str, Any]:
    """Roster state for a joining client: students see raised hands, not the roster."""
    hands = sorted(state.hands, key=state.hands.__getitem__)
    if viewer.role == "teacher":
        return {"students": roster(state), "hands": hands, "ended": state.ended}
    # Students see raised hands (the class sees who asks) but not the roster or who is online.
    return {"hands": hands, "ended": state.ended}
