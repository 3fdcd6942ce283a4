"""Connections and events of live classes: authenticate, validate and dispatch, fan out.

Every client->server event goes through :meth:`LiveServer.dispatch`: role check, rate limit,
schema validation, then the feature handler. Any failure becomes an error ack; nothing is
applied before validation passes; unexpected exceptions are logged and answered ``INTERNAL``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import socketio
from pydantic import ValidationError

from classroom import roster
from classroom.boundary import client_address, describe_validation_error
from classroom.errors import (
    ClassroomError,
    Forbidden,
    InternalError,
    InvalidPayload,
    NotFound,
    RateLimited,
    Unauthorized,
    UnknownEvent,
)
from classroom.handlers import HANDLERS, Call, Session
from classroom.hub import ClassRuntime
from classroom.log import ANONYMOUS, Actor, Event
from classroom.protocol import EVENTS
from classroom.ratelimit import RATES, TokenBucket
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


class Fanout:
    """Sends what a class runtime applies to the clients of this process allowed to see it.

    Made before the hub, which is given :meth:`emit_event` at construction; it needs only the
    transport (the runtime that applied an event comes with it).
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.tallies = TallyCoalescer(self._send_tally)
        # The deflate stream each class with connections here shares among its students.
        self._streams: dict[str, SharedDeflate] = {}

    def class_left(self, class_id: str) -> None:
        """This process has no clients in the class any more: forget its deflate stream."""
        self._streams.pop(class_id, None)

    async def _send_tally(self, class_id: str, data: dict[str, Any]) -> None:
        await self.transport.emit("poll_tally", data, to=teachers_room(class_id))

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


class LiveServer:
    """Authenticates connections and dispatches their events; the sessions of this process."""

    def __init__(self, services: Services, transport: Transport, fanout: Fanout) -> None:
        self.services = services
        self.transport = transport
        self.fanout = fanout
        self.sessions: dict[str, Session] = {}
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

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            session = await self._authenticate(sid, environ, auth)
        except ClassroomError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.to_dict()) from None
        except Exception:
            logger.exception("connect failed")
            refusal = InternalError("the server could not accept the connection")
            raise socketio.exceptions.ConnectionRefusedError(
                refusal.message, refusal.to_dict()
            ) from None
        await self.services.hub.attach(session.class_id)
        self.sessions[sid] = session
        connection = self.transport.connection(sid)
        if connection is not None and session.actor.role == "student":
            # Students get the class's broadcasts from one shared compressor (wire.py).
            connection.share_broadcasts()
        elif connection is not None and session.actor.role == "board":
            connection.accept_binary()  # camera images travel as Socket.IO attachments
        self.services.metrics.connected.labels(role=session.actor.role).inc()
        self.services.metrics.classes_loaded.set(len(self.services.hub))
        if session.actor.role == "student":
            # Logged before the connection is accepted, so the roster is right as soon as the
            # student is in.
            await self._log_presence(session, connected=True)
        # Rooms last, with no await in between: nothing is sent to this socket before the
        # Socket.IO CONNECT packet. Events from before this point reach the client through
        # its class_snapshot / log_resume right after connecting.
        await self.transport.enter_room(sid, class_room(session.class_id))
        await self.transport.enter_room(sid, actor_room(session.class_id, session.actor))
        if session.actor.role == "teacher":
            await self.transport.enter_room(sid, teachers_room(session.class_id))

    async def _log_presence(self, session: Session, *, connected: bool) -> None:
        try:
            await self.services.append(
                session.class_id,
                session.actor,
                [roster.presence(session.actor.id, connected=connected)],
            )
        except ClassroomError:
            logger.warning("could not log the presence of %s", session.actor.id)

    async def _authenticate(self, sid: str, environ: dict[str, Any], auth: Any) -> Session:
        if not isinstance(auth, dict):
            raise Unauthorized("connect with auth {token, class_id?}")
        claims = self.services.signer.check(auth.get("token"))
        store = self.services.store
        request = environ.get("aiohttp.request")
        address = (
            client_address(request, trust_proxy=self.services.settings.trust_proxy)
            if request is not None
            else "unknown"
        )
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
            actor = Actor("teacher", claims.subject, claims.subject)
        else:
            class_id = claims.class_id or ""
            if await store.get_class(class_id) is None:
                raise NotFound("the class of this token no longer exists")
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
        self.services.metrics.connected.labels(role=session.actor.role).dec()
        if session.actor.role == "student":
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
            runtime = await self.services.hub.get(session.class_id)
            result = await HANDLERS[name](Call(self.services, session, runtime), payload)
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
