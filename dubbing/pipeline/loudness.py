"""Loudness and peaks, block by block, for the mix stage: the BS.1770 integrated loudness meter
(K-weighting with libebur128's constants, the same filter as ffmpeg's ebur128 measurement) and
the look-ahead peak limiter. Both keep a few numbers per block, never the audio."""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import sosfilt

from videos.media import MIX_RATE

# The limiter's ceiling on sample peaks. Sample peaks, not oversampled true peaks, hence a
# ceiling below the usual -1 dBTP: the margin absorbs inter-sample and AAC overshoot.
PEAK_CEILING_DB = -1.5
# The limiter's gain falls over LIMIT_RAMP before a peak, stays down LIMIT_HOLD after it, then
# rises over LIMIT_RAMP; it is worked out per LIMIT_CHUNK samples (3.125 ms) (see limiter_gain).
LIMIT_CHUNK = 150
LIMIT_HOLD = 0.040
LIMIT_RAMP = 0.0125
SILENCE_LUFS = -70.0  # BS.1770's absolute gate: a mix this quiet is left alone, not amplified


def k_weighting_sos(rate: int) -> np.ndarray:
    """BS.1770's K-weighting (high shelf, then high-pass) as two biquad sections, for any rate,
    with libebur128's constants: the same filter as the ebur128 measurement in ffmpeg."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


class LoudnessMeter:
    """Integrated loudness (ITU-R BS.1770-4) of a stream fed block by block: K-weighting whose
    filter state carries over between blocks, energy per 100 ms step, 400 ms gating blocks
    overlapping by 75%, the -70 LUFS absolute gate and the -10 LU relative gate. It keeps one
    number per 100 ms (36,000 for an hour), never the audio. Mono and stereo channels weigh 1."""

    def __init__(self, rate: int, channels: int):
        self.sos = k_weighting_sos(rate)
        self.state = np.zeros((self.sos.shape[0], 2, channels))
        self.step = rate // 10
        self.steps: list[np.ndarray] = []  # summed squares of each full 100 ms step
        self.leftover = np.zeros(0)  # squares of a step not yet complete

    def feed(self, block: np.ndarray) -> None:
        weighted, self.state = sosfilt(self.sos, block, axis=0, zi=self.state)
        # Flattened (frames, channels) in C order: a row of step * channels values is one step
        # of every channel (summing along the short channel axis instead is ~50x slower).
        power = np.concatenate([self.leftover, np.square(weighted).reshape(-1)])
        width = self.step * block.shape[1]
        full = len(power) // width * width
        self.steps.append(power[:full].reshape(-1, width).sum(axis=1))
        self.leftover = power[full:]

    def integrated(self) -> float:
        """LUFS; -inf for silence or under 400 ms. The last incomplete 100 ms step is left out."""
        steps = np.concatenate(self.steps) if self.steps else np.zeros(0)
        if len(steps) < 4:
            return -math.inf
        mean_square = np.convolve(steps, np.ones(4), "valid") / (4 * self.step)
        with np.errstate(divide="ignore"):
            loudness = -0.691 + 10 * np.log10(mean_square)
        above = mean_square[loudness > SILENCE_LUFS]
        if not above.size:
            return -math.inf
        relative_gate = -0.691 + 10 * math.log10(above.mean()) - 10
        gated = mean_square[(loudness > SILENCE_LUFS) & (loudness > relative_gate)]
        return -0.691 + 10 * math.log10(gated.mean())


def limiter_gain(x: np.ndarray, *, ceiling: float) -> np.ndarray:
    """Per-sample gain (<= 1, the same on every channel) that keeps |x * gain| <= ceiling.

    Worked out per chunk of LIMIT_CHUNK samples (`len(x)` is a multiple of it), which is what
    makes it cheap. `need[c]` is the gain chunk c's peak requires. `held[c]` is the smallest
    `need` from LIMIT_HOLD before chunk c to LIMIT_RAMP after it, and `gain[c]` the mean of
    `held` over the LIMIT_RAMP up to c: every `held` in that mean is a minimum over a window
    containing c, so gain[c] <= need[c], and the gain falls over LIMIT_RAMP before a peak,
    stays down for LIMIT_HOLD after it (no flutter on a burst), then rises over LIMIT_RAMP.
    Samples take a straight line from their chunk's gain to the next chunk's; both ends are
    <= their chunk's need, so no sample goes over the ceiling.
    Right only at least limiter_context() samples from the ends of `x`: callers give that much
    context and keep the middle."""
    # Rows of one chunk's samples of every channel (x is C-ordered: frames, channels).
    peak = np.abs(x).reshape(-1, LIMIT_CHUNK * x.shape[1]).max(axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    hold, ramp = _limiter_chunks()
    # scipy's window of size s for output c starts at c - s // 2 - origin; these origins put
    # it on [c - hold, c + ramp] and [c - ramp, c].
    held = minimum_filter1d(need, size=hold + ramp + 1, origin=hold - (hold + ramp + 1) // 2, mode="nearest")
    gain = uniform_filter1d(held.astype(np.float64), size=ramp + 1, origin=ramp - (ramp + 1) // 2, mode="nearest")
    # The running mean's rounding must not lift it over `need`.
    gain = np.minimum(gain, need).astype(np.float32)
    following = np.append(gain[1:], gain[-1])
    within = np.arange(LIMIT_CHUNK, dtype=np.float32) / LIMIT_CHUNK
    return (gain[:, None] + (following - gain)[:, None] * within).reshape(-1)


def _limiter_chunks() -> tuple[int, int]:
    """(hold, ramp) in chunks; hold >= 1 is what keeps the straight lines between chunks under
    `need` (the next chunk's window must include this one)."""
    return max(1, math.ceil(LIMIT_HOLD * MIX_RATE / LIMIT_CHUNK)), math.ceil(LIMIT_RAMP * MIX_RATE / LIMIT_CHUNK)


def limiter_context() -> int:
    """Samples of context the limiter needs either side of a block (hold + 2 ramps before,
    2 ramps and 2 chunks after, rounded up to the same both sides). A whole number of chunks,
    so the chunk grid is the same absolute one in every block and the gain joins up across them."""
    hold, ramp = _limiter_chunks()
    return (hold + 2 * ramp + 2) * LIMIT_CHUNK
