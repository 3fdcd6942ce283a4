"""Broadcast masters decoded with PyAV here, independently of classroom/export/qc.py: what a
playout house checks (codec, profile, size, rate, scan, colour, GOP, audio, loudness, length,
leader), on short lessons with real Opus sound."""

from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from classroom.export import ExportOptions, broadcast, no_progress, qc, writer
from testkit.programmes import lesson_with_sound

from .test_loudness import ffmpeg_r128

SHORT_LEADER = broadcast.Leader(bars_s=2, slate_s=2, black_s=1)


@pytest.fixture(scope="module")
def speech_lesson() -> Any:
    return lesson_with_sound(3.4, sound="speech")


def packets(path: Path) -> list[av.Packet]:
    with av.open(str(path)) as media:
        return [p for p in media.demux(media.streams.video[0]) if p.size]


def audio_tracks(path: Path) -> list[np.ndarray[Any, Any]]:
    """Every audio stream decoded to float (n, channels)."""
    with av.open(str(path)) as media:
        streams = list(media.streams.audio)
        found: list[list[np.ndarray[Any, Any]]] = [[] for _ in streams]
        for packet in media.demux(*streams):
            for frame in packet.decode():
                raw = frame.to_ndarray()
                assert frame.format.name == "s32"  # 24-bit PCM is decoded into 32-bit words
                data = raw.reshape(-1, frame.layout.nb_channels)
                found[streams.index(packet.stream)].append(data.astype(np.float64) / 2**31)
    return [np.concatenate(parts) for parts in found]


def first_frame(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as media:
        for frame in media.decode(video=0):
            return frame
    raise AssertionError("no video frame")


def frame_rgb(path: Path, index: int) -> np.ndarray[Any, Any]:
    with av.open(str(path)) as media:
        for number, frame in enumerate(media.decode(video=0)):
            if number == index:
                return frame.to_ndarray(format="rgb24", src_colorspace="ITU709")
    raise AssertionError(f"no frame {index}")


def gop_lengths(video: list[av.Packet]) -> list[int]:
    gops: list[int] = []
    for packet in video:
        if packet.is_keyframe or not gops:
            gops.append(0)
        gops[-1] += 1
    return gops


def test_the_formats_are_registered() -> None:
    assert writer("broadcast") is broadcast.write_mov
    assert writer("mxf") is broadcast.write_mxf


def test_broadcast_mov_is_h264_high_1080p25_bt709_closed_gop_cbr(
    speech_lesson: Any, tmp_path: Path
) -> None:
    stages: list[tuple[float, str]] = []
    paths = broadcast.write_mov(
        speech_lesson, tmp_path, ExportOptions(), lambda f, s: stages.append((f, s))
    )
    mov = tmp_path / "broadcast.mov"
    assert paths == [mov, tmp_path / "broadcast.qc.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broadcast.mov", "broadcast.qc.json"]
    fractions = [f for f, _ in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(stages) >= 4

    with av.open(str(mov)) as media:
        assert "mov" in media.format.name.split(",")
        video = media.streams.video[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.profile == "High"
        assert (video.codec_context.width, video.codec_context.height) == (1920, 1080)
        assert video.average_rate == Fraction(25)
        assert video.codec_context.pix_fmt == "yuv420p"
        assert len(media.streams.audio) == 1
    frame = first_frame(mov)
    assert not frame.interlaced_frame
    assert (frame.color_primaries, frame.color_trc, frame.colorspace) == (1, 1, 1)  # BT.709
    assert frame.color_range == 1  # limited range

    video_packets = packets(mov)
    assert len(video_packets) == 4 * 25  # 3.4 s of lesson: 4 whole seconds
    gops = gop_lengths(video_packets)
    assert max(gops) <= 25 and video_packets[0].is_keyframe
    for packet in video_packets:
        if packet.is_keyframe:  # closed: every GOP opens with an IDR picture (NAL type 5)
            data, types, at = bytes(packet), set(), 0
            while at + 5 <= len(data):
                types.add(data[at + 4] & 0x1F)
                at += 4 + int.from_bytes(data[at : at + 4], "big")
            assert 5 in types
    per_second = [sum(p.size for p in video_packets[s * 25 : (s + 1) * 25]) * 8 for s in range(4)]
    assert all(20e6 <= rate <= 25e6 for rate in per_second), per_second

    (pair,) = audio_tracks(mov)
    assert pair.shape == (4 * 48000, 2)  # the same length as the pictures, whole seconds
    assert np.array_equal(pair[:, 0], pair[:, 1])
    reading = ffmpeg_r128(pair.astype(np.float32))
    assert reading["I"] == pytest.approx(-23.0, abs=0.5)
    assert reading["TP"] <= -1.0
    with av.open(str(mov)) as media:
        assert media.streams.audio[0].codec_context.name == "pcm_s24le"
        assert media.streams.audio[0].codec_context.sample_rate == 48000

    report = json.loads((tmp_path / "broadcast.qc.json").read_text())
    assert report["passed"] is True
    assert {c["name"] for c in report["checks"]} >= {
        "container", "video_codec", "profile", "size", "frame_rate", "scan", "colorspace",
        "longest_gop", "closed_gops", "duration", "integrated_loudness", "true_peak",
    }  # fmt: skip
    loud = next(c for c in report["checks"] if c["name"] == "integrated_loudness")
    assert loud["value"] == pytest.approx(reading["I"], abs=0.2)


def test_broadcast_mxf_is_xdcam_hd422_style(speech_lesson: Any, tmp_path: Path) -> None:
    broadcast.write_mxf(speech_lesson, tmp_path, ExportOptions(), no_progress)
    mxf = tmp_path / "broadcast.mxf"
    assert (tmp_path / "broadcast.mxf.qc.json").is_file()
    with av.open(str(mxf)) as media:
        assert media.format.name == "mxf"
        # OP1a: 06.0e.2b.34.04.01.01.01.0d.01.02.01, item 01, package 01
        assert media.metadata["operational_pattern_ul"].replace(".", "")[16:28] == "0d0102010101"
        video = media.streams.video[0]
        assert video.codec_context.name == "mpeg2video"
        assert video.codec_context.profile == "4:2:2"
        assert video.codec_context.pix_fmt == "yuv422p"
        assert (video.codec_context.width, video.codec_context.height) == (1920, 1080)
        assert video.average_rate == Fraction(25)
        assert [a.codec_context.name for a in media.streams.audio] == ["pcm_s24le"] * 8
        assert {a.codec_context.sample_rate for a in media.streams.audio} == {48000}
    frame = first_frame(mxf)
    assert frame.interlaced_frame
    assert (frame.color_primaries, frame.color_trc, frame.colorspace) == (1, 1, 1)

    video_packets = packets(mxf)
    assert len(video_packets) == 100
    gops = gop_lengths(video_packets)
    assert gops[:-1] == [12] * (len(gops) - 1) and gops[-1] <= 12
    for packet in video_packets:
        data = bytes(packet)
        if packet.is_keyframe:  # GOP header: 00 00 01 B8, time code (25 bits), closed_gop
            at = data.find(b"\x00\x00\x01\xb8")
            assert at >= 0 and data[at + 7] & 0x40
        scans = []
        at = data.find(b"\x00\x00\x01\xb5")
        while at >= 0:
            if data[at + 4] >> 4 == 8:  # picture coding extension
                scans.append((bool(data[at + 7] & 0x80), bool(data[at + 8] & 0x80)))
            at = data.find(b"\x00\x00\x01\xb5", at + 4)
        assert scans == [(True, False)]  # one frame picture: top field first, not progressive
    total = sum(p.size for p in video_packets) * 8 / 4
    assert total == pytest.approx(50e6, rel=0.05)

    tracks = audio_tracks(mxf)
    assert len(tracks) == 8 and all(t.shape == (4 * 48000, 1) for t in tracks)
    assert np.array_equal(tracks[0], tracks[1])
    assert not any(t.any() for t in tracks[2:])  # 3-8: digital silence
    reading = ffmpeg_r128(np.concatenate(tracks[:2], axis=1).astype(np.float32))
    assert reading["I"] == pytest.approx(-23.0, abs=0.5)
    assert reading["TP"] <= -1.0


def test_interlaced_mov_with_a_leader(speech_lesson: Any, tmp_path: Path) -> None:
    options = ExportOptions(leader=True, interlaced=True)
    broadcast.write_master(
        speech_lesson, tmp_path, options, no_progress, broadcast.mov_master(True),
        leader=SHORT_LEADER,
    )  # fmt: skip
    mov = tmp_path / "broadcast.mov"
    with av.open(str(mov)) as media:
        decoded = next(media.decode(video=0))
        assert decoded.interlaced_frame
        assert media.streams.video[0].codec_context.field_order == 2  # AV_FIELD_TT
    assert len(packets(mov)) == (5 + 4) * 25

    bars = frame_rgb(mov, 25)
    width = 1920 // 8
    for number, colour in enumerate(broadcast.BAR_COLOURS):
        sample = bars[300:700, number * width + 60 : (number + 1) * width - 60]
        assert np.abs(np.median(sample, axis=(0, 1)) - colour).max() <= 8, (number, colour)
    slate = frame_rgb(mov, 2 * 25 + 5)
    assert np.abs(slate.astype(int) - bars).mean() > 40  # not the bars any more
    assert (slate > 200).mean() > 0.005  # white lettering on the slate
    black = frame_rgb(mov, 4 * 25 + 10)
    assert black.max() <= 20

    (pair,) = audio_tracks(mov)
    tone = pair[24000 : 2 * 48000 - 24000, 0]
    assert 20 * math.log10(np.sqrt(np.mean(tone**2)) * math.sqrt(2)) == pytest.approx(-18, abs=0.1)
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.argmax(spectrum) * 48000 / len(tone) == pytest.approx(1000, abs=2)
    assert not pair[2 * 48000 : 5 * 48000].any()  # the slate and the black are silent
    programme = ffmpeg_r128(pair[5 * 48000 :].astype(np.float32))
    assert programme["I"] == pytest.approx(-23.0, abs=0.5)
    report = json.loads((tmp_path / "broadcast.qc.json").read_text())
    assert report["passed"] and report["layout"] == {"leader_s": 5, "programme_s": 4}


def test_a_lesson_without_sound_has_a_silent_track(tmp_path: Path) -> None:
    source = lesson_with_sound(1.2, sound="none")
    broadcast.write_mov(source, tmp_path, ExportOptions(), no_progress)
    (pair,) = audio_tracks(tmp_path / "broadcast.mov")
    assert pair.shape == (2 * 48000, 2) and not pair.any()
    report = json.loads((tmp_path / "broadcast.qc.json").read_text())
    assert report["passed"]
    assert report["audio"]["programme"]["integrated_lufs"] is None


def test_a_master_that_fails_qc_is_not_kept(speech_lesson: Any, tmp_path: Path) -> None:
    (tmp_path / "broadcast.mov").write_bytes(b"the last good master")
    strict = dataclasses.replace(broadcast.mov_master(False), gop=10)  # x264 still makes 25
    with pytest.raises(qc.QcFailed, match="longest_gop = 25") as caught:
        broadcast.write_master(speech_lesson, tmp_path, ExportOptions(), no_progress, strict)
    assert caught.value.code == "QC_FAILED"
    assert (tmp_path / "broadcast.mov").read_bytes() == b"the last good master"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    report = json.loads((tmp_path / "broadcast.qc.json").read_text())
    assert report["passed"] is False
    failed = [c["name"] for c in report["checks"] if not c["passed"]]
    assert failed == ["longest_gop"]


def test_the_slate_counts_down_inside_the_graphics_safe_area() -> None:
    source = lesson_with_sound(1.2, sound="none")
    plan = broadcast.layout(source, broadcast.Leader())
    details = broadcast.slate_details(source, plan, ExportOptions())
    assert [line.english_label for line in details] == [
        "Title", "Teacher", "School", "Subject", "Grade", "Date", "Duration",
    ]  # fmt: skip
    assert details[0].value == "کسور Fractions" and details[-1].value == "00:00:02"
    seven, six = broadcast.slate(details, 7), broadcast.slate(details, 6)
    background = seven[5, 5]
    ink = np.argwhere(np.any(seven != background, axis=2))
    (top, left), (bottom, right) = ink.min(axis=0), ink.max(axis=0)
    assert left >= 96 and right <= 1824 and top >= 54 and bottom <= 1026  # EBU R95
    changed = np.argwhere(np.any(seven != six, axis=2))
    assert len(changed) and changed[:, 0].min() > 800  # only the countdown changes
    # Several Urdu words stay one right-to-left run, in their own order.
    assert broadcast._runs("جماعت پنجم، ریاضی 5") == [("rtl", "جماعت پنجم، ریاضی"), ("ltr", " 5")]


def test_a_cancelled_export_leaves_nothing(speech_lesson: Any, tmp_path: Path) -> None:
    from classroom.export import Cancelled

    seen: list[float] = []

    def cancel_midway(fraction: float, stage: str) -> None:
        seen.append(fraction)
        if stage == "picture" and fraction > 0.3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        broadcast.write_mxf(speech_lesson, tmp_path, ExportOptions(), cancel_midway)
    assert seen and list(tmp_path.iterdir()) == []
