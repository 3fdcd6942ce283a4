"""A short recorded lesson that exercises everything the export pictures show.

Made through the real ``propose_*`` functions (:class:`testkit.lessons.LessonMaker`): ink on
ruled, grid and picture pages, a highlighter stroke, a shape and an Urdu text, a page switch and
back, an erase, an undo and a redo, a clear, a poll with its results shown, a two-question quiz,
and camera keyframes with real JPEG bytes. About 30 s of lesson time.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from classroom import board, lessons
from classroom.export import source as export_source
from classroom.export.source import LessonSource
from classroom.log import Proposed
from classroom.protocol import board as pb
from classroom.protocol.lessons import LessonDetails
from testkit.lessons import TEACHER, LessonMaker, student

PICTURE_ASSET = "pic-map"
TITLE = "پاکستان کا نقشہ · Map of Pakistan"
TEACHER_NAME = "مس آمنہ"
SCHOOL = "گورنمنٹ اسکول لاہور"


def jpeg(width: int, height: int, color: tuple[int, int, int], *, seed: int = 0) -> bytes:
    """A JPEG of a board-like picture: a flat colour with a few dark marks."""
    rng = np.random.default_rng(seed)
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[:] = color
    for _ in range(6):
        x, y = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 8))
        pixels[y : y + 6, x : x + 20] = (20, 20, 20)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def png(width: int, height: int) -> bytes:
    """A PNG picture background: a diagonal colour ramp."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    pixels = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


@dataclass
class PictureLesson:
    source: LessonSource
    maker: LessonMaker
    marks: dict[str, int]  # name -> lesson clock of a moment worth looking at


def _stroke(
    maker: LessonMaker, tool: str, color: str, width: float, xy: tuple[float, float]
) -> str:
    stroke_id = maker.new_id("hl")
    page = maker.state.part("board").current
    x, y = xy
    points = [[x + 12 * i, y + 3 * (i % 3), 0.5, 16 * i] for i in range(20)]
    start = {
        "stroke_id": stroke_id,
        "page_id": page,
        "tool": tool,
        "color": color,
        "width": width,
        "points": points[:10],
    }
    maker._board(TEACHER, pb.StrokeStart.model_validate(start))
    maker.tick(60)
    extend = {"stroke_id": stroke_id, "offset": 10, "points": points[10:]}
    maker._board(TEACHER, pb.StrokeExtend.model_validate(extend))
    maker.tick(60)
    maker._board(TEACHER, pb.StrokeEnd.model_validate({"stroke_id": stroke_id, "length": 20}))
    return stroke_id


def _background(maker: LessonMaker, page_id: str, kind: str, image: str | None = None) -> None:
    payload = {
        "page_id": page_id,
        "background": {"kind": kind, "image": image},
        "client_id": maker.new_id("bg"),
    }
    maker._board(TEACHER, pb.PageSetBackground.model_validate(payload))


def picture_lesson(*, seed: int = 3) -> PictureLesson:
    maker = LessonMaker("pic1", seed=seed)
    pupils = [student(n) for n in range(1, 7)]
    for actor in pupils:
        maker.join(actor)
    marks: dict[str, int] = {}
    first = board.FIRST_PAGE_ID
    _background(maker, first, "ruled")
    strokes = []
    for _ in range(6):
        maker.tick(400)
        strokes.append(maker.stroke(batches=6, points=4))
    maker.tick(300)
    _stroke(maker, "highlighter", "#f2c200", 24.0, (300.0, 300.0))
    maker.tick(200)
    shape = {
        "shape_id": maker.new_id("sh"),
        "page_id": first,
        "kind": "rectangle",
        "start": [200.0, 600.0],
        "end": [700.0, 900.0],
        "color": "#cc2200",
        "width": 6.0,
    }
    maker._board(TEACHER, pb.ShapeAdd.model_validate(shape))
    maker.tick(200)
    text = {
        "text_id": maker.new_id("tx"),
        "page_id": first,
        "text": "پاکستان کا نقشہ",
        "x": 1700.0,
        "y": 120.0,
        "size": 64.0,
        "color": "#003366",
    }
    maker._board(TEACHER, pb.TextAdd.model_validate(text))
    maker.tick(500)
    marks["page1_full"] = maker.now
    second = maker.add_page()
    _background(maker, second, "grid")
    for _ in range(3):
        maker.tick(300)
        maker.stroke(batches=5, points=4)
    maker.tick(500)
    marks["page2"] = maker.now
    third = maker.add_page()
    _background(maker, third, "image", PICTURE_ASSET)
    maker.tick(300)
    maker.stroke(batches=5, points=4)
    maker.tick(500)
    marks["page3_picture"] = maker.now
    maker.switch_page(first)
    maker.tick(400)
    maker.erase(strokes[:2])
    maker.tick(400)
    marks["erased"] = maker.now
    maker.undo()  # brings the erased strokes back
    maker.tick(400)
    marks["undone"] = maker.now
    maker.redo()
    maker.tick(400)
    maker.stroke(batches=3, points=4)
    maker.tick(300)
    maker.keyframe(captured_ago_ms=100)
    maker.tick(800)
    marks["camera"] = maker.now
    maker.tick(5000)
    maker.stroke(batches=3, points=4)
    maker.tick(400)
    marks["back_to_ink"] = maker.now
    maker.clear_page()
    maker.tick(400)
    marks["cleared"] = maker.now
    maker.stroke(batches=4, points=4)
    maker.tick(400)
    poll_started = maker.now
    maker.poll("کیا آپ سمجھ گئے؟", ["ہاں", "نہیں"], pupils)
    marks["poll_open"] = poll_started + 700
    maker.tick(1000)
    marks["poll_results"] = maker.now
    maker.tick(11_000)
    maker.stroke(batches=3, points=4)
    marks["after_results"] = maker.now + 200
    maker.tick(500)
    quiz_started = maker.now
    maker.quiz(["7 x 8?", "9 x 6 کتنے ہوتے ہیں؟"], pupils[:4])
    marks["question"] = quiz_started + 500
    maker.tick(2000)
    marks["podium"] = maker.now
    maker.tick(12_000)
    maker.stroke(batches=3, points=4)
    maker.tick(1000)
    marks["end"] = maker.now
    details = LessonDetails.model_validate(
        {"title": TITLE, "subject": "social_studies", "grade": "5", "teacher_name": TEACHER_NAME}
    )
    maker.commit(TEACHER, [Proposed("lesson_details_updated", lessons.details_data(details))])
    assets = {PICTURE_ASSET: ("image/png", png(320, 180))}
    for kf in maker.state.part("camera").keyframes:
        data = jpeg(320, 180, (232, 236, 228), seed=len(assets))
        assets[str(kf["asset_id"])] = ("image/jpeg", data)
    source = export_source.from_events(maker.events, assets=assets, school=SCHOOL)
    return PictureLesson(source, maker, marks)
