"""ElevenLabs speech through the official `elevenlabs` SDK: `POST /v1/text-to-speech/{voice_id}`
with the multilingual model (MP3 back, decoded into the WAV the pipeline expects), and instant
voice cloning: `POST /v1/voices/add` (multipart: the name and the speaker's sample) makes a voice
that the dub then speaks with, and `DELETE /v1/voices/{voice_id}` removes it. `find_voices`
(`GET /v2/voices?search=`) finds a clone by the name it was made with, for the sweep that deletes
what a crash left behind (dubbing.services.cloning).

429 and 5xx are retried here with backoff (honouring Retry-After), not by the SDK (whose own
retry re-sends a multipart request without its form fields, see asr/elevenlabs.py). A 401 means
the key is wrong: EngineUnavailable naming ELEVENLABS_API_KEY. A voice-add refused (4xx: the
sample, a protected voice, no voice slots left) is CloneRefused: the dub goes on with a cast
voice. A delete of a voice already gone (404) counts as done.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

from dubbing.engines.base import (
    CloneRefused,
    EngineError,
    EngineUnavailable,
    ErrorCode,
    VoiceReference,
    http_error_code,
)
from dubbing.engines.tts.fish import decode_to_wav
from onevoice.retry import retry_delay, wait
from videos.media.process import ProcessCancelled, cancelled

MODEL = "eleven_multilingual_v2"
# Two of ElevenLabs' premade voices, so that speakers can be cast without any configuration.
DEFAULT_VOICES = {"rachel": "21m00Tcm4TlvDq8ikWAM", "adam": "pNInz6obpgDQGcFmaJgB"}
# What eleven_multilingual_v2 speaks (ISO 639-1; Filipino as "tl").
LANGUAGES = frozenset({"en", "ja", "zh", "de", "hi", "fr", "ko", "pt", "it", "es", "id", "nl", "tr", "tl", "pl",
                       "sv", "bg", "ro", "ar", "cs", "el", "fi", "hr", "ms", "sk", "da", "ta", "uk", "ru"})
NO_RETRY = {"max_retries": 0}

T = TypeVar("T")


class ElevenLabsTTS:
    name = "elevenlabs"
    clones_persist = True  # an instant clone is a voice in the account until it is deleted

    def __init__(self, api_key: str, *, base_url: str | None = None, voices: dict[str, str] | None = None,
                 model: str = MODEL, max_retries: int = 4, concurrency: int = 4, timeout: float = 120.0) -> None:
        """`voices`: name -> ElevenLabs voice id (the first is the default)."""
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
        self.named_voices = dict(voices or DEFAULT_VOICES)
        self.model = model
        self.max_retries = max_retries
        self.concurrency = concurrency

    def languages(self) -> set[str]:
        return set(LANGUAGES)

    def voices(self, language: str) -> list[str]:
        return list(self.named_voices) if language in LANGUAGES else []

    def synthesize(self, text: str, language: str, voice: str | None, out_path: Path) -> Path:
        voice_id = self.named_voices.get(voice or "", voice) if voice else next(iter(self.named_voices.values()))

        def speak() -> bytes:
            return b"".join(self.client.text_to_speech.convert(
                voice_id, text=text, model_id=self.model, output_format="mp3_44100_128", request_options=NO_RETRY))

        audio = self._call(speak, "speech")
        return decode_to_wav(audio, out_path, provider="ElevenLabs speech")

    def clone_voice(self, reference: VoiceReference, *, name: str) -> str:
        sample = Path(reference.audio_path)

        def add():
            return self.client.voices.ivc.create(
                name=name, files=[(sample.name, sample.read_bytes(), "audio/mpeg")], remove_background_noise=False,
                description=f"OneVoice dub: {reference.speaker} ({reference.seconds:.1f} s, {reference.language}). "
                            "Deleted when the dub ends.",
                request_options=NO_RETRY)

        made = self._call(add, "voice cloning", refusal=CloneRefused)
        voice_id = getattr(made, "voice_id", None)
        if not voice_id:
            raise EngineError("ElevenLabs voice cloning answered without a voice_id.", retryable=True)
        return voice_id

    def delete_voice(self, voice: str) -> None:
        from elevenlabs.core.api_error import ApiError

        try:
            self._call(lambda: self.client.voices.delete(voice, request_options=NO_RETRY), "voice deletion")
        except EngineError as exc:
            if isinstance(exc.__cause__, ApiError) and exc.__cause__.status_code == 404:
                return  # already gone
            raise

    def find_voices(self, name: str) -> list[str]:
        """The ids of the account's voices called exactly `name`."""
        found = self._call(lambda: self.client.voices.search(search=name, page_size=100, request_options=NO_RETRY),
                           "voice search")
        return [v.voice_id for v in (getattr(found, "voices", None) or []) if getattr(v, "name", None) == name]

    def _call(self, request: Callable[[], T], what: str, *, refusal: type[EngineError] = EngineError) -> T:
        from elevenlabs.core.api_error import ApiError

        attempt = 0
        while True:
            try:
                return request()
            except ApiError as exc:
                status = exc.status_code or 0
                if (status == 429 or status >= 500) and attempt < self.max_retries:
                    attempt += 1
                    # Stopped at once when the job is cancelled (the pipeline's cancel scope).
                    wait(retry_delay(attempt, headers=exc.headers), cancelled=cancelled, on_cancel=ProcessCancelled)
                    continue
                raise _engine_error(what, exc.status_code, exc.body, refusal) from exc
            except httpx.TimeoutException as exc:
                raise EngineError(f"ElevenLabs {what} did not answer in time: {exc}", code=ErrorCode.ENGINE_TIMEOUT,
                                  retryable=True) from exc
            except httpx.TransportError as exc:
                raise EngineError(f"ElevenLabs {what} could not be reached: {exc}",
                                  code=ErrorCode.ENGINE_SERVER_ERROR, retryable=True) from exc


def _engine_error(what: str, status: int | None, body, refusal: type[EngineError]) -> EngineError:
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, dict):
        detail = detail.get("message") or detail
    if status == 401:
        return EngineUnavailable(f"ElevenLabs refused the key (401): check ELEVENLABS_API_KEY. {detail or ''}".strip())
    retryable = status is None or status in (408, 409, 429) or status >= 500
    if not retryable and refusal is not EngineError:
        return refusal(f"ElevenLabs refused the {what} (HTTP {status}): {detail}")
    return EngineError(f"ElevenLabs {what} failed after retries (HTTP {status}): {detail}",
                       code=http_error_code(status), retryable=retryable)
