"""The live state of a class: a projection of its lesson log, one part per feature."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from classroom import audio, board, camera, polls, protocol, quizzes, roster
from classroom.log import Actor, Event


@dataclass(frozen=True)
class Feature:
    """How a feature folds its events into its state and shows that state to a viewer."""

    name: str
    new_state: Callable[[], Any]
    apply: Callable[[Any, Event], None]
    snapshot: Callable[[Any, Actor], dict[str, Any]]


FEATURES: tuple[Feature, ...] = (
    Feature("core", roster.RosterState, roster.apply, roster.snapshot),
    Feature("board", board.new_board, board.apply, board.snapshot),
    Feature("polls", polls.PollsState, polls.apply, polls.snapshot),
    Feature("quizzes", quizzes.QuizzesState, quizzes.apply, quizzes.snapshot),
    Feature("camera", camera.CameraState, camera.apply, camera.snapshot),
    Feature("audio", audio.AudioState, audio.apply, audio.snapshot),
)

_FEATURE_OF_TYPE: dict[str, str] = {
    spec.name: spec.feature for spec in protocol.BROADCASTS.values() if spec.logged
}
_BY_NAME = {feature.name: feature for feature in FEATURES}


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


def apply(state: ClassState, event: Event) -> None:
    """Fold the next event (``event.seq == state.seq + 1``) into the class state."""
    feature = _BY_NAME.get(_FEATURE_OF_TYPE.get(event.type, ""))
    if feature is not None:
        feature.apply(state.parts[feature.name], event)
    state.seq = event.seq


def snapshot(state: ClassState, viewer: Actor) -> dict[str, Any]:
    """The state a joining client starts from, filtered for ``viewer``."""
    return {
        feature.name: feature.snapshot(state.parts[feature.name], viewer) for feature in FEATURES
    }
