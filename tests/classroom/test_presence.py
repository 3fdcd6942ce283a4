"""Presence logged once per change, kept through store outages, put right from the sockets here."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from classroom import roster
from classroom.hub import Hub
from classroom.log import Actor
from classroom.presence import PresenceLog, presence_fixes
from classroom.services import Services
from classroom.settings import Settings
from classroom.storage import open_store

ALI = Actor("student", "s_ali", "Ali")
SANA = Actor("student", "s_sana", "Sana")
ZARA = Actor("student", "s_zara", "Zara")
CLASS = "c_presence"


def test_fixes_take_the_logged_counts_to_the_sockets_here() -> None:
    fixes = presence_fixes({ALI: 2, SANA: 1}, {ALI: 1, ZARA: 2})
    assert [(actor, p.type) for actor, p in fixes] == [
        (ALI, "student_disconnected"),
        (SANA, "student_disconnected"),
        (ZARA, "student_connected"),
        (ZARA, "student_connected"),
    ]
    assert all(p.data == {"student_id": actor.id} for actor, p in fixes)
    assert presence_fixes({ALI: 1}, {ALI: 1}) == []


async def _no_fan_out(runtime: object, event: object) -> None:
    return None


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    url = f"sqlite://{tmp_path / 'takhti.sqlite3'}"
    store = open_store(url, data_dir=tmp_path)
    settings = Settings(host="127.0.0.1", port=0, store_url=url, data_dir=tmp_path)
    services = Services(settings=settings, store=store, hub=Hub(store, _no_fan_out))
    await services.open()
    yield services
    await services.close()


async def logged_connections(services: Services) -> dict[str, int]:
    state = roster.RosterState()
    for event in await services.store.read_after(CLASS, 0, 1000):
        roster.apply(state, event)
    return state.connections


async def test_reconcile_logs_what_the_sockets_here_say(services: Services) -> None:
    here: Counter[Actor] = Counter()
    presence = PresenceLog(services, lambda class_id: here)
    try:
        assert await presence.log(CLASS, ALI, connected=True)
        assert await presence.log(CLASS, SANA, connected=True)
        # Sana's socket is gone without its disconnection logged; Zara's was never logged.
        here.update({ALI: 1, ZARA: 1})
        assert await presence.reconcile(CLASS)
        assert await logged_connections(services) == {ALI.id: 1, ZARA.id: 1}
        assert presence.logged(CLASS) == {ALI: 1, ZARA: 1}
        before = await services.store.head(CLASS)
        assert await presence.reconcile(CLASS)
        assert await services.store.head(CLASS) == before  # nothing more to put right
    finally:
        await presence.close()


async def test_a_presence_event_the_store_did_not_take_is_sent_again_once(
    services: Services,
) -> None:
    here: Counter[Actor] = Counter({ALI: 1})
    presence = PresenceLog(services, lambda class_id: here)
    try:
        assert await presence.log(CLASS, ALI, connected=True)
        await services.store.close()  # the store is down
        here.clear()
        assert not await presence.log(CLASS, ALI, connected=False)
        await services.store.open()
        assert await presence.reconcile(CLASS)
        kinds = [e.type for e in await services.store.read_after(CLASS, 0, 100)]
        assert kinds == ["student_connected", "student_disconnected"]
        assert presence.logged(CLASS) == {}
    finally:
        await presence.close()
