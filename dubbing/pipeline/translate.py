"""Stage 5: a translation per segment id, checkpointed per segment.

Each finished line is its own file named by the segment id, holding a key of everything that
produced it; a resumed run translates only lines without a valid file. Lines go to the engine
in batches (context for a chat model, one process for apertium), batches run concurrently up to
the engine's `concurrency`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from dubbing.engines.base import Segment
from dubbing.pipeline.errors import PipelineCancelled, PipelineError
from dubbing.pipeline.workspace import atomic_write_json, digest, read_json

BATCH = 40


def translation_key(seg: Segment, source: str, target: str, glossary: dict, engine: str) -> str:
    return digest(seg.text, source, target, glossary, engine)


def translate_segments(
    translator,
    segments: list[Segment],
    *,
    source: str,
    target: str,
    glossary: dict,
    folder: Path,
    should_cancel: Callable[[], bool] = lambda: False,
    progress: Callable[[float, str], None] = lambda f, m: None,
) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    engine = getattr(translator, "name", "?")
    done: dict[str, str] = {}
    todo: list[Segment] = []
    for seg in segments:
        path = folder / f"{seg.id}.json"
        key = translation_key(seg, source, target, glossary, engine)
        if path.exists():
            data = read_json(path)
            if data.get("key") == key:
                done[seg.id] = data["text"]
                continue
        todo.append(seg)
    durations = {s.id: round(s.end - s.start, 3) for s in segments}
    whole = [{"id": s.id, "text": s.text} for s in segments]

    def run_batch(batch: list[Segment]) -> dict[str, str]:
        if should_cancel():
            raise PipelineCancelled("translate", batch[0].id)
        try:
            result = translator.translate(
                batch, source, target, {"glossary": glossary, "durations": durations, "transcript": whole}
            )
        except PipelineError:
            raise
        except Exception as exc:
            ids = f"{batch[0].id}" if len(batch) == 1 else f"{batch[0].id}..{batch[-1].id}"
            raise PipelineError("translate", ids, str(exc)) from exc
        for seg in batch:
            text = result.get(seg.id)
            if text is None:
                raise PipelineError("translate", seg.id, "the engine returned no translation for this line")
            atomic_write_json(folder / f"{seg.id}.json", {
                "key": translation_key(seg, source, target, glossary, engine), "text": text})
        return result

    batches = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
    workers = max(1, int(getattr(translator, "concurrency", 1)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(run_batch, batches):
            done.update(result)
            progress(len(done) / max(1, len(segments)), f"{len(done)}/{len(segments)} lines")
    return {s.id: done[s.id] for s in segments}
