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

from dubbing.pipeline.concurrency import run_each
from dubbing.pipeline.errors import PipelineError
from dubbing.pipeline.stage import Context, Stage
from dubbing.pipeline.workspace import digest, temp_path_for
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


class FitStage(Stage):
    """Plans every line into its slot, asks the translator for shorter lines where even
    `max_speed` is not enough (when it can), and renders each fitted clip at the mix rate.
    Writes fit/<segment>-<hash>.wav per line (saved to the store as each is done) and fit.json."""

    name = "fit"
    version = 2

    def _can_shorten(self, ctx: Context) -> bool:
        return ctx.engines.translator is not None and hasattr(ctx.engines.translator, "shorten")

    def key(self, ctx: Context) -> str:
        clips = {sid: (v["file"], round(v["seconds"], 4)) for sid, v in ctx.clips.items()}
        slots = [(s.id, s.start, s.end) for s in ctx.segments]
        return digest(self.name, self.version, clips, slots, ctx.texts, ctx.options.max_speed,
                      self._can_shorten(ctx), ctx.engines.names()["translate"], round(ctx.timeline, 4))

    def run(self, ctx: Context) -> dict:
        from dubbing.pipeline.synthesize import clip_path, clip_seconds, synthesize_one

        ws, options, names = ctx.ws, ctx.options, ctx.engines.names()
        clips = {sid: Path(v["path"]) for sid, v in ctx.clips.items()}
        lengths = {sid: v["seconds"] for sid, v in ctx.clips.items()}
        final_texts = dict(ctx.texts)
        shortened: set[str] = set()
        voiced = [s for s in ctx.segments if s.id in clips]
        slots = [Slot(s.start, s.end) for s in voiced]
        timeline = ctx.timeline
        plan = plan_fit(slots, [lengths[s.id] for s in voiced], options.max_speed, timeline)
        if self._can_shorten(ctx):
            for i in needs_shortening(plan):
                seg = voiced[i]
                ctx.check_cancel(seg.id)
                max_seconds = (plan[i].length - plan[i].overrun) * options.max_speed
                key = digest(final_texts[seg.id], round(max_seconds, 2), names["translate"])
                cache = ws.path("shorten", f"{seg.id}-{key}.json")
                if ws.ensure(cache):
                    shorter = ws.read_json(cache)["text"]
                else:
                    try:
                        shorter = ctx.engines.translator.shorten(seg, final_texts[seg.id], max_seconds,
                                                                 options.target_language)
                    except Exception as exc:
                        from dubbing.pipeline.runner import pipeline_error

                        raise pipeline_error("fit", seg.id, exc, prefix="shortening failed: ") from exc
                    ws.write_json(cache, {"key": key, "text": shorter})
                if shorter and shorter != final_texts[seg.id]:
                    # The shorter line keeps its speaker's voice.
                    voice = ctx.clips.get(seg.id, {}).get("voice", options.voice)
                    path = clip_path(ws.root / "synth", seg.id, shorter, options.target_language, voice,
                                     names["tts"])
                    if not ws.ensure(path):
                        try:
                            synthesize_one(ctx.engines.tts, shorter, options.target_language, voice, path)
                        except Exception as exc:
                            from dubbing.pipeline.runner import pipeline_error

                            raise pipeline_error("fit", seg.id, exc, prefix="re-synthesis failed: ") from exc
                        ws.save(path)
                    clips[seg.id] = path
                    lengths[seg.id] = clip_seconds(path)
                    final_texts[seg.id] = shorter
                    shortened.add(seg.id)
            if shortened:
                plan = plan_fit(slots, [lengths[s.id] for s in voiced], options.max_speed, timeline)
        fitted_dir = ws.root / "fit"
        fitted_dir.mkdir(exist_ok=True)
        jobs = []
        for seg, placement in zip(voiced, plan):
            samples = round(placement.length * MIX_RATE)
            out = fitted_path(fitted_dir, seg.id, clips[seg.id], placement.speed, samples)
            jobs.append((seg, placement, samples, out))
        todo = [j for j in jobs if not ws.ensure(j[3])]
        finished = len(jobs) - len(todo)

        def render(job):
            seg, placement, samples, out = job
            ctx.check_cancel(seg.id)
            # The raw clip is needed only now, for a line whose fitted clip is missing.
            if not ws.ensure(clips[seg.id]):
                raise PipelineError("fit", seg.id, "the synthesized clip is missing from the workspace and the store")
            try:
                render_clip(clips[seg.id], out, speed=placement.speed, samples=samples)
            except Exception as exc:
                from dubbing.pipeline.runner import pipeline_error

                raise pipeline_error("fit", seg.id, exc) from exc
            ws.save(out)

        def rendered(job, _):
            nonlocal finished
            finished += 1
            ctx.progress(finished / max(1, len(jobs)), f"{finished}/{len(jobs)} lines")

        run_each(todo, render, workers=max(1, ctx.threads), on_done=rendered)
        ctx.fitted = {
            seg.id: {"clip": str(clips[seg.id]), "clip_file": ws.rel(clips[seg.id]), "fitted": str(out),
                     "fitted_file": ws.rel(out), "raw_seconds": round(lengths[seg.id], 4), "samples": samples,
                     "offset": round(placement.start * MIX_RATE), "text": final_texts[seg.id],
                     "shortened": seg.id in shortened, **placement.to_dict()}
            for seg, placement, samples, out in jobs}
        ws.write_json(ws.path(FITTED), ctx.fitted)
        return {"shortened": len(shortened), "displaced": sum(1 for p in plan if p.displacement > 0.001)}

    def load(self, ctx: Context) -> bool:
        try:
            fitted = ctx.ws.read_json(ctx.ws.path(FITTED))
        except FileNotFoundError:
            return False
        root = ctx.ws.root
        ctx.fitted = {sid: {**v, "clip": str(root / v["clip_file"]), "fitted": str(root / v["fitted_file"])}
                      for sid, v in fitted.items()}
        return True
