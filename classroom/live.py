"""Connections and events of live classes: authenticate, validate and dispatch, fan out.

Every client->server event goes through :meth:`LiveServer.dispatch`: role check, rate limit,
schema validation, then the feature handler. Any failure becomes an error ack; nothing is
applied before validation passes; unexpected exceptions are logged and answered ``INTERNAL``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import socketio
from aiohttp import web
from pydantic import ValidationError

from classroom import handlers, quizzes
from classroom.auth import TokenClaims, check_teacher_generation
from classroom.boundary import (
    client_address,
    describe_validation_error,
    limit_key,
    on_own_address,
)
from classroom.errors import (
    ClassEnded,
    ClassroomError,
    Conflict,
    Forbidden,
    InternalError,
    InvalidPayload,
    NotFound,
    RateLimited,
    StudentRemoved,
    Unauthorized,
    UnknownEvent,
)
from classroom.handlers import Session
from classroom.hub import ClassRuntime
from classroom.log import ANONYMOUS, Actor, Event
from classroom.presence import PresenceLog
from classroom.protocol import EVENTS, SESSION_ERROR, check_client_version
from classroom.ratelimit import (
    CONNECT_ATTEMPTS_PER_ADDRESS,
    CONNECTS_PER_TOKEN,
    RATES,
    Buckets,
    ConnectionBook,
    Identity,
    TokenBucket,
)
from classroom.services import Services
from classroom.tallies import TallyCoalescer
from classroom.transport import MALFORMED, UNKNOWN, Transport
from classroom.wire import SharedDeflate

logger = logging.getLogger(__name__)


def class_room(class_id: str) -> str:
    return f"c:{class_id}"


def teachers_room(class_id: str) -> str:
    return f"c:{class_id}:t"


def actor_room(class_id: str, actor: Actor) -> str:
    return f"c:{class_id}:u:{actor.role}:{actor.id}"


ClassEndedHook = Callable[[str], Coroutine[Any, Any, None]]
# Close this process's connections of one student of a class (the teacher removed them).
StudentRemovedHook = Callable[[str, str], Coroutine[Any, Any, None]]

# A refused connection attempt is answered after this long (a tarpit for clients that retry
# in a loop), and at most this many are held at once (each holds a descriptor).
REFUSAL_HOLD_S = 1.0
MAX_HELD_REFUSALS = 128


class Fanout:
    """Sends what a class runtime applies to the clients of this process allowed to see it.

    Made before the hub, which is given :meth:`emit_event` at construction; it needs only the
    transport (the runtime that applied an event comes with it) and what to do once a class
    ended (close its students' and boards' connections) or a student was removed (close theirs).
    """

    def __init__(
        self,
        transport: Transport,
        on_class_ended: ClassEndedHook,
        on_student_removed: StudentRemovedHook,
    ) -> None:
        self.transport = transport
        self.tallies = TallyCoalescer(self._send_tally)
        self._on_class_ended = on_class_ended
        self._on_student_removed = on_student_removed
        self._closing: set[asyncio.Task[None]] = set()
        # The deflate stream each class with connections here shares among its students.
        self._streams: dict[str, SharedDeflate] = {}

    def class_left(self, class_id: str) -> None:
        """This process has no clients in the class any more: forget its deflate stream."""
        self._streams.pop(class_id, None)

    async def _send_tally(self, class_id: str, data: dict[str, Any]) -> None:
        await self.transport.emit("poll_tally", data, to=teachers_room(class_id))

    def _send_results(self, runtime: ClassRuntime, event: Event) -> None:
        """Each student's own ``quiz_result`` of the question that closed, to them only.

        Every process sends to its own students (rooms are per process), from the class state
        right after the close: score, place and whether they were right, at once, not only
        after a reload.
        """
        quiz_id, question = str(event.data["quiz_id"]), int(event.data["question"])
        try:
            results = quizzes.question_results(
                runtime.state.part("quizzes"),
                quiz_id,
                question,
                runtime.state.part("core").names,
            )
        except ClassroomError:
            return
        cid = event.class_id
        for student_id, data in results.items():
            self.transport.send("quiz_result", data, actor_room(cid, Actor("student", student_id)))

    async def emit_event(self, runtime: ClassRuntime, event: Event) -> None:
        """Send an event ``runtime`` has applied to everyone here allowed to see it.

        The hot path of a live class (every stroke batch goes to every student), so it does not
        use ``sio.emit``: that starts one task per recipient and waits for them all. Here the
        packet is encoded once and written to each recipient's websocket at once
        (``classroom/transport.py``): no task, no await, so the class runtime's pump never
        yields between events.
        """
        cid = event.class_id
        send = self.transport.send
        if event.anonymous:
            # Teachers get the vote without its author; the author gets their own copy.
            send(event.type, event.to_wire_for(ANONYMOUS), teachers_room(cid))
            send(event.type, event.to_wire(), actor_room(cid, event.actor))
        else:
            shared = None
            if event.audience == "all":
                to: str | list[str] = class_room(cid)
                shared = self._streams.get(cid)
                if shared is None and runtime.local_clients:
                    shared = self._streams[cid] = SharedDeflate()
            elif event.audience == "teachers":
                to = teachers_room(cid)
            else:
                to = [teachers_room(cid), actor_room(cid, event.actor)]
            send(event.type, event.to_wire(), to, shared)
        self.tallies.touch(runtime, event)
        if event.type == "quiz_question_closed":
            self._send_results(runtime, event)
        if event.type == "class_ended":
            # After the broadcast is queued, so students see class_ended before the close; in a
            # task, so the class's pump does not wait for their disconnects to be logged.
            self._close_later(self._on_class_ended(cid))
        elif event.type == "student_removed" and event.actor.role == "teacher":
            student = Actor("student", str(event.data["student_id"]))
            refusal = StudentRemoved("the teacher removed you from this class")
            send(SESSION_ERROR, refusal.to_dict(), actor_room(cid, student))
            self._close_later(self._on_student_removed(cid, student.id))

    def _close_later(self, closing: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(closing)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


class LiveServer:
    """Authenticates connections and dispatches their events; the sessions of this process."""

    def __init__(
        self, services: Services, transport: Transport, fanout: Fanout, presence: PresenceLog
    ) -> None:
        self.services = services
        self.transport = transport
        self.fanout = fanout
        self.presence = presence
        self.sessions: dict[str, Session] = {}
        self.connections = ConnectionBook(
            per_identity=services.settings.max_connections_per_token,
            per_address=services.settings.max_connections_per_address,
        )
        # Connection attempts, counted before any store read or other work for them.
        self.attempts_by_address = Buckets(CONNECT_ATTEMPTS_PER_ADDRESS)
        self.connects_by_token = Buckets(CONNECTS_PER_TOKEN)
        self._held_refusals = 0
        transport.on("connect", self.on_connect)
        transport.on("disconnect", self.on_disconnect)
        for name in EVENTS:
            transport.on(name, self._bind(name))
        transport.on(MALFORMED, self.on_malformed)
        transport.on(UNKNOWN, self.on_unknown)

    def _bind(self, name: str) -> Any:
        async def handler(sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
            if extra:
                return self._error(InvalidPayload("send one payload object per event"))
            return await self.dispatch(sid, name, data)

        handler.__name__ = f"on_{name}"
        return handler

    async def on_malformed(self, sid: str, *args: Any) -> dict[str, Any]:
        self.services.metrics.rejected.labels(code=InvalidPayload.code).inc()
        return self._error(InvalidPayload("send [event, payload] as JSON, not nested too deeply"))

    async def on_unknown(self, sid: str, name: str, *args: Any) -> dict[str, Any]:
        """Any event name that is not in the protocol, ``connect`` and ``disconnect`` included."""
        self.services.metrics.rejected.labels(code=UnknownEvent.code).inc()
        return self._error(UnknownEvent(f"unknown event {name!r}"))

    # connections

    async def admit(self, request: web.Request) -> web.StreamResponse | None:
        """A new Engine.IO session (the transport asks before doing anything for it): refused
        with 429 RATE_LIMITED when its address has opened too many lately.

        The server's own computer (its browser, simulated students) is not counted. A refusal
        is answered after :data:`REFUSAL_HOLD_S` (at most :data:`MAX_HELD_REFUSALS` held at
        once; beyond, at once): a client retrying in a loop then makes about one attempt a
        second per connection. Answered at once, 2,000 attempts from one address were refused
        in 0.8 s and that burst took the class's ink p99 from 4.6 to 28 ms (bench/abuse.py).
        """
        if on_own_address(request):
            return None
        address = client_address(request, trusted_proxies=self.services.settings.trusted_proxies)
        wait = self.attempts_by_address.take(limit_key(address), time.monotonic())
        if wait <= 0:
            return None
        refusal = RateLimited(
            "too many connection attempts from this address; wait and try again",
            retry_after_s=wait,
        )
        self.services.metrics.rejected.labels(code=refusal.code).inc()
        if self._held_refusals < MAX_HELD_REFUSALS:
            self._held_refusals += 1
            try:
                await asyncio.sleep(REFUSAL_HOLD_S)
            finally:
                self._held_refusals -= 1
        return web.json_response(
            {"ok": False, "error": refusal.to_dict()},
            status=refusal.http_status,
            headers={"Retry-After": str(max(1, round(wait)))},
        )

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        # Counted before any await, so thousands of concurrent attempts from one address are
        # refused at the cap instead of all reaching the store.
        address = self._client_address(environ)
        request = environ.get("aiohttp.request")
        # The server's own computer (its browser, simulated students) is not capped.
        address_key = "" if request is not None and on_own_address(request) else limit_key(address)
        if not self.connections.open_address(address_key):
            refusal: ClassroomError = RateLimited(
                f"too many connections from this address (at most "
                f"{self.connections.per_address}); close some and try again",
                retry_after_s=10,
            )
            self.services.metrics.rejected.labels(code=refusal.code).inc()
            raise socketio.exceptions.ConnectionRefusedError(refusal.message, refusal.to_dict())
        try:
            claims = self._check_connect(auth, address_key)
            session = await self._authenticate(sid, auth, address, claims)
            runtime = await self.services.hub.attach(session.class_id)
        except ClassroomError as exc:
            self.connections.close_address(address_key)
            raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.to_dict()) from None
        except Exception:
            self.connections.close_address(address_key)
            logger.exception("connect failed")
            refusal = InternalError("the server could not accept the connection")
            raise socketio.exceptions.ConnectionRefusedError(
                refusal.message, refusal.to_dict()
            ) from None
        if session.actor.role != "teacher" and runtime.state.roster.ended:
            # Ended between the token check and now (class_ended is applied before its
            # fan-out closes the class's student and board connections).
            self.services.hub.detach(session.class_id)
            self.connections.close_address(address_key)
            refusal = ClassEnded("this class has ended")
            raise socketio.exceptions.ConnectionRefusedError(refusal.message, refusal.to_dict())
        if session.actor.role == "student":
            if session.actor.id in runtime.state.roster.removed:
                self.services.hub.detach(session.class_id)
                self.connections.close_address(address_key)
                refusal = StudentRemoved("the teacher removed you from this class")
                raise socketio.exceptions.ConnectionRefusedError(refusal.message, refusal.to_dict())
            session.actor = handlers.named(session.actor, runtime)
        self.sessions[sid] = session
        first, evicted = self.connections.add(self._identity(session), sid, address_key)
        connection = self.transport.connection(sid)
        if connection is not None and session.actor.role == "student":
            # Students get the class's broadcasts from one shared compressor (wire.py).
            connection.share_broadcasts()
        elif connection is not None and session.actor.role == "board":
            connection.accept_binary()  # camera images travel as Socket.IO attachments
        self.services.metrics.connected.labels(role=session.actor.role).inc()
        self.services.metrics.classes_loaded.set(len(self.services.hub))
        for old in evicted:
            # The newest connection of an identity wins (a reloaded page, a tablet that lost
            # its Wi-Fi and came back); the oldest beyond the cap is closed. One still being
            # accepted cannot be disconnected yet: out of the book, its own on_connect refuses it.
            self.connections.remove(old)
            await self.transport.disconnect(old)
        if session.actor.role == "student" and first:
            # Once per student in this process, not per connection: 2,000 connections on one
            # token used to append (and fan out) 2,000 presence events. Logged before the
            # connection is accepted, so the roster is right as soon as the student is in.
            await self._log_presence(session, connected=True)
        if not self._still_open(sid) or not self.connections.holds(sid):
            # The client went away while we awaited (python-socketio drops a disconnect that
            # arrives before the connect handler returns, so without this the session, its
            # presence and its address count would stay forever), or newer connections of the
            # same identity replaced this one meanwhile.
            await self.on_disconnect(sid)
            refusal = Conflict("a newer connection of this token replaced this one")
            raise socketio.exceptions.ConnectionRefusedError(refusal.message, refusal.to_dict())
        # Rooms last, with no await in between: nothing is sent to this socket before the
        # Socket.IO CONNECT packet. Events from before this point reach the client through
        # its class_snapshot / log_resume right after connecting.
        await self.transport.enter_room(sid, class_room(session.class_id))
        await self.transport.enter_room(sid, actor_room(session.class_id, session.actor))
        if session.actor.role == "teacher":
            await self.transport.enter_room(sid, teachers_room(session.class_id))

    @staticmethod
    def _identity(session: Session) -> Identity:
        return (session.class_id, session.actor.role, session.actor.id)

    def _client_address(self, environ: dict[str, Any]) -> str:
        request = environ.get("aiohttp.request")
        if request is None:
            return "unknown"
        return client_address(request, trusted_proxies=self.services.settings.trusted_proxies)

    def _still_open(self, sid: str) -> bool:
        connection = self.transport.connection(sid)
        return connection is not None and connection.is_open

    async def end_teacher_sessions(self, teacher: str) -> None:
        """Close this process's connections of ``teacher`` (their tokens were revoked)."""
        doomed = [
            sid
            for sid, session in self.sessions.items()
            if session.actor.role == "teacher" and session.actor.id == teacher
        ]
        for sid in doomed:
            await self.transport.disconnect(sid)

    async def end_student_sessions(self, class_id: str, student_id: str) -> None:
        """Close this process's connections of a student the teacher removed (their token no
        longer connects: ``on_connect`` refuses it with STUDENT_REMOVED)."""
        doomed = [
            sid
            for sid, session in self.sessions.items()
            if session.class_id == class_id
            and session.actor.role == "student"
            and session.actor.id == student_id
        ]
        for sid in doomed:
            await self.transport.disconnect(sid)

    async def end_class_sessions(self, class_id: str) -> None:
        """Close this process's student and board connections of an ended class (their
        tokens no longer connect: ``_authenticate`` refuses them with CLASS_ENDED)."""
        doomed = [
            sid
            for sid, session in self.sessions.items()
            if session.class_id == class_id and session.actor.role != "teacher"
        ]
        for sid in doomed:
            await self.transport.disconnect(sid)

    def students_here(self, class_id: str) -> Counter[Actor]:
        """The students of a class connected to this process, 1 each: presence is logged on a
        student's first connection here and their last, however many they hold."""
        return Counter(
            {
                s.actor
                for s in self.sessions.values()
                if s.class_id == class_id and s.actor.role == "student"
            }
        )

    async def _log_presence(self, session: Session, *, connected: bool) -> None:
        await self.presence.log(session.class_id, session.actor, connected=connected)

    def _check_connect(self, auth: Any, address_key: str) -> TokenClaims:
        """The claims of the token a client connects with, if it may try now: no store read.

        A token gets :data:`CONNECTS_PER_TOKEN` attempts (a tablet reconnecting in a loop),
        except on the server's own computer (``address_key`` "").
        """
        if not isinstance(auth, dict):
            raise Unauthorized("connect with auth {token, class_id?}")
        check_client_version(auth)
        claims = self.services.signer.check(auth.get("token"))
        if address_key:
            owner = (claims.role, claims.subject, claims.class_id)
            wait = self.connects_by_token.take(owner, time.monotonic())
            if wait > 0:
                raise RateLimited(
                    "this token connected too often lately; wait and try again",
                    retry_after_s=wait,
                )
        return claims

    async def _authenticate(
        self, sid: str, auth: dict[str, Any], address: str, claims: TokenClaims
    ) -> Session:
        store = self.services.store
        if claims.role == "teacher":
            class_id = auth.get("class_id")
            if not isinstance(class_id, str) or not 0 < len(class_id) <= 64:
                raise InvalidPayload(
                    "teachers connect with auth {token, class_id}", field="class_id"
                )
            record = await store.get_class(class_id)
            if record is None:
                raise NotFound("no such class", field="class_id")
            if record.teacher != claims.subject:
                raise Forbidden("this class belongs to another teacher")
            await check_teacher_generation(self.services.store, claims)
            # Tablets behind the teacher's address can see the join code on the board.
            self.services.join_guard.mark_home(limit_key(address), class_id, time.monotonic())
            actor = Actor("teacher", claims.subject, claims.subject)
        else:
            class_id = claims.class_id or ""
            record = await store.get_class(class_id)
            if record is None:
                raise NotFound("the class of this token no longer exists")
            if record.ended:
                # Ending a class ends its student and device tokens.
                raise ClassEnded("this class has ended")
            if claims.role == "student":
                student = await store.get_student(class_id, claims.subject)
                if student is None:
                    raise Unauthorized("unknown student; join again with the class code")
                actor = Actor("student", student.id, student.name)
            else:
                device = await store.get_device(class_id, claims.subject)
                if device is None:
                    raise Unauthorized("unknown board device; ask the teacher for a new token")
                actor = Actor("board", device.id, device.name)
        return Session(sid=sid, actor=actor, class_id=class_id, address=address)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        session = self.sessions.pop(sid, None)
        if session is None:
            return
        last = self.connections.remove(sid)
        self.services.metrics.connected.labels(role=session.actor.role).dec()
        if session.actor.role == "student" and last:
            await self._log_presence(session, connected=False)
        self.services.hub.detach(session.class_id)
        runtime = self.services.hub.loaded(session.class_id)
        if runtime is None or runtime.local_clients == 0:
            self.fanout.class_left(session.class_id)

    # events

    async def dispatch(self, sid: str, name: str, data: Any) -> dict[str, Any]:
        """Validate and run one client event; always returns an ack."""
        try:
            session = self.sessions.get(sid)
            if session is None:
                raise Unauthorized("not connected to a class")
            spec = EVENTS[name]
            if session.actor.role not in spec.roles:
                raise Forbidden(f"a {session.actor.role} may not send {name}")
            if self.services.settings.rate_limits:
                self._check_rate(session, spec.rate)
            try:
                payload = spec.payload.model_validate({} if data is None else data)
            except ValidationError as exc:
                raise describe_validation_error(exc) from None
            result = await handlers.run(self.services, session, name, payload)
        except ClassroomError as exc:
            self.services.metrics.rejected.labels(code=exc.code).inc()
            return self._error(exc)
        except RecursionError:
            self.services.metrics.rejected.labels(code=InvalidPayload.code).inc()
            return self._error(InvalidPayload("payload is nested too deeply"))
        except Exception:
            logger.exception("event %s failed", name)
            self.services.metrics.rejected.labels(code=InternalError.code).inc()
            return self._error(InternalError("something went wrong; the event was not applied"))
        return {"ok": True, **result}

    @staticmethod
    def _error(exc: ClassroomError) -> dict[str, Any]:
        return {"ok": False, "error": exc.to_dict()}

    @staticmethod
    def _check_rate(session: Session, bucket_name: str) -> None:
        now = time.monotonic()
        bucket = session.buckets.get(bucket_name)
        if bucket is None:
            bucket = session.buckets[bucket_name] = TokenBucket(RATES[bucket_name], now)
        wait = bucket.take(now)
        if wait > 0:
            raise RateLimited("too many events; slow down", retry_after_s=wait)
