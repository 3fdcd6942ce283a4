"""Passwords (scrypt) and signed, expiring tokens for teachers, students and board devices."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from classroom.errors import Unauthorized
from classroom.log import Role

if TYPE_CHECKING:
    from classroom.storage.base import Store

# scrypt cost: ~50 ms and 16 MiB per check on a small laptop; RFC 7914 interactive-login range.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_CHARS = 8

TOKEN_MAX_AGE_S: dict[Role, int] = {
    "teacher": 12 * 3600,
    "student": 14 * 24 * 3600,
    "board": 30 * 24 * 3600,
}


def hash_password(password: str) -> str:
    """Hash a password with scrypt and a random salt; the result is self-describing."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Check a password against :func:`hash_password` output in constant time."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(digest_b64)
        digest = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


# A browser a teacher signed in from keeps a "remembered device" token; failed logins from it
# count against it, not against its address (docs/operations.md, "Teacher logins").
REMEMBERED_DEVICE_MAX_AGE_S = 180 * 24 * 3600


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """Who a token speaks for. ``subject`` is the teacher name, student id or device id.

    ``generation`` (teachers only) is the teacher's token generation when the token was issued:
    a password change or "sign out everywhere" raises the stored one and ends older tokens.
    """

    role: Role
    subject: str
    class_id: str | None = None
    generation: int = 0


class TokenSigner:
    """Signs and checks tokens with a secret shared by every server process (kept in the store)."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="takhti-token-v1")
        self._devices = URLSafeTimedSerializer(secret, salt="takhti-remembered-device-v1")

    def issue(self, claims: TokenClaims) -> str:
        body: dict[str, Any] = {"r": claims.role, "s": claims.subject}
        if claims.class_id is not None:
            body["c"] = claims.class_id
        if claims.generation:
            body["g"] = claims.generation
        return str(self._serializer.dumps(body))

    def remember_device(self, teacher: str) -> str:
        """A token naming one browser a teacher signed in from (random id, for lock-outs)."""
        return str(self._devices.dumps({"t": teacher, "d": secrets.token_urlsafe(12)}))

    def remembered_device(self, token: object, teacher: str) -> str | None:
        """The device id of a valid remembered-device token of ``teacher``, else None."""
        if not isinstance(token, str) or not token or len(token) > 512:
            return None
        try:
            body = self._devices.loads(token, max_age=REMEMBERED_DEVICE_MAX_AGE_S)
        except BadSignature:  # SignatureExpired is a BadSignature
            return None
        if not isinstance(body, dict) or body.get("t") != teacher:
            return None
        return str(body.get("d"))

    def check(self, token: object) -> TokenClaims:
        """Return the claims of a valid, unexpired token or raise ``Unauthorized``."""
        if not isinstance(token, str) or not token or len(token) > 1024:
            raise Unauthorized("a token is required")
        try:
            body = self._serializer.loads(token, max_age=max(TOKEN_MAX_AGE_S.values()))
        except SignatureExpired as exc:
            raise Unauthorized("the token has expired; log in or join again") from exc
        except BadSignature as exc:
            raise Unauthorized("the token is not valid") from exc
        if not isinstance(body, dict) or body.get("r") not in TOKEN_MAX_AGE_S:
            raise Unauthorized("the token is not valid")
        role: Role = body["r"]
        try:
            self._serializer.loads(token, max_age=TOKEN_MAX_AGE_S[role])
        except SignatureExpired as exc:
            raise Unauthorized("the token has expired; log in or join again") from exc
        generation = body.get("g", 0)
        if not isinstance(generation, int):
            raise Unauthorized("the token is not valid")
        return TokenClaims(
            role=role, subject=str(body["s"]), class_id=body.get("c"), generation=generation
        )


async def check_teacher_generation(store: Store, claims: TokenClaims) -> None:
    """Refuse a teacher token issued before the teacher's last password change or sign-out
    everywhere, or for a teacher who no longer exists (one store read)."""
    current = await store.token_generation(claims.subject)
    if current is None or claims.generation < current:
        raise Unauthorized("this sign-in has ended; sign in again")
