"""web/ and lesson.mp4, read back with PyAV the way a player would: each rung's segments joined to
its init segment, every property a portal relies on measured from the files."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from boardclient.audio import encode_opus
from classroom.export import Cancelled, ExportOptions, chapters, loudness, sound, web, writer
from classroom.export.source import AudioPiece, LessonSource, from_events
from testkit.audio import ebur128
from testkit.export_lesson import gentle_voice, short_lesson, voice
from testkit.lessons import LessonMaker
from tests.classroom.export import media, vtt

# name: (width, height, fps, video cap bit/s, whole-segment cap bit/s)
LADDER = {
    "416x234": (416, 234, 15, 145_000, 192_000),
    "640x360": (640, 360, 25, 365_000 * 1.2, None),
    "960x540": (960, 540, 25, 1_500_000 * 1.2, None),
    "1280x720": (1280, 720, 25, 3_000_000 * 1.2, None),
}
PROFILE_IDC = {"Main": 0x4D, "High": 0x64, "Constrained Baseline": 0x42, "Baseline": 0x42}


@dataclass
class Written:
    source: LessonSource
    out: Path
    progress: list[tuple[float, str]]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    source = short_lesson(13.0).source
    out = tmp_path_factory.mktemp("web")
    seen: list[tuple[float, str]] = []
    paths = writer("web")(source, out, ExportOptions(lang="ur"), lambda f, s: seen.append((f, s)))
    assert paths == [out / "web" / "master.m3u8", out / "lesson.mp4"]
    chapters.write(source, out, ExportOptions(lang="ur"), lambda f, s: None)
    return Written(source, out, seen)


@dataclass
class Segment:
    extinf: float
    size: int
    streams: dict[str, media.StreamRead]


def _segments(folder: Path) -> tuple[media.MediaPlaylist, list[Segment]]:
    playlist = media.parse_media((folder / "index.m3u8").read_text(encoding="utf-8"))
    init = (folder / playlist.init).read_bytes()
    found = []
    for extinf, name in playlist.segments:
        data = (folder / name).read_bytes()
        found.append(Segment(extinf, len(data), media.read_segment(init, data)))
    return playlist, found


def _span_s(read: media.StreamRead, frame_s: float) -> tuple[float, float]:
    times = [pts * read.time_base for pts, *_ in read.packets]
    return float(min(times)), float(max(times)) + frame_s


def test_every_rung_decodes_at_its_size_rate_profile_and_caps(written: Written) -> None:
    keyframes_by_rung: dict[str, list[float]] = {}
    duration_s = written.source.duration_ms / 1000
    for name, (width, height, fps, video_cap, total_cap) in LADDER.items():
        playlist, segments = _segments(written.out / "web" / name)
        assert playlist.version == 7 and playlist.ended and playlist.target_s == 6
        assert len(segments) == 3  # 6 + 6 + ~1 s of a ~13 s programme
        keyframes: list[float] = []
        frames = 0
        for index, segment in enumerate(segments):
            video = segment.streams["video"]
            audio = segment.streams["audio"]
            assert (video.codec, video.width, video.height) == ("h264", width, height)
            assert video.profile in ("Main", "High")
            assert (audio.codec, audio.profile, audio.sample_rate) == ("aac", "LC", 48_000)
            start, end = _span_s(video, 1 / fps)
            seconds = end - start
            if index < len(segments) - 1:
                assert seconds == pytest.approx(6.0, abs=1e-6), name
            assert segment.extinf == pytest.approx(seconds, abs=0.05)
            # 1/fps apart, no gaps: the rung's frame rate.
            pts = sorted(p for p, *_ in video.packets)
            steps = {Fraction(b - a) * video.time_base for a, b in itertools.pairwise(pts)}
            assert steps == {Fraction(1, fps)}, name
            frames += len(pts)
            # Closed GOPs: each starts on an IDR frame, and no frame after it in decode order
            # is shown before it (it needs nothing of the previous GOP).
            for at, (p, _dts, key, _size, data) in enumerate(video.packets):
                if key:
                    keyframes.append(float(p * video.time_base))
                    assert 5 in media.nal_types(data), f"{name}: a keyframe that is not IDR"
                    assert all(later[0] > p for later in video.packets[at + 1 :] if not later[2])
                    assert all(q >= p for q, *_ in video.packets[at:])
            assert video.packets[0][2], f"{name}: segment {index} does not start on a keyframe"
            video_bps = sum(size for *_, size, _ in video.packets) * 8 / seconds
            assert video_bps <= video_cap, (name, index, video_bps)
            if total_cap is not None and index < len(segments) - 1:
                assert segment.size * 8 / seconds <= total_cap, (name, index)
        assert frames == pytest.approx(duration_s * fps, abs=2)
        assert keyframes == [2.0 * n for n in range(len(keyframes))], name
        keyframes_by_rung[name] = keyframes
    # The same GOP boundaries on every rung: a player switches rungs on any of them.
    assert len({tuple(k) for k in keyframes_by_rung.values()}) == 1


def test_audio_rung_is_aac_lc_at_minus_16_lufs(written: Written) -> None:
    folder = written.out / "web" / "audio"
    playlist, segments = _segments(folder)
    assert all(set(s.streams) == {"audio"} for s in segments)
    assert [round(d) for d, _ in playlist.segments[:-1]] == [6] * (len(segments) - 1)
    joined = (folder / playlist.init).read_bytes() + b"".join(
        (folder / name).read_bytes() for _, name in playlist.segments
    )
    frames = media.decode_all(joined)
    assert frames[0].format.name == "fltp" and frames[0].layout.name == "mono"
    samples = np.concatenate([f.to_ndarray()[0] for f in frames])
    assert len(samples) / 48_000 == pytest.approx(written.source.duration_ms / 1000, abs=0.1)
    lufs, true_peak = ebur128(samples, 48_000)
    assert lufs == pytest.approx(-16.0, abs=1.0)
    assert true_peak <= -1.0
    # Every video rung and lesson.mp4 carry the same loudness.
    mp4_samples = np.concatenate(
        [f.to_ndarray()[0] for f in media.decode_all(written.out / "lesson.mp4")]
    )
    assert ebur128(mp4_samples, 48_000)[0] == pytest.approx(-16.0, abs=1.0)


@pytest.mark.parametrize("speaker", [voice, gentle_voice], ids=["peaky", "gentle"])
def test_web_sound_reaches_minus_16_lufs_for_a_peaky_voice_too(speaker: Any) -> None:
    """3 s Opus segments of a voice, as the lesson's sound is recorded, through web.normalise
    (compressor, gain, limiter) and the AAC encoder: decoded, FFmpeg's ebur128 reads -16 LUFS
    +-1 LU with true peaks under -1 dBTP. A peaky voice (programmes.speech_like) peaks ~18 dB
    over its loudness: the limiter alone could not bring it there under the ceiling."""
    pieces = [
        sound.decode_piece(
            AudioPiece("a", 0, 3000, "ogg", encode_opus(speaker(3, n))), web.AUDIO_RATE
        )
        for n in range(6)
    ]
    samples = np.concatenate([p[: 3 * web.AUDIO_RATE] for p in pieces]).astype(np.float32)
    before = loudness.measure(samples)
    assert before.true_peak_dbtp - before.integrated_lufs > 12.5 or speaker is gentle_voice
    out = web.normalise(samples, web.AUDIO_RATE)
    assert out is samples  # in place: the programme's one buffer
    ours = loudness.measure(out)
    assert ours.integrated_lufs == pytest.approx(web.TARGET_LUFS, abs=0.2)
    assert ours.true_peak_dbtp <= web.TRUE_PEAK_DBTP
    codec = av.CodecContext.create("aac", "r")
    codec.extradata = bytes([0x11, 0x88])  # AudioSpecificConfig: AAC-LC, 48 kHz, mono
    decoded = []
    for packet in web._encode_audio(out):
        for frame in codec.decode(av.Packet(packet.data)):
            decoded.append(frame.to_ndarray()[0])
    lufs, true_peak = ebur128(np.concatenate(decoded), web.AUDIO_RATE)
    assert lufs == pytest.approx(-16.0, abs=1.0)
    assert true_peak <= -1.0


def test_master_playlist_names_every_rung_with_honest_numbers(written: Written) -> None:
    web_dir = written.out / "web"
    version, variants = media.parse_master((web_dir / "master.m3u8").read_text(encoding="utf-8"))
    assert version == 7
    uris = [v.uri for v in variants]
    assert uris == [f"{name}/index.m3u8" for name in LADDER] + ["audio/index.m3u8"]
    for variant in variants:
        folder = (web_dir / variant.uri).parent
        _, segments = _segments(folder)
        attrs = variant.attributes
        # RFC 8216 4.3.4.2: the peak over contiguous runs of 3-9 s (target duration 6 s).
        peak = 0.0
        for first in range(len(segments)):
            for last in range(first, len(segments)):
                run = segments[first : last + 1]
                seconds = sum(s.extinf for s in run)
                if 3.0 <= seconds <= 9.0:
                    peak = max(peak, sum(s.size for s in run) * 8 / seconds)
        assert peak > 0
        assert int(attrs["BANDWIDTH"]) >= peak * 0.999
        assert int(attrs["AVERAGE-BANDWIDTH"]) <= int(attrs["BANDWIDTH"])
        video = segments[0].streams.get("video")
        if video is None:
            assert attrs["CODECS"] == "mp4a.40.2" and "RESOLUTION" not in attrs
            continue
        avc, mp4a = attrs["CODECS"].split(",")
        assert mp4a == "mp4a.40.2"
        assert avc[:7] == f"avc1.{PROFILE_IDC[video.profile or '']:02x}"
        assert int(avc[9:11], 16) == video.level and len(avc) == 11
        assert attrs["RESOLUTION"] == f"{video.width}x{video.height}"
        assert float(attrs["FRAME-RATE"]) == LADDER[folder.name][2]


def test_lesson_mp4_starts_fast_is_small_and_has_the_vtt_chapters(written: Written) -> None:
    path = written.out / "lesson.mp4"
    data = path.read_bytes()
    boxes = media.top_boxes(data)
    assert boxes.index("moov") < boxes.index("mdat")
    duration_s = written.source.duration_ms / 1000
    with av.open(str(path)) as mp4:
        video = mp4.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        assert video.codec_context.name == "h264"
        audio = mp4.streams.audio[0]
        assert (audio.codec_context.name, audio.codec_context.profile) == ("aac", "LC")
        read = [
            (c["start"] * c["time_base"], c["end"] * c["time_base"], c["metadata"]["title"])
            for c in mp4.chapters()
        ]
    cues = vtt.parse((written.out / "chapters.vtt").read_text(encoding="utf-8"))
    assert read == [(Fraction(c.start_ms, 1000), Fraction(c.end_ms, 1000), c.text) for c in cues]
    assert len(read) >= 4
    # <= 60 MB per 30 minutes, at this lesson's rate.
    assert len(data) / duration_s * 1800 <= 60e6


def test_progress_runs_from_0_to_1_and_nothing_half_written_is_left(written: Written) -> None:
    fractions = [f for f, _ in written.progress]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and len(fractions) > 10
    assert sorted(p.name for p in written.out.iterdir()) == ["chapters.vtt", "lesson.mp4", "web"]


def test_a_cancelled_export_leaves_no_file_and_keeps_the_last_one(
    written: Written, tmp_path: Path
) -> None:
    out = tmp_path
    (out / "web").mkdir()
    (out / "web" / "master.m3u8").write_text("the previous export\n")

    def cancel(fraction: float, stage: str) -> None:
        if fraction > 0.3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        web.write(written.source, out, ExportOptions(), cancel)
    assert sorted(p.name for p in out.iterdir()) == ["web"]
    assert [p.name for p in (out / "web").iterdir()] == ["master.m3u8"]
    assert (out / "web" / "master.m3u8").read_text() == "the previous export\n"


@pytest.mark.parametrize("rung", [web.RUNGS[0], web.RUNGS[1], web.MP4_RUNG], ids=lambda r: r.name)
def test_the_caps_hold_on_a_picture_that_changes_every_frame(
    rung: web.Rung, tmp_path: Path
) -> None:
    """Noise is the worst a board can be: the encoder's VBV model still keeps each 6 s segment
    inside the rung's caps, sound included (lesson.mp4: inside 60 MB per 30 minutes)."""
    rng = np.random.default_rng(5)
    seconds = 12
    sound = web.normalise(voice(seconds, 1), web.AUDIO_RATE)
    audio = web._encode_audio(sound)
    folder = tmp_path / rung.name
    with web._hls(folder) as container:
        output = web._Output(container, rung, fragmented=True)
        for index in range(seconds * web.FPS):
            noise = rng.integers(0, 256, (rung.height, rung.width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(noise, format="rgb24").reformat(format="yuv420p")
            output.offer(index, {(rung.width, rung.height): frame})
            output.audio_until(audio, (index + 1) * web.AUDIO_RATE // web.FPS)
        output.flush()
        output.audio_until(audio, 1 << 62)
    _, segments = _segments(folder)
    assert len(segments) == 2
    limits = {
        "416x234": (145_000, 192_000),
        "640x360": (365_000 * 1.2, None),
        "lesson": (None, 60e6 * 8 / 1800),
    }
    video_cap, total_cap = limits[rung.name]
    for segment in segments:
        video = segment.streams["video"]
        assert len(video.packets) == 6 * rung.fps
        video_bps = sum(size for *_, size, _ in video.packets) * 8 / 6
        assert video_bps > rung.maxrate * 0.5  # the cap, not a light picture, kept it small
        if video_cap is not None:
            assert video_bps <= video_cap, video_bps
        if total_cap is not None:
            assert segment.size * 8 / 6 <= total_cap, segment.size * 8 / 6


def test_a_lesson_with_no_sound_gets_a_silent_track(tmp_path: Path) -> None:
    maker = LessonMaker("c_quiet")
    for _ in range(6):
        maker.stroke(batches=4)
        maker.tick(400)
    source = from_events(maker.events)
    assert 2000 < source.duration_ms < 5000 and not source.audio()
    web.write(source, tmp_path, ExportOptions(lang="en"), lambda f, s: None)
    samples = np.concatenate([f.to_ndarray()[0] for f in media.decode_all(tmp_path / "lesson.mp4")])
    assert len(samples) / 48_000 == pytest.approx(source.duration_ms / 1000, abs=0.1)
    assert float(np.max(np.abs(samples))) == 0.0
    _, variants = media.parse_master((tmp_path / "web" / "master.m3u8").read_text())
    assert len(variants) == 5
    _, segments = _segments(tmp_path / "web" / "416x234")
    assert len(segments) == 1 and segments[0].streams["video"].packets[0][2]
