"""Web exports: an HLS ladder for phones on weak links (``web/``) and a small ``lesson.mp4``.

One pass over the programme's frames, rendered once at the top rung's size (1280x720, 25 fps),
feeds every rung: each new picture is converted once per size (consecutive unchanged frames are
the same array, so their conversions are reused) and handed to one H.264 encoder per rung; the
416x234 rung takes every 25 fps frame that starts one of its 15 fps frames. The sound is laid on
the clock, brought to -16 LUFS and encoded once as AAC-LC; its packets are muxed into every rung,
the audio-only rung and ``lesson.mp4``.

``web/``::

    master.m3u8                 the variants, with BANDWIDTH (peak segment), AVERAGE-BANDWIDTH,
                                RESOLUTION, FRAME-RATE and CODECS measured from the written files
    416x234/ 640x360/ 960x540/ 1280x720/ audio/
        index.m3u8              a VOD media playlist (EXT-X-VERSION 7)
        init.mp4                the fMP4 initialisation segment
        seg_00000.m4s ...       6 s media segments; each starts on an IDR frame

Every video rung has a closed GOP of exactly 2 s (no scene-cut keyframes), so segment and GOP
boundaries are at the same times on every rung and a player switches rungs cleanly. Bit rates
are capped (a VBV model: ``maxrate`` over a ``bufsize`` window) with a constant quality
underneath: a board that does not change costs almost nothing, and a busy one never exceeds
the rung's cap.

``lesson.mp4``: 640x360 25 fps H.264 Main with the same AAC track, ``moov`` before ``mdat``
(fast start: it plays while it downloads) and the programme's chapters (``chapters.vtt``'s cues)
as MP4 chapters (a QuickTime chapter text track plus a Nero ``chpl`` list, what FFmpeg's mp4
muxer writes from container chapters). About 250 kbit/s at most: under 60 MB per 30 minutes.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from classroom.errors import NothingToExport
from classroom.export import ExportOptions, Progress, chapters, frames, loudness, sound
from classroom.export.files import final_dir, final_file
from classroom.export.source import LessonSource

Samples = np.ndarray[Any, np.dtype[np.float32]]

WEB_DIR = "web"
MP4_NAME = "lesson.mp4"
MASTER = "master.m3u8"
PLAYLIST = "index.m3u8"
INIT = "init.mp4"

FPS = 25
GOP_S = 2
SEGMENT_S = 6
TOP = (1280, 720)

AUDIO_RATE = 48_000
AUDIO_BIT_RATE = 48_000  # mono AAC-LC speech: leaves the 416x234 rung's video 140 kbit/s
AUDIO_CODECS = "mp4a.40.2"  # MPEG-4 audio, object type 2: AAC-LC
AAC_FRAME = 1024
TARGET_LUFS = -16.0
# The decoded AAC must stay under -1 dBTP. At 48 kbit/s mono the encoder adds up to ~2 dB of
# true peak (measured on the test voice: limited to -2.0 / -3.0 / -3.5 dBTP, decoded at -0.4 /
# -1.1 / -1.8 dBTP), so the sound is limited to -3.5 dBTP before it is encoded.
TRUE_PEAK_DBTP = -3.5


@dataclass(frozen=True, slots=True)
class Rung:
    """One H.264 encoding of the programme."""

    name: str
    width: int
    height: int
    fps: int
    maxrate: int  # bit/s, the VBV cap over ``bufsize`` bits
    bufsize: int
    profile: str
    level: str
    crf: int = 23

    @property
    def gop(self) -> int:
        return self.fps * GOP_S


RUNGS = (
    Rung("416x234", 416, 234, 15, 115_000, 115_000, "main", "3.0", crf=26),
    Rung("640x360", 640, 360, FPS, 365_000, 365_000, "main", "3.0"),
    Rung("960x540", 960, 540, FPS, 1_500_000, 1_500_000, "high", "3.1"),
    Rung("1280x720", 1280, 720, FPS, 3_000_000, 3_000_000, "high", "3.1"),
)
MP4_RUNG = Rung("lesson", 640, 360, FPS, 180_000, 180_000, "main", "3.0", crf=26)
AUDIO_RUNG = "audio"

# superfast: 23% less CPU than veryfast on a drawn board (2.3 s against 3.0 s for 10 s of all
# rungs); a board changes little from frame to frame, so the quality lost is small.
_X264_PRESET = "superfast"


# --- sound ----------------------------------------------------------------------------------


def normalise(samples: Samples, rate: int) -> Samples:
    """The programme's sound at -16 LUFS integrated with true peaks under -3.5 dBTP, in place
    (``samples`` is the programme's one buffer; no copy of it is made).

    The speech compressor levels the voice first (a teacher's voice peaks far above its
    loudness: the limiter alone would have to squash every syllable), then one gain and the
    true-peak limiter. A sound that still cannot get there (hardly any sound would) is given
    the gain that puts its true peak at the ceiling instead: quieter than asked, never clipped.
    """
    samples = np.asarray(samples, dtype=np.float32)
    try:
        return loudness.normalise(
            samples, TARGET_LUFS, TRUE_PEAK_DBTP, rate=rate, compress=True, in_place=True
        )
    except ValueError:
        peak_db = loudness.measure(samples, rate).true_peak_dbtp
        if math.isfinite(peak_db):
            np.multiply(samples, np.float32(10 ** ((TRUE_PEAK_DBTP - peak_db) / 20)), out=samples)
        return samples


@dataclass(frozen=True, slots=True)
class _AudioPacket:
    data: bytes
    pts: int
    duration: int


def _encode_audio(samples: Samples) -> list[_AudioPacket]:
    """The whole sound as AAC-LC packets (time base 1/48000), encoded once for every output."""
    codec = av.CodecContext.create("aac", "w")
    if not isinstance(codec, av.AudioCodecContext):
        raise TypeError("FFmpeg's aac is not an audio encoder")
    codec.sample_rate = AUDIO_RATE
    codec.layout = "mono"
    codec.format = av.AudioFormat("fltp")
    codec.bit_rate = AUDIO_BIT_RATE
    codec.time_base = Fraction(1, AUDIO_RATE)
    codec.open()
    packets: list[_AudioPacket] = []

    def take(found: list[av.Packet[Any]]) -> None:
        for packet in found:
            pts = packet.pts if packet.pts is not None else 0
            packets.append(_AudioPacket(bytes(packet), pts, packet.duration or AAC_FRAME))

    for start in range(0, len(samples), AAC_FRAME):
        chunk = np.ascontiguousarray(samples[start : start + AAC_FRAME], np.float32)
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        take(codec.encode(frame))
    take(codec.encode(None))
    return packets


# --- containers -----------------------------------------------------------------------------


class _Output:
    """One output file (or HLS playlist) with its video encoder, if any, and the shared audio."""

    def __init__(
        self, container: av.container.OutputContainer, rung: Rung | None, *, fragmented: bool
    ) -> None:
        self.container = container
        # AAC starts with a priming packet at pts -1024. An MP4 says so in an edit list; a
        # fragmented one (HLS) has none, and its muxer would shift every stream by 21 ms (the
        # video's GOPs off the 2 s grid), so there the sound starts 21 ms late instead.
        self._fragmented = fragmented
        self.rung = rung
        self.video: av.VideoStream | None = None
        if rung is not None:
            self.video = container.add_stream(
                "libx264",
                rate=rung.fps,
                options={
                    "preset": _X264_PRESET,
                    "profile": rung.profile,
                    "level": rung.level,
                    "crf": str(rung.crf),
                    "maxrate": str(rung.maxrate),
                    "bufsize": str(rung.bufsize),
                    # A closed GOP of exactly 2 s: IDR frames at 0, 2, 4 ... s on every rung.
                    "x264-params": f"keyint={rung.gop}:min-keyint={rung.gop}:scenecut=0"
                    ":open-gop=0:bframes=0:colorprim=bt709:transfer=bt709:colormatrix=bt709",
                },
            )
            self.video.width = rung.width
            self.video.height = rung.height
            self.video.pix_fmt = "yuv420p"
            self.video.codec_context.time_base = Fraction(1, rung.fps)
            self.video.codec_context.gop_size = rung.gop
        self.audio = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        self.audio.bit_rate = AUDIO_BIT_RATE
        self.audio.time_base = Fraction(1, AUDIO_RATE)
        self._audio_next = 0
        self._next = 0  # the next frame of this rung

    def offer(self, index: int, converted: dict[tuple[int, int], av.VideoFrame]) -> None:
        """Encode the programme's frame ``index`` (at 25 fps) if it starts one of this rung's
        frames: frame ``i`` of a 15 fps rung is the 25 fps frame showing ``i / 15`` s."""
        rung = self.rung
        if rung is None or self.video is None or self._next * FPS // rung.fps != index:
            return
        frame = converted[(rung.width, rung.height)]
        frame.pts = self._next
        self.container.mux(self.video.encode(frame))
        self._next += 1

    def audio_until(self, packets: list[_AudioPacket], pts: int) -> None:
        """Mux the shared audio packets up to ``pts`` (1/48000 s): the muxer interleaves."""
        shift = packets[0].pts if packets and self._fragmented else 0
        while self._audio_next < len(packets) and packets[self._audio_next].pts - shift < pts:
            shared = packets[self._audio_next]
            packet = av.Packet(shared.data)
            packet.pts = packet.dts = shared.pts - shift
            packet.duration = shared.duration
            packet.time_base = Fraction(1, AUDIO_RATE)
            packet.stream = self.audio
            self.container.mux(packet)
            self._audio_next += 1

    def flush(self) -> None:
        if self.video is not None:
            self.container.mux(self.video.encode(None))


def _hls(folder: Path) -> av.container.OutputContainer:
    folder.mkdir(parents=True, exist_ok=True)
    return av.open(
        str(folder / PLAYLIST),
        "w",
        format="hls",
        options={
            "hls_time": str(SEGMENT_S),
            "hls_segment_type": "fmp4",
            "hls_fmp4_init_filename": INIT,
            "hls_segment_filename": str(folder / "seg_%05d.m4s"),
            "hls_playlist_type": "vod",
            "hls_flags": "independent_segments",
        },
    )


def _mp4(path: Path, found: list[chapters.Cue], title: str) -> av.container.OutputContainer:
    container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
    container.metadata["title"] = title
    container.set_chapters(
        [
            {
                "id": index + 1,
                "start": cue.start_ms,
                "end": cue.end_ms,
                "time_base": Fraction(1, 1000),
                "metadata": {"title": cue.title},
            }
            for index, cue in enumerate(found)
        ]
    )
    return container


# --- the pass over the frames ---------------------------------------------------------------


def _converted(
    picture: np.ndarray[Any, Any], sizes: set[tuple[int, int]]
) -> dict[tuple[int, int], av.VideoFrame]:
    """One picture as YUV 4:2:0 (BT.709, limited range) at every size: converted once at the
    top size, then scaled (area averaging keeps thin ink legible); half the time of converting
    from RGB at each size."""
    top = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(
        format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG"
    )
    height, width = picture.shape[:2]
    return {
        size: top
        if size == (width, height)
        else top.reformat(size[0], size[1], interpolation="AREA")
        for size in sizes
    }


def _each_converted(
    pictures: Iterator[np.ndarray[Any, Any]], sizes: set[tuple[int, int]]
) -> Iterator[dict[tuple[int, int], av.VideoFrame]]:
    """:func:`_converted` of each picture; a still picture (the same array) converted once."""
    last: np.ndarray[Any, Any] | None = None
    converted: dict[tuple[int, int], av.VideoFrame] = {}
    for picture in pictures:
        if picture is not last:
            converted = _converted(picture, sizes)
            last = picture
        yield converted


def write(
    source: LessonSource, out: Path, options: ExportOptions, progress: Progress
) -> list[Path]:
    """Write ``out/web/`` (HLS ladder, master playlist) and ``out/lesson.mp4``."""
    if source.duration_ms <= 0:
        raise NothingToExport("the lesson has no length: no video to write")
    progress(0.0, "web: sound")
    samples = normalise(sound.lesson_audio(source, rate=AUDIO_RATE), AUDIO_RATE)
    audio_packets = _encode_audio(samples)
    del samples
    progress(0.05, "web: pictures")
    cues = chapters.cues(source, options.lang)
    title = str(source.summary.get("title") or source.class_id)
    total = frames.frame_count(source, FPS)
    web_final = out / WEB_DIR
    mp4_final = out / MP4_NAME
    with final_dir(web_final) as web_temp, final_file(mp4_final) as mp4_temp:
        with contextlib.ExitStack() as stack:
            rungs = [_Output(_hls(web_temp / rung.name), rung, fragmented=True) for rung in RUNGS]
            audio_only = _Output(_hls(web_temp / AUDIO_RUNG), None, fragmented=True)
            lesson = _Output(_mp4(mp4_temp, cues, title), MP4_RUNG, fragmented=False)
            outputs = [*rungs, audio_only, lesson]
            for output in outputs:
                stack.enter_context(output.container)
            sizes = {(o.rung.width, o.rung.height) for o in outputs if o.rung is not None}
            step = max(1, total // 200)
            pictures = frames.frames(
                source, width=TOP[0], height=TOP[1], fps=FPS, lang=options.lang
            )
            # Drawn and scaled in a thread ahead of the encoders (which let go of the GIL).
            for index, converted in enumerate(frames.ahead(_each_converted(pictures, sizes))):
                for output in (*rungs, lesson):
                    output.offer(index, converted)
                audio_pts = (index + 1) * AUDIO_RATE // FPS
                for output in outputs:
                    output.audio_until(audio_packets, audio_pts)
                if index % step == 0:
                    progress(0.05 + 0.9 * index / total, "web: pictures")
            # The sound ends with the pictures: AAC's padding past them would make a last
            # segment of a few ms whose bit rate (bytes over a tiny EXTINF) is meaningless.
            end_pts = total * AUDIO_RATE // FPS
            for output in outputs:
                output.flush()
                output.audio_until(audio_packets, end_pts)
        progress(0.96, "web: master playlist")
        (web_temp / MASTER).write_text(master_playlist(web_temp), encoding="utf-8")
    progress(1.0, "web")
    return [web_final / MASTER, mp4_final]


# --- the master playlist, measured from the written rungs ------------------------------------


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    peak_bps: int  # the largest segment's bits over its duration
    average_bps: int
    codecs: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None


_EXTINF = re.compile(r"#EXTINF:([0-9.]+),\s*\n([^\n#]+)")


def measure_variant(folder: Path, fps: float | None = None) -> Variant:
    """A rung's bit rates (from its segments' sizes and EXTINF durations), its codecs and size
    (read from its init segment); ``fps`` is the rung's (an init segment has no frames)."""
    text = (folder / PLAYLIST).read_text(encoding="utf-8")
    segments = [(float(d), folder / name.strip()) for d, name in _EXTINF.findall(text)]
    sized = [(seconds, path.stat().st_size * 8) for seconds, path in segments]
    peak = peak_segment_bps(sized, SEGMENT_S)
    total_s = sum(seconds for seconds, _ in segments)
    total_bits = sum(path.stat().st_size * 8 for _, path in segments)
    codecs: list[str] = []
    width = height = None
    with av.open(str(folder / INIT)) as init:
        for video in init.streams.video:
            codecs.append(avc1_codecs(video.codec_context.extradata or b""))
            width, height = video.codec_context.width, video.codec_context.height
        for audio in init.streams.audio:
            config = audio.codec_context.extradata or b"\x00"
            # AudioSpecificConfig: the first 5 bits are the object type, 2 for AAC-LC.
            if audio.codec_context.name != "aac" or config[0] >> 3 != 2:
                raise ValueError(f"{folder.name}: the audio is not AAC-LC")
            codecs.append(AUDIO_CODECS)
    return Variant(
        folder.name,
        round(peak),
        round(total_bits / total_s) if total_s else 0,
        ",".join(codecs),
        width,
        height,
        fps,
    )


def peak_segment_bps(sized: list[tuple[float, int]], target_s: float) -> float:
    """RFC 8216 4.3.4.2's peak segment bit rate: the largest bit rate of any contiguous set of
    segments ((seconds, bits) each) lasting 0.5-1.5 times the target duration. A last segment
    of a few frames is so counted with the one before it, not alone (alone, its IDR frame over
    a few ms would look like megabits a second). A playlist too short for any such set: the
    whole of it."""
    best = 0.0
    for first in range(len(sized)):
        seconds = bits = 0.0
        for duration, size in sized[first:]:
            seconds += duration
            bits += size
            if seconds > 1.5 * target_s:
                break
            if seconds >= 0.5 * target_s:
                best = max(best, bits / seconds)
    if best == 0.0 and sized:
        total = sum(duration for duration, _ in sized)
        best = sum(size for _, size in sized) / total if total else 0.0
    return best


def avc1_codecs(extradata: bytes) -> str:
    """RFC 6381 ``avc1.PPCCLL`` from an H.264 decoder configuration (avcC) or Annex B SPS."""
    if extradata[:1] == b"\x01" and len(extradata) >= 4:
        profile, compat, level = extradata[1], extradata[2], extradata[3]
    else:
        at = extradata.find(b"\x00\x00\x01")
        while at >= 0 and extradata[at + 3] & 0x1F != 7:
            at = extradata.find(b"\x00\x00\x01", at + 3)
        if at < 0:
            raise ValueError("no H.264 sequence parameter set in the stream's configuration")
        profile, compat, level = extradata[at + 4], extradata[at + 5], extradata[at + 6]
    return f"avc1.{profile:02x}{compat:02x}{level:02x}"


def master_playlist(web: Path) -> str:
    """The master playlist of the rungs written under ``web``: video rungs from the smallest,
    then the audio-only one."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    named: list[tuple[str, float | None]] = [(rung.name, rung.fps) for rung in RUNGS]
    for name, fps in [*named, (AUDIO_RUNG, None)]:
        variant = measure_variant(web / name, fps)
        fields = [
            f"BANDWIDTH={variant.peak_bps}",
            f"AVERAGE-BANDWIDTH={variant.average_bps}",
            f'CODECS="{variant.codecs}"',
        ]
        if variant.width and variant.height:
            fields.append(f"RESOLUTION={variant.width}x{variant.height}")
        if variant.fps:
            fields.append(f"FRAME-RATE={variant.fps:.3f}")
        lines.append("#EXT-X-STREAM-INF:" + ",".join(fields))
        lines.append(f"{name}/{PLAYLIST}")
    return "\n".join(lines) + "\n"
