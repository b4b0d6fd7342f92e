"""Transcription through OpenAI's `/audio/transcriptions` (whisper-1: word timestamps).

The API refuses uploads over 25 MB, and a long video's audio is far more than that as WAV. The
audio is therefore cut at pauses (ffmpeg `silencedetect`) into pieces that are short enough, each
piece is encoded compactly (16 kHz mono MP3 at a fixed bit rate, so its size is known in advance
and checked after encoding), the pieces are sent concurrently, and each piece's times are moved
by its offset back onto the source's timeline.
"""

from __future__ import annotations

import logging
import math
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dubbing.engines.base import (
    EngineError,
    Segment,
    Transcript,
    UnsupportedLanguage,
    Word,
)
from dubbing.engines.openai_client import OpenAIClient, shared_client
from dubbing.engines.openai_languages import WHISPER_LANGUAGES, language_code

logger = logging.getLogger(__name__)

API_UPLOAD_LIMIT = 25 * 1024 * 1024
# Room for the multipart envelope and form fields around the file.
_ENVELOPE_BYTES = 64 * 1024
_SILENCE = re.compile(r"silence_(start|end): (-?[\d.]+)")


@dataclass(frozen=True)
class Piece:
    index: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


class OpenAIASR:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str = "whisper-1",
        concurrency: int = 8,
        *,
        max_upload_bytes: int = API_UPLOAD_LIMIT,
        max_piece_seconds: float = 600.0,
        bitrate_kbps: int = 64,
        silence_db: float = -35.0,
        client: OpenAIClient | None = None,
    ) -> None:
        self.client = client or shared_client(
            base_url=base_url, api_key=api_key, concurrency=concurrency
        )
        self.model = model
        self.concurrency = concurrency
        self.max_upload_bytes = max_upload_bytes
        self.bitrate_kbps = bitrate_kbps
        self.silence_db = silence_db
        # Pieces are also kept short in time (10 min by default): more pieces run concurrently,
        # and a failed piece costs less to send again.
        bytes_per_second = bitrate_kbps * 1000 / 8
        by_size = (max_upload_bytes - _ENVELOPE_BYTES) / bytes_per_second * 0.95
        self.max_piece_seconds = min(max_piece_seconds, by_size)

    def languages(self) -> set[str]:
        return set(WHISPER_LANGUAGES)

    def transcribe(self, audio_path: Path, language: str) -> Transcript:
        audio_path = Path(audio_path)
        if language != "auto" and language.split("-")[0].lower() not in WHISPER_LANGUAGES:
            raise UnsupportedLanguage(f"OpenAI transcription does not support {language!r}.")
        duration = probe_duration(audio_path)
        silences = (
            detect_silences(audio_path, noise_db=self.silence_db)
            if duration > self.max_piece_seconds
            else []
        )
        pieces = plan_pieces(duration, silences, self.max_piece_seconds)
        with tempfile.TemporaryDirectory(prefix="onevoice-asr-") as tmp:
            workers = max(1, min(self.concurrency, len(pieces)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-asr") as pool:
                answers = list(pool.map(
                    lambda piece: self._transcribe_piece(audio_path, piece, language, Path(tmp)),
                    pieces,
                ))
        return merge_pieces(answers, language)

    def _transcribe_piece(self, audio_path: Path, piece: Piece, language: str, tmp: Path):
        """Returns [(piece, answer)] — more than one when the encoded piece was still too big
        and had to be halved (very noisy audio cannot make a fixed bit rate bigger, but a
        compatible server may use a stricter limit than ours)."""
        encoded = tmp / f"piece-{piece.index:04d}-{piece.start:.3f}.mp3"
        encode_piece(audio_path, piece, encoded, bitrate_kbps=self.bitrate_kbps)
        size = encoded.stat().st_size
        if size > self.max_upload_bytes - _ENVELOPE_BYTES:
            if piece.duration < 2.0:
                raise EngineError(f"Audio piece at {piece.start:.1f}s cannot be made small "
                                  f"enough to upload ({size} bytes).")
            middle = piece.start + piece.duration / 2
            halves = [Piece(piece.index, piece.start, middle), Piece(piece.index, middle, piece.end)]
            return [a for half in halves for a in self._transcribe_piece(audio_path, half, language, tmp)]
        data: dict = {
            "model": self.model,
            "response_format": "verbose_json",
            "timestamp_granularities[]": ["word", "segment"],
        }
        if language != "auto":
            data["language"] = language.split("-")[0].lower()
        answer = self.client.post_multipart(
            "/audio/transcriptions",
            data=data,
            files={"file": (encoded.name, encoded.read_bytes(), "audio/mpeg")},
            what=f"OpenAI transcription of {piece.start:.1f}-{piece.end:.1f}s",
        )
        encoded.unlink(missing_ok=True)
        return [(piece, answer)]


def probe_duration(path: Path) -> float:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True,
    )
    try:
        return float(result.stdout.strip())
    except ValueError as exc:
        raise EngineError(f"Cannot read the audio to transcribe: {result.stderr.strip()[:200]}") from exc


def detect_silences(path: Path, *, noise_db: float = -35.0, min_seconds: float = 0.3):
    """[(start, end)] of the pauses in the audio, streamed through ffmpeg (never loaded)."""
    result = subprocess.run(
        ["ffmpeg", "-nostats", "-hide_banner", "-i", str(path), "-vn",
         "-af", f"silencedetect=noise={noise_db}dB:d={min_seconds}", "-f", "null", "-"],
        capture_output=True, text=True,
    )
    silences, start = [], None
    for kind, value in _SILENCE.findall(result.stderr):
        if kind == "start":
            start = max(0.0, float(value))
        elif start is not None:
            silences.append((start, float(value)))
            start = None
    return silences


def plan_pieces(duration: float, silences: list[tuple[float, float]], max_seconds: float) -> list[Piece]:
    """Cuts no piece longer than `max_seconds`, each cut in the middle of the longest pause in
    the second half of the allowed span, so words are not split; a hard cut only when the
    audio has no pause there at all."""
    pieces: list[Piece] = []
    cursor = 0.0
    while duration - cursor > max_seconds:
        earliest, latest = cursor + max_seconds * 0.5, cursor + max_seconds
        candidates = [
            (min(end - start, 2.0), (start + end) / 2)
            for start, end in silences
            if earliest <= (start + end) / 2 <= latest
        ]
        cut = max(candidates)[1] if candidates else latest
        pieces.append(Piece(len(pieces), cursor, cut))
        cursor = cut
    pieces.append(Piece(len(pieces), cursor, duration))
    return pieces


def encode_piece(source: Path, piece: Piece, out_path: Path, *, bitrate_kbps: int) -> None:
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", f"{piece.start:.3f}", "-t", f"{piece.duration:.3f}",
         "-i", str(source), "-vn", "-ac", "1", "-ar", "16000",
         "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", str(out_path)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise EngineError(f"ffmpeg could not encode audio for transcription: "
                          f"{result.stderr.strip()[:200]}")


def merge_pieces(answers: list[list[tuple[Piece, dict]]], language: str) -> Transcript:
    """verbose_json answers of consecutive pieces -> one Transcript on the source's timeline."""
    flat = [item for group in answers for item in group]
    segments: list[Segment] = []
    detected: dict[str, float] = {}
    weighted_confidence, confidence_seconds = 0.0, 0.0
    for piece, answer in flat:
        offset = piece.start
        words = [
            Word(text=w["word"].strip(), start=offset + float(w["start"]),
                 end=offset + max(float(w["end"]), float(w["start"])))
            for w in answer.get("words") or []
            if str(w.get("word", "")).strip()
        ]
        code = language_code(answer.get("language"))
        if code:
            detected[code] = detected.get(code, 0.0) + piece.duration
        raw_segments = answer.get("segments") or []
        if not raw_segments and words:
            raw_segments = [{"start": words[0].start - offset, "end": words[-1].end - offset,
                             "text": answer.get("text", "")}]
        piece_segments = []
        for raw in raw_segments:
            text = str(raw.get("text", "")).strip()
            start, end = offset + float(raw["start"]), offset + float(raw["end"])
            confidence = _segment_confidence(raw)
            weighted_confidence += confidence * max(end - start, 0.0)
            confidence_seconds += max(end - start, 0.0)
            piece_segments.append(Segment(id="", start=start, end=end, text=text))
        _assign_words(piece_segments, words)
        segments.extend(s for s in piece_segments if s.text or s.words)

    segments.sort(key=lambda s: s.start)
    for number, segment in enumerate(segments, start=1):
        segment.id = f"s{number:04d}"
    if language != "auto":
        final_language = language.split("-")[0].lower()
    elif detected:
        final_language = max(detected, key=detected.get)
    else:
        raise EngineError("The transcription did not say which language was spoken; "
                          "choose the source language.")
    confidence = weighted_confidence / confidence_seconds if confidence_seconds else 1.0
    return Transcript(language=final_language, segments=segments, confidence=round(confidence, 4))


def _segment_confidence(raw: dict) -> float:
    if "avg_logprob" in raw:
        try:
            return max(0.0, min(1.0, math.exp(float(raw["avg_logprob"]))))
        except (TypeError, ValueError):
            pass
    return 1.0


def _assign_words(segments: list[Segment], words: list[Word]) -> None:
    """Each word goes to the segment that contains its middle (else the nearest one), so the
    words and the segments of one answer agree even where the API's times overlap."""
    if not segments:
        return
    for word in words:
        middle = (word.start + word.end) / 2
        best = min(
            segments,
            key=lambda s: 0.0 if s.start <= middle <= s.end else min(abs(middle - s.start), abs(middle - s.end)),
        )
        best.words.append(word)
    for segment in segments:
        segment.words.sort(key=lambda w: w.start)
