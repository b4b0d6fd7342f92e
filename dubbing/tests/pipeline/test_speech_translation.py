"""Whisper's speech translation into English for a source no text pair starts from (Japanese):
offered as `speech_translation`, listening to each source line again, then reaching a target other
than English through the text translator. Speech made with the bundled Kokoro voice."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
import soundfile as sf

from testing.voices import FAST_SPANISH_VOICE

pytestmark = pytest.mark.media

JAPANESE = ["明日の朝は晴れて暖かくなるでしょう。", "午後は傘を持ってきてください。", "ご覧いただきありがとうございました。"]


@pytest.fixture(scope="module")
def japanese_video(tmp_path_factory):
    """Three Japanese lines (Kokoro) with pauses, over a picture, at 48 kHz stereo as uploads are."""
    from dubbing.engine_config import model_dir
    from dubbing.engines.tts.kokoro import KokoroTTS

    folder = tmp_path_factory.mktemp("ja")
    kokoro = KokoroTTS(model_dir(), threads=2)
    pieces, rate = [], None
    for i, line in enumerate(JAPANESE):
        data, rate = sf.read(str(kokoro.synthesize(line, "ja", None, folder / f"{i}.wav")), dtype="float32")
        pieces += [np.zeros(int(rate * 0.8), dtype="float32"), data]
    sf.write(str(folder / "ja.wav"), np.concatenate(pieces + [np.zeros(rate, dtype="float32")]), rate)
    video = folder / "ja.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x304050:s=360x640:r=25",
                    "-i", str(folder / "ja.wav"), "-shortest", "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "aac", "-ar", "48000", "-ac", "2", str(video)], check=True)
    return video


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def test_japanese_pairs_are_offered_as_speech_translation_and_other_sources_are_not():
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions

    translator = build_engines(DubOptions(target_language="und", engines="local")).translator
    routes = translator.routes()
    assert routes[("ja", "en")] == "speech_translation"
    assert routes[("ja", "es")] == "speech_translation"  # then apertium en->es
    assert routes[("en", "es")] == "direct"
    assert not any(source in ("ko", "de") for source, _ in translator.supported_pairs())
    assert translator.needs_audio("ja", "es") and not translator.needs_audio("en", "es")


def test_japanese_speech_is_dubbed_into_english_with_the_source_lines_kept(japanese_video, tmp_path):
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline

    options = DubOptions(target_language="en", source_language="auto", background="drop", engines="local")
    report = run_pipeline(japanese_video, options, workspace=tmp_path / "ws", out_dir=tmp_path / "out",
                          engines=build_engines(options))

    assert report["source_language"] == "ja"
    assert report["route"] == "speech_translation"
    lines = report["segments"]
    assert len(lines) == 3
    # The source lines are the Japanese that was said; the targets are English, line for line.
    assert "傘" in lines[1]["source_text"] or "かさ" in lines[1]["source_text"]
    english = [_words(line["text"]) for line in lines]
    assert "umbrella" in english[1]
    assert "thank you" in english[2] and "watching" in english[2]
    assert all(re.fullmatch(r"[a-z' ]+", text) for text in english)
    assert (tmp_path / "out").glob("*.en.srt")


def test_a_target_past_english_is_reached_through_the_text_translator(japanese_video, tmp_path):
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline

    options = DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, source_language="ja", background="duck", engines="local")
    report = run_pipeline(japanese_video, options, workspace=tmp_path / "ws", out_dir=tmp_path / "out",
                          engines=build_engines(options))

    spanish = " ".join(line["text"] for line in report["segments"]).lower()
    assert "gracias" in spanish and "paraguas" in spanish


def test_dub_help_names_how_each_pair_is_made(capsys):
    from django.core.management import call_command

    with pytest.raises(SystemExit):
        call_command("dub", "--help")
    out = capsys.readouterr().out
    assert re.search(r"direct: .*en->es", out)
    assert re.search(r"through a pivot language: .*en->pt", out)
    assert re.search(r"speech translation into English: .*ja->en", out, re.DOTALL)
    translated, _, subtitles_only = out.partition("only with your own target subtitles")
    assert "ko->" not in translated  # Korean is translated by nothing offline...
    assert re.search(r"ko->en", subtitles_only) and "en->ko" in subtitles_only  # ...but dubbed with subtitles


def test_a_speech_translated_pair_without_the_audio_is_refused_by_name():
    from dubbing.engines.base import Segment, UnsupportedLanguage
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions

    translator = build_engines(DubOptions(target_language="und", engines="local")).translator
    line = Segment(id="s0001", start=0.0, end=1.0, text="午後は傘を持ってきてください。")
    with pytest.raises(UnsupportedLanguage, match=r"ja->es is made by speech translation, which needs the audio"):
        translator.translate([line], "ja", "es", {"glossary": {}})
    # A text pair never needs it.
    assert translator.translate([Segment(id="s1", start=0.0, end=1.0, text="Thank you.")], "en", "es", {}) == {
        "s1": "Gracias."}
