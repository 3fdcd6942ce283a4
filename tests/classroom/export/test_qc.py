"""QC's own costs: measuring a long master must not hold its sound in memory."""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path
from typing import Any

import av
import numpy as np

from classroom.export import broadcast, qc

RATE, FPS = 48000, 25
SIZE = (64, 48)  # the picture does not matter here: the sound does


def eight_track_mxf(path: Path, seconds: int) -> Path:
    """An MXF like ``broadcast.mxf`` (8 mono 24-bit tracks, a 1 kHz tone on 1-2, 3-8 silent)
    with a tiny MPEG-2 picture, so that writing minutes of it takes a moment."""
    with av.open(str(path), "w", format="mxf") as media:
        video = media.add_stream("mpeg2video", rate=FPS, options={"g": "12", "bf": "0"})
        if not isinstance(video, av.VideoStream):
            raise TypeError("mpeg2video is not a video codec")
        video.width, video.height, video.pix_fmt = *SIZE, "yuv422p"
        tracks = []
        for _ in range(8):
            track = media.add_stream("pcm_s24le", rate=RATE, layout="mono")
            if not isinstance(track, av.AudioStream):
                raise TypeError("pcm_s24le is not an audio codec")
            tracks.append(track)
        picture = av.VideoFrame.from_ndarray(
            np.full((SIZE[1], SIZE[0], 3), 200, np.uint8), format="rgb24"
        ).reformat(format="yuv422p")
        n = np.arange(RATE // FPS)
        tone = (0.1 * np.sin(2 * np.pi * 1000 * n / RATE) * 2**23).astype(np.int32) << 8
        silence = np.zeros_like(tone)
        for index in range(seconds * FPS):
            picture.pts = index
            for packet in video.encode(picture):
                media.mux(packet)
            for number, track in enumerate(tracks):
                frame = av.AudioFrame.from_ndarray(
                    (tone if number < 2 else silence)[None], format="s32", layout="mono"
                )
                frame.sample_rate, frame.pts = RATE, index * (RATE // FPS)
                for packet in track.encode(frame):
                    media.mux(packet)
        for stream in [video, *tracks]:
            for packet in stream.encode(None):
                media.mux(packet)
    return path


def peak_bytes_measuring(folder: Path, seconds: int) -> tuple[int, dict[str, Any]]:
    """QC's report of a ``seconds`` long eight-track MXF, and the most memory it held."""
    path = eight_track_mxf(folder / f"{seconds}s.mxf", seconds)
    plan = broadcast.Layout(None, seconds)
    want = dataclasses.replace(
        qc.expected(broadcast.mxf_master(), plan), width=SIZE[0], height=SIZE[1]
    )
    tracemalloc.start()
    try:
        report = qc.measure(path, want)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, report


def test_measuring_an_eight_track_master_holds_no_full_length_sound(tmp_path: Path) -> None:
    # The 30-minute broadcast.mxf was measured with 2 GB of silent tracks 3-8 held as float
    # samples (6 x 346 MB) that no measurement used; the peak must not grow with the length.
    short, long = 20, 140
    peak_short, report_short = peak_bytes_measuring(tmp_path, short)
    peak_long, report_long = peak_bytes_measuring(tmp_path, long)
    for report, seconds in ((report_short, short), (report_long, long)):
        checks = {c["name"]: c for c in report["checks"]}
        assert checks["audio_tracks"]["value"] == 8
        assert checks["audio_1_duration"]["value"] == seconds
        assert all(checks[f"audio_{n}_silent"]["passed"] for n in range(3, 9))
        assert report["audio"]["programme"]["duration_s"] == seconds
    # Two minutes more of 8 float32 tracks would be 8 x 120 s x 192 kB = 184 MB (6 silent
    # tracks alone 138 MB); a second of the programme pair is 384 kB.
    one_second_of_the_pair = 2 * RATE * 4
    assert peak_long - peak_short < one_second_of_the_pair, (peak_short, peak_long)
    assert peak_long < 8 * 2**20, peak_long  # measured 4.4 MB; 171 MB before
