"""The live state of a class: a projection of its lesson log, one part per feature."""

from __future__ import annotations

import functools
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from classroom import audio, board, camera, lessons, polls, protocol, quizzes, roster
from classroom.log import Actor, Event


@dataclass(frozen=True)
class Feature:
    """How a feature folds its events into its state and shows that state to a viewer."""

    name: str
    new_state: Callable[[], Any]
    apply: Callable[[Any, Event], None]
    snapshot: Callable[[Any, Actor], dict[str, Any]]
    # Folds every event of the class, not only its own (the lesson's span).
    every_event: bool = False
    # Other features' events it folds too (polls and quizzes keep the students' names).
    also: frozenset[str] = frozenset()


FEATURES: tuple[Feature, ...] = (
    Feature("core", roster.RosterState, roster.apply, roster.snapshot),
    Feature("board", board.new_board, board.apply, board.snapshot),
    Feature("polls", polls.PollsState, polls.apply, polls.snapshot, also=roster.NAME_EVENTS),
    Feature(
        "quizzes", quizzes.QuizzesState, quizzes.apply, quizzes.snapshot, also=roster.NAME_EVENTS
    ),
    Feature("camera", camera.CameraState, camera.apply, camera.snapshot),
    Feature("audio", audio.AudioState, audio.apply, audio.snapshot),
    Feature("lesson", lessons.LessonState, lessons.apply, lessons.snapshot, every_event=True),
)

_FEATURE_OF_TYPE: dict[str, str] = {
    spec.name: spec.feature for spec in protocol.BROADCASTS.values() if spec.logged
}
_BY_NAME = {feature.name: feature for feature in FEATURES}
_EVERY_EVENT = tuple(feature for feature in FEATURES if feature.every_event)
_ALSO: dict[str, tuple[Feature, ...]] = {
    kind: tuple(feature for feature in FEATURES if kind in feature.also)
    for kind in {kind for feature in FEATURES for kind in feature.also}
}
# Features that fold every event of the class, whatever its type (the lesson's span).
EVERY_EVENT_FEATURES: frozenset[str] = frozenset(feature.name for feature in _EVERY_EVENT)


@dataclass
class ClassState:
    """Every feature's projection of one class's log, up to ``seq``."""

    class_id: str
    seq: int = 0
    parts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for feature in FEATURES:
            self.parts.setdefault(feature.name, feature.new_state())

    @property
    def roster(self) -> roster.RosterState:
        part: roster.RosterState = self.parts["core"]
        return part

    def part(self, name: str) -> Any:
        return self.parts[name]


def feature_of(event_type: str) -> str | None:
    """The name of the feature that folds events of ``event_type`` (None: no feature does)."""
    feature = _BY_NAME.get(_FEATURE_OF_TYPE.get(event_type, ""))
    return None if feature is None else feature.name


@functools.cache
def features_of(event_type: str) -> tuple[str, ...]:
    """Every feature that folds events of ``event_type``: its own, and those that fold it too
    (``Feature.also``); the features that fold every event are not named."""
    own = feature_of(event_type)
    also = tuple(feature.name for feature in _ALSO.get(event_type, ()))
    return also if own is None else (own, *also)


def apply(state: ClassState, event: Event) -> None:
    """Fold the next event (``event.seq == state.seq + 1``) into the class state."""
    feature = _BY_NAME.get(_FEATURE_OF_TYPE.get(event.type, ""))
    if feature is not None and not feature.every_event:
        feature.apply(state.parts[feature.name], event)
    for other in _ALSO.get(event.type, ()):
        other.apply(state.parts[other.name], event)
    for watcher in _EVERY_EVENT:
        watcher.apply(state.parts[watcher.name], event)
    state.seq = event.seq


def snapshot(state: ClassState, viewer: Actor) -> dict[str, Any]:
    """The state a joining client starts from, filtered for ``viewer``."""
    return {
        feature.name: feature.snapshot(state.parts[feature.name], viewer) for feature in FEATURES
    }


def pinned_snapshot(state: ClassState, viewer: Actor) -> tuple[dict[str, Any], board.BoardPin]:
    """The state a joining client starts from, with the board's items left out of it and pinned
    instead, to be sent in pieces (:func:`classroom.board.pin_piece`)."""
    parts = {
        feature.name: feature.snapshot(state.parts[feature.name], viewer)
        for feature in FEATURES
        if feature.name != "board"
    }
    board_state: board.BoardState = state.parts["board"]
    parts["board"] = board.snapshot_head(board_state, viewer)
    return parts, board.pin(board_state, viewer)


@dataclass
class PinnedSnapshot:
    """A snapshot being sent in pieces: the board items of one viewer at one seq."""

    token: str
    seq: int
    board: board.BoardPin
    expires: float

    def cursor(self, index: int) -> str | None:
        """The cursor that asks for the piece from item ``index`` on (None: nothing is left)."""
        return None if index >= len(self.board.items) else f"{self.token}.{index}"


class SnapshotPins:
    """The snapshots being sent in pieces in one class: one per connection, for a short while.

    A pin holds only references to the board's items (8 bytes an item), and there are at most
    ``max_pins``: a connection's new snapshot replaces its old one, the oldest goes first.
    """

    def __init__(self, *, ttl_s: float = 30.0, max_pins: int = 64) -> None:
        self.ttl_s = ttl_s
        self.max_pins = max_pins
        self._pins: OrderedDict[str, PinnedSnapshot] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pins)

    def start(self, owner: str, seq: int, board_pin: board.BoardPin, now: float) -> PinnedSnapshot:
        """Keep ``owner``'s new pin (its previous one, if any, is dropped)."""
        self._expire(now)
        self._pins.pop(owner, None)
        pinned = PinnedSnapshot(secrets.token_urlsafe(9), seq, board_pin, now + self.ttl_s)
        self._pins[owner] = pinned
        while len(self._pins) > self.max_pins:
            self._pins.popitem(last=False)
        return pinned

    def get(self, owner: str, token: str, now: float) -> PinnedSnapshot | None:
        """``owner``'s pin named ``token`` if it is still kept (its time starts again)."""
        self._expire(now)
        pinned = self._pins.get(owner)
        if pinned is None or not secrets.compare_digest(pinned.token, token):
            return None
        pinned.expires = now + self.ttl_s
        self._pins.move_to_end(owner)
        return pinned

    def drop(self, owner: str) -> None:
        """Forget ``owner``'s pin (its last piece was sent, or it left)."""
        self._pins.pop(owner, None)

    def _expire(self, now: float) -> None:
        for owner in [o for o, pinned in self._pins.items() if pinned.expires <= now]:
            del self._pins[owner]
