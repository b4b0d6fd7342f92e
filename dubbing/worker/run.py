"""One delivery of a job's run on this worker: claim, run the pipeline, publish, end.

`job_run` claims the job with a conditional update (a duplicate or stale delivery finds nothing
to claim and returns); `JobRun` then runs the pipeline over a local cache of the job's workspace
whose durable copy is in the media storage (a redelivery on a machine with an empty disk resumes
from there), with its monitor, recorder and publisher. A failure ends the run through the
services: cancelled, queued again with backoff (a retryable error, until the attempt has used
DUBBING_JOB_MAX_TRIES), or failed and refunded.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import structlog
from django.conf import settings
from dramatiq.middleware import TimeLimitExceeded

from dubbing import selectors, services
from dubbing.engine_config import build_engines
from dubbing.models import DubbingJob
from dubbing.pipeline.errors import ErrorCode, PipelineCancelled, PipelineError
from dubbing.pipeline.runner import pipeline_error, run_dub
from dubbing.storage import JobWorkStore, storage_fetch
from dubbing.worker.analysis import detect_candidates, source_analysis_for
from dubbing.worker.budget import cpu_budget
from dubbing.worker.clones import JobCloneLedger
from dubbing.worker.monitor import JobMonitor
from dubbing.worker.publisher import ArtifactPublisher
from dubbing.worker.recorder import StepRecorder
from videos.storage import media_storage

logger = logging.getLogger(__name__)


class JobRun:
    """The claimed job while this worker runs it: its monitor (heartbeat and cancel), its
    recorder (steps, lines, progress) and its publisher (outputs), with the pipeline between."""

    def __init__(self, job: DubbingJob, *, render: int):
        self.job = job
        self.render = render
        self.monitor = JobMonitor(job)
        self.recorder = StepRecorder(job, render=render, on_claim_lost=self.monitor.claim_lost)
        self.publisher = ArtifactPublisher(job, render=render)

    @property
    def lost(self) -> bool:
        return self.monitor.lost

    @property
    def stage(self) -> str:
        return self.recorder.stage

    def should_cancel(self) -> bool:
        return self.monitor.should_cancel()

    def start(self) -> None:
        self.monitor.start(on_tick=self.recorder.flush_if_dirty)

    def stop(self) -> None:
        self.monitor.stop()

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
        dest = workspace / f"source{Path(video.storage_key).suffix}"
        if dest.is_file() and dest.stat().st_size == video.size:
            return dest
        if not storage_fetch(video.storage_key, dest, storage=storage):
            raise PipelineError("probe", None, "The video's file is missing from the storage.",
                                code=ErrorCode.BAD_MEDIA)
        return dest

    def _pipeline(self):
        """Run the pipeline with this process's share of the CPU; its result."""
        job, options = self.job, self.job.dub_options
        workspace = self.workspace()
        workspace.mkdir(parents=True, exist_ok=True)
        overrides = selectors.target_overrides(job=job) if self.render else None
        with cpu_budget().take(settings.DUBBING_JOB_THREADS, should_stop=self.should_cancel) as threads:
            if self.should_cancel():
                raise PipelineCancelled("probe")
            source = self.local_source(workspace)
            try:
                engines = build_engines(options, settings, threads=threads)
            except Exception as exc:  # EngineUnavailable and friends
                raise pipeline_error("check", None, exc) from exc
            source_store, source_lock = source_analysis_for(job, engines, self.should_cancel)
            return run_dub(
                source,
                options,
                workspace=workspace,
                engines=engines,
                store=JobWorkStore(job.id, job.target_language),
                source_store=source_store,
                source_lock=source_lock,
                detect_candidates=detect_candidates(engines) if options.source_language == "auto" else None,
                on_event=self.recorder.on_event,
                should_cancel=self.should_cancel,
                duck_db=settings.DUCK_DB,
                separate_duck_db=settings.SEPARATE_DUCK_DB,
                threads=threads,
                target_overrides=overrides,
                max_duration=settings.MAX_VIDEO_MINUTES * 60,
                clone_ledger=JobCloneLedger(job_id=job.id, claim_token=job.claim_token,
                                            provider=engines.names()["tts"]) if options.voice_cloning else None,
            )

    def run(self) -> None:
        job = self.job
        result = self._pipeline()
        if self.lost:
            return
        if self.should_cancel():
            raise PipelineCancelled("publish")
        services.outputs_label(job=job, files=result.files)  # the speakers' names in the VTT voice spans
        published = self.publisher.upload(result.files)
        finished, unreferenced = services.dubbing_job_succeed(
            job_id=job.id,
            claim_token=job.claim_token,
            files=published,
            engines=result.engines,
            detected_language=result.source_language if job.source_language == "auto" else "",
            segments=result.segments if self.render else None,
        )
        self.publisher.delete_quietly(unreferenced)
        if finished is None:
            logger.info("Dubbing job %s finished but was cancelled or taken over; outputs discarded.", job.id)


def _failure_handle(*, job_id, claim_token, lost: bool, error: PipelineError) -> None:
    if lost:
        return  # someone else holds the job now; what we saw is not its state
    if isinstance(error, PipelineCancelled) or error.code == ErrorCode.CANCELLED:
        services.dubbing_job_end_cancelled(job_id=job_id, claim_token=claim_token)
        return
    if error.retryable:
        job, requeued = services.dubbing_job_retry_later(job_id=job_id, claim_token=claim_token,
                                                         code=error.code.value, message=str(error))
        if requeued:
            logger.warning("Dubbing job %s: retryable failure (try %s): %s", job_id, job.tries, error)
        return
    services.dubbing_job_fail(job_id=job_id, claim_token=claim_token, code=error.code.value, message=str(error))


def job_run(*, job_id, attempt: int, render: int) -> None:
    """One delivery of run (attempt, render) of a job: claim it, run it, end it."""
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
        run.start()
        run.run()
    except TimeLimitExceeded:
        error = PipelineError(run.stage if run and run.stage else "probe", None, "The job ran past its time limit.",
                              code=ErrorCode.TIME_LIMIT)
    except PipelineError as exc:
        error = exc
    except Exception as exc:
        logger.exception("Dubbing job %s failed unexpectedly", job_id)
        error = PipelineError(run.stage if run and run.stage else "probe", None, f"Internal error: {exc}",
                              code=ErrorCode.INTERNAL_ERROR)
    else:
        return
    finally:
        if run is not None:
            run.stop()
    _failure_handle(job_id=job_id, claim_token=claim_token, lost=bool(run and run.lost), error=error)
