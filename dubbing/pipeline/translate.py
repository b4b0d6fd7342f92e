"""Stage 5: a translation per segment id, checkpointed per segment.

Each finished line is its own file, named by the segment id and a key of everything that
produced it (its text, the language pair, the glossary, the engine): two target languages of one
input, or an edited source line, never read each other's checkpoint. A resumed run translates
only lines without a valid file (in the folder or the store). Lines go to the engine in batches
(context for a chat model, one process for apertium), batches run concurrently up to the
engine's `concurrency`.

The glossary is enforced as the translator's strategy says (dubbing.pipeline.glossary): a chat
model is asked again for a line missing a term, apertium never sees the terms.

Edited lines (`Context.target_overrides`, from the line editor) replace the engine's text for
what is spoken; the engine's own translation stays checkpointed underneath."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dubbing.engines.base import Segment, TranslateEngine
from dubbing.pipeline.audio import ensure_audio
from dubbing.pipeline.concurrency import run_each
from dubbing.pipeline.errors import ErrorCode, PipelineCancelled, PipelineError, pipeline_error
from dubbing.pipeline.glossary import translate_holding_glossary
from dubbing.pipeline.stage import Context, Stage
from dubbing.pipeline.workspace import Workspace, digest

BATCH = 40
TRANSLATIONS = "translations.json"


def translation_key(seg: Segment, source: str, target: str, glossary: dict, engine: str) -> str:
    return digest(seg.text, source, target, glossary, engine)


def checkpoint_path(folder: Path, seg: Segment, key: str) -> Path:
    return folder / f"{seg.id}-{key}.json"


def translate_segments(
    translator: TranslateEngine,
    segments: list[Segment],
    *,
    source: str,
    target: str,
    glossary: dict,
    folder: Path,
    ws: Workspace | None = None,
    should_cancel: Callable[[], bool] = lambda: False,
    progress: Callable[[float, str], None] = lambda f, m: None,
    audio: Path | None = None,
) -> dict[str, str]:
    """`audio` (the 16 kHz recognition WAV) is given to a translator that listens (speech translation)."""
    ws = ws or Workspace(folder.parent)
    folder.mkdir(parents=True, exist_ok=True)
    engine = getattr(translator, "name", "?")
    done: dict[str, str] = {}
    todo: list[Segment] = []
    for seg in segments:
        path = checkpoint_path(folder, seg, translation_key(seg, source, target, glossary, engine))
        if ws.ensure(path):
            done[seg.id] = ws.read_json(path)["text"]
        else:
            todo.append(seg)
    durations = {s.id: round(s.end - s.start, 3) for s in segments}
    whole = [{"id": s.id, "text": s.text} for s in segments]

    def run_batch(batch: list[Segment]) -> dict[str, str]:
        if should_cancel():
            raise PipelineCancelled("translate", batch[0].id)
        try:
            result = translate_holding_glossary(
                translator, batch, source, target,
                {"glossary": glossary, "durations": durations, "transcript": whole, "audio": audio},
            )
        except PipelineError:
            raise
        except Exception as exc:
            ids = f"{batch[0].id}" if len(batch) == 1 else f"{batch[0].id}..{batch[-1].id}"
            raise pipeline_error("translate", ids, exc) from exc
        for seg in batch:
            text = result.get(seg.id)
            if text is None:
                raise PipelineError("translate", seg.id, "the engine returned no translation for this line",
                                    code=ErrorCode.ENGINE_FAILED)
            key = translation_key(seg, source, target, glossary, engine)
            ws.write_json(checkpoint_path(folder, seg, key), {"key": key, "text": text})
        return result

    def finished(batch, result) -> None:
        done.update({s.id: result[s.id] for s in batch})
        progress(len(done) / max(1, len(segments)), f"{len(done)}/{len(segments)} lines")

    batches = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
    run_each(batches, run_batch, workers=max(1, int(getattr(translator, "concurrency", 1))), on_done=finished)
    return {s.id: done[s.id] for s in segments}


class TranslateStage(Stage):
    name = "translate"
    version = 3  # 3: glossaries enforced (dubbing.pipeline.glossary)

    def key(self, ctx: Context) -> str:
        o = ctx.options
        lines = [(s.id, s.text) for s in ctx.segments]
        return digest(self.name, self.version, lines, ctx.source_language, o.target_language, o.glossary,
                      ctx.engines.names()["translate"], ctx.supplied_targets, ctx.target_overrides)

    def run(self, ctx: Context) -> dict:
        if ctx.supplied_targets:
            translations = dict(ctx.supplied_targets)
            detail = {"skipped": "target subtitles supplied"}
        else:
            translator, source, target = ctx.engines.translator, ctx.source_language, ctx.options.target_language
            audio = None
            if getattr(translator, "needs_audio", lambda s, t: False)(source, target):
                audio, _ = ensure_audio(ctx.ws, ctx.input_path, ctx.info)
            translations = translate_segments(
                translator, ctx.segments, source=source, target=target,
                glossary=dict(ctx.options.glossary), folder=ctx.ws.root / "translate", ws=ctx.ws,
                should_cancel=ctx.should_cancel, progress=ctx.progress, audio=audio)
            detail = {}
        overrides = {sid: text for sid, text in ctx.target_overrides.items() if sid in translations}
        ctx.translations = translations
        ctx.texts = {**translations, **overrides}
        if overrides:
            detail["edited"] = sum(1 for sid, text in overrides.items() if text != translations[sid])
        ctx.ws.write_json(ctx.ws.path(TRANSLATIONS), ctx.texts)
        ctx.ws.write_json(ctx.ws.path("translations.engine.json"), translations)
        return detail

    def load(self, ctx: Context) -> bool:
        try:
            ctx.texts = ctx.ws.read_json(ctx.ws.path(TRANSLATIONS))
            ctx.translations = ctx.ws.read_json(ctx.ws.path("translations.engine.json"))
        except FileNotFoundError:
            return False
        return True
