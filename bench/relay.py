"""A bare python-socketio relay: the baseline of ``bench/fanout.py``.

It re-emits every stroke message to the sender's room and acks it: no validation, no lesson log,
no store, no projection. Run: ``python bench/relay.py --port 8090``.
"""

from __future__ import annotations

import argparse
from typing import Any

import socketio
from aiohttp import web

RELAYED = {
    "stroke_start": "stroke_started",
    "stroke_extend": "stroke_extended",
    "stroke_end": "stroke_ended",
}


def create_app() -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    app = web.Application()
    sio.attach(app)
    rooms: dict[str, str] = {}

    @sio.event  # type: ignore[misc]
    async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any]) -> None:
        rooms[sid] = str(auth["room"])
        await sio.enter_room(sid, rooms[sid])

    @sio.event  # type: ignore[misc]
    async def disconnect(sid: str, reason: Any = None) -> None:
        rooms.pop(sid, None)

    def relay(name: str) -> Any:
        async def handler(sid: str, data: Any) -> dict[str, Any]:
            await sio.emit(name, data, to=rooms[sid])
            return {"ok": True}

        return handler

    for incoming, outgoing in RELAYED.items():
        sio.on(incoming, relay(outgoing))
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(create_app(), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
