"""Pipeline benchmark: per-stage seconds, real-time factor and peak memory of a local dub, for
speech_en.mp4 and generated 10- and 60-minute clips; and the wall time of 120 remote syntheses
against the loopback OpenAI server with 300 ms latency. Figures are printed, never asserted.

    .venv/bin/python bench/pipeline.py               # all sizes (the 60-minute run is long)
    .venv/bin/python bench/pipeline.py --minutes 0 10 --skip-openai

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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onevoice.settings")
OUT = ROOT / "bench" / "out"
SPEECH_EN = Path("/work/shared/media/speech_en.mp4")


def concat_clip(minutes: int) -> Path:
    """speech_en.mp4 repeated to `minutes` with the concat demuxer and -c copy (no re-encode)."""
    target = OUT / f"speech_en_{minutes}min.mp4"
    if target.exists():
        return target
    OUT.mkdir(parents=True, exist_ok=True)
    repeats = math.ceil(minutes * 60 / 18.68)
    listing = OUT / f"concat_{minutes}.txt"
    listing.write_text("".join(f"file '{SPEECH_EN}'\n" for _ in range(repeats)))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(target)], check=True)
    return target


class PeakMemory:
    """Samples the summed RSS of this process and all its descendants (pool workers, ffmpeg,
    espeak) every 100 ms: getrusage's children figure is a max per child, not a sum."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree_rss(self) -> int:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ppid, pages = int(fields[1]), int(fields[21])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
            rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
        total, stack = 0, [os.getpid()]
        while stack:
            pid = stack.pop()
            total += rss.get(pid, 0)
            stack.extend(children.get(pid, []))
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bench_local(path: Path) -> dict:
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.probe import probe, timeline_duration
    from dubbing.pipeline.run import run_pipeline

    duration = timeline_duration(probe(path))
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=OUT))
    options = DubOptions(target_language="es", source_language="en", background="duck", engines="local")
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    with PeakMemory() as memory:
        report = run_pipeline(path, options, workspace=work / "ws", out_dir=work / "out")
    wall = time.monotonic() - began
    shutil.rmtree(work, ignore_errors=True)
    stages = {k: v["seconds"] for k, v in report["stages"].items()}
    return {"file": path.name, "media_seconds": duration, "wall": wall, "rtf": wall / duration, "stages": stages,
            "mix_mux_share": (stages["mix"] + stages["mux"]) / duration, "peak_mb": memory.peak / 2**20,
            "lines": len(report["segments"]), "load": (load_before, os.getloadavg()[0])}


def bench_openai_synthesis(segments: int = 120, latency: float = 0.3) -> dict:
    from dubbing.engines.base import Segment
    from dubbing.engines.tts.openai import OpenAITTS
    from dubbing.pipeline.synthesize import synthesize_segments
    from testing.openai_server import OpenAIServer

    concurrency = 8
    with OpenAIServer(latency=latency) as server:
        tts = OpenAITTS(base_url=server.base_url, api_key="sk-bench", concurrency=concurrency)
        lines = [Segment(id=f"s{i:04d}", start=i, end=i + 1, text=f"Line number {i}.") for i in range(segments)]
        folder = Path(tempfile.mkdtemp(prefix="bench-tts-", dir=OUT))
        began = time.monotonic()
        synthesize_segments(tts, lines, {s.id: s.text for s in lines}, language="en", voice=None, folder=folder)
        wall = time.monotonic() - began
        shutil.rmtree(folder, ignore_errors=True)
    return {"segments": segments, "concurrency": concurrency, "wall": wall,
            "ideal": math.ceil(segments / concurrency) * latency}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, nargs="*", default=[0, 10, 60], help="0 = speech_en.mp4 itself")
    parser.add_argument("--skip-openai", action="store_true")
    args = parser.parse_args()
    import django

    django.setup()
    print(f"cores: {os.cpu_count()}  (machine shared with other jobs: see load averages)")
    results = []
    for minutes in args.minutes:
        path = SPEECH_EN if minutes == 0 else concat_clip(minutes)
        r = bench_local(path)
        results.append(r)
        print(f"\n{r['file']}: {r['media_seconds']:.1f} s of media, {r['lines']} lines")
        print("  stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in r["stages"].items()))
        print(f"  wall {r['wall']:.1f} s, real-time factor {r['rtf']:.3f} (target <= 0.3 for 10 min)")
        print(f"  mix+mux {100 * r['mix_mux_share']:.2f}% of media duration (target < 2%)")
        print(f"  peak memory {r['peak_mb']:.0f} MB (process tree)  load avg {r['load'][0]:.1f} -> {r['load'][1]:.1f}")
    by_minutes = dict(zip(args.minutes, results))
    if 10 in by_minutes and 60 in by_minutes:
        print(f"\npeak memory 60 min / 10 min: {by_minutes[60]['peak_mb'] / by_minutes[10]['peak_mb']:.2f} "
              "(target <= 1.2; 60 min target < 600 MB)")
    if not args.skip_openai:
        o = bench_openai_synthesis()
        print(f"\nOpenAI loopback TTS, {o['segments']} lines, 300 ms latency, concurrency {o['concurrency']}: "
              f"wall {o['wall']:.2f} s vs ideal {o['ideal']:.2f} s")


if __name__ == "__main__":
    main()
