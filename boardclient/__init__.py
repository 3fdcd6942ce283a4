"""Board capture: find, straighten, clean and record the classroom board seen by a camera.

The algorithms are pure functions over numpy arrays (:mod:`boardclient.detect`,
:mod:`boardclient.rectify`, :mod:`boardclient.enhance`, :mod:`boardclient.occlusion`,
:mod:`boardclient.keyframes`); :mod:`boardclient.pipeline` strings them together frame by frame,
and :mod:`boardclient.record` / :mod:`boardclient.cli` do the I/O.
"""

from __future__ import annotations
