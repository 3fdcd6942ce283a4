from __future__ import annotations

import itertools

import numpy as np
import pytest

from boardclient.geometry import order_corners, quad_iou, scale_corners

SQUARE = np.array([[10, 20], [110, 25], [105, 90], [12, 85]], np.float32)


@pytest.mark.parametrize("perm", list(itertools.permutations(range(4))))
def test_order_corners_gives_tl_tr_br_bl_whatever_the_input_order(perm: tuple[int, ...]) -> None:
    np.testing.assert_array_equal(order_corners(SQUARE[list(perm)]), SQUARE)


def test_order_corners_rejects_wrong_shapes() -> None:
    with pytest.raises(ValueError):
        order_corners(np.zeros((3, 2)))


def test_iou_is_one_for_the_same_quad_and_drops_with_a_shift() -> None:
    assert quad_iou(SQUARE, SQUARE) == pytest.approx(1.0)
    shifted = SQUARE + np.array([50, 0], np.float32)
    assert 0.2 < quad_iou(SQUARE, shifted) < 0.6


def test_scaling_corners_keeps_pixel_edges_aligned() -> None:
    # The image edge (-0.5) stays the image edge at any scale.
    edge = np.full((4, 2), -0.5, np.float32)
    np.testing.assert_allclose(scale_corners(edge, 0.25), edge)
