"""Straighten the board: estimate its true aspect ratio and warp it to a fronto-parallel view."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from boardclient.geometry import F64Array, FloatArray, as_corners


def _unit_square_homography(corners: FloatArray, centre: tuple[float, float]) -> F64Array:
    """Homography from the unit square (TL, TR, BR, BL) to corners centred on ``centre``."""
    src = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    dst = (corners - np.array(centre, np.float32)).astype(np.float32)
    return np.asarray(cv2.getPerspectiveTransform(src, dst), np.float64)


def estimate_focal(corners: FloatArray, image_size: tuple[int, int]) -> float | None:
    """Focal length (pixels) implied by a rectangle's image, or None if it is ill-posed.

    A rectangle's two vanishing points must be orthogonal directions; with square pixels and
    the principal point at the image centre that fixes the focal length, unless one of the
    vanishing points is at infinity (a side pair parallel in the image).

    Parameters
    ----------
    corners : (4, 2) float32, TL, TR, BR, BL
    image_size : (int, int)
        ``(width, height)`` of the image.
    """
    w, h = image_size
    hom = _unit_square_homography(corners, (w / 2, h / 2))
    h1, h2 = hom[:, 0], hom[:, 1]
    denom = h1[2] * h2[2]
    # Nearly parallel sides carry no focal information: compare with the scale of the terms.
    scale = np.linalg.norm(h1[:2]) * np.linalg.norm(h2[:2]) / max(w, h) ** 2
    if abs(denom) < 0.02 * scale:
        return None
    f2 = -(h1[0] * h2[0] + h1[1] * h2[1]) / denom
    if not (f2 > 0 and math.isfinite(f2)):
        return None
    f = math.sqrt(f2)
    if not 0.3 * max(w, h) < f < 5.0 * max(w, h):
        return None
    return f


def estimate_aspect(
    corners: npt.ArrayLike, image_size: tuple[int, int], *, focal: float | None = None
) -> float:
    """True width / height of the rectangle seen as ``corners``.

    Uses a pinhole camera with square pixels and the principal point at the image centre.
    The focal length comes from ``focal`` if given, else from the quad itself when both
    vanishing points are finite, else from a typical classroom camera (about 65 degrees
    horizontal field of view).

    Parameters
    ----------
    corners : (4, 2) array_like, TL, TR, BR, BL, (x, y) pixels
    image_size : (int, int)
        ``(width, height)`` of the image.
    focal : float, optional
        Focal length in pixels, if known.

    Returns
    -------
    float
        Width over height of the board surface.
    """
    c = as_corners(corners)
    w, h = image_size
    f = focal or estimate_focal(c, image_size) or (max(w, h) / 2) / math.tan(math.radians(32.5))
    hom = _unit_square_homography(c, (w / 2, h / 2))
    kinv = np.diag([1 / f, 1 / f, 1.0])
    col1 = kinv @ hom[:, 0]
    col2 = kinv @ hom[:, 1]
    return float(np.linalg.norm(col1) / np.linalg.norm(col2))


def board_size(
    corners: npt.ArrayLike,
    image_size: tuple[int, int],
    *,
    max_width: int = 1600,
    focal: float | None = None,
) -> tuple[int, int]:
    """Output ``(width, height)`` for the rectified board at its true aspect ratio.

    The width follows the longer of the board's top and bottom edges in the image (no
    pointless upsampling), capped at ``max_width``.
    """
    c = as_corners(corners)
    aspect = estimate_aspect(c, image_size, focal=focal)
    top = float(np.linalg.norm(c[1] - c[0]))
    bottom = float(np.linalg.norm(c[2] - c[3]))
    left = float(np.linalg.norm(c[3] - c[0]))
    right = float(np.linalg.norm(c[2] - c[1]))
    width = max(top, bottom, max(left, right) * aspect)
    width = min(float(max_width), width)
    return max(8, round(width)), max(8, round(width / aspect))


def rectify_homography(corners: npt.ArrayLike, size: tuple[int, int]) -> F64Array:
    """Homography taking image pixels to rectified-board pixels.

    The quad's outer edges map to the outer edges of the ``(width, height)`` output, so pixel
    centres of the output sample the whole writing surface (OpenCV pixel-centre convention).
    """
    c = as_corners(corners)
    w, h = size
    dst = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]], np.float32)
    return np.asarray(cv2.getPerspectiveTransform(c, dst), np.float64)


def rectify(
    image: npt.NDArray[np.uint8], quad: npt.ArrayLike, size: tuple[int, int]
) -> npt.NDArray[np.uint8]:
    """Warp the board inside ``quad`` to a straight ``size`` image.

    Parameters
    ----------
    image : (H, W, 3) or (H, W) uint8
    quad : (4, 2) array_like, TL, TR, BR, BL, (x, y) pixels of ``image``
        Also accepts a :class:`~boardclient.geometry.Quad`.
    size : (int, int)
        Output ``(width, height)``; see :func:`board_size`.

    Returns
    -------
    (height, width, 3) or (height, width) uint8
    """
    corners = getattr(quad, "corners", quad)
    w, h = size
    if w <= 0 or h <= 0:
        raise ValueError(f"size must be positive, got {size}")
    hom = rectify_homography(corners, size)
    scale = math.sqrt(abs(np.linalg.det(hom[:2, :2])))
    # Shrinking a lot with plain bilinear sampling aliases thin strokes away: pre-blur.
    src = image
    if scale < 0.6:
        sigma = 0.5 / scale - 0.5
        src = np.asarray(cv2.GaussianBlur(image, (0, 0), sigma), np.uint8)
    out = cv2.warpPerspective(
        src, hom, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(out, np.uint8)
