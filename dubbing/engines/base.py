"""The small interfaces every engine back-end implements (DESIGN.md "Engines").

Engines know nothing of Django models: they take paths and these plain dataclasses and return
them. A back-end that cannot do something raises `EngineUnavailable` (not installed, no key) or
`UnsupportedLanguage` (installed, but not for this language or pair) *before* any work starts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from dubbing.engines.languages import language_name


class ErrorCode(StrEnum):
    """Why a dub failed, as a machine code: the engines raise some of these, the pipeline the
    rest; the layers above (dubbing.errors, the API) re-export this one enum."""

    INVALID_OPTIONS = "invalid_options"
    BAD_MEDIA = "bad_media"
    NO_SPEECH = "no_speech"
    SAME_LANGUAGE = "same_language"
    UNSUPPORTED_PAIR = "unsupported_pair"
    LANGUAGE_NOT_DETECTED = "language_not_detected"
    INVALID_SUBTITLES = "invalid_subtitles"
    ENGINE_UNAVAILABLE = "engine_unavailable"
    ENGINE_TIMEOUT = "engine_timeout"
    ENGINE_RATE_LIMITED = "engine_rate_limited"
    ENGINE_SERVER_ERROR = "engine_server_error"
    ENGINE_FAILED = "engine_failed"
    STORAGE_ERROR = "storage_error"
    TIME_LIMIT = "time_limit"
    WORKER_LOST = "worker_lost"
    CANCELLED = "cancelled"
    INTERNAL_ERROR = "internal_error"


def http_error_code(status: int | None) -> ErrorCode:
    """The code for a provider's HTTP failure: rate limited (429), its server's fault (5xx),
    else a plain failure."""
    if status == 429:
        return ErrorCode.ENGINE_RATE_LIMITED
    if (status or 0) >= 500:
        return ErrorCode.ENGINE_SERVER_ERROR
    return ErrorCode.ENGINE_FAILED


class EngineError(Exception):
    """An engine failed. The message is shown to the user as is.

    `code` is an `ErrorCode` and `retryable` says whether the same request may succeed later: a
    provider's 429, 5xx or timeout after the client's own retries (the job then retries with
    backoff), unlike a refusal that would only repeat itself."""

    code = ErrorCode.ENGINE_FAILED
    retryable = False

    def __init__(self, message: str = "", *, code: ErrorCode | None = None, retryable: bool | None = None):
        super().__init__(message)
        if code is not None:
            self.code = ErrorCode(code)
        if retryable is not None:
            self.retryable = retryable


class EngineUnavailable(EngineError):
    """The configured engine cannot run here (package missing, binary missing, no API key)."""

    code = ErrorCode.ENGINE_UNAVAILABLE


class UnsupportedLanguage(EngineError):
    """The engine runs, but not for this language or language pair."""

    code = ErrorCode.UNSUPPORTED_PAIR


@dataclass(frozen=True)
class LanguageGuess:
    """The spoken language of a recording, by the recognizer's probabilities on its first window
    of speech: `language` when the best one reached the recognizer's threshold, else None (ask the
    user); `best` the most likely one either way; `speech` False when no speech was found."""

    language: str | None
    best: str | None
    probability: float
    scores: dict[str, float]  # the five likeliest, best first
    speech: bool = True


class LanguageNotDetected(UnsupportedLanguage):
    """`auto` could not tell the spoken language; `scores` are the recognizer's, best first."""

    def __init__(self, message: str, scores: dict[str, float]) -> None:
        super().__init__(message)
        self.scores = scores

    def __reduce__(self):  # raised in the recognition process, re-raised in the worker
        return type(self), (str(self), self.scores)


class NoPairForDetectedLanguage(UnsupportedLanguage):
    """The spoken language was detected, but nothing installed can take it to the target."""

    def __init__(self, language: str, target: str | None, scores: dict[str, float]) -> None:
        name = language_name(language)
        pair = f"{language}->{target}" if target else f"{language} to this target"
        super().__init__(
            f"Detected {name} ({language}) speech; no installed engine translates {pair}. "
            "Supply --target-subtitles, or use --engines openai.")
        self.language, self.target, self.scores = language, target, scores

    def __reduce__(self):
        return type(self), (self.language, self.target, self.scores)


@dataclass
class Word:
    text: str
    start: float
    end: float
    confidence: float = 1.0
    speaker: str | None = None


@dataclass
class Segment:
    """One subtitle-sized line. `id` survives every later stage: nothing is matched by text."""

    id: str
    start: float
    end: float
    text: str
    speaker: str | None = None
    words: list[Word] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Segment:
        words = [Word(**w) for w in data.get("words", [])]
        return cls(**{**data, "words": words})


@dataclass
class Transcript:
    language: str
    segments: list[Segment]
    confidence: float = 1.0

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def to_dict(self) -> dict:
        return {
            "language": self.language,
            "confidence": self.confidence,
            "segments": [s.to_dict() for s in self.segments],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Transcript:
        return cls(
            language=data["language"],
            confidence=data.get("confidence", 1.0),
            segments=[Segment.from_dict(s) for s in data["segments"]],
        )


@runtime_checkable
class ASREngine(Protocol):
    name: str

    def languages(self) -> set[str]: ...

    def transcribe(self, audio_path: Path, language: str) -> Transcript:
        """16 kHz mono WAV in, timed words and segments out. `language` may be "auto"."""
        ...


@runtime_checkable
class TranslateEngine(Protocol):
    name: str

    def supported_pairs(self) -> set[tuple[str, str]]: ...

    def translate(
        self, segments: list[Segment], source: str, target: str, context: dict
    ) -> dict[str, str]:
        """Returns a translation for every segment id. `context` carries the glossary and the
        seconds each line has (`{"glossary": {...}, "durations": {id: seconds}}`)."""
        ...


@runtime_checkable
class ShorteningEngine(Protocol):
    def shorten(self, segment: Segment, text: str, max_seconds: float, language: str) -> str: ...


@runtime_checkable
class TTSEngine(Protocol):
    name: str

    def languages(self) -> set[str]: ...

    def synthesize(self, text: str, language: str, voice: str | None, out_path: Path) -> Path:
        """Writes speech for `text` to `out_path` (WAV) and returns it."""
        ...


@dataclass(frozen=True)
class VoiceReference:
    """What a clone of one speaker's voice is made from: their cleanest 10-30 s (that speaker
    alone, voice-active) as an audio file, and what is said in it."""

    speaker: str
    audio_path: Path
    text: str
    language: str  # of `text`: the source language
    seconds: float


@runtime_checkable
class VoiceCloningEngine(Protocol):
    """A speech engine that can speak in a clone of a voice it hears in a reference.

    `clone_voice` returns a voice name its `synthesize` takes; `delete_voice` forgets it.
    `clones_persist` says whether the clone lives at the provider (ElevenLabs' instant voice
    cloning: it must be deleted, and a crash can leave it behind) or only in this process (Fish
    Audio's zero-shot references, sent with each request)."""

    clones_persist: bool

    def clone_voice(self, reference: VoiceReference, *, name: str) -> str: ...

    def delete_voice(self, voice: str) -> None: ...


class CloneRefused(EngineError):
    """The provider would not clone this voice (the sample refused, a protected voice, the
    account's voice slots full): the dub goes on with a cast voice for that speaker."""


def can_clone(tts) -> bool:
    return isinstance(tts, VoiceCloningEngine)
