"""Programme loudness: measure it (EBU R128 / ITU-R BS.1770-4) and bring it to a target.

Two calls::

    reading = measure(samples, rate=48000)      # Loudness(integrated_lufs, range_lu, ...)
    louder = normalise(samples, -23.0, -1.0)    # measure, apply gain, limit true peaks

``samples`` are float (-1.0..1.0), shaped ``(n,)`` for one channel or ``(n, channels)`` for
several (front channels, each weighted 1.0 as BS.1770 does for L, R and C). Long programmes
can be measured piece by piece with :class:`Meter` (``add`` chunks, then ``result``), which keeps
memory flat: it holds only 100 ms block energies, not the samples.

What is measured:

- integrated loudness (LUFS): K-weighting, 400 ms blocks every 100 ms, absolute gate -70 LUFS,
  relative gate -10 LU (BS.1770-4);
- loudness range (LU): 3 s short-term loudness every 100 ms, gates -70 LUFS and -20 LU,
  95th minus 10th percentile (EBU Tech 3342);
- true peak (dBTP): the largest absolute value of the signal oversampled 4x (BS.1770-4
  Annex 2; a windowed-sinc interpolator of 33 taps per phase).

A mono signal that is played on both channels of a stereo pair (dual mono) measures
:data:`DUAL_MONO_LU` (3.01 LU) louder as that pair than as one channel: normalise the mono
signal to ``target - DUAL_MONO_LU`` when it will be written as identical L and R.

Digital silence (and anything quieter than the absolute gate) has no integrated loudness
(``-inf``); :func:`normalise` leaves it as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

Samples = np.ndarray[Any, np.dtype[np.float32]]
_F64 = np.ndarray[Any, np.dtype[np.float64]]

DUAL_MONO_LU = 10 * math.log10(2)  # the same signal on two channels adds 3.01 LU

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0  # integrated loudness
RANGE_GATE_LU = -20.0  # loudness range
OVERSAMPLE = 4  # true peak
_PHASE_TAPS = 33
_K_TAPS = 8192  # the K-weighting filter's impulse response, held as an FIR (decays below 1e-9)
_CHUNK = 1 << 17  # samples per channel filtered at a time


@dataclass(frozen=True, slots=True)
class Loudness:
    """One measurement of a programme's sound."""

    integrated_lufs: float  # -inf when nothing is louder than the absolute gate
    range_lu: float  # 0.0 when too short or too quiet to tell
    true_peak_dbtp: float  # -inf for digital silence
    sample_peak_dbfs: float  # -inf for digital silence
    duration_s: float

    def as_dict(self) -> dict[str, float | None]:
        """JSON-friendly (``None`` for ``-inf``), rounded to 0.01."""

        def num(value: float) -> float | None:
            return round(value, 2) if math.isfinite(value) else None

        return {
            "integrated_lufs": num(self.integrated_lufs),
            "range_lu": num(self.range_lu),
            "true_peak_dbtp": num(self.true_peak_dbtp),
            "sample_peak_dbfs": num(self.sample_peak_dbfs),
            "duration_s": round(self.duration_s, 3),
        }


def k_weighting(rate: int) -> tuple[tuple[_F64, _F64], tuple[_F64, _F64]]:
    """The two BS.1770 K-weighting biquads ``((b, a) shelf, (b, a) high-pass)`` at ``rate``.

    From the analogue prototypes of the standard's 48 kHz coefficients (a +4 dB high shelf
    near 1.7 kHz, the RLB high-pass near 38 Hz), so any sample rate gets the same curve.
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = np.array([vh + vb * k / q + k * k, 2 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    shelf_a = np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k]) / a0
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    high_b = np.array([1.0, -2.0, 1.0])
    high_a = np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k]) / a0
    return (shelf_b, shelf_a), (high_b, high_a)


def _k_impulse(rate: int) -> _F64:
    """The K-weighting filter's impulse response, ``_K_TAPS`` long (its frequency response,
    sampled finely, back to time; the tail beyond is below 1e-9)."""
    n = 4 * _K_TAPS
    z = np.exp(-1j * np.pi * np.arange(n // 2 + 1) / (n // 2))
    response = np.ones_like(z)
    for b, a in k_weighting(rate):
        response *= (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
    impulse: _F64 = np.fft.irfft(response, n)[:_K_TAPS]
    return impulse


def _peak_phases() -> _F64:
    """The 4x interpolator as ``(OVERSAMPLE, _PHASE_TAPS)`` polyphase filters."""
    # Odd length, centred on a tap: phase 0 passes the samples through, phases 1-3 fall
    # a quarter, a half and three quarters of the way to the next sample.
    n = OVERSAMPLE * (_PHASE_TAPS - 1) + 1
    t = (np.arange(n) - (n - 1) / 2) / OVERSAMPLE
    taps = np.concatenate([np.sinc(t) * np.kaiser(n, 8.0), np.zeros(OVERSAMPLE - 1)])
    phases: _F64 = taps.reshape(_PHASE_TAPS, OVERSAMPLE).T.copy()
    phases /= phases.sum(axis=1, keepdims=True)  # each phase passes DC at unity
    return phases


class _Fir:
    """Streaming FIR filters over ``(n, channels)`` float32 chunks, every filter fed the same
    input; the last ``taps - 1`` samples are carried to the next chunk (overlap-save).

    OpenCV's ``filter2D`` does the work (direct for short filters, by DFT for long ones): about
    10x faster here than numpy's FFT for the K-weighting and the 4x interpolator.
    """

    def __init__(self, filters: _F64, channels: int) -> None:
        self.taps = filters.shape[1]
        # filter2D correlates: reversed taps anchored at the last one make a causal convolution.
        self.kernels = [np.ascontiguousarray(f[::-1], dtype=np.float32)[None] for f in filters]
        self.history = np.zeros((self.taps - 1, channels), dtype=np.float32)

    def __call__(self, chunk: Samples) -> Samples:
        """Each filter's output for ``chunk``: ``(filters, n, channels)`` float32."""
        block = np.concatenate([self.history, chunk]).astype(np.float32, copy=False)
        self.history = block[len(block) - (self.taps - 1) :]
        out = np.empty((len(self.kernels), len(chunk), block.shape[1]), dtype=np.float32)
        for c in range(block.shape[1]):
            row = np.ascontiguousarray(block[:, c])[None]
            for f, kernel in enumerate(self.kernels):
                filtered = cv2.filter2D(
                    row, -1, kernel, anchor=(self.taps - 1, 0), borderType=cv2.BORDER_CONSTANT
                )
                out[f, :, c] = filtered[0, self.taps - 1 :]
        return out


class Meter:
    """Loudness of a programme fed in chunks: ``add(chunk)`` as often as needed, ``result()``.

    ``chunk`` is float ``(n,)`` or ``(n, channels)``, the same channel count every time.
    """

    def __init__(self, rate: int = 48000, channels: int = 1) -> None:
        if rate < 8000:
            raise ValueError(f"sample rate {rate} Hz is too low to measure loudness")
        self.rate = rate
        self.channels = channels
        self._k = _Fir(_k_impulse(rate)[None], channels)
        self._peak = _Fir(_peak_phases(), channels)
        self._step = rate // 10  # 100 ms
        self._energies: list[_F64] = []  # per 100 ms step: summed over channels, mean square
        self._partial = np.zeros(channels)
        self._partial_n = 0
        self._true_peak = 0.0
        self._sample_peak = 0.0
        self._samples = 0

    def add(self, chunk: np.ndarray[Any, Any]) -> None:
        data = np.asarray(chunk)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2 or data.shape[1] != self.channels:
            raise ValueError(f"expected (n, {self.channels}) samples, got {data.shape}")
        for lo in range(0, len(data), _CHUNK):
            self._add(np.asarray(data[lo : lo + _CHUNK], dtype=np.float32))

    def _add(self, data: Samples) -> None:
        if not len(data):
            return
        peak = float(np.abs(data).max())
        if not math.isfinite(peak):
            raise ValueError("samples must be finite numbers (found NaN or infinity)")
        self._samples += len(data)
        self._sample_peak = max(self._sample_peak, peak)
        self._true_peak = max(self._true_peak, float(np.abs(self._peak(data)).max()))
        weighted = np.square(self._k(data)[0], dtype=np.float64)  # (n, channels)
        need = self._step - self._partial_n
        if len(weighted) < need:
            self._partial += weighted.sum(axis=0)
            self._partial_n += len(weighted)
            return
        first = self._partial + weighted[:need].sum(axis=0)
        rest = weighted[need:]
        whole = len(rest) // self._step
        steps = rest[: whole * self._step].reshape(whole, self._step, self.channels).sum(axis=1)
        self._energies.append(np.concatenate([first[None], steps]).sum(axis=1) / self._step)
        tail = rest[whole * self._step :]
        self._partial = tail.sum(axis=0)
        self._partial_n = len(tail)

    def result(self) -> Loudness:
        steps = np.concatenate(self._energies) if self._energies else np.zeros(0)
        return Loudness(
            integrated_lufs=_integrated(steps),
            range_lu=_range(steps),
            true_peak_dbtp=_db(max(self._true_peak, self._sample_peak)),
            sample_peak_dbfs=_db(self._sample_peak),
            duration_s=self._samples / self.rate,
        )


def _db(amplitude: float) -> float:
    return 20 * math.log10(amplitude) if amplitude > 0 else -math.inf


def _blocks(steps: _F64, per_block: int) -> _F64:
    """Mean square of every block of ``per_block`` consecutive 100 ms steps."""
    if len(steps) < per_block:
        return np.zeros(0)
    sums = np.concatenate([[0.0], np.cumsum(steps)])
    blocks: _F64 = (sums[per_block:] - sums[:-per_block]) / per_block
    return blocks


def _lufs(power: _F64) -> _F64:
    with np.errstate(divide="ignore"):
        loud: _F64 = -0.691 + 10 * np.log10(power)
    return loud


def _integrated(steps: _F64) -> float:
    blocks = _blocks(steps, 4)  # 400 ms, 75 % overlap
    loud = _lufs(blocks)
    kept = blocks[loud > ABSOLUTE_GATE_LUFS]
    if not len(kept):
        return -math.inf
    gate = float(_lufs(np.array([kept.mean()]))[0]) + RELATIVE_GATE_LU
    kept = blocks[(loud > ABSOLUTE_GATE_LUFS) & (loud > gate)]
    return float(_lufs(np.array([kept.mean()]))[0])


def _range(steps: _F64) -> float:
    blocks = _blocks(steps, 30)  # 3 s short-term loudness every 100 ms
    loud = _lufs(blocks)
    kept = blocks[loud > ABSOLUTE_GATE_LUFS]
    if len(kept) < 2:
        return 0.0
    gate = float(_lufs(np.array([kept.mean()]))[0]) + RANGE_GATE_LU
    values = loud[(loud > ABSOLUTE_GATE_LUFS) & (loud > gate)]
    if len(values) < 2:
        return 0.0
    low, high = np.percentile(values, [10, 95])
    return float(high - low)


def measure(samples: np.ndarray[Any, Any], rate: int = 48000) -> Loudness:
    """Integrated loudness, loudness range and true peak of ``(n,)`` or ``(n, c)`` samples."""
    data = np.asarray(samples)
    meter = Meter(rate, 1 if data.ndim == 1 else data.shape[1])
    meter.add(data)
    return meter.result()


# The limiter: gain reaches its lowest 5 ms before a peak, holds 50 ms, recovers over 5 ms.
_ATTACK_S = 0.005
_HOLD_S = 0.05
_HEADROOM_DB = 0.3  # the limiter aims this far under the ceiling (its own overshoot)

# The speech compressor (leveller): an RMS detector over 5 ms hops smoothed over 30 ms, 3:1
# above a threshold set from the programme's measured loudness, gain reduction taken in over
# 20 ms and given back over 300 ms, applied as a smooth curve (linear between hop centres).
COMPRESSOR_RATIO = 3.0
COMPRESSOR_THRESHOLD_LU = -2.0  # relative to the programme's integrated loudness
_HOP_S = 0.005
_DETECTOR_S = 0.03
_COMP_ATTACK_S = 0.05
_COMP_RELEASE_S = 0.3


def compression_gain_db(samples: np.ndarray[Any, Any], loudness_lufs: float, rate: int) -> _F64:
    """The compressor's gain in dB (<= 0) at each 5 ms hop of mono or ``(n, c)`` ``samples``
    whose integrated loudness is ``loudness_lufs``: its curve, without touching the sound."""
    data = np.asarray(samples)
    hop = max(1, round(_HOP_S * rate))
    hops = -(-len(data) // hop)
    energy = np.zeros(hops)
    for lo in range(0, len(data), _CHUNK):  # a multiple of the hop: pieces hold whole hops
        piece = np.asarray(data[lo : lo + _CHUNK], dtype=np.float32).reshape(
            -1, 1 if data.ndim == 1 else data.shape[1]
        )
        square = np.square(piece, dtype=np.float64).sum(axis=1)
        whole = len(square) // hop * hop
        first = lo // hop
        energy[first : first + whole // hop] = square[:whole].reshape(-1, hop).mean(axis=1)
        if whole < len(square):
            energy[first + whole // hop] = square[whole:].mean()
    threshold = loudness_lufs + COMPRESSOR_THRESHOLD_LU
    slope = 1.0 - 1.0 / COMPRESSOR_RATIO
    detector = math.exp(-_HOP_S / _DETECTOR_S)
    attack = math.exp(-_HOP_S / _COMP_ATTACK_S)
    release = math.exp(-_HOP_S / _COMP_RELEASE_S)
    gain = np.zeros(hops)
    level = 0.0
    reduction = 0.0
    for h, e in enumerate(energy.tolist()):
        level = detector * level + (1 - detector) * e
        over = (10 * math.log10(level) if level > 1e-12 else -120.0) - threshold
        want = slope * over if over > 0 else 0.0
        coefficient = attack if want > reduction else release
        reduction = coefficient * reduction + (1 - coefficient) * want
        gain[h] = -reduction
    return gain


def _apply_gain_curve(samples: Samples, gain_db: _F64, extra_db: float, rate: int) -> None:
    """``samples *= 10 ** ((curve + extra_db) / 20)`` in place, the hop curve interpolated."""
    hop = max(1, round(_HOP_S * rate))
    centres = np.arange(len(gain_db)) * hop + (hop - 1) / 2
    for lo in range(0, len(samples), _CHUNK):
        hi = min(len(samples), lo + _CHUNK)
        db = np.interp(np.arange(lo, hi), centres, gain_db) + extra_db
        factor = np.power(10.0, db / 20).astype(np.float32)
        samples[lo:hi] *= factor if samples.ndim == 1 else factor[:, None]


def normalise(
    samples: np.ndarray[Any, Any],
    target_lufs: float,
    max_true_peak_dbtp: float,
    *,
    rate: int = 48000,
    compress: bool = False,
    in_place: bool = False,
) -> Samples:
    """``samples`` at ``target_lufs`` integrated, true peak at most ``max_true_peak_dbtp``.

    Measures, (with ``compress``) levels the voice with the speech compressor, applies one
    gain, then limits the true peaks (a look-ahead limiter: 5 ms attack, 50 ms hold, 5 ms
    release, the same gain on every channel); where limiting took the loudness below the
    target, a little more gain is given and the result limited again, until it is within 0.2
    LU of the target and under the ceiling. Works on one programme-sized buffer in pieces:
    ``in_place`` uses ``samples`` itself (float32; a 30-minute programme is 350 MB), otherwise
    a copy. Sound with no integrated loudness (digital silence, or everything under -70 LUFS)
    is returned unchanged.

    Raises ``ValueError`` for a target the ceiling cannot allow (a pure sine cannot be -5 LUFS
    with peaks under -20 dBTP without becoming something else).
    """
    data = np.asarray(samples, dtype=np.float32)
    before = measure(data, rate)
    if not in_place or data is not samples:
        data = data.copy()
    if not math.isfinite(before.integrated_lufs):
        return data
    curve = compression_gain_db(data, before.integrated_lufs, rate) if compress else np.zeros(1)
    start = measure_gained(data, curve, rate) if compress else before.integrated_lufs
    _apply_gain_curve(data, curve, target_lufs - start, rate)
    ceiling_db = max_true_peak_dbtp - _HEADROOM_DB
    total_db = target_lufs - start
    slope = 1.5  # dB of gain per LU gained, once limiting takes part of it back
    last: tuple[float, float] | None = None  # (step given, loudness before it)
    for _ in range(12):
        _limit(data, ceiling_db, rate)
        after = measure(data, rate)
        short = target_lufs - after.integrated_lufs
        over = after.true_peak_dbtp - max_true_peak_dbtp
        if abs(short) <= 0.2 and over <= 0:
            return data
        if over > 0:
            ceiling_db -= over + 0.1
            continue
        # Limiting took back part of the gain: give that back, scaled by how much of the last
        # step was kept (secant), and limit the (already limited) sound again.
        if last is not None and after.integrated_lufs - last[1] > 0.05:
            slope = min(max(last[0] / (after.integrated_lufs - last[1]), 1.0), 6.0)
        step = short * slope if short > 0 else short
        last = (step, after.integrated_lufs)
        total_db += step
        if total_db - (target_lufs - start) > 30:
            break
        np.multiply(data, np.float32(10 ** (step / 20)), out=data)
    raise ValueError(
        f"cannot reach {target_lufs} LUFS with true peaks under {max_true_peak_dbtp} dBTP "
        f"(this sound measures {before.integrated_lufs:.1f} LUFS at "
        f"{before.true_peak_dbtp:.1f} dBTP)"
    )


def measure_gained(samples: Samples, gain_db: _F64, rate: int) -> float:
    """Integrated loudness of ``samples`` with the gain curve applied (piece by piece, no copy
    of the programme)."""
    hop = max(1, round(_HOP_S * rate))
    centres = np.arange(len(gain_db)) * hop + (hop - 1) / 2
    meter = Meter(rate, 1 if samples.ndim == 1 else samples.shape[1])
    for lo in range(0, len(samples), _CHUNK):
        hi = min(len(samples), lo + _CHUNK)
        factor = np.power(10.0, np.interp(np.arange(lo, hi), centres, gain_db) / 20)
        piece = samples[lo:hi] * (factor if samples.ndim == 1 else factor[:, None]).astype(
            np.float32
        )
        meter.add(piece)
    return meter.result().integrated_lufs


def _limit(samples: Samples, ceiling_db: float, rate: int) -> Samples:
    """``samples`` with every true peak brought under ``ceiling_db`` by a smooth gain, in
    place (the caller's own scaled copy: a 30-minute programme is 350 MB a copy).

    Worked in pieces of ``_CHUNK`` samples, each seen with a margin wide enough for the gain
    around it (the margin before a piece is kept as it was before limiting), so memory stays
    flat and pieces with nothing over the ceiling are not touched.
    """
    ceiling = 10 ** (ceiling_db / 20)
    attack = max(1, round(_ATTACK_S * rate))
    hold = round(_HOLD_S * rate)
    margin = hold + 2 * attack + _PHASE_TAPS
    before: Samples = samples[:0].copy()  # the unlimited samples just before the piece
    for lo in range(0, len(samples), _CHUNK):
        hi = min(len(samples), lo + _CHUNK)
        piece = np.concatenate([before, samples[lo : min(len(samples), hi + margin)]])
        first = lo - len(before)
        before = samples[max(0, hi - margin) : hi].copy()
        envelope = _peak_envelope(piece)
        if float(envelope.max(initial=0.0)) <= ceiling:
            continue
        need = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-12))
        # The lowest need over [n - hold, n + attack], averaged over the last `attack`
        # samples: the average at n only takes lows whose window covers n, so it never
        # exceeds need[n].
        low = _running_min(need, before=hold, after=attack)
        sums = np.concatenate([[0.0], np.cumsum(np.concatenate([np.full(attack, low[0]), low]))])
        gain = np.minimum((sums[attack + 1 :] - sums[1 : len(low) + 1]) / attack, need)
        shaped = gain[lo - first : hi - first].astype(np.float32)
        samples[lo:hi] *= shaped if samples.ndim == 1 else shaped[:, None]
    return samples


def _peak_envelope(samples: Samples) -> _F64:
    """Per input sample: the largest absolute value of it and the oversampled values around it
    (all channels), aligned with the input (the interpolator's delay taken off)."""
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    delay = _PHASE_TAPS // 2
    fir = _Fir(_peak_phases(), data.shape[1])
    padded = np.concatenate([data, np.zeros((delay, data.shape[1]), dtype=np.float32)])
    between = np.concatenate(
        [
            np.abs(fir(padded[lo : lo + _CHUNK])).max(axis=(0, 2))
            for lo in range(0, len(padded), _CHUNK)
        ]
    )[delay:]
    # The oversampled values just either side of a sample (the delay is a fraction off).
    between = np.maximum(between, np.concatenate([[0.0], between[:-1]]))
    between = np.maximum(between, np.concatenate([between[1:], [0.0]]))
    envelope: _F64 = np.maximum(between, np.abs(data).max(axis=1))
    return envelope


def _running_min(values: _F64, *, before: int, after: int) -> _F64:
    """``out[n] = min(values[n - before : n + after + 1])`` (van Herk / Gil-Werman, O(n))."""
    width = before + after + 1
    n = len(values)
    blocks_n = -(-(n + width) // width) + 1
    padded = np.ones(blocks_n * width)
    padded[before : before + n] = values
    blocks = padded.reshape(blocks_n, width)
    forward = np.minimum.accumulate(blocks, axis=1).reshape(-1)
    backward = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].reshape(-1)
    start = np.arange(n)
    out: _F64 = np.minimum(backward[start], forward[start + width - 1])
    return out
