"""Engine benchmark: per recognizer and clip, WER (or CER for Korean), real-time factor, peak
memory and language detection right or wrong; per voice and language, real-time factor and
intelligibility (the WER of the bundled Whisper transcribing that voice's speech of known
sentences). Clips: the shared fixtures, and clips made from them with a music bed and with noise
mixed under the speech (testing/speech_clips.py). Figures are printed, never asserted.

    .venv/bin/python bench/engines.py                # recognizers and voices
    .venv/bin/python bench/engines.py --skip-voices
    .venv/bin/python bench/engines.py --threads 2

Each recognizer configuration runs in its own process so that its peak memory is its own. The
machine is shared: the load average is printed beside the figures; compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onevoice.settings")

from testing.media import FIXTURE_MEDIA  # needs the repository on sys.path

CLIP_LANGUAGE = {"en": "en", "en_music": "en", "en_noise": "en", "ko": "ko", "de": "de", "reversed": None}
# Known sentences per language, for the voices' intelligibility.
SENTENCES = {
    "en": ["Welcome to our short demonstration.", "Tomorrow the weather will be sunny and warm in the morning.",
           "In the afternoon, please bring an umbrella.", "Thank you for watching, and see you next time."],
    "es": ["Bienvenidos a nuestra breve demostración.", "Mañana el tiempo será soleado y cálido por la mañana.",
           "Por la tarde, por favor traed un paraguas.", "Gracias por mirar, y hasta la próxima."],
    "pt": ["Bem-vindos à nossa breve demonstração.", "Amanhã o tempo estará ensolarado e quente de manhã.",
           "À tarde, por favor tragam um guarda-chuva.", "Obrigado por assistir, e até a próxima."],
    "fr": ["Bienvenue à notre courte démonstration.", "Demain le temps sera ensoleillé et chaud le matin.",
           "L'après-midi, apportez un parapluie s'il vous plaît.", "Merci de nous avoir regardés, à bientôt."],
    "it": ["Benvenuti alla nostra breve dimostrazione.", "Domani il tempo sarà soleggiato e caldo al mattino.",
           "Nel pomeriggio, per favore portate un ombrello.", "Grazie per la visione, e alla prossima."],
}


def english_sentences() -> list[str]:
    """The fixture's four sentences and twelve distinct ones of bench/pipeline.py: the fixture's
    alone are too easy to tell voices apart (every English voice scored 0.031)."""
    from bench.pipeline import distinct_sentences

    return SENTENCES["en"] + distinct_sentences(12, seed=7)


def words(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.lower()).split())


def error_rate(reference: str, hypothesis: str, language: str) -> float:
    import jiwer

    if language in ("ko", "ja", "zh"):
        return jiwer.cer(re.sub(r"\W", "", reference), re.sub(r"\W", "", hypothesis))
    return jiwer.wer(words(reference), words(hypothesis))


def reference_for(clip: str) -> str | None:
    if clip.startswith("en"):
        return (FIXTURE_MEDIA / "speech_en.txt").read_text()
    if clip == "ko":
        return (FIXTURE_MEDIA / "speech_ko.txt").read_text()
    if clip == "de":
        from testing.speech_clips import GERMAN_SENTENCES

        return GERMAN_SENTENCES
    return None


def asr_child(config: str, folder: Path, threads: int) -> None:
    """One recognizer configuration over every clip; prints one JSON line."""
    import django

    django.setup()
    import soundfile as sf

    from dubbing.engines.asr.whisper import Decoding, WhisperASR
    from dubbing.engines.base import UnsupportedLanguage
    from dubbing.engine_config import model_dir
    from dubbing.engines.vad import speech_regions_parallel

    compute, _, vad = config.partition("+")
    # One decoding for every language: what this configuration does on its own.
    # In this process (not a recognition process of its own): its peak memory is the figure.
    asr = WhisperASR(model_dir(), compute_type=compute, threads=threads, language_decoding={}, isolate=False)
    decoding = Decoding(compute, vad_filter=bool(vad))
    asr.decoding_for = lambda language: decoding
    rows = []
    for clip, language in CLIP_LANGUAGE.items():
        wav = folder / f"{clip}.wav"
        seconds = sf.info(str(wav)).frames / sf.info(str(wav)).samplerate
        regions = speech_regions_parallel(wav, workers=1)
        began = time.monotonic()
        try:
            detected = asr.transcribe(wav, "auto", regions=regions).language
        except UnsupportedLanguage:
            detected = None
        detection = {"expected": language, "detected": detected, "right": detected == language,
                     "scores": dict(list(asr.last_detection.items())[:3])}
        row = {"clip": clip, "seconds": round(seconds, 2), "detection": detection}
        if language is not None:
            began = time.monotonic()
            transcript = asr.transcribe(wav, language, regions=regions)
            elapsed = time.monotonic() - began
            hypothesis = " ".join(s.text for s in transcript.segments)
            row.update(error=round(error_rate(reference_for(clip), hypothesis, language), 3),
                       metric="CER" if language == "ko" else "WER", rtf=round(elapsed / seconds, 3))
        rows.append(row)
    print(json.dumps({"config": f"whisper-base {config}", "rows": rows,
                      "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def recognizers(folder: Path, threads: int) -> list[dict]:
    results = []
    for config in ("int8", "int8+vad", "float32", "float32+vad"):
        done = subprocess.run([sys.executable, __file__, "--asr-child", config, "--folder", str(folder),
                               "--threads", str(threads)], capture_output=True, text=True, check=False)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("{")), None)
        if line is None:
            print(f"{config}: failed\n{done.stderr[-2000:]}")
            continue
        results.append(json.loads(line))
    return results


def voices(threads: int) -> list[dict]:
    import django

    django.setup()
    import soundfile as sf

    from dubbing.engine_config import engine_config
    from dubbing.engines.registry import build_asr
    from dubbing.engines.tts.espeak import EspeakTTS
    from dubbing.engines.tts.piper import PiperTTS
    from testing.speech_clips import wav16k

    asr = build_asr("local", engine_config(), threads=threads)
    asr.isolate = False  # many short calls: no recognition process of their own (memory is not measured here)
    candidates = [("piper", PiperTTS(threads=threads), "en", None)]
    espeak = EspeakTTS(concurrency=1)
    for language in SENTENCES:
        candidates.append(("espeak", espeak, language, None))
        candidates.append(("espeak", espeak, language, "f3"))
    rows = []
    texts = {**SENTENCES, "en": english_sentences()}
    with tempfile.TemporaryDirectory(prefix="bench-voices-") as tmp:
        for engine_name, engine, language, voice in candidates:
            spent, audio, said = 0.0, 0.0, []
            for i, sentence in enumerate(texts[language]):
                out = Path(tmp) / f"{engine_name}-{language}-{voice}-{i}.wav"
                began = time.monotonic()
                engine.synthesize(sentence, language, voice, out)
                spent += time.monotonic() - began
                info = sf.info(str(out))
                audio += info.frames / info.samplerate
                heard = asr.transcribe(wav16k(out, out.with_suffix(".16k.wav")), language)
                said.append(" ".join(s.text for s in heard.segments))
            rows.append({"engine": engine_name, "voice": voice or "default", "language": language,
                         "rtf": round(spent / audio, 3),
                         "wer": round(error_rate(" ".join(texts[language]), " ".join(said), language), 3)})
    return rows


# Speech translation into English: what each clip says, in English.
JAPANESE = ["私たちの短いデモへようこそ。", "明日の朝は晴れて暖かくなるでしょう。", "午後は傘を持ってきてください。",
            "ご覧いただきありがとうございました。また次回お会いしましょう。"]
KOREAN_IN_ENGLISH = ("Hello. The weather is nice today. It may rain in the afternoon. Be sure to take an umbrella. "
                     "Thank you for watching.")
GERMAN_IN_ENGLISH = ("Good morning. Today the weather is nice and warm. In the afternoon it may rain, please take "
                     "an umbrella with you.")


def speech_translation(folder: Path, threads: int) -> list[dict]:
    """Whisper's speech translation into English (the pairs no text translator has) against the
    offline text route that ships (Spanish speech -> Whisper -> apertium es->en), each scored by
    WER against the English of what was said. A source is worth offering when its figure is
    near the text route's (dubbing.engines.translate.speech.SOURCES)."""
    import django

    django.setup()
    import numpy as np
    import soundfile as sf

    from dubbing.engines.base import Segment
    from dubbing.engine_config import engine_config, model_dir
    from dubbing.engine_config import engine_config
    from dubbing.engines.registry import build_asr
    from dubbing.engines.translate.apertium import ApertiumTranslator
    from dubbing.engines.tts.espeak import EspeakTTS
    from dubbing.engines.tts.kokoro import KokoroTTS
    from dubbing.engines.vad import speech_regions_parallel
    from testing.speech_clips import wav16k

    def joined(path: Path, engine, language: str, sentences: list[str], voice=None) -> Path:
        pieces = []
        for i, sentence in enumerate(sentences):
            raw = folder / f"st-{language}-{i}.wav"
            engine.synthesize(sentence, language, voice, raw)
            data, _ = sf.read(str(wav16k(raw, raw.with_suffix(".16k.wav"))), dtype="float32")
            pieces += [data, np.zeros(8000, dtype="float32")]
        sf.write(str(path), np.concatenate(pieces), 16000)
        return path

    asr = build_asr("local", engine_config(), threads=threads)
    clips = {
        "ja": (joined(folder / "st-ja.wav", KokoroTTS(model_dir(), threads=threads), "ja", JAPANESE),
               SENTENCES["en"], "Kokoro"),
        "ko": (folder / "ko.wav", KOREAN_IN_ENGLISH, "espeak-ng (the fixture)"),
        "de": (folder / "de.wav", GERMAN_IN_ENGLISH, "espeak-ng"),
    }
    rows = []
    for language, (wav, reference, voice) in clips.items():
        spans = speech_regions_parallel(wav, workers=1)
        seconds = sf.info(str(wav)).frames / 16000
        began = time.monotonic()
        english = " ".join(asr.translate_speech(wav, language, spans))
        rows.append({"source": language, "voice": voice, "route": "speech translation",
                     "wer": round(error_rate(" ".join(reference) if isinstance(reference, list) else reference,
                                             english, "en"), 3),
                     "rtf": round((time.monotonic() - began) / seconds, 3), "english": english})
    wav = joined(folder / "st-es.wav", EspeakTTS(concurrency=1), "es", SENTENCES["es"])
    began = time.monotonic()
    heard = asr.transcribe(wav, "es")
    segments = [Segment(id=f"s{i}", start=s.start, end=s.end, text=s.text) for i, s in enumerate(heard.segments)]
    english = " ".join(ApertiumTranslator().translate(segments, "es", "en", {}).values())
    rows.append({"source": "es", "voice": "espeak-ng", "route": "Whisper, then apertium es->en (text, ships)",
                 "wer": round(error_rate(" ".join(SENTENCES["en"]), english, "en"), 3),
                 "rtf": round((time.monotonic() - began) / (sf.info(str(wav)).frames / 16000), 3), "english": english})
    return rows


def main() -> None:
    import logging

    logging.disable(logging.INFO)  # faster-whisper logs every file it decodes
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-voices", action="store_true")
    parser.add_argument("--skip-recognizers", action="store_true")
    parser.add_argument("--skip-speech-translation", action="store_true")
    parser.add_argument("--asr-child")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.asr_child:
        return asr_child(args.asr_child, Path(args.folder), args.threads)
    from testing.speech_clips import make_clips

    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; threads {args.threads}")
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        make_clips(Path(tmp))
        if not args.skip_recognizers:
            print("\nrecognizer | clip | error | real-time factor | detection (top scores) | peak MB")
            for result in recognizers(Path(tmp), args.threads):
                for row in result["rows"]:
                    d = row["detection"]
                    error = f"{row['metric']} {row['error']:.3f}" if "error" in row else "-"
                    rtf = f"{row['rtf']:.3f}" if "rtf" in row else "-"
                    print(f"{result['config']} | {row['clip']} | {error} | {rtf} | "
                          f"{'right' if d['right'] else 'WRONG'}: {d['detected']} {d['scores']} | {result['peak_mb']}")
        if not args.skip_speech_translation:
            print("\nspeech translation into English | voice | route | WER against the English said | RTF | heard")
            for row in speech_translation(Path(tmp), args.threads):
                print(f"{row['source']}->en | {row['voice']} | {row['route']} | {row['wer']:.3f} | {row['rtf']:.3f} | "
                      f"{row['english'][:150]}")
    if not args.skip_voices:
        print(f"\nload average {os.getloadavg()[0]:.2f}")
        print("voice | language | real-time factor | intelligibility (Whisper WER)")
        for row in voices(args.threads):
            print(f"{row['engine']} {row['voice']} | {row['language']} | {row['rtf']:.3f} | {row['wer']:.3f}")


if __name__ == "__main__":
    main()
