"""The dubbing actor: one delivery runs one job's attempt (or one render) on this worker.

`run_dubbing_job(job_id, attempt, render)` claims the job with a conditional update (a duplicate
or stale delivery finds nothing to claim and returns), keeps a heartbeat in a monitor thread
(which also reads the cancel flag, so `should_cancel()` is a memory read, and writes progress at
most every DUBBING_PROGRESS_INTERVAL), runs the pipeline over a local cache of the job's
workspace whose durable copy is in the media storage (a redelivery on a machine with an empty
disk resumes from there), uploads the outputs and records them.

Retries are ours, not Dramatiq's (max_retries=0): a retryable PipelineError (timeouts, 429, 5xx,
storage hiccups, the time limit) re-sends the message with exponential backoff until the
attempt has used DUBBING_JOB_MAX_TRIES; a non-retryable one fails the job at once. Failing
refunds the attempt once and emails the owner (services).
"""

from __future__ import annotations

import logging
import mimetypes
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import dramatiq
import structlog
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils.text import slugify
from dramatiq.middleware import TimeLimitExceeded

from dubbing import services
from dubbing.models import ArtifactKind, DubbingJob, StepStatus
from dubbing.pipeline.errors import ErrorCode, PipelineCancelled, PipelineError
from dubbing.storage import (
    JobWorkStore,
    SourceAnalysisStore,
    artifact_name,
    storage_delete,
    storage_fetch,
    storage_save,
)
from onevoice import metrics
from videos.storage import media_storage

logger = logging.getLogger(__name__)

QUEUE = settings.DUBBING_QUEUE  # `dubbing`; GPU workers listen on their own (settings)
# Share of the whole job each stage stands for, for the overall progress bar (sums to 100).
STAGE_WEIGHTS = {
    "probe": 1, "extract": 4, "transcribe": 24, "segment": 2, "translate": 10, "synthesize": 30,
    "fit": 10, "mix": 8, "mux": 8, "publish": 3,
}
_CONTENT_TYPES = {".srt": "application/x-subrip", ".vtt": "text/vtt", ".m4a": "audio/mp4", ".mp4": "video/mp4",
                  ".mkv": "video/x-matroska", ".json": "application/json"}


# --- The CPU budget ---------------------------------------------------------------------------

class CpuBudget:
    """The CPU threads the jobs of this process may use together (DUBBING_WORKER_CPUS). A job
    takes up to DUBBING_JOB_THREADS of what is free, waiting while nothing is."""

    def __init__(self, total: int):
        self.total = max(1, total)
        self.free = self.total
        self._cond = threading.Condition()

    @contextmanager
    def take(self, wanted: int, *, should_stop=lambda: False):
        with self._cond:
            while self.free < 1 and not should_stop():
                self._cond.wait(timeout=0.5)
            granted = max(1, min(wanted, self.free)) if self.free >= 1 else 0
            self.free -= granted
        try:
            yield max(1, granted)
        finally:
            with self._cond:
                self.free += granted
                self._cond.notify_all()


_budget_lock = threading.Lock()
_budget: CpuBudget | None = None


def cpu_budget() -> CpuBudget:
    global _budget
    with _budget_lock:
        if _budget is None or _budget.total != settings.DUBBING_WORKER_CPUS:
            _budget = CpuBudget(settings.DUBBING_WORKER_CPUS)
        return _budget


# --- Sending ----------------------------------------------------------------------------------

def job_time_limit_ms(duration: float | None) -> int:
    """How long one delivery may run: a base plus a factor of the media's duration."""
    seconds = settings.DUBBING_TIME_LIMIT_BASE + settings.DUBBING_TIME_LIMIT_FACTOR * float(duration or 0.0)
    return int(seconds * 1000)


def job_message_send(*, job_id, attempt: int, render: int, delay_seconds: float = 0.0,
                     duration: float | None = None) -> None:
    options = {"time_limit": job_time_limit_ms(duration)}
    if delay_seconds > 0:
        options["delay"] = int(delay_seconds * 1000)
    run_dubbing_job.send_with_options(args=(str(job_id), int(attempt), int(render)), **options)


# --- The shared source analysis --------------------------------------------------------------

class SourceAnalysisLock:
    """Held around the source stages of a job (run_dub's `source_lock`): a claim on the
    SourceAnalysis row, waited for while another job holds it (it is making the analysis this
    job will read), renewed by a heartbeat while held, released at the end. A holder that died
    stops renewing; its claim goes stale and the next job takes it over."""

    POLL_SECONDS = 0.25

    def __init__(self, *, key: str, video_id, source_language: str, recognizer: str, should_cancel):
        self.key, self.video_id, self.source_language, self.recognizer = key, video_id, source_language, recognizer
        self.should_cancel = should_cancel
        self.token = uuid.uuid4()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self):
        while not services.source_analysis_claim(key=self.key, video_id=self.video_id,
                                                 source_language=self.source_language, recognizer=self.recognizer,
                                                 token=self.token):
            if self.should_cancel():
                raise PipelineCancelled("probe")
            time.sleep(self.POLL_SECONDS)
        self._thread = threading.Thread(target=self._beat, name=f"analysis-{self.key[:8]}", daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.DUBBING_HEARTBEAT_SECONDS):
                try:
                    services.source_analysis_heartbeat(key=self.key, token=self.token)
                except Exception:
                    logger.exception("Heartbeat of source analysis %s failed", self.key)
                    close_old_connections()
        finally:
            connection.close()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        services.source_analysis_release(key=self.key, token=self.token)


def detect_candidates(engines) -> set[str] | None:
    """With "auto", the languages detection chooses from for every job: those the translator can
    translate from (into anything) and the recognizer knows. The same for every target language,
    so the jobs of one video into several languages make one analysis."""
    if engines.translator is None:
        return None
    sources = {s for s, _ in engines.translator.supported_pairs()}
    if engines.asr is not None:
        sources &= set(engines.asr.languages())
    return sources


def source_analysis_for(job: DubbingJob, engines, should_cancel) -> tuple[SourceAnalysisStore, object]:
    """The shared store and lock factory of the analysis this job's source side belongs to."""
    options = job.dub_options
    candidates = detect_candidates(engines) if options.source_language == "auto" else None
    recognizer = engines.names().get("asr") or ""
    key = services.source_analysis_key(
        video_id=job.video_id, video_key=job.video.storage_key, options=options, recognizer=recognizer,
        recognizer_options=getattr(engines.asr, "options_key", None),
        candidates=sorted(candidates) if candidates is not None else None)

    def lock():
        return SourceAnalysisLock(key=key, video_id=job.video_id, source_language=options.source_language,
                                  recognizer=recognizer, should_cancel=should_cancel)

    return SourceAnalysisStore(key), lock


# --- One run ----------------------------------------------------------------------------------

class JobRun:
    """The claimed job while this worker runs it: monitor thread, event recorder, publish."""

    def __init__(self, job: DubbingJob, *, render: int):
        self.job = job
        self.render = render
        self.claim_token = job.claim_token
        self.cancel = threading.Event()
        self.lost = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stage = job.stage
        self._fraction = 0.0
        self._done_weight = 0.0
        self._finished: set[str] = set()
        self._written: tuple[str, int] | None = None
        self._dirty = False
        self._monitor: threading.Thread | None = None

    # -- monitor: heartbeat, cancel flag, throttled progress --

    def should_cancel(self) -> bool:
        return self.cancel.is_set()

    def start_monitor(self) -> None:
        self._monitor = threading.Thread(target=self._watch, name=f"dub-monitor-{self.job.id}", daemon=True)
        self._monitor.start()

    def stop_monitor(self) -> None:
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join(timeout=30)

    def _watch(self) -> None:
        last_beat = time.monotonic()
        tick = max(0.05, min(settings.DUBBING_PROGRESS_INTERVAL, settings.DUBBING_HEARTBEAT_SECONDS))
        try:
            while not self._stop.wait(tick):
                try:
                    if time.monotonic() - last_beat >= settings.DUBBING_HEARTBEAT_SECONDS:
                        last_beat = time.monotonic()
                        held, cancel = services.dubbing_job_heartbeat(job_id=self.job.id, claim_token=self.claim_token)
                        if not held:
                            logger.warning("Lost the claim on dubbing job %s; stopping.", self.job.id)
                            self.lost = True
                        if cancel or not held:
                            self.cancel.set()
                    if self._dirty:
                        self.flush_progress()
                except Exception:  # a database hiccup must not kill the heartbeat
                    logger.exception("Heartbeat of dubbing job %s failed", self.job.id)
                    close_old_connections()
        finally:
            connection.close()

    # -- progress --

    def _progress(self) -> int:
        current = 0.0 if self._stage in self._finished else STAGE_WEIGHTS.get(self._stage, 0) * self._fraction
        return int(self._done_weight + current)

    def flush_progress(self, *, detected_language: str = "") -> None:
        with self._lock:
            self._dirty = False
            value = (self._stage, min(99, self._progress()))
            if value == self._written and not detected_language:
                return
            if not services.job_progress_save(job=self.job, claim_token=self.claim_token, stage=value[0],
                                              progress=value[1], detected_language=detected_language):
                self.lost = True
                self.cancel.set()
                return
            self._written = value

    # -- pipeline events --

    def on_event(self, event) -> None:
        from dubbing.pipeline.runner import STAGES

        position = STAGES.index(event.stage) if event.stage in STAGES else len(STAGES)
        if event.kind == "progress":
            # May come from a pipeline thread: only memory here; the monitor writes it.
            with self._lock:
                if event.stage == self._stage:
                    self._fraction = max(self._fraction, min(1.0, float(event.fraction)))
                    self._dirty = True
            return
        run = {"job": self.job, "attempt": self.job.attempt, "render": self.render, "name": event.stage,
               "position": position}
        if event.kind == "started":
            structlog.contextvars.bind_contextvars(stage=event.stage)
            logger.info("Dubbing job %s: stage %s started", self.job.id, event.stage)
            services.job_step_start(**run)
            with self._lock:
                self._stage, self._fraction = event.stage, 0.0
            self.flush_progress()
        elif event.kind == "done":
            logger.info("Dubbing job %s: stage %s %s", self.job.id, event.stage,
                        "reused" if event.cached else f"done in {float(event.seconds):.2f} s")
            services.job_step_finish(
                **run, status=StepStatus.SKIPPED if event.cached else StepStatus.DONE,
                seconds=0.0 if event.cached else float(event.seconds), detail=dict(event.detail or {}),
            )
            if not event.cached:  # a reused stage took no time; counting it would drag every bucket to 0
                metrics.pipeline_stage_seconds.labels(stage=event.stage).observe(float(event.seconds))
            if event.segments is not None and not self.render:
                services.segments_upsert(job=self.job, segments=event.segments, stage=event.stage)
            with self._lock:
                if event.stage not in self._finished:
                    self._finished.add(event.stage)
                    self._done_weight += STAGE_WEIGHTS.get(event.stage, 0)
                self._stage, self._fraction = event.stage, 1.0
            detected = ""
            if event.stage == "transcribe":
                detected = str((event.detail or {}).get("language") or (event.detail or {}).get("source_language") or "")
            self.flush_progress(detected_language=detected[:16])
        elif event.kind == "failed":
            services.job_step_finish(**run, status=StepStatus.FAILED, error_code=event.code or "",
                                     error_message=event.message)

    # -- inputs and outputs --

    def workspace(self) -> Path:
        return Path(settings.DUBBING_WORKSPACE_DIR) / "jobs" / str(self.job.id) / self.job.target_language

    def local_source(self, workspace: Path) -> Path:
        """A local path to the video's source file: the file itself on local storage, else a
        copy downloaded into the workspace (kept for the job's later runs on this machine)."""
        storage = media_storage()
        video = self.job.video
        try:
            return Path(storage.path(video.storage_key))
        except NotImplementedError:
            pass
        suffix = Path(video.storage_key).suffix
        dest = workspace / f"source{suffix}"
        if dest.is_file() and dest.stat().st_size == video.size:
            return dest
        if not storage_fetch(video.storage_key, dest, storage=storage):
            raise PipelineError("probe", None, "The video's file is missing from the storage.",
                                code=ErrorCode.BAD_MEDIA)
        return dest

    def download_name(self, kind: str, path: Path) -> str:
        base = slugify(Path(self.job.video.original_filename or self.job.video.title).stem)[:60] or "video"
        target = self.job.target_language
        if kind in (ArtifactKind.DUBBED_VIDEO, ArtifactKind.DUBBED_AUDIO):
            return f"{base}.{target}{path.suffix}"
        if kind == ArtifactKind.REPORT:
            return f"{base}.{target}.report.json"
        # subtitles_target_srt -> <base>.<target>.target.srt
        return f"{base}.{target}.{kind.replace('subtitles_', '').replace('_', '.')}"

    def upload(self, files: dict[str, Path]) -> list[services.PublishedFile]:
        published = []
        for kind, path in files.items():
            if kind not in ArtifactKind.values:
                logger.warning("Dubbing job %s: the pipeline made an unknown output %r; not published", self.job.id, kind)
                continue
            path = Path(path)
            filename = self.download_name(kind, path)
            name = artifact_name(self.job, kind, self.render, filename)
            content_type = _CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or (
                "application/octet-stream")
            try:
                storage_save(name, path, content_type=content_type)
            except OSError as exc:
                raise PipelineError("publish", None, f"Storing {kind} failed: {exc}", code=ErrorCode.STORAGE_ERROR) from exc
            published.append(services.PublishedFile(kind=kind, name=name, filename=filename, size=path.stat().st_size,
                                                    content_type=content_type))
        return published

    # -- the run --

    def run(self) -> None:
        from dubbing.engines.registry import build_engines
        from dubbing.pipeline.runner import run_dub

        job = self.job
        options = job.dub_options
        workspace = self.workspace()
        workspace.mkdir(parents=True, exist_ok=True)
        overrides = services.target_overrides(job=job) if self.render else None
        with cpu_budget().take(settings.DUBBING_JOB_THREADS, should_stop=self.should_cancel) as threads:
            if self.should_cancel():
                raise PipelineCancelled("probe")
            source = self.local_source(workspace)
            try:
                engines = build_engines(options, settings, threads=threads)
            except Exception as exc:  # EngineUnavailable and friends
                from dubbing.pipeline.runner import pipeline_error

                raise pipeline_error("check", None, exc) from exc
            source_store, source_lock = source_analysis_for(job, engines, self.should_cancel)
            result = run_dub(
                source,
                options,
                workspace=workspace,
                engines=engines,
                store=JobWorkStore(job.id, job.target_language),
                source_store=source_store,
                source_lock=source_lock,
                detect_candidates=detect_candidates(engines) if options.source_language == "auto" else None,
                on_event=self.on_event,
                should_cancel=self.should_cancel,
                duck_db=settings.DUCK_DB,
                threads=threads,
                target_overrides=overrides,
                max_duration=settings.MAX_VIDEO_MINUTES * 60,
            )
        if self.lost:
            return
        if self.should_cancel():
            raise PipelineCancelled("publish")
        published = self.upload(result.files)
        finished, unreferenced = services.dubbing_job_succeed(
            job_id=job.id,
            claim_token=self.claim_token,
            files=published,
            engines=result.engines,
            detected_language=result.source_language if job.source_language == "auto" else "",
            segments=result.segments if self.render else None,
        )
        self._delete_quietly(unreferenced)
        if finished is None:
            logger.info("Dubbing job %s finished but was cancelled or taken over; outputs discarded.", job.id)

    def _delete_quietly(self, names: list[str]) -> None:
        try:
            storage_delete(*names)
        except Exception:  # leftovers cost storage, not correctness
            logger.exception("Could not delete old outputs of dubbing job %s", self.job.id)


def _handle_failure(*, job_id, claim_token, lost: bool, error: PipelineError) -> None:
    if lost:
        return  # someone else holds the job now; what we saw is not its state
    if isinstance(error, PipelineCancelled) or error.code == ErrorCode.CANCELLED:
        services.dubbing_job_cancelled(job_id=job_id, claim_token=claim_token)
        return
    if error.retryable:
        job, requeued = services.dubbing_job_retry_later(job_id=job_id, claim_token=claim_token,
                                                         code=error.code.value, message=str(error))
        if requeued:
            logger.warning("Dubbing job %s: retryable failure (try %s): %s", job_id, job.tries, error)
        return
    services.dubbing_job_fail(job_id=job_id, claim_token=claim_token, code=error.code.value, message=str(error))


# The time limit here is the floor; each message carries its own, scaled to the media's length.
@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=int(settings.DUBBING_TIME_LIMIT_BASE * 1000))
def run_dubbing_job(job_id: str, attempt: int, render: int = 0) -> None:
    # The token is made before the claim, so that a time limit striking in the middle of the
    # claim can still be handled against it (or finds nothing, if the claim never committed).
    claim_token = uuid.uuid4()
    run: JobRun | None = None
    # Every line of this delivery names the job (onevoice/logs.py has bound the sender's request id).
    structlog.contextvars.bind_contextvars(job_id=str(job_id), attempt=int(attempt), render=int(render))
    try:
        job = services.dubbing_job_claim(job_id=job_id, attempt=attempt, render=render, claim_token=claim_token)
        if job is None:
            logger.info("Dubbing job %s (attempt %s, render %s): nothing to claim", job_id, attempt, render)
            # A message that comes back after its worker died (SQS's visibility timeout, a broker
            # redelivering an unacked message) finds the job still running under the dead worker's
            # claim: the reaper's pass re-queues it now (its heartbeat is stale by then), counted
            # as a try, instead of at the reaper's next round.
            services.dubbing_jobs_reap()
            return
        run = JobRun(job, render=render)
        run.start_monitor()
        run.run()
    except TimeLimitExceeded:
        error = PipelineError(run._stage if run and run._stage else "probe", None, "The job ran past its time limit.",
                              code=ErrorCode.TIME_LIMIT)
    except PipelineError as exc:
        error = exc
    except Exception as exc:
        logger.exception("Dubbing job %s failed unexpectedly", job_id)
        error = PipelineError(run._stage if run and run._stage else "probe", None, f"Internal error: {exc}",
                              code=ErrorCode.INTERNAL_ERROR)
    else:
        return
    finally:
        if run is not None:
            run.stop_monitor()
    _handle_failure(job_id=job_id, claim_token=claim_token, lost=bool(run and run.lost), error=error)


def reaper_loop(*, interval: float, stop: threading.Event, on_pass=None) -> None:
    """Reap every `interval` seconds until `stop` is set (`reap_jobs --loop`, devserver's
    thread). A failed pass is logged, not fatal."""
    while True:
        try:
            close_old_connections()
            counts = services.dubbing_jobs_reap()
            if on_pass is not None:
                on_pass(counts)
            elif any(counts.values()):
                logger.info("Reaper: %s", counts)
        except Exception:  # the loop outlives a database hiccup
            logger.exception("Reaper pass failed")
        if stop.wait(interval):
            connection.close()
            return
