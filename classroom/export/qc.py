"""QC of a written broadcast master: measured by reading the file back, never from settings.

:func:`measure` opens the file with PyAV and reports what a playout house's QC would look at:
container, video codec and profile, picture size, frame rate, scan and field order, colour
flags, the longest GOP and whether every GOP is closed, the video bit rate second by second,
the audio tracks, the duration, and the programme's integrated loudness, loudness range and
true peak (:mod:`classroom.export.loudness` on the decoded PCM). Every check carries its limit
and whether it passed; ``passed`` is true only when all did.

How it reads the file: every packet of every stream is demuxed (GOP structure, closed GOPs from
the bitstream's own headers, bit rate, frame count); every audio sample is decoded; the video
is decoded for its first two GOPs (profile, colour and field flags as a decoder sees them) and,
with a leader, one frame in the middle of the bars (their colours).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np

from classroom import errors
from classroom.export import loudness

if TYPE_CHECKING:
    from classroom.export.broadcast import Layout, Master

FPS, RATE = 25, 48000


class QcFailed(errors.QcFailed):
    """A master was written but failed its QC: it is not kept; the report says why (the code
    and status are :class:`classroom.errors.QcFailed`'s)."""

    def __init__(self, name: str, report: dict[str, Any]) -> None:
        failed = [c for c in report["checks"] if not c["passed"]]
        lines = ", ".join(f"{c['name']} = {c['value']} (limit {c['limit']})" for c in failed)
        super().__init__(f"{name} failed QC: {lines}")
        self.report = report


@dataclass(frozen=True)
class Expected:
    """What a master must be: from its kind (:class:`~classroom.export.broadcast.Master`) and
    its layout; the limits checked against what is measured."""

    name: str
    container: str  # "mov" or "mxf"
    codec: str  # "h264" or "mpeg2video"
    profile: str  # "High" or "4:2:2"
    width: int
    height: int
    interlaced: bool
    max_gop: int
    bit_rate: int
    bit_rate_tolerance: float  # of the nominal rate, per second and overall
    mono_tracks: int  # 0: one stereo track
    leader_s: int
    programme_s: int
    target_lufs: float = -23.0
    lufs_tolerance: float = 0.5
    max_true_peak_dbtp: float = -1.0
    tone_dbfs: float = -18.0
    bars_s: int = 30
    bars_rgb: tuple[tuple[int, int, int], ...] = ()


def expected(master: Master, plan: Layout) -> Expected:
    from classroom.export import broadcast

    is_mov = master.container == "mov"
    return Expected(
        name=master.name,
        container=master.container,
        codec="h264" if is_mov else "mpeg2video",
        profile="High" if is_mov else "4:2:2",
        width=broadcast.WIDTH,
        height=broadcast.HEIGHT,
        interlaced=master.interlaced,
        max_gop=master.gop,
        bit_rate=master.bit_rate,
        bit_rate_tolerance=0.1,
        mono_tracks=master.mono_tracks,
        leader_s=plan.leader_s,
        programme_s=plan.programme_s,
        bars_s=plan.leader.bars_s if plan.leader else 0,
        target_lufs=broadcast.TARGET_LUFS,
        max_true_peak_dbtp=broadcast.MAX_TRUE_PEAK_DBTP,
        tone_dbfs=broadcast.TONE_DBFS,
        bars_rgb=broadcast.BAR_COLOURS,
    )


class _Checks:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, name: str, value: Any, limit: str, passed: bool) -> None:
        self.items.append({"name": name, "value": value, "limit": limit, "passed": bool(passed)})


def measure(path: Path, want: Expected) -> dict[str, Any]:
    """The QC report of the master at ``path`` (a JSON-ready dict, ``passed`` overall)."""
    checks = _Checks()
    with av.open(str(path)) as container:
        format_name = container.format.name
        metadata = dict(container.metadata)
        if not container.streams.video:
            raise ValueError(f"{path.name} holds no video")
        video = _video_packets(container, want)
    with av.open(str(path)) as container:
        audio = _audio(container, want)
    with av.open(str(path)) as container:
        decoded = _decoded_video(container, want)

    # Container
    is_mov = "mov" in format_name.split(",")
    container_ok = is_mov if want.container == "mov" else format_name == "mxf"
    checks.add("container", format_name, want.container, container_ok)
    if want.container == "mxf":
        pattern = metadata.get("operational_pattern_ul", "")
        checks.add("operational_pattern", _op_name(pattern), "OP1a", _op_name(pattern) == "OP1a")

    # Video
    checks.add("video_codec", decoded["codec"], want.codec, decoded["codec"] == want.codec)
    checks.add("profile", decoded["profile"], want.profile, decoded["profile"] == want.profile)
    size = f"{decoded['width']}x{decoded['height']}"
    checks.add("size", size, f"{want.width}x{want.height}", size == f"{want.width}x{want.height}")
    checks.add("frame_rate", decoded["frame_rate"], "25", decoded["frame_rate"] == "25")
    scan = decoded["scan"]
    if want.codec == "mpeg2video" and scan.startswith("interlaced"):
        # FFmpeg's MPEG-2 decoder does not report the field order; the bitstream says it.
        scan = {"tff": "interlaced tff", "bff": "interlaced bff"}.get(
            video["bitstream_scan"] or "", scan
        )
        decoded["scan"] = scan
    wanted_scan = "interlaced tff" if want.interlaced else "progressive"
    checks.add("scan", scan, wanted_scan, scan == wanted_scan)
    for flag in ("color_primaries", "color_trc", "colorspace"):
        checks.add(flag, decoded[flag], "bt709", decoded[flag] == "bt709")
    checks.add("color_range", decoded["color_range"], "tv", decoded["color_range"] == "tv")
    checks.add(
        "longest_gop",
        video["longest_gop"],
        f"<= {want.max_gop} frames",
        0 < video["longest_gop"] <= want.max_gop,
    )
    checks.add("closed_gops", video["closed_gops"], "every GOP", video["closed_gops"])
    low = want.bit_rate * (1 - want.bit_rate_tolerance)
    high = want.bit_rate * (1 + want.bit_rate_tolerance)
    limit = f"{low / 1e6:.1f}-{high / 1e6:.1f} Mbit/s in every whole second"
    seconds = video["bit_rate_per_second"]
    checks.add(
        "video_bit_rate",
        {"mean": video["bit_rate"], "min": min(seconds, default=0), "max": max(seconds, default=0)},
        limit,
        bool(seconds) and all(low <= rate <= high for rate in seconds),
    )

    # Duration
    frames = video["frames"]
    checks.add(
        "duration",
        round(frames / FPS, 3),
        f"{want.leader_s + want.programme_s} s, whole seconds",
        frames == (want.leader_s + want.programme_s) * FPS,
    )

    # Audio
    wanted_tracks = want.mono_tracks or 1
    checks.add(
        "audio_tracks",
        len(audio["tracks"]),
        str(wanted_tracks),
        len(audio["tracks"]) == wanted_tracks,
    )
    for number, track in enumerate(audio["tracks"], start=1):
        fine = (
            track["codec"] == "pcm_s24le"
            and track["sample_rate"] == RATE
            and track["channels"] == (1 if want.mono_tracks else 2)
        )
        checks.add(
            f"audio_{number}_format",
            f"{track['codec']} {track['sample_rate']} Hz {track['channels']} ch",
            f"pcm_s24le {RATE} Hz {1 if want.mono_tracks else 2} ch",
            fine,
        )
        checks.add(
            f"audio_{number}_duration",
            round(track["samples"] / RATE, 4),
            "the video's duration",
            track["samples"] == frames * (RATE // FPS),
        )
        if want.mono_tracks and number > 2:
            checks.add(
                f"audio_{number}_silent",
                track["peak_dbfs"],
                "digital silence",
                track["peak_dbfs"] is None,
            )

    # Loudness of the programme (after the leader), on the programme pair
    programme = audio["programme"]
    silent = programme["sample_peak_dbfs"] is None and programme["duration_s"] > 0
    integrated = programme["integrated_lufs"]
    lo, hi = want.target_lufs - want.lufs_tolerance, want.target_lufs + want.lufs_tolerance
    checks.add(
        "integrated_loudness",
        "digital silence" if silent else integrated,
        f"{lo:.1f} to {hi:.1f} LUFS (or digital silence)",
        silent or (integrated is not None and lo <= integrated <= hi),
    )
    peak = programme["true_peak_dbtp"]
    checks.add(
        "true_peak",
        peak,
        f"<= {want.max_true_peak_dbtp:.1f} dBTP",
        peak is None or peak <= want.max_true_peak_dbtp,
    )
    checks.add("loudness_range", programme["range_lu"], "reported (no limit)", True)

    # Leader
    if want.leader_s:
        tone = audio["tone_dbfs"]
        checks.add(
            "leader_tone",
            tone,
            f"{want.tone_dbfs:.1f} dBFS +-0.2 on the programme pair",
            all(t is not None and abs(t - want.tone_dbfs) <= 0.2 for t in tone),
        )
        bars = decoded.get("bars_rgb")
        checks.add(
            "leader_bars",
            bars,
            "EBU 100/0/75/0 bars +-8 per channel",
            bars is not None
            and len(bars) == len(want.bars_rgb)
            and all(
                max(abs(a - b) for a, b in zip(got, ref, strict=True)) <= 8
                for got, ref in zip(bars, want.bars_rgb, strict=True)
            ),
        )
        checks.add(
            "leader_silence_after_tone",
            audio["after_tone_peak_dbfs"],
            "digital silence under slate and black",
            audio["after_tone_peak_dbfs"] is None,
        )

    return {
        "file": want.name,
        "passed": all(c["passed"] for c in checks.items),
        "measured_from": "the written file: every packet demuxed, every audio sample decoded, "
        "the first two GOPs of video decoded",
        "container": {"format": format_name, **metadata_subset(metadata)},
        "video": {**decoded, **video},
        "audio": {"tracks": audio["tracks"], "programme": programme},
        "layout": {"leader_s": want.leader_s, "programme_s": want.programme_s},
        "checks": checks.items,
    }


def metadata_subset(metadata: dict[str, str]) -> dict[str, str]:
    keys = ("operational_pattern_ul", "timecode", "product_name", "company_name")
    return {key: metadata[key] for key in keys if key in metadata}


def _op_name(ul: str) -> str:
    """The operational pattern of an MXF OP UL (``06.0e.2b.34.04.01.01.01.0d.01.02.01.II.PP``)."""
    parts = ul.replace(".", "").lower()
    if len(parts) < 28 or not parts.startswith("060e2b34") or parts[16:24] != "0d010201":
        return ul or "unknown"
    item, package = int(parts[24:26], 16), int(parts[26:28], 16)
    if not (1 <= item <= 3 and 1 <= package <= 3):
        return ul
    return f"OP{item}{'abc'[package - 1]}"


# --- video -------------------------------------------------------------------------------------


def _video_packets(container: Any, want: Expected) -> dict[str, Any]:
    """GOPs, closed-ness and bit rate from every video packet (demuxed, not decoded)."""
    stream = container.streams.video[0]
    gops: list[int] = []
    closed = True
    per_second: dict[int, int] = {}
    frames = 0
    total_bytes = 0
    gop_key_pts: int | None = None
    fields: set[str] = set()  # MPEG-2: each picture's scan from its coding extension
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        data = bytes(packet)
        if want.codec == "mpeg2video":
            fields.update(_mpeg2_scan(data))
        if packet.is_keyframe:
            gops.append(0)
            gop_key_pts = packet.pts
            closed = closed and _closed_start(data, want.codec)
        elif gop_key_pts is not None and packet.pts is not None and want.codec == "h264":
            # An H.264 picture shown before the GOP's IDR would depend on the GOP before.
            closed = closed and packet.pts > gop_key_pts
        if not gops:
            gops.append(0)
            closed = False  # the stream does not start with a key frame
        gops[-1] += 1
        frames += 1
        total_bytes += packet.size
        per_second[(frames - 1) // FPS] = per_second.get((frames - 1) // FPS, 0) + packet.size
    whole = frames // FPS
    rates = [per_second[s] * 8 for s in range(whole)]
    return {
        "frames": frames,
        "longest_gop": max(gops, default=0),
        "gops": len(gops),
        "closed_gops": closed and bool(gops),
        "gop_lengths": sorted(set(gops)),
        "bitstream_scan": _one(fields) if fields else None,
        "bit_rate": round(total_bytes * 8 * FPS / frames) if frames else 0,
        "bit_rate_per_second": rates,
    }


def _closed_start(data: bytes, codec: str) -> bool:
    """Whether a key frame packet starts a closed GOP, from the bitstream's own headers."""
    if codec == "mpeg2video":
        # group_of_pictures_header: 00 00 01 B8, 25 bits of time code, then closed_gop.
        at = data.find(b"\x00\x00\x01\xb8")
        return at >= 0 and len(data) >= at + 8 and bool(data[at + 7] & 0x40)
    # H.264 in MP4/MOV: length-prefixed NAL units; a closed GOP starts with an IDR (type 5).
    types = set(_nal_types(data))
    return 5 in types


def _mpeg2_scan(data: bytes) -> Iterator[str]:
    """The scan of each picture in an MPEG-2 packet, from its picture coding extension
    (00 00 01 B5, extension id 8): "tff", "bff" or "progressive"."""
    at = data.find(b"\x00\x00\x01\xb5")
    while at >= 0 and at + 9 <= len(data):
        ext = data[at + 4 : at + 9]
        if ext[0] >> 4 == 8:
            progressive = bool(ext[4] & 0x80)
            yield "progressive" if progressive else ("tff" if ext[3] & 0x80 else "bff")
        at = data.find(b"\x00\x00\x01\xb5", at + 4)


def _nal_types(data: bytes) -> Iterator[int]:
    at = 0
    while at + 5 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        yield data[at + 4] & 0x1F
        at += 4 + size


def _decoded_video(container: Any, want: Expected) -> dict[str, Any]:
    """What a decoder sees in the first two GOPs (and the bars, with a leader)."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    context = stream.codec_context
    interlaced: list[bool] = []
    colours: dict[str, set[str]] = {k: set() for k in ("primaries", "trc", "space", "range")}
    for frame in container.decode(stream):
        interlaced.append(bool(frame.interlaced_frame))
        colours["primaries"].add(_name(frame.color_primaries, _PRIMARIES))
        colours["trc"].add(_name(frame.color_trc, _TRC))
        colours["space"].add(_name(frame.colorspace, _SPACE))
        colours["range"].add({1: "tv", 2: "pc"}.get(int(frame.color_range), "unknown"))
        if len(interlaced) >= 2 * want.max_gop:
            break
    field_order = int(context.field_order or 0)
    if interlaced and all(interlaced):
        scan = {2: "interlaced tff", 3: "interlaced bff"}.get(field_order, "interlaced")
    elif interlaced and not any(interlaced):
        scan = "progressive"
    else:
        scan = "mixed"
    rate = stream.average_rate or stream.guessed_rate
    result: dict[str, Any] = {
        "codec": context.name,
        "profile": context.profile,
        "pix_fmt": context.pix_fmt,
        "width": context.width,
        "height": context.height,
        "frame_rate": str(rate),
        "scan": scan,
        "field_order": {1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}.get(
            field_order, "unknown"
        ),
        "color_primaries": _one(colours["primaries"]),
        "color_trc": _one(colours["trc"]),
        "colorspace": _one(colours["space"]),
        "color_range": _one(colours["range"]),
    }
    if want.leader_s:
        result["bars_rgb"] = _bars(container, stream, want)
    return result


_PRIMARIES = {1: "bt709", 2: "unspecified", 5: "bt470bg", 6: "smpte170m", 9: "bt2020"}
_TRC = {1: "bt709", 2: "unspecified", 6: "smpte170m", 13: "iec61966-2-1", 14: "bt2020-10"}
_SPACE = {0: "rgb", 1: "bt709", 2: "unspecified", 5: "bt470bg", 6: "smpte170m", 9: "bt2020nc"}


def _name(value: Any, names: dict[int, str]) -> str:
    return names.get(int(value), str(int(value)))


def _one(values: set[str]) -> str:
    return next(iter(values)) if len(values) == 1 else ("mixed: " + ",".join(sorted(values)))


def _bars(container: Any, stream: Any, want: Expected) -> list[list[int]] | None:
    """The colour of each bar, decoded from a frame half-way through the bars (RGB, BT.709)."""
    target = want.bars_s * FPS // 2
    container.seek(0)
    for index, frame in enumerate(container.decode(stream)):
        if index < target:
            continue
        rgb = frame.to_ndarray(format="rgb24", src_colorspace="ITU709")
        width = rgb.shape[1] // len(want.bars_rgb)
        rows = slice(rgb.shape[0] // 4, rgb.shape[0] * 3 // 4)
        return [
            [
                int(v)
                for v in np.median(
                    rgb[rows, n * width + width // 4 : (n + 1) * width - width // 4], axis=(0, 1)
                )
            ]
            for n in range(len(want.bars_rgb))
        ]
    return None


# --- audio -------------------------------------------------------------------------------------


class _Track:
    """One audio stream read sample by sample: where the leader's tone and silence are, and,
    for a track of the programme pair (``programme``), its samples after the leader, held only
    until the loudness meter takes them (about a second). Other tracks keep counts and peaks,
    never samples: the 30-minute ``broadcast.mxf`` held 6 x 346 MB of its silent tracks 3-8."""

    def __init__(self, stream: Any, want: Expected, *, programme: bool) -> None:
        self.stream = stream
        self.want = want
        self.programme = programme
        self.samples = 0
        self.peak = 0.0
        self.tone_energy = 0.0
        self.tone_samples = 0
        self.after_tone_peak = 0.0
        self.pending: list[np.ndarray[Any, Any]] = []  # programme samples, (n, channels)

    def add(self, frame: Any) -> None:
        raw = frame.to_ndarray()
        channels = frame.layout.nb_channels
        data = raw.reshape(-1, channels) if raw.shape[0] == 1 else raw.T
        scale = 2.0**31 if data.dtype == np.int32 else (2.0**15 if data.dtype == np.int16 else 1.0)
        samples = data.astype(np.float32) / np.float32(scale)
        start = self.samples
        self.samples += len(samples)
        if len(samples):
            self.peak = max(self.peak, float(np.abs(samples).max()))
        tone_end = self.want.bars_s * RATE if self.want.leader_s else 0
        leader_end = self.want.leader_s * RATE
        # Tone: leave up to 0.5 s at each end of the bars out (its edges are not its level).
        edge = min(RATE // 2, tone_end // 4)
        lo, hi = max(start, edge), min(self.samples, tone_end - edge)
        if hi > lo:
            part = samples[lo - start : hi - start]
            self.tone_energy += float(np.square(part, dtype=np.float64).sum()) / channels
            self.tone_samples += len(part)
        lo, hi = max(start, tone_end), min(self.samples, leader_end)
        if hi > lo:
            self.after_tone_peak = max(
                self.after_tone_peak, float(np.abs(samples[lo - start : hi - start]).max())
            )
        lo = max(start, leader_end)
        if self.programme and self.samples > lo:
            self.pending.append(samples[lo - start :])

    def take(self, count: int) -> np.ndarray[Any, Any]:
        joined = np.concatenate(self.pending) if len(self.pending) != 1 else self.pending[0]
        self.pending = [joined[count:]] if len(joined) > count else []
        return joined[:count]

    def waiting(self) -> int:
        return sum(len(p) for p in self.pending)

    def tone_dbfs(self) -> float | None:
        if not self.tone_samples:
            return None
        rms = math.sqrt(self.tone_energy / self.tone_samples)
        return round(20 * math.log10(rms * math.sqrt(2)), 2) if rms > 0 else None  # sine: peak


def _db(value: float) -> float | None:
    return round(20 * math.log10(value), 2) if value > 0 else None


def _audio(container: Any, want: Expected) -> dict[str, Any]:
    """Every audio sample decoded; the programme pair measured for loudness."""
    streams = list(container.streams.audio)
    in_pair = 2 if want.mono_tracks else 1
    tracks = [_Track(s, want, programme=n < in_pair) for n, s in enumerate(streams)]
    pair = tracks[:in_pair]
    meter = loudness.Meter(RATE, 2)
    if streams:
        for packet in container.demux(*streams):
            for frame in packet.decode():
                track = tracks[streams.index(packet.stream)]
                track.add(frame)
            _feed(meter, pair)
        _feed(meter, pair, final=True)
    reading = meter.result()
    described = []
    for track in tracks:
        context = track.stream.codec_context
        described.append(
            {
                "codec": context.name,
                "sample_rate": context.sample_rate,
                "channels": context.layout.nb_channels if context.layout else context.channels,
                "samples": track.samples,
                "peak_dbfs": _db(track.peak),
            }
        )
    tone = [t.tone_dbfs() for t in pair] if want.leader_s else []
    return {
        "tracks": described,
        "programme": reading.as_dict(),
        "tone_dbfs": tone,
        "after_tone_peak_dbfs": _db(max((t.after_tone_peak for t in pair), default=0.0)),
    }


def _feed(meter: loudness.Meter, pair: list[_Track], *, final: bool = False) -> None:
    if not pair:
        return
    if len(pair) == 1:
        ready = pair[0].waiting()
        if ready and (final or ready >= RATE):
            meter.add(pair[0].take(ready)[:, :2])
        return
    ready = min(t.waiting() for t in pair)
    if ready and (final or ready >= RATE):
        meter.add(np.concatenate([t.take(ready)[:, :1] for t in pair], axis=1))
