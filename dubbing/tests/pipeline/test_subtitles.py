"""Subtitle files as users really send them: every encoding, both formats, and broken ones."""

from __future__ import annotations

import pytest

from dubbing.pipeline.subtitles import SubtitleError, parse_subtitles, vtt_voices_set, write_srt, write_vtt

KOREAN_SRT = (
    "1\n00:00:01,000 --> 00:00:03,500\n안녕하세요, 여러분.\n\n"
    "2\n00:00:04,250 --> 00:00:06,000\n오늘은 날씨가\n정말 좋네요.\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949", "euc-kr", "utf-16"])
def test_it_reads_korean_srt_in_every_encoding_korean_editors_write(encoding):
    segments = parse_subtitles(KOREAN_SRT.encode(encoding))

    assert [s.id for s in segments] == ["s0001", "s0002"]
    assert segments[0].text == "안녕하세요, 여러분."
    assert segments[1].text == "오늘은 날씨가 정말 좋네요."
    assert (segments[0].start, segments[0].end) == (1.0, 3.5)
    assert (segments[1].start, segments[1].end) == (4.25, 6.0)


def test_it_reads_cp949_only_characters_that_euc_kr_lacks():
    # "똠" and "햏" exist in CP949 (Unified Hangul Code) but not in EUC-KR's KS X 1001 table.
    data = "1\n00:00:00,500 --> 00:00:01,500\n똠방각하 햏\n".encode("cp949")
    with pytest.raises(UnicodeDecodeError):
        data.decode("euc-kr")

    assert parse_subtitles(data)[0].text == "똠방각하 햏"


def test_it_strips_the_byte_order_mark_from_the_first_cue_number():
    data = "\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\nHello\r\n".encode()
    assert data.startswith(b"\xef\xbb\xbf")

    [segment] = parse_subtitles(data)

    assert segment.text == "Hello"


def test_it_falls_back_to_charset_detection_for_other_encodings():
    text = ("1\n00:00:01,000 --> 00:00:02,000\nПривет, как дела? Это тестовый субтитр.\n\n"
            "2\n00:00:03,000 --> 00:00:04,000\nСегодня хорошая погода, не правда ли?\n")
    data = text.encode("koi8-r")
    with pytest.raises(UnicodeDecodeError):
        data.decode("cp949")

    segments = parse_subtitles(data)

    assert segments[1].text == "Сегодня хорошая погода, не правда ли?"


def test_it_reads_webvtt_with_header_notes_styles_identifiers_and_cue_settings():
    vtt = (
        "WEBVTT - 한국어 자막\nKind: captions\nLanguage: ko\n\n"
        "NOTE written by hand\nspanning two lines\n\n"
        "STYLE\n::cue { color: yellow }\n\n"
        "intro\n00:01.000 --> 00:02.500 align:start position:10% line:0\n<v 민수>안녕 <b>친구</b></v>\n\n"
        "01:00:02.000 --> 01:00:03.000\nTom &amp; Jerry &lt;3\n"
    )
    segments = parse_subtitles(vtt.encode("utf-8"))

    assert [(s.id, s.start, s.end, s.text) for s in segments] == [
        ("s0001", 1.0, 2.5, "안녕 친구"),
        ("s0002", 3602.0, 3603.0, "Tom & Jerry <3"),
    ]
    assert segments[0].speaker == "민수"


def test_it_orders_cues_by_time_and_skips_empty_cues():
    srt = (
        "1\n00:00:05,000 --> 00:00:06,000\nsecond\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\n<i></i>\n\n"
        "3\n00:00:02,000 --> 00:00:03,000\n{\\an8}first\n"
    )
    segments = parse_subtitles(srt)

    assert [(s.id, s.text) for s in segments] == [("s0001", "first"), ("s0002", "second")]


def test_cues_without_a_blank_line_between_them_are_still_separate_cues():
    srt = ("1\n00:00:01,000 --> 00:00:02,000\nHello\nthere\n2\n00:00:03,000 --> 00:00:04,000\nWorld\n"
           "00:00:05,000 --> 00:00:06,000\nAgain\n")

    segments = parse_subtitles(srt)

    assert [(s.start, s.text) for s in segments] == [(1.0, "Hello there"), (3.0, "World"), (5.0, "Again")]


def test_it_reads_a_path(tmp_path):
    path = tmp_path / "subs.srt"
    path.write_bytes(KOREAN_SRT.encode("cp949"))

    assert parse_subtitles(path)[0].text == "안녕하세요, 여러분."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \r\n\n ", "empty"),
        ("\ufeff".encode("utf-8-sig"), "empty"),
        (bytes(range(256)) * 4, "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"just some words\nwithout any timing\n", "Line 1: expected a cue timing"),
        (b"1\n00:00:01,000 -> 00:00:02,000\nHi\n", "Line 1: expected a cue timing"),
        (b"1\n00:00:01 --> 00:00:02\nHi\n", "Line 2: the cue timing"),
        (b"1\n00:00:61,000 --> 00:01:02,000\nHi\n", "below 60"),
        (b"1\n00:00:03,000 --> 00:00:02,000\nHi\n", "Line 2: the cue ends (00:00:02,000) before"),
        (b"1\n00:00:03,000 --> 00:00:03,000\nHi\n", "before or when"),
        (b"one\n00:00:01,000 --> 00:00:02,000\nHi\n", "cue number"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nHi\n\n2\n00:00:0x,000 --> 00:00:04,000\nYo\n",
         "Line 6: the cue timing"),
        (b"webvtt\n\n00:01.000 --> 00:02.000\nHi\n", "capitals"),
        (b"WEBVTT\n\nNOTE only a note\n", "no subtitle cues"),
    ],
)
def test_it_refuses_malformed_files_with_a_clear_message(data, message):
    with pytest.raises(SubtitleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_subtitles(data)


def test_it_reports_a_missing_file_as_a_subtitle_error(tmp_path):
    with pytest.raises(SubtitleError, match="cannot be read"):
        parse_subtitles(tmp_path / "missing.srt")


def test_written_srt_and_vtt_read_back_to_the_same_cues(tmp_path):
    cues = [
        (0.0, 1.2345, "첫 번째 줄"),
        (3661.5, 3663.0, "two\n\nlines -> with <tags> & arrows -->"),
    ]
    write_srt(cues, tmp_path / "out.srt")
    write_vtt(cues, tmp_path / "out.vtt")

    srt_text = (tmp_path / "out.srt").read_text(encoding="utf-8")
    vtt_text = (tmp_path / "out.vtt").read_text(encoding="utf-8")
    assert srt_text.startswith("1\n00:00:00,000 --> 00:00:01,234\n첫 번째 줄\n\n2\n01:01:01,500")
    assert vtt_text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.234\n")
    assert "&lt;tags&gt; &amp; arrows --&gt;" in vtt_text
    for name in ("out.srt", "out.vtt"):
        segments = parse_subtitles(tmp_path / name)
        assert [(s.start, s.end) for s in segments] == [(0.0, 1.234), (3661.5, 3663.0)]
        assert segments[0].text == "첫 번째 줄"
    assert parse_subtitles(tmp_path / "out.vtt")[1].text == "two lines -> with <tags> & arrows -->"


def test_vtt_cues_carry_their_line_and_speaker_and_a_name_rewrites_only_the_voice(tmp_path):
    cues = [(0.0, 1.0, "Hola."), (1.5, 2.5, "¿Qué tal?\nHow are you?"), (3.0, 4.0, "Adiós.")]
    write_vtt(cues, tmp_path / "out.vtt", [("s0001", "speaker_1"), ("s0002", "speaker_2"), ("s0003", None)])
    text = (tmp_path / "out.vtt").read_text(encoding="utf-8")
    assert "s0002\n00:00:01.500 --> 00:00:02.500\n<v speaker_2>¿Qué tal?\nHow are you?\n" in text
    assert [s.speaker for s in parse_subtitles(text)] == ["speaker_1", "speaker_2", None]

    renamed = vtt_voices_set(text, {"s0002": "Tom & <Jerry>", "s0001": "speaker_1", "s0003": "Minji"})

    assert "<v Tom &amp; &lt;Jerry&gt;>¿Qué tal?\nHow are you?" in renamed
    assert [s.text for s in parse_subtitles(renamed)] == [s.text for s in parse_subtitles(text)]
    assert [s.speaker for s in parse_subtitles(renamed)][::2] == ["speaker_1", "Minji"]
    assert vtt_voices_set(renamed, {"s0002": ""}).count("<v ") == 2  # a name taken away: no voice span
