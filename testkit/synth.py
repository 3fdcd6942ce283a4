"""Seeded synthetic board photos and videos with known truth.

A scene is a flat front wall (metres, ``x`` right, ``y`` down) holding a board, its frame and
tray, posters and windows, seen by a pinhole camera up to about 40 degrees off-axis. The board's
writing surface spans ``[0, width_m] x [0, height_m]`` on the wall; ink lives in a surface canvas
of ``surface_size`` pixels, and everything the benchmark checks (corners, ink, the person's
footprint, erase times) is known exactly.

Nothing here reads or writes files; every function takes a seed and returns arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from boardclient.geometry import BoolArray, F64Array, FloatArray, ImageArray

BoardKind = Literal["whiteboard", "chalkboard"]
EventKind = Literal["erase", "page"]

_MARKERS: tuple[tuple[int, int, int], ...] = (
    (35, 30, 30),
    (30, 30, 35),
    (150, 60, 25),
    (40, 40, 185),
    (60, 125, 35),
)
_CHALKS: tuple[tuple[int, int, int], ...] = (
    (232, 235, 235),
    (225, 228, 230),
    (120, 225, 240),
    (190, 160, 245),
    (240, 210, 160),
)


@dataclass
class Stroke:
    """One pen or chalk stroke on the board surface.

    Attributes
    ----------
    points : (N, 2) float32
        Polyline in surface-canvas ``(x, y)`` pixels.
    width : int
        Stroke thickness in surface-canvas pixels.
    colour : tuple of int
        BGR.
    t_write, t_erase : float
        Seconds; the stroke is on the board for ``t_write <= t < t_erase``.
    """

    points: FloatArray
    width: int
    colour: tuple[int, int, int]
    t_write: float = -math.inf
    t_erase: float = math.inf

    def alive(self, t: float) -> bool:
        """Whether the stroke is on the board at time ``t``."""
        return self.t_write <= t < self.t_erase


@dataclass(frozen=True)
class PersonPose:
    """A person standing in front of the board, in wall metres.

    Attributes
    ----------
    x : float
        Horizontal centre of the body (0 is the board surface's left edge).
    height : float
        Body height in metres.
    hand : tuple of float or None
        Wall point the writing hand touches, or None with both arms down.
    """

    x: float
    height: float
    hand: tuple[float, float] | None = None


@dataclass
class _Look:
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]


def _rot(axis: int, angle: float) -> F64Array:
    c, s = math.cos(angle), math.sin(angle)
    if axis == 0:
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], np.float64)
    if axis == 1:
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float64)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], np.float64)


def _project(h: F64Array, pts: npt.ArrayLike) -> F64Array:
    p = np.asarray(pts, np.float64).reshape(-1, 1, 2)
    return np.asarray(cv2.perspectiveTransform(p, h), np.float64).reshape(-1, 2)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> FloatArray:
    """Smooth random field in [-1, 1] of ``shape`` with about ``cells`` blobs across."""
    h, w = shape
    gh = max(2, int(cells * h / max(h, w)) + 2)
    gw = max(2, int(cells * w / max(h, w)) + 2)
    grid = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
    return np.asarray(cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)


class BoardScene:
    """A classroom front wall with a board, seen by a camera; renders frames with known truth.

    Parameters
    ----------
    seed : int
        Seeds every random choice.
    size : (int, int)
        Camera image ``(width, height)`` in pixels.
    kind : {"whiteboard", "chalkboard"} or None
        Board type; None picks one at random.
    max_angle : float
        Largest off-axis viewing angle in degrees.
    """

    def __init__(
        self,
        seed: int,
        *,
        size: tuple[int, int] = (1280, 720),
        kind: BoardKind | None = None,
        max_angle: float = 40.0,
        surface_width: int = 1200,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.size = size
        self.kind: BoardKind = kind or ("whiteboard" if rng.random() < 0.55 else "chalkboard")
        self.width_m = float(rng.uniform(2.0, 3.6))
        self.height_m = float(self.width_m / rng.uniform(1.6, 2.6))
        self.aspect = self.width_m / self.height_m
        cw = surface_width
        ch = round(cw / self.aspect)
        self.surface_size = (cw, ch)
        self.px_per_m = cw / self.width_m
        self.strokes: list[Stroke] = []
        self._camera(rng, max_angle)
        self._lighting(rng)
        self._static = self._render_wall(rng)
        self._surface_base = self._render_surface_base(rng)
        self._cache_key: tuple[int, ...] | None = None
        self._cache_img: FloatArray | None = None
        self.look = self._random_look(rng)
        self.noise_sigma = float(rng.uniform(1.5, 6.0))
        self.blur_sigma = float(rng.uniform(0.0, 1.3))
        self.jpeg_quality = int(rng.integers(45, 92))

    # ----------------------------------------------------------------- geometry
    def _camera(self, rng: np.random.Generator, max_angle: float) -> None:
        w, h = self.size
        fov = math.radians(rng.uniform(55, 80))
        f = (w / 2) / math.tan(fov / 2)
        self.focal = f
        k = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]], np.float64)
        yaw = math.radians(rng.uniform(-max_angle, max_angle))
        pitch = math.radians(rng.uniform(-12, 4))
        roll = math.radians(rng.uniform(-2.5, 2.5))
        r = _rot(2, roll) @ _rot(0, pitch) @ _rot(1, -yaw)
        forward = r.T @ np.array([0.0, 0.0, 1.0])
        centre = np.array([self.width_m / 2, self.height_m / 2, 0.0])
        target = centre + np.array(
            [rng.uniform(-0.12, 0.12) * self.width_m, rng.uniform(-0.1, 0.1) * self.height_m, 0]
        )
        want = rng.uniform(0.5, 0.9)
        dist = 6.0
        corners_m = np.array(
            [[0, 0], [self.width_m, 0], [self.width_m, self.height_m], [0, self.height_m]],
            np.float64,
        )
        framed: tuple[F64Array, F64Array] | None = None
        for _ in range(40):
            cam = target - dist * forward
            t = -r @ cam
            hom = k @ np.column_stack([r[:, 0], r[:, 1], t])
            img = _project(hom / hom[2, 2], corners_m)
            span_w = (img[:, 0].max() - img[:, 0].min()) / w
            span_h = (img[:, 1].max() - img[:, 1].min()) / h
            span = max(span_w, span_h / 0.85 * want)
            inside = (
                img[:, 0].min() > 0.03 * w
                and img[:, 0].max() < 0.97 * w
                and img[:, 1].min() > 0.04 * h
                and img[:, 1].max() < 0.9 * h
            )
            if inside:
                framed = (hom, img)
                if abs(span - want) < 0.01:
                    break
            dist *= span / want if inside else 1.08
        else:
            # The size asked for may not fit inside the frame (a steep view of a wide board):
            # the search then swings between too close and too far and can stop on a view that
            # cuts the board off, with corners outside the image that no camera could measure.
            # Then keep the last view that showed the whole board.
            cut = np.any((img < 0) | (img > np.array([w - 1, h - 1])))
            if cut and framed is not None:
                hom, img = framed
        self.plane_to_image: F64Array = hom / hom[2, 2]
        self.corners: FloatArray = img.astype(np.float32)

    # ----------------------------------------------------------------- appearance
    def _lighting(self, rng: np.random.Generator) -> None:
        w, h = self.size
        gx, gy = np.meshgrid(np.linspace(0, w - 1, 41), np.linspace(0, h - 1, 24))
        pts = np.column_stack([gx.ravel(), gy.ravel()])
        plane = _project(np.asarray(np.linalg.inv(self.plane_to_image), np.float64), pts)
        x, y = plane[:, 0], plane[:, 1]
        light = np.full(x.shape, rng.uniform(0.25, 0.5))
        for _ in range(int(rng.integers(1, 4))):
            lx = rng.uniform(-1.0, self.width_m + 1.0)
            ly = rng.uniform(-2.0, self.height_m * 0.6)
            rad = rng.uniform(0.8, 2.5)
            light += rng.uniform(0.3, 0.8) / (1 + ((x - lx) ** 2 + (y - ly) ** 2) / rad**2)
        light += rng.uniform(-0.12, 0.12) * (x - self.width_m / 2)
        light = np.clip(light, 0.15, None)
        grid = light.reshape(gx.shape).astype(np.float32)
        centre = _project(self.plane_to_image, [[self.width_m / 2, self.height_m / 2]])[0]
        ref = float(grid[int(centre[1] / h * 23), int(centre[0] / w * 40)])
        full = cv2.resize(grid / ref, (w, h), interpolation=cv2.INTER_LINEAR)
        full *= rng.uniform(0.8, 1.05)
        cast = np.array([rng.uniform(0.78, 1.08), rng.uniform(0.9, 1.05), rng.uniform(0.9, 1.15)])
        cast /= cast.max()
        self.cast = cast.astype(np.float32)
        self.light = (full[:, :, None] * self.cast[None, None, :]).astype(np.float32)
        glare = np.zeros((h, w), np.float32)
        n_glare = (
            int(rng.integers(1, 3))
            if rng.random() < (0.7 if self.kind == "whiteboard" else 0.25)
            else 0
        )
        for _ in range(n_glare):
            c = _project(
                self.plane_to_image,
                [[rng.uniform(0.1, 0.9) * self.width_m, rng.uniform(0.1, 0.9) * self.height_m]],
            )[0]
            ax = rng.uniform(0.04, 0.12) * w
            ay = ax * rng.uniform(0.4, 1.0)
            ang = rng.uniform(0, math.pi)
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            dx, dy = xx - c[0], yy - c[1]
            u = (dx * math.cos(ang) + dy * math.sin(ang)) / ax
            v = (-dx * math.sin(ang) + dy * math.cos(ang)) / ay
            amp = rng.uniform(50, 130) if self.kind == "whiteboard" else rng.uniform(15, 40)
            glare += amp * np.exp(-0.5 * (u * u + v * v))
        self.glare = glare

    def _render_wall(self, rng: np.random.Generator) -> FloatArray:
        w, h = self.size
        inv = np.asarray(np.linalg.inv(self.plane_to_image), np.float64)
        view = _project(inv, [[0, 0], [w, 0], [w, h], [0, h]])
        x0 = max(float(view[:, 0].min()), -7.0) - 0.2
        x1 = min(float(view[:, 0].max()), self.width_m + 7.0) + 0.2
        y0 = max(float(view[:, 1].min()), -4.0) - 0.2
        y1 = min(float(view[:, 1].max()), self.height_m + 4.0) + 0.2
        s = 150.0
        cw, ch = int((x1 - x0) * s) + 1, int((y1 - y0) * s) + 1
        wall_colour = np.array(
            [
                (200, 220, 230),
                (190, 215, 200),
                (215, 210, 190),
                (175, 200, 215),
                (225, 225, 222),
                (160, 190, 200),
                (200, 200, 170),
            ][int(rng.integers(0, 7))],
            np.float32,
        ) * rng.uniform(0.85, 1.05)
        canvas = np.empty((ch, cw, 3), np.float32)
        canvas[:] = wall_colour
        canvas *= (1 + 0.06 * _smooth_noise(rng, (ch, cw), 12))[:, :, None]
        canvas += rng.normal(0, 3, (ch, cw, 1)).astype(np.float32)

        def to_px(x: float, y: float) -> tuple[int, int]:
            return int((x - x0) * s), int((y - y0) * s)

        bw, bh = self.width_m, self.height_m
        frame_w = rng.uniform(0.02, 0.035) if self.kind == "whiteboard" else rng.uniform(0.03, 0.08)
        if self.kind == "whiteboard":
            frame_col = np.array([175, 175, 170]) * rng.uniform(0.75, 1.05)
        else:
            frame_col = np.array([40, 80, 130]) * rng.uniform(0.6, 1.2)
        # Posters and windows beside the board (never over it).
        occupied = [(-frame_w - 0.1, -frame_w - 0.1, bw + frame_w + 0.1, bh + 0.3)]
        for i in range(int(rng.integers(2, 7))):
            is_window = i < 2 and rng.random() < 0.6
            pw = rng.uniform(0.9, 1.6) if is_window else rng.uniform(0.3, 0.9)
            ph = rng.uniform(1.0, 1.5) if is_window else pw * rng.uniform(0.7, 1.5)
            for _ in range(20):
                px = rng.uniform(x0 - pw / 2, x1 - pw / 2)
                py = rng.uniform(max(y0, -1.5), min(y1, bh + 0.6) - ph * 0.5)
                box = (px, py, px + pw, py + ph)
                if all(
                    box[2] < o[0] - 0.05
                    or box[0] > o[2] + 0.05
                    or box[3] < o[1] - 0.05
                    or box[1] > o[3] + 0.05
                    for o in occupied
                ):
                    occupied.append(box)
                    self._draw_rect_item(canvas, rng, to_px, box, is_window, s)
                    break
        # Frame, then the tray under it.
        a = to_px(-frame_w, -frame_w)
        b = to_px(bw + frame_w, bh + frame_w)
        cv2.rectangle(canvas, a, b, frame_col.tolist(), -1)
        cv2.rectangle(canvas, a, b, (frame_col * 0.7).tolist(), 2)
        tray_h = rng.uniform(0.03, 0.07)
        ta = to_px(-frame_w * 0.5, bh + frame_w)
        tb = to_px(bw + frame_w * 0.5, bh + frame_w + tray_h)
        cv2.rectangle(canvas, ta, tb, (frame_col * 0.8).tolist(), -1)
        cv2.line(canvas, (ta[0], tb[1]), tb, (frame_col * 0.45).tolist(), 2)
        wall_to_plane = np.array([[1 / s, 0, x0 + 0.5 / s], [0, 1 / s, y0 + 0.5 / s], [0, 0, 1]])
        hom = self.plane_to_image @ wall_to_plane
        img = cv2.warpPerspective(
            canvas, hom, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        return np.asarray(img, np.float32)

    def _draw_rect_item(
        self,
        canvas: FloatArray,
        rng: np.random.Generator,
        to_px: object,
        box: tuple[float, float, float, float],
        is_window: bool,
        s: float,
    ) -> None:
        conv = to_px  # keeps mypy happy about the callable's use below
        if not callable(conv):
            return
        a = conv(box[0], box[1])
        b = conv(box[2], box[3])
        if is_window:
            sky = np.array([rng.uniform(200, 255), rng.uniform(200, 250), rng.uniform(180, 240)])
            cv2.rectangle(canvas, a, b, sky.tolist(), -1)
            # Trees or buildings in the lower part.
            for _ in range(int(rng.integers(0, 6))):
                cx = int(rng.uniform(a[0], b[0]))
                cy = int(rng.uniform((a[1] + b[1]) / 2, b[1]))
                cv2.circle(
                    canvas,
                    (cx, cy),
                    int(rng.uniform(0.1, 0.3) * s),
                    (40, rng.uniform(90, 150), 50),
                    -1,
                )
            bar = (230, 230, 230) if rng.random() < 0.5 else (60, 70, 80)
            cv2.rectangle(canvas, a, b, bar, max(3, int(0.05 * s)))
            mx = (a[0] + b[0]) // 2
            my = (a[1] + b[1]) // 2
            cv2.line(canvas, (mx, a[1]), (mx, b[1]), bar, max(2, int(0.03 * s)))
            cv2.line(canvas, (a[0], my), (b[0], my), bar, max(2, int(0.03 * s)))
            return
        bg = rng.uniform(30, 255, 3)
        cv2.rectangle(canvas, a, b, bg.tolist(), -1)
        for _ in range(int(rng.integers(3, 12))):
            pa = (int(rng.uniform(a[0], b[0])), int(rng.uniform(a[1], b[1])))
            pb = (int(rng.uniform(a[0], b[0])), int(rng.uniform(a[1], b[1])))
            col = rng.uniform(0, 255, 3).tolist()
            if rng.random() < 0.5:
                cv2.rectangle(canvas, pa, pb, col, -1)
            else:
                cv2.circle(canvas, pa, int(abs(pb[0] - pa[0]) / 2) + 2, col, -1)
        for k in range(int(rng.integers(0, 6))):
            y = int(a[1] + (k + 1) * (b[1] - a[1]) / 8)
            cv2.line(canvas, (a[0] + 4, y), (int(rng.uniform(a[0], b[0])), y), (20, 20, 20), 2)

    def _render_surface_base(self, rng: np.random.Generator) -> FloatArray:
        cw, ch = self.surface_size
        if self.kind == "whiteboard":
            base = np.array([rng.uniform(232, 250)] * 3) + rng.uniform(-6, 6, 3)
            surface = np.empty((ch, cw, 3), np.float32)
            surface[:] = base
            # Ghosts of old writing: faint, smudged.
            ghost = np.zeros((ch, cw), np.float32)
            for st in self._scribble(rng, n_blocks=2, t=0.0, colours=((0, 0, 0),)):
                cv2.polylines(ghost, [st.points.astype(np.int32)], False, 1.0, st.width + 6)
            ghost = np.asarray(cv2.GaussianBlur(ghost, (0, 0), 6), np.float32)
            surface *= (1 - rng.uniform(0.02, 0.06) * ghost)[:, :, None]
        else:
            if rng.random() < 0.7:
                base = np.array([rng.uniform(45, 70), rng.uniform(70, 100), rng.uniform(40, 60)])
            else:
                base = np.array([rng.uniform(35, 55)] * 3)
            surface = np.empty((ch, cw, 3), np.float32)
            surface[:] = base
            smudge = np.clip(_smooth_noise(rng, (ch, cw), 10), 0, 1)
            surface += (rng.uniform(8, 22) * smudge)[:, :, None]
        surface *= (1 + 0.02 * _smooth_noise(rng, (ch, cw), 30))[:, :, None]
        return surface

    def _random_look(self, rng: np.random.Generator) -> _Look:
        shirts = [
            (240, 240, 240),
            (30, 30, 30),
            (150, 60, 30),
            (60, 60, 170),
            (90, 150, 90),
            (200, 170, 120),
            (120, 120, 125),
            (40, 90, 160),
            (200, 210, 220),
        ]
        shirt = shirts[int(rng.integers(0, len(shirts)))]
        skin_v = rng.uniform(0.55, 1.0)
        dark = int(rng.uniform(20, 80))
        return _Look(
            shirt=shirt,
            trousers=(dark, dark, dark),
            skin=(int(90 * skin_v), int(130 * skin_v), int(185 * skin_v)),
            hair=(20, 20, 25),
        )

    # ----------------------------------------------------------------- content
    def _scribble(
        self,
        rng: np.random.Generator,
        *,
        n_blocks: int,
        t: float,
        colours: tuple[tuple[int, int, int], ...] | None = None,
        region: tuple[float, float, float, float] | None = None,
    ) -> list[Stroke]:
        """Handwriting-like strokes: rows of words and a few diagrams, in surface pixels."""
        cw, ch = self.surface_size
        cols = colours or (_MARKERS if self.kind == "whiteboard" else _CHALKS)
        s = self.px_per_m
        out: list[Stroke] = []
        for _ in range(n_blocks):
            if region is None:
                bx0 = rng.uniform(0.03, 0.6) * cw
                bx1 = min(cw * 0.97, bx0 + rng.uniform(0.25, 0.5) * cw)
                by0 = rng.uniform(0.04, 0.5) * ch
                by1 = min(ch * 0.95, by0 + rng.uniform(0.25, 0.5) * ch)
            else:
                bx0, by0, bx1, by1 = (v * s for v in region)
            colour = cols[int(rng.integers(0, len(cols)))]
            width = max(2, round(rng.uniform(0.006, 0.01) * s))
            letter_h = rng.uniform(0.07, 0.13) * s
            if rng.random() < 0.25:
                out.extend(self._diagram(rng, (bx0, by0, bx1, by1), colour, width, t))
                continue
            y = by0 + letter_h
            while y < by1:
                x = bx0 + rng.uniform(0, 0.1) * (bx1 - bx0)
                while x < bx1 - letter_h:
                    for _ in range(int(rng.integers(2, 6))):
                        if x > bx1 - letter_h * 0.6:
                            break
                        lw = letter_h * rng.uniform(0.4, 0.75)
                        n = int(rng.integers(3, 6))
                        ctrl = np.column_stack(
                            [x + rng.uniform(0, lw, n), y - rng.uniform(0, letter_h, n)]
                        )
                        out.append(Stroke(_spline(ctrl), width, colour, t))
                        x += lw * 1.1
                    x += letter_h * 0.7
                y += letter_h * rng.uniform(1.5, 1.9)
        return out

    def _diagram(
        self,
        rng: np.random.Generator,
        box: tuple[float, float, float, float],
        colour: tuple[int, int, int],
        width: int,
        t: float,
    ) -> list[Stroke]:
        x0, y0, x1, y1 = box
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        r = min(x1 - x0, y1 - y0) / 2 * 0.8
        shapes: list[FloatArray] = []
        ang = np.linspace(0, 2 * np.pi, 60)
        shapes.append(np.column_stack([cx + r * np.cos(ang), cy + r * 0.8 * np.sin(ang)]))
        shapes.append(np.array([[x0, cy], [x1, cy]], np.float32))
        shapes.append(np.array([[cx, y0], [cx, y1]], np.float32))
        xs = np.linspace(x0, x1, 40)
        shapes.append(np.column_stack([xs, cy - r * 0.6 * np.sin((xs - x0) / (x1 - x0) * 6.0)]))
        return [Stroke(p.astype(np.float32), width, colour, t) for p in shapes]

    def add_strokes(self, strokes: list[Stroke]) -> None:
        """Put strokes on the board (their times decide when they show)."""
        self.strokes.extend(strokes)
        self._cache_key = None

    # ----------------------------------------------------------------- truth
    def ink_mask(self, t: float) -> BoolArray:
        """True ink on the surface at time ``t``, shape ``(ch, cw)``, surface pixels."""
        cw, ch = self.surface_size
        mask = np.zeros((ch, cw), np.uint8)
        for st in self.strokes:
            if st.alive(t):
                cv2.polylines(mask, [np.round(st.points).astype(np.int32)], False, 1, st.width)
        return mask.astype(bool)

    def person_polygons(self, pose: PersonPose) -> list[tuple[F64Array, str]]:
        """Body part polygons in wall metres with their part name."""
        floor = self.height_m + 0.85
        top = floor - pose.height
        sc = pose.height / 1.7
        x = pose.x
        parts: list[tuple[F64Array, str]] = []
        ang = np.linspace(0, 2 * np.pi, 24)
        head_c = (x, top + 0.12 * sc)
        head = np.column_stack(
            [head_c[0] + 0.085 * sc * np.cos(ang), head_c[1] + 0.115 * sc * np.sin(ang)]
        )
        sh_y, waist_y = top + 0.27 * sc, top + 0.85 * sc
        legs = np.array(
            [
                [x - 0.17, waist_y],
                [x + 0.17, waist_y],
                [x + 0.16, floor],
                [x + 0.02, floor],
                [x, waist_y + 0.1],
                [x - 0.02, floor],
                [x - 0.16, floor],
            ]
        )
        torso = np.array(
            [
                [x - 0.22 * sc, sh_y],
                [x + 0.22 * sc, sh_y],
                [x + 0.18 * sc, waist_y + 0.05],
                [x - 0.18 * sc, waist_y + 0.05],
            ]
        )
        neck = np.array(
            [
                [x - 0.04, top + 0.2 * sc],
                [x + 0.04, top + 0.2 * sc],
                [x + 0.05, sh_y + 0.02],
                [x - 0.05, sh_y + 0.02],
            ]
        )
        parts += [(legs, "trousers"), (neck, "skin"), (torso, "shirt"), (head, "skin")]
        hair = head[(head[:, 1] <= head_c[1] + 0.01)]
        parts.append((hair, "hair"))
        for side in (-1, 1):
            shoulder = np.array([x + side * 0.2 * sc, sh_y + 0.04])
            if pose.hand is not None and side == (1 if pose.hand[0] >= x else -1):
                hand = np.array(pose.hand, np.float64)
            else:
                hand = np.array([x + side * 0.25 * sc, waist_y + 0.05])
            d = hand - shoulder
            n = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-9) * 0.05
            arm = np.array([shoulder + n, hand + n * 0.8, hand - n * 0.8, shoulder - n])
            parts.append((arm, "shirt"))
            parts.append(
                (
                    np.column_stack([hand[0] + 0.045 * np.cos(ang), hand[1] + 0.045 * np.sin(ang)]),
                    "skin",
                )
            )
        return parts

    def person_mask(self, pose: PersonPose | None) -> BoolArray:
        """Surface pixels hidden by the person, shape ``(ch, cw)``."""
        cw, ch = self.surface_size
        mask = np.zeros((ch, cw), np.uint8)
        if pose is None:
            return mask.astype(bool)
        s = self.px_per_m
        for poly, _ in self.person_polygons(pose):
            pts = np.round((poly * s - 0.5) * 16).astype(np.int32)
            cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=4)
        return mask.astype(bool)

    # ----------------------------------------------------------------- rendering
    def _board_image(self, t: float) -> FloatArray:
        key = tuple(i for i, st in enumerate(self.strokes) if st.alive(t))
        if key == self._cache_key and self._cache_img is not None:
            return self._cache_img
        cw, ch = self.surface_size
        surface = self._surface_base.copy()
        colour = np.zeros((ch, cw, 3), np.uint8)
        alpha = np.zeros((ch, cw), np.uint8)
        for i in key:
            st = self.strokes[i]
            pts = [np.round(st.points * 8).astype(np.int32)]
            cv2.polylines(colour, pts, False, st.colour, st.width, cv2.LINE_AA, 3)
            cv2.polylines(alpha, pts, False, 255, st.width, cv2.LINE_AA, 3)
        a = alpha.astype(np.float32) / 255.0
        if self.kind == "chalkboard":
            grain = self.rng.uniform(0.55, 1.0, (ch, cw)).astype(np.float32)
            a *= cv2.GaussianBlur(grain, (3, 3), 0) * 0.95
        else:
            a *= 0.92
        surface = surface * (1 - a[:, :, None]) + colour.astype(np.float32) * a[:, :, None]
        w, h = self.size
        s = self.px_per_m
        surf_to_plane = np.array([[1 / s, 0, 0.5 / s], [0, 1 / s, 0.5 / s], [0, 0, 1]])
        hom = self.plane_to_image @ surf_to_plane
        warped = cv2.warpPerspective(surface, hom, (w, h), flags=cv2.INTER_LINEAR)
        cover = cv2.warpPerspective(
            np.ones((ch, cw), np.float32), hom, (w, h), flags=cv2.INTER_LINEAR
        )
        img = self._static * (1 - cover[:, :, None]) + warped * cover[:, :, None]
        img = img * self.light + self.glare[:, :, None]
        self._cache_key = key
        self._cache_img = np.asarray(img, np.float32)
        return self._cache_img

    def render(
        self, t: float, pose: PersonPose | None = None, *, gain: float = 1.0, seed: int = 0
    ) -> ImageArray:
        """Render the camera image at time ``t``.

        Returns
        -------
        (H, W, 3) uint8, BGR
        """
        img = self._board_image(t)
        rng = np.random.default_rng(seed)
        if pose is not None:
            img = img.copy()
            self._draw_person(img, pose)
        out = img * gain
        noise = rng.normal(0, self.noise_sigma, out.shape[:2]).astype(np.float32)
        out += noise[:, :, None]
        if self.blur_sigma > 0.3:
            out = np.asarray(cv2.GaussianBlur(out, (0, 0), self.blur_sigma), np.float32)
        u8 = np.asarray(np.clip(out, 0, 255), np.uint8)
        ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            return u8
        return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), np.uint8)

    def _draw_person(self, img: FloatArray, pose: PersonPose) -> None:
        h, w = img.shape[:2]
        polys = self.person_polygons(pose)
        shadow = np.zeros((h, w), np.float32)
        for poly, _ in polys:
            p = _project(self.plane_to_image, poly + np.array([0.12, 0.05]))
            cv2.fillPoly(shadow, [np.round(p * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
        shadow = np.asarray(cv2.GaussianBlur(shadow, (0, 0), 12), np.float32)
        img *= (1 - 0.25 * shadow)[:, :, None]
        colours = {
            "shirt": self.look.shirt,
            "trousers": self.look.trousers,
            "skin": self.look.skin,
            "hair": self.look.hair,
        }
        lit = float(self.light[h // 2, w // 2].mean())
        for poly, part in polys:
            p = _project(self.plane_to_image, poly)
            col = [c * lit for c in colours[part]]
            cv2.fillPoly(img, [np.round(p * 16).astype(np.int32)], col, cv2.LINE_AA, 4)


def _spline(ctrl: npt.ArrayLike, samples: int = 24) -> FloatArray:
    """Smooth open curve through control points (Catmull-Rom), ``(samples, 2)`` float32."""
    p = np.asarray(ctrl, np.float64)
    p = np.vstack([p[0], p, p[-1]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        for u in np.linspace(0, 1, max(2, samples // (len(p) - 3)), endpoint=False):
            u2, u3 = u * u, u * u * u
            out.append(
                0.5
                * (
                    (2 * p1)
                    + (-p0 + p2) * u
                    + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u2
                    + (-p0 + 3 * p1 - 3 * p2 + p3) * u3
                )
            )
    out.append(p[-2])
    return np.asarray(out, np.float32)


# --------------------------------------------------------------------------- photos


@dataclass
class BoardPhoto:
    """A synthetic still with its truth.

    Attributes
    ----------
    image : (H, W, 3) uint8, BGR
    corners : (4, 2) float32, TL, TR, BR, BL
        The writing surface in image pixels.
    kind : {"whiteboard", "chalkboard"}
    aspect : float
        True width over height of the writing surface.
    ink : (ch, cw) bool
        True ink in surface pixels.
    hidden : (ch, cw) bool
        Surface pixels covered by a person.
    focal : float
        The camera's focal length in pixels.
    """

    image: ImageArray
    corners: FloatArray
    kind: BoardKind
    aspect: float
    ink: BoolArray
    hidden: BoolArray
    focal: float


def make_board_photo(
    seed: int,
    *,
    size: tuple[int, int] = (1280, 720),
    kind: BoardKind | None = None,
    person: bool | None = None,
    max_angle: float = 40.0,
) -> BoardPhoto:
    """Render one board photo with known corners and ink.

    Parameters
    ----------
    seed : int
    size : (int, int)
        Image ``(width, height)``.
    kind : {"whiteboard", "chalkboard"} or None
        None picks at random.
    person : bool or None
        Whether a person stands in front; None picks at random (about half the time).
    """
    scene = BoardScene(seed, size=size, kind=kind, max_angle=max_angle)
    rng = np.random.default_rng(seed + 7_919)
    scene.add_strokes(scene._scribble(rng, n_blocks=int(rng.integers(1, 5)), t=-1.0))
    pose = None
    if person if person is not None else rng.random() < 0.5:
        px = rng.uniform(-0.1, 1.1) * scene.width_m
        hand = None
        if rng.random() < 0.5:
            hand = (px + rng.uniform(0.2, 0.5), rng.uniform(0.2, 0.8) * scene.height_m)
        pose = PersonPose(px, float(rng.uniform(1.5, 1.8)), hand)
    image = scene.render(0.0, pose, seed=seed)
    return BoardPhoto(
        image=image,
        corners=scene.corners,
        kind=scene.kind,
        aspect=scene.aspect,
        ink=scene.ink_mask(0.0),
        hidden=scene.person_mask(pose),
        focal=scene.focal,
    )


# --------------------------------------------------------------------------- videos


@dataclass(frozen=True)
class TruthEvent:
    """A moment the board should be kept: just before an erase, or a page change."""

    t: float
    kind: EventKind


@dataclass(frozen=True)
class _Segment:
    t0: float
    t1: float
    x0: float
    x1: float
    action: Literal["walk", "write", "stand", "erase", "away"]


@dataclass
class BoardVideo:
    """A synthetic lesson clip: a person writes, stands, walks by, erases; pages change.

    Attributes
    ----------
    scene : BoardScene
    fps : float
    duration : float
        Seconds.
    events : list of TruthEvent
        When the full board should be kept (erase starts and page changes).
    still : list of (float, float)
        Intervals in which the person stands still in front of the board.
    """

    scene: BoardScene
    fps: float
    duration: float
    events: list[TruthEvent] = field(default_factory=list)
    still: list[tuple[float, float]] = field(default_factory=list)
    segments: list[_Segment] = field(default_factory=list)
    gains: F64Array = field(default_factory=lambda: np.ones(1))
    seed: int = 0

    @property
    def n_frames(self) -> int:
        """Number of frames in the clip."""
        return int(self.duration * self.fps)

    def time(self, index: int) -> float:
        """Timestamp of frame ``index`` in seconds."""
        return index / self.fps

    def pose(self, t: float) -> PersonPose | None:
        """Where the person is at ``t`` (None when nobody is in view)."""
        for seg in self.segments:
            if seg.t0 <= t < seg.t1:
                if seg.action == "away":
                    return None
                u = (t - seg.t0) / max(seg.t1 - seg.t0, 1e-9)
                x = seg.x0 + (seg.x1 - seg.x0) * u
                sc = self.scene
                x += 0.01 * math.sin(2 * math.pi * 0.4 * t)  # people sway a little
                hand = None
                if seg.action == "write":
                    hand = self._writing_hand(t, x)
                elif seg.action == "erase":
                    yy = sc.height_m * (0.5 + 0.35 * math.sin(2 * math.pi * 1.2 * t))
                    hand = (x + 0.35, yy)
                elif seg.action == "stand":
                    hand = (x + 0.3, sc.height_m * 0.45 + 0.02 * math.sin(3 * t))
                return PersonPose(x, 1.68, hand)
        return None

    def _writing_hand(self, t: float, x: float) -> tuple[float, float]:
        latest = None
        for st in self.scene.strokes:
            if st.t_write <= t and (latest is None or st.t_write > latest.t_write):
                latest = st
        s = self.scene.px_per_m
        if latest is None:
            return (x + 0.3, self.scene.height_m * 0.4)
        p = latest.points[-1]
        return (float(p[0] / s) + 0.02, float(p[1] / s) + 0.05)

    def frame(self, index: int) -> ImageArray:
        """Render frame ``index``: (H, W, 3) uint8 BGR."""
        t = self.time(index)
        return self.scene.render(
            t, self.pose(t), gain=float(self.gains[index]), seed=self.seed * 100_003 + index
        )

    def frames(self) -> Iterator[tuple[float, ImageArray]]:
        """Yield ``(t, frame)`` for every frame."""
        for i in range(self.n_frames):
            yield self.time(i), self.frame(i)


def make_board_video(
    seed: int,
    *,
    size: tuple[int, int] = (1280, 720),
    fps: float = 10.0,
    kind: BoardKind | None = None,
    max_angle: float = 40.0,
) -> BoardVideo:
    """Script a short lesson clip with known erase and page-change times.

    The clip opens on a written board; then a teacher walks in, writes, stands still for a
    few seconds, walks off; somebody walks past; a partial correction; a full erase (truth
    event at its start) and rewrite; a page change (the whole content swaps at once); the
    camera's auto exposure flickers and steps throughout.
    """
    scene = BoardScene(seed, size=size, kind=kind, max_angle=max_angle)
    rng = np.random.default_rng(seed + 31_337)
    bw, bh = scene.width_m, scene.height_m
    segs: list[_Segment] = []
    events: list[TruthEvent] = []
    still: list[tuple[float, float]] = []
    initial = scene._scribble(rng, n_blocks=int(rng.integers(2, 4)), t=-1.0)
    scene.add_strokes(initial)
    t = 0.0

    def seg(dur: float, x0: float, x1: float, action: str) -> tuple[float, float]:
        nonlocal t
        segs.append(_Segment(t, t + dur, x0, x1, action))  # type: ignore[arg-type]
        t += dur
        return t - dur, t

    def write_at(x: float, t0: float, t1: float) -> None:
        x0 = float(np.clip(x + 0.15, 0.05, bw - 0.9))
        region = (
            x0,
            rng.uniform(0.05, 0.4) * bh,
            min(bw - 0.05, x0 + 0.8),
            min(bh - 0.05, rng.uniform(0.6, 0.9) * bh),
        )
        block = scene._scribble(rng, n_blocks=1, t=t0, region=region)
        for i, st in enumerate(block):
            st.t_write = t0 + (t1 - t0) * (i + 1) / (len(block) + 1)
        scene.add_strokes(block)

    def erase_sweep(x0: float, x1: float, t0: float, t1: float, only: list[Stroke]) -> None:
        s = scene.px_per_m
        for st in only:
            cx = float(st.points[:, 0].mean()) / s
            u = (cx - x0) / (x1 - x0) if x1 != x0 else 0.0
            st.t_erase = min(st.t_erase, t0 + float(np.clip(u, 0.0, 1.0)) * (t1 - t0) + 0.05)

    off_l, off_r = -0.9, bw + 0.9
    seg(rng.uniform(1.0, 2.5), off_l, off_l, "away")
    xa = rng.uniform(0.1, 0.5) * bw
    seg(abs(xa - off_l) / 1.0, off_l, xa, "walk")
    t0, t1 = seg(rng.uniform(3.0, 5.0), xa, xa, "write")
    write_at(xa, t0, t1)
    xb = float(np.clip(xa + rng.uniform(0.6, 1.2), 0.3, bw - 0.3))
    seg(abs(xb - xa) / 0.8 + 0.1, xa, xb, "walk")
    still.append(seg(rng.uniform(3.5, 5.0), xb, xb, "stand"))
    seg(abs(off_r - xb) / 1.0, xb, off_r, "walk")
    seg(rng.uniform(1.5, 3.0), off_r, off_r, "away")
    # Somebody walks past the whole board without stopping.
    seg((off_r - off_l) / 1.3, off_r, off_l, "walk")
    seg(rng.uniform(1.5, 3.0), off_l, off_l, "away")
    # A small correction: a few strokes wiped and rewritten (not a keyframe).
    alive = [st for st in scene.strokes if st.t_erase == math.inf]
    xc = rng.uniform(0.2, 0.6) * bw
    seg(abs(xc - off_l) / 1.0, off_l, xc, "walk")
    t0, t1 = seg(2.0, xc, xc, "erase")
    near = [
        st for st in alive if abs(float(st.points[:, 0].mean()) / scene.px_per_m - xc - 0.35) < 0.08
    ][:6]
    for st in near:
        st.t_erase = t0 + 0.8
    seg(abs(off_l - xc) / 1.0, xc, off_l, "walk")
    seg(rng.uniform(2.0, 3.0), off_l, off_l, "away")
    # Full erase: walk to the left end, wipe to the right end.
    seg(abs(0.0 - off_l) / 1.0, off_l, -0.3, "walk")
    t0, t1 = seg(rng.uniform(4.0, 6.0), -0.3, bw - 0.3, "erase")
    wiped = [st for st in scene.strokes if st.t_write < t0 and st.t_erase > t0]
    erase_sweep(-0.3 + 0.35, bw + 0.05, t0, t1, wiped)
    # The board is complete until the eraser meets its first stroke.
    events.append(TruthEvent(min((st.t_erase for st in wiped), default=t0), "erase"))
    t0, t1 = seg(rng.uniform(3.0, 4.5), bw - 0.3, bw - 0.3, "write")
    write_at(bw - 1.3, t0, t1)
    seg(abs(off_r - bw + 0.3) / 1.0, bw - 0.3, off_r, "walk")
    _, tp = seg(rng.uniform(2.5, 4.0), off_r, off_r, "away")
    # Page change: all content swaps at once.
    for st in scene.strokes:
        st.t_erase = min(st.t_erase, tp)
    page = scene._scribble(rng, n_blocks=int(rng.integers(2, 4)), t=tp)
    scene.add_strokes(page)
    events.append(TruthEvent(tp, "page"))
    seg(rng.uniform(4.0, 6.0), off_r, off_r, "away")
    duration = t
    n = int(duration * fps)
    # Auto exposure: per-frame flicker plus a few steps that settle over ~0.3 s.
    gains = 1 + rng.normal(0, 0.02, n)
    level = 1.0
    target = 1.0
    for i in range(n):
        if rng.random() < 0.4 / fps:
            target = float(rng.uniform(0.85, 1.15))
        level += (target - level) * min(1.0, 3.0 / fps)
        gains[i] *= level
    return BoardVideo(
        scene=scene,
        fps=fps,
        duration=duration,
        events=events,
        still=still,
        segments=segs,
        gains=gains,
        seed=seed,
    )
