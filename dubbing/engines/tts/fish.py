"""Fish Audio speech through the official SDK (`fish-audio-sdk`, module `fishaudio`): `POST
/v1/tts` with a msgpack body naming the reference voice (`reference_id`); MP3 back, decoded with
pydub (ffmpeg) into the WAV the pipeline expects.

The SDK does not retry: 429 and 5xx are retried here with backoff (honouring Retry-After). A 401
means the key is wrong: EngineUnavailable naming FISH_AUDIO_API_KEY. What still fails after the
retries, or answers something that is not audio, is an EngineError naming the engine.
"""

from __future__ import annotations

import io
from pathlib import Path

import httpx

from dubbing.engines.base import EngineError, EngineUnavailable, ErrorCode, http_error_code
from onevoice.retry import retry_delay, wait
from videos.media.process import ProcessCancelled, cancelled

MODEL = "s1"


class FishAudioTTS:
    name = "fish"

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

    def languages(self) -> set[str]:
        # Fish's models speak many languages from any reference voice; the ones it documents.
        return {"en", "zh", "ja", "ko", "fr", "de", "es", "ar", "ru", "nl", "it", "pl", "pt"}

    def voices(self, language: str) -> list[str]:
        return list(self.reference_voices) if language in self.languages() else []

    def synthesize(self, text: str, language: str, voice: str | None, out_path: Path) -> Path:
        from fishaudio.exceptions import APIError, FishAudioError

        reference = self.reference_voices.get(voice or "", voice) if voice else next(
            iter(self.reference_voices.values()), None)
        attempt = 0
        while True:
            try:
                audio = self.client.tts.convert(text=text, reference_id=reference, format="mp3", model=self.model)
                break
            except APIError as exc:
                if exc.status == 401:
                    raise EngineUnavailable("Fish Audio refused the key (401): check FISH_AUDIO_API_KEY.") from exc
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


def decode_to_wav(audio: bytes, out_path: Path) -> Path:
    """The small compressed clip a cloud voice returns, as WAV (pydub hands it to ffmpeg)."""
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    if not audio:
        raise EngineError("Fish Audio speech answered with no audio.", retryable=True)
    try:
        clip = AudioSegment.from_file(io.BytesIO(audio), format="mp3")
    except (CouldntDecodeError, IndexError, OSError) as exc:
        raise EngineError(f"Fish Audio speech answered something that is not MP3 audio: {exc}",
                          retryable=True) from exc
    if len(clip) == 0:
        raise EngineError("Fish Audio speech answered an empty clip.", retryable=True)
    clip.export(str(out_path), format="wav")
    return Path(out_path)
