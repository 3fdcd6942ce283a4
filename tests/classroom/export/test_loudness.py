"""Loudness measured against known signals and against FFmpeg's own EBU R128 meter."""

from __future__ import annotations

import math
from typing import Any

import av
import av.filter
import numpy as np
import pytest

from classroom.export import loudness
from testkit import programmes

RATE = 48_000


def sine(seconds: float, hz: float, dbfs: float, *, phase: float = 0.0) -> np.ndarray[Any, Any]:
    t = np.arange(round(seconds * RATE)) / RATE
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t + phase)).astype(np.float32)


def speech_like(seconds: float, seed: int = 1, *, level: float = 0.25) -> np.ndarray[Any, Any]:
    """Voiced syllables at ~4 a second with pauses, and a few sharp clicks at 0.9 (peaky)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 0.7 * t)) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 8)) + 0.3 * rng.standard_normal(n)
    envelope = np.clip(np.sin(2 * np.pi * 4.1 * t), 0, None) ** 2
    pauses = (np.sin(2 * np.pi * 0.25 * t) > -0.6).astype(np.float32)
    out = level * voice * envelope * pauses + 0.004 * rng.standard_normal(n)
    for at in rng.integers(0, n - 100, 6):
        out[at : at + 20] += 0.9  # a chalk tap on the microphone
    return np.clip(out, -1, 1).astype(np.float32)


def ffmpeg_r128(samples: np.ndarray[Any, Any]) -> dict[str, float]:
    """FFmpeg's ebur128 filter's reading (I, LRA, true peak in dBTP) of float samples."""
    layout = "mono" if samples.ndim == 1 else "stereo"
    data = samples.reshape(len(samples), -1).astype(np.float32)
    graph = av.filter.Graph()
    source = graph.add_abuffer(format="flt", sample_rate=RATE, layout=layout)
    meter = graph.add("ebur128", "metadata=1:peak=true")
    sink = graph.add("abuffersink")
    source.link_to(meter)
    meter.link_to(sink)
    graph.configure()
    last: dict[str, str] = {}

    def drain() -> None:
        while True:
            try:
                last.update(graph.pull().metadata)
            except (av.BlockingIOError, av.EOFError):
                return

    for lo in range(0, len(data), 4800):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(data[lo : lo + 4800]).reshape(1, -1), format="flt", layout=layout
        )
        frame.sample_rate = RATE
        frame.pts = lo
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    peak = float(last["lavfi.r128.true_peak"])
    return {
        "I": float(last["lavfi.r128.I"]),
        "LRA": float(last["lavfi.r128.LRA"]),
        "TP": 20 * math.log10(peak) if peak > 0 else -math.inf,
    }


def test_k_weighting_at_48k_is_the_standards_table() -> None:
    (shelf_b, shelf_a), (high_b, high_a) = loudness.k_weighting(48_000)
    # ITU-R BS.1770-4, tables 1 and 2.
    assert shelf_b == pytest.approx([1.53512485958697, -2.69169618940638, 1.19839281085285])
    assert shelf_a == pytest.approx([1.0, -1.69065929318241, 0.73248077421585])
    assert high_b == pytest.approx([1.0, -2.0, 1.0])
    assert high_a == pytest.approx([1.0, -1.99004745483398, 0.99007225036621])


def test_a_1khz_sine_at_minus_20_dbfs_is_minus_23_lufs() -> None:
    tone = sine(10, 1000, -20)
    reading = loudness.measure(tone)
    assert reading.integrated_lufs == pytest.approx(-23.0, abs=0.02)
    assert reading.integrated_lufs == pytest.approx(ffmpeg_r128(tone)["I"], abs=0.05)
    assert reading.true_peak_dbtp == pytest.approx(-20.0, abs=0.05)
    assert reading.range_lu == pytest.approx(0.0, abs=0.1)
    assert reading.duration_s == 10.0
    # The same tone on both channels of a stereo pair is 3.01 LU louder.
    pair = loudness.measure(np.stack([tone, tone], axis=1))
    assert pair.integrated_lufs - reading.integrated_lufs == pytest.approx(loudness.DUAL_MONO_LU)


def test_true_peak_finds_the_peak_between_samples() -> None:
    # A quarter-rate sine sampled at 45 degrees: every sample is at 0.707 of the real peak.
    tone = sine(2, RATE / 4, -1.0, phase=math.pi / 4)
    fade = np.sin(np.linspace(0, np.pi / 2, RATE // 20)) ** 2  # no click at the ends
    tone[: len(fade)] *= fade
    tone[-len(fade) :] *= fade[::-1]
    reading = loudness.measure(tone)
    assert reading.sample_peak_dbfs == pytest.approx(-1.0 - 3.01, abs=0.02)
    assert reading.true_peak_dbtp == pytest.approx(-1.0, abs=0.1)
    assert reading.true_peak_dbtp == pytest.approx(ffmpeg_r128(tone)["TP"], abs=0.2)


def test_speech_agrees_with_ffmpegs_meter_and_chunks_do_not_matter() -> None:
    voice = speech_like(20)
    reading = loudness.measure(voice)
    theirs = ffmpeg_r128(voice)
    assert reading.integrated_lufs == pytest.approx(theirs["I"], abs=0.1)
    assert reading.range_lu == pytest.approx(theirs["LRA"], abs=1.0)
    assert reading.true_peak_dbtp == pytest.approx(theirs["TP"], abs=0.2)
    meter = loudness.Meter(RATE, 1)
    for lo in range(0, len(voice), 7919):  # a prime: pieces that do not line up with blocks
        meter.add(voice[lo : lo + 7919])
    chunked = meter.result()
    assert chunked.integrated_lufs == pytest.approx(reading.integrated_lufs, abs=1e-9)
    assert chunked.range_lu == pytest.approx(reading.range_lu, abs=1e-9)
    assert chunked.true_peak_dbtp == pytest.approx(reading.true_peak_dbtp, abs=1e-9)


def test_gated_loudness_ignores_pauses() -> None:
    # Gating: 10 s of tone then 10 s of silence measures as the tone alone.
    tone = sine(10, 1000, -20)
    padded = np.concatenate([tone, np.zeros_like(tone)])
    gated = loudness.measure(padded).integrated_lufs
    assert gated == pytest.approx(-23.0, abs=0.1)  # not -26: the silence is gated out
    assert gated == pytest.approx(ffmpeg_r128(padded)["I"], abs=0.1)


@pytest.mark.parametrize("target", [-23.0, -16.0])
def test_normalise_reaches_the_target_under_the_ceiling(target: float) -> None:
    """-23: only the clicks are limited; -16: the voice's own peaks are too (more rounds)."""
    voice = speech_like(20, seed=3, level=0.08)  # a quiet voice with loud clicks
    before = loudness.measure(voice)
    assert before.integrated_lufs < target - 3
    out = loudness.normalise(voice, target, -1.0)
    assert out.shape == voice.shape and out.dtype == np.float32
    theirs = ffmpeg_r128(out)
    assert theirs["I"] == pytest.approx(target, abs=0.5)
    assert theirs["TP"] <= -1.0
    after = loudness.measure(out)
    assert after.integrated_lufs == pytest.approx(target, abs=0.2)
    assert after.true_peak_dbtp <= -1.0
    # The clicks were limited, the voice left as it was (the same gain away from clicks).
    assert after.true_peak_dbtp < before.true_peak_dbtp + (target - before.integrated_lufs)
    if target > -20:
        return
    # Away from the clicks the gain is one number: nothing pumps.
    quiet = np.abs(voice) > 0.01
    ratio = out[quiet] / voice[quiet]
    assert np.mean(np.abs(ratio / np.median(ratio) - 1) < 1e-3) > 0.9


def test_normalise_a_stereo_pair_links_the_channels() -> None:
    voice = speech_like(10, seed=5)
    pair = np.stack([voice, voice * np.float32(0.5)], axis=1)
    out = loudness.normalise(pair, -23.0, -1.0)
    assert out.shape == pair.shape
    assert loudness.measure(out).integrated_lufs == pytest.approx(-23.0, abs=0.2)
    loud = np.abs(out[:, 0]) > 1e-3
    ratio = out[loud, 1] / out[loud, 0]
    assert np.allclose(ratio, 0.5, atol=1e-3)  # one gain for both channels


def test_digital_silence_stays_silence() -> None:
    silence = np.zeros(RATE * 3, dtype=np.float32)
    reading = loudness.measure(silence)
    assert reading.integrated_lufs == -math.inf
    assert reading.true_peak_dbtp == -math.inf
    assert reading.as_dict()["integrated_lufs"] is None
    out = loudness.normalise(silence, -23.0, -1.0)
    assert not out.any()
    # Hiss under the absolute gate is not pumped up to programme level either.
    hiss = (np.random.default_rng(1).standard_normal(RATE * 3) * 1e-5).astype(np.float32)
    assert np.array_equal(loudness.normalise(hiss, -23.0, -1.0), hiss)


def test_an_impossible_target_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cannot reach"):
        loudness.normalise(sine(5, 1000, -20), -5.0, -20.0)


def test_bad_samples_are_refused() -> None:
    meter = loudness.Meter(RATE, 2)
    with pytest.raises(ValueError, match="expected"):
        meter.add(np.zeros(100, dtype=np.float32))
    with pytest.raises(ValueError, match="expected"):
        loudness.measure(np.zeros((10, 2, 2), dtype=np.float32))
    broken = sine(1, 1000, -20)
    broken[100] = np.nan
    with pytest.raises(ValueError, match="finite"):
        loudness.normalise(broken, -23.0, -1.0)
    nothing = loudness.measure(np.zeros(0, dtype=np.float32))
    assert nothing.integrated_lufs == -math.inf and nothing.duration_s == 0.0
    assert loudness.normalise(np.zeros(0, dtype=np.float32), -23.0, -1.0).shape == (0,)
    with pytest.raises(ValueError, match="too low"):
        loudness.Meter(100, 1)


def test_the_compressor_levels_without_pumping() -> None:
    """On speech the compressor's gain moves smoothly: at most a few dB in any 100 ms (no
    syllable-by-syllable pumping), and it brings the voice's peaks closer to its loudness so
    -16 LUFS fits under a -3.5 dBTP ceiling."""
    voice = programmes.speech_like(30, seed=4)
    reading = loudness.measure(voice)
    gain = loudness.compression_gain_db(voice, reading.integrated_lufs, RATE)
    hops_per_100ms = round(0.1 / loudness._HOP_S)
    windows = np.lib.stride_tricks.sliding_window_view(gain, hops_per_100ms + 1)
    change = windows.max(axis=1) - windows.min(axis=1)
    assert change.max() <= 5.0
    assert np.percentile(change, 95) <= 3.0
    assert gain.min() < -2.0  # it does compress the loudest syllables
    assert gain.max() <= 0.0
    out = loudness.normalise(voice, -16.0, -3.5, compress=True)
    theirs = ffmpeg_r128(out)
    assert theirs["I"] == pytest.approx(-16.0, abs=0.5)
    assert theirs["TP"] <= -3.5 + 0.1


def test_in_place_normalise_uses_the_one_buffer() -> None:
    voice = speech_like(10, seed=2)
    copy = loudness.normalise(voice, -23.0, -1.0)
    assert not np.array_equal(copy, voice)  # the caller's samples were not touched
    same = voice.copy()
    out = loudness.normalise(same, -23.0, -1.0, in_place=True)
    assert out is same
    assert np.array_equal(out, copy)
