"""Board capture: find, straighten, clean and record the classroom board seen by a camera.

The algorithms are pure functions over numpy arrays (:mod:`boardclient.detect`,
:mod:`boardclient.rectify`, :mod:`boardclient.enhance`, :mod:`boardclient.occlusion`,
:mod:`boardclient.keyframes`); :mod:`boardclient.pipeline` strings them together frame by frame,
and :mod:`boardclient.record` / :mod:`boardclient.cli` do the I/O.
"""

from __future__ import annotations

from boardclient.detect import find_board_quad
from boardclient.enhance import classify_board, enhance
from boardclient.geometry import Quad
from boardclient.pipeline import BoardPipeline, FrameResult, Keyframe
from boardclient.rectify import board_size, estimate_aspect, rectify

__all__ = [
    "BoardPipeline",
    "FrameResult",
    "Keyframe",
    "Quad",
    "board_size",
    "classify_board",
    "enhance",
    "estimate_aspect",
    "find_board_quad",
    "rectify",
]
