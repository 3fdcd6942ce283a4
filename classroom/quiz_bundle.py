"""A quiz file with the pictures its questions name: one file, a zip, or a form of files.

A question's ``image`` names a picture relative to the quiz file (``circle.png``, or
``pictures/circle.png`` in a zip). Before anything is stored, every named picture must be
in the bundle (``PICTURE_MISSING`` names the first one that is not); each is then decoded
with the page backgrounds' budget (classroom/pictures.py), re-encoded and stored under an
id made from its bytes, and the question points at that id.

A zip is read defensively: it comes from anyone with a teacher's password and a file picker.
Its central directory is bounded before ``zipfile`` parses it (a 16 MB body of empty entries
would otherwise be 300,000 ZipInfo objects); every name must stay inside the zip (no ``..``,
no absolute or drive names), appear once, and not be a zip itself; only stored and deflated
entries are read; the declared sizes are summed and capped, and every entry is read as a
stream with its own cap, since a header's size may lie. Pure functions, no I/O but the
bytes given.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Final

from classroom import pictures
from classroom.errors import (
    InvalidPayload,
    PictureMissing,
    PictureTooLarge,
    PictureUnreadable,
    QuizBundleInvalid,
)
from classroom.protocol.quizzes import MAX_IMAGE_REF_CHARS, MAX_QUESTIONS, QuizDefinition
from classroom.quiz_import import MAX_IMPORT_BYTES

# A quiz and one picture per question, with room for folders and a read-me.
MAX_BUNDLE_ENTRIES: Final = MAX_QUESTIONS + 28
# The whole upload (zip or form), and what its entries may hold once inflated.
MAX_BUNDLE_BYTES: Final = 16 * 1024 * 1024
MAX_BUNDLE_INFLATED: Final = 32 * 1024 * 1024
# One picture, as sent: the same as a page background upload.
MAX_PICTURE_BYTES: Final = 8 * 1024 * 1024
# A central directory entry is 46 bytes plus its name, extra field and comment; a quiz's
# entries need a few hundred bytes each at most.
MAX_CENTRAL_DIRECTORY: Final = MAX_BUNDLE_ENTRIES * 1024
PICTURE_ASSET_PREFIX: Final = "quizpic-"
ZIP_TYPES: Final = ("application/zip", "application/x-zip-compressed", "application/x-zip")

_CHUNK = 64 * 1024
_QUIZ_SUFFIXES = (".csv", ".tsv", ".json", ".yaml", ".yml")
_NESTED_SUFFIXES = (".zip", ".jar", ".7z", ".rar", ".gz", ".tar", ".tgz")
_LOCAL_HEADER = b"PK\x03\x04"
_END_RECORD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_END_RECORD_SIZE = 22
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class StoredPicture:
    """A picture ready to store: its name in the quiz, asset id, content type and bytes."""

    name: str
    asset_id: str
    content_type: str
    data: bytes


@dataclass
class QuizBundle:
    """The quiz file and the pictures sent with it, by name relative to the quiz file."""

    quiz_name: str
    quiz_data: bytes
    picture_names: frozenset[str] = frozenset()
    _files: Mapping[str, bytes] = field(default_factory=dict)
    _zip: zipfile.ZipFile | None = None
    _zip_names: Mapping[str, zipfile.ZipInfo] = field(default_factory=dict)
    _inflated: int = 0

    def read_picture(self, name: str) -> bytes:
        """The bytes of the picture ``name`` (inflated from the zip with its caps)."""
        if self._zip is None:
            return self._files[name]
        info = self._zip_names[name]
        data = _read_entry(self._zip, info, MAX_PICTURE_BYTES, self._inflated)
        self._inflated += len(data)
        return data


def single_file(quiz_name: str, quiz_data: bytes) -> QuizBundle:
    """A quiz file sent alone: its questions can name no pictures."""
    return QuizBundle(quiz_name, quiz_data)


def from_files(quiz_name: str, quiz_data: bytes, files: Iterable[tuple[str, bytes]]) -> QuizBundle:
    """A quiz file and picture files sent together (a form); each picture by its file name."""
    found: dict[str, bytes] = {}
    for name, data in files:
        _check_name(name)
        if name in found or name == quiz_name:
            raise QuizBundleInvalid(f"two files are named {name!r}", field=name)
        found[name] = data
    return QuizBundle(quiz_name, quiz_data, frozenset(found), _files=found)


def from_zip(data: bytes) -> QuizBundle:
    """The quiz file and its pictures from a zip, or QuizBundleInvalid naming the problem."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise QuizBundleInvalid(f"the zip is larger than {MAX_BUNDLE_BYTES} bytes", field="file")
    _check_central_directory(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as error:
        raise QuizBundleInvalid(f"not a readable zip file ({error})", field="file") from None
    if len(infos) > MAX_BUNDLE_ENTRIES:
        raise QuizBundleInvalid(
            f"the zip holds {len(infos)} files; a quiz zip holds at most {MAX_BUNDLE_ENTRIES}",
            field="file",
        )
    files: dict[str, zipfile.ZipInfo] = {}
    declared = 0
    for info in infos:
        name = info.filename
        _check_name(name.removesuffix("/") if info.is_dir() else name)
        if name in files:
            raise QuizBundleInvalid(f"the zip holds {name!r} twice", field=name[:200])
        if info.is_dir() or _is_clutter(name):
            continue
        if name.lower().endswith(_NESTED_SUFFIXES):
            raise QuizBundleInvalid(
                f"{name!r} is an archive inside the zip; put its files in the zip itself",
                field=name,
            )
        if info.flag_bits & 0x1:
            raise QuizBundleInvalid(f"{name!r} is encrypted; zip it without a password", field=name)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise QuizBundleInvalid(
                f"{name!r} is compressed in a way Takhti does not read; use a plain zip",
                field=name,
            )
        declared += info.file_size
        if info.file_size > MAX_PICTURE_BYTES or declared > MAX_BUNDLE_INFLATED:
            raise QuizBundleInvalid(
                f"the zip's files unpack to more than {MAX_BUNDLE_INFLATED} bytes "
                f"(one file at most {MAX_PICTURE_BYTES})",
                field=name,
            )
        files[name] = info
    quiz_path = _quiz_entry(files)
    quiz_data = _read_entry(archive, files[quiz_path], MAX_IMPORT_BYTES, 0)
    folder = PurePosixPath(quiz_path).parent
    by_picture_name: dict[str, zipfile.ZipInfo] = {}
    for name, info in files.items():
        if name == quiz_path:
            continue
        path = PurePosixPath(name)
        if folder == PurePosixPath(".") or folder in path.parents:
            by_picture_name[path.relative_to(folder).as_posix()] = info
    return QuizBundle(
        PurePosixPath(quiz_path).name,
        quiz_data,
        frozenset(by_picture_name),
        _zip=archive,
        _zip_names=by_picture_name,
        _inflated=len(quiz_data),
    )


def picture_names(definition: QuizDefinition) -> list[str]:
    """The pictures the questions name, each once, in question order."""
    names: list[str] = []
    for question in definition.questions:
        if question.image is not None and question.image not in names:
            names.append(question.image)
    return names


def check_pictures(bundle: QuizBundle, definition: QuizDefinition) -> None:
    """Raise PictureMissing naming the first picture a question names that was not sent."""
    for index, question in enumerate(definition.questions):
        if question.image is not None and question.image not in bundle.picture_names:
            raise PictureMissing(
                f"question {index + 1} shows the picture {question.image!r}, which was not "
                "sent with the quiz: send a zip of the quiz and its pictures, or choose the "
                "picture files together with the quiz file",
                field=question.image,
            )


def prepare_picture(bundle: QuizBundle, name: str) -> StoredPicture:
    """Read, decode and re-encode one picture of the bundle (run it on the picture worker).

    The same budget as a page background: the picture is scaled to fit the page and stored
    without its metadata. PICTURE_UNREADABLE and PICTURE_TOO_LARGE name the picture.
    """
    data = bundle.read_picture(name)
    try:
        content_type, body, _ = pictures.normalise_background(data)
    except PictureTooLarge as error:
        raise PictureTooLarge(f"{name}: {error.message}", field=name) from None
    except InvalidPayload as error:
        raise PictureUnreadable(f"{name}: {error.message}", field=name) from None
    asset_id = PICTURE_ASSET_PREFIX + hashlib.sha256(body).hexdigest()[:32]
    return StoredPicture(name, asset_id, content_type, body)


def with_pictures(definition: QuizDefinition, assets: Mapping[str, str]) -> QuizDefinition:
    """The quiz with each question's picture name replaced by its stored asset id."""
    questions = [
        q if q.image is None else q.model_copy(update={"image": assets[q.image]})
        for q in definition.questions
    ]
    return definition.model_copy(update={"questions": questions})


def is_zip_upload(filename: str, content_type: str) -> bool:
    """Whether an upload is a zip, by its file name or its content type."""
    return filename.lower().endswith(".zip") or content_type.lower() in ZIP_TYPES


# --- checks -----------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    """Refuse a file name that could leave the quiz's folder or is not printable."""
    shown = name[:200]
    if not name or len(name) > MAX_IMAGE_REF_CHARS:
        raise QuizBundleInvalid(
            f"a file name is empty or longer than {MAX_IMAGE_REF_CHARS} characters", field=shown
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        escaped = shown.encode("unicode_escape").decode("ascii")[:200]
        raise QuizBundleInvalid(f"{escaped!r}: a file name has control characters", field=escaped)
    if "\\" in name:
        raise QuizBundleInvalid(
            f"{shown!r} uses '\\'; folders in a zip are separated by '/'", field=shown
        )
    if name.startswith("/") or _DRIVE.match(name):
        raise QuizBundleInvalid(
            f"{shown!r} is an absolute path; names must be relative to the zip", field=shown
        )
    parts = name.split("/")
    if ".." in parts or "" in parts or "." in parts:
        raise QuizBundleInvalid(
            f"{shown!r} leaves or skips a folder ('..', '.', '//'); names must stay inside",
            field=shown,
        )


def _is_clutter(name: str) -> bool:
    """Files a computer adds when zipping a folder (macOS resource forks, thumbnails)."""
    base = PurePosixPath(name).name
    return (
        name.startswith("__MACOSX/")
        or base.startswith("._")
        or base in (".DS_Store", "Thumbs.db", "desktop.ini")
    )


def _check_central_directory(data: bytes) -> None:
    """Bound the zip's central directory before zipfile builds an object per entry.

    The end record is found as zipfile finds it: at the very end, else the last signature
    in the final 64 KB (the comment). Zip64 is refused: a quiz needs neither 65,535 files
    nor 4 GB.
    """
    tail_start = max(len(data) - (1 << 16) - _END_RECORD_SIZE, 0)
    if data[-_END_RECORD_SIZE : -_END_RECORD_SIZE + 4] == _END_RECORD:
        end = len(data) - _END_RECORD_SIZE
    else:
        end = data.rfind(_END_RECORD, tail_start)
    if end < 0 or end + _END_RECORD_SIZE > len(data):
        raise QuizBundleInvalid("not a zip file (no end of central directory)", field="file")
    entries, size = struct.unpack_from("<HI", data, end + 10)
    if data[max(end - 20, 0) : max(end - 16, 0)] == _ZIP64_LOCATOR or entries == 0xFFFF:
        raise QuizBundleInvalid("a Zip64 file is far larger than a quiz zip", field="file")
    if entries > MAX_BUNDLE_ENTRIES or size > MAX_CENTRAL_DIRECTORY:
        raise QuizBundleInvalid(
            f"the zip lists {entries} files in {size} bytes; a quiz zip holds at most "
            f"{MAX_BUNDLE_ENTRIES}",
            field="file",
        )


def _quiz_entry(files: Mapping[str, zipfile.ZipInfo]) -> str:
    """The one quiz file in the zip (.csv/.tsv/.json/.yaml/.yml, else the one .txt)."""
    candidates = [name for name in files if name.lower().endswith(_QUIZ_SUFFIXES)]
    if not candidates:
        candidates = [name for name in files if name.lower().endswith(".txt")]
    if len(candidates) != 1:
        found = ", ".join(sorted(candidates)[:5]) or "none"
        raise QuizBundleInvalid(
            f"a quiz zip holds one quiz file (.csv, .json or .yaml) and its pictures; "
            f"quiz files found: {found}",
            field="file",
        )
    return candidates[0]


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, so_far: int) -> bytes:
    """Inflate one entry as a stream, stopping past ``limit`` bytes or past the bundle's
    total: the size in its header is not trusted."""
    name = info.filename
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit or so_far + size > MAX_BUNDLE_INFLATED:
                    raise QuizBundleInvalid(
                        f"{name!r} unpacks to more than {min(limit, MAX_BUNDLE_INFLATED)} bytes",
                        field=name,
                    )
                chunks.append(chunk)
    except QuizBundleInvalid:
        raise
    except Exception as error:  # BadZipFile (a bad CRC), zlib.error, EOFError on hostile data
        raise QuizBundleInvalid(f"{name!r} in the zip is damaged ({error})", field=name) from None
    data = b"".join(chunks)
    if data.startswith(_LOCAL_HEADER):
        raise QuizBundleInvalid(
            f"{name!r} is a zip inside the zip; put its files in the zip itself", field=name
        )
    return data
