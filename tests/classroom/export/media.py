"""Reading written media the way a player does, for export tests: fMP4 segments joined to their
init segment, MP4 boxes, HLS playlists. (FFmpeg's loudness meter: ``testkit.audio.ebur128``.)"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av


def top_boxes(data: bytes) -> list[str]:
    """The top-level MP4 box types, in file order."""
    found, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8 : at + 16])[0]
        found.append(kind.decode("latin-1"))
        if size == 0:
            break
        at += size
    return found


@dataclass
class MediaPlaylist:
    version: int
    target_s: int
    segments: list[tuple[float, str]]
    init: str
    ended: bool


def parse_media(text: str) -> MediaPlaylist:
    lines = text.splitlines()
    if lines[0] != "#EXTM3U":
        raise ValueError("not an M3U8 playlist")
    version = target = 0
    init = ""
    segments: list[tuple[float, str]] = []
    pending: float | None = None
    for line in lines[1:]:
        if line.startswith("#EXT-X-VERSION:"):
            version = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MAP:"):
            init = re.fullmatch(r'#EXT-X-MAP:URI="([^"]+)"', line).group(1)  # type: ignore[union-attr]
        elif line.startswith("#EXTINF:"):
            pending = float(line.split(":", 1)[1].rstrip(","))
        elif line and not line.startswith("#"):
            if pending is None:
                raise ValueError(f"{line} has no EXTINF")
            segments.append((pending, line))
            pending = None
    return MediaPlaylist(version, target, segments, init, "#EXT-X-ENDLIST" in lines)


@dataclass
class Variant:
    attributes: dict[str, str]
    uri: str


def parse_master(text: str) -> tuple[int, list[Variant]]:
    """EXT-X-VERSION and the variants; ValueError for a tag without its URI line."""
    lines = [line for line in text.splitlines() if line]
    if lines[0] != "#EXTM3U":
        raise ValueError("not an M3U8 playlist")
    version = 0
    variants: list[Variant] = []
    index = 1
    while index < len(lines):
        line = lines[index]
        if line.startswith("#EXT-X-VERSION:"):
            version = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-STREAM-INF:"):
            body = line.split(":", 1)[1]
            pairs = re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)', body)
            rebuilt = ",".join(f"{k}={v}" for k, v in pairs)
            if rebuilt != body:
                raise ValueError(f"bad attribute list {body!r}")
            attributes = {k: v.strip('"') for k, v in pairs}
            uri = lines[index + 1]
            if uri.startswith("#"):
                raise ValueError(f"{line} is not followed by a URI")
            variants.append(Variant(attributes, uri))
            index += 1
        index += 1
    return version, variants


@dataclass
class StreamRead:
    """What one segment held of one stream."""

    codec: str
    profile: str | None
    packets: list[tuple[int, int | None, bool, int, bytes]] = field(default_factory=list)
    # (pts, dts, is_keyframe, size, data) in decode order; pts in time_base
    time_base: Fraction = Fraction(1)
    width: int = 0
    height: int = 0
    level: int = 0
    sample_rate: int = 0
    channels: int = 0
    extradata: bytes = b""


def read_segment(init: bytes, segment: bytes) -> dict[str, StreamRead]:
    """Demux one fMP4 segment joined to its init segment (as a player's buffer does)."""
    out: dict[str, StreamRead] = {}
    with av.open(io.BytesIO(init + segment)) as media:
        for stream in media.streams:
            ctx = stream.codec_context
            read = StreamRead(ctx.name, ctx.profile, time_base=stream.time_base or Fraction(1))
            if stream.type == "video":
                read.width, read.height = ctx.width, ctx.height
                read.level = ctx.level
            if stream.type == "audio":
                read.sample_rate, read.channels = ctx.sample_rate, ctx.channels
            read.extradata = ctx.extradata or b""
            out[stream.type] = read
        for packet in media.demux():
            if packet.size == 0 or packet.pts is None:
                continue
            read = out[packet.stream.type]
            read.packets.append(
                (packet.pts, packet.dts, packet.is_keyframe, packet.size, bytes(packet))
            )
    return out


def decode_all(path_or_bytes: Path | bytes, kind: str = "audio") -> list[Any]:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    with av.open(source) as media:
        stream = media.streams.audio[0] if kind == "audio" else media.streams.video[0]
        return list(media.decode(stream))


def nal_types(packet: bytes) -> list[int]:
    """NAL unit types of a length-prefixed (MP4) H.264 access unit."""
    types, at = [], 0
    while at + 4 < len(packet):
        (size,) = struct.unpack(">I", packet[at : at + 4])
        types.append(packet[at + 4] & 0x1F)
        at += 4 + size
    return types
