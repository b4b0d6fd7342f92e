"""Measures every offline voice once, for casting (dubbing/pipeline/casting.py): each voice says
the same sentences, and the clip is measured as a speaker is (dubbing.engines.speakers: median
and 10th-90th percentile F0 of its voiced frames, mean d-vector). Writes
dubbing/engines/tts/voice_profiles.json, which ships with the code; run it again when a voice
is added.

    .venv/bin/python scripts/voice_profiles.py [--language en] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onevoice.settings")

SENTENCES = ("Good morning, everyone. Today we will look at the weather for the week ahead, "
             "and what it means for your plans.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", default="en", help="the language the voices read (each lists its voices)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import django

    django.setup()
    import soundfile as sf

    from dubbing.engine_config import build_engines
    from dubbing.engines.speakers import analyse
    from dubbing.pipeline.casting import VOICE_PROFILES
    from dubbing.pipeline.options import DubOptions

    options = DubOptions(target_language=args.language, source_language="auto" if args.language != "auto" else "en",
                         engines="local")
    tts = build_engines(options, threads=args.threads).tts
    profiles = {}
    with tempfile.TemporaryDirectory() as folder:
        for voice in tts.voices(args.language):
            wav = Path(folder) / f"{voice}.wav"
            tts.synthesize(SENTENCES, args.language, voice, wav)
            seconds = sf.info(str(wav)).duration
            analysis = analyse(wav, [(0.0, seconds)], num_speakers=1, method="embeddings")
            profile = analysis.profiles["speaker_1"]
            profiles[voice] = {**profile.to_dict(), "engine": tts.engine_for(args.language, voice).name}
            print(f"{voice:18} {profiles[voice]['engine']:10} median {profile.f0_median} Hz "
                  f"({profile.f0_low}-{profile.f0_high})", flush=True)
    # One voice a line: the file stays readable in a diff.
    measured = {"language": args.language, "text": SENTENCES, "script": "scripts/voice_profiles.py"}
    rows = [f"  {json.dumps(name)}: {json.dumps(profile)}" for name, profile in profiles.items()]
    VOICE_PROFILES.write_text(f'{{"measured_with": {json.dumps(measured)},\n "voices": {{\n'
                              + ",\n".join(rows) + "\n }}\n")
    print(f"wrote {VOICE_PROFILES}")


if __name__ == "__main__":
    main()
