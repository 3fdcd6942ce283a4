"""Find the board's writing surface in a camera image.

The search runs on a small copy of the image: colour edges feed a Hough transform, pairs of
near-horizontal and near-vertical lines make candidate quads. Every candidate is checked for
edges along its sides; the best get the full evidence: a robust smooth model of the surface
colour inside, and at points along each side, surface just inside, something else just outside
and an edge between. A person in front hides stretches of a side; those count neither way,
while a side with surface on both of its sides (a person's outline, a line of writing) counts
against the candidate, and so does a side whose inside is the frame or the tray, and a quad
no rectangle seen through a plausible pinhole camera could make. The best
candidate is then refined at full resolution by fitting each side to the innermost strong
edge, to sub-pixel precision, with outlier rejection.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from boardclient.geometry import F64Array, FloatArray, ImageArray, Quad, scale_corners

_WORK_SIDE = 480
# Candidates that get the full (colour) scoring after the cheap edge check.
_FULL_SCORED = 1500
# Stretch past a corner (working-image pixels) checked for a side's edge running on.
_RUN_ON_FROM = 5.0
_RUN_ON_TO = 22.0
_RUN_ON_WEIGHT = 0.5
_RUN_ON_SAME = 70.0
# Focal lengths (share of the image width) a classroom camera may have: about 35 to 100 degrees
# of horizontal view.
_FOCAL_RANGE = (0.4, 1.1)
# A quad whose sides cannot meet at right angles in space (under any of those focal lengths)
# is not a rectangular board seen through a pinhole; the cosine of the best angle above this
# counts against it.
_SKEW_FREE = 0.006
_SKEW_WEIGHT = 15.0


@dataclass(frozen=True)
class _Lines:
    """Hough lines ``x cos(theta) + y sin(theta) = rho`` with their votes."""

    rho: F64Array
    theta: F64Array
    votes: F64Array


def _to_bgr(image: npt.NDArray[np.generic]) -> ImageArray:
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image.astype(np.uint8), cv2.COLOR_GRAY2BGR), np.uint8)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got {image.shape}")
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image.astype(np.uint8), cv2.COLOR_BGRA2BGR), np.uint8)
    return np.asarray(image, np.uint8)


def _colour_gradients(lab: ImageArray) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """Sobel derivatives of L, a, b with chroma weighted up (chalkboard frames are chromatic)."""
    weighted = lab.astype(np.int16)
    weighted[:, :, 1:] = (weighted[:, :, 1:] - 128) * 2
    dx = cv2.Sobel(weighted, cv2.CV_16S, 1, 0, ksize=3)
    dy = cv2.Sobel(weighted, cv2.CV_16S, 0, 1, ksize=3)
    return np.asarray(dx, np.int16), np.asarray(dy, np.int16)


def _hough_lines(edges: ImageArray, min_votes: int) -> _Lines:
    found = cv2.HoughLinesWithAccumulator(edges, 1, np.pi / 360, min_votes)
    if found is None:
        empty = np.zeros(0, np.float64)
        return _Lines(empty, empty, empty)
    arr = np.asarray(found, np.float64).reshape(-1, 3)
    order = np.argsort(-arr[:, 2], kind="stable")
    arr = arr[order]
    return _Lines(arr[:, 0], arr[:, 1], arr[:, 2])


def _suppress(rho: F64Array, theta: F64Array, keep: int) -> npt.NDArray[np.intp]:
    """Greedy non-maximum suppression over lines already sorted by votes."""
    chosen: list[int] = []
    for i in range(len(rho)):
        close = False
        for j in chosen:
            if abs(theta[i] - theta[j]) < np.radians(3.0) and abs(rho[i] - rho[j]) < 3.0:
                close = True
                break
        if not close:
            chosen.append(i)
            if len(chosen) >= keep:
                break
    return np.asarray(chosen, np.intp)


def _split_lines(lines: _Lines, keep: int) -> tuple[F64Array, F64Array]:
    """Return near-horizontal and near-vertical lines as ``(n, 2)`` arrays of (rho, theta)."""
    rho, theta = lines.rho.copy(), lines.theta.copy()
    horizontal = np.abs(theta - np.pi / 2) < np.pi / 4
    # Put vertical normals in (-pi/4, pi/4] so that nearby lines compare by plain differences.
    flip = ~horizontal & (theta > np.pi / 2)
    theta[flip] -= np.pi
    rho[flip] = -rho[flip]
    # A camera on the back wall keeps board sides near upright (little roll); top and bottom
    # tilt more with the viewing angle. Steeper lines are clutter (arms, diagrams).
    upright = ~horizontal & (np.abs(theta) < np.radians(25))
    level = horizontal & (np.abs(theta - np.pi / 2) < np.radians(38))
    out = []
    for sel in (level, upright):
        r, t = rho[sel], theta[sel]
        idx = _suppress(r, t, keep)
        out.append(np.column_stack([r[idx], t[idx]]) if len(idx) else np.zeros((0, 2)))
    return out[0], out[1]


def _intersect(a: F64Array, b: F64Array) -> F64Array:
    """Intersections of line arrays ``a`` and ``b`` (each ``(n, 2)`` rho, theta) -> ``(n, 2)``."""
    ca, sa, cb, sb = np.cos(a[:, 1]), np.sin(a[:, 1]), np.cos(b[:, 1]), np.sin(b[:, 1])
    det = ca * sb - sa * cb
    det = np.where(np.abs(det) < 1e-9, 1e-9, det)
    x = (a[:, 0] * sb - b[:, 0] * sa) / det
    y = (b[:, 0] * ca - a[:, 0] * cb) / det
    return np.column_stack([x, y])


def _candidates(hor: F64Array, ver: F64Array, shape: tuple[int, int]) -> F64Array:
    """All quads from two horizontal and two vertical lines, ``(n, 4, 2)`` TL, TR, BR, BL."""
    h, w = shape
    if len(hor) < 2 or len(ver) < 2:
        return np.zeros((0, 4, 2))
    # Order each group by where it crosses the image centre line.
    y_mid = (hor[:, 0] - (w / 2) * np.cos(hor[:, 1])) / np.sin(hor[:, 1])
    x_mid = (ver[:, 0] - (h / 2) * np.sin(ver[:, 1])) / np.cos(ver[:, 1])
    hor, ver = hor[np.argsort(y_mid)], ver[np.argsort(x_mid)]
    hi, hj = np.triu_indices(len(hor), 1)
    vi, vj = np.triu_indices(len(ver), 1)
    ti = np.repeat(hi, len(vi))
    bi = np.repeat(hj, len(vi))
    li = np.tile(vi, len(hi))
    ri = np.tile(vj, len(hi))
    top, bottom, left, right = hor[ti], hor[bi], ver[li], ver[ri]
    quads = np.stack(
        [
            _intersect(top, left),
            _intersect(top, right),
            _intersect(bottom, right),
            _intersect(bottom, left),
        ],
        axis=1,
    )
    return quads


def _valid(quads: F64Array, shape: tuple[int, int], min_area: float) -> npt.NDArray[np.bool_]:
    h, w = shape
    x, y = quads[..., 0], quads[..., 1]
    inside = np.all((x > -0.02 * w) & (x < 1.02 * w) & (y > -0.02 * h) & (y < 1.02 * h), axis=1)
    edges = np.roll(quads, -1, axis=1) - quads
    nxt = np.roll(edges, -1, axis=1)
    cross = edges[..., 0] * nxt[..., 1] - edges[..., 1] * nxt[..., 0]
    convex = np.all(cross > 0, axis=1)
    area = 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - y * np.roll(x, -1, axis=1), axis=1))
    lengths = np.linalg.norm(edges, axis=2)
    sane = lengths.min(axis=1) > 0.12 * lengths.max(axis=1)
    return np.asarray(inside & convex & (area > min_area * w * h) & sane, np.bool_)


def _sample(img: npt.NDArray[np.generic], pts: F64Array) -> F64Array:
    """Nearest-pixel lookup of ``img`` at ``pts`` (..., 2); returns (..., C) or (...)."""
    h, w = img.shape[:2]
    xi = np.clip(np.rint(pts[..., 0]).astype(np.intp), 0, w - 1)
    yi = np.clip(np.rint(pts[..., 1]).astype(np.intp), 0, h - 1)
    return np.asarray(img[yi, xi], np.float64)


def _bilinear_grid(quads: F64Array, u: F64Array, v: F64Array) -> F64Array:
    """Points at quad parameters ``(u, v)`` (each ``(m,)``) -> ``(n, m, 2)``."""
    tl, tr, br, bl = (quads[:, i, None, :] for i in range(4))
    uu, vv = u[None, :, None], v[None, :, None]
    top = tl + (tr - tl) * uu
    bottom = bl + (br - bl) * uu
    return np.asarray(top + (bottom - top) * vv, np.float64)


@dataclass(frozen=True)
class _Maps:
    """Per-pixel evidence on the working image."""

    edges: npt.NDArray[np.uint8]
    grad_x: F64Array
    grad_y: F64Array
    lab_median: F64Array
    lab_blur: F64Array


def _side_geometry(quads: F64Array) -> tuple[F64Array, F64Array, F64Array]:
    """Start points, directions and inward unit normals of each side, ``(n, 4, 2)`` each."""
    start = quads
    end = np.roll(quads, -1, axis=1)
    d = end - start
    length = np.linalg.norm(d, axis=2, keepdims=True)
    direction = d / np.maximum(length, 1e-9)
    # Corners run clockwise on screen (y down), so the inside is to the right of travel.
    inward = np.stack([-direction[..., 1], direction[..., 0]], axis=2)
    return start, d, inward


def _surface_design(u: F64Array, v: F64Array) -> F64Array:
    """Quadratic surface basis at quad parameters ``(u, v)``, shape ``(m, 6)``."""
    return np.column_stack([np.ones_like(u), u, v, u * v, u * u, v * v])


def _score(quads: F64Array, maps: _Maps, shape: tuple[int, int]) -> F64Array:
    """Board-likeness of each candidate in ``[0, 1]``.

    Every candidate is first checked for edges along its sides (cheap); only the best few
    hundred get the full colour evidence.
    """
    out = np.zeros(len(quads))
    if len(quads) == 0:
        return out
    edge = np.concatenate(
        [_edge_hits(quads[i : i + 8192], maps, 12).mean(axis=2) for i in range(0, len(quads), 8192)]
    )
    rough = edge.mean(axis=1) + 0.5 * np.sort(edge, axis=1)[:, 1]
    top = np.argsort(-rough, kind="stable")[:_FULL_SCORED]
    out[top] = _score_chunk(quads[top], maps, shape)
    return out


def _edge_hits(quads: F64Array, maps: _Maps, n_pts: int) -> npt.NDArray[np.bool_]:
    """Whether points along each side lie on an edge running along it, ``(n, 4, n_pts)``."""
    start, d, inward = _side_geometry(quads)
    ts = np.linspace(0.04, 0.96, n_pts)
    pts = start[:, :, None, :] + d[:, :, None, :] * ts[None, None, :, None]
    return _on_side_edge(pts, inward, maps)


def _on_side_edge(pts: F64Array, inward: F64Array, maps: _Maps) -> npt.NDArray[np.bool_]:
    """Whether each point ``(n, 4, k, 2)`` is within 1 px (across its side, ``inward``
    ``(n, 4, 2)``) of an edge whose gradient points across the side, ``(n, 4, k)``."""
    hits = np.zeros(pts.shape[:3], bool)
    for off in (-1.0, 0.0, 1.0):
        p = pts + inward[:, :, None, :] * off
        on_edge = _sample(maps.edges, p) > 0
        gx, gy = _sample(maps.grad_x, p), _sample(maps.grad_y, p)
        norm = np.hypot(gx, gy) + 1e-9
        cosang = np.abs(gx * inward[:, :, None, 0] + gy * inward[:, :, None, 1]) / norm
        hits |= on_edge & (cosang > 0.85)
    return hits


def _run_on(quads: F64Array, maps: _Maps, near_start: F64Array, near_end: F64Array) -> F64Array:
    """How far each side's edge runs on past its two corners, ``(n, 4)`` in ``[0, 1]``.

    A board side's edge stops at the corner (past it lie the frame and the wall); when the
    edge carries on along the same line, the corner is not a board corner: a person's outline
    or a stroke of writing cut the side short. Only edge points with the same surface on their
    inside as the side has just before the corner (``near_start``, ``near_end``: ``(n, 4, 3)``)
    count, so a person's outline carrying on below the board does not. The larger end counts.
    """
    start, d, inward = _side_geometry(quads)
    length = np.linalg.norm(d, axis=2)  # (n, 4)
    direction = d / np.maximum(length, 1e-9)[..., None]
    dist = np.linspace(_RUN_ON_FROM, _RUN_ON_TO, 8)
    ends = []
    for base, sign, near in ((start, -1.0, near_start), (start + d, 1.0, near_end)):
        pts = base[:, :, None, :] + sign * direction[:, :, None, :] * dist[None, None, :, None]
        hit = _on_side_edge(pts, inward, maps)
        h, w = maps.edges.shape
        within = (pts[..., 0] >= 0) & (pts[..., 0] < w) & (pts[..., 1] >= 0) & (pts[..., 1] < h)
        beside = _sample(maps.lab_blur, pts + inward[:, :, None, :] * 2.5)
        same = np.linalg.norm(beside - near[:, :, None, :], axis=3) < _RUN_ON_SAME
        ends.append((hit & within & same).mean(axis=2))
    return np.asarray(np.maximum(ends[0], ends[1]), np.float64)


def _surface_fit(quads: F64Array, surface: F64Array) -> tuple[F64Array, F64Array]:
    """Robust smooth (quadratic) model of the writing surface's colour over each quad.

    The light across a board is far from even and a person may stand in front of part of it,
    so the model is refitted on the samples it already explains (trimmed least squares).

    Returns
    -------
    coef : (n, 6, 3) model coefficients over quad parameters ``(u, v)``
    inliers : (n,) share of interior samples the model explains
    """
    g = np.linspace(0.06, 0.94, 9)
    uu, vv = np.meshgrid(g, g)
    u_in, v_in = uu.ravel(), vv.ravel()
    colours = _sample(surface, _bilinear_grid(quads, u_in, v_in))  # (n, m, 3)
    design = _surface_design(u_in, v_in)  # (m, 6)
    # Start from the samples near the median colour: ink and a person are a minority.
    median = np.median(colours, axis=1, keepdims=True)
    weights = (np.linalg.norm(colours - median, axis=2) < 50).astype(np.float64)
    eye = np.eye(design.shape[1])[None] * 1e-3
    coef = np.zeros((len(quads), design.shape[1], 3))
    keep = weights > 0
    for thr in (30.0, 20.0, 14.0):
        weighted_t = (weights[:, :, None] * design[None]).transpose(0, 2, 1)  # (n, 6, m)
        coef = np.linalg.solve(weighted_t @ design + eye, weighted_t @ colours)
        resid = np.linalg.norm(colours - design @ coef, axis=2)
        keep = resid < thr
        # Too few samples left means no single surface: keep the plain fit's weights.
        enough = keep.sum(axis=1) >= 12
        weights = np.where(enough[:, None], keep, weights).astype(np.float64)
    return coef, keep.mean(axis=1)


def _skew(quads: F64Array, shape: tuple[int, int]) -> F64Array:
    """How far each quad is from a rectangle seen by a pinhole camera, ``(n,)`` in ``[0, 1]``.

    The homography from the unit square to the quad (image centre as origin) has columns
    ``h1``, ``h2``; for a rectangle in space, ``K^-1 h1`` and ``K^-1 h2`` are perpendicular,
    with ``K`` the camera matrix. The focal length is unknown, so the smallest cosine of the
    angle between them over plausible focal lengths is returned: about 0 for a board, larger
    for a quad with a side that follows something else (a person's outline).
    """
    h, w = shape
    x = quads[..., 0] - w / 2
    y = quads[..., 1] - h / 2
    dx1, dx2, dx3 = x[:, 1] - x[:, 2], x[:, 3] - x[:, 2], x[:, 0] - x[:, 1] + x[:, 2] - x[:, 3]
    dy1, dy2, dy3 = y[:, 1] - y[:, 2], y[:, 3] - y[:, 2], y[:, 0] - y[:, 1] + y[:, 2] - y[:, 3]
    det = dx1 * dy2 - dx2 * dy1
    det = np.where(np.abs(det) < 1e-9, 1e-9, det)
    g = (dx3 * dy2 - dx2 * dy3) / det
    k = (dx1 * dy3 - dx3 * dy1) / det
    # Columns of the homography: images of the square's u and v directions.
    col_u = np.column_stack([x[:, 1] - x[:, 0] + g * x[:, 1], y[:, 1] - y[:, 0] + g * y[:, 1], g])
    col_v = np.column_stack([x[:, 3] - x[:, 0] + k * x[:, 3], y[:, 3] - y[:, 0] + k * y[:, 3], k])
    focal = np.linspace(_FOCAL_RANGE[0], _FOCAL_RANGE[1], 32) * w
    scale = np.ones((len(focal), 3))
    scale[:, :2] = 1.0 / focal[:, None]
    ray_u = col_u[:, None, :] * scale[None]  # (n, F, 3)
    ray_v = col_v[:, None, :] * scale[None]
    dot = np.abs(np.sum(ray_u * ray_v, axis=2))
    norms = np.linalg.norm(ray_u, axis=2) * np.linalg.norm(ray_v, axis=2)
    return np.asarray(np.min(dot / np.maximum(norms, 1e-12), axis=1), np.float64)


def _score_chunk(quads: F64Array, maps: _Maps, shape: tuple[int, int]) -> F64Array:
    parts = _score_parts(quads, maps, shape)
    side = parts["side"]  # (n, 4)
    # A person in front may hide a quarter of the surface without making it less of a board.
    uniform = np.clip(parts["uniform"] / 0.75, 0.0, 1.0)
    raw = 0.45 * side.mean(axis=1) + 0.2 * side.min(axis=1) + 0.35 * uniform
    raw = raw - _SKEW_WEIGHT * np.maximum(_skew(quads, shape) - _SKEW_FREE, 0.0)
    return np.asarray(np.clip(raw, 0.0, 1.0) * parts["area_term"], np.float64)


def _score_parts(quads: F64Array, maps: _Maps, shape: tuple[int, int]) -> dict[str, F64Array]:
    """The separate pieces of evidence for each candidate.

    Each side is judged at points along it: the colour just inside must be the surface's
    (as the interior model predicts it there) and the colour just outside must not be, with an
    edge of matching direction between them. Where the inside is not surface-coloured, something
    (a person) hides the side and the point counts neither way; where the outside is still
    surface-coloured the board runs on past the side, which counts against it.
    """
    h, w = shape
    n = len(quads)
    start, d, inward = _side_geometry(quads)
    ts = np.linspace(0.04, 0.96, 24)
    pts = start[:, :, None, :] + d[:, :, None, :] * ts[None, None, :, None]  # (n, 4, S, 2)
    hits = _edge_hits(quads, maps, len(ts))

    coef, uniform = _surface_fit(quads, maps.lab_median)
    inside = _sample(maps.lab_blur, pts + inward[:, :, None, :] * 2.5)  # (n, 4, S, 3)
    outside = _sample(maps.lab_blur, pts - inward[:, :, None, :] * 2.5)
    zeros, ones = np.zeros_like(ts), np.ones_like(ts)
    side_u = np.concatenate([ts, ones, 1 - ts, zeros])
    side_v = np.concatenate([zeros, ts, ones, 1 - ts])
    expect = (_surface_design(side_u, side_v) @ coef).reshape(n, 4, len(ts), 3)
    deeper = _sample(maps.lab_blur, pts + inward[:, :, None, :] * 6.0)
    # The smooth model misses glare and light fall-off near the edges, so it only decides
    # loosely what is surface; the fine decisions compare neighbours across the side.
    surface_in = np.linalg.norm(inside - expect, axis=3) < 30
    surface_out = np.linalg.norm(outside - expect, axis=3) < 30
    in_match = surface_in & (np.linalg.norm(inside - deeper, axis=3) < 14)
    out_diff = np.linalg.norm(outside - inside, axis=3) > 16
    support = (in_match & out_diff & hits).mean(axis=2)
    # Surface on both sides with no edge between: the board runs on past this side.
    d_model_in = np.linalg.norm(inside - expect, axis=3)
    flat = (np.linalg.norm(outside - inside, axis=3) < 12) & (
        np.linalg.norm(inside - deeper, axis=3) < 12
    )
    leak = ((in_match & ~out_diff & surface_out) | (flat & (d_model_in < 45) & ~hits)).mean(axis=2)
    run_on = _run_on(quads, maps, inside[:, :, 0], inside[:, :, -1])
    side = support - 3.0 * leak - _RUN_ON_WEIGHT * run_on

    x, y = quads[..., 0], quads[..., 1]
    area = 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - y * np.roll(x, -1, axis=1), axis=1))
    area_term = np.clip(area / (w * h), 0.0, 1.0) ** 0.1
    return {
        "side": side,
        "support": support,
        "leak": leak,
        "run_on": run_on,
        "edge": hits.mean(axis=2),
        "uniform": uniform,
        "area_term": area_term,
    }


def _chroma_weighted(lab: ImageArray) -> F64Array:
    """Lab with a and b doubled, so that colour distances see a brown frame on a dark board."""
    out = lab.astype(np.float64)
    out[:, :, 1:] = (out[:, :, 1:] - 128) * 2
    return out


def _evidence(small: ImageArray) -> _Maps:
    lab = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2LAB), np.uint8)
    median = np.asarray(cv2.medianBlur(lab, 5), np.uint8)
    smooth = np.asarray(cv2.GaussianBlur(lab, (3, 3), 0), np.uint8)
    dx, dy = _colour_gradients(smooth)
    edges = np.asarray(cv2.Canny(dx, dy, 35, 80, L2gradient=True), np.uint8)
    mag = dx.astype(np.float32) ** 2 + dy.astype(np.float32) ** 2
    best = np.argmax(mag, axis=2)[:, :, None]
    gx = np.take_along_axis(dx, best, axis=2)[:, :, 0].astype(np.float64)
    gy = np.take_along_axis(dy, best, axis=2)[:, :, 0].astype(np.float64)
    return _Maps(edges, gx, gy, _chroma_weighted(median), _chroma_weighted(smooth))


def _refine_side(
    image: npt.NDArray[np.float32], a: F64Array, b: F64Array, radius: float
) -> tuple[F64Array, F64Array] | None:
    """Fit one side to sub-pixel colour-edge points near segment ``a``-``b``.

    Returns a point on the line and its unit direction, or None when the evidence is thin.
    """
    d = b - a
    length = float(np.linalg.norm(d))
    if length < 8:
        return None
    direction = d / length
    inward = np.array([-direction[1], direction[0]])
    n_pts = int(np.clip(length / 4, 16, 160))
    ts = np.linspace(0.03, 0.97, n_pts)
    offs = np.arange(-radius, radius + 0.5, 0.5)
    centres = a[None, :] + ts[:, None] * d[None, :]
    grid = centres[:, None, :] + offs[None, :, None] * inward[None, None, :]
    map_x = grid[..., 0].astype(np.float32)
    map_y = grid[..., 1].astype(np.float32)
    prof = np.asarray(
        cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
        np.float64,
    )  # (n_pts, n_offs, 3)
    deriv = np.linalg.norm(prof[:, 2:] - prof[:, :-2], axis=2)  # centred, step 1 px
    prior = np.exp(-0.5 * (offs[1:-1] / radius) ** 2)
    weighted = deriv * prior[None, :]
    # Of the strong edges across the side take the innermost: going out from the surface the
    # first edge is the writing surface's own, then come the frame's outer edge and the tray.
    padded = np.pad(weighted, ((0, 0), (1, 1)))
    peak = (weighted >= padded[:, :-2]) & (weighted >= padded[:, 2:])
    strong = peak & (weighted >= 0.35 * weighted.max(axis=1, keepdims=True))
    k = weighted.shape[1] - 1 - np.argmax(strong[:, ::-1], axis=1)
    strength = deriv[np.arange(n_pts), k]
    k = np.clip(k, 1, deriv.shape[1] - 2)
    left, mid, right = (weighted[np.arange(n_pts), k + j] for j in (-1, 0, 1))
    denom = left - 2 * mid + right
    sub = np.zeros_like(denom)
    np.divide(0.5 * (left - right), denom, out=sub, where=np.abs(denom) > 1e-9)
    pos = offs[1:-1][k] + np.clip(sub, -1, 1) * 0.5
    pts = centres + pos[:, None] * inward[None, :]
    good = strength > 0.35 * np.median(strength)
    for _ in range(3):
        if good.sum() < max(8, n_pts // 5):
            return None
        sel = pts[good]
        mean = sel.mean(axis=0)
        _, _, vt = np.linalg.svd(sel - mean)
        u = vt[0]
        normal = np.array([-u[1], u[0]])
        resid = np.abs((pts - mean) @ normal)
        mad = float(np.median(resid[good])) * 1.4826
        good = good & (resid < max(1.0, 3.0 * mad))
    if float(np.dot(u, direction)) < 0:
        u = -u
    return mean, u


def _line_intersection(p: F64Array, u: F64Array, q: F64Array, v: F64Array) -> F64Array | None:
    mat = np.array([[u[0], -v[0]], [u[1], -v[1]]])
    if abs(np.linalg.det(mat)) < 1e-9:
        return None
    s = np.linalg.solve(mat, q - p)
    return np.asarray(p + s[0] * u, np.float64)


def refine_quad(image: ImageArray, corners: FloatArray, *, radius: float = 6.0) -> FloatArray:
    """Snap a rough quad's sides to the image's colour edges, with sub-pixel accuracy.

    Parameters
    ----------
    image : (H, W, 3) uint8, BGR
    corners : (4, 2) float32, TL, TR, BR, BL
        Rough quad, within about ``radius`` pixels of the true sides.
    radius : float
        Search distance across each side, in pixels.

    Returns
    -------
    (4, 2) float32, TL, TR, BR, BL
        Refined corners; a side without enough edge evidence keeps its rough position.
    """
    img = np.asarray(cv2.GaussianBlur(image, (3, 3), 0), np.float32)
    c = corners.astype(np.float64)
    lines: list[tuple[F64Array, F64Array]] = []
    for i in range(4):
        a, b = c[i], c[(i + 1) % 4]
        fit = _refine_side(img, a, b, radius)
        rough_dir = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
        if fit is not None:
            p, u = fit
            normal = np.array([-rough_dir[1], rough_dir[0]])
            mid = (a + b) / 2
            shift = abs(float(np.dot(p - mid, normal)))
            angle = np.degrees(np.arccos(np.clip(abs(float(np.dot(u, rough_dir))), 0, 1)))
            if shift <= radius * 1.2 and angle < 2.5:
                lines.append((p, u))
                continue
        lines.append((a, rough_dir))
    out = c.copy()
    for i in range(4):
        # Corner i joins side i-1 (ending at it) and side i (starting at it).
        p, u = lines[(i - 1) % 4]
        q, v = lines[i]
        x = _line_intersection(p, u, q, v)
        if x is not None and np.linalg.norm(x - c[i]) < radius * 3:
            out[i] = x
    return out.astype(np.float32)


def find_board_quad(
    image: npt.NDArray[np.generic],
    *,
    work_side: int = _WORK_SIDE,
    min_area: float = 0.05,
    min_confidence: float = 0.35,
    max_lines: int = 24,
    refine: bool = True,
) -> Quad | None:
    """Find the board's writing surface in a camera image.

    Parameters
    ----------
    image : (H, W, 3) uint8 BGR, (H, W, 4) BGRA or (H, W) grey
    work_side : int
        Longest side of the working copy the search runs on, in pixels.
    min_area : float
        Smallest board area accepted, as a share of the image.
    min_confidence : float
        Below this score no board is reported.
    max_lines : int
        Candidate lines kept per orientation.
    refine : bool
        Snap the sides to full-resolution edges.

    Returns
    -------
    Quad or None
        ``corners`` are (4, 2) float32, TL, TR, BR, BL, OpenCV ``(x, y)`` pixels of the image;
        None when nothing board-like is found.
    """
    bgr = _to_bgr(image)
    h, w = bgr.shape[:2]
    if min(h, w) < 16:
        return None
    small, scale = _downscaled(bgr, work_side)
    sh, sw = small.shape[:2]
    maps = _evidence(small)
    lines = _hough_lines(maps.edges, max(20, int(0.06 * min(sh, sw))))
    hor, ver = _split_lines(lines, max_lines)
    quads = _candidates(hor, ver, (sh, sw))
    quads = quads[_valid(quads, (sh, sw), min_area)]
    scores = _score(quads, maps, (sh, sw))
    if len(scores) == 0:
        return None
    best = int(np.argmax(scores))
    confidence = float(np.clip(scores[best], 0.0, 1.0))
    if confidence < min_confidence:
        return None
    corners = scale_corners(quads[best].astype(np.float32), 1.0 / scale)
    if refine:
        # A wide pass reaches the surface edge from a frame or tray edge, a narrow one settles.
        corners = refine_quad(bgr, corners, radius=max(4.0, 3.5 / scale))
        corners = refine_quad(bgr, corners, radius=3.0)
    return Quad(corners, confidence)


def _downscaled(bgr: ImageArray, side: int) -> tuple[ImageArray, float]:
    """The image shrunk (never enlarged) so its longer side is at most ``side``, and the scale."""
    h, w = bgr.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale == 1.0:
        return bgr, scale
    small = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return np.asarray(small, np.uint8), scale


def edge_support(image: npt.NDArray[np.generic], corners: FloatArray) -> float:
    """Share of a quad's outline that lies on image edges, in ``[0, 1]``.

    A cheap check that a tracked board is still where it was (the camera was not bumped).

    Parameters
    ----------
    image : (H, W, 3) uint8, BGR
    corners : (4, 2) float32, TL, TR, BR, BL
    """
    small, scale = _downscaled(_to_bgr(image), _WORK_SIDE)
    maps = _evidence(small)
    quad = scale_corners(corners, scale).astype(np.float64)[None]
    start, d, inward = _side_geometry(quad)
    ts = np.linspace(0.04, 0.96, 48)
    pts = start[:, :, None, :] + d[:, :, None, :] * ts[None, None, :, None]
    hits = np.zeros(pts.shape[:3], bool)
    for off in (-1.0, 0.0, 1.0):
        hits |= _sample(maps.edges, pts + inward[:, :, None, :] * off) > 0
    return float(hits.mean())
