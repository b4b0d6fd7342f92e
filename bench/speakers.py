"""Speakers benchmark: who speaks each line, by d-vector embeddings against the pitch-and-MFCC
clustering they replaced, on generated conversations. Figures are printed, never asserted.

Clips (testing/speech_clips.alternating_turns): short alternating turns of a dozen everyday lines,
spoken by two or three different voices: Kokoro packs of different pitch (jm_kumo low, jf_alpha
and jf_nezumi high) through espeak-ng's IPA, and espeak-ng variants (en+m3, en+f4); one of them
with the music bed ~12 dB under the speech (48 kHz stereo, as users upload), and one voice alone.

Per clip and method: the speaker count found against the true one, and the share of lines given
the right speaker (labels matched to the truth by the best one-to-one mapping). Methods:
embeddings detecting the count (the default), embeddings given the count (`num_speakers`), and
the previous pitch/MFCC clustering detecting the count. Then a sweep of the embedding
clustering's join distance over all clips (what chose JOIN_DISTANCE), and the encoder's speed in
x real time (seconds of speech embedded per second). The two "hard" clips (two voices of one sex
and close pitch) are left out of the two-speaker average and shown on their own.

    .venv/bin/python bench/speakers.py [--threads 1] [--keep FOLDER]

The machine is shared: the load average is printed beside the figures; compare ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onevoice.settings")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ALTERNATE2 = [0, 1] * 6
ALTERNATE3 = [0, 1, 2, 0, 2, 1, 0, 1, 2, 1, 0, 2]
CLIPS = (
    # name, voices, turns, music
    ("two espeak (m3, f4)", ("e:en+m3", "e:en+f4"), ALTERNATE2, False),
    ("two kokoro (kumo, alpha)", ("k:jm_kumo", "k:jf_alpha"), ALTERNATE2, False),
    ("two kokoro + music 48k", ("k:jm_kumo", "k:jf_alpha"), ALTERNATE2, True),
    ("two mixed (kumo, f4)", ("k:jm_kumo", "e:en+f4"), ALTERNATE2, False),
    ("three mixed (kumo, alpha, m3)", ("k:jm_kumo", "k:jf_alpha", "e:en+m3"), ALTERNATE3, False),
    ("three mixed + music 48k", ("k:jm_kumo", "k:jf_alpha", "e:en+m3"), ALTERNATE3, True),
    ("three kokoro (kumo, alpha, nezumi)", ("k:jm_kumo", "k:jf_alpha", "k:jf_nezumi"), ALTERNATE3, False),
    ("one kokoro (kumo)", ("k:jm_kumo",), [0] * 12, False),
    # Hard: two voices of one sex and similar pitch.
    ("hard: two espeak men (m3, m1)", ("e:en+m3", "e:en+m1"), ALTERNATE2, False),
    ("hard: two kokoro women (alpha, nezumi)", ("k:jf_alpha", "k:jf_nezumi"), ALTERNATE2, False),
)
SWEEP = (0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60)


def right_share(found: list[str], truth: list[int]) -> float:
    """The share of lines whose label maps to their true speaker, under the best one-to-one map."""
    from scipy.optimize import linear_sum_assignment

    names = sorted(set(found))
    table = np.zeros((len(names), max(truth) + 1))
    for label, who in zip(found, truth):
        table[names.index(label), who] += 1
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(truth))


def make_clips(folder: Path, threads: int):
    from dubbing.engine_config import model_dir
    from dubbing.engines.tts.kokoro_ipa import KokoroIPATTS
    from testing.speech_clips import alternating_turns, espeak_speaker, tts_speaker

    kokoro = KokoroIPATTS(model_dir(), threads=threads)

    def speaker(spec: str):
        kind, voice = spec.split(":", 1)
        return espeak_speaker(voice) if kind == "e" else tts_speaker(kokoro, "en", voice)

    clips = []
    for i, (name, voices, turns, music) in enumerate(CLIPS):
        wav, lines = alternating_turns(folder / f"clip{i}.wav", [speaker(v) for v in voices], turns, music=music,
                                  rate=48000 if music else 16000, channels=2 if music else 1)
        clips.append((name, wav, lines, len(voices)))
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads (Kokoro and the encoder)")
    parser.add_argument("--keep", help="make the clips in this folder and keep them")
    args = parser.parse_args()

    import django

    django.setup()
    from dubbing.engines.speaker_encoder import SpeakerEncoder
    from dubbing.engines.speakers import JOIN_DISTANCE, analyse, cluster_embeddings, measure_lines, read_line

    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-speakers-"))
    folder.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    clips = make_clips(folder, args.threads)
    print(f"{len(clips)} clips made in {time.monotonic() - began:.1f} s (load {os.getloadavg()[0]:.1f})\n")

    encoder = SpeakerEncoder(threads=args.threads)
    rows, sweep, speech_seconds, embed_seconds = [], {d: [] for d in SWEEP}, 0.0, 0.0
    for name, wav, lines, true_count in clips:
        spans = [(a, b) for a, b, _ in lines]
        truth = [who for _, _, who in lines]
        row = [name, true_count]
        for method, count in (("embeddings", 0), ("embeddings", true_count), ("features", 0)):
            found = analyse(wav, spans, method=method, num_speakers=count).labels
            row += [len(set(found)), right_share(found, truth)]
        rows.append(row)
        measured = measure_lines(wav, spans, encoder)
        with sf.SoundFile(str(wav)) as f:
            samples = [read_line(f, a, b) for a, b in spans]
        t = time.monotonic()
        for y in samples:
            encoder.embed(y)
        embed_seconds += time.monotonic() - t
        speech_seconds += sum(len(y) for y in samples) / 16000
        for d in SWEEP:
            found = cluster_embeddings([m.embedding for m in measured], spans, join_distance=d)
            sweep[d].append((len(set(found)) == true_count, right_share([str(x) for x in found], truth)))

    print("| clip | speakers | embeddings: found, right | embeddings given the count: found, right | "
          "pitch/MFCC (before): found, right |")
    print("|---|---|---|---|---|")
    for name, true_count, *figures in rows:
        cells = [f"{figures[i]}, {figures[i + 1]:.0%}" for i in (0, 2, 4)]
        print(f"| {name} | {true_count} | " + " | ".join(cells) + " |")
    for label, offset in (("embeddings", 2), ("embeddings given the count", 4), ("pitch/MFCC", 6)):
        counts = sum(r[1] == r[offset] for r in rows)
        two = [r[offset + 1] for r in rows if r[1] == 2 and not r[0].startswith("hard")]
        three = [r[offset + 1] for r in rows if r[1] == 3]
        print(f"{label}: count right on {counts}/{len(rows)} clips; lines right on two distinct speakers "
              f"{np.mean(two):.1%} (target 95%), on three {np.mean(three):.1%} (target 90%)")
    print(f"\njoin distance sweep (JOIN_DISTANCE = {JOIN_DISTANCE}):")
    for d, results in sweep.items():
        print(f"  {d:.2f}: count right on {sum(ok for ok, _ in results)}/{len(results)}, "
              f"lines right {np.mean([share for _, share in results]):.1%} on average, "
              f"worst clip {min(share for _, share in results):.0%}")
    print(f"\nencoder: {speech_seconds:.1f} s of speech embedded in {embed_seconds:.2f} s: "
          f"{speech_seconds / embed_seconds:.1f}x real time ({args.threads} thread(s), "
          f"load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
