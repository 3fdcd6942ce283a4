from __future__ import annotations

import numpy as np

from boardclient.keyframes import Decision, KeyframeDetector

from .conftest import draw_board


def _run(detector: KeyframeDetector, boards: list[np.ndarray], dt: float = 0.25) -> list[float]:
    times = []
    for i, b in enumerate(boards):
        if detector.update(b, i * dt) is Decision.KEYFRAME:
            times.append(i * dt)
            detector.restart()
    return times


def test_an_erase_gives_one_keyframe_and_the_wiping_after_it_no_more() -> None:
    full, _ = draw_board((320, 160), seed=4)
    blank = np.full_like(full, 240)
    blank[:] = full[0, 0]
    boards = [full] * 10
    # Wipe left to right over 2 s.
    for k in range(1, 9):
        b = full.copy()
        b[:, : 40 * k] = full[0, 0]
        boards.append(b)
    boards += [blank] * 8
    times = _run(KeyframeDetector("whiteboard"), boards)
    assert len(times) == 1
    assert 2.5 <= times[0] <= 4.5


def test_small_corrections_and_flicker_are_not_keyframes() -> None:
    full, _ = draw_board((320, 160), seed=5)
    corrected = full.copy()
    corrected[60:80, 100:130] = full[0, 0]
    rng = np.random.default_rng(0)
    boards = []
    for i in range(40):
        b = full if i < 20 else corrected
        boards.append(np.clip(b * rng.uniform(0.9, 1.1), 0, 255).astype(np.uint8))
    assert _run(KeyframeDetector("whiteboard"), boards) == []


def test_a_page_change_is_a_keyframe() -> None:
    a, _ = draw_board((320, 160), seed=6)
    b, _ = draw_board((320, 160), seed=7)
    times = _run(KeyframeDetector("whiteboard"), [a] * 8 + [b] * 8)
    assert times == [2.0]
