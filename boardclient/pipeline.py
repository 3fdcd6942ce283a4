"""Frame-by-frame board capture: camera frame in, clean rectified board and keyframes out.

Per frame the work stays small: the frame is warped straight to a working-resolution board
(about 320 px wide) for the occlusion model and the keyframe logic. The quad is found once and
then only re-checked now and then (the camera is fixed; a cheap edge test notices a bump).
The full-resolution clean board is refreshed a few times a second, only where the working
model has settled, and enhanced only when somebody asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from boardclient.detect import edge_support, find_board_quad
from boardclient.enhance import BoardKind, classify_board, enhance
from boardclient.geometry import F64Array, ImageArray, Quad, as_corners
from boardclient.keyframes import Decision, KeyframeDetector, KeyframeParams
from boardclient.occlusion import BoardModel, OcclusionParams
from boardclient.rectify import board_size, rectify_homography

KeyframeReason = Literal["removed", "end"]


@dataclass(frozen=True)
class Keyframe:
    """A board worth keeping.

    Attributes
    ----------
    t : float
        Time (s) of the board state kept: the last moment before its ink started going.
    detected_at : float
        Time (s) of the frame on which the removal was noticed.
    board : (H, W, 3) uint8
        The clean rectified board (not yet enhanced; see :meth:`BoardPipeline.enhanced`).
    reason : {"removed", "end"}
        Ink was removed (erase, page change), or the recording ended.
    """

    t: float
    detected_at: float
    board: ImageArray
    reason: KeyframeReason


@dataclass(frozen=True)
class FrameResult:
    """What one frame produced.

    Attributes
    ----------
    t : float
    has_board : bool
        Whether a board is being tracked.
    snapshot_changed : bool
        The clean board's ink changed noticeably since the last time this was True.
    keyframes : tuple of Keyframe
    hidden : float
        Share of the board hidden by people in this frame.
    """

    t: float
    has_board: bool
    snapshot_changed: bool = False
    keyframes: tuple[Keyframe, ...] = ()
    hidden: float = 0.0


@dataclass(frozen=True)
class PipelineSettings:
    """Knobs for :class:`BoardPipeline`.

    Attributes
    ----------
    work_width : int
        Working board width (px) for occlusion and keyframes.
    out_width : int
        Largest width (px) of the clean board output.
    check_every : float
        Seconds between keyframe checks and full-resolution refreshes.
    verify_every : float
        Seconds between checks that the board is still where it was.
    retry_every : float
        Seconds between detection attempts while no board is known.
    focal : float or None
        Camera focal length in pixels, if known (better aspect ratio).
    """

    work_width: int = 320
    out_width: int = 1280
    check_every: float = 0.25
    verify_every: float = 5.0
    retry_every: float = 0.5
    focal: float | None = None
    occlusion: OcclusionParams = field(default_factory=OcclusionParams)
    keyframes: KeyframeParams = field(default_factory=KeyframeParams)


class BoardPipeline:
    """Turn camera frames into a clean board, change flags and keyframes.

    Parameters
    ----------
    settings : PipelineSettings, optional
    quad : Quad or (4, 2) array_like, optional
        A known board position (TL, TR, BR, BL image pixels); otherwise it is detected.
    kind : {"whiteboard", "chalkboard"}, optional
        Otherwise detected on the first board view.
    """

    def __init__(
        self,
        settings: PipelineSettings | None = None,
        *,
        quad: Quad | np.ndarray | None = None,
        kind: BoardKind | None = None,
    ) -> None:
        self.settings = settings or PipelineSettings()
        self.quad: Quad | None = None
        if quad is not None:
            corners = quad.corners if isinstance(quad, Quad) else as_corners(quad)
            self.quad = Quad(corners, quad.confidence if isinstance(quad, Quad) else 1.0)
        self.kind: BoardKind | None = kind
        self._fixed_kind = kind is not None
        self._model = BoardModel(self.settings.occlusion)
        self._detector: KeyframeDetector | None = None
        self._work_h: F64Array | None = None
        self._full_h: F64Array | None = None
        self._work_size = (0, 0)
        self._out_size = (0, 0)
        self._frame_size = (0, 0)
        self._clean_full: ImageArray | None = None
        self._peak_board: ImageArray | None = None
        self._peak_t = 0.0
        self._next_check = -np.inf
        self._next_verify = np.inf
        self._next_detect = -np.inf
        self._pending_change = 0
        self._reported_ink: np.ndarray | None = None
        self._enhanced: ImageArray | None = None
        self._last_t = 0.0

    # ------------------------------------------------------------------ setup
    def _setup(self, frame: ImageArray, quad: Quad) -> None:
        h, w = frame.shape[:2]
        s = self.settings
        self.quad = quad
        self._frame_size = (w, h)
        self._out_size = board_size(quad.corners, (w, h), max_width=s.out_width, focal=s.focal)
        aspect = self._out_size[0] / self._out_size[1]
        self._work_size = (s.work_width, max(8, round(s.work_width / aspect)))
        self._work_h = rectify_homography(quad.corners, self._work_size)
        self._full_h = rectify_homography(quad.corners, self._out_size)
        full = self._warp_full(frame)
        if not self._fixed_kind:
            self.kind = classify_board(full)
        self._clean_full = full
        self._model = BoardModel(s.occlusion)
        self._detector = KeyframeDetector(self.kind or "whiteboard", s.keyframes)
        self._peak_board = None
        self._reported_ink = None
        self._enhanced = None

    def _warp_full(self, frame: ImageArray) -> ImageArray:
        return _warp(frame, self._full_h, self._out_size)

    def _warp_work(self, frame: ImageArray) -> ImageArray:
        return _warp(frame, self._work_h, self._work_size)

    # ------------------------------------------------------------------ per frame
    def process(self, frame: ImageArray, t: float) -> FrameResult:
        """Feed one camera frame.

        Parameters
        ----------
        frame : (H, W, 3) uint8, BGR
        t : float
            Timestamp in seconds, increasing.

        Returns
        -------
        FrameResult
        """
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 frame, got {frame.shape} {frame.dtype}")
        self._last_t = t
        s = self.settings
        if self._work_h is None:
            if self.quad is None:
                if t < self._next_detect:
                    return FrameResult(t, False)
                self._next_detect = t + s.retry_every
                found = find_board_quad(frame)
                if found is None:
                    return FrameResult(t, False)
                self.quad = found
            self._setup(frame, self.quad)
            self._next_verify = t + s.verify_every
        elif frame.shape[1::-1] != self._frame_size:
            raise ValueError(f"frame size changed from {self._frame_size} to {frame.shape[1::-1]}")
        if t >= self._next_verify:
            self._next_verify = t + s.verify_every
            if self._board_moved(frame):
                self._next_detect = t
                found = find_board_quad(frame)
                if found is not None:
                    self._setup(frame, found)
        step = self._model.update(self._warp_work(frame), t)
        self._pending_change += step.changed
        hidden = float(step.foreground.mean())
        if t < self._next_check:
            return FrameResult(t, True, hidden=hidden)
        self._next_check = t + s.check_every
        return self._check(frame, t, step.settled, step.gain, hidden)

    def _board_moved(self, frame: ImageArray) -> bool:
        if self.quad is None:
            return False
        return edge_support(frame, self.quad.corners) < 0.35

    def _check(
        self, frame: ImageArray, t: float, settled: np.ndarray, gain: float, hidden: float
    ) -> FrameResult:
        if self._pending_change > 0 and self._clean_full is not None:
            full = self._warp_full(frame)
            if gain != 1.0:
                full = np.asarray(cv2.convertScaleAbs(full, alpha=gain), np.uint8)
            mask = cv2.resize(
                settled.astype(np.uint8), self._out_size, interpolation=cv2.INTER_NEAREST
            )
            cv2.copyTo(full, mask, self._clean_full)
            self._pending_change = 0
            self._enhanced = None
        keyframes: list[Keyframe] = []
        detector = self._detector
        if detector is None or self._clean_full is None:
            return FrameResult(t, True, hidden=hidden)
        decision = detector.update(self._model.clean_view(), t)
        if decision is Decision.PEAK:
            self._peak_board = self._clean_full.copy()
            self._peak_t = t
        elif decision is Decision.KEYFRAME and self._peak_board is not None:
            keyframes.append(Keyframe(self._peak_t, t, self._peak_board, "removed"))
            detector.restart()
            self._peak_board = self._clean_full.copy()
            self._peak_t = t
        changed = False
        current = detector.current
        if current is not None:
            if self._reported_ink is None:
                changed = True
            else:
                diff = int(np.count_nonzero((current.ink > 0.5) ^ self._reported_ink))
                changed = diff > max(20, 0.002 * current.ink.size)
            if changed:
                self._reported_ink = current.ink > 0.5
        return FrameResult(t, True, changed, tuple(keyframes), hidden)

    # ------------------------------------------------------------------ outputs
    def clean_board(self) -> ImageArray | None:
        """The clean rectified board (people removed), (H, W, 3) uint8, or None."""
        return self._clean_full

    def enhanced(self) -> ImageArray | None:
        """The clean board enhanced for display, (H, W, 3) uint8, or None (cached)."""
        if self._clean_full is None:
            return None
        if self._enhanced is None:
            self._enhanced = enhance(self._clean_full, self.kind)
        return self._enhanced

    def enhance_keyframe(self, keyframe: Keyframe) -> ImageArray:
        """Enhance a keyframe's board the same way as :meth:`enhanced`."""
        return enhance(keyframe.board, self.kind)

    def finish(self) -> list[Keyframe]:
        """End of recording: the final board as a keyframe (if there is a board)."""
        if self._clean_full is None:
            return []
        t = self._last_t
        return [Keyframe(t, t, self._clean_full.copy(), "end")]


def _warp(frame: ImageArray, homography: F64Array | None, size: tuple[int, int]) -> ImageArray:
    """``frame`` warped onto the board grid of ``size`` (w, h) by ``homography``."""
    if homography is None:
        raise ValueError("no board yet")
    out = cv2.warpPerspective(
        frame, homography, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(out, np.uint8)
