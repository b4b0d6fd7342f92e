"""Pipeline benchmark: per-stage seconds, real-time factor and peak memory of a local dub, for
speech_en.mp4 and generated 10- and 60-minute clips of distinct English sentences (espeak-ng); and the wall time of 120 remote syntheses
against the loopback OpenAI server with 300 ms latency (bench/remote_synthesis.py's
`remote_synthesis_benchmark`, which sweeps concurrency on its own). Figures are printed, never asserted.

    .venv/bin/python bench/pipeline.py               # all sizes (the 60-minute run is long)
    .venv/bin/python bench/pipeline.py --minutes 0 10 --skip-openai
    .venv/bin/python bench/pipeline.py --minutes     # the remote synthesis figure only
    .venv/bin/python bench/pipeline.py --minutes 0 1 --skip-openai --background separate  # progress weights

The machine is shared: note the load average printed beside each figure.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from testing.media import FIXTURE_MEDIA  # noqa: E402  (needs the repository on sys.path)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onevoice.settings")
OUT = ROOT / "bench" / "out"
SPEECH_EN = FIXTURE_MEDIA / "speech_en.mp4"


_SUBJECTS = ("the old farmer", "my younger sister", "a tired doctor", "the school teacher", "our new neighbour",
             "the quiet student", "a famous singer", "the bus driver", "his best friend", "the young pilot",
             "a careful baker", "the city mayor", "her grandmother", "the night nurse", "a lost tourist")
_VERBS = ("painted", "carried", "found", "repaired", "sold", "cleaned", "borrowed", "opened", "described",
          "photographed", "wrapped", "ordered", "counted", "measured", "hid")
_OBJECTS = ("a blue boat", "the heavy boxes", "an old map", "the broken radio", "three green apples",
            "a wooden chair", "the kitchen window", "a small garden", "the morning paper", "a silver key",
            "the long letter", "a warm blanket", "the train tickets", "a paper kite", "the red bicycle")
_WHEN = ("near the river this morning", "before the storm arrived", "after a long day at work",
         "on the first day of spring", "while everyone was sleeping", "at the market on Sunday",
         "just before dinner", "during the football match", "outside the station at noon",
         "in the middle of the night", "behind the library yesterday", "under the bridge last week")


def distinct_sentences(count: int, seed: int) -> list[str]:
    """`count` different sentences: synthesis, translation and fitting each pay for every line,
    as with a real video (a clip made of one repeated line would hit every cache)."""
    import itertools
    import random

    combos = list(itertools.product(_SUBJECTS, _VERBS, _OBJECTS, _WHEN))
    random.Random(seed).shuffle(combos)
    if count > len(combos):
        raise ValueError(f"at most {len(combos)} distinct sentences")
    return [f"{s} {v} {o} {w}.".capitalize() for s, v, o, w in combos[:count]]


def distinct_speech_clip(minutes: int) -> Path:
    """A video of `minutes` of English speech, every sentence different (espeak-ng), with pauses
    between sentences and a plain picture: what a long lecture costs the pipeline."""
    import numpy as np
    import soundfile as sf

    target = OUT / f"speech_distinct_{minutes}min.mp4"
    if target.exists():
        return target
    OUT.mkdir(parents=True, exist_ok=True)
    total = minutes * 60.0
    rate = 22050
    wav = OUT / f".speech_distinct_{minutes}min.wav"
    written, index = 0.0, 0
    sentences = distinct_sentences(math.ceil(total / 3.0) + 50, seed=minutes)
    with sf.SoundFile(str(wav), "w", samplerate=rate, channels=1, subtype="PCM_16") as out, \
            tempfile.TemporaryDirectory() as tmp:
        while written < total:
            piece = Path(tmp) / "line.wav"
            subprocess.run(["espeak-ng", "-v", "en", "-s", "165", "-w", str(piece), sentences[index]], check=True)
            data, got = sf.read(str(piece), dtype="float32")
            assert got == rate
            pause = np.zeros(int(rate * (0.7 + 0.4 * (index % 3))), dtype=np.float32)
            out.write(np.concatenate([data, pause]))
            written += (len(data) + len(pause)) / rate
            index += 1
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=0x203040:s=640x360:r=25:d={total}",
                    "-i", str(wav), "-t", f"{total}", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage",
                    "-c:a", "aac", "-b:a", "128k", "-shortest", str(target)], check=True)
    wav.unlink()
    return target


class PeakMemory:
    """Samples the memory of this process and all its descendants (pool workers, ffmpeg,
    espeak) every 100 ms: getrusage's children figure is a max per child, not a sum.

    Two sums: RSS, and PSS (proportional set size, /proc/<pid>/smaps_rollup), which splits pages
    shared between processes among them. RSS over-counts a tree: a child forked from a 600 MB
    parent shows 600 MB until it execs, and spawned pool workers share their libraries; PSS is
    what the tree really takes from the machine."""

    def __init__(self, pid: int | None = None):
        self.root = pid or os.getpid()  # another process's tree when given (bench/sound.py's child)
        self.peak = 0  # PSS
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
        pids, stack = [], [self.root]
        while stack:
            pid = stack.pop()
            pids.append(pid)
            stack.extend(children.get(pid, []))
        return pids

    @staticmethod
    def _memory(pid: int) -> tuple[int, int]:
        """(rss, pss) in bytes; zeros for a process that is gone."""
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                fields = {line.split(":")[0]: int(line.split()[1]) for line in f if line.split()[-1] == "kB"}
        except (OSError, ValueError, IndexError):
            return 0, 0
        return fields.get("Rss", 0) * 1024, fields.get("Pss", 0) * 1024

    def _run(self):
        while not self._stop.is_set():
            rss = pss = 0
            for pid in self._tree():
                r, p = self._memory(pid)
                rss, pss = rss + r, pss + p
            self.peak, self.peak_rss = max(self.peak, pss), max(self.peak_rss, rss)
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bench_local(path: Path, *, background: str = "duck") -> dict:
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.probe import probe
    from dubbing.pipeline.publish import run_pipeline
    from videos.media.probe import timeline_duration

    duration = timeline_duration(probe(path))
    OUT.mkdir(parents=True, exist_ok=True)  # a clean clone has no bench/out yet
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=OUT))
    options = DubOptions(target_language="es", source_language="en", background=background, engines="local")
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    with PeakMemory() as memory:
        report = run_pipeline(path, options, workspace=work / "ws", out_dir=work / "out",
                              engines=build_engines(options), duck_db=-18.0)
    wall = time.monotonic() - began
    shutil.rmtree(work, ignore_errors=True)
    stages = {k: v["seconds"] for k, v in report["stages"].items()}
    return {"file": path.name, "media_seconds": duration, "wall": wall, "rtf": wall / duration, "stages": stages,
            "mix_mux_share": (stages["mix"] + stages["mux"]) / duration, "peak_mb": memory.peak / 2**20,
            "peak_rss_mb": memory.peak_rss / 2**20,
            "lines": len(report["segments"]), "load": (load_before, os.getloadavg()[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, nargs="*", default=[0, 10, 60], help="0 = speech_en.mp4 itself")
    parser.add_argument("--skip-openai", action="store_true")
    parser.add_argument("--background", default="duck", choices=("separate", "duck", "keep", "drop"),
                        help="the dubs' background (separate: the stage that splits music from voice runs)")
    args = parser.parse_args()
    import django

    django.setup()
    print(f"cores: {os.cpu_count()}  (machine shared with other jobs: see load averages)")
    results = []
    for minutes in args.minutes:
        path = SPEECH_EN if minutes == 0 else distinct_speech_clip(minutes)
        r = bench_local(path, background=args.background)
        results.append(r)
        print(f"\n{r['file']}: {r['media_seconds']:.1f} s of media, {r['lines']} lines")
        print("  stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in r["stages"].items()))
        # The split the jobs' progress bar and time-left estimate are weighted by
        # (dubbing/worker/progress.py STAGE_COST, docs/jobs.md "Progress and time left").
        print("  seconds per second of media: " + ", ".join(
            f"{k} {v / r['media_seconds']:.4f}" for k, v in r["stages"].items()))
        total = sum(r["stages"].values()) or 1.0
        print("  share of the stages' time: " + ", ".join(
            f"{k} {100 * v / total:.1f}%" for k, v in r["stages"].items()))
        print(f"  wall {r['wall']:.1f} s, real-time factor {r['rtf']:.3f} (target <= 0.3 for 10 min)")
        print(f"  mix+mux {100 * r['mix_mux_share']:.2f}% of media duration (target < 2%)")
        print(f"  peak memory {r['peak_mb']:.0f} MB PSS of the process tree ({r['peak_rss_mb']:.0f} MB summed RSS)  "
              f"load avg {r['load'][0]:.1f} -> {r['load'][1]:.1f}")
    by_minutes = dict(zip(args.minutes, results))
    if 10 in by_minutes and 60 in by_minutes:
        print(f"\npeak memory 60 min / 10 min: {by_minutes[60]['peak_mb'] / by_minutes[10]['peak_mb']:.2f} "
              "(target <= 1.2; 60 min target < 600 MB)")
    if not args.skip_openai:
        import logging

        from bench.remote_synthesis import remote_synthesis_benchmark

        logging.getLogger("httpx").setLevel(logging.WARNING)  # Django's logging would print every request
        o = remote_synthesis_benchmark(segments=120, latency=0.3, concurrency=8)
        print(f"\nOpenAI loopback TTS, {o['segments']} lines, {o['latency'] * 1000:.0f} ms latency, "
              f"concurrency {o['concurrency']}: wall {o['wall_seconds']:.2f} s vs ideal {o['ideal_seconds']:.2f} s "
              f"({o['fraction_of_ideal']:.2f} of the ideal speed-up; bench/remote_synthesis.py for more)")


if __name__ == "__main__":
    main()
