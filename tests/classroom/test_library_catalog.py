"""The library's catalog across crashes and restarts: a publish cut between its two appends,
lessons an earlier version left published but unlisted, and what a refresh reads."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from classroom import library, library_catalog
from classroom.auth import hash_password
from classroom.classes import ClassRecord, TeacherRecord
from classroom.errors import StoreUnavailable
from classroom.hub import Hub
from classroom.keys import SERVICES
from classroom.lesson_index import LessonIndex
from classroom.library_catalog import Catalog
from classroom.log import Actor, NewEvent
from classroom.settings import Settings
from classroom.storage import open_store
from testkit.client import Api
from testkit.inprocess import start_app
from tests.classroom.test_library import library_list, recorded
from tests.conftest import PASSWORD, Running

TEACHER = "amina"


@contextlib.asynccontextmanager
async def serving(data_dir: Path) -> AsyncIterator[Running]:
    """The server over SQLite in ``data_dir``, started anew each time (a restart)."""
    settings = Settings(
        host="127.0.0.1",
        port=0,
        store_url=f"sqlite://{data_dir / 'takhti.sqlite3'}",
        data_dir=data_dir,
    )
    runner, url = await start_app(settings)
    services = runner.app[SERVICES]
    if await services.store.get_teacher(TEACHER) is None:
        await services.store.add_teacher(TeacherRecord(TEACHER, hash_password(PASSWORD), 0))
    await services.library.reconciled()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(url, http)
            running = Running(url, runner.app, api, await api.login(TEACHER, PASSWORD))
            try:
                yield running
            finally:
                await running.close_peers()
    finally:
        await runner.cleanup()


async def publish(running: Running, class_id: str) -> tuple[int, Any]:
    return await running.api.request(
        "POST",
        f"/api/classes/{class_id}/publish",
        token=running.teacher_token,
        json={"published": True},
    )


async def test_a_publish_cut_between_its_two_appends_never_leaves_a_lesson_the_library_hides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(tmp_path) as running:
        lesson = await recorded(running, publish=False, audio=False)
        class_id = lesson["class_id"]
        store = running.services.store
        real_append = store.append
        appends: list[str] = []

        async def crash_after_the_first(cid: str, events: Any) -> Any:
            # The process dies after the publish's first append is durable: the second never
            # reaches the store.
            appends.append(cid)
            if len(appends) > 1:
                raise StoreUnavailable("the server was killed here")
            return await real_append(cid, events)

        monkeypatch.setattr(store, "append", crash_after_the_first)
        status, _ = await publish(running, class_id)
        assert status != 200 and len(appends) == 2
        monkeypatch.undo()

    async with serving(tmp_path) as running:
        state = await running.services.lesson_index.state(class_id)
        shown = class_id in [x["class_id"] for x in await library_list(running)]
        # Whatever was cut, the library and the lesson's own log agree.
        assert shown == state.published, (shown, state.published, appends)
        status, body = await publish(running, class_id)  # the teacher tries again
        assert status == 200 and body["published"] is True, body
        assert class_id in [x["class_id"] for x in await library_list(running)]


async def test_lessons_left_published_but_unlisted_are_listed_at_the_next_start(
    tmp_path: Path,
) -> None:
    # What an earlier version left after a crash between ``lesson_published`` and its listing:
    # a published lesson the library's index does not name (and no reconcile mark).
    store = open_store(f"sqlite://{tmp_path / 'takhti.sqlite3'}", data_dir=tmp_path)
    await store.open()
    now = time.time_ns() // 1_000_000
    teacher = Actor("teacher", TEACHER, TEACHER)
    await store.add_teacher(TeacherRecord(TEACHER, hash_password(PASSWORD), 0))
    for class_id, published in (("stuck", True), ("private", False)):
        await store.create_class(
            ClassRecord(class_id, TEACHER, f"Lesson {class_id}", f"J{class_id}", now, now + 2)
        )
        text = {"id": "t1", "page": "page-1", "text": "fractions", "x": 1, "y": 1}
        await store.append(
            class_id,
            [
                NewEvent("text_added", teacher, {**text, "size": 40, "color": "#1a1a1a"}),
                NewEvent("class_ended", teacher, {}),
                NewEvent("lesson_published", teacher, {"published": published}),
            ],
        )
    await store.close()

    async with serving(tmp_path) as running:
        assert [x["class_id"] for x in await library_list(running)] == ["stuck"]
        index = await running.services.store.read_after(library.LIBRARY_LOG, 0, 100)
        assert [(e.type, e.data.get("class_id")) for e in index] == [
            ("library_listed", "stuck"),
            ("library_reconciled", None),
        ]
    async with serving(tmp_path) as running:  # once per store: the next start only reads
        index = await running.services.store.read_after(library.LIBRARY_LOG, 0, 100)
        assert len(index) == 2
        assert [x["class_id"] for x in await library_list(running)] == ["stuck"]


async def test_a_refresh_reads_only_the_lessons_whose_listing_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(tmp_path) as running:
        ids = [(await recorded(running, audio=False))["class_id"] for _ in range(3)]
        later = (await recorded(running, publish=False, audio=False))["class_id"]
    # A restart: no lesson is loaded, so every look at one is a read of its log.
    async with serving(tmp_path) as running:
        services = running.services
        now = [1000.0]
        catalog = Catalog(services.store, services.lesson_index, school="", clock=lambda: now[0])
        services.library = catalog  # the routes and the handlers use this one
        reads: Counter[str] = Counter()
        real_read = services.store.read_after

        async def counted(class_id: str, after_seq: int, limit: int) -> Any:
            reads[class_id] += 1
            return await real_read(class_id, after_seq, limit)

        monkeypatch.setattr(services.store, "read_after", counted)

        def lessons_read() -> set[str]:
            found = {c for c, n in reads.items() if n and c != library.LIBRARY_LOG}
            reads.clear()
            return found

        assert {e.class_id for e in await catalog.entries()} == set(ids)
        assert lessons_read() == set(ids)
        for _ in range(5):  # refreshes with nothing changed read the index only
            now[0] += library_catalog.REFRESH_S
            assert len(await catalog.entries()) == 3
            assert lessons_read() == set() and reads == Counter()
            assert len(await library_list(running)) == 3
            lessons_read()

        status, body = await publish(running, later)
        assert status == 200, body
        lessons_read()  # the route's own look at the lesson
        now[0] += library_catalog.REFRESH_S
        assert len(await catalog.entries()) == 4
        assert lessons_read() == {later}

        # Another process (sharing the store) takes a lesson out: its event, then its touch.
        teacher = Actor("teacher", TEACHER, TEACHER)
        gone = ids[0]
        await services.store.append(
            gone, [NewEvent("lesson_published", teacher, {"published": False})]
        )
        await services.store.append(
            library.LIBRARY_LOG,
            [NewEvent("library_listed", library_catalog.LISTER, {"class_id": gone})],
        )
        now[0] += library_catalog.REFRESH_S
        assert gone not in {e.class_id for e in await catalog.entries()}
        assert lessons_read() == {gone}

        now[0] += library_catalog.RECHECK_S  # the periodic look at every listed lesson
        assert len(await catalog.entries()) == 3
        # (``later`` is loaded here since its publish: its live state is read from memory.)
        assert lessons_read() == set(ids)
        now[0] += library_catalog.REFRESH_S
        await catalog.entries()
        assert lessons_read() == set()

        # Another process's catalog sees a lesson taken out here at its next refresh (the
        # withdrawal's touch), not at its next recheck.
        other = Catalog(
            services.store,
            LessonIndex(services.store, Hub(services.store, no_fan_out)),
            school="",
            clock=lambda: now[0],
        )
        assert {e.class_id for e in await other.entries()} == {ids[1], ids[2], later}
        status, body = await running.api.request(
            "POST",
            f"/api/classes/{ids[1]}/publish",
            token=running.teacher_token,
            json={"published": False},
        )
        assert status == 200, body
        now[0] += library_catalog.REFRESH_S
        assert {e.class_id for e in await other.entries()} == {ids[2], later}


async def no_fan_out(runtime: object, event: object) -> None:
    return None
