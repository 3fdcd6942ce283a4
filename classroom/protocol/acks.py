"""The ack of every client->server event, for events whose ``EventSpec`` names none.

An ack is ``{"ok": true, ...fields}``; the fields are the model's. Writes answer
:class:`AppendAck` (the seq of the first event they appended, and whether a retry matched an
event already stored) unless they add fields of their own here. A protocol test sends every
event and checks its real ack against this.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from classroom.protocol.common import EventSpec
from classroom.protocol.core import AppendAck


class PollCreateAck(AppendAck):
    poll_id: str = Field(description="The new draft poll's id.")


class QuizCreateAck(AppendAck):
    quiz_id: str = Field(description="The new quiz's id.")
    questions: int


class QuizAnswerAck(AppendAck):
    time_ms: int = Field(description="How long after the question opened the answer counted.")


WRITE_ACKS: dict[str, type[BaseModel]] = {
    "poll_create": PollCreateAck,
    "quiz_create": QuizCreateAck,
    "quiz_answer": QuizAnswerAck,
}


def ack_model(spec: EventSpec) -> type[BaseModel]:
    """The fields of ``spec``'s ok ack besides ``ok``."""
    return spec.ack or WRITE_ACKS.get(spec.name, AppendAck)
