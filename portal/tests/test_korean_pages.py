"""Every page of a Korean user's journey, and every email template, read as Korean written by a
person (issue 21 item 6): no particle left as a placeholder ("영상을(를)", "영어(으)로") and no
sentence left in English, names and codes aside.

The user is seeded as a real one would be: a video, a finished dub with lines, a failed one, a
running one, a published dub with comments, credits bought, spent, refunded and an expired
checkout. Each page is requested as they would (a GET with their session); each email template is
rendered with the context its sender gives it."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone, translation

from billing.models import Payment
from billing.tests.factories import CreditPackFactory, PaymentFactory, give_credits
from community.tests.factories import CommentFactory, PostFactory
from dubbing.models import JobStatus, StepStatus
from dubbing.tests.factories import DubbingJobFactory

pytestmark = pytest.mark.django_db

# "영상을(를)", "영어(으)로", "이(가)": a particle the helper should have chosen.
PLACEHOLDER = re.compile(r"(을|를|이|가|은|는|과|와)\((을|를|이|가|은|는|과|와)\)|\(으\)로|\(이\)라")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Two Latin words in a row with no Korean around them: an English phrase on a Korean page.
LATIN_PHRASE = re.compile(r"[A-Za-z][A-Za-z'’-]+(?:[ ,.:]+[A-Za-z][A-Za-z'’-]+)+")
# Names and codes a Korean page shows as they are: the seeded titles and people, product and
# engine names, formats.
NAMES = ("Trip to Jeju", "Seoul at night", "Alice", "alice@example.com", "OneVoice", "PortOne", "Paddle",
         "Hello there", "How are you", "Test 100", "Standard", "Creator", "speech_en", "Cómo estás")
SKIPPED_TAGS = {"script", "style", "code", "pre", "kbd", "samp", "template", "option"}
ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")


class _Text(HTMLParser):
    """The text a reader meets: text nodes and labelling attributes, outside code and outside
    elements marked as another language than the page's (lang="es": the greetings, the dubbed
    lines) or translate="no"."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.found: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = (attrs.get("lang") or "").lower()
        if tag == "html":
            self.page_lang = lang or "ko"
            lang = ""
        other_language = lang and not lang.startswith(getattr(self, "page_lang", "ko"))
        skip = tag in SKIPPED_TAGS or other_language or attrs.get("translate") == "no"
        if not self._skipping() and not skip:
            self.found.extend(attrs[name] for name in ATTRIBUTES if attrs.get(name))
        if tag not in ("br", "img", "input", "meta", "link", "hr", "source", "track", "wbr"):
            self.stack.append((tag, bool(skip)))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._skipping() and data.strip():
            self.found.append(data)


def english_left(texts: list[str]) -> list[str]:
    problems = []
    for text in texts:
        rest = text
        for name in NAMES:
            rest = rest.replace(name, " ")
        rest = re.sub(r"https?://\S+|\S+@\S+|\S+\.(mp4|srt|vtt|json|m4a)\b", " ", rest)
        if not HANGUL.search(rest) and LATIN_PHRASE.search(rest):
            problems.append(" ".join(text.split())[:120])
    return problems


def placeholders(texts: list[str]) -> list[str]:
    return [" ".join(text.split())[:120] for text in texts if PLACEHOLDER.search(text)]


@pytest.fixture
def journey(owner, staff, media_root):
    from billing.services import credits_reserve
    from videos.tests.factories import SpeechVideoFactory

    owner.locale = "ko"
    owner.name = "Alice"
    owner.save(update_fields=["locale", "name"])
    give_credits(owner, 30, staff=staff)
    jeju = SpeechVideoFactory(owner=owner, title="Trip to Jeju")
    night = SpeechVideoFactory(owner=owner, title="Seoul at night")
    done = DubbingJobFactory(
        owner=owner, video=jeju, succeeded=True, stage="publish", outputs=True,
        steps=[("probe", StepStatus.DONE), ("extract", StepStatus.DONE), ("transcribe", StepStatus.DONE)],
        segments=[("Hello there.", "Hola."), ("How are you?", "¿Cómo estás?")])
    credits_reserve(user=owner, job_id=done.id, attempt=1, amount=1)
    failed = DubbingJobFactory(owner=owner, video=night, status=JobStatus.FAILED, error_code="no_speech",
                               error_message="No speech was found in the audio.", stage="transcribe",
                               steps=[("probe", StepStatus.DONE), ("transcribe", StepStatus.FAILED)])
    running = DubbingJobFactory(owner=owner, video=night, status=JobStatus.RUNNING, claim_token=uuid.uuid4(),
                                stage="transcribe", progress=20, started_at=timezone.now(),
                                steps=[("probe", StepStatus.DONE), ("transcribe", StepStatus.RUNNING)])
    post = PostFactory(author=owner, job=done, title="Trip to Jeju", description="")
    CommentFactory(post=post, author=staff, body="멋져요!")
    pack = CreditPackFactory(name="Standard", credits=100, price=15_000)
    paid = PaymentFactory(user=owner, pack=pack, paid=True)
    expired = PaymentFactory(user=owner, pack=pack, status=Payment.Status.EXPIRED,
                             failure_code="checkout_expired", failure_detail="The checkout was not completed in time.")
    closed = PaymentFactory(user=owner, pack=pack, status=Payment.Status.CANCELLED,
                            failure_code="checkout_closed", failure_detail="The checkout was closed before paying.")
    return {"videos": (jeju, night), "jobs": (done, failed, running), "post": post,
            "payments": (paid, expired, closed)}


def _pages(journey) -> list[str]:
    (jeju, night), (done, failed, running), post = journey["videos"], journey["jobs"], journey["post"]
    return [
        "/", "/videos", "/videos/upload", f"/videos/{jeju.id}", f"/videos/{jeju.id}/dub", f"/videos/{night.id}",
        "/jobs", "/jobs?status=failed", f"/jobs/{done.id}", f"/jobs/{done.id}/lines", f"/jobs/{failed.id}",
        f"/jobs/{running.id}", "/community", f"/community/posts/{post.id}", "/gallery",
        "/credits", "/credits/history", "/plans", "/account", "/settings/webhooks",
        *(f"/credits/payments/{p.payment_id}" for p in journey["payments"]),
        "/no-such-page",
    ]


def test_every_page_of_a_korean_users_journey_reads_as_korean(journey, owner):
    browser = Client()
    browser.force_login(owner)
    problems = {}
    for path in _pages(journey):
        response = browser.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        parser = _Text()
        parser.feed(response.content.decode())
        texts = parser.found
        assert any(HANGUL.search(t) for t in texts), path
        found = placeholders(texts) + english_left(texts)
        if found:
            problems[path] = found
    assert not problems, problems


def test_the_signed_out_pages_read_as_korean(db):
    browser = Client(HTTP_ACCEPT_LANGUAGE="ko")
    problems = {}
    for path in ("/", "/login", "/signup", "/signup/sent", "/password-reset", "/password-reset/sent",
                 "/password-reset/done", "/verify-email/not-a-token", "/password-reset/not-a-token"):
        response = browser.get(path)
        parser = _Text()
        parser.feed(response.content.decode())
        found = placeholders(parser.found) + english_left(parser.found)
        if found:
            problems[path] = found
    assert not problems, problems


EMAIL_TEMPLATES = sorted(
    str(path.relative_to(root))
    for root in [Path(settings.BASE_DIR) / "templates", *Path(settings.BASE_DIR).glob("*/templates")]
    for pattern in ("emails/**/*.txt", "*/email/*.txt")
    for path in root.glob(pattern)
)


def _email_context(journey, owner) -> dict:
    """One context that gives every email template what its sender gives it."""
    from billing.models import PaymentRefund

    (done, failed, running), (paid, _, _) = journey["jobs"], journey["payments"]
    refund = PaymentRefund(payment=paid, source="admin", amount=3000, credits=20, reason="영상이 만들어지지 않음")
    subscription = type("Subscription", (), {"plan": type("Plan", (), {"name": "Creator"})(),
                                             "current_period_end": timezone.now() + timedelta(days=30)})()
    return {
        "user": owner, "name": "Alice", "email": owner.email, "site_url": "http://127.0.0.1:8023",
        "link": "http://127.0.0.1:8023/x", "url": "http://127.0.0.1:8023/x", "job": done, "video": done.video,
        "failed_job": failed, "error": "영상에서 말소리를 찾지 못했습니다.", "detail": "영상에서 말소리를 찾지 못했습니다.",
        "language": "스페인어", "target_name": "스페인어", "target_language": "스페인어", "title": "Trip to Jeju",
        "refund": refund, "payment": paid, "balance": 80, "credits": 100, "amount": 15000, "currency": "KRW",
        "subscription": subscription, "plan": subscription.plan, "expired": 10, "rolled_over": 20,
        "attempts": 2, "next_attempt": timezone.now() + timedelta(days=1), "reason": "Insufficient funds",
        "token": "t", "days": 3, "hours": 24, "minutes": 60,
    }


@pytest.mark.parametrize("template", EMAIL_TEMPLATES)
def test_every_email_template_reads_as_korean(journey, owner, template):
    with translation.override("ko"):
        text = render_to_string(template, _email_context(journey, owner))
    lines = [line for line in text.splitlines() if line.strip()]
    assert any(HANGUL.search(line) for line in lines), template
    assert not placeholders(lines), placeholders(lines)
    # Each line of an email is a sentence or a link: none left in English.
    assert not english_left(lines), english_left(lines)


def test_the_checks_catch_english_and_placeholders(journey, owner):
    """The reader above is not blind: the same journey in English is all flagged, and a marker
    the particle helper did not resolve is caught."""
    owner.locale = "en"
    owner.save(update_fields=["locale"])
    browser = Client()
    browser.force_login(owner)
    flagged = 0
    for path in _pages(journey):
        parser = _Text()
        parser.feed(browser.get(path).content.decode())
        flagged += bool(english_left(parser.found))
    assert flagged == len(_pages(journey))
    assert placeholders(["“hd_ko”을(를) 영어(으)로 더빙합니다."]) and not placeholders(["“hd_ko”를 영어로 더빙합니다."])
    assert english_left(["Play the dub of Trip to Jeju"]) and not english_left(["“Trip to Jeju” 더빙 재생"])
