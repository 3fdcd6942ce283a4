"""Shared synthetic scenes for the boardclient tests (seeded, so every run sees the same)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from boardclient.geometry import ImageArray


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    cv2.setNumThreads(1)


def draw_board(
    size: tuple[int, int] = (480, 240), *, chalk: bool = False, seed: int = 0
) -> tuple[ImageArray, np.ndarray]:
    """A straight board with a few strokes; returns the image and its ink mask."""
    rng = np.random.default_rng(seed)
    w, h = size
    surface = (55, 85, 50) if chalk else (240, 242, 238)
    ink_colour = (235, 235, 235) if chalk else (40, 30, 30)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = surface
    mask = np.zeros((h, w), np.uint8)
    for _ in range(12):
        pts = rng.uniform([20, 20], [w - 20, h - 20], (4, 2)).astype(np.int32)
        cv2.polylines(img, [pts], False, ink_colour, 3)
        cv2.polylines(mask, [pts], False, 1, 3)
    return img, mask.astype(bool)
