"""Stage 4: subtitle-sized lines cut at pauses and sentence ends, each keeping its source times
and its speaker (the recognizer's labels, else clustered offline from the line's voice).

Ids ("s0001"...) are given here and survive every later stage."""

from __future__ import annotations

from pathlib import Path

from dubbing.engines.base import Segment, Transcript, Word
from dubbing.engines.speakers import SpeakerAnalysis, analyse_speakers
from dubbing.pipeline.audio import ensure_audio
from dubbing.pipeline.errors import ErrorCode, PipelineError
from dubbing.pipeline.stage import Context, Stage
from dubbing.pipeline.separate import VOCALS_WAV
from dubbing.pipeline.subtitles import parse_subtitles
from dubbing.pipeline.transcribe import text_hash
from dubbing.pipeline.workspace import digest

MAX_CHARS = 84
MAX_SECONDS = 7.0
PAUSE_SECONDS = 0.5
_SENTENCE_END = (".", "!", "?", "。", "！", "？")


# Languages written without spaces between words: their recognized words are joined as they are.
UNSPACED = frozenset({"ja", "zh", "th", "lo", "my", "km", "bo"})


def _join(words: list[Word], spaced: bool = True) -> str:
    return (" " if spaced else "").join(w.text.strip() for w in words if w.text.strip())


def segment_transcript(
    transcript: Transcript,
    *,
    max_chars: int = MAX_CHARS,
    max_seconds: float = MAX_SECONDS,
    pause: float = PAUSE_SECONDS,
) -> list[Segment]:
    spaced = transcript.language not in UNSPACED
    lines: list[list[Word]] = []
    for seg in transcript.segments:
        words = seg.words or [Word(text=seg.text, start=seg.start, end=seg.end)]
        current: list[Word] = []
        for word in words:
            if current:
                gap = word.start - current[-1].end
                too_long = (len(_join(current + [word], spaced)) > max_chars
                            or word.end - current[0].start > max_seconds)
                sentence_done = current[-1].text.rstrip().endswith(_SENTENCE_END) and len(_join(current, spaced)) >= 20
                if gap >= pause or too_long or sentence_done:
                    lines.append(current)
                    current = []
            current.append(word)
        if current:
            lines.append(current)
    out = []
    for words in lines:
        text = _join(words, spaced)
        if not text:
            continue
        out.append(Segment(id=f"s{len(out) + 1:04d}", start=round(words[0].start, 3),
                           end=round(words[-1].end, 3), text=text, speaker=words[0].speaker, words=words))
    return out


def segments_from_cues(cues: list[Segment]) -> list[Segment]:
    """Supplied subtitles define the lines as they are; only ids are made uniform."""
    return [Segment(id=f"s{i + 1:04d}", start=c.start, end=c.end, text=c.text, speaker=c.speaker)
            for i, c in enumerate(sorted(cues, key=lambda c: c.start)) if c.text.strip()]


def source_text_for(cue: Segment, transcript: Transcript | None) -> str:
    """The recognized words inside a supplied target cue's time (for the source subtitles)."""
    if transcript is None:
        return ""
    return " ".join(w.text for w in transcript.words if w.start < cue.end and w.end > cue.start)


def subtitles_match(cues: list[Segment], recognised: list[Segment]) -> dict:
    """How the user's target cues met the recognised lines, matched by time (each cue takes the
    words spoken inside its time): how many of each, the cues under which nothing was heard, and
    the recognised lines no cue covers (spoken, but not dubbed). For the report."""
    def overlaps(a: Segment, b: Segment) -> bool:
        return a.start < b.end and b.start < a.end

    return {
        "cues": len(cues),
        "recognised_lines": len(recognised),
        "cues_without_speech": [{"id": c.id, "start": c.start, "end": c.end} for c in cues
                                if not any(overlaps(c, line) for line in recognised)],
        "lines_without_cue": [{"start": line.start, "end": line.end, "text": line.text} for line in recognised
                              if not any(overlaps(line, c) for c in cues)],
        "matched_by": "time",
    }


SEGMENTS = "segments.json"


def number_speakers(segments: list[Segment]) -> None:
    """Speaker labels as "speaker_1", "speaker_2"... in order of first appearance, whatever the
    recognizer called them ("speaker_0", "A", ...)."""
    order: dict[str, str] = {}
    for seg in segments:
        if seg.speaker is not None:
            seg.speaker = order.setdefault(seg.speaker, f"speaker_{len(order) + 1}")


def speaker_audio(ctx: Context) -> tuple[Path, str]:
    """The audio speakers are told apart in: the separated voice stem when this analysis has
    it (no music to blur the voices), else the 16 kHz mix."""
    vocals = ctx.ws.path(*VOCALS_WAV)
    if ctx.ws.ensure(vocals):
        return vocals, "vocals"
    asr_wav, _ = ensure_audio(ctx.ws, ctx.input_path, ctx.info)
    return asr_wav, "mix"


def assign_speakers(ctx: Context, segments: list[Segment]) -> SpeakerAnalysis:
    """Each line's speaker: the recognizer's labels when it gave them, else the lines clustered
    by their voices (dubbing.engines.speakers: d-vector embeddings, pitch and MFCC when the
    encoder cannot be used); and each speaker's voice measured, for casting."""
    audio, _ = speaker_audio(ctx)
    spans = [(s.start, s.end) for s in segments]
    given = None
    if any(seg.speaker for seg in segments):
        for seg in segments:
            seg.speaker = seg.speaker or segments[0].speaker
        number_speakers(segments)
        given = [seg.speaker for seg in segments]
    analysis = analyse_speakers(audio, spans, num_speakers=ctx.options.num_speakers, labels=given,
                                encoder_folder=ctx.engines.speaker_encoder_dir, threads=ctx.threads)
    for seg, label in zip(segments, analysis.labels, strict=True):
        seg.speaker = label
    return analysis


class SegmentStage(Stage):
    """Writes segments.json: the lines with their source times and, when the user supplied
    target subtitles, the supplied translation of each."""

    name = "segment"
    version = 5

    def key(self, ctx: Context) -> str:
        o = ctx.options
        # The audio's fingerprint: speakers are clustered from it when the recognizer gave none.
        return digest(self.name, self.version, ctx.fingerprint, ctx.transcript.to_dict(),
                      text_hash(o.target_subtitles), bool(o.source_subtitles), o.num_speakers)

    def run(self, ctx: Context) -> dict:
        options, transcript = ctx.options, ctx.transcript
        supplied_targets: dict[str, str] = {}
        match = None
        if options.target_subtitles:
            cues = segments_from_cues(parse_subtitles(options.target_subtitles))
            recognised = transcript.segments if options.source_subtitles else segment_transcript(transcript)
            match = subtitles_match(cues, recognised)
            segments = [Segment(id=c.id, start=c.start, end=c.end,
                                text=source_text_for(c, transcript) if not options.source_subtitles else
                                " ".join(s.text for s in transcript.segments if s.start < c.end and s.end > c.start))
                        for c in cues]
            supplied_targets = {c.id: c.text for c in cues}
        elif options.source_subtitles:
            segments = segments_from_cues(transcript.segments)
        else:
            segments = segment_transcript(transcript)
        if not segments:
            raise PipelineError("transcribe", None, "No speech was found in the audio, so there is nothing to dub.",
                                code=ErrorCode.NO_SPEECH)
        analysis = None
        if not supplied_targets and not options.source_subtitles:
            analysis = assign_speakers(ctx, segments)
        elif any(s.speaker for s in segments):
            number_speakers(segments)
            analysis = SpeakerAnalysis(labels=[s.speaker for s in segments], method="subtitles")
        ctx.segments, ctx.supplied_targets, ctx.speakers = segments, supplied_targets, analysis
        ctx.ws.write_json(ctx.ws.path(SEGMENTS), {"segments": [s.to_dict() for s in segments],
                                                  "targets": supplied_targets,
                                                  "speakers": analysis.to_dict() if analysis else None})
        detail = {"segments": len(segments), "speakers": len({s.speaker for s in segments if s.speaker}),
                  "speakers_from": analysis.method if analysis else None,
                  **({"subtitles_match": match} if match is not None else {})}
        if analysis is not None and analysis.fallback:
            detail["speakers_fallback"] = analysis.fallback
        return detail

    def load(self, ctx: Context) -> bool:
        try:
            data = ctx.ws.read_json(ctx.ws.path(SEGMENTS))
        except FileNotFoundError:
            return False
        ctx.segments = [Segment.from_dict(s) for s in data["segments"]]
        ctx.supplied_targets = data["targets"]
        if data.get("speakers"):
            ctx.speakers = SpeakerAnalysis.from_dict(data["speakers"], [s.speaker for s in ctx.segments])
        return True
