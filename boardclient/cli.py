"""Command line: ``boardclient scan`` (photos) and ``boardclient record`` (video, camera)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from boardclient.audio import DEFAULT_SEGMENT_S, AudioSourceError
from boardclient.detect import find_board_quad
from boardclient.enhance import classify_board, enhance
from boardclient.pipeline import PipelineSettings
from boardclient.record import SourceError, record, write_bytes_atomic, write_png_atomic
from boardclient.rectify import board_size, rectify


class ScanError(Exception):
    """One input could not be scanned."""


def scan_image(path: Path, out_dir: Path, *, max_width: int, kind: str | None) -> dict[str, object]:
    """Scan one photo; write ``<stem>.png`` and ``<stem>.json`` into ``out_dir``."""
    raw = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if raw is None:
        raise ScanError("cannot read image (missing, unreadable or not an image)")
    image = np.asarray(raw, np.uint8)
    quad = find_board_quad(image)
    if quad is None:
        raise ScanError("no board found")
    size = board_size(quad.corners, (image.shape[1], image.shape[0]), max_width=max_width)
    board = rectify(image, quad.corners, size)
    board_kind = classify_board(board) if kind is None else kind
    clean = enhance(board, board_kind)  # type: ignore[arg-type]
    write_png_atomic(out_dir / f"{path.stem}.png", clean)
    info: dict[str, object] = {
        "corners": [[round(float(x), 2), round(float(y), 2)] for x, y in quad.corners],
        "confidence": round(quad.confidence, 4),
        "kind": board_kind,
    }
    write_bytes_atomic(out_dir / f"{path.stem}.json", (json.dumps(info) + "\n").encode())
    return info


def _cmd_scan(args: argparse.Namespace) -> int:
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    kind = None if args.kind == "auto" else args.kind
    failures = 0
    paths: list[Path] = args.images
    bar = tqdm(paths, desc="scan", unit="img", file=sys.stderr, disable=len(paths) < 2)
    for path in bar:
        try:
            scan_image(path, out_dir, max_width=args.max_width, kind=kind)
        except ScanError as exc:
            failures += 1
            tqdm.write(f"boardclient: error: {path}: {exc}", file=sys.stderr)
        except OSError as exc:
            failures += 1
            tqdm.write(f"boardclient: error: {path}: {exc}", file=sys.stderr)
    if failures:
        print(f"boardclient: {failures} of {len(paths)} inputs failed", file=sys.stderr)
        return 1
    return 0


def _cmd_record(args: argparse.Namespace) -> int:
    settings = PipelineSettings(out_width=args.max_width)
    bar = tqdm(desc="record", unit="frame", file=sys.stderr)

    def tick(_t: float) -> None:
        bar.update(1)

    try:
        summary = record(
            args.source,
            args.out,
            settings=settings,
            fps=args.fps,
            max_seconds=args.max_seconds,
            on_frame=tick,
        )
    except SourceError as exc:
        bar.close()
        print(f"boardclient: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        bar.close()
        print("boardclient: stopped; everything up to now is saved", file=sys.stderr)
        return 130
    bar.close()
    print(
        f"boardclient: {summary.frames} frames, {summary.keyframes} keyframes -> {args.out}",
        file=sys.stderr,
    )
    if not summary.board_found:
        print("boardclient: error: no board found in the source", file=sys.stderr)
        return 1
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from boardclient.live import run_live

    token = args.token or os.environ.get("BOARDCLIENT_TOKEN", "")
    if not token:
        print(
            "boardclient: error: give --token (or BOARDCLIENT_TOKEN): the board device token "
            "from the teacher console",
            file=sys.stderr,
        )
        return 2
    if not args.server.startswith(("http://", "https://")):
        print(
            "boardclient: error: --server must be the server's address, e.g. "
            "http://192.168.1.10:8080",
            file=sys.stderr,
        )
        return 2
    if args.source is None and args.audio is None:
        print(
            "boardclient: error: give --source (the camera), --audio (the microphone) or both",
            file=sys.stderr,
        )
        return 2
    if not 0.5 <= args.audio_segment_seconds <= 10:
        print("boardclient: error: --audio-segment-seconds is 0.5 to 10", file=sys.stderr)
        return 2
    settings = PipelineSettings(out_width=args.max_width)
    bar = tqdm(desc="run", unit="frame", file=sys.stderr, disable=args.source is None)
    try:
        summary = asyncio.run(
            run_live(
                args.source,
                args.server,
                token,
                args.out,
                settings=settings,
                fps=args.fps,
                max_seconds=args.max_seconds,
                drain_seconds=args.drain_seconds,
                on_frame=lambda _t: bar.update(1),
                audio=args.audio,
                audio_segment_s=args.audio_segment_seconds,
            )
        )
    except (SourceError, AudioSourceError) as exc:
        bar.close()
        print(f"boardclient: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        bar.close()
        print("boardclient: stopped; the recording and the upload spool are kept", file=sys.stderr)
        return 130
    bar.close()
    print(
        f"boardclient: {summary.frames} frames, {summary.keyframes} keyframes "
        f"({summary.uploaded_keyframes} uploaded), {summary.uploaded_snapshots} snapshots "
        f"sent -> {args.out}",
        file=sys.stderr,
    )
    if args.audio is not None:
        print(
            f"boardclient: {summary.audio_segments} audio segments "
            f"({summary.uploaded_audio} uploaded)",
            file=sys.stderr,
        )
        if summary.audio_error is not None:
            print(f"boardclient: error: audio: {summary.audio_error}", file=sys.stderr)
            return 1
    if args.source is not None and not summary.board_found:
        print("boardclient: error: no board found in the source", file=sys.stderr)
        return 1
    if not summary.all_uploaded:
        print(
            "boardclient: warning: the server did not take everything; run again later to "
            "upload the rest (it is kept in the recording's upload-spool)",
            file=sys.stderr,
        )
        return 3
    return 0


def _add_capture_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by the commands that read a camera or video (record, run)."""
    parser.add_argument(
        "--fps", type=float, default=10.0, help="frame rate assumed for image folders (default: 10)"
    )
    parser.add_argument("--max-seconds", type=float, default=None, help="stop after this long")
    parser.add_argument(
        "--max-width",
        type=int,
        default=1280,
        metavar="PX",
        help="largest board width in pixels (default: 1280)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``boardclient`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="boardclient",
        description="Find, straighten and clean the classroom board seen by a camera.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    scan = sub.add_parser(
        "scan",
        help="scan board photos",
        description="Write DIR/<stem>.png (rectified, enhanced board) and DIR/<stem>.json "
        "(corners TL, TR, BR, BL in image pixels, confidence, kind) for each photo.",
    )
    scan.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="photos to scan")
    scan.add_argument(
        "--out-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="directory for the results (created if missing)",
    )
    scan.add_argument(
        "--kind",
        choices=("auto", "whiteboard", "chalkboard"),
        default="auto",
        help="board type (default: detect)",
    )
    scan.add_argument(
        "--max-width",
        type=int,
        default=1600,
        metavar="PX",
        help="largest output width in pixels (default: 1600)",
    )
    scan.set_defaults(func=_cmd_scan)
    rec = sub.add_parser(
        "record",
        help="record keyframes from a video, image folder or camera",
        description="Record the clean board locally: keyframes as PNG plus an append-only "
        "index.jsonl (fsynced per entry), and the latest board as board.png.",
    )
    rec.add_argument(
        "--source",
        required=True,
        metavar="VIDEO_FILE|IMAGE_DIR|CAMERA_INDEX",
        help="video file, folder of images (sorted by name) or camera index",
    )
    rec.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="recording directory (created if missing; appended to if present)",
    )
    _add_capture_flags(rec)
    rec.set_defaults(func=_cmd_record)
    run = sub.add_parser(
        "run",
        help="stream the board to a class (and record it locally)",
        description="Find and clean the board, send changed boards and keyframes to the "
        "class, and record everything locally; with --audio, the teacher's voice too. If the "
        "server is unreachable, recording goes on and the keyframes and audio are uploaded "
        "when it returns.",
    )
    run.add_argument(
        "--source",
        default=None,
        metavar="CAMERA_INDEX|VIDEO_FILE|RTSP_URL|IMAGE_DIR",
        help="camera index, video file, rtsp:// stream or folder of images",
    )
    run.add_argument(
        "--audio",
        default=None,
        metavar="DEVICE|AUDIO_FILE",
        help="record the teacher's voice: a microphone by index or name (PortAudio), or a "
        "WAV/MP3 file played in real time",
    )
    run.add_argument(
        "--audio-segment-seconds",
        type=float,
        default=DEFAULT_SEGMENT_S,
        metavar="S",
        help=f"length of each uploaded audio segment (default: {DEFAULT_SEGMENT_S:g})",
    )
    run.add_argument(
        "--server",
        required=True,
        metavar="URL",
        help="the classroom server, e.g. http://192.168.1.10:8080",
    )
    run.add_argument(
        "--token",
        default=None,
        help="board device token from the teacher console (or BOARDCLIENT_TOKEN)",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=Path("boardclient-recording"),
        metavar="DIR",
        help="local recording directory (default: ./boardclient-recording)",
    )
    _add_capture_flags(run)
    run.add_argument(
        "--drain-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="at the end, wait this long for uploads to finish (default: 30)",
    )
    run.set_defaults(func=_cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``boardclient`` command."""
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
