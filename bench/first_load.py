"""How fast a tablet on a weak link gets a usable join form: a cold load at 64 kbit/s, 300 ms.

A real ``classroom serve`` and Debian's Chromium (no service worker, as on a plain-http LAN)
with Chromium's own network throttling (``Network.emulateNetworkConditions``: 8,000 B/s each
way, 300 ms latency). Measured from the navigation's start until the join form can be typed
into and sent, with the bytes that crossed the link by then:

* ``compressed``: as served (brotli/gzip twins written at build time, the split bundle);
* ``identity`` (the baseline, same run): the same app with every response uncompressed;
* ``reload``: the compressed app again in the same tab, from the HTTP cache (hashed files are
  immutable, index.html is revalidated with a 304).

Target (issue 15.6): the join form usable within 6 s of a cold load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (repo root on sys.path)
from playwright.async_api import async_playwright

from testkit.procs import ServerProcess

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LINK = {"offline": False, "latency": 300, "downloadThroughput": 8000, "uploadThroughput": 8000}
USABLE_JS = """() => {
  const input = document.querySelector('input[name=code]');
  const button = document.querySelector('form button[type=submit]');
  return !!input && !!button && !button.disabled;
}"""
BYTES_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  let bytes = nav ? nav.transferSize : 0;
  for (const r of performance.getEntriesByType('resource')) bytes += r.transferSize;
  return bytes;
}"""


async def one_load(browser: Any, url: str, *, identity: bool, reload: bool) -> dict[str, float]:
    viewport = {"width": 800, "height": 1280}
    ctx = await browser.new_context(service_workers="block", viewport=viewport)
    page = await ctx.new_page()
    cdp = await ctx.new_cdp_session(page)
    await cdp.send("Network.enable")
    if identity:  # the baseline: the same app, every response uncompressed
        await cdp.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": "identity"}})
    await cdp.send("Network.emulateNetworkConditions", LINK)
    try:
        await page.goto(url, wait_until="commit")
        if reload:
            await page.wait_for_function(USABLE_JS, timeout=120_000)
            await page.wait_for_load_state("networkidle", timeout=120_000)
            await page.reload(wait_until="commit")
        await page.wait_for_function(USABLE_JS, timeout=120_000, polling=50)
        usable_ms = await page.evaluate("performance.now()")
        sent = await page.evaluate(BYTES_JS)
    finally:
        await ctx.close()
    return {"usable_s": usable_ms / 1000, "bytes": float(sent)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(f"sqlite://{Path(tmp) / 'takhti.sqlite3'}", Path(tmp))
        server.start()
        try:
            url = f"{server.url}/join/ABC123"
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM)
                results: dict[str, list[dict[str, float]]] = {}
                for _ in range(args.rounds):
                    for name, identity, reload in (
                        ("compressed", False, False),
                        ("identity", True, False),
                        ("reload", False, True),
                    ):
                        got = await one_load(browser, url, identity=identity, reload=reload)
                        results.setdefault(name, []).append(got)
                await browser.close()
        finally:
            server.stop()
    summary: dict[str, Any] = {}
    for name, runs in results.items():
        summary[name] = {
            "usable_s_median": round(statistics.median(r["usable_s"] for r in runs), 2),
            "usable_s_max": round(max(r["usable_s"] for r in runs), 2),
            "bytes_median": int(statistics.median(r["bytes"] for r in runs)),
        }
    cold, plain = summary["compressed"], summary["identity"]
    return {
        "bench": "first_load",
        "link": "64 kbit/s each way, 300 ms latency (Chromium throttling), no service worker",
        "rounds": args.rounds,
        **summary,
        "ratio_compressed_vs_identity_time": round(
            cold["usable_s_median"] / plain["usable_s_median"], 3
        ),
        "ratio_compressed_vs_identity_bytes": round(
            cold["bytes_median"] / max(1, plain["bytes_median"]), 3
        ),
        "target_usable_s": 6.0,
        "target_met": cold["usable_s_max"] <= 6.0,
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
