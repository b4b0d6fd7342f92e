"""The base layer: what every app may use and that imports no app of ours.

Settings (`settings`, read through `env`), the one error shape (`errors`), after-commit events
between apps (`events`), idempotency keys (`idempotency`, `models`), pagination, request limits,
request ids, locale, authentication for polling (`auth`), retry with backoff (`retry`), the
schema's error responses (`schema`), health checks (`health`), the content security policy
(`csp`) and the product's Prometheus counters and access rule (`metrics`), with the project's
ASGI/WSGI entry points.

The order above it, top to bottom: portal -> community -> integrations -> dubbing ->
videos | billing -> accounts -> onevoice (see portal/__init__.py). Flows that need several apps
(sign-up with its bonus, deletions, the landing page, /metrics' job counts, devserver) are
composed in `portal`, never here; `.importlinter` holds that order and `make test` checks it.
"""
