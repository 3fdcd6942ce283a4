"""The school's library over HTTP: publishing, what anyone may see (and never see), search,
caching and byte ranges, rate limits and hostile search strings."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from typing import Any

import aiohttp
import pytest

from boardclient.audio import encode_opus
from classroom import library, library_http
from classroom.keys import LIBRARY
from classroom.log import Actor, Event
from classroom.protocol.http import LibraryList, LibraryReplayInfo, ReplayEvents
from testkit.audio import beeps
from tests.conftest import Running

PEN = {"tool": "pen", "color": "#1a1a1a", "width": 4}
TEXT = {"x": 100, "y": 100, "size": 40, "color": "#1a1a1a"}


def student_name() -> str:
    """A name that shows up in a byte search if it leaks anywhere."""
    return f"Zarmeena{secrets.token_hex(3)}"


async def recorded(
    running: Running,
    *,
    title: str = "کسور",
    subject: str = "maths",
    grade: str = "5",
    languages: tuple[str, ...] = ("ur",),
    board: str = "کتاب کی جمع",
    description: str = "Fractions with the same denominator.",
    student: str = "",
    publish: bool = True,
    audio: bool = True,
) -> dict[str, Any]:
    """An ended lesson with a student's private text, a vote, a raised hand and audio."""
    cls = await running.new_class()
    class_id = str(cls["class_id"])
    teacher = await running.teacher(class_id)
    name = student or student_name()
    pupil, joined = await running.student(str(cls["join_code"]), name)
    await teacher.ok(
        "board_add_text", {"text_id": "t1", "page_id": "page-1", "text": board, **TEXT}
    )
    await teacher.ok("stroke_start", {"stroke_id": "k1", "page_id": "page-1", **PEN})
    await teacher.ok("stroke_extend", {"stroke_id": "k1", "offset": 0, "points": [[1, 2, 0.5, 0]]})
    await teacher.ok("stroke_end", {"stroke_id": "k1", "length": 1})
    await teacher.ok("board_allow_drawing", {"ink": "teacher"})
    await pupil.wait_until(lambda: any(n == "drawing_allowed" for n, _ in pupil.events))
    private = f"{name}-private-note"
    await pupil.ok(
        "board_add_text", {"text_id": "p1", "page_id": "page-1", "text": private, **TEXT}
    )
    ack = await teacher.ok(
        "poll_create", {"kind": "single", "question": "2+2?", "options": ["3", "4"]}
    )
    poll_id = str(ack["poll_id"])
    await teacher.ok("poll_open", {"poll_id": poll_id})
    await pupil.wait_until(lambda: any(n == "poll_opened" for n, _ in pupil.events))
    await pupil.ok("poll_vote", {"poll_id": poll_id, "vote_id": "v1", "option": 1})
    await pupil.ok("hand_raise", {"raised": True, "client_id": "hand-1"})
    await teacher.ok("poll_close", {"poll_id": poll_id})
    await teacher.ok("poll_show_results", {"poll_id": poll_id})
    if audio:
        now = time.time_ns() // 1_000_000
        query = f"segment_id=s1&captured_at_ms={now - 1000}&duration_ms=1000&container=webm"
        status, body = await running.api.request(
            "POST",
            f"/api/classes/{class_id}/audio?{query}",
            token=running.teacher_token,
            data=encode_opus(beeps(1.0, [0.5]), container="webm"),
        )
        assert status in (200, 201), body
    await teacher.ok("class_end", {"client_id": "end"})
    details = {
        "title": title,
        "subject": subject,
        "grade": grade,
        "languages": list(languages),
        "description": description,
    }
    status, body = await running.api.request(
        "POST", f"/api/classes/{class_id}/lesson", token=running.teacher_token, json=details
    )
    assert status == 200, body
    if publish:
        await set_published(running, class_id, True)
    await pupil.disconnect()
    await teacher.disconnect()
    return {
        "class_id": class_id,
        "student": name,
        "student_id": joined["student_id"],
        "private": private,
    }


async def set_published(running: Running, class_id: str, published: bool) -> dict[str, Any]:
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/publish",
        token=running.teacher_token,
        json={"published": published},
    )
    assert status == 200, body
    assert body["published"] is published
    return dict(body)


async def get(
    running: Running, path: str, *, address: str = "", **headers: str
) -> tuple[int, Any, Any, bytes]:
    """An anonymous request (no token), as a visitor's browser sends it."""
    async with (
        aiohttp.ClientSession(auto_decompress=True) as http,
        http.get(running.url + path, headers=headers) as resp,
    ):
        raw = await resp.read()
        body = await resp.json() if resp.content_type == "application/json" else raw
        return resp.status, body, resp.headers, raw


async def library_list(running: Running, query: str = "") -> list[dict[str, Any]]:
    status, body, _, _ = await get(running, f"/api/library{query}")
    assert status == 200, body
    LibraryList.model_validate(body)
    return list(body["lessons"])


# --- publishing --------------------------------------------------------------------------------


async def test_only_an_ended_lesson_is_published_and_unpublishing_takes_it_out(
    running: Running,
) -> None:
    # Over both stores; the Redis one is shared by the session's tests: only ids made here count.
    async def listed() -> list[str]:
        return [x["class_id"] for x in await library_list(running)]

    cls = await running.new_class()
    class_id = str(cls["class_id"])
    status, body = await running.api.request(
        "POST",
        f"/api/classes/{class_id}/publish",
        token=running.teacher_token,
        json={"published": True},
    )
    assert status == 409 and body["error"]["code"] == "CONFLICT", body
    assert class_id not in await listed()

    lesson = await recorded(running, publish=False)
    assert lesson["class_id"] not in await listed()
    await set_published(running, lesson["class_id"], True)
    assert (await listed())[0] == lesson["class_id"]  # the newest published comes first
    again = await set_published(running, lesson["class_id"], True)
    assert again["noop"] is True
    await set_published(running, lesson["class_id"], False)
    assert lesson["class_id"] not in await listed()
    status, body, _, _ = await get(running, f"/api/library/{lesson['class_id']}/replay/info")
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"
    # Nobody without the teacher's token may publish it.
    status, body = await running.api.request(
        "POST", f"/api/classes/{lesson['class_id']}/publish", json={"published": True}
    )
    assert status == 401, body


async def test_a_lesson_published_from_the_console_socket_is_in_the_library(
    running: Running,
) -> None:
    # The console publishes with the socket event, not the HTTP route: the same write path.
    lesson = await recorded(running, publish=False)
    class_id = lesson["class_id"]
    teacher = await running.teacher(class_id)
    ack = await teacher.ok("lesson_publish", {"published": True, "client_id": "publish-1"})
    assert ack["duplicate"] is False
    assert class_id in [x["class_id"] for x in await library_list(running)]
    status, body, _, _ = await get(running, f"/api/library/{class_id}/replay/info")
    assert status == 200 and body["lesson"]["class_id"] == class_id, body
    await teacher.ok("lesson_publish", {"published": False, "client_id": "publish-2"})
    assert class_id not in [x["class_id"] for x in await library_list(running)]
    await teacher.disconnect()


# --- what the library shows ------------------------------------------------------------------


async def test_newest_first_filters_and_search_over_details_and_board_text(
    running_sqlite: Running,
) -> None:
    running = running_sqlite
    maths = await recorded(running, title="کسور", board="کتاب کی جمع", audio=False)
    science = await recorded(
        running,
        title="Plants",
        subject="science",
        grade="6",
        languages=("en",),
        board="photosynthesis needs light",
        description="How leaves make food.",
        audio=False,
    )
    newest = [x["class_id"] for x in await library_list(running)]
    assert newest == [science["class_id"], maths["class_id"]]

    def ids(lessons: list[dict[str, Any]]) -> list[str]:
        return [x["class_id"] for x in lessons]

    assert ids(await library_list(running, "?subject=maths")) == [maths["class_id"]]
    assert ids(await library_list(running, "?grade=6")) == [science["class_id"]]
    assert ids(await library_list(running, "?lang=ur")) == [maths["class_id"]]
    assert ids(await library_list(running, "?lang=en&subject=maths")) == []
    # Board text, Urdu: Arabic kaf and yeh (U+0643, U+064A) and a zer find the Urdu letters.
    for query in ("کتاب", "كتاب", "کِتاب", "جمع"):
        found = ids(await library_list(running, "?q=" + query))
        assert found == [maths["class_id"]], query
    assert ids(await library_list(running, "?q=PHOTOSYNTHESIS")) == [science["class_id"]]
    assert ids(await library_list(running, "?q=leaves%20food")) == [science["class_id"]]
    assert ids(await library_list(running, "?q=leaves%20کتاب")) == []


def test_normalise_folds_urdu_and_arabic_variants_and_diacritics() -> None:
    assert library.normalise("كتابي") == library.normalise("کتابی")
    assert library.normalise("مدرسة") == library.normalise("مدرسہ")
    assert library.normalise("ہمزۂ") == library.normalise("ہمزہ")
    assert library.normalise("آم") == library.normalise("ام")
    assert library.normalise("پاکستـــان") == "پاکستان"
    assert library.normalise("۱۲٣ Café") == "123 cafe"
    assert library.normalise("بِسْمِ") == "بسم"


async def test_no_library_route_shows_students_or_unpublished_lessons(
    running_sqlite: Running,
) -> None:
    running = running_sqlite
    shown = await recorded(running)
    hidden = await recorded(running, publish=False, title="hidden-lesson")
    class_id = shown["class_id"]
    secrets_of_students = [
        shown["student"],
        shown["student_id"],
        shown["private"],
        hidden["student"],
        hidden["class_id"],
        "hidden-lesson",
    ]
    bodies: list[bytes] = []

    async def fetch(path: str) -> Any:
        status, body, _, raw = await get(running, path)
        assert status == 200, (path, body)
        bodies.append(raw)
        return body

    listing = await fetch("/api/library")
    assert [x["class_id"] for x in listing["lessons"]] == [class_id]
    info = await fetch(f"/api/library/{class_id}/replay/info")
    LibraryReplayInfo.model_validate(info)
    assert info["audio"], "the lesson's audio plays in the library"
    after, types = 0, set()
    while True:
        page = await fetch(f"/api/library/{class_id}/replay/events?after_seq={after}&limit=5")
        ReplayEvents.model_validate(page)
        types |= {e["type"] for e in page["events"]}
        assert all("aud" not in e for e in page["events"])  # the class's view only
        after = page["next_after_seq"]
        if not page["more"]:
            break
    assert {"text_added", "stroke_extended", "poll_results_shown", "audio_added"} <= types
    assert not types & {"poll_voted", "student_joined", "hand_raised", "drawing_allowed"}
    for audio in info["audio"]:
        await fetch(audio["url"])
    manifest = await fetch("/api/library/manifest")
    for lesson in manifest["manifest"]["lessons"]:
        for file in [lesson["events"], *lesson["assets"], *lesson["downloads"]]:
            await fetch(f"/api/library/files/{file['sha256']}")
    everything = b"\n".join(bodies)
    for secret in secrets_of_students:
        assert secret.encode() not in everything, secret

    # An unpublished lesson, by its real id or a guessed one: the same NOT_FOUND everywhere.
    for lesson_id in (hidden["class_id"], "c_" + secrets.token_hex(8), "../" * 20, "x" * 500):
        for path in (
            f"/api/library/{lesson_id}/replay/info",
            f"/api/library/{lesson_id}/replay/events",
            f"/api/library/{lesson_id}/assets/kf-1",
            f"/api/library/{lesson_id}/downloads/lesson.html",
        ):
            status, body, _, _ = await get(running, path)
            assert status == 404, (path, status)
            if isinstance(body, dict):
                assert body["error"]["code"] == "NOT_FOUND"
    # An asset of the published class that its replay does not use is not served either.
    status, _, _, _ = await get(running, f"/api/library/{class_id}/assets/{'library-origin'}")
    assert status == 404
    status, _, _, _ = await get(running, "/api/library/files/" + "0" * 64)
    assert status == 404


async def test_answers_are_gzipped_cacheable_and_audio_answers_byte_ranges(
    running_sqlite: Running,
) -> None:
    running = running_sqlite
    lesson = await recorded(running)
    class_id = lesson["class_id"]
    path = f"/api/library/{class_id}/replay/events?limit=1000"
    status, _, headers, _ = await get(running, path, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert "max-age" in headers["Cache-Control"]
    status, _, _, raw = await get(running, path, **{"If-None-Match": headers["ETag"]})
    assert status == 304 and raw == b""

    _, info, _, _ = await get(running, f"/api/library/{class_id}/replay/info")
    url = info["audio"][0]["url"]
    status, _, headers, whole = await get(running, url)
    assert status == 200 and headers["Accept-Ranges"] == "bytes" and len(whole) > 100
    status, _, headers, part = await get(running, url, Range="bytes=10-49")
    assert status == 206 and part == whole[10:50]
    assert headers["Content-Range"] == f"bytes 10-49/{len(whole)}"
    status, _, _, tail = await get(running, url, Range="bytes=-7")
    assert status == 206 and tail == whole[-7:]
    status, _, _, rest = await get(running, url, Range=f"bytes={len(whole) - 3}-")
    assert status == 206 and rest == whole[-3:]
    status, _, headers, _ = await get(running, url, Range=f"bytes={len(whole)}-")
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(whole)}"
    status, _, _, _ = await get(running, url, **{"If-None-Match": headers.get("ETag", "x")})
    etag = (await get(running, url))[2]["ETag"]
    status, _, _, _ = await get(running, url, **{"If-None-Match": etag})
    assert status == 304

    # Where the lesson was exported (another helper writes DATA_DIR/exports/CLASS_ID/), the
    # library offers the files, with ranges; where not, the link is absent and the route 404s.
    status, _, _, _ = await get(running, f"/api/library/{class_id}/downloads/lesson.mp4")
    assert status == 404
    folder = running.services.settings.data_dir / "exports" / class_id
    folder.mkdir(parents=True)
    video = secrets.token_bytes(5000)
    (folder / "lesson.mp4").write_bytes(video)
    listing = await library_list(running)
    assert [d["name"] for d in listing[0]["downloads"]] == ["lesson.mp4"]
    download = listing[0]["downloads"][0]["url"]
    status, _, headers, got = await get(running, download, Range="bytes=100-199")
    assert status == 206 and got == video[100:200], headers
    status, _, _, got = await get(running, download)
    assert status == 200 and got == video


async def test_hostile_search_strings_get_clear_errors_or_plain_matches(
    running_sqlite: Running,
) -> None:
    running = running_sqlite
    await recorded(running, audio=False)
    for query, field in (
        ("a" * 201, "q"),
        ("abc%00def", "q"),
        ("abc%1bdef", "q"),
        ("%20".join(["w"] * 13), "q"),
    ):
        status, body, _, _ = await get(running, "/api/library?q=" + query)
        assert status == 400, query
        assert body["error"]["code"] == "INVALID_PAYLOAD" and body["error"]["field"] == field
    everything = await library_list(running)
    assert len(everything) == 1
    for query in (".*", "%25", "%5C", "(", "%2A", "%3B"):
        # Nothing in a search is interpreted: punctuation alone is no search at all ...
        assert await library_list(running, "?q=" + query) == everything, query
    for query in ("qqz'%20OR%20'1'='1", "[qqz]+", "%25qqz%25", "qqz'%3B%20DROP%20TABLE"):
        # ... and the words around it are plain words, found in no lesson here.
        assert await library_list(running, "?q=" + query) == [], query
    for query in ("?lang=fr", "?limit=0", "?limit=99999", "?subject=" + "x" * 61):
        status, body, _, _ = await get(running, "/api/library" + query)
        assert status == 400 and body["error"]["code"] == "INVALID_PAYLOAD", query


async def flood(
    running: Running, path: str, count: int, *, address: str = "127.0.0.1", **headers: str
) -> list[int]:
    """``count`` requests at once from ``address`` (a loopback address this machine has)."""
    connector = aiohttp.TCPConnector(limit=0, local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one() -> int:
            async with http.get(running.url + path, headers=headers) as resp:
                await resp.read()
                if resp.status == 429 and path.startswith("/api/"):
                    body = await resp.json()
                    assert body["ok"] is False and body["error"]["code"] == "RATE_LIMITED"
                    assert body["error"]["retry_after_s"] > 0
                    assert int(resp.headers["Retry-After"]) >= 1
                elif resp.status == 429:
                    # A browser tab gets a page in both languages that tries again itself.
                    page = await resp.text()
                    assert resp.content_type == "text/html" and "مصروف" in page
                    assert "The library is busy" in page and 'http-equiv="refresh"' in page
                    assert int(resp.headers["Retry-After"]) >= 1
                return resp.status

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def test_one_address_flooding_the_library_is_turned_away_others_are_not(
    running_sqlite: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = running_sqlite
    catalog = running.services.library
    real_search = catalog.search
    searches: list[library.Filters] = []

    async def counted(filters: library.Filters) -> Any:
        searches.append(filters)
        return await real_search(filters)

    monkeypatch.setattr(catalog, "search", counted)
    statuses = await flood(running, "/api/library", 120, address="127.0.0.2")
    assert statuses.count(200) >= 60 and statuses.count(429) >= 30, statuses
    assert len(searches) == statuses.count(200)  # a refusal did none of the route's work
    # The page and an id that does not exist are refused the same way (429, not 404).
    for path in ("/library", "/library/nope", "/api/library/nope/replay/info"):
        statuses = await flood(running, path, 60, address="127.0.0.2")
        assert statuses.count(429) >= 30 and set(statuses) <= {200, 404, 429}, (path, statuses)
    assert (await flood(running, "/api/library", 1, address="127.0.0.3")) == [200]
    # The server's own computer is not counted, as for Engine.IO handshakes; through a proxy
    # (X-Forwarded-For, not trusted here) it is.
    assert set(await flood(running, "/api/library", 120)) == {200}
    forwarded = await flood(running, "/api/library", 120, **{"X-Forwarded-For": "10.0.0.9"})
    assert forwarded.count(429) >= 30, forwarded


async def test_library_work_waits_at_a_bounded_gate_beyond_which_it_is_busy_at_once(
    running_sqlite: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = running_sqlite
    catalog = running.services.library
    gate = running.app[LIBRARY].gate
    release = asyncio.Event()
    real_search = catalog.search

    async def held(filters: library.Filters) -> Any:
        await release.wait()  # a long piece of library work
        return await real_search(filters)

    monkeypatch.setattr(catalog, "search", held)
    held_back = asyncio.ensure_future(
        flood(running, "/api/library", library_http.WORKING + library_http.WAITING)
    )
    deadline = time.monotonic() + 20
    while (gate.holders, gate.waiting) != (library_http.WORKING, library_http.WAITING):
        assert time.monotonic() < deadline, (gate.holders, gate.waiting)
        await asyncio.sleep(0.01)
    started = time.monotonic()
    async with aiohttp.ClientSession() as http, http.get(running.url + "/api/library") as resp:
        body = await resp.json()
        assert resp.status == 503 and body["error"]["code"] == "BUSY", body
        assert resp.headers["Retry-After"] == "1"
    assert time.monotonic() - started < 2  # at once, not after waiting in line
    async with aiohttp.ClientSession() as http, http.get(running.url + "/library") as resp:
        assert resp.status == 503 and resp.content_type == "text/html"
        assert "The library is busy" in await resp.text()
    release.set()
    assert set(await held_back) == {200}
    assert (gate.holders, gate.waiting) == (0, 0)


def test_the_library_view_drops_people_and_keeps_the_lesson() -> None:
    ali = Actor("student", "s_ali", "Ali Raza")
    teacher = Actor("teacher", "amina", "amina")
    events = [
        Event("c", 1, "student_joined", ali, 1, {"student_id": "s_ali", "name": "Ali Raza"}),
        Event("c", 2, "text_added", teacher, 2, {"id": "t", "page": "page-1", "text": "x"}),
        Event("c", 3, "stroke_started", ali, 3, {"id": "k"}, audience="author"),
        Event("c", 4, "stroke_started", ali, 4, {"id": "k2"}),
        Event("c", 5, "quiz_answered", ali, 5, {"quiz_id": "q"}, audience="author"),
        Event(
            "c",
            6,
            "quiz_leaderboard",
            teacher,
            6,
            {"quiz_id": "q", "players": 1, "top": [{"name": "Ali Raza", "student_id": "s_ali"}]},
        ),
        Event("c", 7, "some_future_event", teacher, 7, {"who": "Ali Raza"}),
    ]
    view = library.library_events(events, renumber=True)
    assert [e.type for e in view] == ["text_added", "stroke_started", "quiz_leaderboard"]
    assert [e.seq for e in view] == [1, 2, 3]
    assert view[1].actor == Actor("student", "s1") and view[0].actor == Actor("teacher", "teacher")
    assert "Ali" not in repr(view) and "s_ali" not in repr(view) and "amina" not in repr(view)
    assert view[2].data == {"quiz_id": "q", "players": 1, "top": []}


async def test_a_lesson_page_carries_its_info_first_events_and_voice(
    running_sqlite: Running,
) -> None:
    """/library/{id} holds the replay info and first events the app would otherwise ask for one
    round trip after another, and starts the first voice segment loading (issue 14.2: play
    within 5 s at 64 kbit/s). A hostile title cannot end the script; an unpublished lesson's
    page holds nothing of it."""
    from classroom.app import STATIC_DIR
    from classroom.library_http import BOOT_EVENTS

    running = running_sqlite
    hostile = "</script><script>alert(1)</script><!-- کسور"
    lesson = await recorded(running, title=hostile)
    hidden = await recorded(running, publish=False, title="hidden-lesson")
    class_id = lesson["class_id"]
    status, _, headers, raw = await get(
        running, f"/library/{class_id}", **{"Accept-Encoding": "gzip"}
    )
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    page = raw.decode()
    index = (STATIC_DIR / "library.html").read_text()
    # One more </script> than the library's page: the boot script's own end, none from the title.
    assert page.count("</script>") == index.count("</script>") + 1
    opening = '<script type="application/json" id="library-boot">'
    boot = json.loads(page.split(opening, 1)[1].split("</script>", 1)[0])
    _, info, _, _ = await get(running, f"/api/library/{class_id}/replay/info")
    _, first, _, _ = await get(
        running, f"/api/library/{class_id}/replay/events?after_seq=0&limit={BOOT_EVENTS}"
    )
    assert boot == {"class_id": class_id, "info": info, "events": first}
    assert boot["info"]["lesson"]["title"] == hostile
    assert f'<audio id="library-audio" preload="none" src="{info["audio"][0]["url"]}">' in page
    for secret in (lesson["student"], lesson["student_id"], lesson["private"]):
        assert secret not in page
    # The library's own small page, its script and stylesheet named before the lesson's data
    # (they load beside it), not the app's page and code.
    script = re.search(r'<script type="module" crossorigin src="/assets/library-[^"]+">', page)
    assert script is not None and page.index(script.group(0)) < page.index(opening)
    assert '<script type="module" crossorigin src="/assets/index-' not in page
    status, _, _, again = await get(
        running, f"/library/{class_id}", **{"If-None-Match": headers["ETag"]}
    )
    assert status == 304 and again == b""

    for other in (hidden["class_id"], "c_" + secrets.token_hex(8)):
        status, _, _, raw = await get(running, f"/library/{other}")
        assert status == 200  # the library's page, which then says "not found"
        assert b"library-boot" not in raw and b"hidden-lesson" not in raw
        assert raw == (STATIC_DIR / "library.html").read_bytes()
