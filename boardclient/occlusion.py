"""Keep the last clean view of every part of the board while people stand in front of it.

The model is a rectified, working-resolution image of the board. Each frame is compared with
it: large solid blobs that differ (a person, their shadow) or that move are foreground and
never enter the model; thin differences (new writing, erased strokes) enter it once they have
been still for a moment. Writing is thin and people are not, which is what lets a person who
stands still for many seconds stay out of the model. A blob that shows no motion at all for
``still_limit`` seconds is taken to be a real change (a poster pinned to the board) and
accepted. Exposure changes are undone with a global gain before comparing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from boardclient.geometry import BoolArray, FloatArray, ImageArray


@dataclass(frozen=True)
class OcclusionParams:
    """Tuning for :class:`BoardModel`; distances are working-resolution pixels.

    Attributes
    ----------
    blob_threshold : float
        Colour difference (0-255) from the model that marks a pixel as changed.
    motion_threshold : float
        Frame-to-frame difference that marks a pixel as moving.
    blob_size : int
        Changes thinner than this are writing, not a person.
    margin : int
        Foreground is grown by this much (soft edges, blur).
    settle : float
        Seconds a pixel must stay clear and still before the model takes it.
    absorb_time : float
        Time constant (s) of the model's running average on settled pixels.
    still_limit : float
        A foreground blob with no motion for this long is accepted into the model.
    """

    blob_threshold: float = 26.0
    motion_threshold: float = 18.0
    blob_size: int = 7
    margin: int = 3
    settle: float = 0.4
    absorb_time: float = 0.12
    still_limit: float = 12.0


@dataclass(frozen=True)
class ModelStep:
    """What one frame did to the model.

    Attributes
    ----------
    clean : (h, w, 3) uint8
        The board with foreground removed (the model itself; do not modify).
    foreground : (h, w) bool
        Pixels hidden by people or moving things in this frame.
    settled : (h, w) bool
        Pixels clear and still long enough to be trusted in this frame.
    changed : int
        Settled pixels whose content changed noticeably (new ink, erased ink).
    gain : float
        Exposure gain applied to the frame to match the model.
    """

    clean: ImageArray
    foreground: BoolArray
    settled: BoolArray
    changed: int
    gain: float


class BoardModel:
    """Clean-board model fed one rectified working-resolution frame at a time.

    Parameters
    ----------
    params : OcclusionParams, optional
    """

    def __init__(self, params: OcclusionParams | None = None) -> None:
        self.params = params or OcclusionParams()
        self._model: FloatArray | None = None
        self._prev: FloatArray | None = None
        self._last_busy: FloatArray | None = None
        self._last_motion: FloatArray | None = None
        self._foreground: BoolArray | None = None
        self._t: float = 0.0
        self._surface_cache: FloatArray | None = None
        self._surface_until = -math.inf
        p = self.params
        self._k_blob = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (p.blob_size, p.blob_size))
        self._k_close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))
        self._k_margin = cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * p.margin + 1, 2 * p.margin + 1)
        )

    @property
    def clean(self) -> ImageArray | None:
        """The current clean board, (h, w, 3) uint8, or None before the first frame."""
        if self._model is None:
            return None
        return np.asarray(np.clip(self._model + 0.5, 0, 255), np.uint8)

    def reset(self) -> None:
        """Forget everything (the board moved)."""
        self._model = None

    def update(self, board: ImageArray, t: float) -> ModelStep:
        """Feed one rectified frame.

        Parameters
        ----------
        board : (h, w, 3) uint8, BGR
            The frame warped to the board at working resolution.
        t : float
            Its timestamp in seconds (increasing).

        Returns
        -------
        ModelStep
        """
        if board.ndim != 3 or board.shape[2] != 3:
            raise ValueError(f"expected an (h, w, 3) board, got {board.shape}")
        frame = board.astype(np.float32)
        _h, _w = frame.shape[:2]
        if self._model is None or self._model.shape != frame.shape:
            return self._start(frame, t)
        p = self.params
        model = self._model
        dt = max(t - self._t, 1e-3)
        self._t = t
        gain = self._gain(frame)
        if gain != 1.0:
            frame *= gain
        diff = np.abs(frame - model).max(axis=2)
        prev = self._prev if self._prev is not None else frame
        motion = np.abs(frame - prev).max(axis=2) > p.motion_threshold
        self._prev = frame
        # Where the frame shows bare surface (an erased patch), a change is not a person.
        surface = self._surface()
        bare = np.abs(frame - surface).max(axis=2) < 0.08 * surface.mean(axis=2) + 8.0
        changed_px = ((diff > p.blob_threshold) & ~bare).astype(np.uint8)
        blobs = np.asarray(cv2.morphologyEx(changed_px, cv2.MORPH_OPEN, self._k_blob), np.uint8)
        moving = np.asarray(
            cv2.morphologyEx(motion.astype(np.uint8), cv2.MORPH_OPEN, self._k_blob), np.uint8
        )
        fg = np.asarray(cv2.morphologyEx(blobs | moving, cv2.MORPH_CLOSE, self._k_close), np.uint8)
        last_motion = self._last_motion
        last_busy = self._last_busy
        if last_motion is None or last_busy is None:
            return self._start(frame, t)
        last_motion[motion] = t
        if fg.any():
            fg = self._accept_still_blobs(fg, last_motion, t)
        fg = np.asarray(cv2.dilate(fg, self._k_margin), np.uint8)
        foreground = fg.astype(bool)
        last_busy[foreground | motion] = t
        settled = (t - last_busy) >= p.settle
        alpha = 1.0 - math.exp(-dt / p.absorb_time)
        delta = frame - model
        upd = settled[:, :, None]
        model += np.where(upd, alpha * delta, 0.0).astype(np.float32)
        changed = int(np.count_nonzero(settled & (diff > 12.0)))
        self._foreground = foreground
        return ModelStep(self.clean_view(), foreground, settled, changed, gain)

    def clean_view(self) -> ImageArray:
        """The model as uint8 (h, w, 3)."""
        if self._model is None:
            raise ValueError("no frame seen yet")
        return np.asarray(np.clip(self._model + 0.5, 0, 255), np.uint8)

    def _start(self, frame: FloatArray, t: float) -> ModelStep:
        h, w = frame.shape[:2]
        self._model = frame.copy()
        self._surface_cache = None
        self._prev = frame
        self._t = t
        self._last_busy = np.full((h, w), t, np.float32)
        self._last_motion = np.full((h, w), t, np.float32)
        self._foreground = np.zeros((h, w), bool)
        none = np.zeros((h, w), bool)
        return ModelStep(self.clean_view(), none, none, 0, 1.0)

    def _surface(self) -> FloatArray:
        """Smooth estimate of the bare board surface under the model (cached for a while)."""
        if self._model is None:
            raise ValueError("no frame seen yet")
        if self._surface_cache is None or self._t >= self._surface_until:
            model = self._model
            h, w = model.shape[:2]
            small = cv2.resize(
                model, (max(4, w // 4), max(4, h // 4)), interpolation=cv2.INTER_AREA
            )
            kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
            # The surface is the majority: a median ignores both dark ink and bright chalk.
            med = cv2.medianBlur(np.clip(small, 0, 255).astype(np.uint8), 5)
            med = cv2.morphologyEx(
                med, cv2.MORPH_CLOSE if self._bright_surface() else cv2.MORPH_OPEN, kernel
            )
            self._surface_cache = np.asarray(
                cv2.resize(med.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR),
                np.float32,
            )
            self._surface_until = self._t + 0.5
        return self._surface_cache

    def _bright_surface(self) -> bool:
        return self._model is not None and float(np.median(self._model[::4, ::4])) > 110

    def _gain(self, frame: FloatArray) -> float:
        """Global exposure ratio model / frame, measured on the visible board."""
        if self._model is None:
            return 1.0
        ref = self._model[::3, ::3].sum(axis=2)
        cur = frame[::3, ::3].sum(axis=2)
        valid = np.ones(ref.shape, bool)
        if self._foreground is not None:
            valid &= ~self._foreground[::3, ::3]
        valid &= cur > 15
        if np.count_nonzero(valid) < 0.1 * valid.size:
            return 1.0
        ratio = ref[valid] / cur[valid]
        gain = float(np.median(ratio))
        if not 0.5 < gain < 2.0 or abs(gain - 1.0) < 0.003:
            return 1.0
        return gain

    def _accept_still_blobs(self, fg: ImageArray, last_motion: FloatArray, t: float) -> ImageArray:
        """Drop foreground blobs in which nothing has moved for ``still_limit`` seconds."""
        n, labels = cv2.connectedComponents(fg, connectivity=8)
        if n <= 1:
            return fg
        recent = (t - last_motion) < self.params.still_limit
        alive = np.zeros(n, bool)
        alive[np.unique(labels[recent & (labels > 0)])] = True
        alive[0] = False
        return np.asarray(alive[labels], np.uint8)
