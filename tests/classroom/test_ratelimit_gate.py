"""The gate in front of the library's work (``classroom.ratelimit.Gate``): places, a bounded
line, and waiters that give up."""

from __future__ import annotations

import asyncio

from classroom.ratelimit import Gate


async def test_a_full_line_is_refused_at_once_and_places_pass_on_in_order() -> None:
    gate = Gate(working=1, waiting=2)
    assert await gate.enter()
    order: list[str] = []

    async def wait(name: str) -> None:
        assert await gate.enter()
        order.append(name)
        gate.leave()

    first = asyncio.ensure_future(wait("first"))
    second = asyncio.ensure_future(wait("second"))
    await asyncio.sleep(0)
    assert gate.waiting == 2
    assert await gate.enter() is False  # refused at once
    gate.leave()
    await asyncio.gather(first, second)
    assert order == ["first", "second"] and (gate.holders, gate.waiting) == (0, 0)


async def test_a_waiter_that_gives_up_leaves_the_line_and_never_keeps_a_place() -> None:
    gate = Gate(working=1, waiting=2)
    assert await gate.enter()
    quitter = asyncio.ensure_future(gate.enter())
    await asyncio.sleep(0)
    quitter.cancel()
    await asyncio.gather(quitter, return_exceptions=True)
    assert gate.waiting == 0
    # Handed the place just as it gave up: the place passes on, it is not lost.
    late = asyncio.ensure_future(gate.enter())
    after = asyncio.ensure_future(gate.enter())
    await asyncio.sleep(0)
    gate.leave()  # to ``late``, which is cancelled before it runs
    late.cancel()
    await asyncio.gather(late, return_exceptions=True)
    assert await after
    assert gate.holders == 1 and gate.waiting == 0
    gate.leave()
    assert gate.holders == 0
