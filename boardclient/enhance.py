"""Clean a rectified board into crisp ink on an even background.

Whiteboards: the surface is divided out (which evens the light and removes colour casts),
soft glare is treated as added light and subtracted, and ink is kept by hysteresis so faint
ghosts of old writing and camera noise drop out. Chalkboards have their own mode: chalk is
brighter than the surface, the surface keeps a dark even colour and chalk dust smudges go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from boardclient.geometry import BoolArray, FloatArray, ImageArray

BoardKind = Literal["whiteboard", "chalkboard"]

CHALKBOARD_BACKGROUND = (42, 56, 40)  # BGR: an even slate green


@dataclass(frozen=True)
class InkLayer:
    """The ink found on a rectified board.

    Attributes
    ----------
    alpha : (H, W) float32
        Ink coverage in ``[0, 1]``.
    colour : (H, W, 3) float32
        Ink colour (BGR, 0-255) where ``alpha > 0``.
    mask : (H, W) bool
        Pixels counted as ink.
    kind : {"whiteboard", "chalkboard"}
    """

    alpha: FloatArray
    colour: FloatArray
    mask: BoolArray
    kind: BoardKind


def _check_board(board: npt.NDArray[np.generic]) -> ImageArray:
    if board.ndim != 3 or board.shape[2] != 3 or board.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 BGR board, got {board.shape} {board.dtype}")
    if min(board.shape[:2]) < 8:
        raise ValueError(f"board too small: {board.shape[:2]}")
    return np.asarray(board, np.uint8)


def _stroke_scale(shape: tuple[int, ...]) -> int:
    """Downscale factor for background estimation (strokes shrink below a pixel or two)."""
    return max(1, min(shape[0], shape[1]) // 120)


def classify_board(board: npt.NDArray[np.generic]) -> BoardKind:
    """Tell a whiteboard from a chalkboard.

    Thin strokes darker than their surroundings mean marker on a whiteboard; brighter ones
    mean chalk. An empty board falls back to how bright and how coloured the surface is.

    Parameters
    ----------
    board : (H, W, 3) uint8, BGR
        A rectified board (or any image of mostly board surface).

    Returns
    -------
    {"whiteboard", "chalkboard"}
    """
    img = _check_board(board)
    h, w = img.shape[:2]
    scale = 320 / max(h, w)
    small = cv2.resize(
        img, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    bright = cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, kernel)
    dark = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, kernel)
    n_bright = int(np.count_nonzero(bright > 30))
    n_dark = int(np.count_nonzero(dark > 30))
    level = float(np.median(grey))
    enough = 0.002 * grey.size
    if max(n_bright, n_dark) > enough:
        if n_bright > 1.5 * n_dark:
            return "chalkboard"
        if n_dark > 1.5 * n_bright:
            return "whiteboard"
    return "chalkboard" if level < 110 else "whiteboard"


def _background(img: FloatArray, factor: int, op: int, size: int) -> FloatArray:
    """Surface estimate: a grey-level close (dark ink) or open (chalk) on a reduced copy."""
    h, w = img.shape[:2]
    small = cv2.resize(
        img, (max(4, w // factor), max(4, h // factor)), interpolation=cv2.INTER_AREA
    )
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    bg = cv2.morphologyEx(small, op, kernel)
    bg = cv2.GaussianBlur(bg, (0, 0), size / 2)
    return np.asarray(cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def _hysteresis(strength: FloatArray, low: float, high: float) -> BoolArray:
    weak = (strength > low).astype(np.uint8)
    n, labels = cv2.connectedComponents(weak, connectivity=8)
    if n <= 1:
        return np.zeros(strength.shape, bool)
    strong_labels = np.unique(labels[strength > high])
    keep = np.zeros(n, bool)
    keep[strong_labels] = True
    keep[0] = False
    return np.asarray(keep[labels], bool)


def _glare(bg_lum: FloatArray) -> FloatArray:
    """Additive glare: how far the surface rises above a smooth (quadratic) light falloff."""
    h, w = bg_lum.shape
    gh, gw = 24, max(4, round(24 * w / h))
    grid = cv2.resize(bg_lum, (gw, gh), interpolation=cv2.INTER_AREA).astype(np.float64)
    yy, xx = np.mgrid[0:gh, 0:gw]
    u, v = xx.ravel() / gw - 0.5, yy.ravel() / gh - 0.5
    design = np.column_stack([np.ones_like(u), u, v, u * v, u * u, v * v])
    vals = grid.ravel()
    weights = np.ones_like(vals)
    fit = vals
    for _ in range(4):
        coef, *_ = np.linalg.lstsq(design * weights[:, None], vals * weights, rcond=None)
        fit = design @ coef
        resid = vals - fit
        spread = 1.4826 * float(np.median(np.abs(resid))) + 1.0
        weights = (resid < 2.0 * spread).astype(np.float64)
    excess = np.clip(vals - fit, 0, None).reshape(gh, gw).astype(np.float32)
    excess[excess < 8] = 0
    full = cv2.resize(excess, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.asarray(np.clip(full, 0, None), np.float32)


def ink_strength(board: npt.NDArray[np.generic], kind: BoardKind) -> tuple[FloatArray, FloatArray]:
    """Per-pixel ink strength and the surface-normalised image.

    Parameters
    ----------
    board : (H, W, 3) uint8, BGR
    kind : {"whiteboard", "chalkboard"}

    Returns
    -------
    strength : (H, W) float32
        About 0 on bare surface, towards 1 on solid ink or chalk.
    normalised : (H, W, 3) float32
        Whiteboard: the board divided by its surface (1 = surface). Chalkboard: the board
        minus its surface (0 = surface).
    """
    img = _check_board(board).astype(np.float32)
    factor = _stroke_scale(img.shape)
    if kind == "whiteboard":
        bg = _background(img, factor, cv2.MORPH_CLOSE, 7)
        glare = _glare(bg.mean(axis=2))
        glare = np.minimum(glare, 0.6 * bg.min(axis=2))[:, :, None]
        norm = np.clip((img - glare) / np.maximum(bg - glare, 8.0), 0.0, 1.2)
        return (1.0 - norm.min(axis=2)).astype(np.float32), norm.astype(np.float32)
    bg = _background(img, factor, cv2.MORPH_OPEN, 7)
    diff = img - bg
    strength = diff.mean(axis=2) / np.maximum(255.0 - bg.mean(axis=2), 60.0)
    return strength.astype(np.float32), diff.astype(np.float32)


def extract_ink(board: npt.NDArray[np.generic], kind: BoardKind | None = None) -> InkLayer:
    """Find the ink on a rectified board.

    Parameters
    ----------
    board : (H, W, 3) uint8, BGR
    kind : {"whiteboard", "chalkboard"} or None
        None detects it with :func:`classify_board`.

    Returns
    -------
    InkLayer
    """
    img8 = _check_board(board)
    kind = kind or classify_board(img8)
    strength, norm = ink_strength(img8, kind)
    if kind == "whiteboard":
        mask = _hysteresis(strength, 0.16, 0.3)
        alpha = np.clip((strength - 0.1) / 0.3, 0.0, 1.0) * mask
        # Saturate and darken the ink colour so it reads crisply on white.
        ink = np.clip(norm, 0, 1)
        mean = ink.mean(axis=2, keepdims=True)
        colour = np.clip((mean + 1.8 * (ink - mean)) * 0.75, 0, 1) * 255
    else:
        mask = _hysteresis(strength, 0.14, 0.26)
        alpha = np.clip((strength - 0.08) / 0.3, 0.0, 1.0) * mask
        chalk = np.clip(norm, 0, None)
        # Chalk colour: its hue from the difference to the surface, lifted to full brightness.
        tint = chalk / (chalk.max(axis=2, keepdims=True) + 1e-3)
        tint_mean = tint.mean(axis=2, keepdims=True)
        colour = np.clip(tint_mean + 1.6 * (tint - tint_mean), 0, 1) * 245
    return InkLayer(alpha.astype(np.float32), colour.astype(np.float32), mask, kind)


def render_ink(layer: InkLayer, *, background: tuple[int, int, int] | None = None) -> ImageArray:
    """Draw an ink layer on an even background.

    Returns
    -------
    (H, W, 3) uint8, BGR
    """
    if background is None:
        background = (255, 255, 255) if layer.kind == "whiteboard" else CHALKBOARD_BACKGROUND
    a = layer.alpha[:, :, None]
    base = np.array(background, np.float32)[None, None, :]
    out = base * (1 - a) + layer.colour * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def enhance(board: npt.NDArray[np.generic], kind: BoardKind | None = None) -> ImageArray:
    """Clean a rectified board: even background, crisp saturated ink, glare suppressed.

    Parameters
    ----------
    board : (H, W, 3) uint8, BGR
        The rectified board (see :func:`boardclient.rectify.rectify`).
    kind : {"whiteboard", "chalkboard"} or None
        None detects it. Whiteboards come out white with saturated ink; chalkboards come out
        on an even slate with bright chalk.

    Returns
    -------
    (H, W, 3) uint8, BGR
    """
    return render_ink(extract_ink(board, kind))
