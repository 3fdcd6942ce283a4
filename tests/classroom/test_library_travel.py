"""Lessons travel between schools: export to a folder, import on a second server's data dir
(the ``classroom library`` command, as an operator runs it), pull over HTTP with a transfer
cut halfway, and hostile folders and manifests."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from classroom import library, library_travel
from classroom.errors import TransferCut
from classroom.log import Actor, Event
from classroom.storage import open_store
from classroom.storage.base import Store
from classroom.timeline import Timeline
from tests.classroom.test_library import recorded
from tests.conftest import Running

ROOT = Path(__file__).resolve().parents[2]
VIEWER = Actor("student", "")


def classroom(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The ``classroom`` command in its own process, as an operator runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "classroom.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@contextlib.asynccontextmanager
async def opened(data_dir: Path) -> AsyncIterator[Store]:
    store = open_store("sqlite:///", data_dir=data_dir)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def read_all(store: Store, class_id: str) -> list[Event]:
    events: list[Event] = []
    while chunk := await store.read_after(class_id, events[-1].seq if events else 0, 1000):
        events.extend(chunk)
    return events


async def export(running: Running, folder: Path) -> library_travel.ExportReport:
    services = running.services
    return await library_travel.export_library(
        services.store, services.library, services.settings.data_dir, folder, lambda _: None
    )


def same_replay(original: list[Event], copy: list[Event]) -> None:
    """The copy's timeline has the original's state at sampled moments (its library view)."""
    first, second = Timeline(original), Timeline(copy)
    assert first.duration_ms == second.duration_ms and first.duration_ms > 0
    assert [c.to_json() for c in first.chapters] == [c.to_json() for c in second.chapters]
    start = first.start_ms or 0
    for step in range(11):
        t = start + first.duration_ms * step // 10
        assert first.state_at(t).snapshot(VIEWER) == second.state_at(t).snapshot(VIEWER), step


async def test_export_import_on_a_second_server_replays_identically_and_twice_adds_nothing(
    running_sqlite: Running, tmp_path: Path
) -> None:
    running = running_sqlite
    lesson = await recorded(running, board="سبق کا خلاصہ")
    class_id = lesson["class_id"]
    stick = tmp_path / "usb"
    first = await export(running, stick)
    assert first.lessons == 1 and first.files_written >= 2  # events and the audio segment
    again = await export(running, stick)
    assert again.files_written == 0 and again.files_kept == first.files_written

    second = tmp_path / "second-school"
    done = classroom("library", "import", stick, "--data-dir", second)
    assert done.returncode == 0, done.stderr
    assert "1 lessons imported" in done.stdout
    twice = classroom("library", "import", stick, "--data-dir", second)
    assert twice.returncode == 0, twice.stderr
    assert "0 lessons imported, 1 already here" in twice.stdout

    original = library.library_events(
        await read_all(running.services.store, class_id), renumber=True
    )
    async with opened(second) as store:
        record = await store.get_class(class_id)
        assert record is not None and record.teacher == library_travel.IMPORTED_TEACHER
        copy = await read_all(store, class_id)
        assert len(copy) == len(original)
        same_replay(original, copy)
        for asset_id in library.referenced_assets(original):
            assert await store.get_asset(class_id, asset_id) == (
                await running.services.store.get_asset(class_id, asset_id)
            )
        assert await library_travel.listed_ids(store) == {class_id}
        # In the second school's library it shows the first school's teacher, not "~library".
        from classroom.hub import Hub
        from classroom.lesson_index import LessonIndex
        from classroom.library_catalog import Catalog

        async def no_fan_out(runtime: Any, event: Event) -> None:
            return None

        hub = Hub(store, no_fan_out)
        catalog = Catalog(store, LessonIndex(store, hub), school="Second School")
        (entry,) = await catalog.entries()
        (there,) = await running.services.library.entries()
        assert entry.summary["teacher_name"] == there.summary["teacher_name"]
        assert entry.summary["school"] == there.summary["school"]
        assert entry.summary["title"] == there.summary["title"]
        await hub.close()
    raw = (await read_all(running.services.store, class_id))[0].to_record()
    assert lesson["student"] not in json.dumps([e.to_record() for e in copy], ensure_ascii=False)
    assert raw  # the origin still has its full log


async def test_a_flipped_byte_and_a_truncated_file_are_refused_and_the_rest_imported(
    running_sqlite: Running, tmp_path: Path
) -> None:
    running = running_sqlite
    flipped = await recorded(running, title="flipped", audio=False)
    cut = await recorded(running, title="cut")
    whole = await recorded(running, title="whole", audio=False)
    stick = tmp_path / "usb"
    await export(running, stick)
    manifest = json.loads((stick / "library.json").read_text())
    by_id = {lesson["class_id"]: lesson for lesson in manifest["lessons"]}
    events_file = stick / "files" / by_id[flipped["class_id"]]["events"]["sha256"]
    data = bytearray(events_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    events_file.write_bytes(bytes(data))
    audio_sha = by_id[cut["class_id"]]["assets"][0]["sha256"]
    audio_file = stick / "files" / audio_sha
    audio_file.write_bytes(audio_file.read_bytes()[:-100])

    second = tmp_path / "second-school"
    done = classroom("library", "import", stick, "--data-dir", second)
    assert done.returncode == 1
    assert "1 lessons imported, 0 already here, 2 refused" in done.stdout
    assert f"refused lesson {flipped['class_id']}: FILE_CORRUPT" in done.stderr
    assert f"files/{events_file.name}" in done.stderr and "SHA-256" in done.stderr
    assert f"refused lesson {cut['class_id']}: FILE_CORRUPT" in done.stderr
    assert f"files/{audio_sha}" in done.stderr and "truncated" in done.stderr
    assert "Traceback" not in done.stderr
    async with opened(second) as store:
        assert await store.get_class(flipped["class_id"]) is None
        assert await store.get_class(cut["class_id"]) is None
        assert await store.head(whole["class_id"]) > 0
    # A missing file (a copy stopped halfway) is named too.
    audio_file.unlink()
    done = classroom("library", "import", stick, "--data-dir", second)
    assert f"refused lesson {cut['class_id']}: FILE_MISSING" in done.stderr
    assert "partial" in done.stderr


def _hostile_folder(tmp: Path, lesson: dict[str, Any], files: dict[str, bytes]) -> Path:
    folder = tmp / secrets.token_hex(4)
    (folder / "files").mkdir(parents=True)
    for name, data in files.items():
        (folder / "files" / name).write_bytes(data)
    manifest = {"format": "takhti-library", "version": 1, "lessons": [lesson]}
    (folder / "library.json").write_text(json.dumps(manifest))
    return folder


def _lesson(events: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "class_id": "c_hostile",
        "title": "x",
        "created_at": 1,
        "summary": {},
        "events": events,
        "assets": [],
        **extra,
    }


def _events_file(records: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {"format": "takhti-lesson", "version": 1, "class_id": "c_hostile", "events": records}
    ).encode()


async def test_hostile_folders_and_manifests_are_refused_with_clear_codes_and_nothing_imported(
    tmp_path: Path,
) -> None:
    good_record = {
        "seq": 1,
        "type": "text_added",
        "by": {"role": "teacher", "id": "teacher", "name": ""},
        "ts": 1000,
        "data": {"id": "t", "page": "page-1", "text": "x", "x": 1, "y": 1, "size": 30},
    }
    good = _events_file([good_record])
    sha = hashlib.sha256(good).hexdigest()
    outside = tmp_path / "secret.txt"
    outside.write_bytes(good)

    def declared(name: str = sha, size: int = len(good)) -> dict[str, Any]:
        return {"sha256": name, "size": size}

    cases: list[tuple[str, Path]] = [
        ("MANIFEST_INVALID", _hostile_folder(tmp_path, _lesson(declared("../" * 8 + "x")), {})),
        ("MANIFEST_INVALID", _hostile_folder(tmp_path, _lesson(declared(str(outside))), {})),
        ("FILE_TOO_LARGE", _hostile_folder(tmp_path, _lesson(declared(size=10**15)), {})),
        ("FILE_CORRUPT", _hostile_folder(tmp_path, _lesson(declared()), {sha: good + b" "})),
        ("FILE_MISSING", _hostile_folder(tmp_path, _lesson(declared()), {})),
    ]
    linked = _hostile_folder(tmp_path, _lesson(declared()), {})
    (linked / "files" / sha).symlink_to(outside)
    cases.append(("UNSAFE_PATH", linked))
    for records in (
        [{**good_record, "type": "poll_voted"}],  # a student's vote smuggled in
        [{**good_record, "aud": "author"}],  # private ink
        [{**good_record, "seq": 7}],  # seqs that do not run 1, 2, 3
        [{**good_record, "by": "nobody"}],
    ):
        bad = _events_file(records)
        bad_sha = hashlib.sha256(bad).hexdigest()
        folder = _hostile_folder(tmp_path, _lesson(declared(bad_sha, len(bad))), {bad_sha: bad})
        cases.append(("MANIFEST_INVALID", folder))
    deep = b"[" * 100_000 + b"]" * 100_000
    deep_sha = hashlib.sha256(deep).hexdigest()
    cases.append(
        (
            "MANIFEST_INVALID",
            _hostile_folder(tmp_path, _lesson(declared(deep_sha, len(deep))), {deep_sha: deep}),
        )
    )
    data_dir = tmp_path / "school"
    async with opened(data_dir) as store:
        for code, folder in cases:
            report = await library_travel.import_library(store, data_dir, folder, lambda _: None)
            assert [exc.code for _, exc in report.refused] == [code], (folder, report)
            assert report.added == []
        assert await store.get_class("c_hostile") is None
        assert await library_travel.listed_ids(store) == set()

    # Whole manifests that are not ones: deep JSON, not JSON, a link, too large.
    for raw in (b"[" * 200_000, b"\xff\xfe not json", b'{"format": "zip"}'):
        folder = tmp_path / secrets.token_hex(4)
        folder.mkdir()
        (folder / "library.json").write_bytes(raw)
        done = classroom("library", "import", folder, "--data-dir", data_dir)
        assert done.returncode == 2 and "MANIFEST_INVALID" not in done.stdout
        assert "not valid JSON" in done.stderr or "not a Takhti library" in done.stderr
        assert "Traceback" not in done.stderr
    folder = tmp_path / "linked-manifest"
    folder.mkdir()
    (folder / "library.json").symlink_to(outside)
    done = classroom("library", "import", folder, "--data-dir", data_dir)
    assert done.returncode == 2 and "not a regular file" in done.stderr
    done = classroom("library", "import", tmp_path / "nowhere", "--data-dir", data_dir)
    assert done.returncode == 2 and "no library manifest" in done.stderr


class CuttingProxy:
    """A TCP proxy in front of a server that counts the bytes it forwards to the client and,
    while ``cut_after`` is set, drops every connection once that many have gone through."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.sent = 0
        self.cut_after: int | None = None
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, count: bool) -> None:
            try:
                while chunk := await src.read(16384):
                    if count and self.cut_after is not None:
                        room = self.cut_after - self.sent
                        if room <= 0:
                            break
                        chunk = chunk[:room]
                    if count:
                        self.sent += len(chunk)
                    dst.write(chunk)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_a_pull_cut_halfway_completes_on_the_next_run_without_fetching_again(
    running_sqlite: Running, tmp_path: Path
) -> None:
    running = running_sqlite
    lesson = await recorded(running)
    class_id = lesson["class_id"]
    video = secrets.token_bytes(3 * 1024 * 1024)
    folder = running.services.settings.data_dir / "exports" / class_id
    folder.mkdir(parents=True)
    (folder / "lesson.mp4").write_bytes(video)
    port = int(running.url.rsplit(":", 1)[1])
    proxy = CuttingProxy(port)
    url = await proxy.start()
    data_dir = tmp_path / "second-school"
    try:
        async with opened(data_dir) as store:
            proxy.cut_after = len(video) // 2
            with pytest.raises(TransferCut, match="run the pull again"):
                await library_travel.pull_library(store, data_dir, url, lambda _: None)
            assert await store.get_class(class_id) is None  # nothing imported from a cut pull
            files = library_travel.pull_folder(data_dir, url) / "files"
            kept = sum(p.stat().st_size for p in files.iterdir())
            assert 0 < kept < len(video)
            first_run = proxy.sent
            proxy.cut_after = None
            proxy.sent = 0
            report = await library_travel.pull_library(store, data_dir, url, lambda _: None)
            assert report.imported is not None and report.imported.added == [class_id]
            total = sum(p.stat().st_size for p in files.iterdir())
            # The second run fetched only what had not arrived (and a few headers).
            assert report.bytes_fetched == total - kept
            assert proxy.sent < total - kept + 64 * 1024
            assert first_run + proxy.sent < total + 128 * 1024
            assert (data_dir / "exports" / class_id / "lesson.mp4").read_bytes() == video
            original = library.library_events(
                await read_all(running.services.store, class_id), renumber=True
            )
            same_replay(original, await read_all(store, class_id))
            # A third run has nothing to fetch and nothing to add.
            proxy.sent = 0
            third = await library_travel.pull_library(store, data_dir, url, lambda _: None)
            assert third.bytes_fetched == 0 and third.imported is not None
            assert third.imported.added == [] and third.imported.already == [class_id]
    finally:
        await proxy.stop()
