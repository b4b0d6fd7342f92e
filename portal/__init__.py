"""The composition layer: the top of OneVoice, where flows that cross apps are put together.

The apps are layered, each importing only the ones below it (the contracts in `.importlinter`,
checked by `make test`)::

    portal                     cross-app flows, the landing page, root URLs, devserver
    community                  published dubs, likes, comments
    integrations               webhooks for integrators
    dubbing                    jobs, the pipeline (plain Python: dubbing/pipeline, dubbing/engines)
    videos | billing           uploads and media (videos/media is plain Python) | credits, payments
    accounts                   users, sign-in, tokens
    onevoice                   the base: settings, errors, env, events, idempotency, pagination...

A flow that runs against that order lives here, and the pages and API endpoints that call it
with it: signing up grants billing's bonus (`account`), deleting a video or an account first
removes its dubs (`deletion`), the account's own view shows its credits (`api`, `views`), the
video page shows dubbing's "Dub this video" panel (`views`, templates/portal/video_detail.html),
the landing page shows the sample dub (`sample`, `views.home`), /metrics counts dubbing jobs
(`metrics`), and `devserver` starts the worker, the reaper, billing's re-checks and the test
checkout. `urls` is the root URLconf: it composes every app's URLs and replaces the few whose
views moved here, at the same paths under the same names. Nothing below imports this package.
"""
