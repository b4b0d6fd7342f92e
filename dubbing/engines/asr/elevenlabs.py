"""ElevenLabs speech-to-text (Scribe) through the official `elevenlabs` SDK: words with their times
and the speaker labels of its diarization.

429 and 5xx are retried here with backoff (honouring Retry-After), not by the SDK: elevenlabs
2.78's own retry sends the multipart request again without its form fields (model_id, ...), which
the API refuses with 422. What still fails after the retries is an EngineError naming the engine,
retryable when a later try can succeed. A 401 means the key is wrong: EngineUnavailable naming
ELEVENLABS_API_KEY.
"""

from __future__ import annotations

import math
from pathlib import Path

import httpx

from dubbing.engines.asr.whisper import whisper_languages
from dubbing.engines.base import (
    EngineError,
    EngineUnavailable,
    ErrorCode,
    Segment,
    Transcript,
    Word,
    http_error_code,
)
from dubbing.engines.languages import to_iso1
from onevoice.retry import retry_delay, wait
from videos.media.process import ProcessCancelled, cancelled

MODEL = "scribe_v1"
PAUSE_SECONDS = 0.8  # a longer gap between words, or a new speaker, starts a new segment


class ElevenLabsASR:
    name = "elevenlabs"

    def __init__(self, api_key: str, *, base_url: str | None = None, model: str = MODEL, max_retries: int = 4,
                 timeout: float = 300.0) -> None:
        if not api_key:
            raise EngineUnavailable("The elevenlabs engine needs ELEVENLABS_API_KEY to be set.")
        try:
            from elevenlabs.client import ElevenLabs
        except ImportError as exc:
            raise EngineUnavailable("The elevenlabs SDK is not installed (pip install elevenlabs).") from exc
        kwargs = {"api_key": api_key, "timeout": timeout}
        if base_url:
            kwargs["base_url"] = base_url.rstrip("/")
        self.client = ElevenLabs(**kwargs)
        self.model = model
        self.max_retries = max_retries

    def languages(self) -> set[str]:
        # Scribe's 99 languages are Whisper's set; the pipeline speaks ISO 639-1.
        return whisper_languages()

    def transcribe(self, audio_path: Path, language: str) -> Transcript:
        from elevenlabs.core.api_error import ApiError

        upload = Path(audio_path).read_bytes()
        attempt = 0
        while True:
            try:
                response = self.client.speech_to_text.convert(
                    model_id=self.model, file=(Path(audio_path).name, upload, "audio/wav"),
                    language_code=None if language == "auto" else language, diarize=True,
                    timestamps_granularity="word", tag_audio_events=False,
                    request_options={"max_retries": 0})
                break
            except ApiError as exc:
                status = exc.status_code or 0
                if (status == 429 or status >= 500) and attempt < self.max_retries:
                    attempt += 1
                    # Stopped at once when the job is cancelled (the pipeline's cancel scope).
                    wait(retry_delay(attempt, headers=exc.headers), cancelled=cancelled, on_cancel=ProcessCancelled)
                    continue
                raise _engine_error(exc.status_code, exc.body) from exc
            except httpx.TimeoutException as exc:
                raise EngineError(f"ElevenLabs speech-to-text did not answer in time: {exc}",
                                  code=ErrorCode.ENGINE_TIMEOUT, retryable=True) from exc
            except httpx.TransportError as exc:
                raise EngineError(f"ElevenLabs speech-to-text could not be reached: {exc}",
                                  code=ErrorCode.ENGINE_SERVER_ERROR, retryable=True) from exc
            except (ValueError, TypeError) as exc:  # a 200 whose body is not Scribe's (pydantic, JSON)
                raise EngineError(f"ElevenLabs speech-to-text answered something unreadable: {exc}",
                                  retryable=True) from exc
        try:
            return scribe_to_transcript(response, language)
        except (AttributeError, TypeError, ValueError) as exc:
            raise EngineError(f"ElevenLabs speech-to-text answered something that is not a transcript: {exc}",
                              retryable=True) from exc


def _engine_error(status: int | None, body) -> EngineError:
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, dict):
        detail = detail.get("message") or detail
    if status == 401:
        return EngineUnavailable(f"ElevenLabs refused the key (401): check ELEVENLABS_API_KEY. {detail or ''}".strip())
    retryable = status is None or status in (408, 409, 429) or status >= 500
    return EngineError(f"ElevenLabs speech-to-text failed after retries (HTTP {status}): {detail}",
                       code=http_error_code(status), retryable=retryable)


def scribe_to_transcript(response, language: str) -> Transcript:
    """Scribe's words (with spacing and audio-event entries) as timed words and segments, cut at
    pauses and at a change of speaker; its speaker ids become the segments' speakers."""
    words = getattr(response, "words", None)
    if not isinstance(words, list):
        raise EngineError("ElevenLabs speech-to-text answered without words.", retryable=True)
    segments: list[Segment] = []
    current: list[Word] = []

    def flush() -> None:
        if current:
            segments.append(Segment(id=f"e{len(segments) + 1:04d}", start=current[0].start, end=current[-1].end,
                                    text=" ".join(w.text for w in current), speaker=current[0].speaker,
                                    words=list(current)))
            current.clear()

    for w in words:
        if getattr(w, "type", "word") != "word" or not (w.text or "").strip():
            continue
        logprob = getattr(w, "logprob", None)
        word = Word(text=w.text.strip(), start=float(w.start or 0.0), end=float(w.end or w.start or 0.0),
                    confidence=round(math.exp(logprob), 3) if logprob is not None else 1.0,
                    speaker=getattr(w, "speaker_id", None))
        if current and (word.start - current[-1].end >= PAUSE_SECONDS or word.speaker != current[-1].speaker):
            flush()
        current.append(word)
    flush()
    detected = to_iso1(getattr(response, "language_code", "") or language)
    return Transcript(language=detected if language == "auto" else language, segments=segments,
                      confidence=float(getattr(response, "language_probability", 1.0) or 1.0))
