"""Fish Audio speech through the official SDK (`fish-audio-sdk`, module `fishaudio`): `POST
/v1/tts` with a msgpack body naming the reference voice (`reference_id`); MP3 back, decoded with
pydub (ffmpeg) into the WAV the pipeline expects.

Cloning is zero-shot: a cloned voice is the speaker's reference audio and its transcript, sent
with every request (`references: [{audio, text}]`) instead of a `reference_id`. Nothing is
created at Fish, so nothing is left there to delete; a request whose reference Fish refuses (a
4xx other than 401 and 429) is `CloneRefused`, and the dub speaks that speaker in a cast voice.

The SDK does not retry: 429 and 5xx are retried here with backoff (honouring Retry-After). A 401
means the key is wrong: EngineUnavailable naming FISH_AUDIO_API_KEY. What still fails after the
retries, or answers something that is not audio, is an EngineError naming the engine.
"""

from __future__ import annotations

import io
from pathlib import Path

import httpx

from dubbing.engines.base import (
    CloneRefused,
    EngineError,
    EngineUnavailable,
    ErrorCode,
    VoiceReference,
    http_error_code,
)
from onevoice.retry import retry_delay, wait
from videos.media.process import ProcessCancelled, cancelled

MODEL = "s1"


class FishAudioTTS:
    name = "fish"
    clones_persist = False  # zero-shot: the reference travels with each request

    def __init__(self, api_key: str, *, base_url: str | None = None, voices: dict[str, str] | None = None,
                 model: str = MODEL, max_retries: int = 4, concurrency: int = 4, timeout: float = 120.0) -> None:
        """`voices`: name -> Fish reference voice id (the first is the default)."""
        if not api_key:
            raise EngineUnavailable("The fish engine needs FISH_AUDIO_API_KEY to be set.")
        try:
            from fishaudio import FishAudio
        except ImportError as exc:
            raise EngineUnavailable("The Fish Audio SDK is not installed (pip install fish-audio-sdk).") from exc
        kwargs = {"api_key": api_key, "timeout": timeout}
        if base_url:
            kwargs["base_url"] = base_url.rstrip("/")
        self.client = FishAudio(**kwargs)
        self.reference_voices = dict(voices or {})
        self.model = model
        self.max_retries = max_retries
        self.concurrency = concurrency
        self._clones: dict[str, object] = {}  # voice name -> the SDK's ReferenceAudio

    def clone_voice(self, reference: VoiceReference, *, name: str) -> str:
        from fishaudio.types import ReferenceAudio

        voice = f"clone-{name}"
        self._clones[voice] = ReferenceAudio(audio=Path(reference.audio_path).read_bytes(), text=reference.text)
        return voice

    def delete_voice(self, voice: str) -> None:
        self._clones.pop(voice, None)

    def languages(self) -> set[str]:
        # Fish's models speak many languages from any reference voice; the ones it documents.
        return {"en", "zh", "ja", "ko", "fr", "de", "es", "ar", "ru", "nl", "it", "pl", "pt"}

    def voices(self, language: str) -> list[str]:
        return list(self.reference_voices) if language in self.languages() else []

    def synthesize(self, text: str, language: str, voice: str | None, out_path: Path) -> Path:
        from fishaudio.exceptions import APIError, FishAudioError

        clone = self._clones.get(voice or "")
        reference = None if clone is not None else self.reference_voices.get(voice or "", voice) if voice else next(
            iter(self.reference_voices.values()), None)
        attempt = 0
        while True:
            try:
                audio = self.client.tts.convert(text=text, reference_id=reference,
                                                references=[clone] if clone is not None else None,
                                                format="mp3", model=self.model)
                break
            except APIError as exc:
                if exc.status == 401:
                    raise EngineUnavailable("Fish Audio refused the key (401): check FISH_AUDIO_API_KEY.") from exc
                if clone is not None and 400 <= exc.status < 500 and exc.status != 429:
                    raise CloneRefused(f"Fish Audio refused the cloned voice's reference (HTTP {exc.status}): "
                                       f"{exc}") from exc
                retryable = exc.status == 429 or exc.status >= 500
                if retryable and attempt < self.max_retries:
                    attempt += 1
                    # Stopped at once when the job is cancelled (the pipeline's cancel scope).
                    wait(retry_delay(attempt), cancelled=cancelled, on_cancel=ProcessCancelled)
                    continue
                raise EngineError(f"Fish Audio speech failed after retries (HTTP {exc.status}): {exc}",
                                  code=http_error_code(exc.status), retryable=retryable) from exc
            except httpx.TimeoutException as exc:
                raise EngineError(f"Fish Audio speech did not answer in time: {exc}", code=ErrorCode.ENGINE_TIMEOUT,
                                  retryable=True) from exc
            except (httpx.TransportError, FishAudioError) as exc:
                raise EngineError(f"Fish Audio speech could not be reached: {exc}", code=ErrorCode.ENGINE_SERVER_ERROR,
                                  retryable=True) from exc
        return decode_to_wav(audio, out_path)


def decode_to_wav(audio: bytes, out_path: Path, *, provider: str = "Fish Audio speech") -> Path:
    """The small compressed clip a cloud voice returns, as WAV (pydub hands it to ffmpeg)."""
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    if not audio:
        raise EngineError(f"{provider} answered with no audio.", retryable=True)
    try:
        clip = AudioSegment.from_file(io.BytesIO(audio), format="mp3")
    except (CouldntDecodeError, IndexError, OSError) as exc:
        raise EngineError(f"{provider} answered something that is not MP3 audio: {exc}", retryable=True) from exc
    if len(clip) == 0:
        raise EngineError(f"{provider} answered an empty clip.", retryable=True)
    clip.export(str(out_path), format="wav")
    return Path(out_path)
