"""Stage 8: the dub track and the background, mixed block by block, then loudness-normalised.

Memory is bounded by the block and the clips that overlap it, never by the video's length: the
timeline is written to WAV a few seconds at a time, reading only the fitted clips (already at
the mix rate and exact length) that overlap the block, at their absolute sample offsets. The
ducking envelope is computed per block from the speech intervals (the source's speech and the
dubbed lines), with short linear fades. ffmpeg's loudnorm then brings the mix to -16 LUFS
integrated in two passes (measure, then a linear gain), streaming.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from dubbing.pipeline.ffmpeg import run_ffmpeg
from dubbing.pipeline.workspace import temp_path_for

MIX_RATE = 48000
BLOCK_SECONDS = 4.0
FADE_SECONDS = 0.15
TARGET_LUFS = -16.0
TRUE_PEAK = -1.5
LRA = 11.0


@dataclass(frozen=True)
class PlacedClip:
    path: Path
    offset: int  # first sample on the timeline
    samples: int


def merge_intervals(intervals: list[tuple[float, float]], *, join: float = 2 * FADE_SECONDS) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for a, b in sorted(intervals):
        if merged and a - merged[-1][1] <= join:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def duck_envelope(t0: float, n: int, rate: int, intervals: list[tuple[float, float]], duck_db: float,
                  fade: float = FADE_SECONDS) -> np.ndarray:
    """Gain for samples t0 .. t0 + n/rate: 1 outside the intervals, the duck gain inside, linear
    fades of `fade` seconds just outside each interval (so the duck is full under the speech)."""
    t = t0 + np.arange(n, dtype=np.float64) / rate
    depth = np.zeros(n, dtype=np.float64)
    t1 = t[-1] if n else t0
    for a, b in intervals:
        if b + fade < t0 or a - fade > t1:
            continue
        rising = np.clip((t - (a - fade)) / fade, 0.0, 1.0)
        falling = np.clip(((b + fade) - t) / fade, 0.0, 1.0)
        depth = np.maximum(depth, np.minimum(rising, falling))
    duck_gain = 10 ** (duck_db / 20)
    return (1.0 - depth * (1.0 - duck_gain)).astype(np.float32)


def _intervals_in(intervals, a, b, fade):
    return [iv for iv in intervals if iv[1] + fade >= a and iv[0] - fade <= b]


def render_mix(
    clips: list[PlacedClip],
    *,
    background_wav: Path | None,
    background: str,
    duck_db: float,
    speech_intervals: list[tuple[float, float]],
    total_samples: int,
    out_wav: Path,
    stems_dir: Path | None = None,
) -> None:
    """Writes the un-normalised mix (float WAV). `stems_dir` also writes the dub and the
    (ducked) background alone, through the same code, so the duck can be measured."""
    clips = sorted(clips, key=lambda c: c.offset)
    use_background = background != "drop" and background_wav is not None
    bg_file = sf.SoundFile(str(background_wav)) if use_background else None
    channels = bg_file.channels if bg_file else 1
    intervals = merge_intervals(
        list(speech_intervals) + [(c.offset / MIX_RATE, (c.offset + c.samples) / MIX_RATE) for c in clips]
    )
    tmp = temp_path_for(out_wav)
    out = sf.SoundFile(str(tmp), "w", samplerate=MIX_RATE, channels=channels, subtype="FLOAT")
    stems = {}
    if stems_dir is not None:
        stems_dir.mkdir(parents=True, exist_ok=True)
        stems["dub"] = sf.SoundFile(str(stems_dir / "dub.wav"), "w", samplerate=MIX_RATE, channels=1, subtype="FLOAT")
        stems["background"] = sf.SoundFile(str(stems_dir / "background.wav"), "w", samplerate=MIX_RATE,
                                           channels=channels, subtype="FLOAT")
    block = int(BLOCK_SECONDS * MIX_RATE)
    first_clip = 0
    try:
        for start in range(0, total_samples, block):
            n = min(block, total_samples - start)
            dub = np.zeros(n, dtype=np.float32)
            # Clips are sorted by offset; those ending before this block are never looked at again.
            while first_clip < len(clips) and clips[first_clip].offset + clips[first_clip].samples <= start:
                first_clip += 1
            for clip in clips[first_clip:]:
                if clip.offset >= start + n:
                    break
                a = max(start, clip.offset)
                b = min(start + n, clip.offset + clip.samples)
                if b <= a:
                    continue
                piece, _ = sf.read(str(clip.path), start=a - clip.offset, stop=b - clip.offset, dtype="float32")
                dub[a - start : a - start + len(piece)] += piece
            if bg_file is not None:
                bg = bg_file.read(n, dtype="float32", always_2d=True, fill_value=0.0)
                if len(bg) < n:
                    bg = np.concatenate([bg, np.zeros((n - len(bg), channels), dtype=np.float32)])
                if background == "duck":
                    t0 = start / MIX_RATE
                    env = duck_envelope(t0, n, MIX_RATE,
                                        _intervals_in(intervals, t0, t0 + n / MIX_RATE, FADE_SECONDS), duck_db)
                    bg = bg * env[:, None]
                mixed = bg + dub[:, None]
            else:
                bg = None
                mixed = dub[:, None]
            out.write(mixed)
            if stems:
                stems["dub"].write(dub)
                stems["background"].write(bg if bg is not None else np.zeros((n, channels), dtype=np.float32))
    finally:
        out.close()
        for f in stems.values():
            f.close()
        if bg_file is not None:
            bg_file.close()
    tmp.replace(out_wav)


def measure_loudness(path: Path) -> dict:
    """ffmpeg loudnorm's first pass: integrated loudness, true peak, LRA and threshold."""
    stderr = run_ffmpeg(["-loglevel", "info", "-i", str(path), "-af",
                         f"loudnorm=I={TARGET_LUFS}:TP={TRUE_PEAK}:LRA={LRA}:print_format=json",
                         "-f", "null", "-"])
    match = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr, re.S)
    if not match:
        raise RuntimeError("ffmpeg loudnorm printed no measurement")
    return json.loads(match.group(0))


def normalize_loudness(raw_wav: Path, out_wav: Path) -> dict:
    measured = measure_loudness(raw_wav)
    if measured["input_i"] in ("-inf", "inf") or float(measured["input_i"]) < -70:
        # Silence: nothing to normalise.
        tmp = temp_path_for(out_wav)
        run_ffmpeg(["-i", str(raw_wav), "-c:a", "pcm_s16le", str(tmp)])
        tmp.replace(out_wav)
        return measured
    tmp = temp_path_for(out_wav)
    run_ffmpeg([
        "-i", str(raw_wav), "-af",
        (f"loudnorm=I={TARGET_LUFS}:TP={TRUE_PEAK}:LRA={LRA}:measured_I={measured['input_i']}"
         f":measured_TP={measured['input_tp']}:measured_LRA={measured['input_lra']}"
         f":measured_thresh={measured['input_thresh']}:offset={measured['target_offset']}:linear=true"),
        # loudnorm works at 192 kHz internally; back to the mix rate and the input's channels.
        "-ar", str(MIX_RATE), "-ac", str(sf.info(str(raw_wav)).channels), "-c:a", "pcm_s16le", str(tmp),
    ])
    tmp.replace(out_wav)
    return measured
