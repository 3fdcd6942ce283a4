from __future__ import annotations

import numpy as np
import pytest

from boardclient.detect import _skew, find_board_quad
from boardclient.geometry import corner_errors, quad_diagonal
from testkit.synth import make_board_photo

from .conftest import draw_board


@pytest.mark.parametrize(
    ("seed", "kind", "person"),
    [
        (20000, "whiteboard", True),
        (20008, "chalkboard", False),
        (20017, "whiteboard", False),
        (20013, "chalkboard", False),
        # A person in front, or a frame and tray, must not pull a side off the surface:
        (20002, "chalkboard", True),  # teacher in front of the left side, arm across the board
        (20108, "chalkboard", True),  # teacher in front of the right side
        (20109, "whiteboard", True),  # arm raised across the surface near the left side
        (20004, "chalkboard", False),  # wide frame and chalk tray below the surface
        (20014, "chalkboard", False),  # dark frame with little contrast to the surface
    ],
)
def test_finds_the_writing_surface_within_half_a_percent(
    seed: int, kind: str, person: bool
) -> None:
    photo = make_board_photo(seed)
    assert photo.kind == kind and bool(photo.hidden.any()) == person
    quad = find_board_quad(photo.image)
    assert quad is not None
    err = corner_errors(quad.corners, photo.corners).max()
    assert err <= 0.005 * quad_diagonal(photo.corners)
    assert 0.0 < quad.confidence <= 1.0


def test_corners_come_back_in_tl_tr_br_bl_order_for_a_plain_board_on_a_wall() -> None:
    wall = np.full((360, 640, 3), (190, 205, 215), np.uint8)
    board, _ = draw_board((400, 200))
    wall[90:290, 120:520] = board
    wall[84:296, 114:120] = wall[84:296, 520:526] = (150, 150, 150)
    wall[84:90, 114:526] = wall[290:296, 114:526] = (150, 150, 150)
    quad = find_board_quad(wall)
    assert quad is not None
    expected = np.array([[119.5, 89.5], [519.5, 89.5], [519.5, 289.5], [119.5, 289.5]])
    np.testing.assert_allclose(quad.corners, expected, atol=2.0)


def test_no_board_in_a_featureless_image() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(128, 3, (240, 320, 3)).clip(0, 255).astype(np.uint8)
    assert find_board_quad(noise) is None


def test_rejects_images_that_are_not_images() -> None:
    with pytest.raises(ValueError):
        find_board_quad(np.zeros((10, 10, 5), np.uint8))


@pytest.mark.parametrize(
    "seed",
    [
        20003,  # person's outline near the shaded left side; the top edge runs on past it
        20030,  # person's outline near the left side; the bottom edge runs on past it
    ],
)
def test_a_side_whose_neighbours_run_on_past_it_is_not_the_board_side(seed: int) -> None:
    photo = make_board_photo(seed)
    assert bool(photo.hidden.any())
    quad = find_board_quad(photo.image)
    assert quad is not None
    assert corner_errors(quad.corners, photo.corners).max() <= 0.02 * quad_diagonal(photo.corners)


def test_a_side_on_a_persons_outline_that_leaves_no_rectangle_is_not_the_board_side() -> None:
    # Seed 20101: the person hides half the tilted left side and their shirt's upright edge
    # runs on from it; a quad using that edge cannot be a rectangle under a plausible camera.
    photo = make_board_photo(20101)
    assert bool(photo.hidden.any())
    quad = find_board_quad(photo.image)
    assert quad is not None
    assert corner_errors(quad.corners, photo.corners).max() <= 0.02 * quad_diagonal(photo.corners)


def test_skew_is_near_zero_for_a_rectangle_in_perspective_and_large_for_a_kite() -> None:
    # A 2 x 1 rectangle turned 30 degrees about the vertical axis, seen with a focal length of
    # 0.8 image widths from 4 units away.
    w, h, f = 480.0, 270.0, 0.8 * 480.0
    angle = np.radians(30)
    xs = np.array([-1.0, 1.0, 1.0, -1.0])
    ys = np.array([-0.5, -0.5, 0.5, 0.5])
    x3, z3 = xs * np.cos(angle), 4.0 + xs * np.sin(angle)
    rect = np.column_stack([w / 2 + f * x3 / z3, h / 2 + f * ys / z3])[None]
    kite = np.array([[[100.0, 60.0], [380.0, 80.0], [400.0, 230.0], [130.0, 200.0]]])
    assert _skew(rect, (int(h), int(w)))[0] < 1e-3
    assert _skew(kite, (int(h), int(w)))[0] > 0.05
