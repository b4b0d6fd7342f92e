"""The offline voices: Piper (English) and Kokoro (Japanese) run from their packages through
onnxruntime, and the bundled Whisper understands what they say; the local set speaks each
language with the engine chosen for it and lists every voice it has."""

from __future__ import annotations

import re

import pytest

from dubbing.engines.base import EngineUnavailable

pytestmark = pytest.mark.media


@pytest.fixture(scope="module")
def local_tts():
    from dubbing.engine_config import engine_config
    from dubbing.engines.registry import build_tts

    return build_tts("local", engine_config(), threads=2)


@pytest.fixture(scope="module")
def whisper():
    from dubbing.engine_config import engine_config
    from dubbing.engines.registry import build_asr

    return build_asr("local", engine_config(), threads=2)


def _heard(whisper, wav, language, tmp_path):
    from testing.speech_clips import wav16k

    transcript = whisper.transcribe(wav16k(wav, tmp_path / f"{wav.stem}.16k.wav"), language)
    return " ".join(s.text for s in transcript.segments)


def test_english_is_spoken_by_piper_and_understood(local_tts, whisper, tmp_path):
    import jiwer

    assert local_tts.engine_for("en").name == "piper"
    text = "Tomorrow the weather will be sunny and warm in the morning."
    wav = local_tts.synthesize(text, "en", None, tmp_path / "en.wav")

    def norm(t):
        return " ".join(re.sub(r"[^a-z' ]", " ", t.lower()).split())

    assert jiwer.wer(norm(text), norm(_heard(whisper, wav, "en", tmp_path))) <= 0.15


def test_japanese_is_spoken_by_kokoro_and_understood(local_tts, whisper, tmp_path):
    assert local_tts.engine_for("ja").name == "kokoro"
    wav = local_tts.synthesize("こんにちは。今日はいい天気です。", "ja", "jm_kumo", tmp_path / "ja.wav")
    assert "こんにちは" in _heard(whisper, wav, "ja", tmp_path).replace(" ", "")


def test_other_languages_are_spoken_by_espeak_and_every_voice_is_listed(local_tts):
    assert local_tts.engine_for("ca").name == "espeak"
    assert local_tts.voices("en")[0] == "joe" and "m3" in local_tts.voices("en")
    assert local_tts.voices("ja")[:2] == ["jf_alpha", "jm_kumo"]
    assert local_tts.voices("ca")[:2] == ["m1", "f1"]
    assert local_tts.engine_for("en", "f3").name == "espeak"  # a listed voice picks its engine


def test_spanish_is_spoken_by_kokoro_and_its_fast_voices_stay_offered(local_tts):
    # Kokoro measured far more intelligible in Spanish (docs/sound.md); espeak-ng's variants
    # stay listed, and the other speakers of a dub given one are cast from the same engine.
    from dubbing.pipeline.casting import candidate_voices

    assert local_tts.engine_for("es").name == "kokoro" and local_tts.voices("es")[0] == "jf_alpha"
    assert local_tts.engine_for("es", "m1").name == "espeak"
    assert candidate_voices(local_tts, "es", 2)[0][0] == "jf_alpha"
    assert candidate_voices(local_tts, "es", 2, beside="m1")[0][:2] == ["m1", "f1"]


def test_korean_french_and_german_speakers_cast_in_order_get_the_measured_default_voice(local_tts):
    # Kokoro's own first voice is jf_alpha; jm_kumo measured more intelligible in these languages
    # (docs/sound.md) and is their default: a speaker whose voice could not be measured, cast in
    # the engine's order, gets it (before, jf_alpha spoke the English-into-Korean journey's dub).
    from dubbing.engines.base import Segment
    from dubbing.pipeline.casting import candidate_voices, cast_for

    for language in ("ko", "fr", "de"):
        assert local_tts.voices(language)[0] == "jm_kumo"
        assert candidate_voices(local_tts, language, 1)[0][0] == "jm_kumo", language
    lines = [Segment(id="s1", start=1.0, end=3.0, text="안녕하세요.")]
    cast = cast_for(local_tts, "ko", lines, {}, dub_voice=None, chosen=None)["speaker_1"]
    assert (cast.voice, cast.reason) == ("jm_kumo", "unmeasured")


def test_the_engine_is_named_after_the_one_that_speaks_the_target():
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions

    assert build_engines(DubOptions(target_language="en", source_language="es", engines="local")).names()["tts"] \
        == "piper"
    assert build_engines(DubOptions(target_language="es", engines="local")).names()["tts"] == "kokoro"
    # A dub that names a voice is recorded with the engine that speaks it.
    assert build_engines(DubOptions(target_language="es", engines="local", voice="m1")).names()["tts"] == "espeak"


def test_a_missing_voice_package_is_engine_unavailable_naming_it():
    from dubbing.engines.tts.piper import PiperVoice, voice_files

    with pytest.raises(EngineUnavailable, match=r"pip install no-such-piper-voice"):
        voice_files(PiperVoice("nobody", "en", "no-such-piper-voice", "data/x.onnx"))
