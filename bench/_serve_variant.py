"""``classroom serve`` with variations, for before/after numbers of the benchmarks only.

``TAKHTI_BENCH_VARIANT`` is a comma-separated list of:

* ``sio-emit``: the fan-out of before the fast path (``sio.emit`` per event: one task per
  recipient, awaited together);
* ``uvloop``: run the server on uvloop (needs ``pip install uvloop``).
"""

from __future__ import annotations

import os
import sys

from classroom import cli
from classroom.hub import ClassRuntime
from classroom.live import Fanout, actor_room, class_room, teachers_room
from classroom.log import Event

ORIGINAL_EMIT = Fanout.emit_event


async def sio_emit_event(self: Fanout, runtime: ClassRuntime, event: Event) -> None:
    if getattr(event, "anonymous", False):
        await ORIGINAL_EMIT(self, runtime, event)
        return
    cid = event.class_id
    if event.audience == "all":
        to: str | list[str] = class_room(cid)
    elif event.audience == "teachers":
        to = teachers_room(cid)
    else:
        to = [teachers_room(cid), actor_room(cid, event.actor)]
    await self.transport.emit(event.type, event.to_wire(), to=to)
    self.tallies.touch(runtime, event)


if __name__ == "__main__":
    variant = set(filter(None, os.environ.get("TAKHTI_BENCH_VARIANT", "").split(",")))
    if "sio-emit" in variant:
        Fanout.emit_event = sio_emit_event  # type: ignore[method-assign]
    if "uvloop" in variant:
        import uvloop

        uvloop.install()
    sys.exit(cli.main(sys.argv[1:]))
