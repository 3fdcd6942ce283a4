"""How fast the web export runs, and what its rungs cost a viewer: x realtime, measured bit rates.

The lesson is ``bench/replay.py``'s synthetic one at its density (2,000 strokes per 30 minutes
over 10 pages, polls, a quiz, keyframes, speech-like voice as 3-second Opus segments), cut to
``--minutes`` (5). Measured in one run, one after the other:

* ``baseline_frames_s``: the frames alone (``classroom.export.frames.frames`` at 1280x720 25 fps,
  the renderer the export uses), no conversion, no encoding;
* ``baseline_sound_s``: the sound alone (decode, lay on the clock, -16 LUFS);
* ``web_s``: ``classroom.export.web.write``, the whole ladder (4 video rungs + audio-only, HLS
  fMP4) and ``lesson.mp4`` in its one pass, and its ``x_realtime`` (programme seconds over wall
  seconds; the target is >= 2); ``encode_share``: the part of ``web_s`` that is not frames or
  sound;
* per rung, from the written files: video and audio kbit/s (packet bytes over the programme's
  length, by demuxing the segments), the peak segment's kbit/s (its file size over its EXTINF),
  and the master playlist's BANDWIDTH; ``lesson.mp4``'s size and MB per 30 minutes.

Run under the shared lock (benchmarks must not overlap):
``flock /work/bench.lock nice .venv/bin/python bench/web.py [--minutes 5]``.
Progress on stderr; the last stdout line is one JSON object with the load average.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _path  # noqa: F401
import av
from replay import make_lesson

from classroom.export import ExportOptions, frames, sound, web
from classroom.export.source import from_events


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rung_rates(folder: Path, seconds: float) -> dict[str, Any]:
    """A rung's bit rates measured from its files: demuxed packet bytes, segment sizes."""
    variant = web.measure_variant(folder)
    init = (folder / web.INIT).read_bytes()
    playlist = (folder / web.PLAYLIST).read_text(encoding="utf-8")
    names = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    bits = {"video": 0, "audio": 0}
    for name in names:
        with av.open(io.BytesIO(init + (folder / name).read_bytes())) as media:
            for packet in media.demux():
                if packet.size:
                    bits[packet.stream.type] = bits.get(packet.stream.type, 0) + packet.size * 8
    return {
        "video_kbps": round(bits["video"] / seconds / 1000, 1),
        "audio_kbps": round(bits["audio"] / seconds / 1000, 1),
        "peak_segment_kbps": round(variant.peak_bps / 1000, 1),
        "segments": len(names),
        "codecs": variant.codecs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    load_before = os.getloadavg()
    strokes = max(20, round(2000 * args.minutes / 30))
    log(f"making a {args.minutes}-minute lesson ({strokes} strokes) ...")
    events, assets = make_lesson("c_bench_web", strokes, with_audio=True, distinct_audio=20)
    source = from_events(events, assets={k: ("audio/ogg", v) for k, v in assets.items()})
    _ = source.timeline
    programme_s = source.duration_ms / 1000
    log(f"  {len(events)} events, {programme_s:.0f} s of programme")

    log("baseline: the frames alone at 1280x720 25 fps ...")
    started = time.perf_counter()
    count = changed = 0
    last = None
    for picture in frames.frames(source, width=web.TOP[0], height=web.TOP[1], fps=web.FPS):
        count += 1
        if picture is not last:
            changed += 1
            last = picture
    frames_s = time.perf_counter() - started
    log(f"  {count} frames ({changed} new pictures) in {frames_s:.1f} s")

    log("baseline: the sound alone ...")
    started = time.perf_counter()
    web.normalise(sound.lesson_audio(source, rate=web.AUDIO_RATE), web.AUDIO_RATE)
    sound_s = time.perf_counter() - started
    log(f"  {sound_s:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        log("web.write: the ladder and lesson.mp4 ...")
        last_report = [0.0]

        def progress(fraction: float, stage: str) -> None:
            if fraction - last_report[0] >= 0.1 or fraction == 1.0:
                last_report[0] = fraction
                log(f"  {fraction:4.0%} {stage}")

        cpu_before = os.times()
        started = time.perf_counter()
        web.write(source, out, ExportOptions(), progress)
        web_s = time.perf_counter() - started
        cpu_after = os.times()
        cpu_s = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
        log(f"  {web_s:.1f} s ({programme_s / web_s:.2f}x realtime, CPU {cpu_s:.0f} s)")
        master = (out / "web" / web.MASTER).read_text(encoding="utf-8")
        bandwidth = {
            uri.split("/")[0]: int(tag.split("BANDWIDTH=")[1].split(",")[0])
            for tag, uri in zip(master.splitlines()[3::2], master.splitlines()[4::2], strict=True)
        }
        rungs = {}
        for name in [r.name for r in web.RUNGS] + [web.AUDIO_RUNG]:
            rungs[name] = rung_rates(out / "web" / name, programme_s)
            rungs[name]["master_bandwidth_kbps"] = round(bandwidth[name] / 1000, 1)
            log(f"  {name}: {rungs[name]}")
        mp4_bytes = (out / web.MP4_NAME).stat().st_size
        ladder_bytes = sum(p.stat().st_size for p in (out / "web").rglob("*") if p.is_file())

    result = {
        "bench": "web",
        "programme_s": round(programme_s, 1),
        "frames": count,
        "new_pictures": changed,
        "baseline_frames_s": round(frames_s, 2),
        "baseline_frames_x_realtime": round(programme_s / frames_s, 2),
        "baseline_sound_s": round(sound_s, 2),
        "web_s": round(web_s, 2),
        "web_x_realtime": round(programme_s / web_s, 2),
        "web_target_x_realtime": 2.0,
        "web_cpu_s": round(cpu_s, 1),
        # CPU seconds of this process (x264's threads included) per programme second: what
        # the export costs when the machine is shared, whatever the wall clock says.
        "web_cpu_x_realtime": round(programme_s / cpu_s, 2),
        "encode_share": round(max(0.0, web_s - frames_s - sound_s) / web_s, 2),
        "rungs": rungs,
        "ladder_mb": round(ladder_bytes / 1e6, 2),
        "lesson_mp4_mb": round(mp4_bytes / 1e6, 2),
        "lesson_mp4_mb_per_30_min": round(mp4_bytes / 1e6 * 1800 / programme_s, 1),
        "lesson_mp4_limit_mb_per_30_min": 60,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
