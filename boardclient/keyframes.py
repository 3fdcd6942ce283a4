"""Decide when the board is about to be erased (or its page changes) and keep it.

The detector watches the ink in the clean board model (people already removed). While
writing only adds ink, the latest state is the "peak" worth keeping. When a large share of the
peak's ink is gone, the peak is emitted as a keyframe: that is the full board just before the
erase or page change. Only a board that grew or held still is a peak: states passed through
while wiping (the model still shows old ink where the teacher stands) never are, and ink
counts as new against the last keyframe. Small corrections lose too little ink to count.
Exposure flicker does not change the ink (it is measured relative to the surface), and a person
walking by never reaches the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np

from boardclient.enhance import BoardKind, ink_strength
from boardclient.geometry import FloatArray, ImageArray


class Decision(Enum):
    """What the caller should do after a :meth:`KeyframeDetector.update`."""

    NONE = "none"
    PEAK = "peak"  # keep a copy of the current board: it is the fullest so far
    KEYFRAME = "keyframe"  # emit the kept copy: its ink is being removed


@dataclass(frozen=True)
class KeyframeParams:
    """Tuning for :class:`KeyframeDetector`.

    Attributes
    ----------
    ink_threshold : float
        Ink strength (see :func:`boardclient.enhance.ink_strength`) counted as ink.
    removed_share : float
        Share of the peak's ink that must be gone to call it an erase.
    min_ink : float
        Share of the board the peak's ink must cover to be worth a keyframe.
    steady_checks : int
        Checks with unchanging ink after which the current board (after a corrected word or
        a partial wipe) becomes the new reference.
    """

    ink_threshold: float = 0.2
    removed_share: float = 0.3
    min_ink: float = 0.002
    steady_checks: int = 8


@dataclass(frozen=True)
class InkState:
    """Ink seen on the model at one moment.

    Attributes
    ----------
    ink : (h, w) float32
        Soft ink coverage in ``[0, 1]`` (soft, so that strokes hovering near a threshold do
        not flicker in and out of the count).
    t : float
    """

    ink: FloatArray
    t: float

    @property
    def amount(self) -> float:
        """Total ink (pixels of full coverage)."""
        return float(self.ink.sum())


class KeyframeDetector:
    """Feed clean working-resolution boards; get told when to keep and emit keyframes."""

    def __init__(self, kind: BoardKind, params: KeyframeParams | None = None) -> None:
        self.kind: BoardKind = kind
        self.params = params or KeyframeParams()
        self.peak: InkState | None = None
        self.current: InkState | None = None
        self._base: FloatArray | None = None
        self._previous: InkState | None = None
        self._steady = 0
        # Whether the peak is a board that grew or held still, rather than a state passed
        # through while wiping (a keyframe is only ever a board that was complete).
        self._peak_settled = True
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def ink(self, clean: ImageArray) -> FloatArray:
        """Soft ink coverage of a clean board, (h, w) float32 in ``[0, 1]``."""
        strength, _ = ink_strength(clean, self.kind)
        lo = self.params.ink_threshold - 0.1
        ink = np.clip((strength - lo) / 0.3, 0.0, 1.0)
        # A quad a pixel or two off puts the frame's edge along the border: not ink.
        m = max(2, min(ink.shape) // 50)
        ink[:m], ink[-m:], ink[:, :m], ink[:, -m:] = 0, 0, 0, 0
        return np.asarray(ink, np.float32)

    def _missing(self, ref: FloatArray, cur: FloatArray) -> float:
        """Share of ``ref``'s ink not found in ``cur`` (with a pixel of slack)."""
        total = float(ref.sum())
        if total <= 0:
            return 0.0
        near = cv2.dilate(cur, self._kernel)
        return float(np.clip(ref - near, 0.0, None).sum()) / total

    def removed_share(self, ink: FloatArray) -> float:
        """Share of the peak's ink missing from ``ink``."""
        if self.peak is None:
            return 0.0
        return self._missing(self.peak.ink, ink)

    def update(self, clean: ImageArray, t: float) -> Decision:
        """Look at the clean board at time ``t``.

        Parameters
        ----------
        clean : (h, w, 3) uint8, BGR
            The clean board model (people removed).
        t : float
            Seconds.

        Returns
        -------
        Decision
            ``PEAK``: the board is (still) at its fullest, keep a copy of it now.
            ``KEYFRAME``: much of the kept board's ink is gone; emit the kept copy.
        """
        state = InkState(self.ink(clean), t)
        self.current = state
        previous, self._previous = self._previous, state
        if self.peak is None:
            self.peak = state
            self._base = np.zeros_like(state.ink)
            return Decision.PEAK
        p = self.params
        removed = self.removed_share(state.ink)
        if removed >= p.removed_share:
            if self._peak_settled and self._worth_keeping():
                return Decision.KEYFRAME
            # Still wiping after a keyframe (or there was little to keep): follow it down.
            # The base stays the last keyframe's ink: whatever is written meanwhile (often
            # behind the writer, seen only once they step away) is new since that keyframe.
            self.peak = state
            self._peak_settled = False
            self._steady = 0
            return Decision.NONE
        steady = (
            previous is not None
            and max(self._missing(previous.ink, state.ink), self._missing(state.ink, previous.ink))
            < 0.02
        )
        self._steady = self._steady + 1 if steady else 0
        growing = removed < 0.1 and state.amount >= self.peak.amount
        if growing or self._steady >= p.steady_checks:
            # Growing, or settled after a correction or a partial wipe: the board to keep.
            self.peak = state
            self._peak_settled = True
            return Decision.PEAK
        if removed < 0.03:
            return Decision.PEAK
        return Decision.NONE

    def _worth_keeping(self) -> bool:
        """The peak holds enough ink, and enough of it arrived since the last keyframe."""
        if self.peak is None:
            return False
        p = self.params
        size = self.peak.ink.size
        if self.peak.amount < p.min_ink * size:
            return False
        base = self._base if self._base is not None else np.zeros_like(self.peak.ink)
        added = float(np.clip(self.peak.ink - cv2.dilate(base, self._kernel), 0, None).sum())
        return added >= max(p.min_ink * size, 0.15 * self.peak.amount)

    def restart(self) -> None:
        """After a keyframe: its ink becomes the base, the current board the new peak."""
        if self.peak is not None:
            self._base = self.peak.ink
        self.peak = self.current
        self._peak_settled = False
