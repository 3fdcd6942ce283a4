"""The browser app is served small and cacheable: precompressed (brotli, gzip) at build time,
hashed files kept for a year, the page and service worker revalidated by ETag (issue 15.6)."""

from __future__ import annotations

import gzip
import re

import aiohttp
import pytest
from multidict import CIMultiDict

from classroom.app import STATIC_DIR
from tests.conftest import Running
from tests.e2e.test_budget import _built

HASHED = re.compile(r"^[a-z0-9-]+-[A-Za-z0-9_-]{8}\.(js|css)$")


def brotli_decompress(data: bytes) -> bytes:
    """Brotli is not in Python's standard library: decode it with Node, as a browser would."""
    import subprocess

    script = (
        "process.stdout.write(require('zlib').brotliDecompressSync(require('fs').readFileSync(0)))"
    )
    out = subprocess.run(["node", "-e", script], input=data, capture_output=True, check=True)
    return out.stdout


async def fetch(
    running: Running, path: str, encoding: str | None, **headers: str
) -> tuple[int, CIMultiDict[str], bytes]:
    sent = dict(headers)
    sent["Accept-Encoding"] = encoding or "identity"
    # auto_decompress off: the test sees the bytes on the wire.
    async with (
        aiohttp.ClientSession(auto_decompress=False) as http,
        http.get(running.url + path, headers=sent) as response,
    ):
        return response.status, CIMultiDict(response.headers), await response.read()


def an_asset(prefix: str, suffix: str = ".js") -> str:
    names = [p.name for p in (STATIC_DIR / "assets").iterdir() if HASHED.match(p.name)]
    found = sorted(n for n in names if n.startswith(prefix) and n.endswith(suffix))
    assert found, f"no built {prefix}* asset among {names}"
    return found[0]


async def test_pages_and_assets_come_precompressed_with_cache_lifetimes(
    running_sqlite: Running,
) -> None:
    _built()
    running = running_sqlite
    index = (STATIC_DIR / "index.html").read_bytes()
    status, headers, body = await fetch(running, "/join/ABC123", "gzip, deflate, br")
    assert status == 200 and headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in headers.get("Vary", "")
    assert headers["Cache-Control"] == "no-cache" and headers["ETag"]
    assert brotli_decompress(body) == index and len(body) < len(index)
    # The page is revalidated cheaply: a reload of an unchanged app costs a 304.
    status, _, body = await fetch(
        running, "/join/ABC123", "br", **{"If-None-Match": headers["ETag"]}
    )
    assert status == 304 and body == b""

    script = an_asset("index-")
    raw = (STATIC_DIR / "assets" / script).read_bytes()
    status, headers, body = await fetch(running, f"/assets/{script}", "gzip")
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == raw and len(body) < len(raw) / 2
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["Content-Type"].startswith(("text/javascript", "application/javascript"))
    # A client that accepts no encoding gets the plain file.
    status, headers, body = await fetch(running, f"/assets/{script}", None)
    assert status == 200 and "Content-Encoding" not in headers and body == raw

    status, headers, body = await fetch(running, "/sw.js", "br")
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    for icon in ("/favicon.svg", "/favicon.ico"):
        status, headers, body = await fetch(running, icon, None)
        assert status == 200 and headers["Content-Type"] == "image/svg+xml"
        assert body.startswith(b"<svg")


@pytest.mark.parametrize(
    "path",
    [
        "/assets/..%2Findex.html",
        "/assets/%2e%2e%2fsw.js",
        "/assets/.hidden",
        "/assets/nothing-here-AAAAAAAA.js",
        "/assets/" + "a" * 300 + ".js",
    ],
)
async def test_asset_paths_outside_the_build_are_not_found(
    running_sqlite: Running, path: str
) -> None:
    _built()
    status, _, _ = await fetch(running_sqlite, path, "br")
    assert status == 404


async def test_a_compressed_twin_is_not_served_as_a_file_of_its_own(
    running_sqlite: Running,
) -> None:
    _built()
    script = an_asset("index-")
    status, _, _ = await fetch(running_sqlite, f"/assets/{script}.br", None)
    assert status == 404
