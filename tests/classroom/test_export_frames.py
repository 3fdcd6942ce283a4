"""The export pictures: the incremental renderer against a full redraw, the screen rules, the
graphics-safe area and shaped Urdu on the cards."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, features

from classroom import render
from classroom.export import frames as ef
from testkit.picture_lesson import PictureLesson, picture_lesson

FPS = 5
SIZE = (640, 360)


@pytest.fixture(scope="module")
def lesson() -> PictureLesson:
    return picture_lesson()


@pytest.fixture(scope="module")
def rendered(lesson: PictureLesson) -> tuple[list[ef.Frame], list[ef.Frame]]:
    width, height = SIZE
    incremental = list(ef.frames(lesson.source, width=width, height=height, fps=FPS))
    reference = list(ef.reference_frames(lesson.source, width=width, height=height, fps=FPS))
    return incremental, reference


def index_at(lesson: PictureLesson, name: str) -> int:
    return (lesson.marks[name] - lesson.source.start_ms) * FPS // 1000


def board_of(frame: ef.Frame, width: int, height: int) -> ef.Frame:
    bx, by, bw, bh = ef.layout(width, height).board
    return frame[by : by + bh, bx : bx + bw]


def far_off(a: ef.Frame, b: ef.Frame, level: int = 48) -> float:
    """The share of pixels whose colour differs by more than ``level`` in a channel."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    return float((diff > level).mean())


def test_incremental_frames_equal_the_full_redraw_at_every_frame(
    rendered: tuple[list[ef.Frame], list[ef.Frame]], lesson: PictureLesson
) -> None:
    incremental, reference = rendered
    assert len(incremental) == len(reference) == ef.frame_count(lesson.source, FPS)
    for index, (mine, full) in enumerate(zip(incremental, reference, strict=True)):
        assert mine.shape == (SIZE[1], SIZE[0], 3) and mine.dtype == np.uint8
        # Anti-aliased edges differ a little (2x2 coverage vs a 2x render shrunk by Lanczos).
        assert far_off(mine, full) < 0.003, f"frame {index} differs from the full redraw"
        assert np.abs(mine.astype(np.int16) - full.astype(np.int16)).mean() < 1.0


def test_incremental_board_frames_equal_a_fresh_canvas_exactly(
    rendered: tuple[list[ef.Frame], list[ef.Frame]], lesson: PictureLesson
) -> None:
    """The bookkeeping (what settled, what is redrawn when) changes no pixel: a canvas made
    afresh at each moment with the same painter gives the very same board."""
    incremental, _ = rendered
    width, height = SIZE
    lay = ef.layout(width, height)
    screen = ef._Screen(lesson.source, lay, "ur")
    compared = 0
    for index, frame in enumerate(incremental):
        t = ef.frame_time(lesson.source, index, FPS)
        moment = lesson.source.timeline.state_at(t)
        what = screen.choose(moment.state, t)  # asked every frame: the view rule has a memory
        if what[0] != "board" or index % 2:
            continue
        fresh = ef.BoardCanvas(lay, screen.pictures)
        board = moment.board()
        fresh.redraw(board, t)
        assert np.array_equal(frame, fresh.picture(board)), f"frame {index}"
        compared += 1
    assert compared > 40


def test_unchanged_frames_are_the_same_object(
    rendered: tuple[list[ef.Frame], list[ef.Frame]],
) -> None:
    incremental, reference = rendered
    same = 0
    for index in range(1, len(reference)):
        if reference[index] is reference[index - 1]:
            # Nothing happened between them: the incremental frame is not made again either.
            assert incremental[index] is incremental[index - 1], index
            same += 1
    assert same > len(reference) // 3
    assert len({id(frame) for frame in incremental}) < len({id(frame) for frame in reference})


def test_the_page_is_redrawn_only_when_the_page_itself_changed(lesson: PictureLesson) -> None:
    # Count the canvas's full redraws and box repaints through the class the renderer uses.
    canvases: list[ef.BoardCanvas] = []
    original = ef.BoardCanvas.__init__

    def keeping(self: ef.BoardCanvas, *args: Any) -> None:
        original(self, *args)
        canvases.append(self)

    ef.BoardCanvas.__init__ = keeping  # type: ignore[method-assign]
    try:
        frames = sum(1 for _ in ef.frames(lesson.source, width=320, height=180, fps=FPS))
    finally:
        ef.BoardCanvas.__init__ = original  # type: ignore[method-assign]
    (canvas,) = canvases
    events = lesson.source.events
    page_events = sum(1 for e in events if e.type in ef.REDRAW_EVENTS)
    hiding = sum(1 for e in events if e.type in ef.REPAINT_EVENTS)
    ink_events = sum(1 for e in events if e.type in ef.INK_EVENTS)
    assert frames > 100 and ink_events > 100
    # Page adds, background changes and the switch back redraw; the erase, undo, redo and
    # clear repaint only the box of the ink they hid or showed.
    assert 1 <= canvas.redraws <= page_events + 1
    assert hiding == 4 and canvas.repaints == hiding


def test_what_is_on_screen_at_the_lessons_moments(
    rendered: tuple[list[ef.Frame], list[ef.Frame]], lesson: PictureLesson
) -> None:
    incremental, _ = rendered
    width, height = SIZE

    def board(name: str) -> ef.Frame:
        return board_of(incremental[index_at(lesson, name)], width, height)

    page1 = board("page1_full")
    # Ruled lines: rows tinted blue across the page (the rule colour, anti-aliased).
    rows = np.median(page1.astype(int), axis=1)
    assert ((rows[:, 2] - rows[:, 0]) >= 10).sum() >= 15
    # The red rectangle and the Urdu text are there; the highlighter is pale yellow.
    assert ((page1[..., 0] > 150) & (page1[..., 1] < 80) & (page1[..., 2] < 60)).sum() > 100
    assert ((page1[..., 2] > 60) & (page1[..., 0] < 40) & (page1[..., 1] < 80)).sum() > 50
    assert ((page1[..., 0] > 230) & (page1[..., 1] > 200) & (page1[..., 2] < 190)).sum() > 50
    grid = board("page2")
    columns = np.median(grid.astype(int), axis=0)  # grid verticals: grey columns
    assert ((columns[:, 0] < 245) & (columns[:, 0] == columns[:, 2])).sum() >= 15
    picture = board("page3_picture")
    assert picture[..., 1].std() > 40  # the colour ramp picture
    erased, undone = board("erased"), board("undone")
    dark = lambda image: int((image.max(axis=2) < 120).sum())  # noqa: E731  (dark ink pixels)
    assert dark(undone) > dark(erased) + 20  # the erase took ink away; the undo put it back
    assert far_off(undone, page1, 48) < 0.001
    camera = board("camera")
    near = np.abs(camera.astype(int) - (232, 236, 228)).max(axis=2) < 12
    assert near.mean() > 0.8  # the camera board's picture, not the ink
    ink = board("back_to_ink")
    assert far_off(ink, undone, 80) < 0.01  # after the hold, new ink brings the board back
    cleared = board("cleared")
    assert (cleared.min(axis=2) < 100).sum() == 0  # no dark ink left after the clear
    for name in ("poll_open", "poll_results", "question", "podium"):
        frame = incremental[index_at(lesson, name)]
        left, top, right, bottom = ef.layout(width, height).safe
        card = frame[top + 20 : bottom - 20, left + 20 : right - 20]
        assert (np.abs(card.astype(int) - ef.CARD_COLOR).max(axis=2) < 6).mean() > 0.6, name
    after = board("after_results")
    assert (np.abs(after.astype(int) - ef.CARD_COLOR).max(axis=2) < 3).mean() < 0.1


@pytest.mark.parametrize("size", [(1920, 1080), (416, 234)])
def test_every_graphic_is_inside_the_graphics_safe_area(
    lesson: PictureLesson, size: tuple[int, int]
) -> None:
    width, height = size
    lay = ef.layout(width, height)
    if size == (1920, 1080):
        assert lay.safe == (96, 54, 1824, 1026) and lay.board == (96, 54, 1728, 972)
    left, top, right, bottom = lay.safe
    seen: set[int] = set()
    kinds = 0
    for frame in ef.frames(lesson.source, width=width, height=height, fps=1, lang="en"):
        if id(frame) in seen:
            continue
        seen.add(id(frame))
        outside = np.ones((height, width), bool)
        outside[top:bottom, left:right] = False
        assert (frame[outside] == ef.FRAME_COLOR).all()
        drawn = np.nonzero((frame != ef.FRAME_COLOR).any(axis=2))
        assert drawn[0].min() >= top and drawn[0].max() < bottom
        assert drawn[1].min() >= left and drawn[1].max() < right
        kinds += 1
    assert kinds >= 8


def test_cards_follow_the_export_language(lesson: PictureLesson) -> None:
    width, height = 320, 180
    urdu = list(ef.frames(lesson.source, width=width, height=height, fps=FPS, lang="ur"))
    english = list(ef.frames(lesson.source, width=width, height=height, fps=FPS, lang="en"))
    assert (
        far_off(
            urdu[index_at(lesson, "poll_results")], english[index_at(lesson, "poll_results")], 40
        )
        > 0.002
    )
    assert far_off(urdu[index_at(lesson, "page2")], english[index_at(lesson, "page2")], 1) == 0


def test_urdu_on_cards_is_shaped_with_raqm() -> None:
    assert features.check_feature("raqm"), "Pillow without raqm cannot shape Urdu"
    typeset = ef.Typesetter()
    word = "پاکستان"
    size = 64
    joined = typeset.width(word, size)
    isolated = sum(typeset.width(letter, size) for letter in word)
    # Nastaliq joins letters into one cursive word, much narrower than its letters apart.
    assert joined < 0.8 * isolated
    basic = ImageFont.truetype(render.URDU_FONTS[0], size, layout_engine=ImageFont.Layout.BASIC)
    assert abs(basic.getlength(word) - joined) > 0.1 * joined  # unshaped layout differs

    def ink(text: str, layout: ImageFont.Layout) -> np.ndarray[Any, Any]:
        font = ImageFont.truetype(render.URDU_FONTS[0], size, layout_engine=layout)
        image = Image.new("L", (600, 200), 0)
        extra = {"direction": "rtl"} if layout == ImageFont.Layout.RAQM else {}
        ImageDraw.Draw(image).text((550, 100), text, font=font, fill=255, anchor="rm", **extra)
        return np.asarray(image)

    # The card's own drawing uses the shaped form (same pixels as raqm, not basic).
    image = Image.new("RGB", (600, 200), (0, 0, 0))
    typeset.draw(
        ImageDraw.Draw(image), (550, 100), word, size=size, fill=(255, 255, 255),
        anchor="rm", max_width=600,
    )  # fmt: skip
    card = np.asarray(image)[..., 0]
    assert np.array_equal(card > 128, ink(word, ImageFont.Layout.RAQM) > 128)
    assert not np.array_equal(card > 128, ink(word, ImageFont.Layout.BASIC) > 128)


def test_a_frame_too_small_is_refused_clearly(lesson: PictureLesson) -> None:
    with pytest.raises(ValueError, match="at least 16x16"):
        next(ef.frames(lesson.source, width=8, height=8))


def test_missing_or_broken_pictures_leave_the_board_showing(lesson: PictureLesson) -> None:
    from classroom.export import source as export_source

    broken = {key: ("image/jpeg", b"\xff\xd8 not a jpeg") for key in lesson.source.assets}
    source = export_source.from_events(lesson.source.events, assets=broken)
    frames = list(ef.frames(source, width=320, height=180, fps=1))
    camera = board_of(frames[(lesson.marks["camera"] - source.start_ms) // 1000], 320, 180)
    # No camera picture could be read: the ink stays on screen (a white board, dark ink).
    assert (camera.min(axis=2) > 240).mean() > 0.8


def hostile_lesson() -> Any:
    """What a curious class types: a 500-character question, long options, an emoji name."""
    from classroom.export import source as export_source
    from classroom.log import Actor
    from testkit.lessons import LessonMaker

    maker = LessonMaker("hostile")
    pupils = [Actor("student", "s1", "😀 <b>Ali</b> " + "ب" * 40), Actor("student", "s2", "x" * 60)]
    for actor in pupils:
        maker.join(actor)
    maker.stroke(batches=2)
    maker.tick(500)
    question = ("کیا یہ بہت لمبا سوال ہے؟ " * 30)[:500]
    options = [("ایک بہت لمبا جواب " * 5)[:80], "W" * 80, "؟", "0"]
    maker.poll(question, options, pupils)
    maker.tick(500)
    maker.quiz(["Q" * 300 + " کتنے؟"], pupils)
    maker.tick(12_000)
    maker.stroke(batches=2)
    return export_source.from_events(maker.events)


def test_long_text_and_odd_names_stay_inside_the_safe_area() -> None:
    source = hostile_lesson()
    width, height = 960, 540
    left, top, right, bottom = ef.layout(width, height).safe
    seen: set[int] = set()
    cards = 0
    for frame in ef.frames(source, width=width, height=height, fps=2):
        if id(frame) in seen:
            continue
        seen.add(id(frame))
        drawn = np.nonzero((frame != ef.FRAME_COLOR).any(axis=2))
        assert drawn[0].min() >= top and drawn[0].max() < bottom
        assert drawn[1].min() >= left and drawn[1].max() < right
        safe = frame[top:bottom, left:right]
        cards += int((np.abs(safe.astype(int) - ef.CARD_COLOR).max(axis=2) < 3).mean() > 0.5)
    assert cards >= 3


def test_an_encoder_written_from_the_docs_gets_the_programme(
    lesson: PictureLesson, tmp_path: Path
) -> None:
    """docs/exports.md as an encoder reads it: one frame per 1/fps s, an unchanged frame is the
    same object (encode it once, repeat the packet's picture). Encoded with PyAV, decoded back."""
    import av

    width, height, fps = 320, 180, 5
    path = tmp_path / "programme.mp4"
    made = skipped = 0
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        previous: ef.Frame | None = None
        picture: av.VideoFrame | None = None
        for index, frame in enumerate(
            ef.frames(lesson.source, width=width, height=height, fps=fps)
        ):
            if frame is not previous or picture is None:
                picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
                made += 1
            else:
                skipped += 1
            previous = frame
            picture.pts = index
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert skipped > made  # most frames of a lesson repeat the one before
    with av.open(str(path)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == ef.frame_count(lesson.source, fps)
    left, top, right, bottom = ef.layout(width, height).safe

    def share(frame: ef.Frame, color: tuple[int, ...]) -> float:
        inner = frame[top + 8 : bottom - 8, left + 8 : right - 8].astype(int)
        return float((np.abs(inner - color).max(axis=2) < 14).mean())

    at = lambda name: decoded[(lesson.marks[name] - lesson.source.start_ms) * fps // 1000]  # noqa: E731
    assert share(at("poll_results"), ef.CARD_COLOR) > 0.5
    assert share(at("cleared"), (255, 255, 255)) > 0.5
    assert share(at("camera"), (232, 236, 228)) > 0.5


def test_a_line_mixing_urdu_and_english_draws_each_in_a_font_that_has_its_letters() -> None:
    """Noto Nastaliq Urdu has no Latin letters: "کیا آپ سمجھ گئے؟ Did you understand?" drawn
    in it alone shows empty boxes for the English half (seen in an exported poll card)."""
    english = "Did you understand?"
    mixed = f"کیا آپ سمجھ گئے؟ {english}"
    assert [arabic for _, arabic in ef.script_runs(mixed)] == [True, False]
    typeset = ef.Typesetter()

    def drawn(text: str) -> np.ndarray[Any, Any]:
        image = Image.new("L", (1400, 160), 255)
        typeset.draw(
            ImageDraw.Draw(image), (1380, 80), text, size=60, fill=0, anchor="rm", max_width=1360
        )
        return np.asarray(image)

    alone, both = drawn(english), drawn(mixed)
    # The English run sits at the line's left end (Urdu leads, from the right), drawn exactly
    # as the English text alone is drawn: in Noto Sans, not as the Nastaliq font's boxes.
    wide = round(typeset.width(english, 60))
    ink_alone = np.nonzero(alone.min(axis=0) < 128)[0]
    ink_both = np.nonzero(both.min(axis=0) < 128)[0]
    left = ink_both[0]
    part = both[:, left : left + (ink_alone[-1] - ink_alone[0]) + 1]
    expected = alone[:, ink_alone[0] : ink_alone[-1] + 1]
    assert part.shape == expected.shape and wide > 300
    assert np.mean(np.abs(part.astype(int) - expected.astype(int))) < 3


def test_a_stroke_grows_point_by_point_between_its_batches() -> None:
    """A slow stroke whose second batch reached the server 2 s after its first shows growing
    across those 2 s (as the class's browsers drew it, by each point's ``t``), not all at once
    when the batch is folded; each frame matches the server's own render of ``Moment.board()``."""
    from classroom.export import source as export_source
    from classroom.protocol import board as pb
    from testkit.lessons import TEACHER, LessonMaker

    maker = LessonMaker("slow1")
    page = maker.state.part("board").current
    points = [[300.0 + 24 * i, 500.0 + 40 * math.sin(i / 5), 0.5, 40.0 * i] for i in range(60)]
    start = {"stroke_id": "slow", "page_id": page, "tool": "pen", "color": "#112233",
             "width": 8.0, "points": points[:10]}  # fmt: skip
    maker.tick(100)
    maker._board(TEACHER, pb.StrokeStart.model_validate(start))
    started = maker.now
    maker.tick(2000)  # points 10..59 are drawn by t = 400..2360 ms; they come in one batch
    extend = {"stroke_id": "slow", "offset": 10, "points": points[10:]}
    maker._board(TEACHER, pb.StrokeExtend.model_validate(extend))
    maker.tick(200)
    maker._board(TEACHER, pb.StrokeEnd.model_validate({"stroke_id": "slow", "length": 60}))
    maker.tick(500)
    source = export_source.from_events(maker.events)
    fps, (width, height) = 25, SIZE
    frames = list(ef.frames(source, width=width, height=height, fps=fps))
    lay = ef.layout(width, height)
    background = board_of(frames[0], width, height).copy()

    def inked(frame: ef.Frame) -> int:
        board = board_of(frame, width, height).astype(np.int16)
        return int((np.abs(board - background).max(axis=2) > 48).sum())

    moments = [started + 300 + 400 * k for k in range(5)]  # all before the batch's clock
    counts = []
    for t in moments:
        index = (t - source.start_ms) * fps // 1000
        frame = frames[index]
        counts.append(inked(frame))
        moment = source.timeline.state_at(ef.frame_time(source, index, fps))
        assert moment.ink, "the moment has ink drawn ahead of its batch"
        image = render.render_image(
            moment.board(), moment.page_id, scale=lay.scale, supersample=ef.SUPERSAMPLE
        )
        expected = np.asarray(image, dtype=np.uint8)
        assert far_off(board_of(frame, width, height), expected) < 0.003, f"at {t}"
    assert all(a < b for a, b in itertools.pairwise(counts)), counts
    whole = inked(frames[-1])
    assert counts[0] < whole / 2 and counts[-1] < whole


def test_pictures_made_ahead_come_in_order_and_a_failure_or_a_stop_reaches_the_caller() -> None:
    import threading

    assert list(ef.ahead(iter(range(50)), depth=3)) == list(range(50))

    def failing() -> Any:
        yield 1
        raise OSError("disk gone")

    got = ef.ahead(failing())
    assert next(got) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(got)
    made: list[int] = []

    def endless() -> Any:
        n = 0
        while True:
            made.append(n)
            yield n
            n += 1

    stopped = ef.ahead(endless(), depth=2)
    assert next(stopped) == 0
    stopped.close()  # a cancel: the worker ends, nothing more is made
    assert not any(t.name == "export-frames" for t in threading.enumerate())
    assert len(made) <= 5
