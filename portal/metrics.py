"""/metrics with the readings that need the apps: dubbing jobs by status, counted in the
database at scrape time. Everything else (counters, queue depths, who may read) is
onevoice.metrics'; this module adds what the base cannot import."""

from __future__ import annotations

import logging

from django.db.models import Count
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client.core import GaugeMetricFamily

from dubbing.models import DubbingJob, JobStatus
from onevoice.metrics import collect_errors, metrics_response

logger = logging.getLogger("onevoice.metrics")  # the same logger as the base's readings


class JobsByStatusCollector:
    """Dubbing jobs by status, counted in the database when Prometheus asks."""

    def collect(self):
        family = GaugeMetricFamily("onevoice_dubbing_jobs", "Dubbing jobs by status.", labels=["status"])
        counts: dict[str, int] = {}
        try:
            counts = dict(DubbingJob.objects.order_by().values_list("status").annotate(n=Count("pk")))
        except Exception:  # a scrape reports a dead database, it does not die of one
            logger.warning("metrics: counting dubbing jobs failed", exc_info=True)
            collect_errors.labels(collector="jobs").inc()
        for status in JobStatus.values:
            family.add_metric([status], counts.get(status, 0))
        yield family


@never_cache
def metrics_view(request) -> HttpResponse:
    return metrics_response(request, JobsByStatusCollector())
