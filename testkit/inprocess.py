"""The server app in this process on a real socket (tests and benches that reach into it)."""

from __future__ import annotations

from aiohttp import web

from classroom.app import create_app
from classroom.settings import Settings


async def start_app(settings: Settings) -> tuple[web.AppRunner, str]:
    """Start the app on 127.0.0.1 (``settings.port``, 0 for any free port): runner and URL."""
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", settings.port)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"
