"""`manage.py devserver [addr:port]`: the site and a Dramatiq worker in one process.

It also runs the dubbing reaper, enqueues the billing re-checks (pending payments and refunds)
every BILLING_SYNC_INTERVAL seconds and the due plan renewals every SUBSCRIPTION_RENEW_INTERVAL,
starts the built-in test checkout (billing/sandbox.py) with debug on and no PortOne keys, and
makes the landing page's sample dub in the background when it is missing (portal/sample.py).

The embedded set-up has no Redis: its StubBroker queue lives in memory, so the worker threads
have to live in the same process as the web server that enqueues. With REDIS_URL set the same
command still works (the in-process worker then consumes from Redis beside any other workers).
"""

from __future__ import annotations

import atexit
import os
import threading

import dramatiq
from django.conf import settings
from django.core.management.commands.runserver import Command as RunserverCommand
from dramatiq import Worker

from billing import paddle_sandbox, sandbox, stripe_sandbox
from billing.tasks import billing_sync_loop, renewal_loop
from dubbing.worker.reaper import reaper_loop
from portal.sample import sample_dub_start


class Command(RunserverCommand):
    help = "Starts the development web server with Dramatiq worker threads in the same process."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--worker-threads",
            type=int,
            default=settings.DEVSERVER_WORKER_THREADS,
            help="Dramatiq worker threads to run beside the server (default %(default)s).",
        )
        parser.add_argument(
            "--no-sample-dub",
            action="store_true",
            help="Do not make the landing page's sample dub when it is missing.",
        )

    def handle(self, *args, **options):
        self.worker_threads = options["worker_threads"]
        self.sample_dub = not options["no_sample_dub"]
        return super().handle(*args, **options)

    def inner_run(self, *args, **options):
        site_url_follow(self.addr, self.port, ipv6=self._raw_ipv6)
        # inner_run runs in the process that serves (the autoreloader's child), so the worker
        # shares the in-memory queue with the views that enqueue.
        broker = dramatiq.get_broker()
        # A Worker made in-process skips Dramatiq's process boot, where TimeLimit starts the
        # watchdog that enforces each job's time limit: start it here, once per process.
        from dramatiq.middleware import TimeLimit

        for middleware in broker.middleware:
            if isinstance(middleware, TimeLimit) and not middleware.manager.is_alive():
                middleware.after_process_boot(broker)
        worker = Worker(broker, worker_threads=self.worker_threads, worker_timeout=200)
        worker.start()
        atexit.register(worker.stop)
        stop_loops = threading.Event()
        atexit.register(stop_loops.set)
        # The reaper, and the enqueued re-checks of pending payments and refunds (run by the
        # worker above), as compose's `reaper` and `billing-sync` services do in production.
        for name, loop, interval in (("dubbing-reaper", reaper_loop, settings.DUBBING_REAPER_INTERVAL),
                                     ("billing-sync", billing_sync_loop, settings.BILLING_SYNC_INTERVAL),
                                     ("renewals", renewal_loop, settings.SUBSCRIPTION_RENEW_INTERVAL)):
            threading.Thread(target=loop, kwargs={"interval": interval, "stop": stop_loops}, name=name,
                             daemon=True).start()
        self.stdout.write(
            f"Dramatiq worker: {self.worker_threads} thread(s) on {type(broker).__name__}, "
            f"queues: {', '.join(sorted(broker.get_declared_queues())) or '(none yet)'}; "
            f"dubbing reaper every {settings.DUBBING_REAPER_INTERVAL:g} s, "
            f"billing re-checks every {settings.BILLING_SYNC_INTERVAL:g} s, "
            f"plan renewals every {settings.SUBSCRIPTION_RENEW_INTERVAL:g} s"
        )
        if settings.PORTONE_TEST_CHECKOUT:
            # Debug on and no PortOne keys: buying credits works offline through the loopback
            # PortOne V2 server and the stand-in browser SDK, and no money moves.
            portone = sandbox.start()
            atexit.register(sandbox.stop)
            self.stdout.write(
                f"Test checkout: loopback PortOne V2 at {portone.base_url}, stand-in SDK at "
                f"{settings.PORTONE_BROWSER_SDK_URL} (test payment: no money moves)"
            )
        if settings.PADDLE_TEST_CHECKOUT:
            # Debug on and no Paddle keys: Paddle buyers pay through the loopback Paddle API and
            # the stand-in Paddle.js, and no money moves.
            fake_paddle = paddle_sandbox.start()
            atexit.register(paddle_sandbox.stop)
            self.stdout.write(
                f"Test checkout for Paddle: loopback Paddle API at {fake_paddle.base_url}, stand-in "
                f"Paddle.js at {settings.PADDLE_JS_URL} (test payment: no money moves)"
            )
        if settings.STRIPE_TEST_CHECKOUT:
            # Debug on and no Stripe key: Stripe buyers pay on this site's stand-in for Stripe's
            # hosted checkout, through the loopback Stripe API, and no money moves.
            fake_stripe = stripe_sandbox.start()
            atexit.register(stripe_sandbox.stop)
            self.stdout.write(
                f"Test checkout for Stripe: loopback Stripe API at {fake_stripe.base_url}, checkout pages at "
                f"{stripe_sandbox.CHECKOUT_PATH}<session> (test payment: no money moves)"
            )
        if self.sample_dub:
            # In the background, through the worker just started: start-up never waits for it.
            sample_dub_start()
            self.stdout.write("Sample dub: made in the background when missing (--no-sample-dub to skip)")
        super().inner_run(*args, **options)


def site_url_follow(addr: str, port: str | int, *, ipv6: bool = False) -> str:
    """Links in emails and webhooks point where this server really listens (PORT=8023 make run),
    unless the deployment named its address (SITE_URL in the environment). Returns SITE_URL."""
    if not os.environ.get("SITE_URL"):
        settings.SITE_URL = listening_url(addr, port, ipv6=ipv6)
    return settings.SITE_URL


def listening_url(addr: str, port: str | int, *, ipv6: bool = False) -> str:
    """The address a browser on this machine reaches the server at: a wildcard bind (0.0.0.0,
    ::) is reached through loopback."""
    if addr in ("0.0.0.0", ""):
        addr = "127.0.0.1"
    elif addr == "::":
        addr = "::1"
    host = f"[{addr}]" if ipv6 or ":" in addr else addr
    return f"http://{host}:{port}"
