"""Stage 7: every clip into its slot.

`plan_fit` is the decision, a pure function of times: a line first borrows the silence after it
(up to the next line's start), then speeds up, never past `max_speed`. A line still too long
runs over: the next line starts when it ends (never two voices at once, never a word cut), and
because each later line starts at max(its own start, the previous line's end) and may itself
speed up into the gap after it, the lines after return to their own start as soon as silence
allows. Displacement therefore never carries past the next gap.

`render_clip` then time-stretches a clip with ffmpeg's rubberband filter (atempo where ffmpeg
lacks rubberband) to exactly the planned number of samples at the mix rate, so the mix places
clips at absolute sample offsets and error never accumulates along the video.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from dubbing.engines.base import Segment, ShorteningEngine
from dubbing.pipeline.concurrency import run_each
from dubbing.pipeline.errors import PipelineError, pipeline_error
from dubbing.pipeline.stage import Clip, Context, FittedLine, Stage
from dubbing.pipeline.synthesize import clip_path, clip_seconds, synthesize_one
from dubbing.pipeline.workspace import Workspace, digest, temp_path_for
from videos.media import MIX_RATE
from videos.media.ffmpeg import available_filters, run_ffmpeg

FITTED = "fit.json"
SPEED_EPSILON = 1.005  # below this a stretch is inaudible and not worth the artefacts


@dataclass(frozen=True)
class Slot:
    start: float
    end: float


@dataclass
class Placement:
    start: float  # where the clip begins on the timeline (seconds)
    length: float  # placed length (seconds)
    speed: float  # raw length / placed length
    displacement: float  # start - the line's own start
    overrun: float  # how far the line runs past the next line's start (0 when it fits)

    @property
    def end(self) -> float:
        return self.start + self.length

    def to_dict(self) -> dict:
        return {k: round(v, 4) for k, v in asdict(self).items()}


def plan_fit(slots: list[Slot], clip_lengths: list[float], max_speed: float,
             timeline_end: float | None = None) -> list[Placement]:
    if len(slots) != len(clip_lengths):
        raise ValueError("one clip length per slot")
    placements: list[Placement] = []
    previous_end = 0.0
    for i, (slot, raw) in enumerate(zip(slots, clip_lengths)):
        start = max(slot.start, previous_end)
        if i + 1 < len(slots):
            window_end = slots[i + 1].start
        else:
            window_end = max(timeline_end if timeline_end is not None else slot.end, slot.end)
        available = window_end - start
        if raw <= 0 or raw <= available:
            speed = 1.0
        elif available <= 0:
            speed = max_speed
        else:
            speed = min(max_speed, raw / available)
        if speed < SPEED_EPSILON:
            speed = 1.0
        length = raw / speed
        placements.append(Placement(start=start, length=length, speed=speed,
                                    displacement=start - slot.start,
                                    overrun=max(0.0, start + length - window_end)))
        previous_end = start + length
    return placements


def needs_shortening(placements: list[Placement], *, tolerance: float = 0.05) -> list[int]:
    """Indexes of lines that run over even at max speed (worth a shorter rephrasing)."""
    return [i for i, p in enumerate(placements) if p.overrun > tolerance]


def fitted_path(folder: Path, seg_id: str, clip: Path, speed: float, samples: int) -> Path:
    return folder / f"{seg_id}-{digest(clip.name, round(speed, 4), samples)}.wav"


def stretch_filter(speed: float) -> str:
    if "rubberband" in available_filters():
        return f"rubberband=tempo={speed:.6f}:transients=smooth:formant=preserved"
    return f"atempo={speed:.6f}"


def render_clip(clip: Path, out: Path, *, speed: float, samples: int) -> None:
    """Writes `out`: the clip at `speed`, at the mix rate, exactly `samples` long."""
    tmp = temp_path_for(out)
    filters = [f"aresample={MIX_RATE}"]
    if speed > 1.0:
        filters.insert(0, stretch_filter(speed))
    run_ffmpeg(["-i", str(clip), "-af", ",".join(filters), "-ac", "1", "-c:a", "pcm_f32le", str(tmp)])
    data, _ = sf.read(str(tmp), dtype="float32")
    # The stretcher's length is right to within a few ms; the plan's length is the law, so the
    # clip is padded or trimmed (a few ms of its own trailing silence) to the exact count.
    if len(data) < samples:
        data = np.concatenate([data, np.zeros(samples - len(data), dtype=np.float32)])
    sf.write(str(tmp), data[:samples], MIX_RATE, subtype="FLOAT")
    tmp.replace(out)


@dataclass
class Line:
    """A line on its way through the fit stage: its segment, the clip it has now (a shorter
    line's new clip after the shortening pass) and what it says."""

    segment: Segment
    clip: Path
    seconds: float
    text: str
    voice: str | None
    shortened: bool = False


def voiced_lines(segments: list[Segment], clips: dict[str, Clip], texts: dict[str, str]) -> list[Line]:
    """The lines that have a clip (an empty line has none), in order."""
    return [Line(segment=s, clip=clips[s.id].path, seconds=clips[s.id].seconds, text=texts[s.id],
                 voice=clips[s.id].voice) for s in segments if s.id in clips]


def _plan(ctx: Context, lines: list[Line]) -> list[Placement]:
    return plan_fit([Slot(ln.segment.start, ln.segment.end) for ln in lines], [ln.seconds for ln in lines],
                    ctx.options.max_speed, ctx.timeline)


def _shorter_text(ctx: Context, translator: ShorteningEngine, line: Line, max_seconds: float) -> str:
    """The translator's shorter line (cached in the workspace by text, budget and engine)."""
    key = digest(line.text, round(max_seconds, 2), ctx.engines.names()["translate"])
    cache = ctx.ws.path("shorten", f"{line.segment.id}-{key}.json")
    if ctx.ws.ensure(cache):
        return ctx.ws.read_json(cache)["text"]
    try:
        shorter = translator.shorten(line.segment, line.text, max_seconds, ctx.options.target_language)
    except Exception as exc:
        raise pipeline_error("fit", line.segment.id, exc, prefix="shortening failed: ") from exc
    ctx.ws.write_json(cache, {"key": key, "text": shorter})
    return shorter


def _speak_again(ctx: Context, line: Line, text: str) -> None:
    """`line` says `text` now, in its speaker's voice, from a clip of its own."""
    path = clip_path(ctx.ws.root / "synth", line.segment.id, text, ctx.options.target_language, line.voice,
                     ctx.engines.names()["tts"])
    if not ctx.ws.ensure(path):
        try:
            synthesize_one(ctx.engines.tts, text, ctx.options.target_language, ctx.engine_voice(line.voice), path)
        except Exception as exc:
            raise pipeline_error("fit", line.segment.id, exc, prefix="re-synthesis failed: ") from exc
        ctx.ws.save(path)
    line.clip, line.seconds, line.text, line.shortened = path, clip_seconds(path), text, True


def shorten_pass(ctx: Context, lines: list[Line], plan: list[Placement]) -> list[Placement]:
    """Asks the translator (when it can) for a shorter line wherever even `max_speed` is not
    enough, speaks it again, and plans again; the plan as it stands when nothing was shortened."""
    translator = ctx.engines.translator
    if not isinstance(translator, ShorteningEngine):
        return plan
    for i in needs_shortening(plan):
        line = lines[i]
        ctx.check_cancel(line.segment.id)
        max_seconds = (plan[i].length - plan[i].overrun) * ctx.options.max_speed
        shorter = _shorter_text(ctx, translator, line, max_seconds)
        if shorter and shorter != line.text:
            _speak_again(ctx, line, shorter)
    return _plan(ctx, lines) if any(line.shortened for line in lines) else plan


def render_pass(ctx: Context, lines: list[Line], plan: list[Placement]) -> dict[str, FittedLine]:
    """Each line's clip stretched to its planned length at the mix rate (saved to the store as
    each is done; a fitted clip already there is kept)."""
    ws = ctx.ws
    fitted_dir = ws.root / "fit"
    fitted_dir.mkdir(exist_ok=True)
    jobs = []
    for line, placement in zip(lines, plan):
        samples = round(placement.length * MIX_RATE)
        jobs.append((line, placement, samples, fitted_path(fitted_dir, line.segment.id, line.clip,
                                                            placement.speed, samples)))
    todo = [job for job in jobs if not ws.ensure(job[3])]
    finished = len(jobs) - len(todo)

    def render(job) -> None:
        line, placement, samples, out = job
        ctx.check_cancel(line.segment.id)
        # The raw clip is needed only now, for a line whose fitted clip is missing.
        if not ws.ensure(line.clip):
            raise PipelineError("fit", line.segment.id,
                                "the synthesized clip is missing from the workspace and the store")
        try:
            render_clip(line.clip, out, speed=placement.speed, samples=samples)
        except Exception as exc:
            raise pipeline_error("fit", line.segment.id, exc) from exc
        ws.save(out)

    def rendered(job, _) -> None:
        nonlocal finished
        finished += 1
        ctx.progress(finished / max(1, len(jobs)), f"{finished}/{len(jobs)} lines")

    run_each(todo, render, workers=max(1, ctx.threads), on_done=rendered)
    return {line.segment.id: _fitted_line(ws, line, placement, samples, out)
            for line, placement, samples, out in jobs}


def _fitted_line(ws: Workspace, line: Line, placement: Placement, samples: int, out: Path) -> FittedLine:
    return FittedLine(clip=line.clip, clip_file=ws.rel(line.clip), fitted=out, fitted_file=ws.rel(out),
                      raw_seconds=round(line.seconds, 4), samples=samples,
                      offset=round(placement.start * MIX_RATE), text=line.text, shortened=line.shortened,
                      **placement.to_dict())


class FitStage(Stage):
    """Plans every line into its slot, asks the translator for shorter lines where even
    `max_speed` is not enough (when it can), and renders each fitted clip at the mix rate.
    Writes fit/<segment>-<hash>.wav per line (saved to the store as each is done) and fit.json."""

    name = "fit"
    version = 2

    def key(self, ctx: Context) -> str:
        clips = {sid: (clip.file, round(clip.seconds, 4)) for sid, clip in ctx.clips.items()}
        slots = [(s.id, s.start, s.end) for s in ctx.segments]
        return digest(self.name, self.version, clips, slots, ctx.texts, ctx.options.max_speed,
                      isinstance(ctx.engines.translator, ShorteningEngine), ctx.engines.names()["translate"],
                      round(ctx.timeline, 4))

    def run(self, ctx: Context) -> dict:
        lines = voiced_lines(ctx.segments, ctx.clips, ctx.texts)
        plan = shorten_pass(ctx, lines, _plan(ctx, lines))
        ctx.fitted = render_pass(ctx, lines, plan)
        ctx.ws.write_json(ctx.ws.path(FITTED), {sid: line.to_dict() for sid, line in ctx.fitted.items()})
        return {"shortened": sum(1 for line in lines if line.shortened),
                "displaced": sum(1 for p in plan if p.displacement > 0.001)}

    def load(self, ctx: Context) -> bool:
        try:
            fitted = ctx.ws.read_json(ctx.ws.path(FITTED))
        except FileNotFoundError:
            return False
        ctx.fitted = {sid: FittedLine.from_dict(data, ctx.ws.root) for sid, data in fitted.items()}
        return True
