"""Board-capture benchmark: ours vs the classic document-scanner recipe on synthetic truth.

Run ``.venv/bin/python bench/capture.py [--quick]``. Progress goes to stderr; the last stdout
line is one JSON object with the metrics for ``ours`` and ``baseline`` and their ratios.

Stills come from :func:`testkit.synth.make_board_photo` (whiteboards and chalkboards, up
to 40 degrees off-axis, uneven light, glare, colour casts, posters and windows, a person in
front about half the time, noise, blur, JPEG); clips from
:func:`testkit.synth.make_board_video` (writing, standing still, walking by, a small
correction, a full erase, a page change, exposure flicker). Metrics:

- corners: share of images whose worst corner is within 2 % of the board diagonal, median
  worst-corner error (px), mean IoU of the quads (a missed board counts as IoU 0);
- ink F1: the enhanced board's ink against the true ink on the true board grid, 3 px
  tolerance, pixels hidden by a person left out (end to end, with the detected quad);
- occluder residue: share of the board where the clean board still shows the person (differs
  by more than 40/255 from the same frame rendered without the person) once the person has
  stood still for 2 s;
- keyframes: precision / recall of keyframe times within +-2 s of the true erase/page times;
- fps: steady-state frames per second at 1280x720 on one thread.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

import _path  # noqa: F401  (the repo root on sys.path, for the kit)
import cv2
import numpy as np

from boardclient.detect import find_board_quad
from boardclient.enhance import classify_board, extract_ink
from boardclient.evaluate import ink_f1, to_truth_grid
from boardclient.geometry import corner_errors, order_corners, quad_diagonal, quad_iou
from boardclient.pipeline import BoardPipeline
from boardclient.rectify import board_size, rectify
from testkit.synth import BoardVideo, make_board_photo, make_board_video

MATCH_WINDOW = 2.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- baseline
def baseline_quad(image: np.ndarray) -> np.ndarray:
    """The classic recipe: Canny, largest 4-point contour; the whole image if none."""
    h, w = image.shape[:2]
    scale = 500 / h
    small = cv2.resize(image, (round(w * scale), 500))
    grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    edges = cv2.Canny(grey, 75, 200)
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    for c in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
        approx = cv2.approxPolyDP(c, 0.02 * cv2.arcLength(c, True), True)
        if len(approx) == 4:
            return order_corners(approx.reshape(4, 2) / scale)
    return np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)


def baseline_ink(board: np.ndarray) -> np.ndarray:
    """Adaptive threshold; dark pixels are ink."""
    grey = cv2.cvtColor(board, cv2.COLOR_BGR2GRAY)
    binary = cv2.adaptiveThreshold(
        grey, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 11, 10
    )
    return np.asarray(binary == 0, bool)


def baseline_board(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    w = int(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])))
    h = int(max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])))
    return rectify(image, quad, (max(w, 8), max(h, 8)))


# ----------------------------------------------------------------------------- stills
def eval_stills(n: int, seed: int) -> dict[str, dict[str, list[float]]]:
    res: dict[str, dict[str, list[float]]] = {
        "ours": {"err": [], "err_px": [], "iou": [], "f1": [], "f1_true": [], "kind": []},
        "baseline": {"err": [], "err_px": [], "iou": [], "f1": []},
    }
    for i in range(n):
        photo = make_board_photo(seed + i)
        truth = photo.corners
        diag = quad_diagonal(truth)
        size_truth = (photo.ink.shape[1], photo.ink.shape[0])
        img_size = (photo.image.shape[1], photo.image.shape[0])
        quad = find_board_quad(photo.image)
        o = res["ours"]
        if quad is None:
            o["err"].append(math.inf)
            o["err_px"].append(math.inf)
            o["iou"].append(0.0)
            o["f1"].append(0.0)
        else:
            e = float(corner_errors(quad.corners, truth).max())
            o["err"].append(e / diag)
            o["err_px"].append(e)
            o["iou"].append(quad_iou(quad.corners, truth))
            board = rectify(photo.image, quad.corners, board_size(quad.corners, img_size))
            layer = extract_ink(board)
            found = to_truth_grid(layer.mask, quad.corners, truth, size_truth)
            o["f1"].append(ink_f1(found, photo.ink, exclude=photo.hidden)[2])
        board_t = rectify(photo.image, truth, board_size(truth, img_size))
        kind = classify_board(board_t)
        o["kind"].append(float(kind == photo.kind))
        layer_t = extract_ink(board_t)
        found_t = to_truth_grid(layer_t.mask, truth, truth, size_truth)
        o["f1_true"].append(ink_f1(found_t, photo.ink, exclude=photo.hidden)[2])

        bq = baseline_quad(photo.image)
        b = res["baseline"]
        e = float(corner_errors(bq, truth).max())
        b["err"].append(e / diag)
        b["err_px"].append(e)
        b["iou"].append(quad_iou(bq, truth))
        bboard = baseline_board(photo.image, bq)
        bfound = to_truth_grid(baseline_ink(bboard), bq, truth, size_truth)
        b["f1"].append(ink_f1(bfound, photo.ink, exclude=photo.hidden)[2])
        if (i + 1) % 10 == 0 or i + 1 == n:
            log(
                f"stills {i + 1}/{n}: ours within 2% "
                f"{np.mean(np.array(o['err']) <= 0.02):.3f}, ink F1 {np.mean(o['f1']):.3f}"
            )
    return res


# ----------------------------------------------------------------------------- videos
def match_events(found: list[float], truth: list[float]) -> tuple[int, int, int]:
    """Greedy one-to-one matching within the window: (true positives, found, truth)."""
    used: set[int] = set()
    tp = 0
    for t in sorted(found):
        best = None
        for j, tt in enumerate(truth):
            if j in used or abs(t - tt) > MATCH_WINDOW:
                continue
            if best is None or abs(t - tt) < abs(t - truth[best]):
                best = j
        if best is not None:
            used.add(best)
            tp += 1
    return tp, len(found), len(truth)


def residue_of(
    shown: np.ndarray, corners: np.ndarray, video: BoardVideo, index: int, t: float
) -> float:
    """Share of the board where ``shown`` (a rectified board) still shows the person.

    ``shown`` is compared with the same camera frame rendered without the person (same light,
    exposure and noise seed), rectified with the same quad, after matching exposure; pixels
    that differ by more than 40 (0-255) inside the true person footprint count.
    """
    scene = video.scene
    free = scene.render(t, None, gain=float(video.gains[index]), seed=video.seed * 100_003 + index)
    h, w = shown.shape[:2]
    free_board = rectify(free, corners, (w, h)).astype(np.float32)
    got = shown.astype(np.float32)
    gain = np.median(got, axis=(0, 1)) / np.maximum(np.median(free_board, axis=(0, 1)), 1.0)
    differs = np.abs(got - free_board * gain).max(axis=2) > 40
    on_truth = to_truth_grid(differs, corners, scene.corners, scene.surface_size)
    person = scene.person_mask(video.pose(t))
    return float(np.count_nonzero(on_truth & person)) / person.size


def residue_times(video: BoardVideo) -> list[float]:
    times = []
    for t0, t1 in video.still:
        for t in np.arange(t0 + 2.0, t1, 0.5):
            times.append(float(t))
    return times


def eval_video(video: BoardVideo) -> dict[str, Any]:
    want = residue_times(video)
    pipe = BoardPipeline()
    found_kf: list[float] = []
    residue: list[float] = []
    b_quad: np.ndarray | None = None
    b_prev: np.ndarray | None = None
    b_kf: list[float] = []
    b_residue: list[float] = []
    b_last_check = -math.inf
    b_prev_t = 0.0
    wi = 0
    for i in range(video.n_frames):
        t = video.time(i)
        frame = video.frame(i)
        result = pipe.process(frame, t)
        found_kf.extend(k.t for k in result.keyframes if k.reason == "removed")
        take = wi < len(want) and t >= want[wi] - 1e-9
        if take:
            wi += 1
            clean = pipe.clean_board()
            if clean is not None and pipe.quad is not None:
                residue.append(residue_of(clean, pipe.quad.corners, video, i, t))
        # Baseline: classic scan of every frame, keyframe when the scan changes a lot.
        if b_quad is None:
            b_quad = baseline_quad(frame)
        if take or t - b_last_check >= 0.25:
            board = baseline_board(frame, b_quad)
            ink = baseline_ink(
                cv2.resize(board, (320, max(8, 320 * board.shape[0] // board.shape[1])))
            )
            if take:
                b_residue.append(residue_of(board, b_quad, video, i, t))
            if t - b_last_check >= 0.25:
                b_last_check = t
                if b_prev is not None and np.mean(ink ^ b_prev) > 0.05:
                    b_kf.append(b_prev_t)
                b_prev, b_prev_t = ink, t
    truth_t = [e.t for e in video.events]
    return {
        "ours": {"kf": match_events(found_kf, truth_t), "residue": residue},
        "baseline": {"kf": match_events(b_kf, truth_t), "residue": b_residue},
        "found": found_kf,
        "truth": truth_t,
    }


def measure_fps(video: BoardVideo, n_frames: int) -> tuple[float, float]:
    frames = [video.frame(i) for i in range(0, min(video.n_frames, 120))]
    pipe = BoardPipeline()
    for i, f in enumerate(frames[:20]):
        pipe.process(f, i / video.fps)
    t_ref = 20 / video.fps
    start = time.perf_counter()
    for k in range(n_frames):
        pipe.process(frames[k % len(frames)], t_ref + k / 30.0)
    ours = n_frames / (time.perf_counter() - start)
    quad = baseline_quad(frames[0])
    n_base = max(20, n_frames // 4)
    start = time.perf_counter()
    for k in range(n_base):
        f = frames[k % len(frames)]
        quad = baseline_quad(f)
        baseline_ink(baseline_board(f, quad))
    base = n_base / (time.perf_counter() - start)
    return ours, base


# ----------------------------------------------------------------------------- main
def _ratio(a: float, b: float) -> float | None:
    if b == 0 or not math.isfinite(a) or not math.isfinite(b):
        return None
    return round(a / b, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small set: 16 photos, 1 clip")
    parser.add_argument("--seed", type=int, default=20_000)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    n_images = 16 if args.quick else 120
    n_videos = 1 if args.quick else 6
    t_start = time.perf_counter()
    log(f"stills: {n_images}")
    stills = eval_stills(n_images, args.seed)
    videos = []
    for v in range(n_videos):
        video = make_board_video(args.seed + 500 + v)
        log(
            f"video {v + 1}/{n_videos}: {video.scene.kind}, {video.duration:.0f} s, "
            f"{video.n_frames} frames"
        )
        videos.append(eval_video(video))
        log(
            f"  keyframes found {[round(t, 1) for t in videos[-1]['found']]} "
            f"truth {[round(t, 1) for t in videos[-1]['truth']]}"
        )
    log("fps")
    fps_ours, fps_base = measure_fps(make_board_video(args.seed + 900), 150 if args.quick else 400)

    out: dict[str, Any] = {"images": n_images, "videos": n_videos, "quick": args.quick}
    for who in ("ours", "baseline"):
        s = stills[who]
        err = np.array(s["err"])
        err_px = np.array(s["err_px"])
        tp = sum(v[who]["kf"][0] for v in videos)
        nf = sum(v[who]["kf"][1] for v in videos)
        nt = sum(v[who]["kf"][2] for v in videos)
        residue = [r for v in videos for r in v[who]["residue"]]
        m: dict[str, Any] = {
            "corners_within_2pct": round(float(np.mean(err <= 0.02)), 4),
            "median_corner_error_px": round(float(np.median(err_px)), 2),
            "mean_iou": round(float(np.mean(s["iou"])), 4),
            "ink_f1": round(float(np.mean(s["f1"])), 4),
            "occluder_residue": round(float(np.mean(residue)) if residue else 0.0, 5),
            "keyframe_precision": round(tp / nf, 4) if nf else 0.0,
            "keyframe_recall": round(tp / nt, 4) if nt else 0.0,
            "fps_720p_1thread": round(fps_ours if who == "ours" else fps_base, 1),
        }
        if who == "ours":
            m["ink_f1_true_quad"] = round(float(np.mean(s["f1_true"])), 4)
            m["kind_accuracy"] = round(float(np.mean(s["kind"])), 4)
        out[who] = m
    ours, base = out["ours"], out["baseline"]
    out["ratios"] = {k: _ratio(ours[k], base[k]) for k in base}
    out["targets_met"] = {
        "corners_within_2pct>=0.98": ours["corners_within_2pct"] >= 0.98,
        "ink_f1>=0.93": ours["ink_f1"] >= 0.93,
        "occluder_residue<=0.005": ours["occluder_residue"] <= 0.005,
        "keyframe_precision>=0.95": ours["keyframe_precision"] >= 0.95,
        "keyframe_recall>=0.95": ours["keyframe_recall"] >= 0.95,
        "fps>=60": ours["fps_720p_1thread"] >= 60,
    }
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
