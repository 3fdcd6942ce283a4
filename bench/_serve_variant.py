"""``classroom serve`` with variations, for before/after numbers of the benchmarks only.

``TAKHTI_BENCH_VARIANT`` is a comma-separated list of:

* ``sio-emit``: the fan-out of before the fast path (``sio.emit`` per event: one task per
  recipient, awaited together);
* ``uvloop``: run the server on uvloop (needs ``pip install uvloop``);
* ``direct``: an experiment: write each broadcast straight to the recipient's aiohttp websocket
  (no Engine.IO send queue, no writer-task wake-up per recipient) when its queue is empty and
  its transport is not backed up; otherwise queue it as the fast path does.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import socketio
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp

from classroom import cli
from classroom.live import LiveServer, actor_room, class_room, teachers_room
from classroom.log import Event
from classroom.protocol import NAMESPACE

ORIGINAL_EMIT = LiveServer.emit_event


async def sio_emit_event(self: LiveServer, event: Event) -> None:
    if getattr(event, "anonymous", False):
        await ORIGINAL_EMIT(self, event)
        return
    cid = event.class_id
    if event.audience == "all":
        to: str | list[str] = class_room(cid)
    elif event.audience == "teachers":
        to = teachers_room(cid)
    else:
        to = [teachers_room(cid), actor_room(cid, event.actor)]
    await self.sio.emit(event.type, event.to_wire(), to=to, namespace=NAMESPACE)
    _touch_tallies(self, event)


def _touch_tallies(server: LiveServer, event: Event) -> None:
    tallies = getattr(server, "tallies", None)
    if tallies is not None:
        tallies.touch(event)


class TrackedWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """engineio's aiohttp websocket wrapper that leaves the aiohttp response on its socket."""

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size)
        await self._sock.prepare(request)
        self.environ = environ
        owner = getattr(self.handler, "__self__", None)  # the engineio socket
        if owner is not None:
            owner.takhti_ws = self._sock
            owner.takhti_transport = request.transport
        await self.handler(self)
        return self._sock


BACKED_UP = 64 * 1024


async def direct_emit_event(self: LiveServer, event: Event) -> None:
    if getattr(event, "anonymous", False):
        await ORIGINAL_EMIT(self, event)
        return
    cid = event.class_id
    if event.audience == "all":
        to: str | list[str] = class_room(cid)
    elif event.audience == "teachers":
        to = teachers_room(cid)
    else:
        to = [teachers_room(cid), actor_room(cid, event.actor)]
    packet = self.sio.packet_class(
        socketio.packet.EVENT, namespace=NAMESPACE, data=[event.type, event.to_wire()]
    )
    encoded = packet.encode()
    message = eio_packet.Packet(eio_packet.MESSAGE, encoded)
    frame = "4" + encoded
    sockets = self.sio.eio.sockets
    for _, eio_sid in self.sio.manager.get_participants(NAMESPACE, to):
        socket = sockets.get(eio_sid)
        if socket is None or socket.closed:
            continue
        ws = getattr(socket, "takhti_ws", None)
        transport = getattr(socket, "takhti_transport", None)
        if (
            ws is None
            or ws.closed
            or transport is None
            or not socket.queue.empty()
            or transport.get_write_buffer_size() > BACKED_UP
        ):
            socket.queue.put_nowait(message)
        else:
            try:
                await ws.send_str(frame)
            except Exception:
                socket.queue.put_nowait(message)
    _touch_tallies(self, event)


if __name__ == "__main__":
    variant = set(filter(None, os.environ.get("TAKHTI_BENCH_VARIANT", "").split(",")))
    if "sio-emit" in variant:
        LiveServer.emit_event = sio_emit_event  # type: ignore[method-assign]
    if "direct" in variant:
        eio_aiohttp._async["websocket"] = TrackedWebSocket
        LiveServer.emit_event = direct_emit_event  # type: ignore[method-assign]
    if "uvloop" in variant:
        import uvloop

        uvloop.install()
    sys.exit(cli.main(sys.argv[1:]))
