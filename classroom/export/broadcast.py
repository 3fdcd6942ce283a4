"""Broadcast masters: ``broadcast.mov`` (H.264 High) and ``broadcast.mxf`` (XDCAM HD422-style).

Both are 1920x1080 at 25 frames a second, BT.709, with the lesson's sound at -23 LUFS
(true peak at most -1 dBTP) on a stereo pair, and last a whole number of seconds (the
programme is padded with its last picture and silence). With ``options.leader`` the programme
is preceded by 30 s of EBU colour bars with 1 kHz tone at -18 dBFS, a 10 s slate (the lesson's
details in Urdu and English, with a countdown) and 3 s of black.

=====================  ===============================  ===================================
                       ``broadcast.mov``                ``broadcast.mxf``
=====================  ===============================  ===================================
container              QuickTime                        MXF OP1a
video                  H.264 High, 4:2:0 8-bit          MPEG-2 4:2:2P@HL
scan                   25p (``interlaced``: 25i TFF)    25i top field first
bit rate               22 Mbit/s CBR (filler NALs)      50 Mbit/s CBR
GOP                    closed, 25 frames (1 s)          closed, 12 frames (I + 11 P)
audio                  one stereo PCM 24-bit 48 kHz     8 mono PCM 24-bit 48 kHz tracks
                                                        (programme on 1-2, 3-8 silent)
=====================  ===============================  ===================================

The sound is normalised once (:mod:`classroom.export.loudness`); the pictures come from
:func:`classroom.export.frames.frames`, and a frame that is the same array as the one before
is not converted again (the board is still most of the time). The written file is then
measured by :mod:`classroom.export.qc`; a master that fails its QC is not kept under its final
name (its QC report is, saying why) and the writer raises :class:`~classroom.export.qc.QcFailed`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter
import numpy as np
from av.video.reformatter import Colorspace
from PIL import Image, ImageDraw, features

from classroom import render
from classroom.export import ExportOptions, Progress, frames, loudness, qc, sound
from classroom.export.files import final_file
from classroom.export.source import LessonSource

WIDTH, HEIGHT, FPS, RATE = 1920, 1080, 25, 48000
SAMPLES_PER_FRAME = RATE // FPS
TARGET_LUFS = -23.0
MAX_TRUE_PEAK_DBTP = -1.0
BARS_S, SLATE_S, BLACK_S = 30, 10, 3
TONE_HZ, TONE_DBFS = 1000.0, -18.0
START_TIMECODE = "10:00:00:00"  # the programme's first frame, as playout houses expect

Picture = np.ndarray[Any, np.dtype[np.uint8]]  # (1080, 1920, 3) RGB


@dataclass(frozen=True)
class Master:
    """What one kind of master is: its container, codecs and the limits its QC checks."""

    name: str  # the file's name in the export folder
    container: str  # FFmpeg muxer
    codec: str
    pix_fmt: str
    bit_rate: int
    gop: int
    interlaced: bool
    mono_tracks: int  # 0: one stereo stream; n: n mono streams, the programme on 1-2
    codec_options: dict[str, str] = field(default_factory=dict)
    thread_type: str = "FRAME"

    @property
    def qc_name(self) -> str:
        return "broadcast.qc.json" if self.name == "broadcast.mov" else f"{self.name}.qc.json"


# x264: closed fixed 1 s GOPs, CBR with filler so the bit rate is constant on the wire as a
# playout server expects. QP is held at 18 or more: at 22 Mbit/s a still board otherwise drives
# QP towards 0, where x264 spends its time coding noise (a still 1080p board here: 37 fps with
# qpmin 12, 58 fps with qpmin 18); QP 18 is visually lossless for board graphics, and the
# filler keeps the rate constant. "ultrafast" with CABAC and 8x8 transforms put back (so the
# stream is High profile, not Constrained Baseline): on 500 frames of the 30-minute bench
# lesson, 173-198 fps against 111 fps with "superfast" (also High), the same CBR size; a board
# of flat colours and sharp ink at QP 18 needs no sub-pixel motion search or psy tuning.
_X264 = (
    "keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:nal-hrd=cbr:force-cfr=1:qpmin=18"
    ":cabac=1:8x8dct=1"
)


def mov_master(interlaced: bool) -> Master:
    params = _X264.format(gop=FPS) + (":interlaced=1:tff=1" if interlaced else "")
    return Master(
        name="broadcast.mov",
        container="mov",
        codec="libx264",
        pix_fmt="yuv420p",
        bit_rate=22_000_000,
        gop=FPS,
        interlaced=interlaced,
        mono_tracks=0,
        codec_options={
            "preset": "ultrafast",
            "profile": "high",
            "x264-params": params,
            "minrate": "22000000",
            "maxrate": "22000000",
            "bufsize": "11000000",
        },
    )


def mxf_master() -> Master:
    # The usual FFmpeg settings for XDCAM HD422 (50 Mbit/s 4:2:2 long GOP): interlaced DCT and
    # motion estimation, 10-bit DC precision, closed GOPs of 12 (top field first is set on
    # each frame, see _FieldOrder). No B-frames: FFmpeg's MPEG-2 encoder ends a closed GOP on
    # a P picture, so with 2 B-frames its GOPs are 10 or 13 frames, never 12.
    return Master(
        name="broadcast.mxf",
        container="mxf",
        codec="mpeg2video",
        pix_fmt="yuv422p",
        bit_rate=50_000_000,
        gop=12,
        interlaced=True,
        mono_tracks=8,
        codec_options={
            "flags": "+ildct+ilme+cgop",
            "top": "1",
            "dc": "10",
            "intra_vlc": "1",
            "non_linear_quant": "1",
            "g": "12",
            "bf": "0",
            "sc_threshold": "1000000000",
            "minrate": "50000000",
            "maxrate": "50000000",
            "bufsize": "17825792",
            "rc_init_occupancy": "17825792",
            "rc_max_vbv_use": "1",
            "rc_min_vbv_use": "1",
            "qmin": "2",
            "qmax": "12",
        },
        thread_type="SLICE",
    )


def write_mov(
    source: LessonSource, out: Path, options: ExportOptions, progress: Progress
) -> list[Path]:
    """``out/broadcast.mov`` and its QC report ``out/broadcast.qc.json``."""
    return write_master(source, out, options, progress, mov_master(options.interlaced))


def write_mxf(
    source: LessonSource, out: Path, options: ExportOptions, progress: Progress
) -> list[Path]:
    """``out/broadcast.mxf`` and its QC report ``out/broadcast.mxf.qc.json``."""
    return write_master(source, out, options, progress, mxf_master())


@dataclass(frozen=True)
class Leader:
    """The leader's parts in seconds (EBU practice: 30 s bars and tone, 10 s slate, 3 s black;
    tests shorten it)."""

    bars_s: int = BARS_S
    slate_s: int = SLATE_S
    black_s: int = BLACK_S

    @property
    def total_s(self) -> int:
        return self.bars_s + self.slate_s + self.black_s


@dataclass(frozen=True)
class Layout:
    """Where things are in the master, in whole seconds from its first frame."""

    leader: Leader | None
    programme_s: int

    @property
    def leader_s(self) -> int:
        return self.leader.total_s if self.leader else 0

    @property
    def total_s(self) -> int:
        return self.leader_s + self.programme_s


def layout(source: LessonSource, leader: Leader | None) -> Layout:
    """The programme rounded up to whole seconds (at least one), after the leader if any."""
    return Layout(leader, max(1, math.ceil(source.duration_ms / 1000)))


def write_master(
    source: LessonSource,
    out: Path,
    options: ExportOptions,
    progress: Progress,
    master: Master,
    *,
    leader: Leader | None = None,
) -> list[Path]:
    """Write ``master`` for ``source`` under ``out`` and QC it (``leader``: the leader's
    parts, default :class:`Leader` when ``options.leader``)."""
    plan = layout(source, leader or (Leader() if options.leader else None))
    progress(0.0, "sound")
    programme = programme_sound(source, plan)
    progress(0.05, "picture")
    media, report_path = out / master.name, out / master.qc_name
    with final_file(media) as temp:
        _encode(source, options, master, plan, programme, temp, progress)
        # QC decodes the file again: the programme's buffer (346 MB for 30 minutes) goes first.
        del programme
        progress(0.95, "qc")
        report = qc.measure(temp, qc.expected(master, plan))
        with final_file(report_path) as report_temp:
            report_temp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        if not report["passed"]:
            raise qc.QcFailed(master.name, report)
    progress(1.0, "done")
    return [media, report_path]


def programme_sound(source: LessonSource, plan: Layout) -> sound.Samples:
    """The lesson's sound for the whole programme, at -23 LUFS once on both channels."""
    total = plan.programme_s * RATE
    samples = sound.lesson_audio(source, rate=RATE, length=total)
    # The same mono signal on L and R measures 3.01 LU louder than the mono signal alone.
    # In place: the programme's one buffer is all the sound the master holds.
    return loudness.normalise(
        samples, TARGET_LUFS - loudness.DUAL_MONO_LU, MAX_TRUE_PEAK_DBTP, rate=RATE, in_place=True
    )


def _encode(
    source: LessonSource,
    options: ExportOptions,
    master: Master,
    plan: Layout,
    programme: sound.Samples,
    path: Path,
    progress: Progress,
) -> None:
    with av.open(str(path), "w", format=master.container) as container:
        video = container.add_stream(master.codec, rate=FPS, options=dict(master.codec_options))
        if not isinstance(video, av.VideoStream):
            raise TypeError(f"{master.codec} is not a video codec")
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, master.pix_fmt
        video.bit_rate = master.bit_rate
        context = video.codec_context
        context.color_primaries = context.color_trc = context.colorspace = 1  # BT.709
        context.color_range = 1  # limited ("TV") range
        context.thread_count = 2
        context.gop_size = int(master.codec_options.get("g", master.gop))
        context.thread_type = master.thread_type
        if master.interlaced:
            context.field_order = 2  # AV_FIELD_TT: top field first, shown first
        video.metadata["timecode"] = _timecode(plan)
        tracks = []
        for _ in range(master.mono_tracks or 1):
            layout_name = "mono" if master.mono_tracks else "stereo"
            track = container.add_stream("pcm_s24le", rate=RATE, layout=layout_name)
            if not isinstance(track, av.AudioStream):
                raise TypeError("pcm_s24le is not an audio codec")
            tracks.append(track)

        total_frames = plan.total_s * FPS
        # Drawn and converted in a thread ahead of the encoder (which lets go of the GIL).
        for index, frame in enumerate(frames.ahead(_converted(source, options, plan, master))):
            frame.pts = index
            for packet in video.encode(frame):
                container.mux(packet)
            _write_sound(container, tracks, master, _sound_at(index, plan, programme), index)
            if index % FPS == 0:
                progress(0.05 + 0.9 * index / total_frames, "picture")
        for packet in video.encode(None):
            container.mux(packet)
        for track in tracks:
            for packet in track.encode(None):
                container.mux(packet)


def _converted(
    source: LessonSource, options: ExportOptions, plan: Layout, master: Master
) -> Iterator[av.VideoFrame]:
    """The master's pictures as video frames of its pixel format, in order; a still board is
    the same array frame after frame, converted once (the same frame is yielded again)."""
    last_picture: Picture | None = None
    fields = _FieldOrder(master.pix_fmt) if master.interlaced else None
    frame = av.VideoFrame(WIDTH, HEIGHT, master.pix_fmt)
    for picture in _pictures(source, options, plan):
        if picture is not last_picture:
            frame = _video_frame(picture, master.pix_fmt)
            if fields is not None:
                frame = fields(frame)
            last_picture = picture
        yield frame


class _FieldOrder:
    """Marks frames interlaced, top field first (FFmpeg's ``setfield``): the MPEG-2 encoder
    writes each picture's field order from the frame, not from its settings."""

    def __init__(self, pix_fmt: str) -> None:
        self.graph = av.filter.Graph()
        source = self.graph.add_buffer(
            width=WIDTH,
            height=HEIGHT,
            format=av.VideoFormat(pix_fmt),
            time_base=Fraction(1, FPS),
        )
        mark = self.graph.add("setfield", "tff")
        sink = self.graph.add("buffersink")
        source.link_to(mark)
        mark.link_to(sink)
        self.graph.configure()

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        frame.pts = 0
        self.graph.push(frame)
        marked = self.graph.pull()
        if not isinstance(marked, av.VideoFrame):
            raise TypeError("setfield gave no video frame")
        return marked


def _timecode(plan: Layout) -> str:
    """The first frame's timecode: the programme starts at 10:00:00:00, the leader before it."""
    start = 10 * 3600 - plan.leader_s
    return f"{start // 3600:02d}:{start // 60 % 60:02d}:{start % 60:02d}:00"


def _video_frame(picture: Picture, pix_fmt: str) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(
        format=pix_fmt, dst_colorspace=Colorspace.ITU709, threads=2
    )
    frame.colorspace = frame.color_primaries = frame.color_trc = 1
    frame.color_range = 1
    return frame


def _sound_at(index: int, plan: Layout, programme: sound.Samples) -> sound.Samples:
    """Frame ``index``'s 1920 samples of the master's sound (mono; tone in the bars)."""
    second = index // FPS
    if plan.leader is not None and second < plan.leader_s:
        if second < plan.leader.bars_s:
            return _tone_frame(index)
        return np.zeros(SAMPLES_PER_FRAME, dtype=np.float32)
    start = (index - plan.leader_s * FPS) * SAMPLES_PER_FRAME
    return programme[start : start + SAMPLES_PER_FRAME]


def _tone_frame(index: int) -> sound.Samples:
    # 1 kHz at 48 kHz repeats every 48 samples: every frame of tone is the same 1920 samples.
    n = np.arange(index * SAMPLES_PER_FRAME, (index + 1) * SAMPLES_PER_FRAME)
    amplitude = 10 ** (TONE_DBFS / 20)
    return (amplitude * np.sin(2 * np.pi * TONE_HZ * n / RATE)).astype(np.float32)


def _pcm(samples: sound.Samples) -> np.ndarray[Any, np.dtype[np.int32]]:
    """Float samples as 24-bit PCM in the top of 32-bit words (what pcm_s24le takes)."""
    scaled = np.clip(np.round(samples.astype(np.float64) * 8388608.0), -8388608, 8388607)
    pcm: np.ndarray[Any, np.dtype[np.int32]] = scaled.astype(np.int32) << 8
    return pcm


def _write_sound(
    container: Any,
    tracks: list[av.AudioStream],
    master: Master,
    mono: sound.Samples,
    index: int,
) -> None:
    pcm = _pcm(mono)
    silent = np.zeros_like(pcm)
    for number, track in enumerate(tracks):
        if master.mono_tracks:
            data = (pcm if number < 2 else silent)[None]
            frame = av.AudioFrame.from_ndarray(data, format="s32", layout="mono")
        else:
            pair = np.repeat(pcm, 2)[None]  # interleaved L R L R ...
            frame = av.AudioFrame.from_ndarray(pair, format="s32", layout="stereo")
        frame.sample_rate = RATE
        frame.pts = index * SAMPLES_PER_FRAME
        for packet in track.encode(frame):
            container.mux(packet)


def _pictures(source: LessonSource, options: ExportOptions, plan: Layout) -> Iterator[Picture]:
    """Every frame of the master in order; a still picture is yielded as the same array."""
    if plan.leader is not None:
        bars = colour_bars()
        yield from (bars for _ in range(plan.leader.bars_s * FPS))
        details = slate_details(source, plan, options)
        for remaining in range(plan.leader.slate_s, 0, -1):
            card = slate(details, remaining)
            yield from (card for _ in range(FPS))
        black = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
        yield from (black for _ in range(plan.leader.black_s * FPS))
    wanted = plan.programme_s * FPS
    last: Picture | None = None
    count = 0
    for picture in frames.frames(source, width=WIDTH, height=HEIGHT, fps=FPS):
        if count == wanted:
            break
        last = picture
        count += 1
        yield picture
    # The programme's last second is filled out with its last picture.
    last = last if last is not None else np.full((HEIGHT, WIDTH, 3), 255, dtype=np.uint8)
    yield from (last for _ in range(wanted - count))


# EBU 100/0/75/0 bars (EBU Tech 3325): white at 100 %, then the colours at 75 %, then black.
BAR_COLOURS = (
    (255, 255, 255),
    (191, 191, 0),
    (0, 191, 191),
    (0, 191, 0),
    (191, 0, 191),
    (191, 0, 0),
    (0, 0, 191),
    (0, 0, 0),
)


def colour_bars() -> Picture:
    """Eight full-height EBU colour bars, 240 pixels wide each."""
    bars = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    width = WIDTH // len(BAR_COLOURS)
    for number, colour in enumerate(BAR_COLOURS):
        bars[:, number * width : (number + 1) * width] = colour
    return bars


@dataclass(frozen=True)
class SlateLine:
    urdu_label: str
    english_label: str
    value: str


def slate_details(source: LessonSource, plan: Layout, options: ExportOptions) -> list[SlateLine]:
    summary = source.summary
    started = summary.get("started_at") or summary.get("created_at") or 0
    date = dt.datetime.fromtimestamp(int(started) / 1000, tz=dt.UTC).strftime("%Y-%m-%d")
    minutes, seconds = divmod(plan.programme_s, 60)
    hours, minutes = divmod(minutes, 60)
    return [
        SlateLine("عنوان", "Title", str(summary.get("title") or "")),
        SlateLine("استاد", "Teacher", str(summary.get("teacher_name") or "")),
        SlateLine("اسکول", "School", str(summary.get("school") or "")),
        SlateLine("مضمون", "Subject", str(summary.get("subject") or "")),
        SlateLine("جماعت", "Grade", str(summary.get("grade") or "")),
        SlateLine("تاریخ", "Date", date),
        SlateLine("دورانیہ", "Duration", f"{hours:02d}:{minutes:02d}:{seconds:02d}"),
    ]


def slate(details: list[SlateLine], remaining: int) -> Picture:
    """The slate with ``remaining`` seconds on its countdown: English labels on the left, Urdu
    labels on the right, the values between (Urdu shaped by raqm in Noto Nastaliq Urdu), all
    inside the EBU R95 graphics-safe area (x 96-1824, y 54-1026)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (16, 24, 48))
    draw = ImageDraw.Draw(image)
    fonts = {"ltr": render._load_font("ltr", 40), "rtl": render._load_font("rtl", 40)}
    label = (170, 180, 200)
    gold = (240, 200, 90)
    heading = {"ltr": render._load_font("ltr", 48), "rtl": render._load_font("rtl", 48)}
    _draw_runs(draw, (120, 135), "Takhti", heading, gold)
    _draw_runs(draw, (1800, 135), "تختی", heading, gold, align="right")
    top, step = 235, 96
    for number, line in enumerate(details):
        y = top + number * step
        _draw_runs(draw, (120, y), f"{line.english_label}:", fonts, label)
        _draw_runs(draw, (420, y), line.value, fonts, (255, 255, 255))
        _draw_runs(draw, (1800, y), line.urdu_label, fonts, label, align="right")
    # The countdown: a number in a ring under the details, inside the safe area.
    cx, cy, r = WIDTH // 2, 940, 76
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=gold, width=8)
    draw.text(
        (cx, cy), str(remaining), font=render._load_font("ltr", 96), fill="white", anchor="mm"
    )
    return np.asarray(image, dtype=np.uint8)


def _runs(text: str) -> list[tuple[str, str]]:
    """``text`` cut into runs of Arabic script ("rtl") and the rest ("ltr"), laid left to
    right (an English line with Urdu words in it). Spaces and punctuation between two Urdu
    letters belong to the Urdu run, so a run of several Urdu words stays in its own order."""
    kinds = ["rtl" if _is_urdu(ch) else ("ltr" if ch.isalnum() else "") for ch in text]
    for i, kind in enumerate(kinds):
        if not kind:
            before = next((k for k in reversed(kinds[:i]) if k), "ltr")
            after = next((k for k in kinds[i + 1 :] if k), "ltr")
            kinds[i] = "rtl" if before == after == "rtl" else "ltr"
    runs: list[tuple[str, str]] = []
    for ch, kind in zip(text, kinds, strict=True):
        if runs and kind == runs[-1][0]:
            runs[-1] = (kind, runs[-1][1] + ch)
        else:
            runs.append((kind, ch))
    return runs


def _draw_runs(
    draw: ImageDraw.ImageDraw,
    at: tuple[int, int],
    text: str,
    fonts: dict[str, Any],
    fill: tuple[int, int, int],
    *,
    align: str = "left",
) -> None:
    """Draw mixed Urdu/English text on one baseline, each run in its own font (the Latin
    font has no Arabic letters, Nastaliq no Latin ones)."""
    raqm = features.check_feature("raqm")
    runs = _runs(text)
    widths = [
        draw.textlength(run, font=fonts[kind], direction=kind if raqm else None)
        for kind, run in runs
    ]
    x = at[0] - (sum(widths) if align == "right" else 0)
    for (kind, run), width in zip(runs, widths, strict=True):
        extra: dict[str, Any] = {"direction": kind} if raqm else {}
        draw.text((x, at[1]), run, font=fonts[kind], fill=fill, anchor="ls", **extra)
        x += width


def _is_urdu(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)
