"""`DubOptions`: every choice a dub takes, shared by `manage.py dub` and the jobs API."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

# "separate": the music-and-effects stem (the voice taken out), lowered a little under each line;
# "duck": the original audio, voice included, lowered under speech; "keep"; "drop": silence.
BACKGROUNDS = ("separate", "duck", "keep", "drop")
SUBTITLE_MODES = ("soft", "burned", "none")
ENGINE_SETS = ("local", "openai")
MIN_SPEED, MAX_SPEED = 1.0, 1.5
DEFAULT_MAX_SPEED = 1.3  # how fast a line may be sped up to fit, unless the dub says otherwise
DEFAULT_DUCK_DB = -18.0  # the original audio under the dub with background "duck" (DUCK_DB)
GLOSSARY_MAX_TERMS = 500  # a glossary's terms, and each side's characters: bounded work per line
GLOSSARY_MAX_CHARS = 200
DEFAULT_SEPARATE_DUCK_DB = -6.0  # the music-and-effects stem while a line plays, background "separate"
MAX_SPEAKERS = 10  # num_speakers: 0 detects the count, else 1 to MAX_SPEAKERS


class OptionsError(ValueError):
    """An option is out of range. `field` names the option at fault and `reason` says what is
    wrong with it (`required`, `choice`, `range`, `same_language`), so callers never read the
    English message to find them."""

    def __init__(self, message: str, *, field: str, reason: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class DubOptions:
    target_language: str
    source_language: str = "auto"
    background: str = "duck"
    subtitles: str = "soft"
    voice: str | None = None
    max_speed: float = DEFAULT_MAX_SPEED
    glossary: dict[str, str] = field(default_factory=dict)
    engines: str | None = None  # None: the deployment's DUBBING_ENGINES setting
    source_subtitles: str | None = None  # SRT/VTT text supplied by the user
    target_subtitles: str | None = None
    # speaker ("speaker_1"...) -> voice, the user's choice (API.md "Speakers"); others are assigned.
    speaker_voices: dict[str, str] = field(default_factory=dict)
    num_speakers: int = 0  # how many people speak; 0: detected from their voices
    # Speak each speaker in a clone of their own voice (engines that can clone; docs/api.md
    # "Voice cloning"). Only with the user's consent; a consent without cloning is not kept.
    voice_cloning: bool = False
    voice_cloning_consent: bool = False

    def __post_init__(self) -> None:
        if not self.target_language:
            raise OptionsError("target_language is required.", field="target_language", reason="required")
        if self.background not in BACKGROUNDS:
            raise OptionsError(f"background must be one of {', '.join(BACKGROUNDS)}.", field="background",
                               reason="choice")
        if self.subtitles not in SUBTITLE_MODES:
            raise OptionsError(f"subtitles must be one of {', '.join(SUBTITLE_MODES)}.", field="subtitles",
                               reason="choice")
        if not (MIN_SPEED <= float(self.max_speed) <= MAX_SPEED):
            raise OptionsError(f"max_speed must be between {MIN_SPEED} and {MAX_SPEED}.", field="max_speed",
                               reason="range")
        if (isinstance(self.num_speakers, bool) or not isinstance(self.num_speakers, int)
                or not 0 <= self.num_speakers <= MAX_SPEAKERS):
            raise OptionsError(f"num_speakers must be a whole number from 0 (detect) to {MAX_SPEAKERS}.",
                               field="num_speakers", reason="range")
        if self.engines is not None and self.engines not in ENGINE_SETS:
            raise OptionsError(f"engines must be one of {', '.join(ENGINE_SETS)}.", field="engines", reason="choice")
        if self.source_language == self.target_language:
            raise OptionsError("The source and target languages are the same.", field="target_language",
                               reason="same_language")
        for name in ("voice_cloning", "voice_cloning_consent"):
            if not isinstance(getattr(self, name), bool):
                raise OptionsError(f"{name} must be true or false.", field=name, reason="choice")
        if self.voice_cloning and not self.voice_cloning_consent:
            raise OptionsError("Cloning voices needs the consent of whoever asks (voice_cloning_consent).",
                               field="voice_cloning_consent", reason="consent_required")
        if self.voice_cloning_consent and not self.voice_cloning:
            object.__setattr__(self, "voice_cloning_consent", False)  # a consent to nothing: not kept

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DubOptions:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def fingerprint(self, *keys: str) -> str:
        """A stable hash of the named options (all when none are named)."""
        data = self.to_dict()
        chosen = {k: data[k] for k in (keys or sorted(data))}
        return hashlib.sha256(json.dumps(chosen, sort_keys=True, default=str).encode()).hexdigest()[:16]
