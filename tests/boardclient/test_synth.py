from __future__ import annotations

import numpy as np

from testkit.synth import BoardScene, make_board_photo, make_board_video


def test_photos_are_reproducible_from_their_seed() -> None:
    a, b = make_board_photo(5, size=(320, 180)), make_board_photo(5, size=(320, 180))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.corners, b.corners)


def test_board_lies_inside_the_frame_and_has_ink() -> None:
    for seed in range(4):
        photo = make_board_photo(seed, size=(640, 360))
        assert photo.image.shape == (360, 640, 3)
        assert np.all(photo.corners[:, 0] > 0) and np.all(photo.corners[:, 0] < 640)
        assert np.all(photo.corners[:, 1] > 0) and np.all(photo.corners[:, 1] < 360)
        assert photo.ink.mean() > 0.002


def test_video_truth_has_an_erase_and_a_page_change_in_order() -> None:
    video = make_board_video(1, size=(320, 180), fps=2)
    kinds = [e.kind for e in video.events]
    assert kinds == ["erase", "page"]
    assert 0 < video.events[0].t < video.events[1].t < video.duration
    # Before the page change the board has ink; right after, the old ink is gone.
    t_page = video.events[1].t
    before = video.scene.ink_mask(t_page - 0.01)
    after = video.scene.ink_mask(t_page + 0.01)
    assert before.any() and after.any()
    assert (before & after).sum() < 0.5 * before.sum()


def test_the_whole_board_is_in_view_even_when_the_asked_size_does_not_fit() -> None:
    # Steep views of wide boards used to end the framing search on a view that cut the board
    # off (corners outside the image, which no detector can measure).
    for seed in range(20_000, 20_040):
        corners = BoardScene(seed).corners
        assert np.all(corners >= 0) and np.all(corners <= [1279, 719])
