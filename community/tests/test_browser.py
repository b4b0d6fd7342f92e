"""The community pages in headless Chromium: a like from the keyboard updates without reloading;
a favourite star in my gallery too."""

from __future__ import annotations

import os

import pytest
from django.test import Client

from community.models import GalleryItem, Like
from community.tests.factories import PostFactory
from dubbing.tests.factories import DubbedJobFactory
from testing.browser import chromium, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = os.environ.get("COMMUNITY_SCREENSHOTS", "")


@pytest.fixture
def browser_page(live_server, other, media_root):
    client = Client()
    client.force_login(other)
    session = client.cookies["sessionid"].value
    # chromium() fails the test at teardown if the Content-Security-Policy refused anything.
    with chromium() as browser:
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        yield context.new_page()


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_like_from_the_keyboard_updates_the_button_without_reloading(browser_page, live_server, owner, other):
    post = PostFactory(author=owner, title="Hola <b>mundo</b>")
    PostFactory(author=owner, title="Another dub", job__target_language="fr")
    page = browser_page
    page.goto(f"{live_server.url}/community")
    page.evaluate("window.__sameDocument = true")
    _shot(page, "feed")

    button = page.locator(f"#post-{post.id} .like-button")
    button.focus()
    page.keyboard.press("Enter")
    wait_for(page,
        f"document.querySelector('#post-{post.id} .like-button').getAttribute('aria-pressed') === 'true'"
    )

    assert button.locator(".like-button__count").inner_text() == "1"
    assert page.evaluate("window.__sameDocument") is True  # no reload
    assert Like.objects.filter(post=post, user=other).count() == 1
    assert page.locator(f"#post-title-{post.id}").inner_text() == "Hola <b>mundo</b>"
    assert page.evaluate("document.activeElement.classList.contains('like-button')")

    page.keyboard.press("Enter")  # and again: the like is taken back
    wait_for(page,
        f"document.querySelector('#post-{post.id} .like-button').getAttribute('aria-pressed') === 'false'"
    )
    assert not Like.objects.exists()

    page.goto(f"{live_server.url}/community/posts/{post.id}")
    _shot(page, "post")


@pytest.mark.django_db(transaction=True)
def test_starring_a_dub_in_my_gallery_without_reloading(browser_page, live_server, other):
    job = DubbedJobFactory(owner=other)
    DubbedJobFactory(owner=other)
    page = browser_page
    page.goto(f"{live_server.url}/gallery")
    page.evaluate("window.__sameDocument = true")
    _shot(page, "gallery")

    page.click(f"#gallery-{job.id} .favorite-button")
    wait_for(page,
        f"document.querySelector('#gallery-{job.id} .favorite-button').getAttribute('aria-pressed') === 'true'"
    )

    assert page.evaluate("window.__sameDocument") is True
    assert GalleryItem.objects.get(job=job).favorite is True
