from __future__ import annotations

import cv2
import numpy as np
import pytest

from boardclient.enhance import classify_board, enhance, extract_ink
from boardclient.evaluate import ink_f1

from .conftest import draw_board


def _uneven(img: np.ndarray, cast: tuple[float, float, float]) -> np.ndarray:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    light = 0.55 + 0.45 * (xx / w) + 0.1 * np.sin(yy / h * 3)
    glare = 70 * np.exp(-(((xx - 0.7 * w) / (0.1 * w)) ** 2 + ((yy - 0.4 * h) / (0.15 * h)) ** 2))
    out = img * light[:, :, None] * np.array(cast)[None, None, :] + glare[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def test_whiteboard_comes_out_white_and_even_with_its_ink() -> None:
    board, truth = draw_board((480, 240))
    lit = _uneven(board, (0.8, 0.95, 1.05))
    out = enhance(lit, "whiteboard")
    layer = extract_ink(lit, "whiteboard")
    background = out[~layer.mask]
    assert background.mean() > 245 and background.std() < 8
    assert ink_f1(layer.mask, truth, tolerance=2)[2] > 0.93
    # Ink stays dark.
    assert out[truth].mean() < 120


def test_chalkboard_mode_keeps_chalk_bright_on_an_even_dark_surface() -> None:
    board, truth = draw_board((480, 240), chalk=True)
    lit = _uneven(board, (1.0, 1.0, 0.9))
    layer = extract_ink(lit, "chalkboard")
    out = enhance(lit, "chalkboard")
    assert ink_f1(layer.mask, truth, tolerance=2)[2] > 0.93
    assert out[~layer.mask].std() < 8
    assert out[truth].mean() > out[~layer.mask].mean() + 100


@pytest.mark.parametrize("chalk", [False, True])
def test_classify_board(chalk: bool) -> None:
    board, _ = draw_board((400, 200), chalk=chalk, seed=3)
    assert classify_board(_uneven(board, (1, 1, 1))) == ("chalkboard" if chalk else "whiteboard")


def test_faint_ghosts_of_old_writing_are_not_ink() -> None:
    board = np.full((200, 400, 3), 238, np.uint8)
    cv2.line(board, (40, 150), (360, 160), (40, 30, 30), 3)
    ghost = board.astype(np.float32)
    ghost[50:60, 40:300] *= 0.94  # a 6 % smudge left by the eraser, not writing
    layer = extract_ink(ghost.astype(np.uint8), "whiteboard")
    assert layer.mask[48:62, 35:305].mean() < 0.01
    assert layer.mask[150:160, 100:300].any(axis=0).all()
