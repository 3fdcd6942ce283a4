from __future__ import annotations

import cv2
import numpy as np
import pytest

from boardclient.rectify import board_size, estimate_aspect, estimate_focal, rectify
from testkit.synth import make_board_photo


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_aspect_with_known_focal_matches_the_true_board(seed: int) -> None:
    photo = make_board_photo(seed, size=(640, 360), person=False)
    aspect = estimate_aspect(photo.corners, (640, 360), focal=photo.focal)
    assert aspect == pytest.approx(photo.aspect, rel=0.01)


def test_focal_is_recovered_when_both_vanishing_points_are_finite() -> None:
    found = []
    for seed in range(8):
        photo = make_board_photo(seed, size=(640, 360), person=False)
        f = estimate_focal(photo.corners, (640, 360))
        if f is not None:
            found.append(abs(f - photo.focal) / photo.focal)
    assert found, "expected some views with two finite vanishing points"
    assert np.median(found) < 0.05


def test_aspect_without_focal_is_close() -> None:
    errors = []
    for seed in range(8):
        photo = make_board_photo(seed, size=(640, 360), person=False)
        errors.append(abs(estimate_aspect(photo.corners, (640, 360)) / photo.aspect - 1))
    assert np.median(errors) < 0.08


def test_rectify_sends_quad_corners_to_output_corners() -> None:
    img = np.zeros((300, 400, 3), np.uint8)
    quad = np.array([[60, 40], [340, 70], [330, 260], [80, 230]], np.float32)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    for (x, y), c in zip(quad, colours, strict=True):
        cv2.circle(img, (int(x), int(y)), 6, c, -1)
    out = rectify(img, quad, (200, 100))
    assert out.shape == (100, 200, 3)
    for (x, y), c in zip([(1, 1), (198, 1), (198, 98), (1, 98)], colours, strict=True):
        np.testing.assert_array_equal(out[y, x], c)


def test_board_size_follows_aspect_and_caps_width() -> None:
    photo = make_board_photo(3, size=(640, 360), person=False)
    w, h = board_size(photo.corners, (640, 360), max_width=400, focal=photo.focal)
    assert w == 400
    assert w / h == pytest.approx(photo.aspect, rel=0.02)
