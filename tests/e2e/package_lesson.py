"""A short recorded lesson for the offline package's tests: ink on two pages, Urdu text typed on
the board, a poll, a board photo and 4 s of voice, with hostile strings where people type."""

from __future__ import annotations

import io

from PIL import Image

from boardclient.audio import encode_opus
from classroom import audio as audio_feature
from classroom import board
from classroom.classes import ClassRecord
from classroom.export.source import LessonSource, from_events
from classroom.log import Actor, Proposed
from classroom.protocol import board as pb
from testkit.audio import beeps
from testkit.lessons import TEACHER, LessonMaker, student

# What a curious student types: each would run script if it were parsed as HTML.
HOSTILE = '</script><script>window.__pwned="script"</script><!--<script>'
HOSTILE_IMG = "<img src=x onerror=\"window.__pwned='img'\"> ]]> \u2028"
URDU_TEXT = "کسر آدھا"
AUDIO_S = 4.0
BEEPS_S = (0.5, 1.5, 2.5)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def _stroke(maker: LessonMaker, x0: float, y0: float) -> None:
    """A thick pen stroke drawn in three batches 50 ms apart (it grows during playback)."""
    stroke_id = maker.new_id("st")
    page = maker.state.part("board").current
    points = [[x0 + 40 * i, y0 + 25 * (i % 3), 0.5, 16 * i] for i in range(12)]
    start = {"stroke_id": stroke_id, "page_id": page, "tool": "pen", "color": "#1a1a1a"}
    maker._board(
        TEACHER, pb.StrokeStart.model_validate({**start, "width": 20, "points": points[:4]})
    )
    for offset in (4, 8):
        maker.tick(50)
        extend = {"stroke_id": stroke_id, "offset": offset, "points": points[offset : offset + 4]}
        maker._board(TEACHER, pb.StrokeExtend.model_validate(extend))
    maker.tick(20)
    maker._board(TEACHER, pb.StrokeEnd.model_validate({"stroke_id": stroke_id, "length": 12}))


def package_lesson() -> LessonSource:
    maker = LessonMaker("pk1", seed=3)
    pupils = [student(n) for n in (1, 2)]
    for actor in pupils:
        maker.join(actor)
    start = maker.now
    assets: dict[str, tuple[str, bytes]] = {}
    voice = encode_opus(beeps(AUDIO_S, list(BEEPS_S)), container="ogg")
    asset_id = audio_feature.asset_id("v1")
    assets[asset_id] = ("audio/ogg", voice)
    device = Actor("board", "mic1", "Classroom PC")
    data = {
        "segment_id": "v1",
        "asset_id": asset_id,
        "captured_at_ms": start + 100,
        "duration_ms": int(AUDIO_S * 1000),
        "codec": "opus",
        "container": "ogg",
        "sample_rate": 48000,
        "channels": 1,
    }
    maker.commit(device, [Proposed("audio_added", data)])
    maker.tick(200)
    _stroke(maker, 200, 200)
    maker.tick(500)
    text = {
        "text_id": "tx1",
        "page_id": board.FIRST_PAGE_ID,
        "text": URDU_TEXT,
        "x": 1500.0,
        "y": 500.0,
        "size": 96.0,
        "color": "#aa2200",
    }
    maker._board(TEACHER, pb.TextAdd.model_validate(text))
    hostile = {**text, "text_id": "tx2", "text": HOSTILE_IMG, "x": 200.0, "y": 850.0, "size": 40.0}
    maker._board(TEACHER, pb.TextAdd.model_validate(hostile))
    maker.tick(400)
    _stroke(maker, 300, 600)
    maker.tick(300)
    page = maker.add_page()
    maker.switch_page(page)
    keyframe = maker.keyframe(captured_ago_ms=50)
    _stroke(maker, 900, 300)
    maker.tick(300)
    maker.poll(HOSTILE + " کتنے؟ How many?", ["3", HOSTILE_IMG], pupils)
    maker.tick(400)
    maker.switch_page(board.FIRST_PAGE_ID)
    _stroke(maker, 1200, 800)
    maker.tick(600)
    for event in maker.events:
        if event.type == "camera_keyframe_added" and event.data.get("keyframe_id") == keyframe:
            assets[str(event.data["asset_id"])] = ("image/jpeg", _jpeg())
    record = ClassRecord("pk1", "amina", HOSTILE + " کسریں Fractions", "ABC-234", start)
    return from_events(maker.events, record=record, assets=assets)
