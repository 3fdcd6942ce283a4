"""The whiteboard over real sockets: streaming, retries, gaps, rights, resume, render, floods."""

from __future__ import annotations

import asyncio
import copy
import io
import time
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
from PIL import Image

from classroom import board
from classroom.log import Event
from testkit.client import Peer
from tests.conftest import Running

PAGE = board.FIRST_PAGE_ID
SVG = "{http://www.w3.org/2000/svg}"
INK_EVENTS = ("stroke_started", "stroke_extended", "stroke_ended")


def point(stroke: int, k: int) -> list[float]:
    """The k-th point of test stroke number ``stroke``: a short diagonal, distinct per stroke."""
    x = 40.0 + (stroke % 30) * 60 + k * 1.5
    y = 40.0 + (stroke // 30) * 140 + k * 2.5
    return [x, y, 0.5, 16.0 * k]


class Pen:
    """Draws one stroke the way the web client does: the next batch starts at the acked offset."""

    def __init__(self, peer: Peer, stroke_id: str, number: int = 0, color: str = "#1a1a1a") -> None:
        self.peer = peer
        self.stroke_id = stroke_id
        self.number = number
        self.color = color
        self.sent = 0
        self.last_seq = 0

    def points(self, count: int) -> list[list[float]]:
        return [point(self.number, k) for k in range(self.sent, self.sent + count)]

    async def start(self, count: int = 3) -> dict[str, Any]:
        ack = await self.peer.ok(
            "stroke_start",
            {
                "stroke_id": self.stroke_id,
                "page_id": PAGE,
                "tool": "pen",
                "color": self.color,
                "width": 4,
                "points": self.points(count),
            },
        )
        self.sent += count
        self.last_seq = ack["seq"]
        return ack

    def extend_payload(self, count: int = 3) -> dict[str, Any]:
        return {"stroke_id": self.stroke_id, "offset": self.sent, "points": self.points(count)}

    async def extend(self, count: int = 3) -> dict[str, Any]:
        ack = await self.peer.ok("stroke_extend", self.extend_payload(count))
        self.sent += count
        self.last_seq = ack["seq"]
        return ack

    async def end(self) -> dict[str, Any]:
        ack = await self.peer.ok("stroke_end", {"stroke_id": self.stroke_id, "length": self.sent})
        self.last_seq = ack["seq"]
        return ack


def received(peer: Peer, name: str, stroke_id: str) -> list[dict[str, Any]]:
    return [
        data for event, data in peer.events if event == name and data["data"]["id"] == stroke_id
    ]


def ink_ids(peer: Peer) -> set[str]:
    return {data["data"]["id"] for event, data in peer.events if event in INK_EVENTS}


async def read_log(peer: Peer) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = await peer.ok("log_resume", {"after_seq": after, "limit": 500})
        events += page["events"]
        after = page["next_after_seq"]
        if not page["more"]:
            return events


async def classroom(running: Running, *students: str) -> tuple[str, Peer, list[Peer]]:
    cls = await running.new_class()
    teacher = await running.teacher(str(cls["class_id"]))
    peers = [(await running.student(str(cls["join_code"]), name))[0] for name in students]
    return str(cls["class_id"]), teacher, peers


async def close(*peers: Peer) -> None:
    for peer in peers:
        if peer.sio.connected:
            await peer.disconnect()


# --- streaming, retries, gaps, rights ---------------------------------------------------------


async def test_student_sees_a_stroke_while_it_is_drawn(running_sqlite: Running) -> None:
    _, teacher, (ali,) = await classroom(running_sqlite, "Ali")
    pen = Pen(teacher, "k-live")
    await pen.start()
    await pen.extend()
    # The pen is still down: Ali already has the first six points, and no end.
    await ali.wait_until(lambda: len(received(ali, "stroke_extended", "k-live")) == 1)
    assert received(ali, "stroke_started", "k-live")[0]["data"]["pts"][:4] == [40.0, 40.0, 0.5, 0.0]
    assert received(ali, "stroke_extended", "k-live")[0]["data"]["offset"] == 3
    assert received(ali, "stroke_ended", "k-live") == []
    await pen.end()
    await ali.wait_until(lambda: bool(received(ali, "stroke_ended", "k-live")))
    names = [name for name, data in ali.events if name in INK_EVENTS]
    assert names == ["stroke_started", "stroke_extended", "stroke_ended"]
    assert received(ali, "stroke_ended", "k-live")[0]["data"]["n"] == 6
    await close(teacher, ali)


async def test_retried_batch_is_applied_once_and_a_lost_batch_is_a_gap(
    running_sqlite: Running,
) -> None:
    _, teacher, (ali,) = await classroom(running_sqlite, "Ali")
    pen = Pen(teacher, "k-retry")
    await pen.start()
    batch = pen.extend_payload()
    first = await teacher.ok("stroke_extend", batch)
    assert first["duplicate"] is False
    # The network ate the ack; the client sends the very same batch again.
    again = await teacher.ok("stroke_extend", batch)
    assert again["duplicate"] is True
    pen.sent += 3
    # A batch was lost: the next one starts past the stroke's end.
    lost = await teacher.call(
        "stroke_extend", {"stroke_id": "k-retry", "offset": 9, "points": [point(0, 9)]}
    )
    assert lost["ok"] is False
    assert lost["error"]["code"] == "GAP"
    assert lost["error"]["expected_offset"] == 6
    # Ending with more points than arrived is a gap too; resending from the offset heals it.
    short = await teacher.call("stroke_end", {"stroke_id": "k-retry", "length": 10})
    assert short["error"] == {**short["error"], "code": "GAP", "expected_offset": 6}
    await pen.extend(4)
    await pen.end()
    log = [e for e in await read_log(teacher) if e["type"] in INK_EVENTS]
    assert [(e["type"], e["data"].get("offset")) for e in log] == [
        ("stroke_started", None),
        ("stroke_extended", 3),
        ("stroke_extended", 6),
        ("stroke_ended", None),
    ]
    await ali.wait_until(lambda: bool(received(ali, "stroke_ended", "k-retry")))
    assert [e["data"]["offset"] for e in received(ali, "stroke_extended", "k-retry")] == [3, 6]
    snapshot = await ali.ok("class_snapshot")
    (stroke,) = snapshot["state"]["board"]["pages"][0]["items"]
    assert stroke["pts"] == [v for k in range(10) for v in point(0, k)]
    await close(teacher, ali)


async def test_student_drawing_allowed_denied_and_revoked_at_once(running_sqlite: Running) -> None:
    _, teacher, (ali, sara) = await classroom(running_sqlite, "Ali", "Sara")
    denied = await ali.call(
        "stroke_start",
        {"stroke_id": "a1", "page_id": PAGE, "tool": "pen", "color": "#123456", "width": 3},
    )
    assert denied["error"]["code"] == "FORBIDDEN"

    await teacher.ok("board_allow_drawing", {"ink": "class"})
    pen = Pen(ali, "a2", number=1)
    await pen.start()
    await pen.extend()
    await sara.wait_until(lambda: bool(received(sara, "stroke_extended", "a2")))

    revoked = await teacher.ok("board_revoke_drawing", {})
    # The very next batch after the revoke is refused: no grace period.
    late = await ali.call("stroke_extend", pen.extend_payload())
    assert late["error"]["code"] == "FORBIDDEN"
    snapshot = await sara.ok("class_snapshot")
    assert snapshot["seq"] >= revoked["seq"]
    (stroke,) = snapshot["state"]["board"]["pages"][0]["items"]
    assert (stroke["id"], stroke["done"], len(stroke["pts"]) // 4) == ("a2", True, 6)
    assert snapshot["state"]["board"]["drawing"]["may_draw"] is False
    await sara.wait_until(lambda: any(name == "drawing_revoked" for name, _ in sara.events))
    await close(teacher, ali, sara)


async def test_teacher_only_ink_reaches_the_teacher_and_its_author_only(
    running_sqlite: Running,
) -> None:
    _, teacher, (ali, sara) = await classroom(running_sqlite, "Ali", "Sara")
    await teacher.ok("board_allow_drawing", {"ink": "teacher"})
    private = Pen(ali, "ali-answer", number=2)
    await private.start()
    await private.extend()
    await private.end()
    await teacher.wait_until(lambda: bool(received(teacher, "stroke_ended", "ali-answer")))
    await ali.wait_until(lambda: bool(received(ali, "stroke_ended", "ali-answer")))
    # Events reach Sara in log order: once she has the teacher's later stroke, she would have
    # had Ali's ink before it if it had been sent to her.
    shared = Pen(teacher, "teacher-after", number=3)
    await shared.start()
    await shared.end()
    await sara.wait_until(lambda: bool(received(sara, "stroke_ended", "teacher-after")))
    assert "ali-answer" not in ink_ids(sara)
    assert {"ali-answer", "teacher-after"} <= ink_ids(teacher)
    assert received(ali, "stroke_started", "ali-answer")[0]["aud"] == "author"
    # Nor through the back doors: resume and snapshot filter it too.
    assert all(e["data"].get("id") != "ali-answer" for e in await read_log(sara))
    sara_view = await sara.ok("class_snapshot")
    assert [i["id"] for i in sara_view["state"]["board"]["pages"][0]["items"]] == ["teacher-after"]
    await close(teacher, ali, sara)


# --- resume after a disconnect, late join, gap repair -----------------------------------------


class Replica:
    """A client's board rebuilt from log events with ``classroom.board.apply``, in seq order."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.board = board.new_board()
        self.seq = 0
        self.applied: list[int] = []
        self.gaps: list[tuple[int, int, int]] = []

    def apply(self, record: dict[str, Any]) -> None:
        assert record["seq"] > self.seq, "events must be applied in seq order, once"
        board.apply(self.board, Event.from_record("class", record))
        self.seq = record["seq"]
        self.applied.append(record["seq"])

    async def resume(self, limit: int) -> int:
        """Page through ``log_resume`` from the last applied seq while ``more``; pages read."""
        pages = 0
        while True:
            page = await self.peer.ok("log_resume", {"after_seq": self.seq, "limit": limit})
            pages += 1
            for record in page["events"]:
                self.apply(record)
            self.seq = max(self.seq, page["next_after_seq"])
            if not page["more"]:
                return pages

    async def feed(self, live: list[dict[str, Any]]) -> None:
        """Apply live events: skip what is already applied, ask for a skipped range first.

        A hole in the live seqs is either lost events or events this viewer may not see (other
        students' presence, teacher-only ink); ``log_resume`` over exactly the hole tells which.
        """
        for record in live:
            if record["seq"] <= self.seq:
                continue
            if record["seq"] > self.seq + 1:
                missing = record["seq"] - self.seq - 1
                page = await self.peer.ok("log_resume", {"after_seq": self.seq, "limit": missing})
                assert page["next_after_seq"] == record["seq"] - 1, "the hole must be covered"
                assert all(self.seq < e["seq"] < record["seq"] for e in page["events"])
                self.gaps.append((self.seq, missing, len(page["events"])))
                for fetched in page["events"]:
                    self.apply(fetched)
                self.seq = record["seq"] - 1
            self.apply(record)

    def fork(self) -> Replica:
        twin = Replica(self.peer)
        twin.board, twin.seq, twin.applied = copy.deepcopy(self.board), self.seq, list(self.applied)
        return twin

    def strokes(self) -> list[tuple[str, list[float], bool]]:
        items = self.board.pages[PAGE].items.values()
        return [(s.id, s.pts, s.done) for s in items if isinstance(s, board.Stroke)]


def snapshot_strokes(snapshot: dict[str, Any]) -> list[tuple[str, list[float], bool]]:
    items = snapshot["state"]["board"]["pages"][0]["items"]
    return [(i["id"], i["pts"], i["done"]) for i in items if i["type"] == "stroke"]


def fold_into_snapshot(items: dict[str, dict[str, Any]], record: dict[str, Any]) -> None:
    """What the web client does with a live ink event on top of a snapshot."""
    data = record["data"]
    if record["type"] == "stroke_started":
        assert data["id"] not in items, f"stroke {data['id']} started twice"
        items[data["id"]] = {"pts": list(data["pts"]), "done": False}
    elif record["type"] == "stroke_extended":
        stroke = items[data["id"]]
        assert data["offset"] == len(stroke["pts"]) // 4, "a batch is missing or repeated"
        stroke["pts"] += data["pts"]
    elif record["type"] == "stroke_ended":
        items[data["id"]]["done"] = True


async def draw(pens: list[Pen], *steps: str) -> None:
    """Run the same steps on several strokes at once (each stroke's steps stay in order)."""

    async def run(pen: Pen) -> None:
        for step in steps:
            await getattr(pen, step)()

    await asyncio.gather(*(run(pen) for pen in pens))


async def test_reconnect_and_late_join_rebuild_the_teachers_board_stroke_for_stroke(
    running_unlimited: Running,
) -> None:
    running = running_unlimited
    cls = await running.new_class()
    class_id, join_code = str(cls["class_id"]), str(cls["join_code"])
    teacher = await running.teacher(class_id)
    ali, joined = await running.student(join_code, "Ali")
    replica = Replica(ali)
    await replica.resume(limit=100)
    pens = [Pen(teacher, f"s{n:03d}", n) for n in range(200)]

    # Ali is there for the first 60 strokes and the start of five more.
    await draw(pens[:60], "start", "extend", "end")
    await draw(pens[60:65], "start", "extend")
    seen_by_then = max(pen.last_seq for pen in pens[:65])
    await ali.wait_until(lambda: seen_by_then in ali.seqs())
    await replica.feed(ali.log_events())
    await ali.disconnect()
    # A second copy of Ali's board, repaired only by noticing seq gaps in the live events.
    left_at = replica.seq
    gap_replica = replica.fork()

    # Away: 95 strokes drawn whole, the five in progress grow, ten more are begun.
    await draw(pens[65:160], "start", "extend", "end")
    await draw(pens[60:65], "extend")
    await draw(pens[160:170], "start", "extend")

    # Back (same token) while the teacher keeps drawing; a late joiner arrives at the same time.
    back = Peer("Ali again")
    await back.connect(running.url, {"token": joined["token"]})
    late, _ = await running.student(join_code, "Zara")
    drawing = asyncio.gather(
        draw(pens[160:170], "extend", "end"),
        draw(pens[60:65], "end"),
        draw(pens[170:200], "start", "extend", "extend", "end"),
    )
    replica.peer = gap_replica.peer = back
    assert await replica.resume(limit=100) > 1, "the resume should have needed several pages"
    snap = await late.ok("class_snapshot")
    late_items = {sid: {"pts": pts, "done": done} for sid, pts, done in snapshot_strokes(snap)}
    await drawing

    final = await teacher.ok("class_snapshot")
    # Presence is logged as students come and go and only their teachers (and they) see it,
    # so each student's view has holes; what counts is every event it may see, once, in order.
    ali_view = [e["seq"] for e in await read_log(back)]
    zara_view = [e["seq"] for e in await read_log(late) if e["seq"] > snap["seq"]]
    await back.wait_until(lambda: ali_view[-1] in back.seqs())
    await late.wait_until(lambda: zara_view[-1] in late.seqs())
    await replica.feed(back.log_events())
    await gap_replica.feed(back.log_events())
    live_after = [e for e in late.log_events() if snap["seq"] < e["seq"] <= zara_view[-1]]
    assert [e["seq"] for e in live_after] == zara_view
    for record in live_after:
        fold_into_snapshot(late_items, record)

    truth = snapshot_strokes(final)
    assert sorted(sid for sid, _, _ in truth) == [pen.stroke_id for pen in pens]
    assert all(done and len(pts) > 0 for _, pts, done in truth)
    assert replica.strokes() == truth
    assert gap_replica.strokes() == truth
    assert [(sid, v["pts"], v["done"]) for sid, v in late_items.items()] == truth
    # Nothing applied twice, nothing skipped: exactly the events Ali may see, in order.
    assert [seq for seq in replica.applied if seq <= ali_view[-1]] == ali_view
    assert [seq for seq in gap_replica.applied if seq <= ali_view[-1]] == ali_view
    # The gap-driven copy noticed the time away as a hole and fetched exactly that range
    # (later holes are other students' presence, which Ali is not sent: nothing to fetch).
    first_hole = gap_replica.gaps[0]
    assert first_hole[0] == left_at >= seen_by_then
    assert first_hole[2] > 300
    await close(teacher, back, late)


# --- server-side render over HTTP -------------------------------------------------------------


async def test_page_render_png_and_svg_show_what_the_viewer_may_see(
    running_sqlite: Running,
) -> None:
    running = running_sqlite
    cls = await running.new_class()
    class_id, join_code = str(cls["class_id"]), str(cls["join_code"])
    teacher = await running.teacher(class_id)
    ali, ali_joined = await running.student(join_code, "Ali")
    sara, sara_joined = await running.student(join_code, "Sara")
    await teacher.ok("board_allow_drawing", {"ink": "teacher"})
    # A red horizontal line by the teacher at y=300, a blue one by Ali (teacher-only) at y=800.
    for peer, stroke_id, y, color in (
        (teacher, "red", 300.0, "#ff0000"),
        (ali, "blue", 800.0, "#0000ff"),
    ):
        points = [[200.0 + 25 * k, y, 0.5, 10.0 * k] for k in range(61)]
        await peer.ok(
            "stroke_start",
            {
                "stroke_id": stroke_id,
                "page_id": PAGE,
                "tool": "pen",
                "color": color,
                "width": 24,
                "points": points[:30],
            },
        )
        await peer.ok(
            "stroke_extend", {"stroke_id": stroke_id, "offset": 30, "points": points[30:]}
        )
        await peer.ok("stroke_end", {"stroke_id": stroke_id, "length": 61})
    base = f"{running.url}/api/classes/{class_id}/pages"
    http = running.api.http

    async def png(token: str, *, bearer: bool) -> np.ndarray:
        url = f"{base}/{PAGE}.png?scale=0.25"
        headers = {"Authorization": f"Bearer {token}"} if bearer else {}
        params = {} if bearer else {"token": token}
        async with http.get(url, headers=headers, params=params) as resp:
            assert resp.status == 200 and resp.content_type == "image/png"
            image = Image.open(io.BytesIO(await resp.read())).convert("RGB")
        assert image.size == (480, 270)
        return np.asarray(image).astype(int)

    def color_at(pixels: np.ndarray, x: float, y: float) -> tuple[int, int, int]:
        r, g, b = pixels[round(y / 4), round(x / 4)]
        return int(r), int(g), int(b)

    as_teacher = await png(running.teacher_token, bearer=True)
    as_ali = await png(str(ali_joined["token"]), bearer=False)
    as_sara = await png(str(sara_joined["token"]), bearer=False)
    red, blue, white = (255, 0, 0), (0, 0, 255), (255, 255, 255)
    for pixels in (as_teacher, as_ali, as_sara):
        assert np.abs(np.subtract(color_at(pixels, 900, 300), red)).max() < 40
        assert color_at(pixels, 900, 500) == white
    assert np.abs(np.subtract(color_at(as_teacher, 900, 800), blue)).max() < 40
    assert np.abs(np.subtract(color_at(as_ali, 900, 800), blue)).max() < 40
    assert color_at(as_sara, 900, 800) == white, "Sara must not see Ali's teacher-only ink"

    async def svg_ids(token: str) -> list[str]:
        async with http.get(f"{base}/{PAGE}.svg", params={"token": token}) as resp:
            assert resp.status == 200 and resp.content_type == "image/svg+xml"
            root = ET.fromstring(await resp.text())
        paths = root.iter(f"{SVG}path")
        return [p.get("data-id", "") for p in paths if "stroke" in p.get("class", "")]

    assert await svg_ids(running.teacher_token) == ["red", "blue"]
    assert await svg_ids(str(sara_joined["token"])) == ["red"]

    for url, status, code in (
        (f"{base}/page-404.png", 404, "NOT_FOUND"),
        (f"{base}/{PAGE}.png?scale=9", 400, "INVALID_PAYLOAD"),
        (f"{base}/{PAGE}.png?scale=big", 400, "INVALID_PAYLOAD"),
        (f"{base}/{PAGE}.svg?token=forged", 401, "UNAUTHORIZED"),
    ):
        headers = {} if "token=" in url else {"Authorization": f"Bearer {running.teacher_token}"}
        async with http.get(url, headers=headers) as resp:
            assert resp.status == status, url
            body = await resp.json()
        assert body["ok"] is False and body["error"]["code"] == code, (url, body)
    await close(teacher, ali, sara)


# --- floods -----------------------------------------------------------------------------------


async def test_a_flood_is_rate_limited_without_slowing_the_others(running_sqlite: Running) -> None:
    _, teacher, (flooder, sara) = await classroom(running_sqlite, "Flooder", "Sara")
    await teacher.ok("board_allow_drawing", {"ink": "class"})
    sends = [
        flooder.call(
            "stroke_start",
            {
                "stroke_id": f"f{n}",
                "page_id": PAGE,
                "tool": "pen",
                # Every fifth message is bad input as well as excess.
                "color": "#000000" if n % 5 else "black",
                "width": 2,
                "points": [point(n % 150, 0)],
            },
        )
        for n in range(400)
    ]
    pen = Pen(sara, "sara-calm", number=7)

    async def calm() -> list[dict[str, Any]]:
        return [await pen.start(), await pen.extend(), await pen.extend(), await pen.end()]

    began = time.monotonic()
    flood, sara_acks = await asyncio.gather(asyncio.gather(*sends), calm())
    elapsed = time.monotonic() - began
    accepted = {f"f{n}" for n, ack in enumerate(flood) if ack["ok"]}
    refused = [ack for ack in flood if not ack["ok"]]
    codes = [ack["error"]["code"] for ack in refused]
    assert set(codes) == {"RATE_LIMITED", "INVALID_PAYLOAD"}
    # The bucket (60/s, burst 120) is checked before validation: bad input costs tokens too.
    limited = codes.count("RATE_LIMITED")
    assert 120 <= len(flood) - limited <= 120 + 60 * elapsed + 1
    assert all(a["error"].get("retry_after_s", 0) >= 0 for a in refused)
    assert not any(n % 5 == 0 for n in (int(s[1:]) for s in accepted))
    assert all(ack["ok"] for ack in sara_acks), sara_acks
    # Nothing refused was applied; everything accepted was, once.
    started = [e["data"]["id"] for e in await read_log(teacher) if e["type"] == "stroke_started"]
    assert sorted(s for s in started if s.startswith("f")) == sorted(accepted)
    # Sara's stroke reached the teacher and the flooder, whole.
    for peer in (teacher, flooder):
        await peer.wait_until(lambda peer=peer: bool(received(peer, "stroke_ended", "sara-calm")))
        assert [e["data"]["offset"] for e in received(peer, "stroke_extended", "sara-calm")] == [
            3,
            6,
        ]
    await close(teacher, flooder, sara)
