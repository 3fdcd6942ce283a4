from __future__ import annotations

import cv2
import numpy as np

from boardclient.occlusion import BoardModel

from .conftest import draw_board


def _with_person(board: np.ndarray, x: int, sway: int = 0) -> np.ndarray:
    out = board.copy()
    h = out.shape[0]
    cv2.ellipse(out, (x + sway, h // 3), (9, 12), 0, 0, 360, (60, 90, 140), -1)
    cv2.rectangle(out, (x - 22 + sway, h // 3 + 12), (x + 22 + sway, h), (40, 40, 150), -1)
    return out


def test_a_person_standing_still_never_enters_the_clean_board() -> None:
    board, _ = draw_board((320, 160))
    model = BoardModel()
    t = 0.0
    for _ in range(10):
        model.update(board, t)
        t += 0.1
    for x in range(20, 160, 10):  # walks in
        model.update(_with_person(board, x), t)
        t += 0.1
    for i in range(60):  # stands for 6 s, swaying a pixel
        step = model.update(_with_person(board, 160, sway=i % 2), t)
        t += 0.1
    diff = np.abs(step.clean.astype(int) - board.astype(int)).max(axis=2)
    assert (diff > 25).mean() < 0.002
    assert step.foreground[board.shape[0] // 2, 160]


def test_new_writing_appears_once_it_is_uncovered_and_still() -> None:
    board, _ = draw_board((320, 160))
    model = BoardModel()
    for i in range(5):
        model.update(board, i * 0.1)
    written = board.copy()
    cv2.line(written, (40, 80), (120, 90), (30, 30, 30), 2)
    t = 0.5
    for _ in range(12):
        step = model.update(written, t)
        t += 0.1
    assert step.clean[85, 80].mean() < 120


def test_exposure_flicker_is_not_foreground() -> None:
    board, _ = draw_board((320, 160))
    model = BoardModel()
    rng = np.random.default_rng(2)
    step = model.update(board, 0.0)
    for i in range(1, 40):
        gain = 1 + rng.uniform(-0.1, 0.1)
        flicker = np.clip(board * gain, 0, 255).astype(np.uint8)
        step = model.update(flicker, i * 0.1)
        assert step.foreground.mean() < 0.01
