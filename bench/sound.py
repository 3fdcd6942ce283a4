"""Memory and loudness of the web export's sound for the synthetic lesson of ``bench/replay.py``
(speech-like voice as 3-second Opus segments), cut to ``--minutes`` (30).

Measured in one run: ``baseline``: the programme's sound decoded and laid on its clock
(``sound.lesson_audio``: one float32 buffer) and its size; then ``web.normalise`` (compressor,
gain, true-peak limiter, in place) and the extra memory it needed over that buffer, by
tracemalloc (numpy's buffers are traced) and as peak RSS; the loudness before and after by our
meter and by FFmpeg's ebur128 filter.

``flock /work/bench.lock env PYTHONPATH=$PWD .venv/bin/python bench/sound.py [--minutes 30]``.
The last stdout line is one JSON object with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import tracemalloc

import _path  # noqa: F401
from replay import make_lesson

from classroom.export import loudness, sound, web
from classroom.export.source import from_events
from testkit.audio import ebur128


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    args = parser.parse_args()
    load_before = os.getloadavg()
    strokes = max(20, round(2000 * args.minutes / 30))
    events, assets = make_lesson("c_bench_sound", strokes, with_audio=True, distinct_audio=20)
    source = from_events(events, assets={k: ("audio/ogg", v) for k, v in assets.items()})
    _ = source.timeline
    rss_lesson = rss_mb()
    tracemalloc.start()
    started = time.perf_counter()
    samples = sound.lesson_audio(source, rate=web.AUDIO_RATE)
    decode_s = time.perf_counter() - started
    buffer_mb = samples.nbytes / 2**20
    _, decode_peak = tracemalloc.get_traced_memory()
    rss_decoded = rss_mb()
    before = loudness.measure(samples, web.AUDIO_RATE)
    print(f"decoded {len(samples) / web.AUDIO_RATE:.0f} s in {decode_s:.1f} s", file=sys.stderr)
    tracemalloc.reset_peak()
    held, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    out = web.normalise(samples, web.AUDIO_RATE)
    normalise_s = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_normalised = rss_mb()
    after = loudness.measure(out, web.AUDIO_RATE)
    theirs = ebur128(out, web.AUDIO_RATE)
    result = {
        "bench": "sound",
        "programme_s": round(len(samples) / web.AUDIO_RATE, 1),
        "baseline_buffer_mb": round(buffer_mb, 1),
        "baseline_decode_s": round(decode_s, 1),
        "decode_traced_peak_mb": round(decode_peak / 2**20, 1),
        "normalise_s": round(normalise_s, 1),
        "normalise_extra_traced_mb": round((peak - held) / 2**20, 1),
        "normalise_extra_over_buffer": round((peak - held) / samples.nbytes, 3),
        "rss_mb": {
            "lesson": round(rss_lesson),
            "decoded": round(rss_decoded),
            "normalised": round(rss_normalised),
        },
        "before": {
            "lufs": round(before.integrated_lufs, 2),
            "dbtp": round(before.true_peak_dbtp, 2),
        },
        "ours": {"lufs": round(after.integrated_lufs, 2), "dbtp": round(after.true_peak_dbtp, 2)},
        "ebur128": {"lufs": round(theirs[0], 2), "dbtp": round(theirs[1], 2)},
        "target": {"lufs": web.TARGET_LUFS, "dbtp": web.TRUE_PEAK_DBTP},
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
