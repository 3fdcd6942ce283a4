"""What a replay costs on a weak link: bytes, time to first frame at 64 kbit/s, seek in Chromium.

A synthetic 30-minute lesson (``--strokes`` 2,000 strokes over 10 pages, 3 polls, a 5-question
quiz, a camera keyframe at every page switch, 30 students, and 30 minutes of speech-like voice
as 3-second Opus segments like ``boardclient --audio`` sends) is made with the real ``propose_*``
functions (``testkit.lessons.LessonMaker``) and written with its own times into a real SQLite
store (the store's ``append`` would stamp them with now). A real server then serves it:

* ``replay_bytes_gzip``: ``/replay/info`` plus every ``/replay/events`` page as they travel
  (gzip, counted on the wire), and ``replay_bytes_json`` unpacked; ``audio_bytes`` the segments.
  (``--distinct-audio`` segments are encoded and reused round the lesson: Opus bytes depend on
  the sound's kind, not on which words.)
* ``first_frame_s_64kbit``: the bytes the page needs before it draws (info + the first, small
  events page, asked for together) at 8,000 B/s plus one 300 ms round trip;
  ``..._with_shell`` adds the app's HTML, JS and CSS gzipped (a first visit; later ones have it
  from the service worker). ``seek_lesson_cold_*_ms``: those requests' server time, uncached;
  ``seek_lesson_warm_info_ms``: the info asked again (kept per lesson: nothing read again).
* seek ``p50/p99`` in Chromium on a ``--seek-strokes`` (5,000) stroke lesson: ``goTo`` in page
  JS, from the call to the canvas drawn, split into folding events and drawing.

Progress goes to stderr; the last stdout line is one JSON object with the load average.
Run: ``nice .venv/bin/python bench/replay.py [--strokes 2000 --seek-strokes 5000 --seeks 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401
import aiohttp

from classroom import auth
from classroom.app import STATIC_DIR
from classroom.auth import hash_password
from classroom.classes import TeacherRecord
from classroom.keys import SERVICES
from classroom.settings import Settings
from testkit.inprocess import start_app
from testkit.long_lesson import TEACHER, make_lesson, write_lesson

LINK_BYTES_PER_S = 64_000 / 8
RTT_S = 0.3
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def fetch_replay(url: str, class_id: str, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    out: dict[str, Any] = {"pages": 0, "gzip": 0, "json": 0, "first_gzip": 0, "events": 0}
    async with aiohttp.ClientSession(auto_decompress=False) as http:

        async def get(path: str) -> tuple[int, dict[str, Any]]:
            async with http.get(url + path, headers=headers) as resp:
                raw = await resp.read()
                assert resp.status == 200, (resp.status, raw[:200])
                body = (
                    gzip.decompress(raw) if resp.headers.get("Content-Encoding") == "gzip" else raw
                )
                out["json"] += len(body)
                return len(raw), json.loads(body)

        size, info = await get(f"/api/classes/{class_id}/replay/info")
        out["info_gzip"] = size
        out["gzip"] += size
        after, limit = 0, 300
        while True:
            size, page = await get(
                f"/api/classes/{class_id}/replay/events?after_seq={after}&limit={limit}"
            )
            if out["pages"] == 0:
                out["first_gzip"] = size
            out["pages"] += 1
            out["gzip"] += size
            out["events"] += len(page["events"])
            after, limit = page["next_after_seq"], 2000
            if not page["more"]:
                break
        out["duration_ms"] = info["duration_ms"]
        out["chapters"] = len(info["chapters"])
        out["audio_segments"] = len(info["audio"])
    return out


async def first_requests(url: str, class_id: str, token: str) -> dict[str, Any]:
    """What the replay page asks first, timed on this machine with nothing cached yet."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        for name, path in (
            ("lesson", f"/api/classes/{class_id}/lesson"),
            ("info", f"/api/classes/{class_id}/replay/info"),
            ("first_page", f"/api/classes/{class_id}/replay/events?after_seq=0&limit=300"),
        ):
            started = time.perf_counter()
            async with http.get(url + path, headers=headers) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            out[f"seek_lesson_cold_{name}_ms"] = round((time.perf_counter() - started) * 1000, 1)
        # Asked again (another viewer): kept per lesson, nothing read from the log.
        started = time.perf_counter()
        async with http.get(url + f"/api/classes/{class_id}/replay/info", headers=headers) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        out["seek_lesson_warm_info_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return out


def shell_bytes() -> int:
    total = len(gzip.compress((STATIC_DIR / "index.html").read_bytes()))
    for path in (STATIC_DIR / "assets").iterdir():
        if path.suffix in (".js", ".css"):
            total += len(gzip.compress(path.read_bytes()))
    return total


async def seek_in_chromium(url: str, class_id: str, token: str, seeks: int) -> dict[str, Any]:
    import playwright.async_api as pw_api

    async with pw_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
        await ctx.add_init_script(
            "localStorage.setItem('takhti.teacher', JSON.stringify("
            f"{{token: {token!r}, teacher: {TEACHER!r}}}));"
        )
        page = await ctx.new_page()
        started = time.perf_counter()
        await page.goto(f"{url}/lessons/{class_id}")
        await page.wait_for_selector(".replay[data-ready='1']", timeout=120_000)
        first_frame_local_s = time.perf_counter() - started
        await page.wait_for_selector(".replay[data-loaded='1']", timeout=300_000)
        loaded_s = time.perf_counter() - started
        await page.wait_for_selector(".replay[data-warm='1']", timeout=300_000)
        warm_s = time.perf_counter() - started
        stats = await page.evaluate(
            """async (n) => {
              const r = window.__replay;
              const duration = r.state.info.duration_ms;
              let seed = 7;
              const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
              const total = [], fold = [], draw = [], folded = [];
              for (let i = 0; i < n; i++) {
                const spent = await r.goTo(Math.floor(rand() * duration));
                total.push(spent); fold.push(r.last.fold_ms); draw.push(r.last.draw_ms);
                folded.push(r.last.folded);
                await new Promise((ok) => requestAnimationFrame(() => ok()));
              }
              await r.goTo(duration);
              return { total, fold, draw, folded, events: r.state.events.length,
                       strokes: [...r.state.board.items.values()]
                         .filter((x) => x.type === 'stroke').length };
            }""",
            seeks,
        )
        await browser.close()
    return {
        "seek_p50_ms": round(percentile(stats["total"], 0.5), 1),
        "seek_p99_ms": round(percentile(stats["total"], 0.99), 1),
        "seek_max_ms": round(max(stats["total"]), 1),
        "seek_fold_p50_ms": round(percentile(stats["fold"], 0.5), 1),
        "seek_fold_p99_ms": round(percentile(stats["fold"], 0.99), 1),
        "seek_draw_p50_ms": round(percentile(stats["draw"], 0.5), 1),
        "seek_draw_p99_ms": round(percentile(stats["draw"], 0.99), 1),
        "seek_folded_p99_events": percentile([float(x) for x in stats["folded"]], 0.99),
        "seek_lesson_events": stats["events"],
        "seek_lesson_strokes_at_end": stats["strokes"],
        "seek_local_first_frame_s": round(first_frame_local_s, 2),
        "seek_local_all_loaded_s": round(loaded_s, 2),
        "seek_local_outlines_ready_s": round(warm_s, 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        settings = Settings(store_url=f"sqlite://{db}", data_dir=Path(tmp), port=0)
        runner, url = await start_app(settings)
        app = runner.app
        services = app[SERVICES]
        await services.store.add_teacher(TeacherRecord(TEACHER, hash_password("bench-pass-1"), 0))
        token = services.signer.issue(auth.TokenClaims(role="teacher", subject=TEACHER))

        log("making the 30-minute lesson ...")
        made = time.perf_counter()
        events, assets = make_lesson(
            "c_bench30", args.strokes, with_audio=True, distinct_audio=args.distinct_audio
        )
        log(
            f"  {len(events)} events, {len(assets)} audio segments"
            f" in {time.perf_counter() - made:.1f} s"
        )
        await write_lesson(app[SERVICES].store, db, "c_bench30", events, assets)
        got = await fetch_replay(url, "c_bench30", token)
        first_bytes = got["info_gzip"] + got["first_gzip"]
        # The page asks for the info and the first events page at once: one round trip.
        first_frame = RTT_S + first_bytes / LINK_BYTES_PER_S
        shell = shell_bytes()
        result: dict[str, Any] = {
            "lesson_minutes": round(got["duration_ms"] / 60000, 1),
            "strokes": args.strokes,
            "events": len(events),
            "events_seen": got["events"],
            "chapters": got["chapters"],
            "replay_bytes_gzip": got["gzip"],
            "replay_bytes_json": got["json"],
            "replay_pages": got["pages"],
            "replay_target_bytes": 1_500_000,
            "audio_bytes": sum(len(a) for a in assets.values()),
            "audio_segments": got["audio_segments"],
            "first_frame_bytes": first_bytes,
            "first_frame_s_64kbit": round(first_frame, 2),
            "shell_bytes_gzip": shell,
            "first_frame_s_64kbit_with_shell": round(
                first_frame + RTT_S + shell / LINK_BYTES_PER_S, 2
            ),
            "all_replay_data_s_64kbit": round(
                (1 + got["pages"]) * RTT_S + got["gzip"] / LINK_BYTES_PER_S, 1
            ),
        }
        log(json.dumps(result))
        if args.seek_strokes:
            log(f"making the {args.seek_strokes}-stroke lesson for the seek ...")
            events5k, _ = make_lesson(
                "c_bench5k", args.seek_strokes, with_audio=False, distinct_audio=0
            )
            await write_lesson(app[SERVICES].store, db, "c_bench5k", events5k, {})
            log(f"  {len(events5k)} events; the first requests, cold ...")
            result.update(await first_requests(url, "c_bench5k", token))
            log("seeking in Chromium ...")
            result.update(await seek_in_chromium(url, "c_bench5k", token, args.seeks))
            result["seek_target_p99_ms"] = 150
        await runner.cleanup()
    result["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    result["cpus"] = os.cpu_count()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--strokes", type=int, default=2000)
    parser.add_argument("--seek-strokes", type=int, default=5000)
    parser.add_argument("--seeks", type=int, default=100)
    parser.add_argument("--distinct-audio", type=int, default=20)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
