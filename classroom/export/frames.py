"""The programme's pictures: the board as the class saw it, one frame every ``1/fps`` s.

Frame ``i`` shows the lesson at ``source.start_ms + i * 1000 / fps`` (every event whose clock is
at or before it). This first version redraws the whole page whenever an event changed the
state (``classroom.render.render_image``); it is the reference the incremental renderer is
checked against.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from classroom import render
from classroom.export.source import LessonSource

Frame = np.ndarray[Any, np.dtype[np.uint8]]  # (height, width, 3) RGB


def frame_count(source: LessonSource, fps: int) -> int:
    """Frames in the programme: its duration in whole frames (at least one)."""
    return max(1, math.ceil(source.duration_ms * fps / 1000))


def frame_time(source: LessonSource, index: int, fps: int) -> int:
    """The lesson clock (ms) frame ``index`` shows."""
    return source.start_ms + (index * 1000) // fps


def frames(
    source: LessonSource, *, width: int = 1920, height: int = 1080, fps: int = 25
) -> Iterator[Frame]:
    """Yield every frame of the programme as an RGB array, in order."""
    line = source.timeline
    last_index = -1
    picture: Frame | None = None
    for i in range(frame_count(source, fps)):
        index = line.index_at(frame_time(source, i, fps))
        if picture is None or index != last_index:
            moment = line.state_at(frame_time(source, i, fps))
            board = moment.state.part("board")
            image = render.render_image(
                board, moment.page_id, scale=width / 1920, supersample=1
            ).resize((width, height))
            picture = np.asarray(image, dtype=np.uint8)
            last_index = index
        yield picture
