"""Stage 8: the dub track and the background mixed, loudness-normalised and encoded to the final
AAC track, streaming, in up to three passes over the timeline.

Memory is bounded by the block and the clips that overlap it, never by the video's length: each
block is rendered from the fitted clips (already at the mix rate and exact length) that overlap
it, at their absolute sample offsets, plus the same stretch of the background, ducked under the
speech intervals (the source's speech and the dubbed lines) with short linear fades. Rendering a
block again costs less than writing the mix to disk and reading it back, so no pass keeps it.

Why not ffmpeg's loudnorm: its measuring pass and its applying pass each read a float WAV of the
whole mix (resampling to 192 kHz inside), and the mux stage then decoded the normalised WAV to
encode AAC: mix and mux took over 5% of the media's duration on two cores. Here:

1. pass 1 measures the raw mix's integrated loudness (BS.1770 K-weighting and gating, as
   ffmpeg's ebur128 measures it: dubbing.pipeline.loudness) and sample peak, writing nothing but the optional stems;
2. pass 2, only when the gain would push peaks over the ceiling, measures the limited output
   at two gains to find the one that still lands on -16 LUFS (see _gain_for_target);
3. pass 3 applies that one linear gain and the look-ahead peak limiter and pipes the samples
   straight into the job's only AAC encode. The mux stage copies that track.

A linear gain keeps the mix's dynamics (loudnorm fell back to dynamic compression whenever the
gain would push the peaks over its ceiling); the limiter only touches the peaks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from dubbing.engines.languages import to_iso2b
from dubbing.pipeline.audio import ensure_audio
from dubbing.pipeline.errors import PipelineError
from dubbing.pipeline.loudness import (
    LIMIT_CHUNK,
    PEAK_CEILING_DB,
    SILENCE_LUFS,
    LoudnessMeter,
    limiter_context,
    limiter_gain,
)
from dubbing.pipeline.separate import ensure_stems
from dubbing.pipeline.stage import Context, Stage
from dubbing.pipeline.workspace import digest, temp_path_for
from videos.media import MIX_RATE
from videos.media.ffmpeg import ffmpeg_stdin

# Large blocks keep numpy's per-call overhead and the per-block clip look-ups negligible; a
# 10 s stereo float32 block is under 4 MB. A whole number of limiter chunks (asserted below).
BLOCK_SECONDS = 10.0
FADE_SECONDS = 0.15
TARGET_LUFS = -16.0
AAC_BITRATE = "160k"
assert int(BLOCK_SECONDS * MIX_RATE) % LIMIT_CHUNK == 0
PROBE_DB = 3.0  # the second gain pass 2 tries, above the plain one (see _gain_for_target)
MIN_SLOPE = 0.2  # LU per dB of gain assumed at least, however hard the limiter works
MAX_MAKEUP_DB = 6.0  # at most this much gain beyond the plain one, to make up for the limiter


@dataclass(frozen=True)
class PlacedClip:
    path: Path
    offset: int  # first sample on the timeline
    samples: int


@dataclass(frozen=True)
class MixResult:
    measured_lufs: float  # the raw mix
    gain_db: float
    output_lufs: float  # after the gain and the limiter, before the AAC encode


def merge_intervals(intervals: list[tuple[float, float]], *, join: float = 2 * FADE_SECONDS) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for a, b in sorted(intervals):
        if merged and a - merged[-1][1] <= join:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def duck_envelope(start: int, n: int, rate: int, intervals: list[tuple[float, float]], duck_db: float,
                  fade: float = FADE_SECONDS) -> np.ndarray:
    """Gain for samples start .. start + n: 1 outside the intervals, the duck gain inside, linear
    fades of `fade` seconds just outside each interval (so the duck is full under the speech).
    Only the fades are computed sample by sample; the stretch under the speech is a fill."""
    depth = np.zeros(n, dtype=np.float32)

    def ramp(lo: float, hi: float, rising: bool) -> None:
        i0, i1 = max(0, math.floor(lo * rate) - start), min(n, math.ceil(hi * rate) - start + 1)
        if i1 > i0:
            t = (start + np.arange(i0, i1, dtype=np.float64)) / rate
            d = np.clip((t - lo) / fade if rising else (hi - t) / fade, 0.0, 1.0)
            np.maximum(depth[i0:i1], d, out=depth[i0:i1])

    for a, b in intervals:
        ramp(a - fade, a, rising=True)
        ramp(b, b + fade, rising=False)
        full0, full1 = max(0, math.ceil(a * rate) - start), min(n, math.floor(b * rate) - start + 1)
        if full1 > full0:
            depth[full0:full1] = 1.0
    duck_gain = 10 ** (duck_db / 20)
    return 1.0 - depth * np.float32(1.0 - duck_gain)


class Timeline:
    """The mix as a function of the sample range: `render(start, n)` gives the dub and the
    (ducked) background for samples start .. start + n, zeros outside the timeline. Being a pure
    function of the range is what lets passes 2 and 3 render it again, with a little context
    around each block for the limiter."""

    def __init__(self, clips: list[PlacedClip], *, background_wav: Path | None, background: str, duck_db: float,
                 speech_intervals: list[tuple[float, float]], total_samples: int):
        self.clips = sorted(clips, key=lambda c: c.offset)
        self._starts = np.array([c.offset for c in self.clips], dtype=np.int64)
        self._ends = np.array([c.offset + c.samples for c in self.clips], dtype=np.int64)
        self.total = total_samples
        self.duck = background in ("duck", "separate")
        self.duck_db = duck_db
        self.bg = sf.SoundFile(str(background_wav)) if background != "drop" and background_wav is not None else None
        self.channels = self.bg.channels if self.bg is not None else 1
        self.intervals = merge_intervals(
            list(speech_intervals) + [(c.offset / MIX_RATE, (c.offset + c.samples) / MIX_RATE) for c in self.clips])

    def close(self) -> None:
        if self.bg is not None:
            self.bg.close()

    def render(self, start: int, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(dub, background): dub is mono (n,), background (n, channels) or None when dropped."""
        a, b = max(0, start), min(self.total, start + n)
        dub = np.zeros(n, dtype=np.float32)
        for i in np.nonzero((self._starts < b) & (self._ends > a))[0]:
            clip = self.clips[i]
            lo, hi = max(a, clip.offset), min(b, clip.offset + clip.samples)
            piece, _ = sf.read(str(clip.path), start=lo - clip.offset, stop=hi - clip.offset, dtype="float32")
            dub[lo - start: lo - start + len(piece)] += piece
        if self.bg is None:
            return dub, None
        bg = np.zeros((n, self.channels), dtype=np.float32)
        if b > a and a < self.bg.frames:
            self.bg.seek(a)
            got = self.bg.read(b - a, dtype="float32", always_2d=True)
            bg[a - start: a - start + len(got)] = got
        if self.duck:
            lo_t, hi_t = start / MIX_RATE - FADE_SECONDS, (start + n) / MIX_RATE + FADE_SECONDS
            near = [iv for iv in self.intervals if iv[1] >= lo_t and iv[0] <= hi_t]
            if near:
                bg *= duck_envelope(start, n, MIX_RATE, near, self.duck_db)[:, None]
        return dub, bg

    def mixed(self, start: int, n: int) -> np.ndarray:
        dub, bg = self.render(start, n)
        return dub[:, None] if bg is None else bg + dub[:, None]


def _blocks(total_samples: int) -> list[tuple[int, int]]:
    block = int(BLOCK_SECONDS * MIX_RATE)
    return [(start, min(block, total_samples - start)) for start in range(0, total_samples, block)]


def _render_wide(timeline: Timeline, start: int, n: int) -> np.ndarray:
    """The mix for the block plus the limiter's context either side (so it sees the peaks just
    beyond the block's edges), rounded up to whole limiter chunks."""
    context = limiter_context()
    return timeline.mixed(start - context, math.ceil((n + 2 * context) / LIMIT_CHUNK) * LIMIT_CHUNK)


def _gained_and_limited(wide: np.ndarray, n: int, gain_db: float) -> np.ndarray:
    """The block's n samples inside `wide` (see _render_wide), after the gain and the limiter."""
    context = limiter_context()
    x = wide * np.float32(10 ** (gain_db / 20))
    x *= limiter_gain(x, ceiling=10 ** (PEAK_CEILING_DB / 20))[:, None]
    return x[context: context + n]


def _measure(timeline: Timeline, stems_dir: Path | None, progress) -> tuple[float, float]:
    """Pass 1: the raw mix's integrated loudness and sample peak (and the stems, if asked)."""
    meter = LoudnessMeter(MIX_RATE, timeline.channels)
    peak = 0.0
    stems = {}
    if stems_dir is not None:
        stems_dir.mkdir(parents=True, exist_ok=True)
        stems["dub"] = sf.SoundFile(str(stems_dir / "dub.wav"), "w", samplerate=MIX_RATE, channels=1,
                                    subtype="FLOAT")
        stems["background"] = sf.SoundFile(str(stems_dir / "background.wav"), "w", samplerate=MIX_RATE,
                                           channels=timeline.channels, subtype="FLOAT")
    blocks = _blocks(timeline.total)
    try:
        for i, (start, n) in enumerate(blocks):
            dub, bg = timeline.render(start, n)
            mixed = dub[:, None] if bg is None else bg + dub[:, None]
            meter.feed(mixed)
            peak = max(peak, float(np.abs(mixed).max()))
            if stems:
                stems["dub"].write(dub)
                stems["background"].write(bg if bg is not None else np.zeros((n, timeline.channels), np.float32))
            progress(0.3 * (i + 1) / len(blocks), "measuring loudness")
    finally:
        for f in stems.values():
            f.close()
    return meter.integrated(), peak


def _gain_for_target(timeline: Timeline, measured: float, peak: float, progress) -> float:
    """The linear gain (dB) that brings the mix to TARGET_LUFS once the limiter has done its work.

    TARGET - measured is exact when the limiter leaves every sample alone. When it does not,
    it takes loudness off the peaks (over 1 LU on espeak's peaky speech), more the higher the
    gain. Pass 2 then measures the limited output at that gain and PROBE_DB above it, and the
    gain is interpolated between the two: one render, two limiter runs, no audio kept."""
    if measured <= SILENCE_LUFS:
        return 0.0
    plain = TARGET_LUFS - measured
    if peak * 10 ** (plain / 20) <= 10 ** (PEAK_CEILING_DB / 20):
        return plain
    meters = {g: LoudnessMeter(MIX_RATE, timeline.channels) for g in (plain, plain + PROBE_DB)}
    blocks = _blocks(timeline.total)
    for i, (start, n) in enumerate(blocks):
        wide = _render_wide(timeline, start, n)
        for g, meter in meters.items():
            meter.feed(_gained_and_limited(wide, n, g))
        progress(0.3 + 0.3 * (i + 1) / len(blocks), "fitting the gain to the limiter")
    at_plain, at_probe = (meters[g].integrated() for g in (plain, plain + PROBE_DB))
    # Loudness rises more slowly than the gain once the limiter acts; the floor on the slope and
    # the cap keep a mix that is nothing but peaks from being driven into a wall of limiting.
    slope = max(MIN_SLOPE, (at_probe - at_plain) / PROBE_DB)
    return plain + min(MAX_MAKEUP_DB, max(0.0, (TARGET_LUFS - at_plain) / slope))


def mix_to_aac(
    clips: list[PlacedClip],
    *,
    background_wav: Path | None,
    background: str,
    duck_db: float,
    speech_intervals: list[tuple[float, float]],
    total_samples: int,
    out_m4a: Path,
    language: str,
    stems_dir: Path | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> MixResult:
    """The final dubbed audio track: exactly `total_samples` long, at -16 LUFS integrated, AAC.
    `stems_dir` also writes the dub and the (ducked) background alone, before the gain, through
    the same code, so the duck can be measured."""
    progress = progress or (lambda fraction, message: None)
    timeline = Timeline(clips, background_wav=background_wav, background=background, duck_db=duck_db,
                        speech_intervals=speech_intervals, total_samples=total_samples)
    try:
        measured, peak = _measure(timeline, stems_dir, progress)
        gain_db = _gain_for_target(timeline, measured, peak, progress)
        # Pass 3: gain, limiter, and the job's only AAC encode, fed through a pipe. A thread
        # writes each block while the next is rendered, so Python and ffmpeg work at the same
        # time (the pipe's buffer alone holds a fraction of a second: ffmpeg would wait).
        out_meter = LoudnessMeter(MIX_RATE, timeline.channels)
        tmp = temp_path_for(out_m4a)
        encode = ["-f", "f32le", "-ar", str(MIX_RATE), "-ac", str(timeline.channels), "-i", "pipe:0",
                  # The "fast" coder: ffmpeg's AAC maintainer found it sounds better than the
                  # default "twoloop" at higher bitrates (ffmpeg commit fcb681ac, 2018), and here
                  # it encodes in under half the CPU time (5.8 s against 14.7 s for 10 minutes).
                  "-c:a", "aac", "-aac_coder", "fast", "-b:a", AAC_BITRATE,
                  "-metadata:s:a:0", f"language={to_iso2b(language)}", "-movflags", "+faststart", str(tmp)]
        blocks = _blocks(total_samples)
        with ffmpeg_stdin(encode) as pipe, ThreadPoolExecutor(1) as writer:
            writing = None
            for i, (start, n) in enumerate(blocks):
                out = np.ascontiguousarray(_gained_and_limited(_render_wide(timeline, start, n), n, gain_db), "<f4")
                out_meter.feed(out)
                if writing is not None:
                    writing.result()
                writing = writer.submit(pipe.write, out.tobytes())
                progress(0.6 + 0.4 * (i + 1) / len(blocks), "encoding")
            if writing is not None:
                writing.result()
        tmp.replace(out_m4a)
    finally:
        timeline.close()
    return MixResult(measured_lufs=round(measured, 2), gain_db=round(gain_db, 2),
                     output_lufs=round(out_meter.integrated(), 2))


DUBBED_AUDIO = ("mix", "dubbed.m4a")


class MixStage(Stage):
    """Writes mix/dubbed.m4a (saved to the store: mux and a later re-render's mux read it)."""

    name = "mix"
    version = 3

    def _speech(self, ctx: Context) -> list[tuple[float, float]]:
        if ctx.options.background == "separate":
            return []  # the stem holds no voice: lowered only under the dubbed lines (the Timeline adds them)
        return [tuple(r) for r in ctx.regions] + [(s.start, s.end) for s in ctx.transcript.segments]

    def _duck_db(self, ctx: Context) -> float:
        return ctx.separate_duck_db if ctx.options.background == "separate" else ctx.duck_db

    def key(self, ctx: Context) -> str:
        placed = sorted((line.fitted_file, line.offset, line.samples) for line in ctx.fitted.values())
        o = ctx.options
        return digest(self.name, self.version, ctx.fingerprint, placed, o.background, self._duck_db(ctx),
                      ctx.keep_stems, self._speech(ctx), round(ctx.timeline, 4), o.target_language)

    def run(self, ctx: Context) -> dict:
        ws = ctx.ws
        mix_dir = ws.root / "mix"
        mix_dir.mkdir(exist_ok=True)
        if ctx.options.background == "separate":
            _, background_wav = ensure_stems(ctx)
        else:
            _, background_wav = ensure_audio(ws, ctx.input_path, ctx.info)
        placed = []
        for line in ctx.fitted.values():
            if not ws.ensure(line.fitted):
                raise PipelineError(self.name, None, f"the fitted clip {line.fitted_file} is missing")
            placed.append(PlacedClip(line.fitted, line.offset, line.samples))
        out = ws.path(*DUBBED_AUDIO)

        def progress(fraction: float, message: str) -> None:
            ctx.check_cancel()  # between blocks: raising here stops the encoder too
            ctx.progress(fraction, message)

        result = mix_to_aac(
            placed, background_wav=background_wav, background=ctx.options.background, duck_db=self._duck_db(ctx),
            speech_intervals=self._speech(ctx), total_samples=round(ctx.timeline * MIX_RATE), out_m4a=out,
            language=ctx.options.target_language, stems_dir=(mix_dir / "stems") if ctx.keep_stems else None,
            progress=progress)
        ws.save(out)
        ctx.mix_detail = {"measured_lufs": result.measured_lufs, "gain_db": result.gain_db,
                          "output_lufs": result.output_lufs, "target_lufs": TARGET_LUFS}
        return ctx.mix_detail

    def load(self, ctx: Context) -> bool:
        # mux reads the track; without it (folder and store both lost it) mix runs again.
        if not ctx.ws.ensure(ctx.ws.path(*DUBBED_AUDIO)):
            return False
        ctx.mix_detail = ctx.ws.stage_detail(self.name)
        return True
