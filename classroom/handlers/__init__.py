"""Socket event handlers, one module per feature, gathered into one table."""

from __future__ import annotations

from classroom.handlers import board, camera, core, polls, quizzes
from classroom.handlers.base import Call, Handler, Session

HANDLERS: dict[str, Handler] = {
    **core.HANDLERS,
    **board.HANDLERS,
    **polls.HANDLERS,
    **quizzes.HANDLERS,
    **camera.HANDLERS,
}

__all__ = ["HANDLERS", "Call", "Handler", "Session"]
