"""Who is in the class, who is connected, raised hands, and whether the class has ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from classroom.errors import ClassEnded, Conflict, NotFound
from classroom.log import Actor, Event, Proposed


@dataclass
class RosterState:
    """Projection of the roster events of one class."""

    names: dict[str, str] = field(default_factory=dict)  # student id -> display name
    connections: dict[str, int] = field(default_factory=dict)  # student id -> open sockets
    hands: dict[str, int] = field(default_factory=dict)  # student id -> seq it was raised at
    ended: bool = False


def check_open(state: RosterState) -> None:
    """Refuse writes to a class the teacher has ended."""
    if state.ended:
        raise ClassEnded("this class has ended")


def propose_joined(state: RosterState, student_id: str, name: str) -> list[Proposed]:
    check_open(state)
    # Teachers (and the student) only: telling every tablet about every arrival costs O(N^2)
    # messages when a whole class joins at once.
    return [Proposed("student_joined", {"student_id": student_id, "name": name}, "author")]


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
    if student_id not in state.names:
        raise NotFound("no such student in this class", field="student_id")
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
        case "student_joined":
            state.names[data["student_id"]] = data["name"]
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
            if not state.ended:
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
    ]


def snapshot(state: RosterState, viewer: Actor) -> dict[str, Any]:
    """Roster state for a joining client: students see raised hands, not the roster."""
    hands = sorted(state.hands, key=state.hands.__getitem__)
    if viewer.role == "teacher":
        return {"students": roster(state), "hands": hands, "ended": state.ended}
    # Students see raised hands (the class sees who asks) but not the roster or who is online.
    return {"hands": hands, "ended": state.ended}
