"""Lessons travel between schools: a folder of content-addressed files and a manifest.

``classroom library export DIR`` writes this server's published lessons to ``DIR`` (a USB
stick)::

    DIR/library.json          the manifest (LibraryManifest: lessons, every file by SHA-256)
    DIR/files/<sha256>        each file once, named by the SHA-256 of its bytes

A lesson's files: its log in the library view (``classroom/library.py``: no names, no
answers, no private ink; seqs 1, 2, 3 ...), the assets its replay loads (audio segments,
camera keyframes, background pictures) and its exported ``lesson.html`` / ``lesson.mp4``
where they exist (DATA_DIR/exports/CLASS_ID/). Exporting again writes only files that are
not there yet; lessons already in the manifest from elsewhere are kept.

``classroom library import DIR`` checks every file of every lesson (present, a regular file
inside ``DIR/files``, the declared size, the declared SHA-256) before writing anything of that
lesson; a lesson with a bad file is refused with a message naming the file, the others are
imported. Importing again adds nothing.

Class ids: an imported lesson keeps its class id, so a lesson is the same lesson on every
server it reaches. Where this server already has another lesson under that id (its own class,
or an older copy of the lesson with other events), the copy gets the stable id
``L`` + 24 hex digits of SHA-256(``class id:events hash``): the same on every import, so
importing twice still adds nothing. Imported lessons belong to the teacher ``~library`` (not a
login name: no one can sign in as it) and are published here as they were there.

``classroom library pull URL`` fetches the manifest and files of another server over HTTP
(``/api/library/manifest``, ``/api/library/files/<sha256>``) into DATA_DIR/library-pull/HOST/,
resuming a file cut short (a ``.part`` file and a Range request), and imports from there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from classroom import library
from classroom.classes import ClassRecord
from classroom.errors import (
    ClassroomError,
    Conflict,
    FileCorrupt,
    FileMissing,
    FileTooLarge,
    ManifestInvalid,
    TransferCut,
    UnsafePath,
)
from classroom.library_catalog import Catalog
from classroom.log import Actor, Event, NewEvent
from classroom.protocol.http import (
    LibraryManifest,
    ManifestAsset,
    ManifestDownload,
    ManifestFile,
    ManifestLesson,
)
from classroom.storage.base import Store

MANIFEST_NAME = "library.json"
FILES_DIR = "files"
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
MAX_EVENTS_BYTES = 512 * 1024 * 1024
MAX_ASSET_BYTES = 64 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 4 * 1024**3
IMPORTED_TEACHER = library.IMPORTED_TEACHER
ORIGIN_ASSET = library.ORIGIN_ASSET
IMPORTER = Actor("teacher", IMPORTED_TEACHER)
DOWNLOADS = ("lesson.html", "lesson.mp4")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024

Progress = Callable[[str], None]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the lesson file ---------------------------------------------------------------------------


def lesson_file_bytes(class_id: str, view: Iterable[Event]) -> bytes:
    """A lesson's events file: its library view renumbered 1, 2, 3 ..., canonical JSON (so
    the same lesson gives the same bytes, and the same hash, on every export)."""
    records = []
    for n, event in enumerate(view, start=1):
        record = dataclasses.replace(event, seq=n).to_record()
        records.append(record)
    body = {"format": "takhti-lesson", "version": 1, "class_id": class_id, "events": records}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def parse_lesson_file(class_id: str, raw: bytes, name: str) -> list[Event]:
    """The events of a lesson file, checked: the library's kinds only, seqs 1, 2, 3 ..."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ManifestInvalid(f"{name}: the events file is not valid JSON") from None
    if not isinstance(body, dict) or body.get("format") != "takhti-lesson":
        raise ManifestInvalid(f"{name}: not a Takhti lesson events file")
    records = body.get("events")
    if not isinstance(records, list):
        raise ManifestInvalid(f"{name}: the events file has no events list")
    events: list[Event] = []
    for n, record in enumerate(records, start=1):
        try:
            event = Event.from_record(class_id, record)
            if not isinstance(event.data, dict) or event.actor.role not in (
                "teacher",
                "student",
                "board",
            ):
                raise TypeError("bad event")
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ManifestInvalid(f"{name}: event {n} is not a lesson event") from None
        if event.seq != n or event.type not in library.KEPT_EVENTS or event.audience != "all":
            raise ManifestInvalid(f"{name}: event {n} is not one a library lesson holds")
        if event.client_id is not None or event.payload_hash is not None:
            raise ManifestInvalid(f"{name}: event {n} carries a client id")
        events.append(event)
    return events


# --- building a manifest -----------------------------------------------------------------------


@dataclass
class Collected:
    """The manifest of this server's library and where each of its files' bytes come from."""

    manifest: LibraryManifest
    # sha256 -> where its bytes are: a file on disk, a stored asset (class id, asset id) or
    # a lesson's events file (class id, seq); loaded when needed (:func:`load`), not kept.
    sources: dict[str, Source] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AssetSource:
    class_id: str
    asset_id: str


@dataclass(frozen=True)
class EventsSource:
    class_id: str
    seq: int


Source = Path | AssetSource | EventsSource


async def load(store: Store, catalog: Catalog, source: Source) -> bytes | Path:
    """The bytes of a manifest file (or its path on disk)."""
    if isinstance(source, Path):
        return source
    if isinstance(source, AssetSource):
        found = await store.get_asset(source.class_id, source.asset_id)
        return b"" if found is None else found[1]
    view = await catalog.view(source.class_id, source.seq)
    return await asyncio.to_thread(lesson_file_bytes, source.class_id, view)


def _digest(data: bytes) -> ManifestFile:
    return ManifestFile(sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def hash_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in 1 MB pieces."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


async def collect(store: Store, catalog: Catalog, data_dir: Path) -> Collected:
    """Every published lesson with its files (the export and the pull route answer this)."""
    collected = Collected(LibraryManifest(format="takhti-library", version=1, lessons=[]))
    for entry in await catalog.entries():
        record = await store.get_class(entry.class_id)
        if record is None:
            continue
        view = await catalog.view(entry.class_id, entry.seq)
        events = await asyncio.to_thread(lesson_file_bytes, entry.class_id, view)
        events_file = _digest(events)
        collected.sources[events_file.sha256] = EventsSource(entry.class_id, entry.seq)
        collected.sizes[events_file.sha256] = events_file.size
        assets: list[ManifestAsset] = []
        for asset_id in sorted(entry.assets):
            found = await store.get_asset(entry.class_id, asset_id)
            if found is None:
                continue
            content_type, data = found
            digest = _digest(data)
            collected.sources[digest.sha256] = AssetSource(entry.class_id, asset_id)
            collected.sizes[digest.sha256] = digest.size
            assets.append(
                ManifestAsset(
                    id=asset_id, content_type=content_type, sha256=digest.sha256, size=digest.size
                )
            )
        downloads: list[ManifestDownload] = []
        for name, path in exported_files(data_dir, entry.class_id):
            sha, size = await asyncio.to_thread(_cached_hash, path)
            collected.sources[sha] = path
            collected.sizes[sha] = size
            downloads.append(ManifestDownload(name=name, sha256=sha, size=size))  # type: ignore[arg-type]
        collected.manifest.lessons.append(
            ManifestLesson(
                class_id=entry.class_id,
                title=str(entry.summary.get("title", ""))[:400],
                created_at=record.created_at,
                ended_at=record.ended_at,
                summary=entry.summary,
                events=events_file,
                assets=assets,
                downloads=downloads,
            )
        )
    return collected


_HASHES: dict[tuple[str, int, int], tuple[str, int]] = {}


def _cached_hash(path: Path) -> tuple[str, int]:
    # An exported file is written under a temporary name and renamed (classroom/export/
    # files.py): its size and mtime change whenever its bytes do.
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = hash_file(path)
    return _HASHES[key]


def exported_files(data_dir: Path, class_id: str) -> list[tuple[str, Path]]:
    """The lesson's exported offline package and MP4 (DATA_DIR/exports/CLASS_ID/), if any."""
    folder = data_dir / "exports" / class_id
    found = []
    for name in DOWNLOADS:
        path = folder / name
        try:
            st = path.lstat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.append((name, path))
    return found


# --- export ------------------------------------------------------------------------------------


@dataclass
class ExportReport:
    lessons: int = 0
    files_written: int = 0
    files_kept: int = 0
    bytes_written: int = 0


def _write_atomic(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    with temp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    temp.replace(path)


def _copy_atomic(source: Path, path: Path) -> int:
    temp = path.with_name(f".{path.name}.tmp")
    size = 0
    with source.open("rb") as src, temp.open("wb") as dst:
        while chunk := src.read(_CHUNK):
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    temp.replace(path)
    return size


@dataclass
class Manifest:
    """A manifest read from a folder or a server: its well-formed lessons, and the others."""

    lessons: list[ManifestLesson]
    refused: list[tuple[str, ClassroomError]] = field(default_factory=list)


def read_manifest(folder: Path) -> Manifest:
    """The folder's manifest (MANIFEST_INVALID, FILE_TOO_LARGE, FILE_MISSING, UNSAFE_PATH)."""
    path = folder / MANIFEST_NAME
    try:
        st = path.lstat()
    except OSError:
        raise FileMissing(f"{path}: no library manifest here") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath(f"{path}: the manifest is not a regular file")
    if st.st_size > MAX_MANIFEST_BYTES:
        raise FileTooLarge(f"{path}: the manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    return parse_manifest(path.read_bytes(), str(path))


def _where(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return ".".join(str(p) for p in first.get("loc", ())) or "top"


def parse_manifest(raw: bytes, name: str) -> Manifest:
    """A manifest's lessons, each checked on its own: a malformed lesson is refused (named by
    its class id or place), the others stay importable."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise FileTooLarge(f"{name}: the manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ManifestInvalid(f"{name}: not valid JSON") from None
    if not isinstance(data, dict) or (data.get("format"), data.get("version")) != (
        "takhti-library",
        1,
    ):
        raise ManifestInvalid(f"{name}: not a Takhti library manifest (format, version 1)")
    lessons = data.get("lessons")
    if not isinstance(lessons, list) or len(lessons) > 10_000:
        raise ManifestInvalid(f"{name}: not a Takhti library manifest (lessons)")
    manifest = Manifest(lessons=[])
    for n, item in enumerate(lessons):
        label = str(item.get("class_id"))[:64] if isinstance(item, dict) else f"#{n + 1}"
        try:
            manifest.lessons.append(ManifestLesson.model_validate(item))
        except ValidationError as exc:
            manifest.refused.append(
                (label, ManifestInvalid(f"{name}: lesson {n + 1} is malformed at {_where(exc)}"))
            )
        except RecursionError:
            manifest.refused.append(
                (label, ManifestInvalid(f"{name}: lesson {n + 1} nests too deep"))
            )
    return manifest


async def export_library(
    store: Store, catalog: Catalog, data_dir: Path, folder: Path, progress: Progress = _say
) -> ExportReport:
    """Write the published lessons to ``folder``, adding only the files not there yet."""
    collected = await collect(store, catalog, data_dir)
    files = folder / FILES_DIR
    files.mkdir(parents=True, exist_ok=True)
    report = ExportReport(lessons=len(collected.manifest.lessons))
    for n, (sha, source) in enumerate(sorted(collected.sources.items()), start=1):
        path = files / sha
        size = collected.sizes[sha]
        try:
            st = path.lstat()
            if stat.S_ISREG(st.st_mode) and st.st_size == size:
                report.files_kept += 1
                continue
        except OSError:
            pass
        loaded = await load(store, catalog, source)
        if isinstance(loaded, bytes):
            if hashlib.sha256(loaded).hexdigest() != sha:
                continue  # changed since it was hashed: the next export writes it
            await asyncio.to_thread(_write_atomic, path, loaded)
        else:
            await asyncio.to_thread(_copy_atomic, loaded, path)
        report.files_written += 1
        report.bytes_written += size
        progress(f"  file {n}/{len(collected.sources)}: {sha[:12]} ({size} bytes)")
    lessons = {lesson.class_id: lesson for lesson in collected.manifest.lessons}
    try:
        previous: Manifest | None = read_manifest(folder)
    except FileMissing:
        previous = None
    if previous is not None:
        # A stick may carry lessons of several schools: theirs stay, ours are replaced.
        for lesson in previous.lessons:
            lessons.setdefault(lesson.class_id, lesson)
    manifest = LibraryManifest(
        format="takhti-library",
        version=1,
        lessons=sorted(lessons.values(), key=lambda x: x.class_id),
    )
    raw = json.dumps(manifest.model_dump(mode="json"), ensure_ascii=False, indent=1).encode()
    await asyncio.to_thread(_write_atomic, folder / MANIFEST_NAME, raw)
    return report


# --- import ------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)  # class ids written now
    already: list[str] = field(default_factory=list)  # class ids this server had
    refused: list[tuple[str, ClassroomError]] = field(default_factory=list)


def check_file(files: Path, declared: ManifestFile, limit: int, what: str) -> Path:
    """The file ``files/<sha256>``, checked against the manifest (raises naming the file)."""
    if not _SHA.match(declared.sha256):
        raise UnsafePath(f"{what}: {declared.sha256!r} is not a file name of the library")
    path = files / declared.sha256
    name = f"{FILES_DIR}/{declared.sha256} ({what})"
    if declared.size > limit:
        raise FileTooLarge(f"{name}: declares {declared.size} bytes, more than {limit}")
    try:
        st = path.lstat()
    except OSError:
        raise FileMissing(f"{name} is missing: the copy is partial") from None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise UnsafePath(f"{name} is a link or not a regular file")
    if st.st_size != declared.size:
        raise FileCorrupt(
            f"{name} has {st.st_size} bytes, the manifest says {declared.size}: "
            "a truncated or damaged copy"
        )
    sha, _ = hash_file(path)
    if sha != declared.sha256:
        raise FileCorrupt(f"{name}: its SHA-256 is {sha}, not the manifest's: a damaged copy")
    return path


def origin_of(raw: bytes) -> dict[str, Any]:
    """An imported lesson's origin marker (see ``classroom.library.ORIGIN_ASSET``)."""
    try:
        found = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return found if isinstance(found, dict) else {}


def _derived_id(class_id: str, events_sha: str) -> str:
    return "L" + hashlib.sha256(f"{class_id}:{events_sha}".encode()).hexdigest()[:24]


async def _target_id(store: Store, lesson: ManifestLesson) -> tuple[str, bool]:
    """Where the lesson goes here, and whether it is already there (see module docstring)."""
    for class_id in (lesson.class_id, _derived_id(lesson.class_id, lesson.events.sha256)):
        record = await store.get_class(class_id)
        if record is None:
            return class_id, False
        marker = await store.get_asset(class_id, ORIGIN_ASSET)
        if marker is not None and origin_of(marker[1]).get("events") == lesson.events.sha256:
            return class_id, await store.head(class_id) > 0
    raise Conflict(f"lesson {lesson.class_id}: both its ids are taken here")


async def listed_ids(store: Store) -> set[str]:
    found: set[str] = set()
    after = 0
    while True:
        events = await store.read_after(library.LIBRARY_LOG, after, 1000)
        found.update(str(e.data.get("class_id", "")) for e in events if e.type == "library_listed")
        if len(events) < 1000:
            return found
        after = events[-1].seq


async def import_library(
    store: Store, data_dir: Path, folder: Path, progress: Progress = _say
) -> ImportReport:
    """Import every lesson of ``folder`` whose files all check out (see module docstring)."""
    manifest = read_manifest(folder)
    files = folder / FILES_DIR
    report = ImportReport(refused=list(manifest.refused))
    for class_id, exc in manifest.refused:
        progress(f"lesson {class_id}: refused: {exc.code}: {exc.message}")
    listed = await listed_ids(store)
    for n, lesson in enumerate(manifest.lessons, start=1):
        progress(f"lesson {n}/{len(manifest.lessons)}: {lesson.class_id} {lesson.title}")
        try:
            class_id = await _import_one(store, data_dir, files, lesson, listed, report)
        except ClassroomError as exc:
            report.refused.append((lesson.class_id, exc))
            progress(f"  refused: {exc.code}: {exc.message}")
            continue
        progress(f"  {'already here' if class_id in report.already else 'imported'}: {class_id}")
    return report


async def _import_one(
    store: Store,
    data_dir: Path,
    files: Path,
    lesson: ManifestLesson,
    listed: set[str],
    report: ImportReport,
) -> str:
    # Every file is checked before anything of the lesson is written.
    events_path = await asyncio.to_thread(
        check_file, files, lesson.events, MAX_EVENTS_BYTES, f"events of {lesson.class_id}"
    )
    assets = []
    for asset in lesson.assets:
        path = await asyncio.to_thread(
            check_file, files, asset, MAX_ASSET_BYTES, f"asset {asset.id} of {lesson.class_id}"
        )
        assets.append((asset, path))
    downloads = []
    for download in lesson.downloads:
        path = await asyncio.to_thread(
            check_file,
            files,
            download,
            MAX_DOWNLOAD_BYTES,
            f"{download.name} of {lesson.class_id}",
        )
        downloads.append((download, path))
    raw = await asyncio.to_thread(events_path.read_bytes)
    events = await asyncio.to_thread(
        parse_lesson_file, lesson.class_id, raw, f"{FILES_DIR}/{lesson.events.sha256}"
    )
    if not events:
        raise ManifestInvalid(f"lesson {lesson.class_id}: its events file is empty")
    class_id, present = await _target_id(store, lesson)
    if present and class_id in listed:
        report.already.append(class_id)
        return class_id
    events = [dataclasses.replace(e, class_id=class_id) for e in events]
    if await store.get_class(class_id) is None:
        record = ClassRecord(
            id=class_id,
            teacher=IMPORTED_TEACHER,
            title=lesson.title[:200] or class_id,
            join_code="~" + lesson.events.sha256[:16],
            created_at=lesson.created_at,
            ended_at=lesson.ended_at if lesson.ended_at is not None else events[-1].ts,
        )
        await store.create_class(record)
    origin = {
        "events": lesson.events.sha256,
        "school": str(lesson.summary.get("school", ""))[:200],
        "teacher_name": str(lesson.summary.get("teacher_name", ""))[:80],
    }
    await store.put_asset(
        class_id, ORIGIN_ASSET, "application/json", json.dumps(origin, ensure_ascii=False).encode()
    )
    for asset, path in assets:
        await store.put_asset(class_id, asset.id, asset.content_type, path.read_bytes())
    folder = data_dir / "exports" / class_id
    for download, path in downloads:
        target = folder / download.name
        if not target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(_copy_atomic, path, target)
    if class_id not in listed:
        # Listed before its log is written, as a publish is (classroom/library_catalog.py): a
        # crash between leaves a listed id with no log, which the next import fills in.
        await store.append(
            library.LIBRARY_LOG,
            [NewEvent("library_listed", IMPORTER, {"class_id": class_id})],
        )
        listed.add(class_id)
    wrote = await store.import_log(class_id, events)
    (report.added if wrote else report.already).append(class_id)
    return class_id


# --- pull --------------------------------------------------------------------------------------


@dataclass
class PullReport:
    files_fetched: int = 0
    files_kept: int = 0
    bytes_fetched: int = 0
    imported: ImportReport | None = None


def pull_folder(data_dir: Path, url: str) -> Path:
    parts = urlsplit(url)
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", parts.netloc or "server")
    return data_dir / "library-pull" / host


async def pull_library(
    store: Store, data_dir: Path, url: str, progress: Progress = _say, *, timeout_s: float = 60
) -> PullReport:
    """Fetch another server's library into DATA_DIR/library-pull/HOST and import it."""
    import aiohttp

    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ManifestInvalid(f"{url!r}: give the other server's address, http://HOST:PORT")
    folder = pull_folder(data_dir, base)
    files = folder / FILES_DIR
    files.mkdir(parents=True, exist_ok=True)
    report = PullReport()
    client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        try:
            async with session.get(f"{base}/api/library/manifest") as resp:
                if resp.status != 200:
                    raise ManifestInvalid(f"{base}: answered {resp.status} for its manifest")
                raw = await resp.content.read(MAX_MANIFEST_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransferCut(f"{base}: could not fetch the manifest ({exc})") from None
        try:
            answer = json.loads(raw)
        except (ValueError, RecursionError):
            raise ManifestInvalid(f"{base}: its manifest is not JSON") from None
        if not isinstance(answer, dict):
            raise ManifestInvalid(f"{base}: its manifest is not a library manifest")
        manifest = parse_manifest(
            json.dumps(answer.get("manifest")).encode(), f"{base}/api/library/manifest"
        )
        well_formed = LibraryManifest(format="takhti-library", version=1, lessons=manifest.lessons)
        wanted: dict[str, tuple[int, int]] = {}
        for lesson in manifest.lessons:
            declared: list[tuple[ManifestFile, int]] = [(lesson.events, MAX_EVENTS_BYTES)]
            declared += [(a, MAX_ASSET_BYTES) for a in lesson.assets]
            declared += [(d, MAX_DOWNLOAD_BYTES) for d in lesson.downloads]
            for file, limit in declared:
                wanted[file.sha256] = (file.size, limit)
        for n, (sha, (size, limit)) in enumerate(sorted(wanted.items()), start=1):
            if size > limit:
                continue  # the import refuses the lesson, naming the file
            final = files / sha
            if final.exists() and final.stat().st_size == size:
                report.files_kept += 1
                continue
            got = await _fetch(session, f"{base}/api/library/files/{sha}", final, size)
            report.files_fetched += 1
            report.bytes_fetched += got
            progress(f"  file {n}/{len(wanted)}: {sha[:12]} ({got} bytes fetched)")
    body = json.dumps(well_formed.model_dump(mode="json"), ensure_ascii=False).encode()
    _write_atomic(folder / MANIFEST_NAME, body)
    report.imported = await import_library(store, data_dir, folder, progress)
    report.imported.refused[:0] = manifest.refused  # malformed on the server: never fetched
    return report


async def _fetch(session: Any, url: str, final: Path, size: int) -> int:
    """Fetch one file into ``final`` (via ``final.part``, resumed with a Range request);
    checks its hash; returns the bytes that came over the network."""
    import aiohttp

    part = final.with_name(final.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    headers = {"Range": f"bytes={have}-"} if have > 0 else {}
    got = 0
    if have < size or size == 0:
        try:
            async with session.get(url, headers=headers) as resp:
                if resp.status == 200:
                    have = 0  # the server sends it whole: start again
                elif resp.status != 206 and not (resp.status == 416 and have == size):
                    raise FileMissing(f"{url}: answered {resp.status}")
                mode = "ab" if have else "wb"
                with part.open(mode) as f:
                    async for chunk in resp.content.iter_chunked(256 * 1024):
                        if have + got + len(chunk) > size:
                            raise FileTooLarge(f"{url}: sends more than the {size} bytes declared")
                        f.write(chunk)
                        got += len(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransferCut(
                f"{url}: the transfer was cut after {have + got} of {size} bytes ({exc}); "
                "run the pull again to resume"
            ) from None
    if have + got < size:
        raise TransferCut(
            f"{url}: the transfer was cut after {have + got} of {size} bytes; "
            "run the pull again to resume"
        )
    sha, _ = await asyncio.to_thread(hash_file, part)
    if sha != final.name:
        part.unlink()
        raise FileCorrupt(f"{url}: its bytes do not have the SHA-256 of their name")
    part.replace(final)
    return got


def summarise(report: ImportReport) -> str:
    return (
        f"{len(report.added)} lessons imported, {len(report.already)} already here, "
        f"{len(report.refused)} refused"
    )


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# --- the command -------------------------------------------------------------------------------


async def _with_store(settings: Any, work: Callable[[Store, Catalog], Any]) -> Any:
    from classroom.hub import Hub
    from classroom.lesson_index import LessonIndex
    from classroom.storage import open_store

    store = open_store(settings.store_url, data_dir=settings.data_dir)
    await store.open()

    async def no_fan_out(runtime: Any, event: Event) -> None:
        return None

    hub = Hub(store, no_fan_out)
    try:
        catalog = Catalog(store, LessonIndex(store, hub), school=settings.school)
        return await work(store, catalog)
    finally:
        await hub.close()
        await store.close()


def main(args: Any, settings: Any) -> int:
    """``classroom library export DIR | import DIR | pull URL``: exit 0, or 1 when a lesson
    was refused (each refusal printed with its code and the file it names)."""
    data_dir = Path(settings.data_dir)
    action = args.library_command
    if action == "export":
        folder = Path(args.dir)

        async def run_export(store: Store, catalog: Catalog) -> ExportReport:
            return await export_library(store, catalog, data_dir, folder)

        report = asyncio.run(_with_store(settings, run_export))
        print(
            f"{report.lessons} published lessons in {folder / MANIFEST_NAME}: "
            f"{report.files_written} files written ({report.bytes_written} bytes), "
            f"{report.files_kept} already there"
        )
        return 0
    if action == "import":
        folder = Path(args.dir)

        async def run_import(store: Store, catalog: Catalog) -> ImportReport:
            return await import_library(store, data_dir, folder)

        imported = asyncio.run(_with_store(settings, run_import))
        _print_refusals(imported)
        print(summarise(imported))
        return 1 if imported.refused else 0

    async def run_pull(store: Store, catalog: Catalog) -> PullReport:
        return await pull_library(store, data_dir, args.url)

    pulled = asyncio.run(_with_store(settings, run_pull))
    print(
        f"{pulled.files_fetched} files fetched ({pulled.bytes_fetched} bytes), "
        f"{pulled.files_kept} already here"
    )
    imported = pulled.imported or ImportReport()
    _print_refusals(imported)
    print(summarise(imported))
    return 1 if imported.refused else 0


def _print_refusals(report: ImportReport) -> None:
    for class_id, exc in report.refused:
        print(f"classroom: refused lesson {class_id}: {exc.code}: {exc.message}", file=sys.stderr)
