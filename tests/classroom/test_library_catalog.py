"""The library's catalog across crashes and restarts: a publish cut between its two appends,
lessons an earlier version left published but unlisted, and what a refresh reads."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from classroom import library
from classroom.auth import hash_password
from classroom.classes import ClassRecord, TeacherRecord
from classroom.errors import StoreUnavailable
from classroom.keys import SERVICES
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
