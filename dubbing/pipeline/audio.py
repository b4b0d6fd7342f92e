"""The workspace's extracted audio: 16 kHz mono for recognition and 48 kHz for mixing, decoded
from the input in one pass (the extract stage), and found again by every later stage that reads
them (transcribe, segment, translate by speech, mix) from the folder or the store."""

from __future__ import annotations

from pathlib import Path

from dubbing.pipeline.workspace import Workspace, temp_path_for
from videos.media import ASR_RATE, MIX_RATE
from videos.media.ffmpeg import run_ffmpeg
from videos.media.probe import MediaInfo
from videos.media.safety import input_args

ASR_WAV = ("audio", "asr.wav")
MIX_WAV = ("audio", "mix.wav")


def extract_audio(input_path: Path, info: MediaInfo, asr_wav: Path, mix_wav: Path) -> None:
    channels = min(2, info.audio_channels or 1)
    tmp_asr, tmp_mix = temp_path_for(asr_wav), temp_path_for(mix_wav)
    # The input is read as the probe read it: its sniffed demuxer forced, local files only.
    # A decode slower than real time (plus a margin) is a damaged or hostile file, not a job.
    run_ffmpeg([
        *input_args(input_path, info.format),
        "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(ASR_RATE), "-c:a", "pcm_s16le", str(tmp_asr),
        "-map", "0:a:0", "-vn", "-ac", str(channels), "-ar", str(MIX_RATE), "-c:a", "pcm_s16le", str(tmp_mix),
    ], timeout=120 + info.duration)
    tmp_asr.replace(asr_wav)
    tmp_mix.replace(mix_wav)


def extract_to_workspace(ws: Workspace, input_path: Path, info: MediaInfo) -> tuple[Path, Path]:
    """Decodes both WAVs into the workspace and saves them to its store."""
    asr_wav, mix_wav = ws.path(*ASR_WAV), ws.path(*MIX_WAV)
    extract_audio(input_path, info, asr_wav, mix_wav)
    ws.save(asr_wav)
    ws.save(mix_wav)
    return asr_wav, mix_wav


def ensure_audio(ws: Workspace, input_path: Path, info: MediaInfo) -> tuple[Path, Path]:
    """The extracted WAVs, from the folder or the store; decoded again only if both lost them."""
    asr_wav, mix_wav = ws.path(*ASR_WAV), ws.path(*MIX_WAV)
    if ws.ensure(asr_wav) and ws.ensure(mix_wav):
        return asr_wav, mix_wav
    return extract_to_workspace(ws, input_path, info)
