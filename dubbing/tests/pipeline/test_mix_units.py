"""The mix stage's own loudness meter and peak limiter, checked on signals made here.

The end-to-end loudness test (test_pipeline.py) only sees one espeak dub; these pin the two
pieces that replaced ffmpeg's loudnorm against ffmpeg's own ebur128 measurement and against the
limiter's promise (no sample over the ceiling, untouched audio away from peaks).
"""

from __future__ import annotations

import math
import re
import subprocess

import numpy as np
import pytest
import soundfile as sf

from dubbing.pipeline.loudness import LIMIT_CHUNK, LoudnessMeter, limiter_gain
from videos.media import MIX_RATE

pytestmark = pytest.mark.media


def _ffmpeg_integrated_lufs(path) -> float:
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    summary = done.stderr[done.stderr.rindex("Summary:"):]
    return float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))


def _speechlike(seconds: float, channels: int, seed: int) -> np.ndarray:
    """Noise bursts with pauses and changing level: gating matters, as with speech."""
    rng = np.random.default_rng(seed)
    n = int(seconds * MIX_RATE)
    noise = rng.standard_normal((n, channels)).astype(np.float32) * 0.1
    envelope = np.repeat(rng.choice([0.0, 0.3, 1.0, 2.0], size=math.ceil(n / 4800)), 4800)[:n]
    return (noise * envelope[:, None]).astype(np.float32)


@pytest.mark.parametrize("channels", [1, 2])
def test_the_loudness_meter_agrees_with_ffmpeg_ebur128_when_fed_in_odd_blocks(tmp_path, channels):
    signal = _speechlike(12.0, channels, seed=channels)
    path = tmp_path / "signal.wav"
    sf.write(path, signal, MIX_RATE, subtype="FLOAT")

    meter = LoudnessMeter(MIX_RATE, channels)
    for start in range(0, len(signal), 33_333):  # not a multiple of the 100 ms step
        meter.feed(signal[start:start + 33_333])

    assert meter.integrated() == pytest.approx(_ffmpeg_integrated_lufs(path), abs=0.1)


def test_the_loudness_of_silence_is_minus_infinity():
    meter = LoudnessMeter(MIX_RATE, 1)
    meter.feed(np.zeros((MIX_RATE * 2, 1), dtype=np.float32))
    assert meter.integrated() == -math.inf


def test_the_limiter_keeps_every_sample_under_the_ceiling_and_leaves_quiet_audio_alone():
    rng = np.random.default_rng(7)
    n = LIMIT_CHUNK * 2000  # 6.25 s
    x = (rng.standard_normal((n, 2)) * 0.05).astype(np.float32)
    for at in (40_000, 41_000, 150_000, 250_000):  # peaks far over the ceiling, two close together
        x[at] = [2.5, -3.0]
    ceiling = 0.84

    gain = limiter_gain(x, ceiling=ceiling)
    limited = x * gain[:, None]

    assert np.abs(limited).max() <= ceiling + 1e-6
    assert gain.max() <= 1.0
    # Far from every peak (beyond hold and ramps) the audio passes unchanged.
    assert np.all(gain[100_000:140_000] == 1.0)
    # Near a peak the gain falls smoothly, not in one step: no click.
    assert np.abs(np.diff(gain[39_000:40_001])).max() < 0.05
