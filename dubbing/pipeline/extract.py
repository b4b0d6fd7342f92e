"""Stage 2: 16 kHz mono audio for recognition and 48 kHz audio for mixing, in one decode, then
the speech regions (VAD) that recognition, segmenting and ducking all use."""

from __future__ import annotations

from pathlib import Path

from dubbing.engines.vad import speech_regions_parallel
from dubbing.pipeline.ffmpeg import run_ffmpeg
from dubbing.pipeline.probe import MediaInfo
from dubbing.pipeline.workspace import temp_path_for
from videos.media_safety import input_args

MIX_RATE = 48000


def extract_audio(input_path: Path, info: MediaInfo, asr_wav: Path, mix_wav: Path) -> None:
    channels = min(2, info.audio_channels or 1)
    tmp_asr, tmp_mix = temp_path_for(asr_wav), temp_path_for(mix_wav)
    # The input is read as the probe read it: its sniffed demuxer forced, local files only.
    # A decode slower than real time (plus a margin) is a damaged or hostile file, not a job.
    run_ffmpeg([
        *input_args(input_path, info.format),
        "-map", "0:a:0", "-vn", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(tmp_asr),
        "-map", "0:a:0", "-vn", "-ac", str(channels), "-ar", str(MIX_RATE), "-c:a", "pcm_s16le", str(tmp_mix),
    ], timeout=120 + info.duration)
    tmp_asr.replace(asr_wav)
    tmp_mix.replace(mix_wav)


def detect_speech(asr_wav: Path, *, workers: int | None = None) -> list[tuple[float, float]]:
    return [(round(a, 3), round(b, 3)) for a, b in speech_regions_parallel(asr_wav, workers=workers)]
