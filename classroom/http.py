"""HTTP routes: login, classes, joining, board devices, QR codes, health and metrics.

Every route is declared in ``classroom/protocol/http.py`` (bodies, answers, errors; the docs
come from there); a test checks that ``add_routes`` registers exactly those.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import segno
from aiohttp import BodyPartReader, hdrs, web
from PIL import Image
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError

from classroom import (
    camera,
    classes,
    handlers,
    lessons,
    netaddr,
    pictures,
    practice,
    quiz_bundle,
    quiz_import,
    render,
    reports,
    roster,
    timeline,
)
from classroom import debrief as debrief_feature
from classroom.auth import (
    MIN_PASSWORD_CHARS,
    TokenClaims,
    check_teacher_generation,
    hash_password,
    verify_password,
)
from classroom.boundary import (
    client_address,
    describe_validation_error,
    limit_key,
    on_this_computer,
)
from classroom.classes import ClassRecord, DeviceRecord, StudentRecord, TeacherRecord
from classroom.errors import (
    Busy,
    ClassEnded,
    ClassroomError,
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InternalError,
    InvalidPayload,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    QuizBundleInvalid,
    RateLimited,
    RequestTimeout,
    StudentRemoved,
    Unauthorized,
)
from classroom.handlers import Session
from classroom.keys import LIVE, SERVICES
from classroom.log import Actor
from classroom.logs import short_exception
from classroom.protocol.audio import MAX_SEGMENT_BYTES, AudioSegment
from classroom.protocol.core import ClassEnd
from classroom.protocol.http import (
    LESSON_PAGE_DEFAULT,
    LESSON_PAGE_MAX,
    MAX_IMAGE_UPLOAD,
    MAX_JSON_BODY,
    MAX_QUIZ_UPLOAD,
    REPLAY_PAGE_DEFAULT,
    REPLAY_PAGE_MAX,
    ClassCreateBody,
    DeviceBody,
    JoinBody,
    LoginBody,
    PasswordBody,
    PracticeBody,
    PracticeChangeBody,
    SetupBody,
    ShareBody,
)
from classroom.protocol.lessons import LessonDetails, LessonDetailsSet, LessonShare
from classroom.protocol.quizzes import QuizCreate
from classroom.services import Services

logger = logging.getLogger(__name__)

SOCKETIO_PATH = "/socket.io/"
M = TypeVar("M", bound=BaseModel)
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


IDEMPOTENCY_HEADER = "Idempotency-Key"


def _idempotency_key(request: web.Request) -> str | None:
    """The client's ``Idempotency-Key`` header: a retry with it is answered with the first
    request's result instead of being applied again."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not classes.is_client_id(key):
        raise InvalidPayload(
            f"{IDEMPOTENCY_HEADER} is 1-64 letters, digits or _.:-", field=IDEMPOTENCY_HEADER
        )
    return key


def _http_session(request: web.Request, actor: Actor, class_id: str) -> Session:
    return Session(sid="http", actor=actor, class_id=class_id, address=_address(request))


_HTTP_REFUSALS: dict[int, type[ClassroomError]] = {
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


@web.middleware
async def error_middleware(request: web.Request, handler: Route) -> web.StreamResponse:
    """Turn domain errors into JSON error bodies with their HTTP status; never a traceback."""
    try:
        return await handler(request)
    except ClassroomError as exc:
        response = _error_response(exc)
        if isinstance(exc, RequestTimeout):
            response.force_close()  # the rest of the body may never come: do not wait for it
        return response
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith("/api/"):
            # aiohttp's own refusals (no route, no such method, a body too large), in the
            # documented codes; anything else it refuses is a bad request.
            fallback = InvalidPayload if exc.status < 500 else InternalError
            error = _HTTP_REFUSALS.get(exc.status, fallback)
            return _error_response(error(str(exc.reason)))
        raise
    except Exception as exc:
        if request.path.startswith(SOCKETIO_PATH):
            # Engine.IO raises out of its websocket reader on a packet a client made up (a
            # bare invalid frame did, 44 MB/min of tracebacks, no token needed): one line.
            logger.warning(
                "%s %s: connection dropped on a bad packet: %s",
                request.method,
                request.path,
                short_exception(exc),
            )
            response = _error_response(InternalError("bad packet"))
            response.force_close()
            return response
        logger.exception("%s %s failed", request.method, request.path)
        return _error_response(InternalError("something went wrong; nothing was changed"))


def _error_response(exc: ClassroomError) -> web.Response:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
    elif isinstance(exc, Busy):
        headers["Retry-After"] = "1"
    return web.json_response(
        {"ok": False, "error": exc.to_dict()}, status=exc.http_status, headers=headers
    )


async def _parse(request: web.Request, model: type[M]) -> M:
    raw = await _read_body(request, MAX_JSON_BODY, "request body")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError) as exc:
        raise InvalidPayload("request body is not valid JSON") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise describe_validation_error(exc) from None


async def _read_body(
    request: web.Request, limit: int, what: str, *, field: str | None = None
) -> bytes:
    """The whole body, at most ``limit`` bytes, within the settings' body timeout.

    A client that sends headers and then stalls would otherwise hold the handler (and a
    descriptor) for good.
    """
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the {what} is larger than {limit} bytes", field=field)
    try:
        async with asyncio.timeout(_services(request).settings.request_body_timeout_s):
            data = await _read_all(request, limit + 1)
    except TimeoutError:
        raise RequestTimeout(f"the {what} did not arrive in time", field=field) from None
    if len(data) > limit:
        raise PayloadTooLarge(f"the {what} is larger than {limit} bytes", field=field)
    return data


async def _read_all(request: web.Request, most: int) -> bytes:
    # StreamReader.read(n) returns what is buffered, not n bytes: read until the end.
    chunks: list[bytes] = []
    size = 0
    while size < most:
        chunk = await request.content.read(most - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


def _address(request: web.Request) -> str:
    return client_address(request, trusted_proxies=_services(request).settings.trusted_proxies)


async def _teacher(request: web.Request) -> TokenClaims:
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    services = _services(request)
    claims = services.signer.check(token)
    if claims.role != "teacher":
        raise Forbidden("only a teacher may do this")
    await check_teacher_generation(services.store, claims)
    return claims


async def _teacher_token(services: Services, name: str) -> str:
    generation = await services.store.token_generation(name) or 0
    return services.signer.issue(TokenClaims(role="teacher", subject=name, generation=generation))


async def _own_class(request: web.Request) -> tuple[TokenClaims, ClassRecord]:
    claims = await _teacher(request)
    class_id = request.match_info["class_id"]
    if len(class_id) > 64:
        raise NotFound("no such class")
    record = await _services(request).store.get_class(class_id)
    if record is None:
        raise NotFound("no such class")
    if record.teacher != claims.subject:
        raise Forbidden("this class belongs to another teacher")
    return claims, record


def _join_base(request: web.Request) -> tuple[str, bool]:
    """The base URL of join links and QR codes, and whether tablets can open it: never a
    loopback address while the server has a LAN address (``classroom/netaddr.py``)."""
    settings = _services(request).settings
    if settings.host in ("0.0.0.0", "::", ""):
        lan = netaddr.lan_addresses()
    else:  # bound to one address: only that one is reachable
        lan = [settings.host] if netaddr.usable(settings.host) else []
    url = request.url
    return netaddr.join_base(
        request.scheme, url.host or "", url.port, public_url=settings.public_url, lan=lan
    )


def _base_url(request: web.Request) -> str:
    return _join_base(request)[0]


def _class_json(request: web.Request, record: ClassRecord) -> dict[str, Any]:
    base, reachable = _join_base(request)
    join_url = f"{base}/join/{record.join_code}"
    return {
        "class_id": record.id,
        "title": record.title,
        "join_code": record.join_code,
        "join_url": join_url,
        "join_reachable": reachable,
        "created_at": record.created_at,
        "ended": record.ended,
        "qr_svg": f"/api/classes/{record.id}/qr.svg",
        "qr_png": f"/api/classes/{record.id}/qr.png",
        "practice": record.practice,
    }


# routes


async def healthz(request: web.Request) -> web.Response:
    services = _services(request)
    started = time.perf_counter()
    try:
        await services.store.ping()
    except Exception as exc:
        logger.warning("health check: store unreachable: %s", exc)
        return web.json_response(
            {
                "ok": False,
                "store": services.store.name,
                "error": {"code": "STORE_UNAVAILABLE", "message": "the store is unreachable"},
            },
            status=503,
        )
    latency = time.perf_counter() - started
    services.metrics.store_ping.set(latency)
    return web.json_response(
        {"ok": True, "store": services.store.name, "store_ping_ms": round(latency * 1000, 3)}
    )


async def metrics(request: web.Request) -> web.Response:
    registry = _services(request).metrics.registry
    return web.Response(
        body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


async def login(request: web.Request) -> web.Response:
    """A teacher signs in with name and password.

    Failures count per (address, teacher name), so guessing one teacher's password locks
    nobody else out. A browser that signed in before sends its remembered-device token; its
    failures then count against that device alone, so a student hammering the teacher's name
    from the same school address cannot lock the teacher out. The server's own computer is
    never locked out (docs/operations.md, "Teacher logins").
    """
    services = _services(request)
    body = await _parse(request, LoginBody)
    address = _address(request)
    name = classes.teacher_name_key(body.name)
    teacher = await services.store.get_teacher(name)
    device = services.signer.remembered_device(body.device, name)
    # Made-up names share one key per address: cycling through thousands of them must not push
    # a real name's failures out of the lock-out's bounded table.
    known = name if teacher is not None else ""
    key = f"device:{device}" if device else f"{limit_key(address)}|{known}"
    exempt = on_this_computer(request)
    now = time.monotonic()
    locked = 0.0 if exempt else services.login_lockout.locked_for(key, now)
    if locked > 0:
        raise RateLimited("too many failed logins; wait and try again", retry_after_s=locked)
    password_ok = teacher is not None and await asyncio.to_thread(
        verify_password, body.password, teacher.password_hash
    )
    if teacher is None or not password_ok:
        if not exempt:
            services.login_lockout.fail(key, now)
        raise Unauthorized("wrong name or password")
    services.login_lockout.succeed(key)
    token = await _teacher_token(services, teacher.name)
    return web.json_response(
        {
            "ok": True,
            "token": token,
            "teacher": teacher.name,
            "device": body.device if device else services.signer.remember_device(teacher.name),
        }
    )


async def change_password(request: web.Request) -> web.Response:
    """Change the signed-in teacher's password; every other sign-in of theirs ends.

    Answers a fresh token for this browser (the one it used has ended too).
    """
    claims = await _teacher(request)
    services = _services(request)
    body = await _parse(request, PasswordBody)
    if len(body.new_password) < MIN_PASSWORD_CHARS:
        raise InvalidPayload(
            f"the password needs at least {MIN_PASSWORD_CHARS} characters", field="new_password"
        )
    teacher = await services.store.get_teacher(claims.subject)
    if teacher is None or not await asyncio.to_thread(
        verify_password, body.current_password, teacher.password_hash
    ):
        raise Forbidden("the current password is wrong", field="current_password")
    new_hash = await asyncio.to_thread(hash_password, body.new_password)
    await services.store.set_teacher_password(teacher.name, new_hash)
    await _end_teacher_sockets(request, teacher.name)
    token = await _teacher_token(services, teacher.name)
    return web.json_response({"ok": True, "token": token, "teacher": teacher.name})


async def sign_out_everywhere(request: web.Request) -> web.Response:
    """End every token of the signed-in teacher, this one included."""
    claims = await _teacher(request)
    await _services(request).store.revoke_teacher_tokens(claims.subject)
    await _end_teacher_sockets(request, claims.subject)
    return web.json_response({"ok": True, "teacher": claims.subject})


async def _end_teacher_sockets(request: web.Request, teacher: str) -> None:
    """Disconnect the teacher's live connections in this process (other processes refuse
    their reconnects, which check the token generation)."""
    live = request.app.get(LIVE)
    if live is not None:
        await live.end_teacher_sessions(teacher)


async def setup_state(request: web.Request) -> web.Response:
    """Whether this server still needs its first teacher account."""
    needs = not await _services(request).store.has_teachers()
    return web.json_response({"ok": True, "needs_setup": needs, "allowed_here": _is_local(request)})


def _is_local(request: web.Request) -> bool:
    return on_this_computer(request)


async def setup(request: web.Request) -> web.Response:
    """Create the first teacher, from the server's own computer only, and log them in."""
    services = _services(request)
    if not _is_local(request):
        raise Forbidden("set-up is only possible on the computer that runs the server")
    body = await _parse(request, SetupBody)
    name = classes.check_teacher_name(body.name)
    if len(body.password) < MIN_PASSWORD_CHARS:
        raise InvalidPayload(
            f"the password needs at least {MIN_PASSWORD_CHARS} characters", field="password"
        )
    if await services.store.has_teachers():
        raise Conflict("this server already has a teacher; log in instead")
    await services.store.add_teacher(
        TeacherRecord(name=name, password_hash=hash_password(body.password), created_at=_now_ms())
    )
    token = await _teacher_token(services, name)
    return web.json_response({"ok": True, "token": token, "teacher": name}, status=201)


async def _class_token(request: web.Request, class_id: str) -> tuple[TokenClaims, ClassRecord]:
    """The caller's token (header, or ``?token=`` where no header can be sent) and the class
    it asks about; a teacher token must be the class's teacher's and still valid."""
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    services = _services(request)
    claims = services.signer.check(token or request.query.get("token", ""))
    record = await services.store.get_class(class_id) if len(class_id) <= 64 else None
    if record is None:
        raise NotFound("no such class")
    if claims.role == "teacher":
        if record.teacher != claims.subject:
            raise Forbidden("this class belongs to another teacher")
        await check_teacher_generation(services.store, claims)
    return claims, record


async def _viewer(request: web.Request, class_id: str) -> Actor:
    """Who asks for a class resource: its teacher, or a student or device of that class."""
    claims, record = await _class_token(request, class_id)
    if claims.role == "teacher":
        return Actor("teacher", claims.subject, claims.subject)
    if claims.class_id != class_id:
        raise Forbidden("this token belongs to another class")
    if record.ended:
        # Ending a class ends its student and device tokens.
        raise ClassEnded("this class has ended")
    if claims.role == "student":
        runtime = await _services(request).hub.get(class_id)
        if claims.subject in runtime.state.roster.removed:
            raise StudentRemoved("the teacher removed you from this class")
    return Actor(claims.role, claims.subject)


async def page_render(request: web.Request) -> web.Response:
    """A board page as PNG or SVG, with the ink the asker may see."""
    class_id = request.match_info["class_id"]
    page_id = request.match_info["page_id"]
    viewer = await _viewer(request, class_id)
    try:
        scale = float(request.query.get("scale", "1"))
    except ValueError:
        raise InvalidPayload("scale must be a number", field="scale") from None
    if not 0.1 <= scale <= 2.0:
        raise InvalidPayload("scale must be between 0.1 and 2", field="scale")
    runtime = await _services(request).hub.get(class_id)
    board_state = runtime.state.part("board")
    if page_id not in board_state.pages:
        raise NotFound("no such page", field="page_id")
    # Render a copy in a worker thread: the live board keeps changing on the event loop.
    frozen = render.page_for_render(board_state, page_id, viewer)
    background = frozen.pages[page_id].background
    images: dict[str, Image.Image] = {}
    if background.get("kind") == "image" and background.get("image"):
        picture = await _stored_picture(request, class_id, str(background["image"]))
        if picture is not None:
            images[str(background["image"])] = picture
    headers = {"Cache-Control": "no-store"}
    if request.match_info["fmt"] == "svg":
        svg = await asyncio.to_thread(
            render.render_svg,
            frozen,
            page_id,
            viewer=viewer,
            image_href=lambda asset_id: f"/api/classes/{class_id}/assets/{asset_id}",
        )
        return web.Response(text=svg, content_type="image/svg+xml", headers=headers)
    png = await asyncio.to_thread(
        render.render_png, frozen, page_id, viewer=viewer, scale=scale, images=images
    )
    return web.Response(body=png, content_type="image/png", headers=headers)


async def asset(request: web.Request) -> web.Response:
    """A class's stored image (camera view, keyframe) or audio segment for anyone in the class,
    and for its students after the class ended while the lesson is shared (its replay)."""
    class_id = request.match_info["class_id"]
    try:
        await _viewer(request, class_id)
    except ClassEnded:
        await _replay_viewer(request, class_id)
    asset_id = request.match_info["asset_id"]
    if len(asset_id) > 80:
        raise NotFound("no such asset")
    found = await _services(request).store.get_asset(class_id, asset_id)
    if found is None:
        raise NotFound("no such asset")
    content_type, data = found
    # Keyframes never change; the live view changes under the same id (clients add ?v=).
    cache = "no-cache" if asset_id == camera.LATEST_ASSET else "private, max-age=31536000"
    return web.Response(body=data, content_type=content_type, headers={"Cache-Control": cache})


async def upload_image(request: web.Request) -> web.Response:
    """Upload a picture for a page background (PNG, JPEG or WebP; raw body).

    The picture (a JPEG of at most 40 megapixels, a PNG or WebP of at most 12) is decoded,
    scaled to fit the 1920 x 1080 page and stored as PNG or JPEG without its metadata
    (classroom.pictures); the answer gives the asset id to use in ``page_add`` or
    ``page_set_background``. BUSY (503): too many pictures are being decoded; retry.
    PICTURE_TOO_LARGE (413): more pixels than that.
    """
    _, record = await _own_class(request)
    if request.content_length is not None and request.content_length > MAX_IMAGE_UPLOAD:
        raise PayloadTooLarge(f"the picture is larger than {MAX_IMAGE_UPLOAD} bytes", field="file")
    decoder = _services(request).pictures
    # The slot is taken before the body is read: queued uploads hold at most a few bodies.
    async with decoder.slot():
        data = await _read_body(request, MAX_IMAGE_UPLOAD, "picture", field="file")
        content_type, body, size = await decoder.run(pictures.normalise_background, data)
    asset_id = classes.new_id("img")
    await _services(request).store.put_asset(record.id, asset_id, content_type, body)
    return web.json_response(
        {
            "ok": True,
            "asset_id": asset_id,
            "width": size[0],
            "height": size[1],
            "url": f"/api/classes/{record.id}/assets/{asset_id}",
        },
        status=201,
    )


def _query_int(request: web.Request, name: str) -> int:
    raw = request.query.get(name, "")
    if not raw.isdigit() or len(raw) > 16:
        raise InvalidPayload(f"add ?{name}= a whole number", field=name)
    return int(raw)


async def upload_audio(request: web.Request) -> web.Response:
    """A segment of the lesson's audio from the console's microphone (raw body, fields in the
    query); it goes through the same handler as the board device's ``audio_segment``."""
    claims, record = await _own_class(request)
    fields = {
        "segment_id": request.query.get("segment_id", ""),
        "captured_at_ms": _query_int(request, "captured_at_ms"),
        "duration_ms": _query_int(request, "duration_ms"),
        "codec": request.query.get("codec", "opus"),
        "container": request.query.get("container", ""),
    }
    data = await _read_body(request, MAX_SEGMENT_BYTES, "audio segment", field="audio")
    try:
        payload = AudioSegment.model_validate({**fields, "audio": data})
    except ValidationError as exc:
        raise describe_validation_error(exc) from None
    teacher = Actor("teacher", claims.subject, claims.subject)
    session = _http_session(request, teacher, record.id)
    ack = await handlers.run(_services(request), session, "audio_segment", payload)
    return web.json_response({"ok": True, **ack}, status=200 if ack["duplicate"] else 201)


async def import_quiz(request: web.Request) -> web.Response:
    """Import a quiz and create it in the class: a quiz file (CSV, JSON or YAML) as the raw
    body with ``?filename=``, a zip of the quiz file and its pictures, or a form with a
    ``quiz`` file and ``picture`` files (classroom/quiz_bundle.py).

    Every picture a question names must come with the quiz (PICTURE_MISSING otherwise); each
    is decoded like a page background, stored, and the question points at it. If anything
    fails, the pictures this import stored are taken back: no quiz and no stray picture.
    """
    claims, record = await _own_class(request)
    bundle = await _read_quiz_bundle(request)
    title = request.query.get("title") or None
    definition = await asyncio.to_thread(
        quiz_import.parse_quiz, bundle.quiz_data, bundle.quiz_name, title=title
    )
    quiz_bundle.check_pictures(bundle, definition)
    services = _services(request)
    teacher = Actor("teacher", claims.subject, claims.subject)
    client_id = _idempotency_key(request) or classes.new_id("import")
    added: list[str] = []  # pictures this import stored that were not there before
    try:
        assets: dict[str, str] = {}
        for name in quiz_bundle.picture_names(definition):
            async with services.pictures.slot():
                picture = await services.pictures.run(quiz_bundle.prepare_picture, bundle, name)
            if not await services.store.has_asset(record.id, picture.asset_id):
                added.append(picture.asset_id)
            # Stored again when present: a retry after a lost answer restores what a failed
            # first try took back (the id is the picture's hash, the quiz the same).
            await services.store.put_asset(
                record.id, picture.asset_id, picture.content_type, picture.data
            )
            assets[name] = picture.asset_id
        payload = QuizCreate(
            quiz=quiz_bundle.with_pictures(definition, assets), client_id=client_id
        )
        session = _http_session(request, teacher, record.id)
        ack = await handlers.run(services, session, "quiz_create", payload)
    except BaseException:
        await _take_back_pictures(services, record.id, added)
        raise
    return web.json_response(
        {"ok": True, **ack, "title": definition.title},
        status=200 if ack["duplicate"] else 201,
    )


async def _take_back_pictures(services: Services, class_id: str, asset_ids: list[str]) -> None:
    """Delete pictures a failed import stored, except any a quiz of the class shows (the same
    picture imported at the same moment by a quiz that was created)."""
    if not asset_ids:
        return
    try:
        runtime = await services.hub.get(class_id)
        state = runtime.state.part("quizzes")
        shown = {
            question.image
            for quiz in state.quizzes.values()
            for question in quiz.definition.questions
        }
        for asset_id in asset_ids:
            if asset_id not in shown:
                await services.store.delete_asset(class_id, asset_id)
    except Exception:  # the store is down: the import's own error is the one to answer
        logger.exception("could not take back %d quiz pictures of %s", len(asset_ids), class_id)


async def parse_quiz_file(request: web.Request) -> web.Response:
    """Check a quiz (file, zip or form, as for ``import_quiz``) and return it in the
    protocol's form, changing nothing. Errors name the row and column of the first problem,
    or the picture that is missing or unreadable."""
    await _own_class(request)
    bundle = await _read_quiz_bundle(request)
    definition = await asyncio.to_thread(quiz_import.parse_quiz, bundle.quiz_data, bundle.quiz_name)
    quiz_bundle.check_pictures(bundle, definition)
    decoder = _services(request).pictures
    for name in quiz_bundle.picture_names(definition):
        async with decoder.slot():
            await decoder.run(quiz_bundle.prepare_picture, bundle, name)
    return web.json_response({"ok": True, "quiz": definition.model_dump(mode="json")})


async def _read_quiz_bundle(request: web.Request) -> quiz_bundle.QuizBundle:
    """The quiz upload in any of its three forms (see ``import_quiz``)."""
    if request.content_type == "multipart/form-data":
        return await _read_quiz_form(request)
    filename = request.query.get("filename", "")
    if quiz_bundle.is_zip_upload(filename, request.content_type):
        data = await _read_body(request, quiz_bundle.MAX_BUNDLE_BYTES, "zip", field="file")
        return await asyncio.to_thread(quiz_bundle.from_zip, data)
    if not filename or len(filename) > 200:
        raise InvalidPayload("add ?filename=NAME.csv|json|yaml|zip", field="filename")
    return quiz_bundle.single_file(filename, await _read_upload(request))


async def _read_quiz_form(request: web.Request) -> quiz_bundle.QuizBundle:
    """A form of one ``quiz`` file and ``picture`` files, read as a stream with caps."""
    limit = quiz_bundle.MAX_BUNDLE_BYTES
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the form is larger than {limit} bytes", field="file")
    try:
        async with asyncio.timeout(_services(request).settings.request_body_timeout_s):
            return await _quiz_form_parts(request)
    except TimeoutError:
        raise RequestTimeout("the form did not arrive in time", field="file") from None


async def _quiz_form_parts(request: web.Request) -> quiz_bundle.QuizBundle:
    quiz: tuple[str, bytes] | None = None
    files: list[tuple[str, bytes]] = []
    total = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if len(files) + 1 > quiz_bundle.MAX_BUNDLE_ENTRIES:
                raise QuizBundleInvalid(
                    f"a quiz form holds at most {quiz_bundle.MAX_BUNDLE_ENTRIES} files",
                    field="file",
                )
            if not isinstance(part, BodyPartReader):
                raise QuizBundleInvalid("a form inside the form is not read", field="file")
            filename = part.filename or ""
            if part.name not in ("quiz", "picture") or not filename:
                raise QuizBundleInvalid(
                    "the form's parts are files named 'quiz' (one) and 'picture'",
                    field=str(part.name or "file")[:100],
                )
            encoding = part.headers.get(hdrs.CONTENT_ENCODING, "identity").lower()
            transfer = part.headers.get(hdrs.CONTENT_TRANSFER_ENCODING, "binary").lower()
            if encoding != "identity" or transfer not in ("binary", "8bit", "7bit"):
                raise QuizBundleInvalid(
                    f"{filename[:100]!r} is sent encoded; send the file as it is",
                    field=filename[:200],
                )
            is_quiz = part.name == "quiz"
            cap = MAX_QUIZ_UPLOAD if is_quiz else quiz_bundle.MAX_PICTURE_BYTES
            data = await _read_part(part, cap, quiz_bundle.MAX_BUNDLE_BYTES - total)
            total += len(data)
            if not is_quiz:
                files.append((filename, data))
            elif quiz is not None:
                raise QuizBundleInvalid("the form holds two 'quiz' files", field="quiz")
            else:
                quiz = (filename, data)
    except ClassroomError:
        raise
    except Exception as error:  # aiohttp's multipart reader on a malformed form
        raise QuizBundleInvalid(f"not a readable form ({error})"[:300], field="file") from None
    if quiz is None:
        raise QuizBundleInvalid("the form has no 'quiz' file", field="quiz")
    if len(quiz[0]) > 200:
        raise InvalidPayload("the quiz file's name is longer than 200 characters", field="quiz")
    return quiz_bundle.from_files(quiz[0], quiz[1], files)


async def _read_part(part: BodyPartReader, cap: int, room: int) -> bytes:
    """A form part's raw bytes, at most ``cap`` and at most the ``room`` left in the form."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(
                f"{(part.filename or '')[:100]!r} is larger than {cap} bytes",
                field=(part.filename or "file")[:200],
            )
        if size > room:
            raise PayloadTooLarge(
                f"the form is larger than {quiz_bundle.MAX_BUNDLE_BYTES} bytes", field="file"
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_upload(request: web.Request) -> bytes:
    return await _read_body(request, MAX_QUIZ_UPLOAD, "file", field="file")


async def quiz_report(request: web.Request) -> web.Response:
    """Per-student results or item analysis of a quiz, as JSON or CSV."""
    _, record = await _own_class(request)
    runtime = await _services(request).hub.get(record.id)
    state = runtime.state.part("quizzes")
    quiz_id = request.match_info["quiz_id"]
    if quiz_id not in state.quizzes:
        raise NotFound("no such quiz in this class", field="quiz_id")
    fmt = request.match_info["fmt"]
    if fmt == "json":
        return web.json_response({"ok": True, **reports.quiz_report(state, quiz_id)})
    kind = request.match_info.get("kind") or request.query.get("kind", "results")
    if kind not in ("results", "items"):
        raise InvalidPayload("kind must be results or items", field="kind")
    lang = _report_lang(request)
    body = (
        reports.quiz_results_csv(state, quiz_id, lang)
        if kind == "results"
        else reports.quiz_items_csv(state, quiz_id, lang)
    )
    return _csv_download(body, f"{record.join_code}-{quiz_id}-{kind}.csv")


async def polls_report(request: web.Request) -> web.Response:
    """Every poll of the class: totals, and answers per student for named polls."""
    _, record = await _own_class(request)
    runtime = await _services(request).hub.get(record.id)
    state = runtime.state.part("polls")
    fmt = request.match_info["fmt"]
    if fmt == "json":
        return web.json_response({"ok": True, "polls": reports.polls_report(state)})
    kind = request.query.get("kind", "students")
    if kind not in ("students", "totals"):
        raise InvalidPayload("kind must be students or totals", field="kind")
    lang = _report_lang(request)
    body = (
        reports.poll_results_csv(state, lang)
        if kind == "students"
        else reports.poll_totals_csv(state, lang)
    )
    return _csv_download(body, f"{record.join_code}-polls-{kind}.csv")


def _report_lang(request: web.Request) -> str:
    """The language of a CSV report's headings and words: ``?lang=en`` (default) or ``ur``."""
    lang = request.query.get("lang", "en")
    if lang not in reports.LANGS:
        raise InvalidPayload("lang must be en or ur", field="lang")
    return lang


def _csv_download(body: bytes, filename: str) -> web.Response:
    return web.Response(
        body=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _stored_picture(request: web.Request, class_id: str, asset_id: str) -> Image.Image | None:
    """A stored picture, decoded; None (a blank background) when it is missing or unreadable.

    Pictures are checked when they arrive, but one stored before that (or damaged on disk)
    must not make the page fail for everyone.
    """
    services = _services(request)
    found = await services.store.get_asset(class_id, asset_id)
    if found is None:
        return None
    try:
        async with services.pictures.slot():
            return await services.pictures.run(
                functools.partial(
                    pictures.decode, field="image", max_pixels=pictures.MAX_UPLOAD_PIXELS
                ),
                found[1],
            )
    except InvalidPayload:
        logger.warning("class %s: stored picture %s is unreadable; drawn blank", class_id, asset_id)
        return None


CLASS_PAGE_DEFAULT = 50
CLASS_PAGE_MAX = 200


def _class_cursor(record: ClassRecord) -> str:
    return f"{record.created_at}:{record.id}"


def _parse_class_cursor(raw: str) -> tuple[int, str]:
    created_at, _, class_id = raw.partition(":")
    if not created_at.isdigit() or len(created_at) > 16 or not 0 < len(class_id) <= 64:
        raise InvalidPayload("before must be the 'next' value of the previous page", field="before")
    return int(created_at), class_id


def _page_query(
    request: web.Request, default: int, most: int
) -> tuple[int, tuple[int, str] | None]:
    raw_limit = request.query.get("limit", str(default))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= most:
        raise InvalidPayload(f"limit must be 1-{most}", field="limit")
    before = request.query.get("before")
    return int(raw_limit), _parse_class_cursor(before) if before else None


async def _lesson_summary(request: web.Request, record: ClassRecord) -> dict[str, Any]:
    services = _services(request)
    state = await services.lesson_index.state(record.id)
    return lessons.lesson_summary(record, state, school=services.settings.school)


async def get_lesson(request: web.Request) -> web.Response:
    """The class as a recorded lesson: details, trim points, length, chapters, audio."""
    _, record = await _own_class(request)
    return web.json_response({"ok": True, "lesson": await _lesson_summary(request, record)})


async def set_lesson(request: web.Request) -> web.Response:
    """Set the lesson's details through the one write path (logs ``lesson_details_updated``)."""
    claims, record = await _own_class(request)
    body = await _parse(request, LessonDetails)
    payload = LessonDetailsSet(
        **body.model_dump(), client_id=_idempotency_key(request) or classes.new_id("details")
    )
    teacher = Actor("teacher", claims.subject, claims.subject)
    session = _http_session(request, teacher, record.id)
    ack = await handlers.run(_services(request), session, "lesson_details_update", payload)
    lesson = await _lesson_summary(request, record)
    return web.json_response(
        {
            "ok": True,
            "seq": ack["seq"],
            "duplicate": ack["duplicate"],
            "noop": bool(ack.get("noop", False)),
            "lesson": lesson,
        }
    )


async def list_lessons(request: web.Request) -> web.Response:
    """The teacher's lessons, newest first, a page at a time (``limit``, ``before``)."""
    claims = await _teacher(request)
    limit, cursor = _page_query(request, LESSON_PAGE_DEFAULT, LESSON_PAGE_MAX)
    records = await _services(request).store.list_classes(
        claims.subject, limit=limit + 1, before=cursor
    )
    page = records[:limit]
    if request.query.get("practice") != "include":
        # Practice classes are not lessons anyone should publish or count (issue 16).
        page = [record for record in page if not record.practice]
    # One after another: each may fold its log, and a list is not worth reading many logs at
    # once on a 2-core school server.
    summaries = [await _lesson_summary(request, record) for record in page]
    next_cursor = _class_cursor(page[-1]) if len(records) > limit else None
    return web.json_response({"ok": True, "lessons": summaries, "next": next_cursor})


async def list_classes(request: web.Request) -> web.Response:
    """The teacher's classes, newest first, a page at a time.

    ``?limit=`` (1-200, default 50) and ``?before=`` (the ``next`` of the previous page);
    ``next`` is null on the last page.
    """
    claims = await _teacher(request)
    limit, cursor = _page_query(request, CLASS_PAGE_DEFAULT, CLASS_PAGE_MAX)
    # One more than asked tells whether there is a next page without a second query.
    records = await _services(request).store.list_classes(
        claims.subject, limit=limit + 1, before=cursor
    )
    page = records[:limit]
    next_cursor = _class_cursor(page[-1]) if len(records) > limit else None
    return web.json_response(
        {"ok": True, "classes": [_class_json(request, r) for r in page], "next": next_cursor}
    )


async def create_class(request: web.Request) -> web.Response:
    claims = await _teacher(request)
    body = await _parse(request, ClassCreateBody)
    title = classes.clean_display_name(body.title, field="title", limit=classes.MAX_TITLE_CHARS)
    store = _services(request).store
    key = _idempotency_key(request)
    class_id = classes.new_id("c") if key is None else classes.derived_id("c", claims.subject, key)
    if key is not None:
        existing = await store.get_class(class_id)
        if existing is not None:
            if existing.title != title:
                raise IdempotencyConflict(f"{IDEMPOTENCY_HEADER} was used for another class")
            return web.json_response({"ok": True, **_class_json(request, existing)})
    record = await _new_class(request, claims.subject, title, class_id)
    return web.json_response({"ok": True, **_class_json(request, record)}, status=201)


async def _new_class(
    request: web.Request, teacher: str, title: str, class_id: str, *, practice: bool = False
) -> ClassRecord:
    store = _services(request).store
    for _ in range(8):  # a collision among 148M codes is rare; try again with a new one
        record = ClassRecord(
            id=class_id,
            teacher=teacher,
            title=title,
            join_code=classes.new_join_code(),
            created_at=_now_ms(),
            practice=practice,
        )
        try:
            await store.create_class(record)
        except ClassroomError as exc:
            if exc.code == "CONFLICT":
                continue
            raise
        # Tablets behind the teacher's address can see this code on the board.
        services = _services(request)
        services.join_guard.mark_home(limit_key(_address(request)), record.id, time.monotonic())
        return record
    raise InternalError("could not allocate a join code")


# practice classes (issue 16)


def _own_server_url(request: web.Request) -> str:
    """Where the server's own child process reaches it: the address this request came in on."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        return f"http://127.0.0.1:{request.url.port or 80}"
    host, port = str(sockname[0]), int(sockname[1])
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _bearer(request: web.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ").strip()


def _practice_json(run: practice.Run | None) -> dict[str, Any]:
    if run is None:
        return {"ok": True, "running": False, "students": 0, "profile": "calm"}
    return {"ok": True, **run.state()}


async def create_practice(request: web.Request) -> web.Response:
    claims = await _teacher(request)
    body = await _parse(request, PracticeBody)
    title = classes.clean_display_name(body.title, field="title", limit=classes.MAX_TITLE_CHARS)
    record = await _new_class(request, claims.subject, title, classes.new_id("c"), practice=True)
    run = await request.app[practice.PRACTICES].start(
        record.id,
        server=_own_server_url(request),
        code=record.join_code,
        students=body.students,
        profile=body.profile,
        teacher_token=_bearer(request),
        time_scale=_services(request).settings.practice_time_scale,
    )
    answer = {"ok": True, **_class_json(request, record), "simulation": _practice_json(run)}
    return web.json_response(answer, status=201)


async def _own_practice(request: web.Request) -> ClassRecord:
    _, record = await _own_class(request)
    if not record.practice:
        raise Conflict("this is not a practice class", field="class_id")
    return record


async def get_practice(request: web.Request) -> web.Response:
    record = await _own_practice(request)
    run = request.app[practice.PRACTICES].runs.get(record.id)
    return web.json_response(_practice_json(run))


async def change_practice(request: web.Request) -> web.Response:
    record = await _own_practice(request)
    body = await _parse(request, PracticeChangeBody)
    if record.ended:
        raise ClassEnded("this class has ended")
    practices = request.app[practice.PRACTICES]
    run = practices.runs.get(record.id)
    if run is None or not run.running:
        run = await practices.start(
            record.id,
            server=_own_server_url(request),
            code=record.join_code,
            students=body.students or (run.students if run else practice.DEFAULT_STUDENTS),
            profile=body.profile or (run.profile if run else "calm"),
            teacher_token=_bearer(request),
            time_scale=_services(request).settings.practice_time_scale,
        )
    else:
        await practices.change(
            record.id,
            students=body.students,
            profile=body.profile,
            drop=body.drop,
            away_s=body.away_s,
        )
    return web.json_response(_practice_json(run))


async def debrief(request: web.Request) -> web.Response:
    _, record = await _own_class(request)
    store = _services(request).store
    events: list[Any] = []
    while True:
        chunk = await store.read_after(record.id, events[-1].seq if events else 0, 5000)
        events.extend(chunk)
        if len(chunk) < 5000:
            break
    # A fold of the whole log is CPU work: off the event loop.
    answer = await asyncio.to_thread(debrief_feature.debrief, events, class_id=record.id)
    return web.json_response({"ok": True, **answer})


async def get_class(request: web.Request) -> web.Response:
    _, record = await _own_class(request)
    return web.json_response({"ok": True, **_class_json(request, record)})


async def end_class(request: web.Request) -> web.Response:
    claims, record = await _own_class(request)
    services = _services(request)
    if not record.ended:
        runtime = await services.hub.get(record.id)
        if not runtime.state.roster.ended:
            teacher = Actor("teacher", claims.subject, claims.subject)
            payload = ClassEnd(client_id=_idempotency_key(request) or "class-end")
            await handlers.run(
                services, _http_session(request, teacher, record.id), "class_end", payload
            )
        await services.store.mark_class_ended(record.id, _now_ms())
    if record.practice:
        await request.app[practice.PRACTICES].stop(record.id)
    return web.json_response({"ok": True, "class_id": record.id, "ended": True})


async def qr_code(request: web.Request) -> web.Response:
    _, record = await _own_class(request)
    qr = segno.make(f"{_base_url(request)}/join/{record.join_code}", error="m")
    out = io.BytesIO()
    if request.match_info["fmt"] == "svg":
        # A standalone SVG document (with its XML namespace): loadable as an <img>, unlike
        # segno's svg_inline, which is only for pasting into HTML.
        qr.save(out, kind="svg", scale=10, border=2)
        return web.Response(body=out.getvalue(), content_type="image/svg+xml")
    qr.save(out, kind="png", scale=12, border=2)
    return web.Response(body=out.getvalue(), content_type="image/png")


async def issue_device(request: web.Request) -> web.Response:
    _, record = await _own_class(request)
    body = await _parse(request, DeviceBody)
    if record.ended:
        raise ClassEnded("this class has ended")
    name = classes.clean_display_name(body.name)
    key = _idempotency_key(request)
    device_id = classes.new_id("d") if key is None else classes.derived_id("d", record.id, key)
    services = _services(request)
    existing = None if key is None else await services.store.get_device(record.id, device_id)
    if existing is not None and existing.name != name:
        raise IdempotencyConflict(f"{IDEMPOTENCY_HEADER} was used for another device")
    if existing is None:
        device = DeviceRecord(class_id=record.id, id=device_id, name=name, created_at=_now_ms())
        await services.store.add_device(device)
    token = services.signer.issue(TokenClaims(role="board", subject=device_id, class_id=record.id))
    return web.json_response(
        {"ok": True, "device_id": device_id, "token": token},
        status=200 if existing is not None else 201,
    )


def _held_back(wait: float) -> RateLimited:
    return RateLimited(
        "too many wrong codes from this network; wait and try again", retry_after_s=wait
    )


async def join(request: web.Request) -> web.Response:
    """A student joins with the class code and a display name; no account.

    Wrong codes are limited per address and globally (``classroom.ratelimit.JoinGuard``); a
    successful join gives no failures back. While an address is held back every code answers
    the same refusal, except codes of classes home to that address (see ``JoinGuard``).
    """
    services = _services(request)
    guard = services.join_guard
    key = limit_key(_address(request))
    now = time.monotonic()
    wait = guard.held_back_for(key, now)
    if wait > 0 and not guard.has_home(key, now):
        raise _held_back(wait)  # cheap refusal: no body parsing, no store lookup
    body = await _parse(request, JoinBody)
    name = classes.clean_display_name(body.name)
    code = classes.normalize_join_code(body.join_code)
    record = None
    if classes.is_valid_join_code(code):
        record = await services.store.find_class_by_code(code)
    now = time.monotonic()
    home = record is not None and guard.is_home(key, record.id, now)
    if not home:
        wait = guard.held_back_for(key, now)
        if wait > 0:
            raise _held_back(wait)
    if record is None:
        guard.wrong_code(key, now)
        raise NotFound("no class has this code; check it on the board", field="join_code")
    if record.ended:
        raise ClassEnded("this class has ended")
    # The server's own computer (a practice class of simulated students, a benchmark) may
    # add as many students as it likes.
    wait = 0.0 if on_this_computer(request) else guard.add_student(key, record.id, now)
    if wait > 0:
        raise RateLimited(
            "too many students joined from this network just now; wait and try again",
            retry_after_s=wait,
        )
    guard.mark_home(key, record.id, now)
    runtime = await services.hub.get(record.id)
    roster.check_open(runtime.state.roster)
    request_key = _idempotency_key(request)
    student_id = (
        classes.new_id("s")
        if request_key is None
        else classes.derived_id("s", record.id, request_key)
    )
    student = (
        None if request_key is None else await services.store.get_student(record.id, student_id)
    )
    if student is not None and student.name != name:
        raise IdempotencyConflict(f"{IDEMPOTENCY_HEADER} was used to join with another name")
    if student_id in runtime.state.roster.removed:
        raise StudentRemoved("the teacher removed you from this class")
    if student is None:
        student = StudentRecord(class_id=record.id, id=student_id, name=name, created_at=_now_ms())
        await services.store.add_student(student)
    actor = Actor("student", student.id, student.name)
    call = handlers.Call(services, _http_session(request, actor, record.id), runtime, body)
    # Through the write path: the student is in the live roster once this answers. The store
    # keeps the name typed; the roster the one shown ("Ali 2" when an Ali is already in).
    async with runtime.join_turn:
        await call.append_ack(
            roster.propose_joined(runtime.state.roster, student.id, name), key="joined"
        )
    name = runtime.state.roster.names.get(student.id, name)
    token = services.signer.issue(
        TokenClaims(role="student", subject=student.id, class_id=record.id)
    )
    return web.json_response(
        {
            "ok": True,
            "token": token,
            "class_id": record.id,
            "student_id": student.id,
            "name": name,
            "title": record.title,
        },
        status=201,
    )


# --- replay ------------------------------------------------------------------------------------

# Who a student replaying a shared lesson is: the class's view (no one's own answers, anonymous
# votes without their author), the same for every student.
CLASS_VIEWER = Actor("student", "")


async def _replay_viewer(request: web.Request, class_id: str) -> Actor:
    """Who may replay a lesson: its teacher (everything), or a student of the class while the
    teacher shares it (the class's view, also after the class ended), unless the teacher
    removed them (STUDENT_REMOVED, as when they connect). Anyone else: FORBIDDEN."""
    claims, _ = await _class_token(request, class_id)
    if claims.role == "teacher":
        return Actor("teacher", claims.subject, claims.subject)
    if claims.role != "student" or claims.class_id != class_id:
        raise Forbidden("only the class's teacher and students may replay this lesson")
    state = await _services(request).lesson_index.state(class_id)
    if claims.subject in state.removed:
        raise StudentRemoved("the teacher removed you from this class")
    if not state.shared:
        raise Forbidden("the teacher has not shared this lesson")
    return CLASS_VIEWER


def _replay_cache(request: web.Request, ended: bool, tag: str) -> dict[str, str] | None:
    """Cache headers of a replay answer; None when the client's copy is still good (304)."""
    if not ended:
        return {"Cache-Control": "no-cache"}
    etag = f'"{tag}"'
    if request.headers.get("If-None-Match") == etag:
        return None
    return {"Cache-Control": "private, max-age=86400", "ETag": etag}


def replay_timing(
    chapters: Iterable[timeline.Chapter],
    segments: Iterable[dict[str, Any]],
    start: int,
    *,
    assets: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A replay's chapters and audio segments (``audio_added`` data) as its info answers
    them: times from the lesson's ``start``, segments in capture order, each under ``assets``."""
    marks = [{**c.to_json(), "t_ms": max(0, c.ts - start)} for c in chapters]
    ordered = sorted(segments, key=lambda d: (int(d["captured_at_ms"]), str(d["segment_id"])))
    audio = [
        {
            "segment_id": d["segment_id"],
            "url": f"{assets}/{d['asset_id']}",
            "t_ms": int(d["captured_at_ms"]) - start,
            "duration_ms": int(d["duration_ms"]),
            "container": d.get("container", ""),
        }
        for d in ordered
    ]
    return marks, audio


async def replay_info(request: web.Request) -> web.StreamResponse:
    """What a replay needs before the events: details, span, chapters, audio, shared."""
    class_id = request.match_info["class_id"]
    viewer = await _replay_viewer(request, class_id)
    services = _services(request)
    record = await services.store.get_class(class_id)
    assert record is not None  # checked by _replay_viewer
    state = await services.lesson_index.state(class_id)
    summary = lessons.lesson_summary(record, state, school=services.settings.school)
    ended = bool(summary["ended"])
    headers = _replay_cache(request, ended, f"info-{class_id}-{state.seq}-{viewer.role}")
    if headers is None:
        return web.Response(status=304)
    # Kept per lesson and brought up to date with the new events only (classroom/replay_index).
    outline = await services.replay_index.outline(class_id, state.seq)
    start = outline.start_ms or 0
    chapters, audio = replay_timing(
        outline.chapters,
        (e.data for e in outline.audio if e.visible_to(viewer)),
        start,
        assets=f"/api/classes/{class_id}/assets",
    )
    body = {
        "ok": True,
        "lesson": summary,
        "started_at": outline.start_ms,
        "duration_ms": outline.duration_ms,
        "head_seq": outline.seq,
        "chapters": chapters,
        "audio": audio,
        "shared": state.shared,
        "viewer": viewer.role,
    }
    response = web.json_response(body, headers=headers)
    response.enable_compression()
    return response


def _bounded_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, str(default))
    if not raw.isdigit() or len(raw) > 16 or not low <= int(raw) <= high:
        raise InvalidPayload(f"{name} must be a whole number {low}-{high}", field=name)
    return int(raw)


async def replay_events(request: web.Request) -> web.StreamResponse:
    """The lesson's log as the viewer may see it, a page at a time (gzip when asked)."""
    class_id = request.match_info["class_id"]
    viewer = await _replay_viewer(request, class_id)
    after_seq = _bounded_int(request, "after_seq", 0, 0, 2**53)
    limit = _bounded_int(request, "limit", REPLAY_PAGE_DEFAULT, 1, REPLAY_PAGE_MAX)
    services = _services(request)
    record = await services.store.get_class(class_id)
    assert record is not None
    head = await services.store.head(class_id)
    tag = f"ev-{class_id}-{after_seq}-{limit}-{head}-{viewer.role}"
    headers = _replay_cache(request, record.ended, tag)
    if headers is None:
        return web.Response(status=304)
    events = await services.store.read_after(class_id, after_seq, limit)
    wire = [e.to_wire_for(viewer) for e in events if e.visible_to(viewer)]
    last = events[-1].seq if events else after_seq
    for item in wire:
        item.pop("cid", None)  # a viewer has no use for the writers' retry keys
    body = {
        "ok": True,
        "events": wire,
        "next_after_seq": last,
        "head_seq": max(head, last),
        "more": last < head,
    }
    response = web.json_response(body, headers=headers)
    response.enable_compression()
    return response


async def share_lesson(request: web.Request) -> web.Response:
    """Share the lesson with the class's students, or stop (logs ``lesson_shared``)."""
    claims, record = await _own_class(request)
    body = await _parse(request, ShareBody)
    payload = LessonShare(
        shared=body.shared, client_id=_idempotency_key(request) or classes.new_id("share")
    )
    teacher = Actor("teacher", claims.subject, claims.subject)
    session = _http_session(request, teacher, record.id)
    ack = await handlers.run(_services(request), session, "lesson_share", payload)
    state = await _services(request).lesson_index.state(record.id)
    return web.json_response(
        {
            "ok": True,
            "seq": ack["seq"],
            "duplicate": ack["duplicate"],
            "noop": bool(ack.get("noop", False)),
            "shared": state.shared,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/setup", setup_state)
    app.router.add_post("/api/setup", setup)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/password", change_password)
    app.router.add_post("/api/sign-out-everywhere", sign_out_everywhere)
    app.router.add_get("/api/classes", list_classes)
    app.router.add_post("/api/classes", create_class)
    app.router.add_get("/api/classes/{class_id}", get_class)
    app.router.add_post("/api/classes/{class_id}/end", end_class)
    app.router.add_get("/api/classes/{class_id}/qr.{fmt:svg|png}", qr_code)
    app.router.add_post("/api/classes/{class_id}/devices", issue_device)
    app.router.add_post("/api/join", join)
    app.router.add_get("/api/classes/{class_id}/pages/{page_id}.{fmt:png|svg}", page_render)
    app.router.add_post("/api/classes/{class_id}/quizzes", import_quiz)
    app.router.add_get("/api/classes/{class_id}/assets/{asset_id}", asset)
    app.router.add_post("/api/classes/{class_id}/images", upload_image)
    app.router.add_post("/api/classes/{class_id}/audio", upload_audio)
    app.router.add_get(
        "/api/classes/{class_id}/reports/quizzes/{quiz_id}.{fmt:json|csv}", quiz_report
    )
    app.router.add_get(
        "/api/classes/{class_id}/reports/quizzes/{quiz_id}/{kind:results|items}.{fmt:csv}",
        quiz_report,
    )
    app.router.add_post("/api/classes/{class_id}/quizzes/parse", parse_quiz_file)
    app.router.add_get("/api/classes/{class_id}/reports/polls.{fmt:json|csv}", polls_report)
    app.router.add_get("/api/classes/{class_id}/lesson", get_lesson)
    app.router.add_post("/api/classes/{class_id}/lesson", set_lesson)
    app.router.add_get("/api/lessons", list_lessons)
    app.router.add_get("/api/classes/{class_id}/replay/info", replay_info)
    app.router.add_get("/api/classes/{class_id}/replay/events", replay_events)
    app.router.add_post("/api/classes/{class_id}/share", share_lesson)
    from classroom import library_http  # it uses this module's helpers

    library_http.add_routes(app)
    from classroom import http_exports

    http_exports.add_routes(app)
    app.router.add_post("/api/practice", create_practice)
    app.router.add_get("/api/classes/{class_id}/practice", get_practice)
    app.router.add_post("/api/classes/{class_id}/practice", change_practice)
    app.router.add_get("/api/classes/{class_id}/debrief", debrief)
    practice.install(app)
