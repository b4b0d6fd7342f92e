"""Mixes with known stems, for the separation tests and bench/sound.py: English speech (espeak-ng)
over a generated music bed with rhythm and bass (kick, hi-hat, plucked bass line, sustained
chords, a little different in each ear), so that a separator's output can be scored against the
true music and the true voice.

Everything is deterministic (a fixed seed, fixed sentences), built with numpy and espeak-ng, and
written as WAV by soundfile; ffmpeg converts to other layouts (5.1, 8 kHz, ...) where a test needs.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SENTENCES = (
    "The old farmer painted a blue boat near the river this morning.",
    "My younger sister carried the heavy boxes before the storm arrived.",
    "A tired doctor found an old map after a long day at work.",
    "The school teacher repaired the broken radio on the first day of spring.",
    "Our new neighbour sold three green apples at the market on Sunday.",
    "The quiet student cleaned the kitchen window just before dinner.",
)
BPM = 120


def music_bed(seconds: float, rate: int, *, seed: int = 5, level: float = 0.25) -> np.ndarray:
    """(samples, 2) float32: a bar-based groove at BPM: kick on every beat, hi-hat on the eighths,
    a plucked bass line (A, F, C, G roots, 55-98 Hz), sustained triads an octave up and more.
    Peak about `level`."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    beat = 60.0 / BPM
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 2), np.float64)
    roots = (55.0, 87.31, 65.41, 98.0)  # A1 F2 C2 G2, one per bar
    bar = 4 * beat
    root = np.array(roots)[(t // bar).astype(int) % len(roots)]
    # Kick: a falling sine burst on each beat.
    since_beat = np.mod(t, beat)
    kick = np.sin(2 * np.pi * (50 * since_beat + 60 * (1 - np.exp(-since_beat * 30)) / 30)) * np.exp(-since_beat * 18)
    # Hi-hat: high-passed noise bursts on the eighth notes, panned slightly right.
    since_eighth = np.mod(t, beat / 2)
    noise = rng.standard_normal(n)
    hat = np.diff(noise, prepend=0.0) * np.exp(-since_eighth * 60) * 0.12
    # Bass: plucked (decaying) on each beat, a saw-ish tone from three harmonics.
    phase = 2 * np.pi * np.cumsum(root) / rate
    bass = (np.sin(phase) + 0.4 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase)) * (0.35 + 0.65 * np.exp(-since_beat * 6))
    # Chords: root triad two octaves up, sustained, with a slow swell; left and right detuned a hair.
    chord_l = np.zeros(n)
    chord_r = np.zeros(n)
    for ratio in (4.0, 5.04, 6.0):  # root, major third, fifth two octaves up
        ph = 2 * np.pi * np.cumsum(root * ratio) / rate
        chord_l += np.sin(ph)
        chord_r += np.sin(ph * 1.002)
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * t / (2 * bar))
    out[:, 0] = 0.9 * kick + 0.5 * bass + 0.18 * chord_l * swell + 0.7 * hat
    out[:, 1] = 0.9 * kick + 0.5 * bass + 0.18 * chord_r * swell + 1.0 * hat
    out *= level / max(1e-9, np.abs(out).max())
    return out.astype(np.float32)


def espeak_speech(text: str, rate: int, *, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    """Mono float32 speech of `text` at `rate` Hz (espeak-ng speaks at 22050 Hz; ffmpeg resamples)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-ar", str(rate), "-ac", "1",
                        "-c:a", "pcm_f32le", str(out)], check=True)
        data, _ = sf.read(str(out), dtype="float32")
    return data


@dataclass(frozen=True)
class KnownStems:
    mix: Path  # (speech + music), stereo WAV at `rate`
    speech: np.ndarray  # (samples, 2)
    music: np.ndarray  # (samples, 2)
    rate: int
    lines: tuple[tuple[float, float, str], ...]  # (start, end, sentence) of each spoken line

    def speech_spans(self) -> list[tuple[int, int]]:
        return [(int(a * self.rate), int(b * self.rate)) for a, b, _ in self.lines]


def speech_over_music(out: Path, *, seconds: float = 20.0, rate: int = 44100, start: float = 1.0,
                      gap: float = 0.8, sentences: tuple[str, ...] = SENTENCES, speech_level: float = 0.5,
                      music_level: float = 0.25) -> KnownStems:
    """Sentences spoken one after another from `start`, with `gap` s between them, over the music
    bed, until `seconds` is filled (a sentence that would not fit is left out); a stretch of music
    alone at the start. The speech is in both ears (centre), as a dialogue track is mixed."""
    music = music_bed(seconds, rate, level=music_level)
    speech = np.zeros(len(music), np.float32)
    lines = []
    t = start
    i = 0
    while True:
        voice = espeak_speech(sentences[i % len(sentences)], rate)
        a = int(t * rate)
        if a + len(voice) > len(speech):
            break
        speech[a:a + len(voice)] = voice
        lines.append((t, t + len(voice) / rate, sentences[i % len(sentences)]))
        t += len(voice) / rate + gap
        i += 1
    peak = np.abs(speech).max()
    if peak > 0:
        speech *= speech_level / peak
    speech2 = np.repeat(speech[:, None], 2, axis=1)
    mix = speech2 + music
    sf.write(str(out), mix, rate, subtype="FLOAT")
    return KnownStems(Path(out), speech2, music, rate, tuple(lines))


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019), over all channels."""
    e, r = np.asarray(estimate, np.float64).ravel(), np.asarray(reference, np.float64).ravel()
    e, r = e - e.mean(), r - r.mean()
    scale = np.dot(e, r) / max(np.dot(r, r), 1e-20)
    target = scale * r
    noise = e - target
    return float(10 * np.log10(max(np.dot(target, target), 1e-20) / max(np.dot(noise, noise), 1e-20)))


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(max(np.mean(np.asarray(x, np.float64) ** 2), 1e-20)))
