"""Amazon SQS as the Dramatiq broker (dramatiq-sqs), for operators on AWS who run no Redis.

Selected by `BROKER_URL=sqs://...` or `SQS_QUEUE_PREFIX` (settings, `sqs_config`). What SQS does
differently from Redis, and what this module does about it:

- **Delays stop at 15 minutes.** A message due later (webhook backoff runs to an hour, job retries
  may be set longer) is chained: it is sent with the longest delay SQS takes and carries its due
  time (`onevoice_due_ms`); a worker that receives it early sends it on again with what is left
  (`ChainedDelays`) and skips it. So it runs on time, whatever the delay, and nothing needs a
  periodic command for it.
- **Queues that do not exist are created** (with the prefix: `<prefix>_<queue>`) when first used;
  a credential without sqs:CreateQueue then fails at that first use with AWS's error naming the
  queue. Creating them keeps one set of credentials and no separate provisioning step.
- **A message in hand is invisible for the visibility timeout**, then delivered again. Workers
  renew it while the message runs (`VisibilityRenewal`), so a long job is never delivered twice
  while its worker lives; a worker that dies stops renewing, and its message comes back after
  SQS_VISIBILITY_TIMEOUT seconds (more than DUBBING_HEARTBEAT_STALE_SECONDS, so the job's
  heartbeat is stale by then and the message re-queues it at once: dubbing/tasks.py).
- **Messages are at most 256 KB** here (SQS raised its limit to 1 MiB in 2025; 256 KB is what
  older set-ups and other SQS-compatible services take). Ours carry ids, never payloads.
- **The service can go away** (a network cut, an endpoint restart): errors from botocore on
  receive and delete are the broker connection errors Dramatiq retries, and a queue the endpoint
  no longer knows is looked up (or created) again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import dramatiq
from botocore.exceptions import BotoCoreError, ClientError
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import Middleware, SkipMessage
from dramatiq_sqs import SQSBroker
from dramatiq_sqs.broker import MAX_DELAY_SECONDS, SQSConsumer

from onevoice.logs import stamp

logger = logging.getLogger(__name__)

DUE_OPTION = "onevoice_due_ms"
MAX_MESSAGE_BYTES = 256 * 1024
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


# --- Configuration (read by settings.py; no AWS call here) ---------------------------------------

class SQSConfigError(ValueError):
    """A start-up error; the message names the setting at fault."""


@dataclass(frozen=True)
class SQSConfig:
    prefix: str
    region: str
    endpoint_url: str | None
    visibility_timeout: int
    dead_letter: bool

    def broker_options(self) -> dict:
        options = {"namespace": self.prefix, "region_name": self.region,
                   "visibility_timeout": self.visibility_timeout, "dead_letter": self.dead_letter}
        if self.endpoint_url:
            options["endpoint_url"] = self.endpoint_url
        return options


def sqs_config(*, broker_url: str, prefix: str, region: str, endpoint_url: str,
               visibility_timeout: int, dead_letter: bool) -> SQSConfig | None:
    """The SQS broker's settings from BROKER_URL (`sqs://[host[:port]]/<prefix>?region=...`) or the
    SQS_* variables; None when neither asks for SQS. Raises SQSConfigError naming the setting."""
    if broker_url:
        try:
            parts = urlsplit(broker_url)
            port = parts.port  # raises on a port that is not a number
        except ValueError as exc:
            raise SQSConfigError(f"BROKER_URL is not a URL ({exc}).") from None
        if parts.scheme != "sqs":
            raise SQSConfigError(
                f"BROKER_URL must start with sqs:// (got {parts.scheme + '://' if parts.scheme else broker_url!r}); "
                "Redis and RabbitMQ are chosen by REDIS_URL and RABBITMQ_URL.")
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        unknown = set(query) - {"region", "secure", "visibility_timeout", "dead_letter"}
        if unknown:
            raise SQSConfigError(f"BROKER_URL has unknown parameters: {', '.join(sorted(unknown))} "
                                 "(region, secure, visibility_timeout, dead_letter).")
        prefix = parts.path.strip("/") or prefix
        region = query.get("region", region)
        if parts.hostname:
            scheme = "http" if query.get("secure", "1") in ("0", "false", "no") else "https"
            endpoint_url = f"{scheme}://{parts.hostname}{f':{port}' if port else ''}"
        if "visibility_timeout" in query:
            try:
                visibility_timeout = int(query["visibility_timeout"])
            except ValueError:
                raise SQSConfigError("BROKER_URL: visibility_timeout must be a whole number of seconds.") from None
        if "dead_letter" in query:
            dead_letter = query["dead_letter"].lower() in ("1", "true", "yes", "on")
        setting = "BROKER_URL"
    elif prefix:
        setting = "SQS_QUEUE_PREFIX"
    else:
        return None
    if not prefix or not set(prefix) <= _NAME_CHARS or len(prefix) > 40:
        raise SQSConfigError(f"{setting}: the SQS queue prefix must be 1-40 letters, digits, '-' or '_' "
                             f"(got {prefix!r}).")
    if not region:
        raise SQSConfigError(f"The SQS broker needs a region: set SQS_REGION (or region= in BROKER_URL, "
                             f"or AWS_DEFAULT_REGION); {setting} asks for SQS.")
    if not 1 <= visibility_timeout <= 12 * 3600:
        raise SQSConfigError("SQS_VISIBILITY_TIMEOUT must be between 1 second and 12 hours.")
    return SQSConfig(prefix=prefix, region=region, endpoint_url=endpoint_url or None,
                     visibility_timeout=visibility_timeout, dead_letter=dead_letter)


# --- The broker ------------------------------------------------------------------------------------

def _is_connection_error(exc: Exception) -> bool:
    if isinstance(exc, BotoCoreError):  # endpoint unreachable, connection reset, read timeout
        return True
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code.endswith("QueueDoesNotExist") or code == "AWS.SimpleQueueService.NonExistentQueue" or status >= 500
    return False


class OneVoiceSQSConsumer(SQSConsumer):
    """dramatiq-sqs's consumer, with the service's failures turned into the broker connection
    errors Dramatiq's worker retries (it restarts the consumer, which finds the queue again)."""

    def __init__(self, queue, prefetch, timeout, *, broker, queue_name, **kwargs):
        super().__init__(queue, prefetch, timeout, **kwargs)
        self.broker, self.queue_name = broker, queue_name

    def _guard(self, call, *args):
        try:
            return call(*args)
        except (BotoCoreError, ClientError) as exc:
            if not _is_connection_error(exc):
                raise
            self.broker.forget_queue(self.queue_name)
            raise BrokerConnectionError(f"SQS: {exc}") from exc

    def __next__(self):
        return self._guard(super().__next__)

    def _settle(self, call, message) -> None:
        """Delete (ack) or dead-letter (nack) a message. Unreachable: a connection error, which the
        worker retries until the endpoint is back. Refused (the queue or the receipt handle no
        longer exists: the endpoint lost its state): the message is gone already."""
        try:
            call(message)
        except BotoCoreError as exc:
            raise BrokerConnectionError(f"SQS: {exc}") from exc
        except ClientError as exc:
            logger.warning("SQS: message %s could not be settled, it is gone already: %s", message.message_id, exc)
            self.broker.forget_queue(self.queue_name)
            self.message_refc -= 1

    def ack(self, message) -> None:
        self._settle(super().ack, message)

    def nack(self, message) -> None:
        self._settle(super().nack, message)

    def requeue(self, messages) -> None:
        self._guard(super().requeue, list(messages))


class OneVoiceSQSBroker(SQSBroker):
    """dramatiq-sqs's broker with delays of any length (chained), a 256 KB ceiling, queue depth
    from the queues' attributes, and queues found again after the endpoint lost them."""

    # Seconds SQS may delay a message; a class attribute so a test can chain delays in seconds.
    max_delay_seconds = MAX_DELAY_SECONDS

    def __init__(self, **options):
        options.setdefault("max_message_size", MAX_MESSAGE_BYTES * 4 // 3 + 4)  # the body is base64
        super().__init__(**options)
        self._queues_lock = threading.Lock()

    @property
    def consumer_class(self):
        return OneVoiceSQSConsumer

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 20_000):
        try:
            with self._queues_lock:
                self._ensure_queue(queue_name)
        except (BotoCoreError, ClientError) as exc:
            raise BrokerConnectionError(f"SQS: {exc}") from exc
        return self.consumer_class(
            self.queues[queue_name], prefetch, min(timeout, 20_000),
            dead_letter_queue=self.dead_letter_queues.get(queue_name) if self.dead_letter else None,
            visibility_timeout=self.visibility_timeout, broker=self, queue_name=queue_name,
        )

    def forget_queue(self, queue_name: str) -> None:
        """The endpoint no longer knows the queue (or cannot be reached): look it up again next time."""
        with self._queues_lock:
            self.queues.pop(queue_name, None)
            self.dead_letter_queues.pop(queue_name, None)

    def enqueue(self, message: dramatiq.Message, *, delay: int | None = None) -> dramatiq.Message:
        # The sender's log context now: dramatiq-sqs encodes the message before the enqueue hooks run.
        options = stamp({key: value for key, value in message.options.items() if key != DUE_OPTION})
        if delay and delay > self.max_delay_seconds * 1000:
            options[DUE_OPTION] = int(time.time() * 1000) + int(delay)
            delay = self.max_delay_seconds * 1000
        elif delay:
            delay = -(-int(delay) // 1000) * 1000  # SQS counts whole seconds: round up, never early
        message = message.copy(options=options)
        try:
            with self._queues_lock:
                self._ensure_queue(message.queue_name)
            return super().enqueue(message, delay=delay)
        except ClientError as exc:
            if not _is_connection_error(exc):
                raise
            self.forget_queue(message.queue_name)  # lost by the endpoint: found or made again, once
            with self._queues_lock:
                self._ensure_queue(message.queue_name)
            return super().enqueue(message, delay=delay)

    def sqs_queue_name(self, queue_name: str) -> str:
        return f"{self.namespace}_{queue_name}" if self.namespace else queue_name

    def queue_depths(self) -> dict[tuple[str, str], int]:
        """(queue, state) -> messages, from the queues' approximate attributes: ready (visible),
        delayed, in_flight (received, not yet deleted) and dead (the dead-letter queue)."""
        depths: dict[tuple[str, str], int] = {}
        client = self.sqs.meta.client
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed",
                 "ApproximateNumberOfMessagesNotVisible"]
        for queue_name in sorted(self.get_declared_queues()):
            try:
                url = client.get_queue_url(QueueName=self.sqs_queue_name(queue_name))["QueueUrl"]
            except client.exceptions.QueueDoesNotExist:
                counts = {name: 0 for name in names}  # not made yet: nothing was ever sent to it
            else:
                counts = client.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            depths[(queue_name, "ready")] = int(counts[names[0]])
            depths[(queue_name, "delayed")] = int(counts[names[1]])
            depths[(queue_name, "in_flight")] = int(counts[names[2]])
            dead = 0
            if self.dead_letter:
                try:
                    dlq = client.get_queue_url(QueueName=f"{self.sqs_queue_name(queue_name)}_dlq")["QueueUrl"]
                    dead = int(client.get_queue_attributes(
                        QueueUrl=dlq, AttributeNames=[names[0]])["Attributes"][names[0]])
                except client.exceptions.QueueDoesNotExist:
                    pass
            depths[(queue_name, "dead")] = dead
        return depths

    def ping(self) -> None:
        """One cheap call that needs the endpoint and the credentials (/readyz)."""
        self.sqs.meta.client.list_queues(QueueNamePrefix=self.namespace or "", MaxResults=1)


# --- Middleware ------------------------------------------------------------------------------------

class ChainedDelays(Middleware):
    """A message that arrives before its due time (its delay was longer than SQS allows) is sent on
    with what is left and skipped here."""

    def before_process_message(self, broker, message):
        due = message.options.get(DUE_OPTION)
        if not due:
            return
        left = int(due) - int(time.time() * 1000)
        if left > 0:
            broker.enqueue(message.copy(), delay=left)
            raise SkipMessage(f"due in {left / 1000:.0f} s: sent on")


class VisibilityRenewal(Middleware):
    """Keeps the messages this worker is running invisible to others: every third of the
    visibility timeout each one's timeout is renewed. A message whose worker died is renewed no
    more and comes back after one timeout."""

    def __init__(self):
        self._running: dict[int, object] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def after_worker_boot(self, broker, worker):
        timeout = getattr(broker, "visibility_timeout", None)
        if not timeout or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew, args=(timeout,), name="sqs-visibility", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker, worker):
        self._stop.set()
        self._thread = None

    def before_process_message(self, broker, message):
        if hasattr(message, "_sqs_message"):
            with self._lock:
                self._running[id(message)] = message

    def after_process_message(self, broker, message, *, result=None, exception=None):
        with self._lock:
            self._running.pop(id(message), None)

    after_skip_message = after_process_message

    def _renew(self, timeout: int) -> None:
        while not self._stop.wait(max(1.0, timeout / 3)):
            with self._lock:
                running = list(self._running.values())
            for message in running:
                try:
                    message._sqs_message.change_visibility(VisibilityTimeout=timeout)
                except Exception as exc:  # the endpoint is away: the next round tries again
                    logger.warning("SQS: renewing message %s's visibility failed: %s", message.message_id, exc)


SQS_MIDDLEWARE = ["onevoice.sqs.ChainedDelays", "onevoice.sqs.VisibilityRenewal"]
