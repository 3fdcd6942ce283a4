"""What the offline package of a 40-minute lesson weighs, part by part, and how it opens.

The synthetic lesson of ``bench/replay.py`` (``make_lesson``) scaled to 40 minutes: 2,667
strokes over 10 pages, 3 polls, a quiz, keyframes, 30 students and 40 minutes of speech-like
voice as 3-second Opus segments (as ``boardclient --audio`` stores them; ``--distinct-audio``
encodings reused round the lesson). ``classroom/export/package.py`` writes ``lesson.html`` and
``lesson-kolibri.zip``; the bench reports:

* ``split``: the bytes of each part in ``lesson.html`` (board data = info + gzipped, base64'd
  events; audio = the voice track base64'd; player; font = the @font-face with the subset),
  against ``budget_bytes`` (12 MB);
* baselines measured in the same run: ``events_json_bytes`` (the events as plain JSON, what
  inlining them as they are would take) and ``audio_stored_bytes`` (the stored segments,
  unencoded again), with the ratios the package's choices buy;
* ``build_s`` (the writer's work: events, voice, font), ``write_s`` (the two files), and
  in Chromium from ``file://``: ``ready_s`` (parse,
  unpack, first frame) at full speed and at a 4x CPU slowdown (``_inflate``: also without
  ``DecompressionStream``, the player's own gunzip), and seek p50/p99.

Progress goes to stderr; the last stdout line is one JSON object with the load average.
Run: ``flock /work/bench.lock nice .venv/bin/python bench/package.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import _path  # noqa: F401
from replay import make_lesson, percentile

from classroom.classes import ClassRecord
from classroom.export import ExportOptions
from classroom.export import package as package_writer
from classroom.export.source import from_events

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
BUDGET = 12 * 1000 * 1000
MINUTES = 40
NO_STREAM = "delete window.DecompressionStream;"  # an older browser: the player's own gunzip


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


async def in_chromium(path: Path, seeks: int, duration_ms: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    out: dict[str, Any] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        for rate, init, tag in ((1, "", ""), (4, "", ""), (4, NO_STREAM, "_inflate")):
            ctx = await browser.new_context(viewport={"width": 1300, "height": 900})
            await ctx.add_init_script(init)
            await ctx.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url == path.as_uri() else route.abort()
                ),
            )
            page = await ctx.new_page()
            cdp = await ctx.new_cdp_session(page)
            await cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
            started = time.perf_counter()
            await page.goto(path.as_uri())
            await page.wait_for_selector(".replay[data-ready='1']", timeout=300_000)
            out[f"ready_s_cpu{rate}x{tag}"] = round(time.perf_counter() - started, 2)
            rng = random.Random(rate)
            spent = [
                float(await page.evaluate(f"window.__replay.goTo({rng.randrange(duration_ms)})"))
                for _ in range(seeks)
            ]
            out[f"seek_p50_ms_cpu{rate}x{tag}"] = round(percentile(spent, 0.5), 1)
            out[f"seek_p99_ms_cpu{rate}x{tag}"] = round(percentile(spent, 0.99), 1)
            log(f"chromium at {rate}x: {out}")
            await ctx.close()
        await browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=MINUTES)
    parser.add_argument("--distinct-audio", type=int, default=20)
    parser.add_argument("--seeks", type=int, default=40)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    strokes = 2000 * args.minutes // 30
    log(f"making a {args.minutes}-minute lesson ({strokes} strokes)")
    events, audio = make_lesson(
        "pkg1", strokes, with_audio=True, distinct_audio=args.distinct_audio
    )
    record = ClassRecord("pkg1", "amina", "کسریں Fractions", "ABC-234", events[0].ts)
    assets = {asset_id: ("audio/ogg", data) for asset_id, data in audio.items()}
    source = from_events(events, record=record, assets=assets)
    log(f"{len(events)} events, {len(audio)} audio segments, {source.duration_ms / 60000:.1f} min")

    events_json = json.dumps(
        package_writer.class_events(source), ensure_ascii=False, separators=(",", ":")
    ).encode()
    audio_stored = sum(len(data) for data in audio.values())

    with tempfile.TemporaryDirectory(prefix="bench-package-") as folder:
        out = Path(folder)
        started = time.perf_counter()
        stages: dict[str, float] = {}

        def progress(fraction: float, stage: str) -> None:
            stages.setdefault(stage, time.perf_counter() - started)

        page, split = package_writer.build_page(source, ExportOptions(lang="ur"), progress)
        build_s = time.perf_counter() - started
        paths = package_writer.write_files(page, out)
        write_s = time.perf_counter() - started - build_s
        html_bytes = paths[0].stat().st_size
        zip_bytes = paths[1].stat().st_size
        with zipfile.ZipFile(paths[1]) as archive:
            assert archive.namelist() == ["index.html"]
        log(f"split: {split}")
        browser = (
            {}
            if args.no_browser
            else asyncio.run(in_chromium(paths[0], args.seeks, source.duration_ms))
        )

    result = {
        "bench": "package",
        "minutes": round(source.duration_ms / 60000, 1),
        "events": len(events),
        "html_bytes": html_bytes,
        "kolibri_zip_bytes": zip_bytes,
        "budget_bytes": BUDGET,
        "within_budget": html_bytes <= BUDGET,
        "split": split,
        "audio_bit_rate": package_writer.AUDIO_BIT_RATE,
        "baseline": {
            "events_json_bytes": len(events_json),
            "audio_stored_bytes": audio_stored,
            "audio_stored_base64_bytes": len(base64.b64encode(b"\0" * audio_stored)),
        },
        "ratios": {
            "board_data_vs_json": round(split["board_data"] / len(events_json), 3),
            "audio_vs_stored": round(split["audio_raw"] / audio_stored, 3),
            "html_vs_budget": round(html_bytes / BUDGET, 3),
        },
        "build_s": round(build_s, 2),
        "stage_started_s": {k: round(v, 2) for k, v in stages.items()},
        "write_s": round(write_s, 2),
        **browser,
        "load": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
