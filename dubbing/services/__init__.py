"""Writes for dubbing jobs (DESIGN.md "Jobs and credits", "Durable job state"), by subject:

- `options`: a dub's options from user input, and whether the engines can run them;
- `jobs`: a user's jobs: create, cancel, retry; staff's refund; deleting jobs with their files;
- `edits`: a line's text or speaker, a speaker's name or voice, the re-render of the changed lines;
- `labels`: speaker names written into the outputs' WebVTT voice spans and report;
- `claims`: the worker's claim, heartbeat, progress, steps and lines, the run's end, reaping;
- `analysis`: the shared source analysis and its lock;
- `cloning`: what a job's cloned voices leave behind: the speakers a consent covers, the clones
  made at a provider and the sweep that deletes those a run left behind;
- `transitions`: the state changes those share (releasing a claim, cancelling, failing,
  queuing again), each on a row its caller has locked.

The API, the pages, the admin and the worker all call these. State changes that can race (a
user's cancel against the worker finishing, two deliveries of one message, the reaper against a
slow heartbeat) lock the job row with select_for_update, check the state they expect, and move
credits through the ledger in the same transaction, so the final state and the ledger always
agree: a cancelled or failed attempt is refunded exactly once (`job_refund:{job}:{attempt}`), a
failed or cancelled render exactly once (`job_render_refund:{job}:{n}`). Reads (the render quote,
the snapshot) are selectors (dubbing/selectors.py).
"""

from dubbing.pricing import dubbing_job_cost
from dubbing.services.analysis import (
    source_analysis_claim,
    source_analysis_heartbeat,
    source_analysis_key,
    source_analysis_release,
)
from dubbing.services.claims import (
    PublishedFile,
    dubbing_job_claim,
    dubbing_job_end_cancelled,
    dubbing_job_fail,
    dubbing_job_heartbeat,
    dubbing_job_retry_later,
    dubbing_job_succeed,
    dubbing_jobs_reap,
    job_progress_save,
    job_step_finish,
    job_step_start,
    retry_delay_seconds,
    segments_upsert,
    worker_name,
)
from dubbing.services.cloning import (
    cloned_voice_created,
    cloned_voice_delete_failed,
    cloned_voice_deleted,
    cloned_voice_record,
    cloned_voices_sweep,
    voice_cloning_consent_speakers_record,
)
from dubbing.services.edits import dubbing_job_render, segment_update, speaker_update
from dubbing.services.jobs import (
    dubbing_job_cancel,
    dubbing_job_create,
    dubbing_job_refund,
    dubbing_job_retry,
    dubbing_jobs_create,
    dubbing_jobs_delete,
)
from dubbing.services.labels import job_outputs_relabel, outputs_label
from dubbing.services.options import MAX_TARGET_LANGUAGES, dub_options_parse, engines_check
from dubbing.services.transitions import job_snapshot_refresh

__all__ = [
    "cloned_voice_created",
    "cloned_voice_delete_failed",
    "cloned_voice_deleted",
    "cloned_voice_record",
    "cloned_voices_sweep",
    "MAX_TARGET_LANGUAGES",
    "PublishedFile",
    "dub_options_parse",
    "dubbing_job_cancel",
    "dubbing_job_claim",
    "dubbing_job_cost",
    "dubbing_job_create",
    "dubbing_job_end_cancelled",
    "dubbing_job_fail",
    "dubbing_job_heartbeat",
    "dubbing_job_refund",
    "dubbing_job_render",
    "dubbing_job_retry",
    "dubbing_job_retry_later",
    "dubbing_job_succeed",
    "dubbing_jobs_create",
    "dubbing_jobs_delete",
    "dubbing_jobs_reap",
    "engines_check",
    "job_outputs_relabel",
    "job_progress_save",
    "job_snapshot_refresh",
    "job_step_finish",
    "job_step_start",
    "outputs_label",
    "retry_delay_seconds",
    "segment_update",
    "segments_upsert",
    "source_analysis_claim",
    "source_analysis_heartbeat",
    "source_analysis_key",
    "source_analysis_release",
    "speaker_update",
    "voice_cloning_consent_speakers_record",
    "worker_name",
]
