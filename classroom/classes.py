"""Teachers, classes, students and board devices: records and the rules about them."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass

from classroom.errors import InvalidPayload

# No 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B: a code read off a smartboard is typed right first time.
JOIN_CODE_ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
JOIN_CODE_LENGTH = 6  # 23**6 = 148 million codes
MAX_NAME_CHARS = 40
MAX_TITLE_CHARS = 80
_TEACHER_NAME_PUNCT = "._- "


@dataclass(frozen=True, slots=True)
class TeacherRecord:
    name: str
    password_hash: str
    created_at: int


@dataclass(frozen=True, slots=True)
class ClassRecord:
    id: str
    teacher: str
    title: str
    join_code: str
    created_at: int
    ended_at: int | None = None
    # A practice class (simulated students, issue 16): shown as such everywhere, never
    # published, left out of reports unless asked for.
    practice: bool = False

    @property
    def ended(self) -> bool:
        return self.ended_at is not None


@dataclass(frozen=True, slots=True)
class StudentRecord:
    class_id: str
    id: str
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    class_id: str
    id: str
    name: str
    created_at: int


def new_id(prefix: str) -> str:
    """A random, URL-safe id such as ``c_3fZ...`` (96 bits)."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"


_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def is_client_id(value: str) -> bool:
    """Whether ``value`` is a well-formed client-made id (an idempotency key)."""
    return _CLIENT_ID.fullmatch(value) is not None


def derived_id(prefix: str, *parts: str) -> str:
    """An id made from a request's idempotency key (and its scope), so a retry of the request
    names the same record: ``derived_id("s", class_id, key)``. 96 bits, like ``new_id``."""
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=12).digest()
    return f"{prefix}_{base64.urlsafe_b64encode(digest).decode()}"


def new_join_code() -> str:
    """A short, unguessable join code from the unambiguous alphabet."""
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalize_join_code(raw: str) -> str:
    """Uppercase and drop spaces and dashes (the alphabet has no look-alikes to confuse)."""
    return raw.strip().upper().replace(" ", "").replace("-", "")


def is_valid_join_code(code: str) -> bool:
    return len(code) == JOIN_CODE_LENGTH and all(ch in JOIN_CODE_ALPHABET for ch in code)


def clean_display_name(raw: str, *, field: str = "name", limit: int = MAX_NAME_CHARS) -> str:
    """Normalise a display name (NFC, collapsed spaces, no control characters) or refuse it."""
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if not name:
        raise InvalidPayload(f"{field} must not be empty", field=field)
    if len(name) > limit:
        raise InvalidPayload(f"{field} is longer than {limit} characters", field=field)
    if any(
        unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} and ch not in "\u200c\u200d"
        for ch in name
    ):
        raise InvalidPayload(f"{field} contains control characters", field=field)
    return name


def teacher_name_key(raw: str) -> str:
    """The form a teacher's login name is stored and looked up under: NFKC, case folded, runs
    of spaces made one. "Amina", "AMINA" and "amina" name one teacher; so do the two ways of
    writing an Urdu letter (presentation forms are folded by NFKC)."""
    return " ".join(unicodedata.normalize("NFKC", raw).casefold().split())


def check_teacher_name(raw: str) -> str:
    """A teacher's login name, normalised by ``teacher_name_key``: 1-40 letters of any script
    (Urdu too), their marks, digits, '.', '_', '-' or single spaces, starting with a letter or
    digit. Answers the normalised name or refuses it."""
    name = teacher_name_key(raw)
    if not 1 <= len(name) <= MAX_NAME_CHARS or not _name_char(name[0], first=True):
        raise InvalidPayload(
            "teacher name must be 1-40 letters or digits (any language), '.', '_', '-' or spaces,"
            " starting with a letter or digit",
            field="name",
        )
    if not all(_name_char(ch) for ch in name):
        raise InvalidPayload(
            "teacher name may hold only letters, digits, '.', '_', '-' or spaces", field="name"
        )
    return name


def _name_char(ch: str, *, first: bool = False) -> bool:
    category = unicodedata.category(ch)
    if category[0] == "L" or category == "Nd":
        return True
    if first:
        return False
    # Marks (Urdu vowel signs) and the zero-width non-joiner that Urdu typing uses inside words.
    return category[0] == "M" or ch == "\u200c" or ch in _TEACHER_NAME_PUNCT
