"""The dubbing pipeline, stage by stage (DESIGN.md "Dubbing pipeline").

`run_pipeline` is what `manage.py dub` and the jobs call. Every stage records a key in the
workspace manifest (see workspace.py); a stage whose key is unchanged is skipped, so running the
same command again resumes where it stopped. Failures raise PipelineError naming the stage and,
inside translate, synthesize and fit, the segment.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Callable

import soundfile as sf

from dubbing.engines.base import EngineError, Segment, Transcript
from dubbing.pipeline import extract as extract_stage
from dubbing.pipeline import fit as fit_stage
from dubbing.pipeline import mix as mix_stage
from dubbing.pipeline import mux as mux_stage
from dubbing.pipeline import publish as publish_stage
from dubbing.pipeline.concurrency import run_each
from dubbing.pipeline.errors import PipelineCancelled, PipelineError
from dubbing.pipeline.ffmpeg import FFmpegError
from dubbing.pipeline.options import DubOptions
from dubbing.pipeline.probe import ProbeError, info_from_dict, info_to_dict, probe, timeline_duration
from dubbing.pipeline.segment import segment_transcript, segments_from_cues, source_text_for
from dubbing.pipeline.synthesize import synthesize_one, synthesize_segments
from dubbing.pipeline.transcribe import transcribe, transcript_from_subtitles
from dubbing.pipeline.translate import translate_segments
from dubbing.pipeline.workspace import Workspace, atomic_write_json, digest, input_fingerprint, read_json

STAGES = ("probe", "extract", "transcribe", "segment", "translate", "synthesize", "fit", "mix", "mux", "publish")
Progress = Callable[[str, float, str], None]
DEFAULT_DUCK_DB = -18.0


def _text_hash(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest()[:16] if text else None


def check_engines(engines, options: DubOptions) -> None:
    """Refuses, before any work, a dub the configured engines cannot do."""
    target, source = options.target_language, options.source_language
    tts_languages = engines.tts.languages()
    if target not in tts_languages:
        raise PipelineError("check", None, f"The {engines.tts.name} voice engine cannot speak '{target}'.")
    if engines.asr is not None and source != "auto" and source not in engines.asr.languages():
        raise PipelineError("check", None, f"The {engines.asr.name} recognizer does not know '{source}' "
                                           f"(it knows {', '.join(sorted(engines.asr.languages()))}).")
    if engines.translator is not None:
        pairs = engines.translator.supported_pairs()
        if source != "auto":
            ok = (source, target) in pairs
        else:
            sources = engines.asr.languages() if engines.asr is not None else {s for s, _ in pairs}
            ok = any((s, target) in pairs for s in sources)
        if not ok:
            have = ", ".join(f"{a}->{b}" for a, b in sorted(pairs)) or "none"
            raise PipelineError("check", None, f"The {engines.translator.name} translator cannot translate "
                                               f"{source}->{target} (installed pairs: {have}).")


def run_pipeline(
    input_path: Path,
    options: DubOptions,
    *,
    workspace: Path,
    out_dir: Path,
    engines=None,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    duck_db: float | None = None,
    keep_stems: bool = False,
) -> dict:
    # Absolute: the mux stage runs ffmpeg in its own folder (for the burned-subtitle filter).
    input_path = Path(input_path).absolute()
    progress = progress or (lambda stage, fraction, message: None)
    should_cancel = should_cancel or (lambda: False)
    if duck_db is None:
        duck_db = _duck_db_setting()
    if engines is None:
        from dubbing.engines.registry import build_engines

        try:
            engines = build_engines(options)
        except EngineError as exc:
            raise PipelineError("check", None, str(exc)) from exc
    check_engines(engines, options)

    ws = Workspace(Path(workspace))
    timings: dict[str, dict] = {}
    state: dict = {}

    def cancel_point(stage: str, segment_id: str | None = None) -> None:
        if should_cancel():
            raise PipelineCancelled(stage, segment_id)

    def run_stage(name: str, key: str, fn: Callable[[], dict]) -> dict:
        if ws.stage_done(name, key):
            timings[name] = {"seconds": 0.0, "cached": True}
            progress(name, 1.0, "done earlier")
            return ws.stage_detail(name)
        cancel_point(name)
        progress(name, 0.0, "")
        began = time.monotonic()
        try:
            detail = fn() or {}
        except PipelineError:
            raise
        except (EngineError, ProbeError, FFmpegError, OSError, RuntimeError, ValueError) as exc:
            raise PipelineError(name, None, str(exc) or type(exc).__name__) from exc
        seconds = time.monotonic() - began
        ws.record(name, key, status="done", seconds=seconds, detail=detail)
        timings[name] = {"seconds": round(seconds, 3), "cached": False}
        progress(name, 1.0, "")
        return detail

    def stage_progress(name: str):
        return lambda fraction, message: progress(name, fraction, message)

    # 1. probe
    fingerprint = input_fingerprint(input_path) if input_path.is_file() else "missing"
    k_probe = digest("probe-2", fingerprint)  # 2: videos.probe's MediaInfo

    def do_probe():
        try:
            info = probe(input_path)
        except ProbeError as exc:
            raise PipelineError("probe", None, str(exc)) from exc
        atomic_write_json(ws.path("probe.json"), info_to_dict(info))
        return {"duration": info.duration}

    run_stage("probe", k_probe, do_probe)
    info = info_from_dict(read_json(ws.path("probe.json")))
    ws.set("input", {"path": str(input_path), "fingerprint": fingerprint})

    # 2. extract
    asr_wav, mix_wav, regions_json = ws.path("audio", "asr.wav"), ws.path("audio", "mix.wav"), ws.path("regions.json")
    k_extract = digest("extract-1", k_probe)

    def do_extract():
        extract_stage.extract_audio(input_path, info, asr_wav, mix_wav)
        regions = extract_stage.detect_speech(asr_wav)
        atomic_write_json(regions_json, regions)
        return {"speech_regions": len(regions)}

    run_stage("extract", k_extract, do_extract)
    regions = [tuple(r) for r in read_json(regions_json)]

    # 3. transcribe (or the user's source subtitles)
    names = engines.names()
    candidates = None
    if engines.translator is not None and options.source_language == "auto":
        candidates = {s for s, t in engines.translator.supported_pairs() if t == options.target_language}
    k_transcribe = digest("transcribe-2", k_extract, options.source_language, _text_hash(options.source_subtitles),
                          names["asr"], sorted(candidates or []))
    transcript_json = ws.path("transcript.json")

    def do_transcribe():
        if options.source_subtitles:
            language = options.source_language
            if language == "auto" and engines.translator is not None:
                sources = {s for s, t in engines.translator.supported_pairs() if t == options.target_language}
                if len(sources) != 1:
                    raise PipelineError("transcribe", None, "Say which language the source subtitles are in (--from).")
                language = sources.pop()
            transcript = transcript_from_subtitles(options.source_subtitles, language)
            detail = {"skipped": "source subtitles supplied"}
        else:
            transcript = transcribe(engines.asr, asr_wav, options.source_language, regions, candidates,
                                    target=options.target_language)
            detail = {"language": transcript.language, "confidence": round(transcript.confidence, 3),
                      "detection": getattr(engines.asr, "last_detection", {}) or {}}
        atomic_write_json(transcript_json, transcript.to_dict())
        return detail

    transcribe_detail = run_stage("transcribe", k_transcribe, do_transcribe)
    transcript = Transcript.from_dict(read_json(transcript_json))
    source_language = transcript.language
    if source_language == options.target_language:
        raise PipelineError("transcribe", None, f"The speech is already in '{source_language}'.")

    # 4. segment
    k_segment = digest("segment-1", k_transcribe, _text_hash(options.target_subtitles))
    segments_json = ws.path("segments.json")

    def do_segment():
        supplied_targets = {}
        if options.target_subtitles:
            from dubbing.pipeline.subtitles import parse_subtitles

            cues = segments_from_cues(parse_subtitles(options.target_subtitles))
            segments = [Segment(id=c.id, start=c.start, end=c.end,
                                text=source_text_for(c, transcript) if not options.source_subtitles else
                                " ".join(s.text for s in transcript.segments if s.start < c.end and s.end > c.start))
                        for c in cues]
            supplied_targets = {c.id: c.text for c in cues}
        elif options.source_subtitles:
            segments = segments_from_cues(transcript.segments)
        else:
            segments = segment_transcript(transcript)
        if not segments:
            raise PipelineError("transcribe", None, "No speech was found in the audio, so there is nothing to dub.")
        atomic_write_json(segments_json, {"segments": [s.to_dict() for s in segments], "targets": supplied_targets})
        return {"segments": len(segments)}

    run_stage("segment", k_segment, do_segment)
    seg_data = read_json(segments_json)
    segments = [Segment.from_dict(s) for s in seg_data["segments"]]
    slots_end = {s.id: s.end for s in segments}

    # 5. translate (or the user's target subtitles)
    k_translate = digest("translate-1", k_segment, options.target_language, options.glossary, names["translate"])
    translations_json = ws.path("translations.json")

    def do_translate():
        if seg_data["targets"]:
            texts = seg_data["targets"]
            detail = {"skipped": "target subtitles supplied"}
        else:
            texts = translate_segments(
                engines.translator, segments, source=source_language, target=options.target_language,
                glossary=dict(options.glossary), folder=ws.root / "translate", should_cancel=should_cancel,
                progress=stage_progress("translate"))
            detail = {}
        atomic_write_json(translations_json, texts)
        return detail

    run_stage("translate", k_translate, do_translate)
    texts: dict[str, str] = read_json(translations_json)

    # 6. synthesize
    k_synth = digest("synthesize-1", k_translate, options.voice, names["tts"])
    synth_json = ws.path("synthesize.json")
    synth_dir = ws.root / "synth"

    def clip_lengths(paths: dict[str, Path]) -> dict[str, float]:
        return {sid: sf.info(str(p)).frames / sf.info(str(p)).samplerate for sid, p in paths.items()}

    def do_synthesize():
        paths = synthesize_segments(engines.tts, segments, texts, language=options.target_language,
                                    voice=options.voice, folder=synth_dir, should_cancel=should_cancel,
                                    progress=stage_progress("synthesize"))
        lengths = clip_lengths(paths)
        atomic_write_json(synth_json, {sid: {"path": str(p), "seconds": lengths[sid]} for sid, p in paths.items()})
        return {"clips": len(paths)}

    run_stage("synthesize", k_synth, do_synthesize)

    # 7. fit
    can_shorten = engines.translator is not None and hasattr(engines.translator, "shorten")
    k_fit = digest("fit-1", k_synth, options.max_speed, can_shorten)
    fit_json = ws.path("fit.json")
    timeline = timeline_duration(info)

    def do_fit():
        clips = {sid: Path(v["path"]) for sid, v in read_json(synth_json).items()}
        final_texts = dict(texts)
        shortened: set[str] = set()
        voiced = [s for s in segments if s.id in clips]
        slots = [fit_stage.Slot(s.start, s.end) for s in voiced]
        lengths = clip_lengths(clips)
        plan = fit_stage.plan_fit(slots, [lengths[s.id] for s in voiced], options.max_speed, timeline)
        if can_shorten:
            for i in fit_stage.needs_shortening(plan):
                seg = voiced[i]
                cancel_point("fit", seg.id)
                max_seconds = (plan[i].length - plan[i].overrun) * options.max_speed
                cache = ws.path("shorten", f"{seg.id}.json")
                key = digest(final_texts[seg.id], round(max_seconds, 2), names["translate"])
                if cache.exists() and read_json(cache).get("key") == key:
                    shorter = read_json(cache)["text"]
                else:
                    try:
                        shorter = engines.translator.shorten(seg, final_texts[seg.id], max_seconds,
                                                             options.target_language)
                    except Exception as exc:
                        raise PipelineError("fit", seg.id, f"shortening failed: {exc}") from exc
                    atomic_write_json(cache, {"key": key, "text": shorter})
                if shorter and shorter != final_texts[seg.id]:
                    from dubbing.pipeline.synthesize import clip_path

                    path = clip_path(synth_dir, seg.id, shorter, options.target_language, options.voice, names["tts"])
                    if not path.exists():
                        try:
                            synthesize_one(engines.tts, shorter, options.target_language, options.voice, path)
                        except Exception as exc:
                            raise PipelineError("fit", seg.id, f"re-synthesis failed: {exc}") from exc
                    clips[seg.id] = path
                    final_texts[seg.id] = shorter
                    shortened.add(seg.id)
            if shortened:
                lengths = clip_lengths(clips)
                plan = fit_stage.plan_fit(slots, [lengths[s.id] for s in voiced], options.max_speed, timeline)
        fitted_dir = ws.root / "fit"
        fitted_dir.mkdir(exist_ok=True)
        jobs = []
        for seg, placement in zip(voiced, plan):
            samples = round(placement.length * fit_stage.MIX_RATE)
            out = fit_stage.fitted_path(fitted_dir, seg.id, clips[seg.id], placement.speed, samples)
            jobs.append((seg, placement, samples, out))
        todo = [j for j in jobs if not j[3].exists()]
        finished = len(jobs) - len(todo)

        def render(job):
            seg, placement, samples, out = job
            cancel_point("fit", seg.id)
            try:
                fit_stage.render_clip(clips[seg.id], out, speed=placement.speed, samples=samples)
            except Exception as exc:
                raise PipelineError("fit", seg.id, str(exc)) from exc

        def rendered(job, _):
            nonlocal finished
            finished += 1
            progress("fit", finished / max(1, len(jobs)), f"{finished}/{len(jobs)} lines")

        run_each(todo, render, workers=os.cpu_count() or 1, on_done=rendered)
        atomic_write_json(fit_json, {
            seg.id: {"clip": str(clips[seg.id]), "fitted": str(out), "raw_seconds": round(lengths[seg.id], 4),
                     "samples": samples, "offset": round(placement.start * fit_stage.MIX_RATE),
                     "text": final_texts[seg.id], "shortened": seg.id in shortened, **placement.to_dict()}
            for seg, placement, samples, out in jobs})
        return {"shortened": len(shortened), "displaced": sum(1 for p in plan if p.displacement > 0.001)}

    run_stage("fit", k_fit, do_fit)
    fitted = read_json(fit_json)

    # 8. mix: writes the final AAC track (2: it used to write a WAV for mux to encode)
    k_mix = digest("mix-2", k_fit, options.background, duck_db, keep_stems)
    mix_dir = ws.root / "mix"
    dubbed_audio = mix_dir / "dubbed.m4a"

    def do_mix():
        mix_dir.mkdir(exist_ok=True)
        placed = [mix_stage.PlacedClip(Path(v["fitted"]), v["offset"], v["samples"]) for v in fitted.values()]
        speech = list(regions) + [(s.start, s.end) for s in transcript.segments]
        result = mix_stage.mix_to_aac(
            placed, background_wav=mix_wav, background=options.background, duck_db=duck_db,
            speech_intervals=speech, total_samples=round(timeline * mix_stage.MIX_RATE), out_m4a=dubbed_audio,
            language=options.target_language, stems_dir=(mix_dir / "stems") if keep_stems else None,
            progress=stage_progress("mix"))
        return {"measured_lufs": result.measured_lufs, "gain_db": result.gain_db,
                "output_lufs": result.output_lufs, "target_lufs": mix_stage.TARGET_LUFS}

    mix_detail = run_stage("mix", k_mix, do_mix)

    # 9. mux (and the subtitle files, whose target times follow the placed lines)
    k_mux = digest("mux-2", k_mix, options.subtitles, source_language)
    mux_dir = ws.root / "mux"
    suffix = mux_stage.output_suffix(input_path) if info.has_video else ".m4a"
    subs_dir = ws.root / "subtitles"

    def cues():
        order = [s for s in segments if s.id in fitted]
        source_cues, target_cues, bilingual = [], [], []
        for i, seg in enumerate(order):
            f = fitted[seg.id]
            start = f["start"]
            next_start = fitted[order[i + 1].id]["start"] if i + 1 < len(order) else timeline
            end = min(max(start + f["length"], slots_end[seg.id]), next_start)
            source_cues.append((seg.start, seg.end, seg.text))
            target_cues.append((start, end, f["text"]))
            bilingual.append((seg.start, seg.end, f"{f['text']}\n{seg.text}"))
        return source_cues, target_cues, bilingual

    def do_mux():
        mux_dir.mkdir(exist_ok=True)
        subs_dir.mkdir(exist_ok=True)
        source_cues, target_cues, bilingual = cues()
        publish_stage.write_subtitle_pair(source_cues, subs_dir / "source")
        publish_stage.write_subtitle_pair(target_cues, subs_dir / "target")
        publish_stage.write_subtitle_pair(bilingual, subs_dir / "bilingual")
        if info.has_video:
            mux_stage.mux_video(input_path, dubbed_audio, mux_dir / f"dubbed{suffix}", demuxer=info.format,
                                subtitles_srt=subs_dir / "target.srt" if options.subtitles != "none" else None,
                                mode=options.subtitles, language=options.target_language, work_dir=mux_dir)
        return {}

    run_stage("mux", k_mux, do_mux)

    # 10. publish
    stem = input_path.stem
    lang, src = options.target_language, source_language
    files = {"audio": dubbed_audio}
    file_names = {"audio": f"{stem}.{lang}.m4a"}
    if info.has_video:
        files["video"] = mux_dir / f"dubbed{suffix}"
        file_names["video"] = f"{stem}.{lang}{suffix}"
    for kind, name in (("source", src), ("target", lang), ("bilingual", f"{src}-{lang}")):
        for ext in ("srt", "vtt"):
            files[f"{kind}_{ext}"] = subs_dir / f"{kind}.{ext}"
            file_names[f"{kind}_{ext}"] = f"{stem}.{name}.{ext}"

    began = time.monotonic()
    progress("publish", 0.0, "")
    outputs = publish_stage.publish_files(files, Path(out_dir), file_names)
    report = {
        "input": str(input_path),
        "fingerprint": fingerprint,
        "options": options.to_dict(),
        "source_language": source_language,
        "target_language": lang,
        "duration": timeline,
        "engines": names,
        "detection": transcribe_detail.get("detection", {}),
        "loudness": mix_detail,
        "segments": [
            {"id": seg.id, "start": seg.start, "end": seg.end, "source_text": seg.text,
             "text": fitted[seg.id]["text"] if seg.id in fitted else texts.get(seg.id, ""),
             "raw_seconds": fitted.get(seg.id, {}).get("raw_seconds", 0.0),
             "placed_start": fitted.get(seg.id, {}).get("start"),
             "placed_seconds": fitted.get(seg.id, {}).get("length", 0.0),
             "speed": fitted.get(seg.id, {}).get("speed", 1.0),
             "displacement": fitted.get(seg.id, {}).get("displacement", 0.0),
             "overrun": fitted.get(seg.id, {}).get("overrun", 0.0),
             "shortened": fitted.get(seg.id, {}).get("shortened", False),
             "clip": fitted.get(seg.id, {}).get("clip"),
             "fitted_clip": fitted.get(seg.id, {}).get("fitted")}
            for seg in segments
        ],
        "stages": {**timings, "publish": {"seconds": round(time.monotonic() - began, 3), "cached": False}},
        "workspace": str(ws.root),
        "outputs": outputs,
    }
    report_path = Path(out_dir) / "report.json"
    atomic_write_json(report_path, report)
    report["outputs"]["report"] = str(report_path)
    progress("publish", 1.0, "")
    return report


def _duck_db_setting() -> float:
    try:
        from django.conf import settings

        return float(getattr(settings, "DUCK_DB", DEFAULT_DUCK_DB))
    except Exception:
        return DEFAULT_DUCK_DB
