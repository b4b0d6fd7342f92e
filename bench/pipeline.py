"""Pipeline benchmark: per-stage seconds, real-time factor and peak memory of a local dub into
Spanish, with the new defaults (background `separate`: the dub over the music-and-effects stem;
Spanish spoken by Kokoro) and the old ones (`duck`, espeak-ng) in the same run, on speech_en.mp4
and generated clips of distinct English sentences (espeak-ng) over a music bed with rhythm and
bass (testing/stems.py). For each: the stage split, the peak PSS of the process tree in each stage,
and the fit figures (the share of lines sped up 1.15x or less, the fastest line against
max_speed, the largest line start error). Then recognition on the separated vocals against the mix
(the bundled Whisper on a clip of known sentences over the music: WER against what was said);
and the wall time of 120 remote syntheses against the loopback OpenAI server with 300 ms latency
(bench/remote_synthesis.py). Figures are printed, never asserted.

    .venv/bin/python bench/pipeline.py                                     # 0, 10 and 60 minutes (long)
    .venv/bin/python bench/pipeline.py --minutes 0 10 --skip-openai         # issue 19's 10-minute figures
    .venv/bin/python bench/pipeline.py --minutes 60 --defaults separate-fast --skip-recognition --skip-openai
    .venv/bin/python bench/pipeline.py --minutes --recognition-minutes 3 --skip-openai
    .venv/bin/python bench/pipeline.py --minutes 0 1 --skip-openai --defaults old --background separate  # progress weights
    .venv/bin/python bench/pipeline.py --minutes --fixture-set --defaults new --skip-recognition --skip-openai

Targets (issue 19, new defaults, 10 minutes, 2 cores): at most 0.5x real time and 900 MB PSS;
fit: at least 95% of lines at 1.15x or less, none past max_speed, no line starting more than
0.15 s from its source. The machine is shared: note the load average printed beside each
figure and compare ratios from the same run.
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


def distinct_speech_clip(minutes: float, *, music: bool = True) -> Path:
    """A video of `minutes` of English speech, every sentence different (espeak-ng), with pauses
    between sentences and a plain picture, over a looped music bed (kick, hi-hat, bass, chords)
    unless `music` is false: what a long lecture with a soundtrack costs the pipeline. The
    sentences said and their times are written beside it (<clip>.json)."""
    import json

    import numpy as np
    import soundfile as sf

    from testing.stems import music_bed

    name = f"speech_{'music' if music else 'distinct'}_{minutes:g}min"
    target = OUT / f"{name}.mp4"
    if target.exists() and target.with_suffix(".json").exists():
        return target
    OUT.mkdir(parents=True, exist_ok=True)
    total = minutes * 60.0
    rate = 22050
    wav = OUT / f".{name}.wav"
    written, index, lines = 0.0, 0, []
    sentences = distinct_sentences(math.ceil(total / 3.0) + 50, seed=int(minutes * 10))
    with sf.SoundFile(str(wav), "w", samplerate=rate, channels=1, subtype="PCM_16") as out, \
            tempfile.TemporaryDirectory() as tmp:
        while written < total:
            piece = Path(tmp) / "line.wav"
            subprocess.run(["espeak-ng", "-v", "en", "-s", "165", "-w", str(piece), sentences[index]], check=True)
            data, got = sf.read(str(piece), dtype="float32")
            assert got == rate
            pause = np.zeros(int(rate * (0.7 + 0.4 * (index % 3))), dtype=np.float32)
            out.write(np.concatenate([data, pause]))
            lines.append((round(written, 3), round(written + len(data) / rate, 3), sentences[index]))
            written += (len(data) + len(pause)) / rate
            index += 1
    audio = ["-i", str(wav)]
    mixing: list[str] = []
    loop = OUT / ".music_loop.wav"
    if music:
        sf.write(str(loop), music_bed(16.0, 48000), 48000, subtype="PCM_16")  # eight bars, looped
        audio += ["-stream_loop", "-1", "-i", str(loop)]
        mixing = ["-filter_complex", "[1:a]aresample=48000,pan=stereo|c0=c0|c1=c0[s];"
                  "[2:a]volume=0.6[m];[s][m]amix=inputs=2:duration=first:normalize=0[a]", "-map", "0:v", "-map", "[a]"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=0x203040:s=640x360:r=25:d={total}",
                    *audio, *mixing, "-t", f"{total}", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage",
                    "-c:a", "aac", "-b:a", "128k", "-ar", "48000", *([] if music else ["-shortest"]), str(target)],
                   check=True)
    wav.unlink()
    loop.unlink(missing_ok=True)
    target.with_suffix(".json").write_text(json.dumps(lines))
    return target


def fixture_set() -> list[Path]:
    """The fixture set of issue 19's fit figures: speech_en.mp4 as shipped, the same speech over
    the music bed, a portrait 48 kHz stereo cut of it, and the two-voice dialogue (espeak-ng's
    en+m3 and en+f4 taking turns) as an audio-only file, as the pipeline's tests build them."""
    from testing.speech_clips import dialogue, video_with_music

    folder = OUT / "fixture-set"
    folder.mkdir(parents=True, exist_ok=True)
    music = folder / "speech_en_music.mp4"
    if not music.exists():
        video_with_music(music)
    portrait = folder / "speech_en_portrait_48k.mp4"
    if not portrait.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(music), "-vf", "transpose=1,scale=360:640",
                        "-c:v", "libx264", "-preset", "ultrafast", "-ar", "48000", "-ac", "2", "-c:a", "aac",
                        str(portrait)], check=True)
    talk = folder / "dialogue.m4a"
    if not talk.exists():
        wav, _ = dialogue(folder / "dialogue.wav")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", str(talk)], check=True)
        wav.unlink()
    return [SPEECH_EN, music, portrait, talk]


def print_fixture_fit(runs: list[dict]) -> None:
    """The fit figures over every line of the fixture set together."""
    lines = sum(r["fit"]["lines"] for r in runs)
    gentle = sum(r["fit"]["gentle_share"] * r["fit"]["lines"] for r in runs)
    fastest = max(r["fit"]["fastest"] for r in runs)
    worst = max(r["fit"]["worst_start"] for r in runs)
    over = int(sum(r["fit"]["over_max"] for r in runs))
    print(f"\nfixture set ({len(runs)} clips, {lines} lines, voice {runs[0]['engines'].get('tts')}): "
          f"{100 * gentle / max(1, lines):.1f}% of lines at 1.15x or less (goal >= 95%); fastest {fastest:.3f}x, "
          f"{over} past max_speed; largest start error {worst:.3f} s (goal <= 0.15 s)")


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
        self.stage = ""  # set by the caller as the work moves on: the peak PSS is kept per stage too
        self.by_stage: dict[str, int] = {}
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
            if self.stage:
                self.by_stage[self.stage] = max(self.by_stage.get(self.stage, 0), pss)
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# The dub's settings that changed with issue 19, and those before it.
# "separate-fast" is the new background with the fast voice: memory over a long input, when
# Kokoro's synthesis on a loaded machine would take hours.
DEFAULTS = {"new": {"background": "separate", "tts_engine": ""},  # Kokoro: Spanish's default voice
            "old": {"background": "duck", "tts_engine": "espeak"},
            "separate-fast": {"background": "separate", "tts_engine": "espeak"}}


def bench_local(path: Path, defaults: str, *, background: str | None = None) -> dict:
    """One dub in a process of its own (`--child`), so that each run's memory is its own;
    `background`, when given, instead of the defaults' own."""
    import json

    child = subprocess.Popen([sys.executable, __file__, "--child", str(path), defaults, background or ""],
                             stdout=subprocess.PIPE, text=True)
    stdout, _ = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"the {defaults}-defaults dub of {path.name} failed ({child.returncode})")
    return json.loads(stdout.strip().splitlines()[-1])


def dub_child(path: Path, defaults: str, background: str = "") -> dict:
    import dataclasses

    from dubbing.engine_config import engine_config
    from dubbing.engines.registry import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.probe import probe
    from dubbing.pipeline.publish import run_pipeline
    from videos.media.probe import timeline_duration

    chosen = {**DEFAULTS[defaults], **({"background": background} if background else {})}
    duration = timeline_duration(probe(path))
    OUT.mkdir(parents=True, exist_ok=True)  # a clean clone has no bench/out yet
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=OUT))
    options = DubOptions(target_language="es", source_language="en", background=chosen["background"], engines="local")
    config = dataclasses.replace(engine_config(), tts_engine=chosen["tts_engine"] or None)
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    import resource

    def cpu_seconds() -> float:
        """CPU time of this process and its finished children: unlike wall time, barely moved by
        what else the shared machine runs."""
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    cpu: dict[str, float] = {}
    mark = {"stage": "engines", "at": cpu_seconds()}
    cpu_began = mark["at"]
    with PeakMemory() as memory:
        def progress(stage: str, fraction: float, message: str) -> None:
            memory.stage = stage
            if stage != mark["stage"]:
                now = cpu_seconds()
                cpu[mark["stage"]] = cpu.get(mark["stage"], 0.0) + now - mark["at"]
                mark.update(stage=stage, at=now)

        memory.stage = "engines"
        engines = build_engines(options, config)
        report = run_pipeline(path, options, workspace=work / "ws", out_dir=work / "out", engines=engines,
                              duck_db=-18.0, separate_duck_db=-6.0, progress=progress)
    wall = time.monotonic() - began
    cpu[mark["stage"]] = cpu.get(mark["stage"], 0.0) + cpu_seconds() - mark["at"]
    cpu_total = cpu_seconds() - cpu_began
    shutil.rmtree(work, ignore_errors=True)
    stages = {k: v["seconds"] for k, v in report["stages"].items()}
    return {"file": path.name, "defaults": defaults, "background": chosen["background"], "media_seconds": duration,
            "wall": wall, "rtf": wall / duration, "cpu": cpu, "cpu_total": cpu_total,
            "stages": stages, "mix_mux_share": (stages["mix"] + stages["mux"]) / duration,
            "peak_mb": memory.peak / 2**20, "peak_rss_mb": memory.peak_rss / 2**20,
            "stage_mb": {k: v / 2**20 for k, v in memory.by_stage.items()}, "engines": report["engines"],
            "fit": fit_figures(report, options.max_speed),
            "lines": len(report["segments"]), "load": (load_before, os.getloadavg()[0])}


def fit_figures(report: dict, max_speed: float) -> dict:
    """Issue 19 item 5 on the lines that were spoken: the share sped up 1.15x or less, the
    fastest, and how far the latest-starting line starts from its source start."""
    placed = [s for s in report["segments"] if s["placed_start"] is not None]
    speeds = [s["speed"] for s in placed]
    starts = [abs(s["displacement"]) for s in placed]
    return {"lines": len(placed), "gentle_share": sum(v <= 1.15 + 1e-9 for v in speeds) / max(1, len(speeds)),
            "fastest": max(speeds, default=1.0), "over_max": sum(v > max_speed + 1e-6 for v in speeds),
            "worst_start": max(starts, default=0.0), "late_share": sum(d > 0.15 for d in starts) / max(1, len(starts)),
            "max_speed": max_speed}


def recognition_figures(minutes: float) -> dict:
    """WER of the bundled Whisper on a clip of known sentences over the music: on the mix as it
    is, and on the vocals stem the separator takes from it."""
    import json

    import jiwer

    from dubbing.engine_config import engine_config
    from dubbing.engines.registry import build_asr, build_separator
    from testing.speech_clips import wav16k

    clip = distinct_speech_clip(minutes)
    said = " ".join(text for _, _, text in json.loads(clip.with_suffix(".json").read_text()))
    config = engine_config()
    asr = build_asr("local", config, threads=os.cpu_count())

    def norm(text: str) -> str:
        import re

        return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())

    def wer(path: Path) -> float:
        heard = asr.transcribe(path, "en")
        return jiwer.wer(norm(said), norm(" ".join(s.text for s in heard.segments)))

    with tempfile.TemporaryDirectory(prefix="bench-recognition-", dir=OUT) as tmp:
        folder = Path(tmp)
        mix = wav16k(clip, folder / "mix16k.wav")
        separator = build_separator(config, threads=os.cpu_count())
        separator.separate(clip, folder / "vocals.wav", folder / "background.wav")
        vocals = wav16k(folder / "vocals.wav", folder / "vocals16k.wav")
        return {"minutes": minutes, "mix_wer": wer(mix), "vocals_wer": wer(vocals), "words": len(norm(said).split())}


def print_local(r: dict) -> None:
    print(f"\n{r['file']} ({r['defaults']} defaults: background {r['background']}, "
          f"voice {r['engines'].get('tts')}): {r['media_seconds']:.1f} s of media, {r['lines']} lines")
    print("  stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in r["stages"].items()))
    # The split the jobs' progress bar and time-left estimate are weighted by
    # (dubbing/worker/progress.py STAGE_COST, docs/jobs.md "Progress and time left").
    print("  seconds per second of media: " + ", ".join(
        f"{k} {v / r['media_seconds']:.4f}" for k, v in r["stages"].items()))
    total = sum(r["stages"].values()) or 1.0
    print("  share of the stages' time: " + ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in r["stages"].items()))
    print(f"  wall {r['wall']:.1f} s, real-time factor {r['rtf']:.3f} (target <= 0.5 for 10 min, new defaults)")
    print(f"  CPU {r['cpu_total']:.1f} s in all ({r['cpu_total'] / r['media_seconds']:.3f} s per second of media; "
          f"2 cores give 2 s a second): " + ", ".join(f"{k} {v:.1f}s" for k, v in r["cpu"].items() if v >= 0.05))
    print(f"  mix+mux {100 * r['mix_mux_share']:.2f}% of media duration")
    print(f"  peak memory {r['peak_mb']:.0f} MB PSS of the process tree ({r['peak_rss_mb']:.0f} MB summed RSS; "
          f"target <= 900 MB)  load avg {r['load'][0]:.1f} -> {r['load'][1]:.1f}")
    print("  peak PSS by stage: " + ", ".join(f"{k} {v:.0f}" for k, v in r["stage_mb"].items()) + " MB")
    f = r["fit"]
    print(f"  fit: {100 * f['gentle_share']:.1f}% of {f['lines']} lines at 1.15x or less (goal >= 95%); fastest "
          f"{f['fastest']:.3f}x, {int(f['over_max'])} past max_speed {f['max_speed']}; largest start error "
          f"{f['worst_start']:.3f} s ({100 * f['late_share']:.1f}% of lines over 0.15 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="*", default=[0, 10, 60], help="0 = speech_en.mp4 itself")
    parser.add_argument("--defaults", nargs="+", choices=sorted(DEFAULTS), default=["new", "old"])
    parser.add_argument("--recognition-minutes", type=float, default=2.0)
    parser.add_argument("--skip-recognition", action="store_true")
    parser.add_argument("--skip-openai", action="store_true")
    parser.add_argument("--background", choices=("separate", "duck", "keep", "drop"),
                        help="the dubs' background instead of each defaults' own (separate: the stage that splits "
                             "music from voice runs)")
    parser.add_argument("--fixture-set", action="store_true",
                        help="also dub the fixture set (fixture_set()) and print its fit figures together")
    parser.add_argument("--child", nargs=3, metavar=("CLIP", "DEFAULTS", "BACKGROUND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    import django

    django.setup()
    if args.child:
        import json

        print(json.dumps(dub_child(Path(args.child[0]), args.child[1], args.child[2]), default=float))  # numpy numbers
        return
    print(f"cores: {os.cpu_count()}  (machine shared with other jobs: see load averages)")
    for minutes in args.minutes:
        path = SPEECH_EN if minutes == 0 else distinct_speech_clip(minutes)
        runs = {}
        for defaults in args.defaults:
            runs[defaults] = bench_local(path, defaults, background=args.background)
            print_local(runs[defaults])
        if "new" in runs and "old" in runs:
            new, old = runs["new"], runs["old"]
            print(f"  new / old defaults: wall {new['wall'] / old['wall']:.2f}x, peak PSS "
                  f"{new['peak_mb'] / old['peak_mb']:.2f}x")
    if args.fixture_set:
        for defaults in args.defaults:
            runs = [bench_local(path, defaults, background=args.background) for path in fixture_set()]
            for r in runs:
                print_local(r)
            print_fixture_fit(runs)
    if not args.skip_recognition:
        r = recognition_figures(args.recognition_minutes)
        print(f"\nrecognition on {r['minutes']:g} min of known sentences ({r['words']} words) over the music: "
              f"WER {r['mix_wer']:.3f} on the mix, {r['vocals_wer']:.3f} on the separated vocals")
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
