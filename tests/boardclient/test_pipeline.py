from __future__ import annotations

import numpy as np

from boardclient.pipeline import BoardPipeline
from testkit.synth import make_board_video


def test_pipeline_keeps_the_board_before_the_erase_and_the_page_change() -> None:
    video = make_board_video(3, size=(640, 360), fps=4)
    pipe = BoardPipeline()
    keyframes = []
    changed = 0
    for t, frame in video.frames():
        result = pipe.process(frame, t)
        keyframes += [k for k in result.keyframes if k.reason == "removed"]
        changed += result.snapshot_changed
    truth = [e.t for e in video.events]
    assert pipe.kind == video.scene.kind
    assert len(keyframes) == len(truth)
    for k, t in zip(keyframes, truth, strict=True):
        assert abs(k.t - t) <= 2.0
        assert k.board.shape[2] == 3
    assert changed >= 2
    enhanced = pipe.enhanced()
    assert enhanced is not None and enhanced.dtype == np.uint8
    assert [k.reason for k in pipe.finish()] == ["end"]
