"""Remote synthesis benchmark: does the synthesize stage really overlap remote requests?

    .venv/bin/python bench/remote_synthesis.py                  # 120 lines, 300 ms, concurrency 8
    .venv/bin/python bench/remote_synthesis.py --concurrency 1 4 8 --segments 120 --latency 0.3

Runs the loopback OpenAI server with a fixed latency per request, and synthesizes the lines
through the real `OpenAITTS` (its shared client, semaphore and retries) and the pipeline's own
concurrent path (`dubbing.pipeline.synthesize.synthesize_segments`: per-segment checkpointed
clips, silence trimming). Prints the wall time beside the ideal `segments * latency / concurrency`
and the achieved fraction of the ideal speed-up (ideal / wall). Target at concurrency 8: >= 0.8.

The server renders real speech with espeak-ng, so each answer costs a little CPU on top of the
latency; the server-side mean service time is printed too, so a shortfall can be told apart
from client-side serialisation. bench/pipeline.py calls `remote_synthesis_benchmark`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_FRACTION = 0.8


def remote_synthesis_benchmark(*, segments: int = 120, latency: float = 0.3,
                               concurrency: int = 8) -> dict:
    from dubbing.engines.base import Segment
    from dubbing.engines.openai_client import OpenAIClient
    from dubbing.engines.tts.openai import OpenAITTS
    from dubbing.pipeline.synthesize import synthesize_segments
    from testing.openai_server import OpenAIServer

    lines = [Segment(id=f"s{i:04d}", start=2.0 * i, end=2.0 * i + 1.8,
                     text=f"This is line {i} of the benchmark.") for i in range(1, segments + 1)]
    texts = {s.id: s.text for s in lines}
    with OpenAIServer(latency=latency) as server, \
            tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        client = OpenAIClient(base_url=server.base_url, api_key="bench", concurrency=concurrency)
        tts = OpenAITTS(server.base_url, "bench", concurrency=concurrency, client=client)
        began = time.monotonic()
        clips = synthesize_segments(tts, lines, texts, language="en", voice=None, folder=Path(tmp))
        wall = time.monotonic() - began
        client.close()
        records = server.records("speech")
    if len(clips) != segments or server.served["speech"] != segments:
        raise RuntimeError(f"expected {segments} clips, got {len(clips)}")
    ideal = segments * latency / concurrency
    service = statistics.fmean(r.responding_at - r.received_at for r in records)
    return {
        "segments": segments,
        "latency": latency,
        "concurrency": concurrency,
        "wall_seconds": round(wall, 3),
        "ideal_seconds": round(ideal, 3),
        "fraction_of_ideal": round(ideal / wall, 3),
        "server_mean_service_seconds": round(service, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=120)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8])
    args = parser.parse_args(argv)
    print(f"remote synthesis: {args.segments} lines, {args.latency * 1000:.0f} ms per request "
          f"(loopback OpenAI server, espeak-ng audio)")
    print(f"{'concurrency':>11} {'wall s':>8} {'ideal s':>8} {'fraction':>8} {'server s/req':>12}")
    ok = True
    for concurrency in args.concurrency:
        result = remote_synthesis_benchmark(segments=args.segments, latency=args.latency,
                                            concurrency=concurrency)
        print(f"{concurrency:>11} {result['wall_seconds']:>8.2f} {result['ideal_seconds']:>8.2f} "
              f"{result['fraction_of_ideal']:>8.2f} {result['server_mean_service_seconds']:>12.3f}")
        if concurrency == 8:
            ok = result["fraction_of_ideal"] >= TARGET_FRACTION
            print(f"target at concurrency 8: fraction >= {TARGET_FRACTION}: "
                  f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
