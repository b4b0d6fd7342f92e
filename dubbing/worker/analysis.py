"""The lock a job holds around its source stages, so that jobs on the same video share one
source analysis (dubbing/services/analysis.py keeps its row)."""

from __future__ import annotations

import logging
import threading
import time
import uuid

from django.conf import settings
from django.db import close_old_connections, connection

from dubbing import services
from dubbing.models import DubbingJob
from dubbing.pipeline.errors import PipelineCancelled
from dubbing.storage import SourceAnalysisStore

logger = logging.getLogger(__name__)


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
