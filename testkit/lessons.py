"""Recorded lessons made in memory: real ``propose_*`` calls folded into a real class state.

A :class:`LessonMaker` plays a teacher and students through the feature modules (no server), so
its log is one the server could have written: every event was validated against the state as
it was. Tests and benches fold its ``events`` with :mod:`classroom.timeline`.
"""

from __future__ import annotations

import random
from typing import Any

from classroom import board, camera, lesson, polls, quizzes, roster
from classroom.errors import ClassroomError
from classroom.lesson import ClassState
from classroom.log import Actor, Event, Proposed
from classroom.protocol import board as pb
from classroom.protocol.camera import CameraKeyframe, CameraSnapshot
from classroom.protocol.polls import PollCreate, PollRef, PollShowResults, PollVote
from classroom.protocol.quizzes import QuizAnswer, QuizCreate, QuizRef, QuizStart

TEACHER = Actor("teacher", "amina", "Ms Amina")
T0 = 1_764_280_000_000
_IMAGE = b"\xff\xd8" + bytes(30)  # the log keeps no image bytes; proposals check only the size


def student(number: int) -> Actor:
    return Actor("student", f"s{number}", f"طالب {number}")


class LessonMaker:
    """Appends events the way the server would: propose against the state, then apply."""

    def __init__(self, class_id: str = "c1", *, t0: int = T0, seed: int = 0) -> None:
        self.state = ClassState(class_id)
        self.events: list[Event] = []
        self.now = t0
        self.rng = random.Random(seed)
        self._ids = 0

    def new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids}"

    def tick(self, ms: int) -> None:
        self.now += ms

    def commit(self, actor: Actor, proposed: list[Proposed]) -> list[Event]:
        made: list[Event] = []
        for item in proposed:
            event = Event(
                self.state.class_id,
                self.state.seq + 1,
                item.type,
                actor,
                self.now,
                item.data,
                audience=item.audience,
            )
            lesson.apply(self.state, event)
            self.events.append(event)
            made.append(event)
        return made

    def try_commit(self, actor: Actor, make: Any) -> list[Event]:
        """Commit what ``make()`` proposes, or nothing when the lesson refuses it."""
        try:
            proposed = make()
        except ClassroomError:
            return []
        return self.commit(actor, proposed)

    # board

    def _board(self, actor: Actor, payload: Any) -> list[Event]:
        return self.try_commit(
            actor, lambda: board.propose(self.state.part("board"), actor, payload)
        )

    def stroke(self, actor: Actor = TEACHER, *, batches: int = 3, points: int = 5) -> str:
        stroke_id = self.new_id("st")
        page = self.state.part("board").current
        x, y = self.rng.uniform(100, 1800), self.rng.uniform(100, 1000)
        t = 0

        def batch() -> list[list[float]]:
            nonlocal x, y, t
            out = []
            for _ in range(points):
                x = min(max(x + self.rng.uniform(-9, 9), 0), 1920)
                y = min(max(y + self.rng.uniform(-9, 9), 0), 1080)
                t += 16
                out.append([round(x, 1), round(y, 1), 0.5, t])
            return out

        start = {
            "stroke_id": stroke_id,
            "page_id": page,
            "tool": "pen",
            "color": "#112233",
            "width": 3.0,
            "points": batch(),
        }
        self._board(actor, pb.StrokeStart.model_validate(start))
        length = points
        for _ in range(batches):
            self.tick(50)
            payload = {"stroke_id": stroke_id, "offset": length, "points": batch()}
            if self._board(actor, pb.StrokeExtend.model_validate(payload)):
                length += points
        self.tick(20)
        self._board(actor, pb.StrokeEnd.model_validate({"stroke_id": stroke_id, "length": length}))
        return stroke_id

    def add_page(self) -> str:
        page_id = self.new_id("pg")
        self._board(TEACHER, pb.PageAdd.model_validate({"page_id": page_id}))
        return page_id

    def switch_page(self, page_id: str) -> None:
        payload = {"page_id": page_id, "client_id": self.new_id("sw")}
        self._board(TEACHER, pb.PageSwitch.model_validate(payload))

    def erase(self, ids: list[str]) -> None:
        page = self.state.part("board").current
        payload = {"op_id": self.new_id("er"), "page_id": page, "ids": ids}
        self._board(TEACHER, pb.BoardErase.model_validate(payload))

    def delete_page(self, page_id: str) -> None:
        payload = {"page_id": page_id, "client_id": self.new_id("pd")}
        self._board(TEACHER, pb.PageDelete.model_validate(payload))

    def clear_page(self) -> None:
        page = self.state.part("board").current
        payload = {"page_id": page, "op_id": self.new_id("cl")}
        self._board(TEACHER, pb.PageClear.model_validate(payload))

    def undo(self, actor: Actor = TEACHER) -> None:
        self._board(actor, pb.BoardUndo.model_validate({"client_id": self.new_id("un")}))

    def redo(self, actor: Actor = TEACHER) -> None:
        self._board(actor, pb.BoardRedo.model_validate({"client_id": self.new_id("re")}))

    def allow_drawing(self) -> None:
        payload = {"client_id": self.new_id("al")}
        self._board(TEACHER, pb.BoardAllowDrawing.model_validate(payload))

    # roster

    def join(self, actor: Actor) -> None:
        self.try_commit(
            actor, lambda: roster.propose_joined(self.state.roster, actor.id, actor.name)
        )
        self.commit(actor, [roster.presence(actor.id, connected=True)])

    def raise_hand(self, actor: Actor) -> None:
        self.try_commit(actor, lambda: roster.propose_hand_raise(self.state.roster, actor, True))

    # polls

    def poll(self, question: str, options: list[str], voters: list[Actor]) -> str:
        state = self.state.part("polls")
        poll_id = self.new_id("poll")
        create = PollCreate.model_validate(
            {
                "client_id": self.new_id("pc"),
                "kind": "single",
                "question": question,
                "options": options,
            }
        )
        self.commit(TEACHER, polls.propose_create(state, TEACHER, create, poll_id=poll_id))
        ref = PollRef.model_validate({"poll_id": poll_id, "client_id": self.new_id("po")})
        self.commit(TEACHER, polls.propose_open(state, TEACHER, ref))
        for voter in voters:
            self.tick(300)
            vote = PollVote.model_validate(
                {
                    "poll_id": poll_id,
                    "vote_id": self.new_id("v"),
                    "option": self.rng.randrange(len(options)),
                }
            )
            self.try_commit(
                voter, lambda vote=vote, voter=voter: polls.propose_vote(state, voter, vote)
            )
        self.tick(500)
        self.commit(TEACHER, polls.propose_close(state, TEACHER, ref))
        show = PollShowResults.model_validate({"poll_id": poll_id, "client_id": self.new_id("ps")})
        self.commit(TEACHER, polls.propose_show_results(state, TEACHER, show))
        return poll_id

    # quizzes

    def quiz(self, questions: list[str], players: list[Actor]) -> str:
        state = self.state.part("quizzes")
        quiz_id = self.new_id("quiz")
        definition = {
            "title": "جلدی سوال",
            "questions": [
                {
                    "type": "single",
                    "question": text,
                    "options": ["a", "b", "c"],
                    "correct": [1],
                    "time_limit_s": 20,
                }
                for text in questions
            ],
        }
        create = QuizCreate.model_validate({"client_id": self.new_id("qc"), "quiz": definition})
        self.commit(TEACHER, quizzes.propose_create(state, TEACHER, create, quiz_id=quiz_id))
        start = QuizStart.model_validate({"client_id": self.new_id("qs"), "quiz_id": quiz_id})
        self.commit(TEACHER, quizzes.propose_start(state, TEACHER, start, now_ms=self.now))
        for index in range(len(questions)):
            for player in players:
                self.tick(700)
                answer = QuizAnswer.model_validate(
                    {
                        "quiz_id": quiz_id,
                        "question": index,
                        "answer_id": self.new_id("a"),
                        "option": self.rng.randrange(3),
                    }
                )
                self.try_commit(
                    player,
                    lambda answer=answer, player=player: quizzes.propose_answer(
                        state, player, answer, now_ms=self.now
                    ),
                )
            for _ in range(2):  # reveal, then the next question (or the podium)
                self.tick(1500)
                ref = QuizRef.model_validate({"client_id": self.new_id("qn"), "quiz_id": quiz_id})
                self.commit(TEACHER, quizzes.propose_next(state, TEACHER, ref, now_ms=self.now))
        return quiz_id

    # camera

    def keyframe(self, *, captured_ago_ms: int = 0) -> str:
        keyframe_id = self.new_id("kf")
        payload = CameraKeyframe.model_validate(
            {
                "keyframe_id": keyframe_id,
                "image": _IMAGE,
                "format": "jpeg",
                "width": 64,
                "height": 36,
                "captured_at_ms": self.now - captured_ago_ms,
                "reason": "erase",
            }
        )
        device = Actor("board", "cam1", "Board camera")
        state = self.state.part("camera")
        self.try_commit(device, lambda: camera.propose_keyframe(state, device, payload))
        return keyframe_id

    def camera_view(self) -> None:
        payload = CameraSnapshot.model_validate(
            {
                "snapshot_id": self.new_id("cs"),
                "image": _IMAGE,
                "format": "jpeg",
                "width": 64,
                "height": 36,
            }
        )
        device = Actor("board", "cam1", "Board camera")
        state = self.state.part("camera")
        self.try_commit(
            device, lambda: camera.propose_snapshot(state, device, payload, now_ms=self.now)
        )


def synthetic_lesson(
    target_events: int, *, seed: int = 1, pages: int = 10, students: int = 30
) -> list[Event]:
    """A lesson of about ``target_events`` events: ink over ``pages`` pages (strokes of 40
    batches, as ~2 s of drawing sends), polls, a quiz, keyframes and students joining."""
    maker = LessonMaker(seed=seed)
    class_students = [student(n) for n in range(1, students + 1)]
    for actor in class_students:
        maker.join(actor)
    page_ids = [board.FIRST_PAGE_ID] + [maker.add_page() for _ in range(pages - 1)]
    maker.switch_page(board.FIRST_PAGE_ID)
    rng = random.Random(seed)
    page = 0
    while len(maker.events) < target_events:
        maker.tick(rng.randrange(500, 3000))
        maker.stroke(batches=40, points=3)
        roll = rng.random()
        if roll < 0.01:
            page = (page + 1) % pages
            maker.switch_page(page_ids[page])
            maker.keyframe(captured_ago_ms=200)
        elif roll < 0.012:
            maker.poll("کیا آپ سمجھ گئے؟", ["ہاں", "نہیں"], class_students)
        elif roll < 0.013:
            maker.quiz(["7 x 8?", "9 x 6?"], class_students[:10])
        elif roll < 0.02:
            maker.undo()
    return maker.events
