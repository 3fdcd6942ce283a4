"""Simulated students (``classroom simulate``): real Socket.IO clients that join a class and
behave like a class of children on tablets.

Each student joins with ``POST /api/join`` (an ``Idempotency-Key`` per student, so a retry is
the same student), connects with its token and speaks the protocol as docs/protocol.md says: a
paged ``class_snapshot`` first, ``log_resume`` when seqs jump or after a reconnect, a
``client_id`` on the writes keyed by one, and never more than a connection's rate bucket allows
(client-side token buckets mirror ``classroom.ratelimit.RATES``). They answer polls and quiz
questions after lognormal delays (some never answer), raise and lower hands, draw a few simple
strokes while drawing is allowed, and some drop off and come back with the same token (their
votes and scores are the server's, so they are kept).

Behaviour is seeded: every choice a student makes about an item (a poll, a quiz question) comes
from a random generator seeded with the run's seed, the student's number and the item's text,
so the same seed gives the same answers in a fresh class. Timing is not repeatable (the network
is not), the choices are.

Runs in its own process, never inside the server's event loop. Stops at ``--duration``, when
the class ends, or on SIGTERM/SIGINT; prints one JSON summary line at the end (error acks by
code: a normal run has none).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import socketio

from classroom.protocol import EVENTS, PROTOCOL_VERSION
from classroom.ratelimit import RATES, TokenBucket

# The teacher's token, when the server starts a practice class's students: with it the students
# read the quiz's answers (quiz_created, teachers only) so "wrong at a rate" means wrong.
TEACHER_TOKEN_ENV = "TAKHTI_SIMULATE_TEACHER_TOKEN"

BOYS = [
    ("Ali Raza", "علی رضا"),
    ("Ahmed Khan", "احمد خان"),
    ("Bilal Hussain", "بلال حسین"),
    ("Hamza Iqbal", "حمزہ اقبال"),
    ("Usman Tariq", "عثمان طارق"),
    ("Zain Abbas", "زین عباس"),
    ("Hassan Javed", "حسن جاوید"),
    ("Saad Qureshi", "سعد قریشی"),
    ("Imran Shah", "عمران شاہ"),
    ("Faisal Mehmood", "فیصل محمود"),
    ("Danish Ahmed", "دانش احمد"),
    ("Owais Siddiqui", "اویس صدیقی"),
    ("Talha Butt", "طلحہ بٹ"),
    ("Junaid Akhtar", "جنید اختر"),
    ("Kamran Baig", "کامران بیگ"),
]
GIRLS = [
    ("Ayesha Malik", "عائشہ ملک"),
    ("Fatima Zahra", "فاطمہ زہرا"),
    ("Zainab Bibi", "زینب بی بی"),
    ("Maryam Nawaz", "مریم نواز"),
    ("Hira Aslam", "حرا اسلم"),
    ("Sana Yousaf", "ثنا یوسف"),
    ("Mahnoor Ali", "ماہ نور علی"),
    ("Iqra Rehman", "اقرا رحمان"),
    ("Kiran Shahid", "کرن شاہد"),
    ("Amna Farooq", "آمنہ فاروق"),
    ("Noor Fatima", "نور فاطمہ"),
    ("Rabia Anwar", "رابعہ انور"),
    ("Sadia Parveen", "سعدیہ پروین"),
    ("Laiba Haider", "لائبہ حیدر"),
    ("Areeba Saleem", "اریبہ سلیم"),
]
# Word cloud and open text: what a class of Pakistani children types, in both languages.
WORDS_EN = [
    "water", "sun", "plants", "energy", "rain", "tree", "earth", "light", "food", "air",
    "school", "book", "cricket", "mango", "river", "mountain", "number", "shape", "fraction",
]  # fmt: skip
WORDS_UR = [
    "پانی", "سورج", "پودے", "توانائی", "بارش", "درخت", "زمین", "روشنی", "کھانا", "ہوا",
    "اسکول", "کتاب", "کرکٹ", "آم", "دریا", "پہاڑ", "عدد", "شکل", "کسر",
]  # fmt: skip
SENTENCES_EN = [
    "I think it is because of the sun.",
    "Plants need water and light to grow.",
    "I am not sure, can you explain again?",
    "The answer is in chapter three.",
    "It gets bigger when it is hot.",
    "My brother told me it is the moon.",
]
SENTENCES_UR = [
    "میرے خیال میں یہ سورج کی وجہ سے ہے۔",
    "پودوں کو بڑھنے کے لیے پانی اور روشنی چاہیے۔",
    "مجھے یقین نہیں، دوبارہ سمجھا دیں۔",
    "جواب تیسرے باب میں ہے۔",
    "گرمی میں یہ بڑا ہو جاتا ہے۔",
]
COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700"]


@dataclass(frozen=True)
class Profile:
    """How a simulated class behaves; every time is in seconds before ``time_scale``."""

    # Answer delay: lognormal with this median and spread (sigma); long-tailed like children.
    answer_median_s: float = 6.0
    answer_sigma: float = 0.7
    never_answers: float = 0.08  # share of students who skip a given item
    wrong_rate: float = 0.25  # share of answers that are wrong (per question)
    urdu_share: float = 0.5  # share of typed answers in Urdu
    join_spread_s: float = 5.0  # students arrive over this long
    hands_per_min: float = 0.15  # per student
    hand_hold_s: float = 20.0  # a raised hand comes down by itself after about this long
    draw_strokes: tuple[int, int] = (1, 3)  # strokes a student draws when drawing is allowed
    drops_per_min: float = 0.02  # per student
    away_s: tuple[float, float] = (2.0, 6.0)  # how long a dropped student stays away
    link_delay_s: float = 0.0  # median extra delay before each message (a slow link)
    change_vote: float = 0.05  # share of poll answers changed once


PROFILES: dict[str, Profile] = {
    "calm": Profile(),
    "busy": Profile(
        answer_median_s=3.0,
        answer_sigma=0.6,
        never_answers=0.03,
        hands_per_min=0.6,
        hand_hold_s=12.0,
        draw_strokes=(2, 5),
        drops_per_min=0.05,
        change_vote=0.15,
    ),
    "weak-link": Profile(
        answer_median_s=8.0,
        answer_sigma=0.9,
        never_answers=0.15,
        drops_per_min=0.5,
        away_s=(3.0, 15.0),
        link_delay_s=0.8,
    ),
    # For tests and demos of a few seconds: everything fast, nobody skips.
    "test": Profile(
        answer_median_s=0.4,
        answer_sigma=0.5,
        never_answers=0.0,
        join_spread_s=0.5,
        hands_per_min=0.0,
        hand_hold_s=2.0,
        draw_strokes=(1, 2),
        drops_per_min=0.0,
        away_s=(0.3, 0.8),
        change_vote=0.0,
    ),
}


@dataclass
class Stats:
    joined: int = 0
    votes: int = 0
    answers: int = 0
    hands: int = 0
    strokes: int = 0
    drops: int = 0
    rejoins: int = 0
    messages: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    # Error acks that follow from a race with the teacher (a question closed while an answer
    # was on its way): real students meet them too, so they are counted apart.
    raced: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {
            "joined": self.joined,
            "votes": self.votes,
            "answers": self.answers,
            "hands": self.hands,
            "strokes": self.strokes,
            "drops": self.drops,
            "rejoins": self.rejoins,
            "messages": self.messages,
            "error_acks": sum(self.errors.values()),
            "errors": dict(self.errors),
            "raced": dict(self.raced),
        }


RACE_CODES = {"TOO_LATE", "CONFLICT", "WRONG_QUESTION", "CLASS_ENDED"}


def student_name(seed: str, index: int) -> str:
    """The ``index``-th student's name: Urdu or English script, a boy's or a girl's name."""
    rng = random.Random(f"{seed}:name:{index}")
    pool = BOYS if rng.random() < 0.5 else GIRLS
    english, urdu = pool[rng.randrange(len(pool))]
    name = urdu if rng.random() < 0.5 else english
    return name if index < 30 else f"{name} {index + 1}"


class Student:
    """One simulated student: its own connection, buckets and generator."""

    def __init__(self, sim: Simulation, index: int) -> None:
        self.sim = sim
        self.index = index
        self.name = student_name(sim.seed, index)
        self.rng = random.Random(f"{sim.seed}:student:{index}")
        self.token: str | None = None
        self.student_id = ""
        self.sio: socketio.AsyncClient | None = None
        self.buckets: dict[str, TokenBucket] = {}
        self.last_seq = 0
        self.page = ""
        self.may_draw = False
        self.hand_up = False
        self.handled: set[str] = set()  # items answered or decided upon ("poll:ID", "q:ID:N")
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.resuming = False
        self.stopped = False
        self.online = asyncio.Event()
        self.leave = asyncio.Event()
        self.ids = 0

    # --- plumbing ---------------------------------------------------------------------------

    def _id(self, kind: str) -> str:
        self.ids += 1
        return f"sim{self.index}-{kind}-{self.sim.run_id}-{self.ids}"

    def _item_rng(self, key: str) -> random.Random:
        return random.Random(f"{self.sim.seed}:{self.index}:{key}")

    async def _pace(self, event: str) -> None:
        """Wait until the event's bucket has a token (never more than the server allows)."""
        spec = EVENTS[event]
        rate = RATES[spec.rate]
        # A safety margin: the server's clock started the bucket a little later than ours.
        bucket = self.buckets.setdefault(
            spec.rate, TokenBucket(replace(rate, burst=max(1.0, rate.burst - 2)), time.monotonic())
        )
        while True:
            wait = bucket.take(time.monotonic())
            if wait == 0.0:
                return
            await asyncio.sleep(wait * 1.1)

    async def call(self, event: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one event and return its ack ({} when the connection went away)."""
        sio = self.sio
        if sio is None or not sio.connected:
            return {}
        if "client_id" in EVENTS[event].key_fields and payload is not None:
            payload.setdefault("client_id", self._id(event))
        if self.sim.profile.link_delay_s:
            await self.sim.sleep(
                self.rng.lognormvariate(math.log(self.sim.profile.link_delay_s), 0.6)
            )
        await self._pace(event)
        self.sim.stats.messages += 1
        try:
            ack = await sio.call(event, payload if payload is not None else {}, timeout=15)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            return {}
        except socketio.exceptions.SocketIOError:
            return {}
        ack = dict(ack) if isinstance(ack, dict) else {}
        if ack.get("ok") is False:
            code = str(ack.get("error", {}).get("code", "?"))
            # An ink batch on its way when the teacher stopped students drawing is a race too.
            raced = code in RACE_CODES or (event.startswith("stroke_") and not self.may_draw)
            (self.sim.stats.raced if raced else self.sim.stats.errors)[code] += 1
            if self.sim.verbose:
                print(f"{self.name}: {event} refused: {ack}", file=sys.stderr)
        return ack

    # --- joining ---------------------------------------------------------------------------

    async def join(self) -> bool:
        key = f"sim-{self.sim.run_id}-{self.index}"
        for _ in range(60):
            async with self.sim.http.post(
                f"{self.sim.server}/api/join",
                json={"join_code": self.sim.code, "name": self.name},
                headers={"Idempotency-Key": key},
            ) as resp:
                body = await resp.json(content_type=None)
            if resp.status in (200, 201):
                self.token = str(body["token"])
                self.student_id = str(body["student_id"])
                self.sim.class_id = str(body["class_id"])
                self.sim.stats.joined += 1
                return True
            if resp.status in (429, 503):
                retry = float(body.get("error", {}).get("retry_after_s") or 2.0)
                await asyncio.sleep(min(retry, 10.0))
                continue
            print(f"{self.name}: join refused: {resp.status} {body}", file=sys.stderr)
            return False
        return False

    async def connect(self) -> bool:
        sio = socketio.AsyncClient(reconnection=False)
        self.sio = sio
        sio.on("*", self._on_event)
        sio.on("disconnect", self._on_disconnect)
        try:
            await sio.connect(
                self.sim.server,
                auth={"token": self.token, "protocol_version": PROTOCOL_VERSION},
                transports=["websocket"],
                wait_timeout=15,
            )
        except socketio.exceptions.ConnectionError as exc:
            print(f"{self.name}: connect failed: {exc}", file=sys.stderr)
            return False
        await self._snapshot()
        self.online.set()
        return True

    async def _on_disconnect(self, *_: Any) -> None:
        self.online.clear()

    async def _snapshot(self) -> None:
        ack = await self.call("class_snapshot", {"paged": True})
        if not ack.get("ok"):
            return
        cursor = ack.get("cursor")
        while cursor:  # the board's items: a simulated student does not look at them
            piece = await self.call("class_snapshot_piece", {"cursor": cursor})
            if not piece.get("ok"):
                break
            cursor = piece.get("cursor")
        self.last_seq = int(ack["seq"])
        state = ack["state"]
        if state["core"].get("ended"):
            self.stopped = True
            return
        board = state["board"]
        self.page = board["current"]
        self.may_draw = bool(board["drawing"]["may_draw"])
        self.hand_up = self.student_id in state["core"].get("hands", [])
        for poll in state["polls"]["polls"]:
            if poll.get("status") == "open" and poll.get("my_vote") is None:
                self._schedule_poll(poll)
        for quiz in state["quizzes"]["quizzes"]:
            current = quiz.get("current")
            if quiz.get("status") == "running" and current and current.get("status") == "open":
                answered = {a.get("question") for a in quiz.get("my_answers") or []}
                if current["question"] not in answered:
                    self._schedule_question({**current, "quiz_id": quiz["quiz_id"]})
        if self.may_draw:
            self._schedule("draw", self._draw())

    # --- events ----------------------------------------------------------------------------

    async def _on_event(self, event: str, data: Any = None) -> None:
        if not isinstance(data, dict):
            return
        seq = data.get("seq")
        if isinstance(seq, int):
            if seq <= self.last_seq:
                return
            if seq > self.last_seq + 1 and not self.resuming:
                # Seqs jump past what a student may not see; the resume says so, or brings
                # what was missed.
                self.resuming = True
                self._schedule("resume", self._resume(self.last_seq))
            self.last_seq = max(self.last_seq, seq)
            self._apply(event, data.get("data") or {})
        else:
            self._apply(event, data)

    async def _resume(self, after: int) -> None:
        try:
            await self.sim.sleep(0.5)  # let a burst of jumps settle into one resume
            while True:
                ack = await self.call("log_resume", {"after_seq": after})
                if not ack.get("ok"):
                    return
                for event in ack["events"]:
                    if event["seq"] > after:
                        self._apply(event["type"], event.get("data") or {})
                after = int(ack["next_after_seq"])
                if not ack.get("more"):
                    return
        finally:
            self.resuming = False

    def _apply(self, event: str, data: dict[str, Any]) -> None:
        if event == "poll_opened":
            self._schedule_poll(data)
        elif event == "poll_closed":
            self._cancel(f"poll:{data.get('poll_id')}")
        elif event == "quiz_question_opened":
            self._schedule_question(data)
        elif event in ("quiz_question_closed", "quiz_question_skipped"):
            self._cancel(f"q:{data.get('quiz_id')}:{data.get('question')}")
        elif event == "page_switched":
            self.page = str(data.get("page", self.page))
        elif event == "drawing_allowed":
            chosen = data.get("students")
            if chosen is None or self.student_id in chosen:
                self.may_draw = True
                self._schedule("draw", self._draw())
        elif event == "drawing_revoked":
            chosen = data.get("students")
            if chosen is None or self.student_id in chosen:
                self.may_draw = False
                self._cancel("draw")
        elif event == "hand_lowered" and data.get("student_id") == self.student_id:
            self.hand_up = False
        elif event == "hand_raised" and data.get("student_id") == self.student_id:
            self.hand_up = True
        elif event == "class_ended":
            self.stopped = True
            self.sim.class_ended.set()

    def _schedule(self, key: str, coro: Any) -> None:
        old = self.tasks.get(key)
        if old is not None and not old.done():
            coro.close()
            return
        self.tasks[key] = asyncio.ensure_future(coro)

    def _cancel(self, key: str) -> None:
        task = self.tasks.pop(key, None)
        if task is not None and not task.done():
            task.cancel()

    def _delay(self, rng: random.Random) -> float:
        p = self.sim.profile
        return rng.lognormvariate(math.log(p.answer_median_s), p.answer_sigma)

    # --- polls -----------------------------------------------------------------------------

    def _schedule_poll(self, poll: dict[str, Any]) -> None:
        key = f"poll:{poll['poll_id']}"
        if key in self.handled:
            return
        self.handled.add(key)
        self._schedule(key, self._vote(poll))

    def poll_answer(self, poll: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """The vote's answer fields; the class leans to one answer per poll (shared)."""
        p = self.sim.profile
        kind = poll["kind"]
        lean = random.Random(f"{self.sim.seed}:lean:{kind}:{poll['question']}")
        if kind in ("single", "yes_no"):
            n = 2 if kind == "yes_no" else len(poll.get("options") or [])
            favourite = lean.randrange(max(1, n))
            if rng.random() >= p.wrong_rate or n < 2:
                return {"option": favourite}
            return {"option": rng.choice([i for i in range(n) if i != favourite])}
        if kind == "multiple":
            n = len(poll.get("options") or [])
            favourites = {lean.randrange(n), lean.randrange(n)}
            picked = {i for i in favourites if rng.random() >= p.wrong_rate / 2}
            if rng.random() < p.wrong_rate:
                picked.add(rng.randrange(n))
            return {"options": sorted(picked or {rng.randrange(n)})}
        if kind == "rating":
            top = int(poll.get("scale_max") or 5)
            centre = lean.randint(max(1, top // 2), top)
            value = round(rng.gauss(centre, max(0.6, top / 6)))
            return {"rating": min(top, max(1, value))}
        urdu = rng.random() < p.urdu_share
        if kind == "word_cloud":
            words = WORDS_UR if urdu else WORDS_EN
            common = lean.sample(range(len(words)), 4)
            count = rng.randint(1, int(poll.get("max_words") or 1))
            picks: list[str] = []
            while len(picks) < count:
                idx = rng.choice(common) if rng.random() < 0.7 else rng.randrange(len(words))
                if words[idx] not in picks:
                    picks.append(words[idx])
            return {"words": picks}
        sentences = SENTENCES_UR if urdu else SENTENCES_EN
        return {"text": rng.choice(sentences)}

    async def _vote(self, poll: dict[str, Any]) -> None:
        rng = self._item_rng(f"poll:{poll['kind']}:{poll['question']}:{poll.get('options')}")
        p = self.sim.profile
        if rng.random() < p.never_answers:
            return
        await self.sim.sleep(self._delay(rng))
        answer = self.poll_answer(poll, rng)
        vote_id = f"v{self.index}-{self.sim.run_id}"
        await self.online.wait()
        ack = await self.call(
            "poll_vote", {"poll_id": poll["poll_id"], "vote_id": vote_id, **answer}
        )
        if ack.get("ok") and not ack.get("duplicate"):
            self.sim.stats.votes += 1
            self.sim.record(self.index, f"poll:{poll['question']}", answer)
        if ack.get("ok") and rng.random() < p.change_vote:
            await self.sim.sleep(self._delay(rng))
            again = self.poll_answer(poll, rng)
            await self.call(
                "poll_vote", {"poll_id": poll["poll_id"], "vote_id": vote_id + "b", **again}
            )

    # --- quizzes ---------------------------------------------------------------------------

    def _schedule_question(self, q: dict[str, Any]) -> None:
        key = f"q:{q['quiz_id']}:{q['question']}"
        if key in self.handled:
            return
        self.handled.add(key)
        self._schedule(key, self._answer(q))

    def quiz_answer(
        self, q: dict[str, Any], rng: random.Random, correct: Any | None
    ) -> dict[str, Any]:
        """The answer fields: right unless this student is wrong on this question (or the
        answer is not known: then the class's shared guess)."""
        wrong = rng.random() < self.sim.profile.wrong_rate
        kind = q["type"]
        lean = random.Random(f"{self.sim.seed}:guess:{q['text']}")
        if kind in ("single", "true_false"):
            n = 2 if kind == "true_false" else len(q.get("options") or [])
            if correct is None:
                right = lean.randrange(n)
            elif kind == "true_false":
                right = 0 if correct else 1
            else:
                right = int(correct[0])
            if wrong and n > 1:
                return {"option": rng.choice([i for i in range(n) if i != right])}
            return {"option": right}
        if kind == "multiple":
            n = len(q.get("options") or [])
            right_set = set(correct) if correct is not None else {lean.randrange(n)}
            if wrong:
                picked = set(right_set)
                flip = rng.randrange(n)
                picked ^= {flip}
                return {"options": sorted(picked or {(flip + 1) % n})}
            return {"options": sorted(right_set)}
        if kind == "numeric":
            value = float(correct) if correct is not None else float(lean.randint(1, 100))
            if wrong:
                value += rng.choice([-10, -2, -1, 1, 2, 10])
            return {"number": int(value) if value == int(value) else value}
        texts = list(correct) if correct else ["?"]
        if wrong:
            return {"text": rng.choice(WORDS_UR + WORDS_EN)}
        return {"text": texts[0]}

    async def _answer(self, q: dict[str, Any]) -> None:
        rng = self._item_rng(f"quiz:{q['text']}:{q.get('options')}:{q['question']}")
        if rng.random() < self.sim.profile.never_answers:
            return
        delay = self._delay(rng)
        limit = q.get("time_limit_ms")
        if limit:
            delay = min(
                delay, max(0.2, limit / 1000 * self.sim.time_scale - 1.5) / self.sim.time_scale
            )
        await self.sim.sleep(delay)
        correct = await self.sim.correct_answer(q["quiz_id"], int(q["question"]))
        answer = self.quiz_answer(q, rng, correct)
        await self.online.wait()
        ack = await self.call(
            "quiz_answer",
            {
                "quiz_id": q["quiz_id"],
                "question": q["question"],
                "answer_id": f"a{self.index}-{q['question']}-{self.sim.run_id}",
                **answer,
            },
        )
        if ack.get("ok") and not ack.get("duplicate"):
            self.sim.stats.answers += 1
            self.sim.record(self.index, f"quiz:{q['text']}", answer)

    # --- hands, ink, drops -----------------------------------------------------------------

    async def _hands(self) -> None:
        p = self.sim.profile
        if p.hands_per_min <= 0:
            return
        while not self.stopped:
            await self.sim.sleep(self.rng.expovariate(p.hands_per_min / 60))
            await self.online.wait()
            if not self.hand_up:
                ack = await self.call("hand_raise", {"raised": True})
                if ack.get("ok"):
                    self.hand_up = True
                    self.sim.stats.hands += 1
                    await self.sim.sleep(self.rng.expovariate(1 / p.hand_hold_s))
                    if self.hand_up and self.sio is not None and self.sio.connected:
                        await self.call("hand_raise", {"raised": False})
                        self.hand_up = False

    async def _draw(self) -> None:
        lo, hi = self.sim.profile.draw_strokes
        await self.sim.sleep(self._delay(self.rng))
        for _ in range(self.rng.randint(lo, hi)):
            if not self.may_draw or self.stopped:
                return
            await self.online.wait()
            await self._stroke()
            await self.sim.sleep(self.rng.uniform(0.3, 1.5))

    def stroke_points(self) -> list[list[float]]:
        """A simple figure a child draws: a line, a circle or a tick."""
        rng = self.rng
        cx, cy = rng.uniform(200, 1700), rng.uniform(150, 900)
        shape = rng.choice(["line", "circle", "tick"])
        n = rng.randint(20, 90)
        r = rng.uniform(60, 140)
        pts: list[list[float]] = []
        for i in range(n):
            f = i / (n - 1)
            if shape == "circle":
                x, y = cx + r * math.cos(2 * math.pi * f), cy + r * math.sin(2 * math.pi * f)
            elif shape == "tick":
                if f < 0.35:
                    x, y = cx + 60 * f / 0.35, cy + 60 * f / 0.35
                else:
                    g = (f - 0.35) / 0.65
                    x, y = cx + 60 + 140 * g, cy + 60 - 180 * g
            else:
                x, y = cx + 300 * f, cy + 80 * math.sin(f * 3)
            x = min(1920.0, max(0.0, x + rng.uniform(-2, 2)))
            y = min(1080.0, max(0.0, y + rng.uniform(-2, 2)))
            pts.append([round(x, 1), round(y, 1), 0.5, i * 16])
        return pts

    async def _stroke(self) -> None:
        pts = self.stroke_points()
        stroke_id = self._id("s")
        color = self.rng.choice(COLORS)
        ack = await self.call(
            "stroke_start",
            {
                "stroke_id": stroke_id,
                "page_id": self.page,
                "tool": "pen",
                "color": color,
                "width": 4,
                "points": pts[:16],
            },
        )
        if not ack.get("ok"):
            return
        sent = 16
        while sent < len(pts):
            if not self.may_draw:
                return
            batch = pts[sent : sent + 16]
            await asyncio.sleep(0.05)  # a batch every ~50 ms, as the browser sends ink
            ack = await self.call(
                "stroke_extend", {"stroke_id": stroke_id, "offset": sent, "points": batch}
            )
            if not ack.get("ok"):
                return
            sent += len(batch)
        ack = await self.call("stroke_end", {"stroke_id": stroke_id, "length": len(pts)})
        if ack.get("ok"):
            self.sim.stats.strokes += 1

    async def _drops(self) -> None:
        p = self.sim.profile
        if p.drops_per_min <= 0:
            return
        while not self.stopped:
            await self.sim.sleep(self.rng.expovariate(p.drops_per_min / 60))
            if self.stopped:
                return
            await self.drop_and_rejoin(self.rng.uniform(*p.away_s))

    async def drop_and_rejoin(self, away_s: float) -> None:
        """Leave the Wi-Fi for ``away_s`` and come back with the same token."""
        sio = self.sio
        if sio is None:
            return
        self.sim.stats.drops += 1
        await sio.disconnect()
        self.online.clear()
        await self.sim.sleep(away_s)
        if self.stopped:
            return
        if await self.connect():
            self.sim.stats.rejoins += 1

    async def run(self, start_delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.sim.stopping.wait(), start_delay * self.sim.time_scale)
        if self.stopped or self.sim.stopping.is_set() or not await self.join():
            return
        if not await self.connect():
            return
        extra = [asyncio.ensure_future(self._hands()), asyncio.ensure_future(self._drops())]
        try:
            waits = [
                asyncio.ensure_future(self.sim.stopping.wait()),
                asyncio.ensure_future(self.leave.wait()),
            ]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
        finally:
            self.stopped = True
            for task in [*extra, *self.tasks.values()]:
                task.cancel()
            await asyncio.gather(*extra, *self.tasks.values(), return_exceptions=True)
            if self.sio is not None and self.sio.connected:
                await self.sio.disconnect()


class Simulation:
    """A class of simulated students against one server."""

    def __init__(
        self,
        server: str,
        code: str,
        students: int,
        *,
        profile: Profile,
        seed: str = "1",
        time_scale: float = 1.0,
        verbose: bool = False,
        teacher_token: str | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.code = code
        self.count = students
        self.profile = profile
        self.seed = seed
        self.time_scale = time_scale
        self.verbose = verbose
        self.teacher_token = teacher_token
        self.run_id = f"{int(time.time() * 1000) % 10**9:x}{os.getpid() % 10**4:x}"
        self.stats = Stats()
        self.stopping = asyncio.Event()
        self.class_ended = asyncio.Event()
        self.students: list[Student] = []
        self.runs: list[asyncio.Future[None]] = []
        self.choices: dict[str, dict[int, Any]] = {}
        self._keys: dict[str, dict[str, Any]] = {}
        self._key_lock = asyncio.Lock()
        self.class_id = ""
        self.http: aiohttp.ClientSession

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds * self.time_scale))

    def record(self, index: int, item: str, answer: Any) -> None:
        self.choices.setdefault(item, {})[index] = answer

    async def correct_answer(self, quiz_id: str, question: int) -> Any | None:
        """The question's correct answer when the teacher's token was given (else None)."""
        if not self.teacher_token or not self.class_id:
            return None
        async with self._key_lock:
            if quiz_id not in self._keys:
                self._keys[quiz_id] = await self._read_quiz(quiz_id)
        questions = self._keys[quiz_id].get("questions") or []
        if 0 <= question < len(questions):
            return questions[question].get("correct")
        return None

    async def _read_quiz(self, quiz_id: str) -> dict[str, Any]:
        after = 0
        headers = {"Authorization": f"Bearer {self.teacher_token}"}
        for _ in range(50):
            url = f"{self.server}/api/classes/{self.class_id}/replay/events?after_seq={after}"
            async with self.http.get(url, headers=headers) as resp:
                if resp.status != 200:
                    return {}
                body = await resp.json()
            for event in body["events"]:
                if event["type"] == "quiz_created" and event["data"]["quiz_id"] == quiz_id:
                    return dict(event["data"]["quiz"])
            after = int(body["next_after_seq"])
            if not body["more"]:
                break
        return {}

    def resize(self, students: int) -> None:
        """Change the class size while it runs: more join (a student who left before comes
        back as the same student), the last ones leave."""
        while len(self.students) < students:
            student = Student(self, len(self.students))
            self.students.append(student)
            self.runs.append(asyncio.ensure_future(student.run(student.rng.uniform(0, 1))))
        for student in self.students[students:]:
            student.leave.set()
        del self.students[students:]
        self.count = students

    async def run(self, duration_s: float | None) -> Stats:
        async with aiohttp.ClientSession() as http:
            self.http = http
            self.students = [Student(self, i) for i in range(self.count)]
            spread = self.profile.join_spread_s
            starts = [
                random.Random(f"{self.seed}:arrive:{i}").uniform(0, spread)
                for i in range(self.count)
            ]
            self.runs = [
                asyncio.ensure_future(s.run(d)) for s, d in zip(self.students, starts, strict=True)
            ]
            waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(self.class_ended.wait())]
            if duration_s is not None:
                waiters.append(asyncio.ensure_future(asyncio.sleep(duration_s)))
            waiters.append(asyncio.ensure_future(self.stopping.wait()))
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            self.stopping.set()
            for w in waiters:
                w.cancel()
            while self.runs:
                await asyncio.gather(*self.runs, return_exceptions=True)
                self.runs = [r for r in self.runs if not r.done()]
        return self.stats


def _time_scale(raw: str) -> float:
    value = float(raw)
    if not 0.01 <= value <= 100:
        raise argparse.ArgumentTypeError("time scale must be between 0.01 and 100")
    return value


def _students(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 500:
        raise argparse.ArgumentTypeError("students must be 1-500")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", required=True, metavar="URL", help="e.g. http://127.0.0.1:8080")
    parser.add_argument("--code", required=True, metavar="CODE", help="the class's join code")
    parser.add_argument("--students", type=_students, default=25, metavar="N", help="default 25")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="calm")
    parser.add_argument("--seed", default="1", metavar="S", help="the same seed, the same choices")
    parser.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="stop after S seconds (default: until the class ends)",
    )
    parser.add_argument(
        "--wrong-rate",
        type=float,
        metavar="R",
        help="share of wrong answers, 0-1 (default: the profile's)",
    )
    parser.add_argument(
        "--time-scale",
        type=_time_scale,
        default=1.0,
        metavar="X",
        help="multiply every delay by X (0.1: ten times faster)",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help='read JSON lines on standard input: {"students": N}, {"profile": P}, '
        '{"drop": I, "away_s": S} (student I drops and rejoins), {"stop": true}; '
        "the run stops when standard input closes",
    )
    parser.add_argument("--verbose", action="store_true", help="print every error ack")


async def _control(sim: Simulation) -> None:
    """Follow the server's instructions on standard input (one JSON object a line)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while not sim.stopping.is_set():
        line = await reader.readline()
        if not line:
            sim.stopping.set()  # the server went away: so do its students
            return
        try:
            order = json.loads(line)
        except ValueError:
            continue
        if isinstance(order.get("profile"), str) and order["profile"] in PROFILES:
            sim.profile = PROFILES[order["profile"]]
        if isinstance(order.get("students"), int) and 1 <= order["students"] <= 500:
            sim.resize(order["students"])
        drop = order.get("drop")
        if isinstance(drop, int) and 0 <= drop < len(sim.students):
            away = order.get("away_s")
            away_s = float(away) if isinstance(away, int | float) else 1.0
            sim.runs.append(
                asyncio.ensure_future(sim.students[drop].drop_and_rejoin(min(away_s, 60.0)))
            )
        if order.get("stop") is True:
            sim.stopping.set()


async def run_cli(args: argparse.Namespace) -> int:
    profile = PROFILES[args.profile]
    if args.wrong_rate is not None:
        if not 0 <= args.wrong_rate <= 1:
            print("classroom simulate: --wrong-rate must be between 0 and 1", file=sys.stderr)
            return 2
        profile = replace(profile, wrong_rate=args.wrong_rate)
    sim = Simulation(
        args.server,
        args.code,
        args.students,
        profile=profile,
        seed=str(args.seed),
        time_scale=args.time_scale,
        verbose=args.verbose,
        teacher_token=os.environ.get(TEACHER_TOKEN_ENV) or None,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, sim.stopping.set)
    control = asyncio.ensure_future(_control(sim)) if args.control else None
    stats = await sim.run(args.duration)
    if control is not None:
        control.cancel()
    print(json.dumps({**stats.as_json(), "choices": sim.choices}, ensure_ascii=False), flush=True)
    return 0 if not stats.errors else 1
