"""Reading and writing subtitle files (SRT and WebVTT).

A user may supply subtitles instead of the transcribe or translate stage. Files come from every
kind of editor: UTF-8 with or without a byte-order mark, and, from Korean tools, CP949/EUC-KR.
`parse_subtitles` detects the encoding, reads either format and returns `Segment`s with ids
"s0001", "s0002", ... in time order. Anything it cannot read raises `SubtitleError` naming the
line at fault, so the user can fix the file; nothing is silently dropped except empty cues.
"""

from __future__ import annotations

import math
import re
import unicodedata
from pathlib import Path

from dubbing.engines.base import EngineError, ErrorCode, Segment


class SubtitleError(EngineError):
    """The subtitle file cannot be read. The message says why (and on which line)."""

    code = ErrorCode.INVALID_SUBTITLES


# Hours are optional in WebVTT and some SRT writers use "." instead of ",": both are accepted.
_TIMESTAMP = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_TIMING_LINE = re.compile(rf"^\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}(?:\s+(.*))?$")
_TAG = re.compile(r"<[^>]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")  # "{\an8}" position codes some SRT files carry
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_VTT_BLOCKS_WITHOUT_CUES = ("NOTE", "STYLE", "REGION")

# Bounded work per job (issue 25): every cue becomes a line translated, spoken, fitted, mixed
# and stored, so supplied subtitles are held to what speech can fill. Dense dialogue runs at
# 20-30 cues a minute; a line shorter than a quarter second cannot hold a spoken word.
MAX_CUES_PER_MINUTE = 40
MIN_CUES_ALLOWED = 10  # a short clip may still carry a few quick lines
MIN_CUE_SECONDS = 0.25
MEDIA_END_TOLERANCE_SECONDS = 1.0  # editors round the last cue's end up past the media's


def max_cues(media_seconds: float) -> int:
    """How many cues supplied subtitles may have for media lasting `media_seconds`."""
    return max(MIN_CUES_ALLOWED, math.ceil(MAX_CUES_PER_MINUTE * max(0.0, media_seconds) / 60))


def parse_subtitles(data: bytes | str | Path) -> list[Segment]:
    """SRT or WebVTT (bytes, text, or a file path) to segments in time order."""
    if isinstance(data, Path):
        try:
            data = data.read_bytes()
        except OSError as exc:
            raise SubtitleError(f"The subtitle file cannot be read: {exc.strerror}.") from exc
    text = decode_subtitle_bytes(data) if isinstance(data, bytes) else data
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    _refuse_binary(text)
    if not text.strip():
        raise SubtitleError("The subtitle file is empty.")

    lines = text.split("\n")
    is_vtt = lines[0].startswith("WEBVTT")
    if lines[0].strip().upper().startswith("WEBVTT") and not is_vtt:
        raise SubtitleError("Line 1: a WebVTT file must start with 'WEBVTT' in capitals.")

    cues: list[tuple[float, float, str, str | None]] = []
    for first_line, block in _blocks(lines):
        if is_vtt and first_line == 1:
            continue  # the WEBVTT header block (it may carry header lines such as Kind:)
        if is_vtt and block[0].split(" ", 1)[0].split("\t", 1)[0] in _VTT_BLOCKS_WITHOUT_CUES:
            continue
        # Cues run together when an editor dropped the blank line between them: each timing
        # line starts a cue of its own (with the number or identifier just before it).
        starts = [0] + [
            i - 1 if i >= 2 and (is_vtt or block[i - 1].strip().isdigit()) else i
            for i, line in enumerate(block) if i >= 2 and _TIMING_LINE.match(line)
        ]
        for n, start in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(block)
            cue = _parse_cue(block[start:end], first_line + start, is_vtt)
            if cue is not None:
                cues.append(cue)

    if not cues:
        raise SubtitleError("The file has no subtitle cues (expected SRT or WebVTT timings like "
                            "00:00:01,000 --> 00:00:02,500).")
    # Stable sort: cues that share a start keep their order in the file.
    cues.sort(key=lambda c: c[0])
    return [
        Segment(id=f"s{i:04d}", start=start, end=end, text=body, speaker=speaker)
        for i, (start, end, body, speaker) in enumerate(cues, start=1)
    ]


def decode_subtitle_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), else CP949 (a superset of EUC-KR), else whatever
    charset-normalizer finds. Strict decoding first, because a lenient decoder turns a Korean
    file into mojibake without complaint."""
    if not data.strip():
        raise SubtitleError("The subtitle file is empty.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise SubtitleError("The subtitle file is binary or in an unknown encoding "
                            "(save it as UTF-8).")
    return str(best)


def _refuse_binary(text: str) -> None:
    for index, char in enumerate(text):
        if char in "\n\t":
            continue
        if unicodedata.category(char) == "Cc":
            line = text.count("\n", 0, index) + 1
            raise SubtitleError(f"Line {line}: the file contains binary data; it is not a "
                                f"subtitle file.")


def _blocks(lines: list[str]):
    """Yields (1-based number of the block's first line, its lines) for each blank-line-separated
    block."""
    block: list[str] = []
    start = 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def _parse_cue(block: list[str], first_line: int, is_vtt: bool):
    # The timing line is the first or (after an SRT index / VTT cue identifier) the second line.
    timing_index = next((i for i, line in enumerate(block[:2]) if "-->" in line), None)
    if timing_index is None:
        raise SubtitleError(
            f"Line {first_line}: expected a cue timing like 00:00:01,000 --> 00:00:02,500, "
            f"found {block[0].strip()[:60]!r}."
        )
    if timing_index == 1 and not is_vtt and not block[0].strip().isdigit():
        raise SubtitleError(f"Line {first_line}: an SRT cue number must be a whole number, "
                            f"found {block[0].strip()[:60]!r}.")
    line_number = first_line + timing_index
    match = _TIMING_LINE.match(block[timing_index])
    if match is None:
        raise SubtitleError(f"Line {line_number}: the cue timing {block[timing_index].strip()!r} "
                            f"is not valid (expected 00:00:01,000 --> 00:00:02,500).")
    groups = match.groups()
    start = _seconds(groups[0:4], line_number)
    end = _seconds(groups[4:8], line_number)
    if end <= start:
        raise SubtitleError(f"Line {line_number}: the cue ends ({_fmt(end, ',')}) before or when "
                            f"it starts ({_fmt(start, ',')}).")
    raw = block[timing_index + 1:]
    speaker = None
    for line in raw:
        voice = _VOICE.search(line)
        if voice:
            speaker = voice.group(1).strip()
            break
    body = " ".join(_clean(line) for line in raw)
    body = re.sub(r"\s+", " ", body).strip()
    if not body:
        return None  # an empty cue has nothing to dub
    return start, end, body, speaker


def _seconds(parts, line_number: int) -> float:
    hours, minutes, seconds, millis = parts
    minutes_i, seconds_i = int(minutes), int(seconds)
    if minutes_i > 59 or seconds_i > 59:
        raise SubtitleError(f"Line {line_number}: minutes and seconds in a timestamp must be "
                            f"below 60.")
    # "1,5" means 500 ms in the few writers that drop trailing zeros.
    fraction = int(millis.ljust(3, "0"))
    return int(hours or 0) * 3600 + minutes_i * 60 + seconds_i + fraction / 1000


def _clean(line: str) -> str:
    line = _ASS_OVERRIDE.sub("", line)
    line = _TAG.sub("", line)
    return (line.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
            .replace("&nbsp;", " ").replace("&lrm;", "").replace("&rlm;", "").strip())


def _fmt(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cue_text(text: str) -> str:
    # A blank line would end the cue early in both formats.
    return "\n".join(line for line in text.replace("\r", "").split("\n") if line.strip())


Cue = tuple[float, float, str]  # start, end, text
# A WebVTT cue's identifier (the line's segment id, "s0001") and its speaker's label, which the
# format carries as a voice span (`<v Minji>`); SRT has no place for either.
CueLabel = tuple[str, str | None]


def write_subtitle_pair(cues: list[Cue], base: Path, labels: list[CueLabel] | None = None) -> dict[str, Path]:
    """`base`.srt and `base`.vtt with the same cues (the VTT with `labels`, one per cue)."""
    srt, vtt = base.with_suffix(".srt"), base.with_suffix(".vtt")
    write_srt(cues, srt)
    write_vtt(cues, vtt, labels)
    return {"srt": srt, "vtt": vtt}


def write_srt(cues: list[Cue], path: Path) -> None:
    """UTF-8 SRT (no BOM), cues numbered from 1 in the order given."""
    parts = []
    for number, (start, end, text) in enumerate(cues, start=1):
        parts.append(f"{number}\n{_fmt(start, ',')} --> {_fmt(end, ',')}\n{_cue_text(text)}\n")
    Path(path).write_text("\n".join(parts), encoding="utf-8")


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _voice_span(voice: str | None) -> str:
    # A voice annotation ends at ">" and may not hold a line break; names are one line already.
    voice = " ".join((voice or "").split())
    return f"<v {_vtt_escape(voice)}>" if voice else ""


def write_vtt(cues: list[Cue], path: Path, labels: list[CueLabel] | None = None) -> None:
    """UTF-8 WebVTT. "-->" inside text is escaped, because it would end the cue's text. With
    `labels`, each cue has its identifier and opens with its speaker's voice span."""
    parts = ["WEBVTT\n"]
    for n, (start, end, text) in enumerate(cues):
        cue_id, voice = labels[n] if labels is not None else ("", None)
        body = _vtt_escape(_cue_text(text))
        head = f"{cue_id}\n" if cue_id else ""
        parts.append(f"{head}{_fmt(start, '.')} --> {_fmt(end, '.')}\n{_voice_span(voice)}{body}\n")
    Path(path).write_text("\n".join(parts), encoding="utf-8")


_LEADING_VOICE = re.compile(r"^<v(?:\.[^\s>]*)?(?:\s+[^>]*)?>")


def vtt_voices_set(text: str, voices: dict[str, str | None]) -> str:
    """WebVTT `text` with the voice span of each cue whose identifier is in `voices` set to that
    voice (none when it is empty): how a speaker's new name reaches subtitles already made,
    without making them again. Cues without an identifier, and everything else, stay as they are."""
    blocks = text.split("\n\n")
    for n, block in enumerate(blocks):
        lines = block.split("\n")
        if len(lines) < 3 or "-->" in lines[0] or "-->" not in lines[1] or lines[0].strip() not in voices:
            continue
        lines[2] = _voice_span(voices[lines[0].strip()]) + _LEADING_VOICE.sub("", lines[2], count=1)
        blocks[n] = "\n".join(lines)
    return "\n\n".join(blocks)
