"""Real-browser fixtures: Debian's Chromium driven by Playwright against an in-process server.

Every page runs in a context whose route handler lets through only requests to the local server
and records (and aborts) any other; ``pages.external`` must stay empty.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from classroom.app import STATIC_DIR
from classroom.auth import hash_password
from classroom.classes import TeacherRecord
from testkit.procs import IN_CI
from tests.conftest import Running

try:
    import playwright.async_api as playwright_api
except ImportError:  # reported by the fixture: a failure in CI, a skip elsewhere
    playwright_api = None

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
E2E_TEACHER = "ustad"
E2E_PASSWORD = "e2e-password-1"


def _need(condition: bool, message: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    _need(
        Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None,
        f"{CHROMIUM} is missing: apt-get install -y chromium",
    )
    _need(
        (STATIC_DIR / "index.html").exists() and (STATIC_DIR / "library.html").exists(),
        "the web client is not built: (cd webclient && npm ci && npm run build)",
    )
    _need(playwright_api is not None, "the playwright package is missing: pip install playwright")
    async with playwright_api.async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


@dataclass
class Pages:
    """Opens pages on the test server; records every request to a non-local host."""

    browser: Any
    running: Running
    external: list[str] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.running.url

    async def context(self, *, lang: str = "en", **options: Any) -> Any:
        ctx = await self.browser.new_context(**options)
        await ctx.route("**/*", self._guard)
        await ctx.add_init_script(f"localStorage.setItem('takhti.lang', {lang!r});")
        self.contexts.append(ctx)
        return ctx

    async def _guard(self, route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in LOCAL_HOSTS:
            await route.continue_()
        else:
            self.external.append(route.request.url)
            await route.abort()

    async def page(self, path: str = "/", *, lang: str = "en", **options: Any) -> Any:
        ctx = await self.context(lang=lang, **options)
        page = await ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors
        await page.goto(self.url + path)
        return page

    async def teacher_login(self) -> str:
        """Add the e2e teacher (once) and return its name."""
        store = self.running.services.store
        if await store.get_teacher(E2E_TEACHER) is None:
            await store.add_teacher(TeacherRecord(E2E_TEACHER, hash_password(E2E_PASSWORD), 0))
        return E2E_TEACHER

    async def teacher_context(self, *, lang: str = "en", **options: Any) -> Any:
        """A browser context whose pages are signed in as the test server's teacher."""
        ctx = await self.context(lang=lang, **options)
        token = self.running.teacher_token
        await ctx.add_init_script(
            f"localStorage.setItem('takhti.teacher', JSON.stringify({{token: {token!r}, teacher: 't'}}));"
        )
        return ctx

    async def teacher_console(
        self, *, lang: str = "en", **options: Any
    ) -> tuple[Any, dict[str, Any]]:
        """A teacher page already signed in, on a new class's console."""
        cls = await self.running.new_class()
        ctx = await self.teacher_context(
            lang=lang, viewport={"width": 1600, "height": 900}, **options
        )
        page = await ctx.new_page()
        await page.goto(f"{self.url}/teacher?class={cls['class_id']}")
        await online(page)
        return page, cls

    async def student(self, code: str, name: str, *, lang: str = "en") -> Any:
        page = await self.page(f"/join/{code}", lang=lang, viewport={"width": 820, "height": 1000})
        await page.fill("input[name=name]", name)
        await page.click("form button[type=submit]")
        await online(page)
        return page


async def online(page: Any) -> None:
    await page.wait_for_function(
        "window.takhti && window.takhti.session.ready && window.takhti.session.status === 'online'"
    )


@pytest.fixture
async def pages(browser: Any, running_sqlite: Running) -> AsyncIterator[Pages]:
    opened = Pages(browser, running_sqlite)
    yield opened
    for ctx in opened.contexts:
        await ctx.close()
    assert opened.external == [], f"requests to non-local hosts: {opened.external}"


Eval = Callable[[str], Awaitable[Any]]
