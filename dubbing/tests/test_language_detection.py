"""`--from auto` with the local recognizers: every installed recognizer scores the first 30 s, the
language is taken only with a clear margin, and speech that is none of them (or a language nothing
can translate to the target) stops with a message that says what to do."""

from __future__ import annotations

import subprocess

import pytest

from dubbing.tests.conftest import SPEECH_EN, SPEECH_KO

pytestmark = pytest.mark.media


def _wav(source, out, *filters):
    args = ["ffmpeg", "-v", "error", "-y", "-i", str(source)]
    if filters:
        args += ["-af", ",".join(filters)]
    subprocess.run(args + ["-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def local_asr():
    from dubbing.engines.asr.local import LocalASR
    from dubbing.engines.asr.pocketsphinx import PocketSphinxASR
    from dubbing.engines.asr.vosk import VoskKoreanASR

    return LocalASR([PocketSphinxASR(workers=1), VoskKoreanASR(workers=1)], workers=1)


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("detect")
    return {
        "en": _wav(SPEECH_EN, folder / "en.wav"),
        "ko": _wav(SPEECH_KO, folder / "ko.wav"),
        # Speech-like sound in no language: the VAD takes it for speech, so the recognizers must
        # be the ones to refuse it.
        "reversed": _wav(SPEECH_EN, folder / "reversed.wav", "areverse"),
    }


def test_auto_detects_english_speech_as_english(local_asr, wavs):
    assert local_asr.detect(wavs["en"]) == "en"
    assert local_asr.last_detection["en"] >= local_asr.last_detection["ko"] + 0.25


def test_auto_detects_korean_speech_as_korean_and_transcribes_it_with_vosk(local_asr, wavs):
    transcript = local_asr.transcribe(wavs["ko"], "auto")
    assert transcript.language == "ko"
    assert local_asr.last_detection["ko"] >= local_asr.last_detection["en"] + 0.25
    assert any("\uac00" <= ch <= "\ud7a3" for w in transcript.words for ch in w.text)  # Hangul words


def test_auto_on_speech_in_no_installed_language_stops_and_asks_for_the_language(local_asr, wavs):
    from dubbing.engines.asr.chunked import LanguageNotDetected

    with pytest.raises(LanguageNotDetected, match=r"Could not tell the spoken language.*--from") as refused:
        local_asr.transcribe(wavs["reversed"], "auto")
    assert refused.value.scores and max(refused.value.scores.values()) < 0.5


def test_auto_on_noise_without_speech_stops_and_asks_for_the_language(local_asr, tmp_path):
    from dubbing.engines.asr.chunked import LanguageNotDetected

    noise = tmp_path / "noise.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anoisesrc=d=8:c=pink:r=16000:a=0.1",
                    "-ac", "1", "-c:a", "pcm_s16le", str(noise)], check=True)
    with pytest.raises(LanguageNotDetected, match=r"No speech was found.*--from"):
        local_asr.transcribe(noise, "auto")


def test_dub_of_korean_speech_to_spanish_with_local_engines_names_the_missing_pair(tmp_path):
    """apertium has no ko->es: the dub must say it heard Korean, not transcribe it as English."""
    from dubbing.pipeline.errors import PipelineError
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.run import run_pipeline

    options = DubOptions(target_language="es", source_language="auto", background="drop", engines="local")
    with pytest.raises(PipelineError) as refused:
        run_pipeline(SPEECH_KO, options, workspace=tmp_path / "ws", out_dir=tmp_path / "out")
    assert refused.value.stage == "transcribe"
    assert "Detected Korean (ko)" in refused.value.message
    assert "no installed engine translates ko->es" in refused.value.message
    assert "--target-subtitles" in refused.value.message and "--engines openai" in refused.value.message
