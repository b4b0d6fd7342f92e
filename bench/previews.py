"""Voice previews: how long a preview takes the web process the first time (synthesis by the
real local engine) and again (read from the disk cache), per engine.

    .venv/bin/python bench/previews.py
    .venv/bin/python bench/previews.py --voices es:m1 es:jf_alpha en:joe ko:jm_kumo --repeats 5

For each language:voice it times, in one process: the first preview (the speech engine built
and loaded, then the sample sentence synthesized), a second sentence of the same length never
heard before (synthesis alone), and the cached repeat (what every later click costs), and prints
the preview's length. The previews go to a temporary DUBBING_WORKSPACE_DIR, removed at the end.
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VOICES = ("es:m1", "es:jf_alpha", "en:joe", "ko:jm_kumo")
SECOND = {  # another sentence of about the sample's length, never heard before
    "es": "Mañana por la tarde vamos a visitar el museo nuevo del centro.",
    "en": "Tomorrow afternoon we are going to visit the new museum downtown.",
    "ko": "내일 오후에는 시내에 새로 생긴 박물관에 가 볼 거예요.",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", nargs="+", default=list(DEFAULT_VOICES), help="language:voice pairs")
    parser.add_argument("--repeats", type=int, default=3, help="cached repeats timed per voice")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="onevoice-bench-previews-"))
    os.environ["DUBBING_WORKSPACE_DIR"] = str(folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onevoice.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import soundfile as sf

    from dubbing import voices as previews
    from dubbing.languages import language_support

    try:
        started = time.perf_counter()
        support = language_support()
        print(f"engines asked for their voices in {time.perf_counter() - started:.2f} s")
        print(f"{'voice':<16} {'first (build+say)':>18} {'new line':>9} {'cached p50':>11} {'preview':>8}")
        for pair in args.voices:
            language, voice = pair.split(":", 1)
            if voice not in support.voices.get(language, []):
                print(f"{pair:<16} not a voice of '{language}' here")
                continue
            began = time.perf_counter()
            first = previews.voice_preview(language=language, voice=voice)
            first_s = time.perf_counter() - began
            fresh_s = float("nan")
            if language in SECOND:
                previews.PREVIEW_SENTENCES[language], saved = SECOND[language], previews.PREVIEW_SENTENCES.get(language)
                began = time.perf_counter()
                previews.voice_preview(language=language, voice=voice)
                fresh_s = time.perf_counter() - began
                previews.PREVIEW_SENTENCES[language] = saved
            cached = []
            for _ in range(args.repeats):
                began = time.perf_counter()
                again = previews.voice_preview(language=language, voice=voice)
                cached.append(time.perf_counter() - began)
                assert again.cached
            info = sf.info(str(first.path))
            print(f"{pair:<16} {first_s:>17.2f}s {fresh_s:>8.2f}s {statistics.median(cached) * 1000:>9.1f}ms "
                  f"{info.frames / info.samplerate:>7.2f}s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
