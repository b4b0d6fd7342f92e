"""Kokoro for every language espeak-ng reads: espeak-ng's IPA lands wholly inside Kokoro's phoneme
vocabulary for each offered language (Korean included), the way misaki maps it; a line with
nothing to say is refused by quoting it; the voice packs and their blends speak, and the bundled
Whisper understands Spanish and Korean from them."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf

from dubbing.engines.base import UnsupportedLanguage
from dubbing.engines.tts.kokoro_ipa import (
    BLENDS,
    ESPEAK_VOICES,
    VOICES,
    KokoroIPATTS,
    Unreadable,
    phonemize,
    to_kokoro,
    vocabulary,
)

pytestmark = pytest.mark.media

# One everyday sentence per offered language (the weather forecast the benchmarks read).
SAMPLES = {
    "en": "Tomorrow the weather will be sunny and warm in the morning. Please bring an umbrella!",
    "es": "Mañana el tiempo será soleado y cálido por la mañana. ¿Traerás un paraguas?",
    "ca": "Demà el temps serà assolellat i càlid al matí. Porteu un paraigua, si us plau.",
    "pt": "Amanhã o tempo estará ensolarado e quente de manhã. Tragam um guarda-chuva, por favor.",
    "fr": "Demain le temps sera ensoleillé et chaud le matin. Apportez un parapluie, s'il vous plaît.",
    "it": "Domani il tempo sarà soleggiato e caldo al mattino. Portate un ombrello, per favore.",
    "ro": "Mâine vremea va fi însorită și caldă dimineața. Vă rugăm să aduceți o umbrelă.",
    "de": "Morgen wird das Wetter am Vormittag sonnig und warm. Bitte nehmen Sie einen Regenschirm mit.",
    "nl": "Morgen is het weer zonnig en warm in de ochtend. Neem alstublieft een paraplu mee.",
    "ko": "내일 아침에는 날씨가 맑고 따뜻하겠습니다. 오후에는 우산을 꼭 챙기세요.",
    "ru": "Завтра утром будет солнечно и тепло. Пожалуйста, возьмите зонтик.",
    "uk": "Завтра вранці буде сонячно і тепло. Будь ласка, візьміть парасольку.",
    "pl": "Jutro rano będzie słonecznie i ciepło. Proszę zabrać parasol.",
    "cs": "Zítra ráno bude slunečno a teplo. Vezměte si prosím deštník.",
    "tr": "Yarın sabah hava güneşli ve sıcak olacak. Lütfen bir şemsiye getirin.",
    "hi": "कल सुबह मौसम धूप और गर्म रहेगा। कृपया छाता लेकर आएं।",
    "id": "Besok pagi cuacanya akan cerah dan hangat. Tolong bawa payung.",
    "sv": "I morgon blir vädret soligt och varmt på förmiddagen. Ta med ett paraply.",
    "da": "I morgen bliver vejret solrigt og varmt om morgenen. Tag en paraply med.",
    "nb": "I morgen blir været solfylt og varmt om morgenen. Ta med en paraply.",
    "fi": "Huomenna aamulla on aurinkoista ja lämmintä. Ota sateenvarjo mukaan.",
    "hu": "Holnap reggel napos és meleg idő lesz. Kérem, hozzon esernyőt.",
    "el": "Αύριο το πρωί ο καιρός θα είναι ηλιόλουστος και ζεστός. Παρακαλώ φέρτε μια ομπρέλα.",
    "vi": "Ngày mai trời sẽ nắng và ấm vào buổi sáng. Hãy mang theo ô nhé.",
    "ar": "سيكون الطقس غدا مشمسا ودافئا في الصباح. من فضلك أحضر مظلة.",
}


def test_every_offered_language_has_a_sample_here():
    assert set(SAMPLES) == set(ESPEAK_VOICES)


@pytest.mark.parametrize("language", sorted(ESPEAK_VOICES))
def test_espeak_ipa_maps_wholly_into_kokoros_phonemes(language):
    result = phonemize(SAMPLES[language], language)
    vocab = vocabulary()
    assert result.unknown == set()  # nothing was dropped for want of a Kokoro symbol
    assert len(result.sentences) == 2  # two sentences in, two out (the Hindi danda included)
    for sentence in result.sentences:
        assert all(c in vocab for c in sentence)
        assert not re.search(r"[\^()\-0-9]", sentence)  # ties, language flags, tone digits gone
        assert sentence[-1] in ".!?"
        assert re.search(r"[ˈˌ]", sentence)  # the stress espeak-ng marks is kept: Kokoro reads it


def test_tied_affricates_and_diphthongs_become_kokoros_single_letters():
    assert to_kokoro("t^ʃˈaʊ mˈa^ɪ d^ʒˈe^ɪ", "es")[0] == "ʧˈaʊ mˈI ʤˈA"
    assert to_kokoro("ɡˈo^ʊ hˈa^ʊs bˈɔ^ɪ", "en")[0] == "ɡˈO hˈWs bˈY"
    assert to_kokoro("(^e^n)hˈɛlo^ʊ(^e^s) kˈe tˈal", "es")[0] == "hˈɛlO kˈe tˈal"  # flags dropped, words kept
    # American English the way misaki's fallback reads espeak-ng: r-coloured schwa, no length marks.
    assert to_kokoro("bˈʌtɚ wˈɜːld", "en")[0] == "bˈʌtəɹ wˈɜɹld"


def test_korean_is_read_with_its_aspiration_and_without_espeaks_private_marks():
    result = phonemize("카페 택시 포도. 아침에 꼭 오세요.", "ko")
    first, second = result.sentences
    assert first.startswith("kʰˈɐpʰe tʰˈɛksi pʰˈodo")  # aspirated stops: ʰ, not a separate h
    assert "ʧʰ" in second and "-" not in second and "q" not in second  # tense ㄲ: a plain k here
    assert "h" in phonemize("오후", "ko").sentences[0]  # a real h stays an h


def test_a_line_with_nothing_to_say_is_refused_naming_it():
    with pytest.raises(Unreadable, match=r'"\.\.\. !!! \?\?\?".*es') as caught:
        phonemize("... !!! ???", "es")
    assert caught.value.retryable is False
    with pytest.raises(UnsupportedLanguage, match="zz"):
        phonemize("hola", "zz")


def test_punctuation_shapes_the_sentences_kokoro_reads():
    result = phonemize("Hola, ¿qué tal? Bien: gracias.", "es")
    assert [s[-1] for s in result.sentences] == ["?", "."]
    assert "," in result.sentences[0] and ":" in result.sentences[1]


@pytest.fixture(scope="module")
def kokoro():
    from dubbing.engine_config import model_dir

    return KokoroIPATTS(model_dir(), threads=2)


@pytest.fixture(scope="module")
def whisper():
    from dubbing.engine_config import engine_config
    from dubbing.engines.registry import build_asr

    return build_asr("local", engine_config(), threads=2)


def _heard(whisper, wav, language, tmp_path) -> str:
    from testing.speech_clips import wav16k

    transcript = whisper.transcribe(wav16k(wav, tmp_path / f"{wav.stem}.16k.wav"), language)
    return " ".join(s.text for s in transcript.segments)


def test_every_offered_language_lists_the_packs_and_the_blends(kokoro):
    assert "ko" in kokoro.languages() and "es" in kokoro.languages() and "ja" not in kokoro.languages()
    assert kokoro.voices("ko") == list(VOICES)
    assert VOICES[:2] == ("jf_alpha", "jm_kumo") and set(BLENDS) <= set(VOICES)
    with pytest.raises(UnsupportedLanguage, match="no voice 'nobody'"):
        kokoro.synthesize("hola", "es", "nobody", "unused.wav")


def test_spanish_from_kokoro_is_understood(kokoro, whisper, tmp_path):
    import jiwer

    text = "Mañana el tiempo será soleado y cálido por la mañana."
    wav = kokoro.synthesize(text, "es", "jf_alpha", tmp_path / "es.wav")

    def norm(t):
        return " ".join(re.sub(r"[^\w ]", " ", t.lower()).split())

    assert jiwer.wer(norm(text), norm(_heard(whisper, wav, "es", tmp_path))) <= 0.25


def test_korean_from_kokoro_is_understood(kokoro, whisper, tmp_path):
    import jiwer

    text = "내일 아침에는 날씨가 맑고 따뜻하겠습니다."
    wav = kokoro.synthesize(text, "ko", "jm_kumo", tmp_path / "ko.wav")
    heard = _heard(whisper, wav, "ko", tmp_path)
    assert jiwer.cer(re.sub(r"\W", "", text), re.sub(r"\W", "", heard)) <= 0.4, heard


def _pitch(wav) -> float:
    import librosa

    samples, rate = sf.read(str(wav), dtype="float32")
    f0, voiced, _ = librosa.pyin(samples, fmin=60, fmax=400, sr=rate, frame_length=1024)
    return float(np.nanmedian(f0[voiced]))


def test_a_blend_of_a_man_and_a_woman_speaks_between_them(kokoro, tmp_path):
    text = "Buenos días a todos."
    man = _pitch(kokoro.synthesize(text, "es", "jm_kumo", tmp_path / "man.wav"))
    woman = _pitch(kokoro.synthesize(text, "es", "jf_alpha", tmp_path / "woman.wav"))
    blend = _pitch(kokoro.synthesize(text, "es", "kumo_alpha", tmp_path / "blend.wav"))
    assert man < blend < woman


def test_the_local_set_speaks_korean_with_kokoro_and_offers_its_voices_everywhere():
    from dubbing.engine_config import engine_config
    from dubbing.engines.registry import build_tts

    local = build_tts("local", engine_config(), threads=2)
    for language in ("ko", "fr", "de"):  # measured the most intelligible there (docs/sound.md)
        assert local.engine_for(language).name == "kokoro" and local.voices(language)[0] == "jm_kumo"
    assert local.voices("ko")[:2] == ["jm_kumo", "jf_alpha"] and "kumo_alpha" in local.voices("ko")
    assert local.engine_for("ca").name == "espeak" and "jf_alpha" in local.voices("ca")
    assert local.engine_for("ca", "jf_alpha").name == "kokoro"  # a speaker given a Kokoro voice
    assert local.engine_for("ja").name == "kokoro" and local.voices("ja")[0] == "jf_alpha"
