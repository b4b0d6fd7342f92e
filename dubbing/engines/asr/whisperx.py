"""WhisperX on GPU workers: faster-whisper transcription, wav2vec2 word alignment and, when a
Hugging Face token is given, pyannote diarization (speaker labels).

whisperx and its torch stack are an optional extra (requirements-gpu.txt) installed only on GPU
workers; the package is imported when this engine transcribes, never at import time, so the rest
of the project runs without it. Model weights must already be in the worker's cache
(`model_dir`, HF_HOME): nothing is downloaded while a job runs.

`whisperx_result_to_transcript` is a pure function of whisperx's documented result shape, so the
conversion is tested without whisperx installed.
"""

from __future__ import annotations

import logging
import statistics
from pathlib import Path

from dubbing.engines.base import (
    EngineUnavailable,
    Segment,
    Transcript,
    UnsupportedLanguage,
    Word,
)
from dubbing.engines.openai_languages import WHISPER_LANGUAGES

logger = logging.getLogger(__name__)


class WhisperXASR:
    name = "whisperx"
    concurrency = 1  # one GPU model per worker process

    def __init__(
        self,
        device: str = "cuda",
        model: str = "large-v3",
        *,
        compute_type: str = "float16",
        batch_size: int = 16,
        model_dir: str | None = None,
        hf_token: str | None = None,
    ) -> None:
        self.device = device
        self.model_name = model
        self.compute_type = compute_type
        self.batch_size = batch_size
        self.model_dir = model_dir
        self.hf_token = hf_token
        self._model = None

    def languages(self) -> set[str]:
        return set(WHISPER_LANGUAGES)

    def _whisperx(self):
        try:
            import whisperx
        except ImportError as exc:
            raise EngineUnavailable(
                "The whisperx engine needs the GPU extra: pip install -r requirements-gpu.txt."
            ) from exc
        return whisperx

    def transcribe(self, audio_path: Path, language: str) -> Transcript:
        if language != "auto" and language not in WHISPER_LANGUAGES:
            raise UnsupportedLanguage(f"whisperx does not support {language!r}.")
        whisperx = self._whisperx()
        if self._model is None:
            # local_files_only: a missing model is a deployment error, never a download mid-job.
            try:
                self._model = whisperx.load_model(
                    self.model_name, self.device, compute_type=self.compute_type,
                    download_root=self.model_dir, local_files_only=True,
                )
            except (OSError, ValueError) as exc:
                raise EngineUnavailable(
                    f"The whisper model {self.model_name!r} is not in this worker's model cache "
                    f"({exc}); fetch it when the GPU image is built."
                ) from exc
        audio = whisperx.load_audio(str(audio_path))
        result = self._model.transcribe(
            audio, batch_size=self.batch_size, language=None if language == "auto" else language
        )
        detected = result.get("language") or language
        from whisperx import alignment

        has_aligner = detected in alignment.DEFAULT_ALIGN_MODELS_TORCH or \
            detected in alignment.DEFAULT_ALIGN_MODELS_HF
        if not has_aligner:
            # No alignment model for this language: segment times only; words are interpolated.
            logger.warning("whisperx has no alignment model for %s", detected)
        else:
            try:
                align_model, metadata = whisperx.load_align_model(
                    language_code=detected, device=self.device, model_dir=self.model_dir,
                    model_cache_only=True,
                )
            except ValueError as exc:
                raise EngineUnavailable(
                    f"The alignment model for {detected!r} is not in this worker's model cache "
                    f"({exc}); fetch it when the GPU image is built."
                ) from exc
            aligned = whisperx.align(result["segments"], align_model, metadata, audio, self.device,
                                     return_char_alignments=False)
            result = {**aligned, "language": detected}
        if self.hf_token:
            from whisperx.diarize import DiarizationPipeline

            diarize = DiarizationPipeline(token=self.hf_token, device=self.device,
                                          cache_dir=self.model_dir)
            result = {**whisperx.assign_word_speakers(diarize(audio), result),
                      "language": detected}
        return whisperx_result_to_transcript(result, detected)


def whisperx_result_to_transcript(result: dict, language: str) -> Transcript:
    """whisperx's result — `{"segments": [{"start", "end", "text", "speaker"?, "words": [{"word",
    "start"?, "end"?, "score"?, "speaker"?}]}], "language"?}` — to our Transcript.

    Words the aligner could not place (digits, symbols, unknown characters) come without start
    and end: they get times interpolated between their placed neighbours (or the segment's
    bounds), shared in proportion to their length, so every word has a time and times never go
    backwards. A segment without a speaker takes its words' most common one.
    """
    segments: list[Segment] = []
    scores: list[float] = []
    raw_segments = sorted(
        (s for s in result.get("segments") or [] if str(s.get("text", "")).strip()),
        key=lambda s: float(s.get("start") or 0.0),
    )
    for raw in raw_segments:
        start = float(raw.get("start") or 0.0)
        end = max(float(raw.get("end") or start), start)
        text = " ".join(str(raw["text"]).split())
        raw_words = [w for w in raw.get("words") or [] if str(w.get("word", "")).strip()]
        if not raw_words:
            raw_words = [{"word": token} for token in text.split()]
        words = _timed_words(raw_words, start, end)
        for word, source in zip(words, raw_words):
            if isinstance(source.get("score"), (int, float)):
                scores.append(float(source["score"]))
            word.speaker = source.get("speaker") or raw.get("speaker")
        speaker = raw.get("speaker") or _most_common([w.speaker for w in words])
        segments.append(Segment(
            id=f"s{len(segments) + 1:04d}",
            start=min(start, words[0].start) if words else start,
            end=max(end, words[-1].end) if words else end,
            text=text,
            speaker=speaker,
            words=words,
        ))
    confidence = statistics.fmean(scores) if scores else 1.0
    return Transcript(language=result.get("language") or language, segments=segments,
                      confidence=round(confidence, 4))


def _timed_words(raw_words: list[dict], start: float, end: float) -> list[Word]:
    times: list[tuple[float, float] | None] = []
    for w in raw_words:
        ws, we = w.get("start"), w.get("end")
        if isinstance(ws, (int, float)) and isinstance(we, (int, float)):
            times.append((float(ws), max(float(we), float(ws))))
        else:
            times.append(None)
    index = 0
    while index < len(times):
        if times[index] is not None:
            index += 1
            continue
        run_end = index
        while run_end < len(times) and times[run_end] is None:
            run_end += 1
        left = times[index - 1][1] if index > 0 else start
        right = times[run_end][0] if run_end < len(times) else end
        right = max(right, left)
        weights = [len(str(raw_words[i]["word"]).strip()) + 1 for i in range(index, run_end)]
        total = sum(weights)
        cursor = left
        for offset, weight in enumerate(weights):
            span = (right - left) * weight / total
            times[index + offset] = (round(cursor, 3), round(cursor + span, 3))
            cursor += span
        index = run_end
    words = []
    previous_start = start
    for raw, (word_start, word_end) in zip(raw_words, times):
        word_start = max(word_start, previous_start)  # never backwards
        words.append(Word(
            text=str(raw["word"]).strip(),
            start=word_start,
            end=max(word_end, word_start),
            confidence=float(raw["score"]) if isinstance(raw.get("score"), (int, float)) else 0.0,
        ))
        previous_start = word_start
    return words


def _most_common(values: list[str | None]) -> str | None:
    present = [v for v in values if v]
    return max(sorted(set(present)), key=present.count) if present else None
