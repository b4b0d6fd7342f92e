"""Stage 2: 16 kHz mono audio for recognition and 48 kHz audio for mixing, in one decode, then
the speech regions (VAD) that recognition, segmenting and ducking all use."""

from __future__ import annotations

from pathlib import Path

from dubbing.engines.vad import speech_regions_parallel
from dubbing.pipeline.stage import Context, Stage
from dubbing.pipeline.workspace import digest, temp_path_for
from videos.media import ASR_RATE, MIX_RATE
from videos.media.ffmpeg import run_ffmpeg
from videos.media.probe import MediaInfo
from videos.media.safety import input_args

ASR_WAV = ("audio", "asr.wav")
MIX_WAV = ("audio", "mix.wav")
REGIONS = "regions.json"


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


def detect_speech(asr_wav: Path, *, workers: int | None = None) -> list[tuple[float, float]]:
    return [(round(a, 3), round(b, 3)) for a, b in speech_regions_parallel(asr_wav, workers=workers)]


class ExtractStage(Stage):
    """Writes audio/asr.wav, audio/mix.wav and regions.json, all saved to the store: a
    re-render or a resumed job mixes over the same background without decoding the input again."""

    name = "extract"
    version = 2

    def key(self, ctx: Context) -> str:
        return digest(self.name, self.version, ctx.fingerprint)

    def run(self, ctx: Context) -> dict:
        asr_wav, mix_wav = ctx.ws.path(*ASR_WAV), ctx.ws.path(*MIX_WAV)
        extract_audio(ctx.input_path, ctx.info, asr_wav, mix_wav)
        ctx.ws.save(asr_wav)
        ctx.ws.save(mix_wav)
        ctx.check_cancel()
        ctx.regions = detect_speech(asr_wav, workers=ctx.threads)
        ctx.ws.write_json(ctx.ws.path(REGIONS), ctx.regions)
        return {"speech_regions": len(ctx.regions)}

    def load(self, ctx: Context) -> bool:
        # The WAVs are fetched when a stage that reads them runs (transcribe, mix), not here.
        try:
            ctx.regions = [tuple(r) for r in ctx.ws.read_json(ctx.ws.path(REGIONS))]
        except FileNotFoundError:
            return False
        return True


def ensure_audio(ctx: Context) -> tuple[Path, Path]:
    """The extracted WAVs, from the folder or the store; decoded again only if both lost them."""
    asr_wav, mix_wav = ctx.ws.path(*ASR_WAV), ctx.ws.path(*MIX_WAV)
    if not (ctx.ws.ensure(asr_wav) and ctx.ws.ensure(mix_wav)):
        extract_audio(ctx.input_path, ctx.info, asr_wav, mix_wav)
        ctx.ws.save(asr_wav)
        ctx.ws.save(mix_wav)
    return asr_wav, mix_wav
