"""Stage 2b (source analysis): the voice stem and the music-and-effects stem of the extracted
audio (Spleeter 2-stem through dubbing.engines.separation), for the background `separate`.

Part of the source side: its files live under audio/ with the other analysis outputs, so every
target language of a video mixes over the same stems, separated once. The key depends on the
input alone. A job that does not mix over the stems (`duck`, `keep`, `drop`) records the stage
without separating; a later job that does need them finds them missing in `load` and separates
then, once, for everyone after it.
"""

from __future__ import annotations

from pathlib import Path

from dubbing.pipeline.audio import ensure_audio
from dubbing.pipeline.errors import PipelineError
from dubbing.pipeline.stage import Context, Stage
from dubbing.pipeline.workspace import Workspace, digest, temp_path_for
from videos.media import MIX_RATE

VOCALS_WAV = ("audio", "vocals.wav")
BACKGROUND_WAV = ("audio", "background.wav")  # music and effects: the mix minus the voice


def wants_stems(ctx: Context) -> bool:
    return ctx.options.background == "separate"


def separate_to_workspace(ctx: Context) -> tuple[Path, Path]:
    """Separates the extracted 48 kHz audio into the two stems (same rate and channels) and
    saves them to the store."""
    separator = ctx.engines.separator
    if separator is None:
        raise PipelineError("separate", None, "The background 'separate' needs the voice separator, which this "
                                              "server does not have.", code="engine_unavailable")
    ws: Workspace = ctx.ws
    _, mix_wav = ensure_audio(ws, ctx.input_path, ctx.info)
    vocals, background = ws.path(*VOCALS_WAV), ws.path(*BACKGROUND_WAV)
    tmp_vocals, tmp_background = temp_path_for(vocals), temp_path_for(background)
    channels = min(2, ctx.info.audio_channels or 1)
    try:
        separator.separate(mix_wav, tmp_vocals, tmp_background, rate=MIX_RATE, channels=channels,
                           cancel=ctx.should_cancel, duration=ctx.timeline,
                           progress=lambda f: ctx.progress(f, "separating the voice from the music"))
    finally:
        # Done for this video (every target mixes over these stems): the graph's memory goes
        # back before recognition and synthesis load their models.
        separator.release()
    tmp_vocals.replace(vocals)
    tmp_background.replace(background)
    ws.save(vocals)
    ws.save(background)
    return vocals, background


def ensure_stems(ctx: Context) -> tuple[Path, Path]:
    """The stems, from the folder or the store; separated again only if both lost them."""
    vocals, background = ctx.ws.path(*VOCALS_WAV), ctx.ws.path(*BACKGROUND_WAV)
    if ctx.ws.ensure(vocals) and ctx.ws.ensure(background):
        return vocals, background
    return separate_to_workspace(ctx)


class SeparateStage(Stage):
    """Writes audio/vocals.wav and audio/background.wav when the dub mixes over the stems."""

    name = "separate"
    version = 1

    def key(self, ctx: Context) -> str:
        return digest(self.name, self.version, ctx.fingerprint)

    def run(self, ctx: Context) -> dict:
        if not wants_stems(ctx):
            return {"separated": False}
        separate_to_workspace(ctx)
        return {"separated": True, "engine": getattr(ctx.engines.separator, "name", "")}

    def load(self, ctx: Context) -> bool:
        if not wants_stems(ctx):
            return True
        # Recorded by a job that did not need the stems, or lost: separate now.
        return ctx.ws.ensure(ctx.ws.path(*VOCALS_WAV)) and ctx.ws.ensure(ctx.ws.path(*BACKGROUND_WAV))
