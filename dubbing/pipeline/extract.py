"""Stage 2: 16 kHz mono audio for recognition and 48 kHz audio for mixing, in one decode
(dubbing.pipeline.audio), then the speech regions (VAD) that recognition, segmenting and ducking
all use."""

from __future__ import annotations

from pathlib import Path

from dubbing.engines.vad import speech_regions_parallel
from dubbing.pipeline.audio import extract_to_workspace
from dubbing.pipeline.stage import Context, Stage
from dubbing.pipeline.workspace import digest

REGIONS = "regions.json"


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
        asr_wav, _ = extract_to_workspace(ctx.ws, ctx.input_path, ctx.info)
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

