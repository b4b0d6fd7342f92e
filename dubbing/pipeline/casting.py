"""Casting: which voice speaks each speaker (DESIGN.md "Engines", API.md "Voices and cloning").

Each speaker's default voice is the free voice closest to how they sound: the distance is the
difference of median pitch in semitones, a quarter of the differences of the pitch range's ends
(10th and 90th percentiles), and the voice character (1 - the cosine of the speaker's mean
d-vector and the voice's) weighted as CHARACTER_SEMITONES semitones. Speakers are matched to
voices one to one by the least total distance (Hungarian), the speakers who talk longest first
when there are more speakers than voices; the rest then reuse the closest voice, and say so.

Voices are measured once, offline (scripts/voice_profiles.py renders a fixed sentence with each
and measures it like a speaker): dubbing/engines/tts/voice_profiles.json ships the figures. An
engine whose voices are not in it (a remote one) gets its voices in its own order, and the reason
says they were not measured.

The cast depends only on the speakers, the voices and the dub's `voice` (the first speaker's),
never on the user's choices per speaker, which are applied on top: changing one speaker's voice
never moves another's, so a re-render changes only that speaker's lines.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from dubbing.engines.base import Segment, TTSEngine
from dubbing.engines.speakers import SpeakerProfile

VOICE_PROFILES = Path(__file__).resolve().parents[1] / "engines" / "tts" / "voice_profiles.json"
CHARACTER_SEMITONES = 6.0
RANGE_WEIGHT = 0.25
# A voice of another engine than the language's own (chosen as the most intelligible, see "Engines
# measured" in docs/engines.md) costs as much as half an octave of pitch: it is cast only where
# the own engine has no voice near the speaker (English: Piper's one man for a man, another
# engine's voice for a woman, 14 semitones above him).
OTHER_ENGINE_SEMITONES = 6.0


@dataclass
class Cast:
    """One speaker's voice and why. `reason` is a code the pages translate (`chosen`: the user's
    choice; `dub_voice`: the dub's voice option; `closest`: the free voice nearest in pitch and
    character; `reused`: more speakers than voices, the nearest one shared; `unmeasured`: the
    engine's voices are not measured, given in its order; `one_voice`: the engine has one voice);
    `voice_reason` says the same in a plain English sentence."""

    voice: str | None
    reason: str
    voice_reason: str
    seconds: float
    segments: int
    speaker_hz: float | None = None
    voice_hz: float | None = None
    shared_with: list[str] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=1)
def shipped_voice_profiles() -> dict[str, SpeakerProfile]:
    try:
        data = json.loads(VOICE_PROFILES.read_text())
    except FileNotFoundError:
        return {}
    return {name: SpeakerProfile.from_dict(p) for name, p in data.get("voices", {}).items()}


def _semitones(a: float | None, b: float | None) -> float:
    if not a or not b:
        return 0.0
    return abs(12 * math.log2(a / b))


def distance(speaker: SpeakerProfile, voice: SpeakerProfile) -> float:
    d = _semitones(speaker.f0_median, voice.f0_median)
    d += RANGE_WEIGHT * (_semitones(speaker.f0_low, voice.f0_low) + _semitones(speaker.f0_high, voice.f0_high))
    if speaker.embedding and voice.embedding:
        d += CHARACTER_SEMITONES * (1 - float(np.dot(speaker.embedding, voice.embedding)))
    return d


def candidate_voices(tts: TTSEngine, language: str, needed: int, *,
                     beside: str | None = None) -> tuple[list[str], set[str]]:
    """The voices to cast from, and which of them are the own engine's: the language's own engine
    (its first is its default), or the engine that speaks `beside` (the dub's chosen voice: its
    other speakers stay in that engine); that engine's voices alone when it has `needed`, else
    every voice listed for the language."""
    lister = getattr(tts, "voices", None)
    listed = list(lister(language)) if callable(lister) else []
    engine_for = getattr(tts, "engine_for", None)
    if not (callable(engine_for) and listed):
        return listed, set(listed)
    own = getattr(engine_for(language, beside) if beside else engine_for(language), "voices", None)
    # In the order listed for the language, whose first is its default (Korean's measured-best
    # Kokoro voice is not Kokoro's own first), so a speaker cast in order gets the default.
    owned = set(own(language) if callable(own) else [])
    primary = [v for v in listed if v in owned]
    if len(primary) >= needed:
        return primary, set(primary)
    return listed, set(primary)


def _hz(profile: SpeakerProfile | None) -> float | None:
    return profile.f0_median if profile is not None else None


def cast_voices(speakers: list[str], profiles: dict[str, SpeakerProfile], voices: list[str],
                voice_profiles: dict[str, SpeakerProfile], *, seconds: dict[str, float],
                segments: dict[str, int], dub_voice: str | None = None,
                chosen: dict[str, str] | None = None, own: set[str] | None = None) -> dict[str, Cast]:
    """A Cast per speaker (in `speakers` order: the first is the one who spoke first). `own`:
    the voices of the language's own engine (None: all of them); the others cost
    OTHER_ENGINE_SEMITONES more."""
    chosen = chosen or {}
    casts: dict[str, Cast] = {}

    def make(speaker: str, voice: str | None, reason: str, sentence: str, shared: list[str] | None = None) -> Cast:
        return Cast(voice=voice, reason=reason, voice_reason=sentence,
                    seconds=round(float(seconds.get(speaker, 0.0)), 3),
                    segments=segments.get(speaker, 0), speaker_hz=_hz(profiles.get(speaker)),
                    voice_hz=_hz(voice_profiles.get(voice or "")), shared_with=shared)

    todo = list(speakers)
    taken: list[str] = []
    if dub_voice and todo:
        first = todo.pop(0)
        casts[first] = make(first, dub_voice, "dub_voice", "The voice chosen for this dub.")
        taken.append(dub_voice)
    free = [v for v in voices if v not in taken]
    if not voices:
        for speaker in todo:
            casts[speaker] = make(speaker, None, "one_voice", "The speech engine has one voice for this language.")
        todo = []
    measured = [v for v in free if v in voice_profiles]
    known = {s for s in todo if profiles.get(s) is not None and profiles[s].f0_median}
    if todo and measured and known:
        _cast_measured(todo, profiles, measured, voice_profiles, seconds, casts, make, own)
    else:
        for index, speaker in enumerate(todo):
            pool = free or voices
            voice = pool[index % len(pool)]
            shared = index >= len(pool)
            if shared:
                casts[speaker] = make(speaker, voice, "reused", "More speakers than voices, so this voice is shared.")
            elif not measured:
                casts[speaker] = make(speaker, voice, "unmeasured",
                                      "This engine's voices have not been measured, so they are given in its order.")
            else:
                casts[speaker] = make(speaker, voice, "unmeasured",
                                      "The speakers' voices were not measured, so voices are given in the engine's "
                                      "order.")
    for speaker, voice in chosen.items():
        if speaker in casts:
            casts[speaker] = make(speaker, voice, "chosen", "Chosen for this speaker.")
    for speaker, cast in casts.items():
        others = [s for s, c in casts.items() if s != speaker and c.voice == cast.voice and cast.voice is not None]
        cast.shared_with = others or None
    return {s: casts[s] for s in speakers}


def _cast_measured(todo, profiles, measured, voice_profiles, seconds, casts, make, own) -> None:
    from scipy.optimize import linear_sum_assignment

    # A speaker never measured (too little speech) is costed as the average speaker.
    fallback = SpeakerProfile(seconds=0.0, f0_median=None, f0_low=None, f0_high=None, embedding=None)
    cost = np.array([[distance(profiles.get(s) or fallback, voice_profiles[v])
                      + (OTHER_ENGINE_SEMITONES if own is not None and v not in own else 0.0)
                      for v in measured] for s in todo])
    # The speakers who talk longest get distinct voices first when there are not enough.
    ranked = sorted(range(len(todo)), key=lambda i: -seconds.get(todo[i], 0.0))
    distinct, rest = ranked[:len(measured)], ranked[len(measured):]
    rows, cols = linear_sum_assignment(cost[distinct])
    for r, c in zip(rows, cols):
        speaker, voice = todo[distinct[r]], measured[c]
        casts[speaker] = make(speaker, voice, "closest", _closest_sentence(profiles.get(speaker), voice_profiles[voice]))
    for i in rest:
        speaker = todo[i]
        voice = measured[int(np.argmin(cost[i]))]
        casts[speaker] = make(speaker, voice, "reused",
                              "More speakers than voices, so the closest voice is shared with another speaker.")


def _closest_sentence(speaker: SpeakerProfile | None, voice: SpeakerProfile) -> str:
    if speaker is None or not speaker.f0_median:
        return "The closest free voice (this speaker's pitch could not be measured)."
    return (f"The free voice closest in pitch and character: the speaker's median pitch is "
            f"{speaker.f0_median:.0f} Hz, the voice's {voice.f0_median:.0f} Hz.")


def speakers_in_order(segments: list[Segment]) -> list[str]:
    return list(dict.fromkeys(seg.speaker or "speaker_1" for seg in segments))


def cast_for(tts: TTSEngine, language: str, segments: list[Segment], profiles: dict[str, SpeakerProfile], *,
             dub_voice: str | None, chosen: dict[str, str] | None) -> dict[str, Cast]:
    """The cast of a dub's lines (what the synthesize stage speaks and the report gives)."""
    speakers = speakers_in_order(segments)
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    for seg in segments:
        label = seg.speaker or "speaker_1"
        seconds[label] = seconds.get(label, 0.0) + max(0.0, seg.end - seg.start)
        counts[label] = counts.get(label, 0) + 1
    needed = len(speakers) - (1 if dub_voice else 0)
    voices, own = candidate_voices(tts, language, needed, beside=dub_voice)
    return cast_voices(speakers, profiles, voices, shipped_voice_profiles(), seconds=seconds, segments=counts,
                       dub_voice=dub_voice, chosen=chosen, own=own)
