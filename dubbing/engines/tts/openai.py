"""Speech through OpenAI's `/audio/speech` (WAV out).

The clip is written to a temporary file next to `out_path` and renamed into place only once it
is complete and checked, so a clip that exists is always whole: a run killed mid-request leaves
no half file behind that a resumed run would take for finished.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

from dubbing.engines.base import EngineError, UnsupportedLanguage
from dubbing.engines.openai_client import OpenAIClient, shared_client
from dubbing.engines.openai_languages import WHISPER_LANGUAGES, language_name

# The speech API has no language parameter (it reads the text); models that take instructions
# are told the language so that short or ambiguous lines get the right accent.
_MODELS_WITH_INSTRUCTIONS = ("gpt-4o-mini-tts", "gpt-4o-tts")
MAX_INPUT_CHARS = 4096


class OpenAITTS:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str = "gpt-4o-mini-tts",
        voice: str = "alloy",
        concurrency: int = 8,
        *,
        client: OpenAIClient | None = None,
    ) -> None:
        self.client = client or shared_client(
            base_url=base_url, api_key=api_key, concurrency=concurrency
        )
        self.model = model
        self.voice = voice
        self.concurrency = concurrency

    def languages(self) -> set[str]:
        return set(WHISPER_LANGUAGES)

    def voices(self, language: str) -> list[str]:
        """OpenAI's built-in voices, which speak every language; the configured one first."""
        names = ["alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer"]
        return [self.voice] + [n for n in names if n != self.voice] if language in self.languages() else []

    def synthesize(self, text: str, language: str, voice: str | None, out_path: Path) -> Path:
        out_path = Path(out_path)
        if language.split("-")[0].lower() not in WHISPER_LANGUAGES:
            raise UnsupportedLanguage(f"OpenAI speech does not support {language!r}.")
        text = " ".join(text.split())
        if not text:
            raise EngineError("There is no text to speak.")
        if len(text) > MAX_INPUT_CHARS:
            raise EngineError(f"A line of {len(text)} characters is too long to speak "
                              f"(at most {MAX_INPUT_CHARS}).")
        payload = {
            "model": self.model,
            "input": text,
            "voice": voice or self.voice,
            "response_format": "wav",
        }
        if self.model.startswith(_MODELS_WITH_INSTRUCTIONS):
            payload["instructions"] = f"Speak in {language_name(language)}, clearly and naturally."
        audio = self.client.post_for_bytes(
            "/audio/speech", payload, what=f"OpenAI speech for {text[:40]!r}"
        )
        if len(audio) < 44 or audio[:4] != b"RIFF" or audio[8:12] != b"WAVE":
            raise EngineError(f"OpenAI speech for {text[:40]!r} did not return WAV audio.")
        audio = fix_streamed_wav_sizes(audio)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".part",
                                        dir=out_path.parent)
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(audio)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, out_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return out_path


def fix_streamed_wav_sizes(audio: bytes) -> bytes:
    """A WAV written while streaming cannot know its length, so its RIFF and data sizes hold
    placeholders (0 or 0xFFFFFFFF) that some readers refuse. They are set from the bytes we got."""
    offset = 12
    while offset + 8 <= len(audio):
        chunk_id = audio[offset:offset + 4]
        (size,) = struct.unpack_from("<I", audio, offset + 4)
        if chunk_id == b"data":
            actual = len(audio) - offset - 8
            if size in (0, 0xFFFFFFFF) or size > actual:
                audio = (audio[:4] + struct.pack("<I", len(audio) - 8) + audio[8:offset + 4]
                         + struct.pack("<I", actual) + audio[offset + 8:])
            return audio
        offset += 8 + size + (size & 1)
    raise EngineError("The speech audio has no WAV data chunk.")
