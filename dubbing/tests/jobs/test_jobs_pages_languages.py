"""The dub form offers several languages at once: one job each, the sum reserved."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.selectors import credits_balance
from billing.tests.factories import give_credits
from dubbing.models import DubbingJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def test_the_form_offers_more_languages_and_starts_one_job_each(owner, staff, browser, video):
    give_credits(owner, 5, staff=staff)
    page = browser.get(f"/videos/{video.id}/dub")
    assert b"Also dub into" in page.content and b'name="more_languages" value="ca"' in page.content

    response = browser.post(f"/videos/{video.id}/dub", {
        "target_language": "es", "more_languages": ["ca", "es"], "source_language": "en", "background": "drop",
        "subtitles": "soft", "max_speed": "1.30"})

    jobs = list(DubbingJob.objects.order_by("target_language"))
    assert [j.target_language for j in jobs] == ["ca", "es"]
    assert response.status_code == 302
    assert credits_balance(user=owner) == 5 - sum(j.cost_credits for j in jobs)


def test_more_than_five_languages_are_refused_on_the_form(owner, staff, browser, video):
    give_credits(owner, 10, staff=staff)
    response = browser.post(f"/videos/{video.id}/dub", {
        "target_language": "es", "more_languages": ["ca", "en", "pt", "fr", "it"], "source_language": "en",
        "background": "drop", "subtitles": "soft", "max_speed": "1.30"})
    assert response.status_code == 400
    assert b"At most 5 languages" in response.content
    assert not DubbingJob.objects.exists()


def test_the_cost_line_counts_every_language_sent_back_with_the_form(owner, staff, browser, video):
    give_credits(owner, 2, staff=staff)

    # Three languages at one credit each, two credits: refused, and the form says so in full.
    response = browser.post(f"/videos/{video.id}/dub", {
        "target_language": "es", "more_languages": ["ca", "pt"], "source_language": "en", "background": "drop",
        "subtitles": "soft", "max_speed": "1.30"})

    html = response.content.decode()
    assert response.status_code == 402
    assert 'id="dub-languages">Spanish, Catalan, Portuguese<' in html
    assert 'id="dub-cost" data-cost="3">3 credits<' in html
    assert "You need 1 more credit for this dub." in html
    assert "Dub for 3 credits" in html
    assert not DubbingJob.objects.exists()


def test_the_extra_languages_are_a_grid_of_labelled_checkboxes(owner, browser, video):
    html = browser.get(f"/videos/{video.id}/dub").content.decode()

    assert '<div class="language-grid" id="id_more_languages">' in html
    assert ('<label class="language-choice" for="id_more_languages_0"><input type="checkbox" name="more_languages"'
            in html)
    assert 'id="dub-languages">Spanish<' in html  # the initial language alone
