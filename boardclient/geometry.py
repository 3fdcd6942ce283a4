"""Quadrilateral helpers shared by detection, rectification and the benchmark.

One point order everywhere: corners are OpenCV ``(x, y)`` pixels in the order
top-left, top-right, bottom-right, bottom-left (TL, TR, BR, BL).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
F64Array = npt.NDArray[np.float64]
ImageArray = npt.NDArray[np.uint8]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Quad:
    """A board's writing surface in an image.

    Attributes
    ----------
    corners : (4, 2) float32
        TL, TR, BR, BL in OpenCV ``(x, y)`` pixel coordinates.
    confidence : float
        In ``[0, 1]``; how strongly the image supports this quad as the board.
    """

    corners: FloatArray
    confidence: float

    def scaled(self, factor: float) -> Quad:
        """Return the same quad for an image resized by ``factor``."""
        return Quad(scale_corners(self.corners, factor), self.confidence)


def as_corners(points: npt.ArrayLike) -> FloatArray:
    """Validate and convert ``points`` to a ``(4, 2) float32`` array.

    Raises
    ------
    ValueError
        If the input does not hold four finite 2-D points.
    """
    arr = np.asarray(points, dtype=np.float32)
    if arr.shape != (4, 2) or not np.all(np.isfinite(arr)):
        raise ValueError(f"expected four finite (x, y) corners, got shape {arr.shape}")
    return arr


def scale_corners(corners: FloatArray, factor: float) -> FloatArray:
    """Scale corners for an image resized by ``factor`` (pixel-centre convention).

    Parameters
    ----------
    corners : (4, 2) float32, TL, TR, BR, BL
    factor : float
        New size over old size.
    """
    # Pixel centres sit at integer coordinates, so edges sit at -0.5: scale about that.
    return ((corners + 0.5) * factor - 0.5).astype(np.float32)


def order_corners(points: npt.ArrayLike) -> FloatArray:
    """Order four points as TL, TR, BR, BL.

    Parameters
    ----------
    points : (4, 2) array_like of (x, y)

    Returns
    -------
    (4, 2) float32, TL, TR, BR, BL
    """
    pts = as_corners(points)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    # Image y points down, so increasing angle runs clockwise on screen: TL, TR, BR, BL.
    ring = pts[np.argsort(angles)]
    start = int(np.argmin(ring.sum(axis=1)))
    return np.roll(ring, -start, axis=0).astype(np.float32)


def quad_diagonal(corners: FloatArray) -> float:
    """Mean length of the two diagonals of a quad, in pixels."""
    d1 = float(np.linalg.norm(corners[2] - corners[0]))
    d2 = float(np.linalg.norm(corners[3] - corners[1]))
    return 0.5 * (d1 + d2)


def corner_errors(found: FloatArray, truth: FloatArray) -> F64Array:
    """Euclidean distance of each corner to its true position, shape ``(4,)``, pixels."""
    diff = found.astype(np.float64) - truth.astype(np.float64)
    return np.asarray(np.linalg.norm(diff, axis=1), np.float64)


def quad_area(corners: FloatArray) -> float:
    """Area of a simple quad in square pixels (shoelace formula)."""
    x = corners[:, 0].astype(np.float64)
    y = corners[:, 1].astype(np.float64)
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def is_convex(corners: FloatArray) -> bool:
    """Whether the quad (in TL, TR, BR, BL order) is strictly convex."""
    pts = corners.astype(np.float64)
    edges = np.roll(pts, -1, axis=0) - pts
    nxt = np.roll(edges, -1, axis=0)
    cross = edges[:, 0] * nxt[:, 1] - edges[:, 1] * nxt[:, 0]
    return bool(np.all(cross > 0) or np.all(cross < 0))


def quad_iou(a: FloatArray, b: FloatArray) -> float:
    """Intersection over union of two convex quads.

    Parameters
    ----------
    a, b : (4, 2) float32, TL, TR, BR, BL
    """
    area_a, area_b = quad_area(a), quad_area(b)
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(a.astype(np.float32), b.astype(np.float32))
    return float(inter / (area_a + area_b - inter))


def quad_mask(corners: FloatArray, shape: tuple[int, int]) -> BoolArray:
    """Rasterise a quad into a boolean mask of ``shape`` ``(height, width)``."""
    mask = np.zeros(shape, np.uint8)
    shift = 4
    pts = np.round((corners.astype(np.float64)) * (1 << shift)).astype(np.int32)
    cv2.fillConvexPoly(mask, pts, 1, lineType=cv2.LINE_8, shift=shift)
    return mask.astype(bool)
