"""Cloned voices for a dub with `voice_cloning` (docs/api.md "Voice cloning"): each speaker's
reference (their cleanest 10-30 s, alone and voice-active, with what they say in it) and the
clones made from it for one run of the pipeline.

The reference is chosen from the lines alone (`choose_reference`: cheap, so the synthesize
stage's key can name it), and its audio is cut only when a clone is really made: from the
separated voice stem when the dub has one, else from the extracted audio. A speaker with under
MIN_SECONDS of such speech gets no clone and keeps their cast voice, and the report says why.

`VoiceClones` makes each speaker's clone the first time a line needs it and deletes every clone
it made when the run ends (`close`, called by the runner whatever happened). Engines whose
clones live at the provider (ElevenLabs) are told a name first, through a `CloneLedger` that the
caller makes durable (the jobs record a row before the provider is asked), so that a crash
between the two leaves something a sweep can find and delete.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf

from dubbing.engines.base import CloneRefused, EngineError, Segment, VoiceReference
from dubbing.pipeline.workspace import Workspace, digest, temp_path_for
from videos.media.process import run_process

MIN_SECONDS = 3.0  # under this much clean speech, no clone is attempted
TARGET_SECONDS = 10.0  # the cleanest lines are taken until the reference has this much...
MAX_SECONDS = 30.0  # ...and never more than this
MIN_LINE_SECONDS = 0.5
OVERLAP_MARGIN = 0.05  # seconds: a line this close to another speaker's counts as overlapping
PAD_SECONDS = 0.05  # kept around each voice-active span
GAP_SECONDS = 0.15  # silence between two lines in the reference
HANDLE_PREFIX = "clone:"

# Why a speaker keeps a cast voice (report.json "cloning" and the synthesize step's detail).
TOO_LITTLE_SPEECH = "too_little_speech"
REFUSED = "refused"
CHOSEN_VOICE = "voice_chosen"


@dataclass(frozen=True)
class ReferencePlan:
    """One speaker's reference as chosen from the lines: which parts of which lines, and what
    is said in them. `spans` are (start, end) seconds on the source timeline, in order."""

    speaker: str
    lines: list[str] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    text: str = ""
    seconds: float = 0.0  # voice-active seconds

    @property
    def enough(self) -> bool:
        return self.seconds >= MIN_SECONDS

    @property
    def handle(self) -> str:
        """The voice name the synthesize stage keys this speaker's clips by: it changes when the
        reference does, never with the provider's id of one run's clone."""
        return f"{HANDLE_PREFIX}{self.speaker}:{digest(self.lines, self.spans, self.text)[:12]}"

    def to_dict(self) -> dict:
        return asdict(self)


def is_clone(voice: str | None) -> bool:
    return bool(voice) and voice.startswith(HANDLE_PREFIX)


def _overlaps(a: Segment, b: Segment) -> bool:
    return a.start < b.end + OVERLAP_MARGIN and b.start < a.end + OVERLAP_MARGIN


def _active_spans(seg: Segment, regions: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if not regions:
        return [(seg.start, seg.end)]
    spans = [(max(seg.start, a), min(seg.end, b)) for a, b in regions if a < seg.end and b > seg.start]
    return [(round(a, 3), round(b, 3)) for a, b in spans if b - a > 0.05]


def choose_reference(speaker: str, segments: list[Segment], regions: list[tuple[float, float]]) -> ReferencePlan:
    """The speaker's cleanest lines, `TARGET_SECONDS` to `MAX_SECONDS` of voice-active speech:
    only lines no other speaker's line overlaps, ranked by the share of the line that is voice
    (the VAD's regions), the longest first among equals; cut to their voice-active spans."""
    mine = [s for s in segments if (s.speaker or "speaker_1") == speaker and s.text.strip()]
    others = [s for s in segments if (s.speaker or "speaker_1") != speaker]
    ranked = []
    for seg in mine:
        if seg.end - seg.start < MIN_LINE_SECONDS or any(_overlaps(seg, o) for o in others):
            continue
        spans = _active_spans(seg, regions)
        active = sum(b - a for a, b in spans)
        if active > 0:
            ranked.append((active / (seg.end - seg.start), active, seg, spans))
    ranked.sort(key=lambda item: (-round(item[0], 2), -item[1], item[2].start))
    chosen, total = [], 0.0
    for _share, active, seg, spans in ranked:
        if total >= TARGET_SECONDS:
            break
        if total + active > MAX_SECONDS:
            continue
        chosen.append((seg, spans))
        total += active
    chosen.sort(key=lambda item: item[0].start)
    return ReferencePlan(speaker=speaker, lines=[s.id for s, _ in chosen],
                         spans=[span for _, spans in chosen for span in spans],
                         text=" ".join(s.text.strip() for s, _ in chosen), seconds=round(total, 3))


def reference_plans(segments: list[Segment], regions: list[tuple[float, float]]) -> dict[str, ReferencePlan]:
    speakers = list(dict.fromkeys(s.speaker or "speaker_1" for s in segments))
    return {speaker: choose_reference(speaker, segments, regions) for speaker in speakers}


def cut_reference(plan: ReferencePlan, source_wav: Path, out: Path) -> Path:
    """The plan's spans of `source_wav` (mono, a short silence between lines) as MP3 at `out`."""
    info = sf.info(str(source_wav))
    rate = info.samplerate
    pieces: list[np.ndarray] = []
    gap = np.zeros(int(GAP_SECONDS * rate), dtype="float32")
    for start, end in plan.spans:
        first = max(0, int((start - PAD_SECONDS) * rate))
        last = min(info.frames, int((end + PAD_SECONDS) * rate))
        if last <= first:
            continue
        samples, _ = sf.read(str(source_wav), start=first, stop=last, dtype="float32", always_2d=True)
        pieces += [samples.mean(axis=1), gap]
    wav = temp_path_for(out.with_suffix(".wav"))
    tmp = temp_path_for(out)
    try:
        sf.write(str(wav), np.concatenate(pieces) if pieces else gap, rate, subtype="PCM_16")
        done = run_process(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-ac", "1", "-c:a", "libmp3lame",
                            "-b:a", "128k", "-f", "mp3", str(tmp)])
        if done.returncode != 0:
            raise EngineError(f"The reference of {plan.speaker} could not be encoded: "
                              f"{done.stderr.decode(errors='replace')[-300:]}")
        tmp.replace(out)
    finally:
        wav.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return out


class CloneLedger(Protocol):
    """Where a run's clones at the provider are written down before they are used (the jobs:
    a row per clone, which the sweep reads)."""

    def name(self, speaker: str) -> str:
        """A name for the provider, unique to this clone."""
        ...

    def creating(self, name: str, speaker: str) -> None:
        """Called before the provider is asked to make the clone `name`."""
        ...

    def created(self, name: str, voice: str) -> None: ...

    def deleted(self, name: str, voice: str) -> None: ...

    def delete_failed(self, name: str, voice: str, error: str) -> None: ...


class LocalLedger:
    """The ledger of `manage.py dub`: names only (nothing outlives the process to sweep)."""

    def name(self, speaker: str) -> str:
        return f"onevoice-{speaker}-{uuid.uuid4().hex[:10]}"

    def creating(self, name: str, speaker: str) -> None:
        pass

    def created(self, name: str, voice: str) -> None:
        pass

    def deleted(self, name: str, voice: str) -> None:
        pass

    def delete_failed(self, name: str, voice: str, error: str) -> None:
        pass


@dataclass
class _Live:
    name: str
    voice: str


class VoiceClones:
    """The clones of one pipeline run. `plans` and the audio to cut them from are given by the
    synthesize stage (`prepare`); `engine_voice(handle)` makes the clone on first use (under a
    lock: lines run concurrently) and returns the engine's voice for it; `close()` deletes them."""

    def __init__(self, tts, *, ledger: CloneLedger | None = None) -> None:
        self.tts = tts
        self.language = ""  # of the references' text: the source language, once known
        self.ledger = ledger or LocalLedger()
        self._plans: dict[str, ReferencePlan] = {}  # handle -> plan
        self._ws: Workspace | None = None
        self._source: Callable[[], Path] | None = None
        self._live: dict[str, _Live] = {}
        self.refused: dict[str, str] = {}  # handle -> the provider's words
        self._lock = threading.Lock()

    def prepare(self, plans: Iterable[ReferencePlan], *, ws: Workspace, source: Callable[[], Path],
                language: str) -> None:
        """The references this run may clone from; `source()` gives the audio to cut them from
        (asked only when a clone is made); `language` is what they speak."""
        self._plans = {plan.handle: plan for plan in plans if plan.enough}
        self.language = language
        self._ws, self._source = ws, source

    def reference_file(self, plan: ReferencePlan) -> Path:
        """The plan's audio in the workspace (cut once, saved to the store)."""
        path = self._ws.path("references", f"{plan.handle.split(':', 2)[2]}-{plan.speaker}.mp3")
        if not self._ws.ensure(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            cut_reference(plan, self._source(), path)
            self._ws.save(path)
        return path

    def engine_voice(self, voice: str | None) -> str | None:
        if not is_clone(voice):
            return voice
        with self._lock:
            if voice in self.refused:
                raise CloneRefused(self.refused[voice])
            live = self._live.get(voice)
            if live is None:
                live = self._live[voice] = self._make(voice)
            return live.voice

    def _make(self, handle: str) -> _Live:
        plan = self._plans.get(handle)
        if plan is None:  # a clip keyed by a reference this run did not plan: a bug, not the user's
            raise EngineError(f"No reference was prepared for the cloned voice {handle}.")
        reference = VoiceReference(speaker=plan.speaker, audio_path=self.reference_file(plan), text=plan.text,
                                   language=self.language, seconds=plan.seconds)
        name = self.ledger.name(plan.speaker)
        persists = bool(getattr(self.tts, "clones_persist", True))
        if persists:
            self.ledger.creating(name, plan.speaker)
        try:
            voice = self.tts.clone_voice(reference, name=name)
        except CloneRefused as exc:
            self.refused[handle] = str(exc)
            raise
        if persists:
            self.ledger.created(name, voice)
        return _Live(name=name, voice=voice)

    def refuse(self, handle: str, reason: str) -> None:
        with self._lock:
            self.refused[handle] = reason

    def close(self) -> list[str]:
        """Delete every clone this run made; the failures' messages (the ledger keeps them for
        the sweep), never raised: the dub's outcome does not depend on them."""
        failures = []
        with self._lock:
            live, self._live = list(self._live.values()), {}
        persists = bool(getattr(self.tts, "clones_persist", True))
        for clone in live:
            try:
                self.tts.delete_voice(clone.voice)
            except Exception as exc:  # noqa: BLE001 - a failed delete is left to the sweep
                failures.append(f"{clone.name}: {exc}")
                if persists:
                    self.ledger.delete_failed(clone.name, clone.voice, str(exc))
                continue
            if persists:
                self.ledger.deleted(clone.name, clone.voice)
        return failures
