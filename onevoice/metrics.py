"""The product's own Prometheus metrics, served with django-prometheus's at /metrics.

The counters, the broker's queue depths and who may read them live here, in the base; a reading
of an app's rows (dubbing jobs by status) is the layer above's (portal.metrics), which also
serves the view.

Counters are incremented where the event happens; gauges that are a reading of the database or
the broker (jobs by status, queue depth) are collected at scrape time instead of being kept.

/metrics answers only the addresses in METRICS_ALLOWED_IPS or a request carrying
`Authorization: Bearer $METRICS_TOKEN`; anyone else gets the site's plain 404, so the endpoint
is not advertised. With METRICS_MULTIPROC_ROOT set (compose), every process writes its samples
to files under <root>/<hostname>/ (settings.py points PROMETHEUS_MULTIPROC_DIR there) and a
scrape sums the files of all the containers sharing the root: the gunicorn workers' requests and
the Dramatiq workers' stages come out of one address.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

webhook_rejected = Counter(
    "onevoice_portone_webhook_rejected_total",
    "PortOne webhook attempts refused before anything was stored, by reason.",
    ["reason"],
)
webhook_failed = Counter(
    "onevoice_portone_webhook_failed_total",
    "Verified PortOne webhook deliveries whose processing failed.",
)
payment_sync_failed = Counter(
    "onevoice_payment_sync_failed_total",
    "Payments sync_payments could not bring up to date with PortOne.",
)
refund_sync_failed = Counter(
    "onevoice_refund_sync_failed_total",
    "Pending refunds sync_refunds could not settle with PortOne.",
)
throttle_cache_unavailable = Counter(
    "onevoice_throttle_cache_unavailable_total",
    "Throttle reads and writes the shared cache did not answer; they were counted in the process's memory.",
)
database_unavailable = Counter(
    "onevoice_database_unavailable_total",
    "Requests answered 503 service_unavailable because the database did not answer.",
)
# From a tenth of a second (probe) to an hour (synthesizing a feature film).
pipeline_stage_seconds = Histogram(
    "onevoice_pipeline_stage_seconds",
    "Seconds a dubbing stage took in a job, per stage that ran (a stage reused from an earlier run is not counted).",
    ["stage"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, float("inf")),
)
collect_errors = Counter(
    "onevoice_metrics_collect_errors_total",
    "Scrape-time readings that failed (the database or the broker did not answer); their gauges read 0.",
    ["collector"],
)


# --- Scrape-time readings ------------------------------------------------------------------------

def broker_queue_depths(broker) -> dict[tuple[str, str], int]:
    """Messages per (queue, state): ready, delayed (waiting for their eta) and dead (dead-lettered);
    SQS adds in_flight (received by a worker, not yet done).

    Read the way each broker keeps them: Redis lists and sorted sets under the broker's namespace,
    the StubBroker's in-process queues, RabbitMQ's declared message counts."""
    from dramatiq.brokers.stub import StubBroker
    from dramatiq.common import dq_name, xq_name

    queues = sorted(broker.get_declared_queues())
    client = getattr(broker, "client", None)
    if isinstance(broker, StubBroker):
        return {
            **{(q, "ready"): broker.queues[q].qsize() for q in queues},
            **{(q, "delayed"): broker.queues[dq_name(q)].qsize() for q in queues if dq_name(q) in broker.queues},
            **{(q, "dead"): len(broker.dead_letters_by_queue.get(q, ())) for q in queues},
        }
    if hasattr(broker, "queue_depths"):  # SQS: the queues' attributes (onevoice/sqs.py)
        return broker.queue_depths()
    if client is not None and hasattr(broker, "namespace"):  # Redis
        pipe = client.pipeline(transaction=False)
        for q in queues:
            pipe.llen(f"{broker.namespace}:{q}")
            pipe.llen(f"{broker.namespace}:{dq_name(q)}")
            pipe.zcard(f"{broker.namespace}:{xq_name(q)}")
        answers = iter(pipe.execute())
        return {(q, state): int(next(answers)) for q in queues for state in ("ready", "delayed", "dead")}
    if hasattr(broker, "get_queue_message_counts"):  # RabbitMQ
        depths = {}
        for q in queues:
            ready, delayed, dead = broker.get_queue_message_counts(q)
            depths.update({(q, "ready"): ready, (q, "delayed"): delayed, (q, "dead"): dead})
        return depths
    return {}


class QueueDepthCollector:
    """The Dramatiq broker's queue sizes when Prometheus asks; 0 (and an error counted) when the
    broker does not answer."""

    def collect(self):
        import dramatiq

        family = GaugeMetricFamily("onevoice_queue_messages", "Messages in the Dramatiq queues, by state.",
                                   labels=["queue", "state"])
        broker = dramatiq.get_broker()
        try:
            depths = broker_queue_depths(broker)
        except Exception:
            logger.warning("metrics: reading the broker's queues failed", exc_info=True)
            collect_errors.labels(collector="queues").inc()
            depths = {(q, state): 0 for q in broker.get_declared_queues() for state in ("ready", "delayed", "dead")}
        for (queue, state), value in sorted(depths.items()):
            family.add_metric([queue, state], value)
        yield family


class _ProcessFiles:
    """The samples every process wrote to its files (multiprocess mode), summed."""

    def __init__(self, files: list[str]):
        self.files = files

    def collect(self):
        return MultiProcessCollector.merge(self.files, accumulate=True)


class _DefaultRegistry:
    def collect(self):
        return REGISTRY.collect()


def process_files() -> list[str] | None:
    """The multiprocess files to read, or None when this process keeps its samples in memory."""
    root = settings.METRICS_MULTIPROC_ROOT
    if root:
        return sorted(str(p) for p in Path(root).glob("*/*.db"))
    own = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own:
        return sorted(str(p) for p in Path(own).glob("*.db"))
    return None


def scrape_registry(*readings) -> CollectorRegistry:
    """What one scrape reports: the apps' scrape-time `readings` (collectors, given by the layer
    that knows the apps: portal.metrics), the broker's queues, and every process's samples."""
    # The readings go first: an error they count is then in the same scrape's counters.
    registry = CollectorRegistry(auto_describe=False)
    for reading in readings:
        registry.register(reading)
    registry.register(QueueDepthCollector())
    files = process_files()
    registry.register(_ProcessFiles(files) if files is not None else _DefaultRegistry())
    return registry


# --- Who may read them ---------------------------------------------------------------------------

def client_address(request) -> str:
    """The caller's address, behind NUM_PROXIES trusted proxies as DRF's throttles take it."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = settings.NUM_PROXIES
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")


def allowed_networks(entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """METRICS_ALLOWED_IPS as networks (a bare address is a /32 or /128). Raises ValueError."""
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 from a dual-stack socket
    return any(ip in network for network in allowed_networks(settings.METRICS_ALLOWED_IPS))


def _token_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return False
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_response(request, *readings) -> HttpResponse:
    """The /metrics answer: the scrape with `readings` for an allowed caller, the plain 404 for
    anyone else. portal.metrics.metrics_view serves it with the dubbing jobs' counts."""
    if not (_token_allowed(request) or _address_allowed(client_address(request))):
        raise Http404  # the site's plain 404: nothing says a metrics endpoint is here
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return HttpResponse(generate_latest(scrape_registry(*readings)), content_type=CONTENT_TYPE_LATEST)
