"""Sound benchmark: how well and how fast the voice is separated from the music, and how
intelligible each offline voice is in each target language. Figures are printed, never asserted.

Separation (dubbing/engines/separation): on mixes built with known stems (espeak-ng sentences, all
different, over the generated groove of testing/stems.py) of 1 and 10 minutes: SI-SDR of the
background against the true music and of the vocals against the true voice (the mix's own
figures beside them: what `duck` and `keep` leave), the voice's leak into the background (the
gain at which the true voice is found in the background, by projection; and the energy of
background - music where the voice speaks, relative to the voice: leak plus music lost), SI-SDR minute by
minute (steady means the blocks and cross-fades cost nothing), speed (x real time) and peak
memory (PSS of the separating process and its ffmpegs).

    .venv/bin/python bench/sound.py                      # separation on 1 and 10 minutes, voices
    .venv/bin/python bench/sound.py --minutes 1 --skip-voices
    .venv/bin/python bench/sound.py --minutes --threads 2  # the voices table only
    .venv/bin/python bench/sound.py --minutes --languages es ko

Voices: for each target language, espeak-ng, Kokoro (through espeak-ng's IPA; two packs) and, for
English, Piper speak known sentences; the bundled Whisper writes down what it hears: WER (CER for
Korean), and each engine's real-time factor.

The machine is shared: the load average is printed beside the figures; compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onevoice.settings")

from bench.pipeline import OUT, PeakMemory, distinct_sentences  # noqa: E402  (needs ROOT on sys.path)


def known_stems(minutes: int, folder: Path):
    """The mix and its stems as float WAVs: `minutes` of distinct sentences over the groove."""
    from testing.stems import speech_over_music

    sentences = tuple(distinct_sentences(minutes * 25 + 10, seed=100 + minutes))
    stems = speech_over_music(folder / f"mix_{minutes}min.wav", seconds=minutes * 60.0, start=2.0, gap=0.9,
                              sentences=sentences)
    import soundfile as sf

    sf.write(str(folder / "music.wav"), stems.music, stems.rate, subtype="FLOAT")
    sf.write(str(folder / "speech.wav"), stems.speech, stems.rate, subtype="FLOAT")
    (folder / "lines.json").write_text(json.dumps([(a, b) for a, b, _ in stems.lines]))
    return stems.mix


def separation_child(mix: Path, folder: Path, threads: int) -> None:
    from dubbing.engines.separation.spleeter import SpleeterSeparator

    began = time.monotonic()
    separator = SpleeterSeparator(threads=threads)
    separator.session  # noqa: B018  (the weights read and the graph built here, timed apart)
    ready = time.monotonic()
    result = separator.separate(mix, folder / "vocals.wav", folder / "background.wav")
    done = time.monotonic()
    print(json.dumps({"load_seconds": ready - began, "separate_seconds": done - ready, "seconds": result.seconds,
                      "blocks": result.blocks}))


def score(folder: Path, mix: Path) -> dict:
    """SI-SDRs over the whole clip and per minute, read a minute at a time."""
    import numpy as np
    import soundfile as sf

    from testing.stems import si_sdr

    lines = json.loads((folder / "lines.json").read_text())
    files = {name: sf.SoundFile(str(folder / f"{name}.wav")) for name in ("music", "speech", "background", "vocals")}
    files["mix"] = sf.SoundFile(str(mix))
    rate = files["music"].samplerate
    sums = {k: 0.0 for k in ("bg_music", "bg_err", "v_speech", "v_err", "mix_music", "mix_err", "mixs_speech",
                             "mixs_err", "leak", "speech_on", "bg_dot_speech")}
    per_minute = []
    start = 0
    while True:
        chunk = {k: f.read(60 * rate, dtype="float64", always_2d=True) for k, f in files.items()}
        n = min(len(c) for c in chunk.values())
        if n == 0:
            break
        c = {k: v[:n] for k, v in chunk.items()}
        per_minute.append(si_sdr(c["background"], c["music"]))
        for est, ref, key in (("background", "music", "bg"), ("vocals", "speech", "v"), ("mix", "music", "mix"),
                              ("mix", "speech", "mixs")):
            e, r = c[est].ravel(), c[ref].ravel()
            # Accumulated for a whole-clip SI-SDR: the optimal scale is taken per minute (close enough
            # over minutes of the same material).
            alpha = np.dot(e, r) / max(np.dot(r, r), 1e-20)
            sums[f"{key}_{ref}" if key != "mixs" else "mixs_speech"] += float(np.sum((alpha * r) ** 2))
            sums[f"{key}_err"] += float(np.sum((e - alpha * r) ** 2))
        speaking = np.zeros(n, bool)
        for a, b in lines:
            lo, hi = max(0, int(a * rate) - start), min(n, int(b * rate) - start)
            if hi > lo:
                speaking[lo:hi] = True
        sums["leak"] += float(np.sum((c["background"] - c["music"])[speaking] ** 2))
        sums["speech_on"] += float(np.sum(c["speech"][speaking] ** 2))
        sums["bg_dot_speech"] += float(np.sum(c["background"][speaking] * c["speech"][speaking]))
        start += n
    for f in files.values():
        f.close()

    def db(a, b):
        return 10 * np.log10(max(a, 1e-20) / max(b, 1e-20))

    return {"background_si_sdr": db(sums["bg_music"], sums["bg_err"]), "vocals_si_sdr": db(sums["v_speech"], sums["v_err"]),
            "mix_vs_music": db(sums["mix_music"], sums["mix_err"]), "mix_vs_voice": db(sums["mixs_speech"], sums["mixs_err"]),
            "error_db": db(sums["leak"], sums["speech_on"]),
            "leak_db": 20 * np.log10(max(abs(sums["bg_dot_speech"]) / max(sums["speech_on"], 1e-20), 1e-10)),
            "per_minute": per_minute}


def bench_separation(minutes: int, threads: int) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-sound-", dir=OUT) as tmp:
        folder = Path(tmp)
        mix = known_stems(minutes, folder)
        load_before = os.getloadavg()[0]
        began = time.monotonic()
        child = subprocess.Popen([sys.executable, __file__, "--separation-child", str(mix), "--folder", str(folder),
                                  "--threads", str(threads)], stdout=subprocess.PIPE, text=True)
        with PeakMemory(child.pid) as memory:
            stdout, _ = child.communicate()
        wall = time.monotonic() - began
        if child.returncode != 0:
            raise SystemExit(f"separation failed ({child.returncode})")
        timing = json.loads(next(ln for ln in stdout.splitlines() if ln.startswith("{")))
        scores = score(folder, mix)
    return {"minutes": minutes, **timing, **scores, "wall": wall, "peak_mb": memory.peak / 2**20,
            "peak_rss_mb": memory.peak_rss / 2**20, "load": (load_before, os.getloadavg()[0])}


def print_separation(r: dict) -> None:
    media = r["seconds"]
    print(f"\nseparation, {r['minutes']} min ({r['blocks']} blocks):")
    print(f"  background SI-SDR vs the true music {r['background_si_sdr']:6.2f} dB   (the mix itself: "
          f"{r['mix_vs_music']:.2f} dB)")
    print(f"  vocals SI-SDR vs the true voice     {r['vocals_si_sdr']:6.2f} dB   (the mix itself: "
          f"{r['mix_vs_voice']:.2f} dB)")
    print(f"  voice leak into the background      {r['leak_db']:6.2f} dB (the gain at which the voice is still in it)")
    print(f"  background error where voice speaks {r['error_db']:6.2f} dB relative to the voice (leak + music lost)")
    per = r["per_minute"]
    print(f"  background SI-SDR per minute: min {min(per):.2f}, max {max(per):.2f} dB")
    print(f"  speed: {r['separate_seconds'] / media:.3f} x real time separating ({r['separate_seconds']:.1f} s for "
          f"{media:.0f} s), + {r['load_seconds']:.1f} s loading the weights and building the graph")
    print(f"  peak memory {r['peak_mb']:.0f} MB PSS ({r['peak_rss_mb']:.0f} MB RSS) of the separating process tree;"
          f"  load avg {r['load'][0]:.1f} -> {r['load'][1]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, nargs="*", default=[1, 10])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-voices", action="store_true")
    parser.add_argument("--languages", nargs="*", default=list(VOICE_LANGUAGES))
    parser.add_argument("--separation-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--voices-child", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.separation_child:
        separation_child(args.separation_child, args.folder, args.threads)
        return
    if args.voices_child:
        voices_child(args.voices_child, args.threads)
        return
    print(f"cores: {os.cpu_count()}, threads: {args.threads}  (machine shared with other jobs: see load averages)")
    for minutes in args.minutes:
        print_separation(bench_separation(minutes, args.threads))
    if not args.skip_voices:
        print_voices(args.threads, args.languages)


# Known sentences per target language (bench/engines.py's for en, es, pt, fr, it; the same
# forecast in the others), for the voices' intelligibility.
VOICE_SENTENCES = {
    "ca": ["Benvinguts a la nostra breu demostració.", "Demà el temps serà assolellat i càlid al matí.",
           "A la tarda, si us plau, porteu un paraigua.", "Gràcies per mirar-nos, i fins a la propera."],
    "ro": ["Bine ați venit la scurta noastră demonstrație.", "Mâine vremea va fi însorită și caldă dimineața.",
           "După-amiază, vă rugăm să aduceți o umbrelă.", "Vă mulțumim că ne-ați urmărit, pe data viitoare."],
    "de": ["Willkommen zu unserer kurzen Vorführung.", "Morgen wird das Wetter am Vormittag sonnig und warm.",
           "Am Nachmittag bringen Sie bitte einen Regenschirm mit.", "Danke fürs Zuschauen und bis zum nächsten Mal."],
    "nl": ["Welkom bij onze korte demonstratie.", "Morgen is het weer zonnig en warm in de ochtend.",
           "Neem in de middag alstublieft een paraplu mee.", "Bedankt voor het kijken, en tot de volgende keer."],
    "ko": ["짧은 시연에 오신 것을 환영합니다.", "내일 아침에는 날씨가 맑고 따뜻하겠습니다.",
           "오후에는 우산을 꼭 챙기세요.", "시청해 주셔서 감사합니다. 다음에 또 만나요."],
    "ru": ["Добро пожаловать на нашу короткую демонстрацию.", "Завтра утром будет солнечно и тепло.",
           "Днём, пожалуйста, возьмите зонтик.", "Спасибо за внимание, до новых встреч."],
    "pl": ["Witamy na naszej krótkiej prezentacji.", "Jutro rano będzie słonecznie i ciepło.",
           "Po południu proszę zabrać parasol.", "Dziękujemy za uwagę i do zobaczenia."],
}
VOICE_LANGUAGES = ("en", "es", "pt", "fr", "it", "ca", "ro", "de", "ko")


def voices_child(languages: list[str], threads: int) -> None:
    """Each engine and voice speaks each language's known sentences; the bundled Whisper (an
    independent listener: it never sees the text) writes down what it hears. One JSON line per row."""
    import django

    django.setup()
    import soundfile as sf

    from bench.engines import SENTENCES, english_sentences, error_rate
    from dubbing.engine_config import engine_config, model_dir
    from dubbing.engines.registry import build_asr
    from dubbing.engines.tts.espeak import EspeakTTS
    from dubbing.engines.tts.kokoro_ipa import KokoroIPATTS
    from dubbing.engines.tts.piper import PiperTTS
    from testing.speech_clips import wav16k

    asr = build_asr("local", engine_config(), threads=threads)
    asr.isolate = False
    texts = {**SENTENCES, **VOICE_SENTENCES, "en": english_sentences()}
    kokoro = KokoroIPATTS(model_dir(), threads=threads)
    espeak = EspeakTTS(concurrency=1)
    with tempfile.TemporaryDirectory(prefix="bench-voices-") as tmp:
        for language in languages:
            candidates = [("espeak-ng", espeak, None), ("kokoro", kokoro, "jf_alpha"), ("kokoro", kokoro, "jm_kumo")]
            if language == "en":
                candidates.insert(0, ("piper", PiperTTS(threads=threads), None))
            for engine_name, engine, voice in candidates:
                # Warmed up first: loading a model is paid once per worker, not per line.
                engine.synthesize(texts[language][0], language, voice, Path(tmp) / "warm.wav")
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
                print(json.dumps({
                    "language": language, "engine": engine_name, "voice": voice or "default",
                    "metric": "CER" if language in ("ko", "ja", "zh") else "WER",
                    "error": round(error_rate(" ".join(texts[language]), " ".join(said), language), 3),
                    "rtf": round(spent / audio, 3)}), flush=True)


def print_voices(threads: int, languages: list[str]) -> None:
    print(f"\nvoices: intelligibility (the bundled Whisper base writing down what it hears) and real-time factor")
    print(f"  {'lang':5} {'engine':10} {'voice':9} {'metric':6} {'error':>6} {'rtf':>6}")
    child = subprocess.Popen([sys.executable, __file__, "--voices-child", *languages, "--threads", str(threads)],
                             stdout=subprocess.PIPE, text=True)
    best: dict[str, tuple[float, str]] = {}
    for line in child.stdout:
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        print(f"  {r['language']:5} {r['engine']:10} {r['voice']:9} {r['metric']:6} {r['error']:6.3f} {r['rtf']:6.3f}",
              flush=True)
        if r["language"] not in best or r["error"] < best[r["language"]][0]:
            best[r["language"]] = (r["error"], f"{r['engine']} {r['voice']}")
    child.wait()
    print("  most intelligible: " + ", ".join(f"{lang} {name} ({err:.3f})" for lang, (err, name) in best.items()))


if __name__ == "__main__":
    main()
