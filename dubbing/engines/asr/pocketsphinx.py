"""English recognition with pocketsphinx (its acoustic and language models ship in the wheel).

Word times come from the decoder's segment iterator (`Decoder.seg()`), in frames of
`frate` per second, offset by the chunk's start so they are absolute times in the file.
"""

from __future__ import annotations

import re

from dubbing.engines.asr.chunked import ChunkedRecognizer, ChunkJob, read_chunk_pcm16
from dubbing.engines.base import EngineUnavailable

_ALTERNATE = re.compile(r"\(\d+\)$")
_decoder = None
_quick_decoder = None


def _init_decoder() -> None:
    global _decoder
    if _decoder is None:
        from pocketsphinx import Decoder

        _decoder = Decoder(samprate=16000, loglevel="FATAL")


def _is_filler(word: str) -> bool:
    return word in ("<s>", "</s>", "<sil>") or word.startswith(("[", "++", "+"))


def _decode(decoder, pcm: bytes) -> None:
    """Decodes one chunk with cepstral mean normalisation estimated on that chunk.

    pocketsphinx carries its CMN estimate from one utterance to the next and starts a new decoder
    from a fixed prior; the first chunk a worker sees was decoded with the wrong normalisation, so
    the words depended on which worker got which chunk (English WER 0.44 with two workers, 0.34
    with one). A feature-only pass (no search, a few ms) sets the estimate from the chunk itself."""
    decoder.start_utt()
    decoder.process_raw(pcm, no_search=True, full_utt=True)
    decoder.end_utt()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def recognize_chunk(job: ChunkJob) -> list[dict]:
    _init_decoder()
    path, start, end = job
    pcm = read_chunk_pcm16(path, start, end)
    if len(pcm) < 3200:  # under 0.1 s: nothing to say
        return []
    _decode(_decoder, pcm)
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
    return words


def _words(decoder) -> list[str]:
    return [_ALTERNATE.sub("", s.word) for s in decoder.seg() if not _is_filler(s.word)]


def agreement_chunk(job: ChunkJob) -> tuple[int, int]:
    """(words the full decode and the quick one-pass decode agree on, words of the full decode).

    Why this and not the decoder's own confidence: on speech in another language pocketsphinx is
    just as sure of its words (word posteriors ~0.3 on English and on Korean alike, measured), but
    the words are made up by the language model and change as soon as the search changes; on
    English the acoustics pin them down and both searches find the same words."""
    global _quick_decoder
    from pocketsphinx import Decoder

    _init_decoder()
    if _quick_decoder is None:
        _quick_decoder = Decoder(samprate=16000, loglevel="FATAL", fwdflat=False)
    path, start, end = job
    pcm = read_chunk_pcm16(path, start, end)
    if len(pcm) < 3200:
        return 0, 0
    _decode(_decoder, pcm)
    full = _words(_decoder)
    _decode(_quick_decoder, pcm)
    quick = _words(_quick_decoder)
    return _matched(full, quick), max(len(full), len(quick))


def _matched(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two word lists."""
    row = [0] * (len(b) + 1)
    for x in a:
        previous = 0
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], previous + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


# Calibration on the fixtures (agreement of the two searches over the first 30 s of speech):
# English 0.89; Korean 0.61, Spanish 0.59, German 0.59, time-reversed English 0.45 and Korean 0.57,
# English under loud pink noise 0.26. Mapped linearly so that 0.60 -> 0 and 0.90 -> 1.
_AGREE_LOW, _AGREE_HIGH = 0.60, 0.90


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
        """How sure we are that these chunks are English, 0..1."""
        counted = [agreement_chunk(job) for job in jobs]
        total = sum(n for _, n in counted)
        if not total:
            return 0.0
        agreement = sum(m for m, _ in counted) / total
        return min(1.0, max(0.0, (agreement - _AGREE_LOW) / (_AGREE_HIGH - _AGREE_LOW)))
