"""English recognition with pocketsphinx (its acoustic and language models ship in the wheel).

Word times come from the decoder's segment iterator (`Decoder.seg()`), in frames of
`frate` per second, offset by the chunk's start so they are absolute times in the file.
"""

from __future__ import annotations

import math
import re

from dubbing.engines.asr.chunked import ChunkedRecognizer, ChunkJob, read_chunk_pcm16
from dubbing.engines.base import EngineUnavailable

_ALTERNATE = re.compile(r"\(\d+\)$")
_decoder = None


def _init_decoder() -> None:
    global _decoder
    if _decoder is None:
        from pocketsphinx import Decoder

        _decoder = Decoder(samprate=16000, loglevel="FATAL")


def _is_filler(word: str) -> bool:
    return word in ("<s>", "</s>", "<sil>") or word.startswith(("[", "++", "+"))


def recognize_chunk(job: ChunkJob) -> dict:
    """Words of one chunk, and the chunk's language score (the same decode serves both)."""
    _init_decoder()
    path, start, end = job
    pcm = read_chunk_pcm16(path, start, end)
    frames = len(pcm) / 2 / 160
    if len(pcm) < 3200:  # under 0.1 s: nothing to say
        return {"words": [], "score": 0.0, "frames": 0.0}
    _decoder.start_utt()
    _decoder.process_raw(pcm, full_utt=True)
    _decoder.end_utt()
    hyp = _decoder.hyp()
    score = math.log(max(hyp.prob, 1e-300)) / frames if hyp is not None else -1.0
    frate = float(_decoder.config["frate"])
    words = []
    for seg in _decoder.seg():
        if _is_filler(seg.word):
            continue
        words.append(
            {
                "text": _ALTERNATE.sub("", seg.word),
                "start": round(start + seg.start_frame / frate, 3),
                "end": round(start + (seg.end_frame + 1) / frate, 3),
                "confidence": float(seg.prob),
            }
        )
    return {"words": words, "score": score, "frames": frames}


def score_chunk(job: ChunkJob) -> tuple[float, float]:
    """(log posterior of the best path per 10 ms frame, frames) for language detection."""
    _init_decoder()
    path, start, end = job
    pcm = read_chunk_pcm16(path, start, end)
    frames = len(pcm) / 2 / 160
    if frames < 10:
        return 0.0, 0.0
    _decoder.start_utt()
    _decoder.process_raw(pcm, full_utt=True)
    _decoder.end_utt()
    hyp = _decoder.hyp()
    if hyp is None:
        return -1.0, frames
    return math.log(max(hyp.prob, 1e-300)) / frames, frames


# Calibration of the per-frame log posterior: English speech scores about -0.04, speech in other
# languages about -0.05 and below. Mapped linearly so that -0.06 -> 0 and -0.02 -> 1.
_SCORE_LOW, _SCORE_HIGH = -0.06, -0.02


class PocketSphinxASR(ChunkedRecognizer):
    name = "pocketsphinx"
    language = "en"

    def __init__(self, workers: int | None = None) -> None:
        try:
            import pocketsphinx  # noqa: F401
        except ImportError as exc:  # pragma: no cover - pinned requirement
            raise EngineUnavailable("pocketsphinx is not installed (pip install pocketsphinx).") from exc
        super().__init__(workers)

    def _worker(self):
        return recognize_chunk

    def _initializer(self):
        return _init_decoder

    def language_score(self, jobs: list[ChunkJob]) -> float:
        """How sure the English model is that these chunks are English, 0..1."""
        return self.score_from([score_chunk(job) for job in jobs])

    def score_from(self, scored: list[tuple[float, float]]) -> float:
        frames = sum(f for _, f in scored)
        if not frames:
            return 0.0
        mean = sum(s * f for s, f in scored) / frames
        return min(1.0, max(0.0, (mean - _SCORE_LOW) / (_SCORE_HIGH - _SCORE_LOW)))
