"""Hearing voices: a short preview of a voice, saying a line of the user's own dub when one is
named, and each line's dubbed clip as the last render placed it.

Previews are spoken by the deployment's real speech engine for the language (the one a dub into
it uses) and kept on disk under DUBBING_WORKSPACE_DIR/previews, named by a hash of the engine,
language, voice and text: a voice heard once plays again without synthesis, and the same line
previewed by two users is made once. One preview is synthesized at a time per process (the web
processes share their cores with the workers); the API throttles how often a user may ask.

A line's clip is the fitted clip the mix placed (the fit stage's output, kept in the job's work
store), sent as 16-bit PCM WAV, which every browser plays.
"""

from __future__ import annotations

import io
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from django.conf import settings
from django.conf.locale import LANG_INFO
from django.utils.translation import gettext

from dubbing.engine_config import build_speech_engine
from dubbing.engines.base import EngineError, TTSEngine
from dubbing.errors import InvalidOptions, LineAudioNotFound, PreviewUnavailable, SpeakerNotFound, VoiceNotFound
from dubbing.languages import language_support
from dubbing.models import DubbingJob, Segment
from dubbing.pipeline.fit import FITTED
from dubbing.pipeline.synthesize import synthesize_one
from dubbing.pipeline.workspace import digest, read_json, temp_path_for
from dubbing.storage import JobWorkStore, storage_fetch

PREVIEW_MAX_CHARS = 140
PREVIEW_MIN_CHARS = 12  # a line shorter than this says too little to judge a voice by
# What a voice says when no job is named: one plain sentence per language; other languages say
# their own name (Django's `name_local`), which is at least in the language.
PREVIEW_SENTENCES = {
    "en": "Hello! This is how I sound when I speak the lines of your video.",
    "es": "¡Hola! Así sueno cuando digo las frases de tu vídeo.",
    "fr": "Bonjour ! Voici ma voix quand je dis les répliques de votre vidéo.",
    "de": "Hallo! So klinge ich, wenn ich die Sätze Ihres Videos spreche.",
    "it": "Ciao! Ecco come suono quando leggo le battute del tuo video.",
    "pt": "Olá! É assim que eu soo quando digo as falas do seu vídeo.",
    "ca": "Hola! Així sono quan dic les frases del teu vídeo.",
    "gl": "Ola! Así soo cando digo as frases do teu vídeo.",
    "nl": "Hallo! Zo klink ik als ik de zinnen van je video uitspreek.",
    "ko": "안녕하세요! 영상의 대사를 읽으면 제 목소리는 이렇게 들려요.",
    "ja": "こんにちは。動画のせりふを読むと、私の声はこう聞こえます。",
    "zh": "你好！我读你的视频台词时，听起来就是这样。",
    "ru": "Привет! Вот так звучит мой голос, когда я читаю реплики вашего видео.",
}
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s")

_engines: dict[tuple, TTSEngine] = {}
_engines_lock = threading.Lock()
_synthesis_lock = threading.Lock()


@dataclass(frozen=True)
class Preview:
    path: Path  # 16-bit PCM WAV
    text: str  # what the voice says
    cached: bool  # heard before: no synthesis this time


def _short(text: str) -> str:
    """At most PREVIEW_MAX_CHARS: whole sentences while they fit, else cut at a word."""
    text = " ".join(text.split())
    if len(text) <= PREVIEW_MAX_CHARS:
        return text
    kept = ""
    for sentence in _SENTENCE_END.split(text):
        if len(kept) + len(sentence) + 1 > PREVIEW_MAX_CHARS:
            break
        kept = f"{kept} {sentence}".strip()
    return kept or text[:PREVIEW_MAX_CHARS].rsplit(" ", 1)[0]


def preview_text(*, language: str, job: DubbingJob | None = None, speaker: str | None = None) -> str:
    """What a preview says: with `job`, its first line (of `speaker`'s, when named) long enough to
    judge a voice by (else the longest), as translated or edited; otherwise the language's sample
    sentence."""
    if job is not None:
        lines = Segment.objects.filter(job_id=job.id)
        if speaker is not None:
            lines = lines.filter(speaker=speaker)
        texts = [t for t in lines.order_by("index").values_list("target_text", flat=True) if t.strip()]
        chosen = next((t for t in texts if len(t.strip()) >= PREVIEW_MIN_CHARS), max(texts, key=len, default=""))
        if chosen:
            return _short(chosen)
    if language in PREVIEW_SENTENCES:
        return PREVIEW_SENTENCES[language]
    info = LANG_INFO.get(language) or LANG_INFO.get(language.split("-")[0]) or {}
    return info.get("name_local") or language


def _engine(language: str) -> TTSEngine:
    key = (settings.DUBBING_ENGINES, settings.DUBBING_TTS_ENGINE, str(settings.DUBBING_MODEL_DIR), language)
    with _engines_lock:
        if key not in _engines:
            _engines[key] = build_speech_engine(language, threads=1)
        return _engines[key]


def preview_folder() -> Path:
    return Path(settings.DUBBING_WORKSPACE_DIR) / "previews"


def voice_preview(*, language: str, voice: str, job: DubbingJob | None = None, speaker: str | None = None) -> Preview:
    """`voice` of `language` saying a line of `job` (of `speaker`'s, when named), or a sample
    sentence, from the disk cache when heard before. 404 voice_not_found for a voice the language
    lacks here, speaker_not_found for a speaker the job lacks; 400 naming `job` for a job in
    another language; 503 preview_unavailable when the engine fails."""
    if voice not in language_support().voices.get(language, []):
        raise VoiceNotFound()
    if job is not None and job.target_language != language:
        message = gettext("That dub is not in this language.")
        raise InvalidOptions(message, errors={"job": [message]})
    if job is not None and speaker is not None and not Segment.objects.filter(job_id=job.id, speaker=speaker).exists():
        raise SpeakerNotFound()
    text = preview_text(language=language, job=job, speaker=speaker if job is not None else None)
    try:
        tts = _engine(language)
    except EngineError as exc:
        raise PreviewUnavailable() from exc
    path = preview_folder() / f"{digest(getattr(tts, 'name', '?'), language, voice, text)}.wav"
    if path.is_file():
        return Preview(path=path, text=text, cached=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _synthesis_lock:
        if path.is_file():  # made while this request waited
            return Preview(path=path, text=text, cached=True)
        raw = temp_path_for(path.with_name(path.stem + ".float.wav"))
        try:
            synthesize_one(tts, text, language, voice, raw)
            samples, rate = sf.read(str(raw), dtype="float32")
            tmp = temp_path_for(path)
            sf.write(str(tmp), np.clip(samples, -1.0, 1.0), rate, subtype="PCM_16", format="WAV")
            tmp.replace(path)
        except EngineError as exc:
            raise PreviewUnavailable() from exc
        finally:
            raw.unlink(missing_ok=True)
    return Preview(path=path, text=text, cached=False)


def line_audio(*, job: DubbingJob, segment: Segment) -> bytes:
    """The line's dubbed clip as the last render placed it, as 16-bit PCM WAV. 404
    line_audio_not_found while no render has fitted it."""
    store = JobWorkStore(job.id, job.target_language)
    with tempfile.TemporaryDirectory(prefix="onevoice-line-") as folder:
        fitted = Path(folder) / FITTED
        if not storage_fetch(store.storage_name(FITTED), fitted):
            raise LineAudioNotFound()
        entry = read_json(fitted).get(segment.segment_id) or {}
        clip = Path(folder) / "line.wav"
        if not entry.get("fitted_file") or not storage_fetch(store.storage_name(entry["fitted_file"]), clip):
            raise LineAudioNotFound()
        samples, rate = sf.read(str(clip), dtype="float32", always_2d=True)
    out = io.BytesIO()
    sf.write(out, np.clip(samples.mean(axis=1), -1.0, 1.0), rate, subtype="PCM_16", format="WAV")
    return out.getvalue()
