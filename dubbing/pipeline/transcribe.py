"""Stage 3: timed words and segments from the ASR engine, or the user's source subtitles."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dubbing.engines.base import ASREngine, Transcript
from dubbing.pipeline.audio import ensure_audio
from dubbing.pipeline.errors import ErrorCode, PipelineError
from dubbing.pipeline.stage import Context, Stage
from dubbing.pipeline.subtitles import parse_subtitles
from dubbing.pipeline.workspace import digest

TRANSCRIPT = "transcript.json"


def text_hash(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest()[:16] if text else None


def transcribe(asr: ASREngine, asr_wav: Path, language: str, regions: list[tuple[float, float]],
               candidates: set[str] | None = None, target: str | None = None) -> Transcript:
    # The local engine reuses the speech regions already found, and refuses by name a detected
    # language outside the candidates (no pair to `target`); remote engines take the file as it is.
    if getattr(asr, "accepts_regions", False):
        return asr.transcribe(asr_wav, language, regions=regions, candidates=candidates, target=target)
    return asr.transcribe(asr_wav, language)


def transcript_from_subtitles(text: str, language: str) -> Transcript:
    return Transcript(language=language, segments=parse_subtitles(text), confidence=1.0)


def _candidates(ctx: Context) -> set[str] | None:
    """Source languages worth detecting: those with a pair to the target."""
    translator, options = ctx.engines.translator, ctx.options
    if translator is None or options.source_language != "auto":
        return None
    if ctx.detect_candidates is not None:  # one analysis shared by several target languages
        return set(ctx.detect_candidates)
    return {s for s, t in translator.supported_pairs() if t == options.target_language}


class TranscribeStage(Stage):
    name = "transcribe"
    version = 4

    def key(self, ctx: Context) -> str:
        o = ctx.options
        return digest(self.name, self.version, ctx.fingerprint, o.source_language, text_hash(o.source_subtitles),
                      ctx.engines.names()["asr"], getattr(ctx.engines.asr, "options_key", None),
                      sorted(_candidates(ctx) or []))

    def run(self, ctx: Context) -> dict:
        options = ctx.options
        candidates = _candidates(ctx)
        if options.source_subtitles:
            language = options.source_language
            if language == "auto":
                if not candidates or len(candidates) != 1:
                    raise PipelineError(self.name, None, "Say which language the source subtitles are in (--from).",
                                        code=ErrorCode.INVALID_OPTIONS)
                language = next(iter(candidates))
            transcript = transcript_from_subtitles(options.source_subtitles, language)
            detail = {"skipped": "source subtitles supplied"}
        else:
            asr_wav, _ = ensure_audio(ctx.ws, ctx.input_path, ctx.info)
            transcript = transcribe(ctx.engines.asr, asr_wav, options.source_language, ctx.regions, candidates,
                                    target=options.target_language)
            detail = {"language": transcript.language, "confidence": round(transcript.confidence, 3),
                      "detection": getattr(ctx.engines.asr, "last_detection", {}) or {}}
        ctx.transcript = transcript
        ctx.transcribe_detail = detail
        ctx.ws.write_json(ctx.ws.path(TRANSCRIPT), transcript.to_dict())
        self._check_language(ctx)
        return detail

    def load(self, ctx: Context) -> bool:
        try:
            ctx.transcript = Transcript.from_dict(ctx.ws.read_json(ctx.ws.path(TRANSCRIPT)))
        except FileNotFoundError:
            return False
        ctx.transcribe_detail = ctx.ws.stage_detail(self.name)
        self._check_language(ctx)
        return True

    def _check_language(self, ctx: Context) -> None:
        if ctx.transcript.language == ctx.options.target_language:
            raise PipelineError(self.name, None, f"The speech is already in '{ctx.transcript.language}'.",
                                code=ErrorCode.SAME_LANGUAGE)
