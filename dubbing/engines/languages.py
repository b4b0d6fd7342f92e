"""Language codes: the pipeline speaks ISO 639-1 ("en", "es", "ko"); apertium speaks ISO 639-3
("eng", "spa") and subtitle tracks in mp4 want ISO 639-2/B."""

from __future__ import annotations

from dubbing.engines.openai_languages import WHISPER_LANGUAGES

# ISO 639-3 -> ISO 639-1 for languages with apertium pairs or espeak voices we expect to meet.
ISO3_TO_1 = {
    "eng": "en", "spa": "es", "cat": "ca", "por": "pt", "fra": "fr", "ita": "it", "deu": "de",
    "nld": "nl", "glg": "gl", "eus": "eu", "oci": "oc", "ron": "ro", "rus": "ru", "ukr": "uk",
    "pol": "pl", "ces": "cs", "slk": "sk", "swe": "sv", "dan": "da", "nob": "nb", "nno": "nn",
    "isl": "is", "fin": "fi", "est": "et", "lav": "lv", "lit": "lt", "hun": "hu", "tur": "tr",
    "ara": "ar", "heb": "he", "hin": "hi", "urd": "ur", "ben": "bn", "kor": "ko", "jpn": "ja",
    "zho": "zh", "cmn": "zh", "vie": "vi", "tha": "th", "ind": "id", "msa": "ms", "ell": "el",
    "bul": "bg", "srp": "sr", "hrv": "hr", "bos": "bs", "slv": "sl", "mkd": "mk", "bel": "be",
    "kaz": "kk", "tat": "tt", "gle": "ga", "cym": "cy", "bre": "br", "epo": "eo", "arg": "an",
    "ast": "ast", "afr": "af", "swa": "sw", "mlt": "mt", "sqi": "sq", "hye": "hy", "kat": "ka",
}
ISO1_TO_3 = {v: k for k, v in ISO3_TO_1.items() if k != "cmn"}

# ISO 639-2/B where it differs from 639-3 (mp4/mkv language tags).
_ISO2B = {"fra": "fre", "deu": "ger", "nld": "dut", "ces": "cze", "slk": "slo", "ron": "rum",
          "ell": "gre", "zho": "chi", "eus": "baq", "hye": "arm", "kat": "geo", "isl": "ice",
          "mkd": "mac", "msa": "may", "sqi": "alb", "cym": "wel", "fas": "per", "bod": "tib"}


def to_iso1(code: str) -> str:
    code = code.lower().replace("_", "-").split("-")[0]
    return ISO3_TO_1.get(code, code)


def to_iso2b(code: str) -> str:
    """The three-letter tag for a container's language metadata; 'und' when unknown."""
    iso3 = ISO1_TO_3.get(to_iso1(code))
    if not iso3:
        return "und"
    return _ISO2B.get(iso3, iso3)


def language_name(code: str) -> str:
    """The English name of a language code ("ko" -> "Korean"), from the recognizers' list (every
    language detection can report is on it); the code itself when unknown."""
    name = WHISPER_LANGUAGES.get(code.split("-")[0].lower())
    return name.title() if name else code
