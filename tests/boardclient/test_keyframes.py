from __future__ import annotations

import cv2
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


def test_writing_revealed_after_an_erase_is_kept_when_the_page_changes() -> None:
    # The teacher wipes the board, then writes a new block while standing in front of it: the
    # clean model keeps the old ink where they stood until they step away, and the new block
    # appears at that moment. That drop is not an erase, and the page change later must still
    # keep the new block.
    full, _ = draw_board((320, 160), seed=4)
    surface = full[0, 0].copy()
    blank = np.empty_like(full)
    blank[:] = surface
    boards = [full] * 10
    for k in range(1, 7):  # wiped up to the person, whose part of the board stays stale
        b = full.copy()
        b[:, : min(40 * k, 220)] = surface
        boards.append(b)
    new_block = blank.copy()
    for row in range(30, 130, 20):
        cv2.line(new_block, (230, row), (300, row + 6), (40, 30, 30), 3)
    boards += [new_block] * 12
    page, _ = draw_board((320, 160), seed=9)
    boards += [page] * 8
    detector = KeyframeDetector("whiteboard")
    times = []
    kept = []
    for i, b in enumerate(boards):
        if detector.update(b, i * 0.25) is Decision.KEYFRAME:
            times.append(i * 0.25)
            assert detector.peak is not None
            kept.append(detector.peak.ink)
            detector.restart()
    assert len(times) == 2
    assert 2.5 <= times[0] <= 4.5
    assert times[1] == 0.25 * (10 + 6 + 12)
    # The second keyframe is the new block, not the stale old board.
    assert kept[1][:, 230:300].sum() > 0.8 * kept[1].sum()
