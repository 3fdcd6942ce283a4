"""Scoring helpers shared by the benchmark and the tests (pure functions, no I/O)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from boardclient.geometry import BoolArray, FloatArray
from boardclient.rectify import rectify_homography


def _dilate(mask: BoolArray, radius: int) -> BoolArray:
    if radius <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return np.asarray(cv2.dilate(mask.astype(np.uint8), kernel), bool)


def ink_f1(
    found: BoolArray,
    truth: BoolArray,
    *,
    tolerance: int = 3,
    exclude: BoolArray | None = None,
) -> tuple[float, float, float]:
    """Precision, recall and F1 of an ink mask with a distance tolerance.

    Parameters
    ----------
    found, truth : (H, W) bool
        Ink masks on the same grid.
    tolerance : int
        A found pixel within this many pixels of true ink counts as right, and vice versa.
    exclude : (H, W) bool, optional
        Pixels left out of the score (hidden by a person, say).
    """
    if found.shape != truth.shape:
        raise ValueError(f"mask shapes differ: {found.shape} vs {truth.shape}")
    keep = np.ones(truth.shape, bool) if exclude is None else ~_dilate(exclude, tolerance)
    f, t = found & keep, truth & keep
    n_f, n_t = int(f.sum()), int(t.sum())
    if n_f == 0 and n_t == 0:
        return 1.0, 1.0, 1.0
    precision = float((f & _dilate(truth, tolerance)).sum()) / n_f if n_f else 1.0
    recall = float((t & _dilate(found, tolerance)).sum()) / n_t if n_t else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def to_truth_grid(
    found: npt.NDArray[np.generic],
    found_corners: FloatArray,
    truth_corners: FloatArray,
    truth_size: tuple[int, int],
) -> BoolArray:
    """Map a mask on a board rectified from ``found_corners`` onto the true board grid.

    Parameters
    ----------
    found : (h, w) bool or uint8
        Mask on the rectified board of size ``(w, h)``.
    found_corners, truth_corners : (4, 2) float32, TL, TR, BR, BL
        Image pixels of the quad used and of the true surface.
    truth_size : (int, int)
        ``(width, height)`` of the truth grid.
    """
    h, w = found.shape[:2]
    to_found = rectify_homography(found_corners, (w, h))
    to_truth = rectify_homography(truth_corners, truth_size)
    warp = to_truth @ np.linalg.inv(to_found)
    out = cv2.warpPerspective(
        found.astype(np.uint8),
        warp,
        truth_size,
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return np.asarray(out, bool)
