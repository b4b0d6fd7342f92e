"""The whole journey in headless Chromium, against the live test server and a real worker.

A new user signs up, verifies the email from the outbox, logs in, buys credits through the
built-in test checkout, uploads speech_en.mp4 watching the progress bar, dubs it into Spanish
watching the job page reach 100% without reloading, plays the dub, downloads the SRT, edits a
line and re-renders, publishes; a second user likes and comments; staff refunds part of the
payment in the admin. Every page passed is screenshotted (desktop and phone) under
test-artifacts/screenshots/ and checked with axe-core: no serious or critical violation.
The pages' error states (a bad upload, too few credits, a failed job refunded) are walked too.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core import mail

from accounts.tests.factories import PASSWORD, UserFactory
from billing import sandbox
from billing.models import (
    CreditPack,
    LedgerEntry,
    Payment,
    PaymentRefund,
    WebhookDelivery,
)
from billing.selectors import credits_balance
from community.models import Comment, Like, Post
from dubbing.models import DubbingJob, JobStatus
from testing.browser import Walk, chromium, wait_for
from testing.media import FIXTURE_MEDIA
from testing.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DUB_TIMEOUT_MS = 600_000

WATCH_PROGRESS = """
window.addEventListener('DOMContentLoaded', () => {
  window.__seen = {job: []};
  const status = document.getElementById('upload-status');
  if (status) new MutationObserver(() => window.recordUpload(
      status.textContent + ' | ' + document.getElementById('upload-bar').value))
    .observe(status, {childList: true, characterData: true, subtree: true});
  const job = document.getElementById('job-progress');
  if (job) setInterval(() => {
    const seen = window.__seen.job, value = job.value;
    if (seen[seen.length - 1] !== value) seen.push(value);
  }, 100);
});
"""


@pytest.fixture
def test_checkout(settings):
    settings.DEBUG = True  # the test checkout runs only with debug on, as under `make run`
    fake = sandbox.start()
    yield fake
    sandbox.stop()


@pytest.fixture
def browser():
    with chromium() as running:
        yield running


@pytest.fixture
def site(live_server, media_root, test_checkout, worker, settings):
    settings.REQUIRE_EMAIL_VERIFICATION = True
    if not CreditPack.objects.filter(active=True).exists():  # transactional tests flush migrations' rows
        CreditPack.objects.create(name="Standard", credits=100, price=15_000, currency="KRW", sort_order=20)
    return live_server.url


def _tab(browser, name: str, who: str, locale: str) -> Walk:
    context = browser.new_context(locale={"ko": "ko-KR", "en": "en-US"}[locale], accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    walk = Walk(page, folder=f"{name}-{locale}", who=who)
    walk.uploads = []
    page.expose_function("recordUpload", lambda text: walk.uploads.append(text))
    page.add_init_script(WATCH_PROGRESS)
    return walk


def _log_in(walk: Walk, site: str, email: str, password: str = PASSWORD) -> None:
    page = walk.page
    page.goto(f"{site}/login")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    walk.check("log in")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def _wait_for_job_done(page, *, timeout: int = DUB_TIMEOUT_MS) -> None:
    wait_for(page,
        "document.getElementById('job-progress').value === 100"
        " && ['succeeded', 'failed'].some(s => document.getElementById('job-status').classList.contains('job-badge--' + s))",
        timeout=timeout,
    )


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_whole_journey_in_a_real_browser(site, browser, locale, test_checkout):
    walk = _tab(browser, "journey", "new user", locale)
    page = walk.page
    email = f"dana-{locale}@example.com"

    # The landing page, then sign up.
    page.goto(site + "/")
    assert page.locator("html").get_attribute("lang") == locale
    walk.check("landing")
    page.click("a.button[href='/signup']")
    page.fill("#id_name", "Dana")
    page.fill("#id_email", email)
    page.fill("#id_password", PASSWORD)
    walk.check("sign up")
    page.click("form.form button[type=submit]")
    # The same page whether or not the address had an account: nobody is logged in yet.
    page.wait_for_url(re.compile(r".*/signup/sent$"))
    walk.check("signed up: check your inbox")

    # The verification email from the outbox.
    message = wait_until(lambda: next((m for m in mail.outbox if email in m.to), None), interval=0.2,
                         what="the verification email")
    link = re.search(r"/verify-email/[^\s/]+", message.body).group(0)
    page.goto(site + link)
    walk.check("email verified")

    # Log in.
    _log_in(walk, site, email)
    from accounts.models import User

    user = User.objects.get(email=email)
    assert user.email_verified_at is not None
    assert user.locale == locale  # the sign-up page's language became the account's
    start_balance = credits_balance(user=user)

    # Buy a credit pack through the test checkout.
    page.goto(site + "/credits")
    walk.check("credits")
    pack = CreditPack.objects.filter(active=True).order_by("sort_order", "price").first()
    page.click(f"[data-buy-pack='{pack.id}']")
    dialog = page.locator("#test-checkout")
    dialog.wait_for(state="visible")
    assert ("돈은 오가지 않습니다" if locale == "ko" else "no money moves") in dialog.inner_text()
    walk.check("test checkout")
    page.click("#test-checkout-pay")
    page.wait_for_url(re.compile(r".*/credits/payments/ov-[0-9a-f]+$"))
    assert page.locator("#payment-result").get_attribute("data-status") == "paid"
    walk.check("payment result")
    payment = Payment.objects.get(user=user)
    assert credits_balance(user=user) == start_balance + pack.credits
    # PortOne's webhook arrives too, and changes nothing more.
    wait_until(lambda: WebhookDelivery.objects.filter(payment_id=payment.payment_id, processed=True).exists(),
               interval=0.2, what="the webhook")
    assert credits_balance(user=user) == start_balance + pack.credits

    # Upload, watching the progress bar.
    page.goto(site + "/videos")
    walk.check("my videos, empty")
    page.goto(site + "/videos/upload")
    walk.check("upload")
    page.set_input_files("#upload-file", str(FIXTURE_MEDIA / "speech_en.mp4"))
    page.fill("#upload-title", "Hello from the journey")
    # A slow uplink (150 kB/s), so the 0.3 MB file shows its progress on the way.
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send("Network.emulateNetworkConditions",
                 {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 150_000})
    page.click("#upload-submit")
    page.wait_for_url(re.compile(r".*/videos/[0-9a-f-]{36}$"), timeout=60_000)
    network.send("Network.emulateNetworkConditions",
                 {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    percents = [int(m.group(1)) for m in (re.search(r"(\d+)%", s) for s in walk.uploads) if m]
    assert any(0 < pct < 100 for pct in percents), walk.uploads  # the bar moved on the way
    checking = {"en": "Checking the file", "ko": "파일을 확인하는 중"}[locale]
    assert any(s.startswith(checking) for s in walk.uploads), walk.uploads  # in the page's language
    walk.check("video page")

    # Dub it into Spanish. Ticking another language (from the keyboard) counts it in the cost
    # line at once: the total for both and what would be left; unticking takes it back out.
    page.select_option("#id_target_language", "es")
    walk.check("dub form")
    each = int(page.locator("#dub-confirm").get_attribute("data-cost-per-language"))
    balance = int(page.locator("#dub-confirm").get_attribute("data-balance"))
    catalan = page.locator("input[name=more_languages][value=ca]")
    if catalan.count():
        assert page.locator("input[name=more_languages][value=es]").is_disabled()  # dubbed anyway
        catalan.focus()
        page.keyboard.press("Space")
        assert catalan.is_checked()
        assert page.locator("#dub-cost").get_attribute("data-cost") == str(2 * each)
        left = {"en": f"({balance - 2 * each} credits left after this dub)",
                "ko": f"(이 더빙 후 {balance - 2 * each}크레딧 남음)"}[locale]
        assert page.locator("#dub-balance-after").inner_text() == left
        assert page.locator("#dub-languages").inner_text() == {"en": "Spanish, Catalan", "ko": "스페인어, 카탈로니아어"}[locale]
        walk.check("dub form, two languages")
        page.keyboard.press("Space")
        assert page.locator("#dub-cost").get_attribute("data-cost") == str(each)
    page.click("#dub-submit")
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}$"))
    page.evaluate("window.sameDocument = true")
    walk.check("job running")
    _wait_for_job_done(page)
    assert page.evaluate("window.sameDocument") is True, "the job page reloaded"
    assert "job-badge--succeeded" in page.locator("#job-status").get_attribute("class")
    page.locator("#job-publish").wait_for(state="visible")  # the "Publish" form, without a reload
    assert page.evaluate("window.sameDocument") is True
    wait_for(page, "window.__seen.job[window.__seen.job.length - 1] === 100")
    seen = page.evaluate("window.__seen.job")
    assert seen[-1] == 100 and len(seen) >= 3, seen  # it moved in steps, not from 0 to 100 at once
    job = DubbingJob.objects.get(video__owner=user)
    assert job.status == JobStatus.SUCCEEDED

    # Play the dub.
    page.wait_for_selector("#dubbed-player:not([hidden])")
    page.evaluate(
        "async () => { const v = document.getElementById('dubbed-player'); v.muted = true; await v.play(); }"
    )
    wait_for(page, "document.getElementById('dubbed-player').currentTime > 0.3", timeout=20_000)
    page.evaluate("document.getElementById('dubbed-player').pause()")
    walk.check("job succeeded")

    # Download the SRT.
    with page.expect_download() as download_info:
        page.click("#download-list a[data-kind='subtitles_target_srt']")
    srt = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert "-->" in srt and srt.strip().startswith("1")

    # Edit a line and re-render.
    page.click("#job-lines-link")
    page.wait_for_url(re.compile(r".*/lines$"))
    walk.check("lines")
    page.locator("#line-text-0").fill("Hola a todos desde el navegador.")
    page.locator("#line-text-0").press("Control+Enter")
    wait_for(page, "document.querySelector('#line-0 .line__status').textContent.trim() !== ''")
    wait_for(page, "!document.getElementById('render-button').disabled")
    walk.check("line edited")
    page.click("#render-button")
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}$"))
    wait_until(lambda: not DubbingJob.objects.get(pk=job.pk).rendering
               and DubbingJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED,
               timeout=DUB_TIMEOUT_MS / 1000, interval=0.2, what="the re-render")
    page.reload()
    _wait_for_job_done(page, timeout=30_000)
    walk.check("re-rendered")
    srt_url = page.locator("#download-list a[data-kind='subtitles_target_srt']").get_attribute("href")
    assert "Hola a todos desde el navegador." in page.request.get(site + srt_url).text()

    # Publish it.
    page.fill(f"#publish-title-{job.id}", "Hola desde el navegador")
    page.click(".publish__form button[type=submit]")
    page.wait_for_url(re.compile(r".*/community/posts/[0-9a-f-]{36}$"))
    walk.check("published post")
    post = Post.objects.get(job=job)

    # A second user likes and comments.
    fan_user = UserFactory(email=f"erin-{locale}@example.com", name="Erin", locale=locale)
    fan = _tab(browser, "journey", "second user", locale)
    _log_in(fan, site, fan_user.email)
    fan.page.goto(site + "/community")
    fan.check("feed")
    fan.page.goto(f"{site}/community/posts/{post.id}")
    fan.page.click(".like-button")
    wait_for(fan.page, "document.querySelector('.like-button').getAttribute('aria-pressed') === 'true'")
    fan.page.fill("#comment-body", "¡Qué bien suena!")
    fan.page.click("#comment-form button[type=submit]")
    fan.page.wait_for_load_state("load")
    fan.check("liked and commented")
    assert Like.objects.filter(post=post, user=fan_user).exists()
    assert Comment.objects.filter(post=post, author=fan_user, body="¡Qué bien suena!").exists()

    # Staff refunds part of the payment in the admin.
    staff_user = UserFactory(email=f"frank-{locale}@example.com", name="Frank", staff=True, locale=locale)
    admin = _tab(browser, "journey", "staff", locale)
    admin.page.goto(site + "/admin/login/")
    admin.page.fill("#id_username", staff_user.email)
    admin.page.fill("#id_password", PASSWORD)
    admin.page.click("input[type=submit]")
    admin.page.goto(f"{site}/admin/billing/payment/{payment.pk}/refund/")
    admin.check("admin refund", axe=False)  # Django's own admin: its markup is not ours to fix
    assert ("환불할 수 있는 금액" if locale == "ko" else "How much can be refunded") in admin.page.content()
    partial = payment.amount // 3
    admin.page.fill("#id_amount", str(partial))
    admin.page.fill("#id_reason", "Partial refund from the journey test")
    admin.page.click("#refund-submit")
    admin.page.wait_for_load_state("load")
    admin.check("admin refunded", axe=False)
    refund = PaymentRefund.objects.get(payment=payment)
    assert refund.status == PaymentRefund.Status.SUCCEEDED and refund.amount == partial
    assert LedgerEntry.objects.filter(account__user=user, kind=LedgerEntry.Kind.PAYMENT_REFUND).count() == 1
    assert test_checkout.get(payment.payment_id)["status"] == "PARTIAL_CANCELLED"

    # The user sees it in the credit history.
    page.goto(site + "/credits/history")
    walk.check("credit history")

    problems = walk.violations + fan.violations + admin.violations
    assert problems == [], "\n".join(problems)
    assert walk.errors + fan.errors + admin.errors == []


def _grant(user, credits: int, key: str) -> None:
    from billing.services.ledger import ledger_entry_append

    ledger_entry_append(user=user, kind=LedgerEntry.Kind.GRANT, amount=credits, idempotency_key=key, reason="test")


def _upload(walk: Walk, site: str, path, title: str) -> None:
    page = walk.page
    page.goto(site + "/videos/upload")
    page.set_input_files("#upload-file", str(path))
    page.fill("#upload-title", title)
    page.click("#upload-submit")


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_pages_error_states_in_a_real_browser(site, browser, locale, tmp_path):
    import subprocess

    user = UserFactory(email=f"gail-{locale}@example.com", name="Gail", locale=locale)
    walk = _tab(browser, "error-states", "user", locale)
    page = walk.page
    _log_in(walk, site, user.email)

    # A file that is not a video: the upload page says why and stays.
    _upload(walk, site, FIXTURE_MEDIA / "not_a_video.mp4", "Not a video")
    page.locator("#upload-error").wait_for(state="visible")
    assert page.url.endswith("/videos/upload")
    walk.check("bad upload")

    # Too few credits: the dub form says how many are missing and links to buying them.
    _upload(walk, site, FIXTURE_MEDIA / "speech_en.mp4", "Too expensive")
    page.wait_for_url(re.compile(r".*/videos/[0-9a-f-]{36}$"), timeout=60_000)
    short = page.locator("#dub-short")
    # 'Buy credits' comes back to this video once paid
    back_here = urlparse(page.url).path
    assert short.is_visible() and short.locator(f"a[href='/credits?next={back_here}']").count() == 1
    assert page.locator("#dub-form button[type=submit]").is_disabled()
    walk.check("too few credits")

    # A job that fails (nothing is said in the video) is refunded, and the page says why.
    silent = tmp_path / "silence.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=navy:s=320x180:d=4", "-f", "lavfi",
         "-i", "anullsrc=r=44100:cl=mono", "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(silent)],
        check=True,
    )
    _grant(user, 1, f"journey-grant:{user.pk}")
    _upload(walk, site, silent, "Nothing said")
    page.wait_for_url(re.compile(r".*/videos/[0-9a-f-]{36}$"), timeout=60_000)
    page.select_option("#id_source_language", "en")
    page.select_option("#id_target_language", "es")
    page.click("#dub-submit")
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}$"))
    page.locator("#job-error").wait_for(state="visible", timeout=DUB_TIMEOUT_MS)
    assert "job-badge--failed" in page.locator("#job-status").get_attribute("class")
    assert page.locator("#job-error-code").inner_text() == "no_speech"
    assert not page.locator("#job-lines-link").is_visible() and not page.locator("#job-publish").is_visible()
    assert page.locator("#job-retry").is_visible()
    walk.check("failed job")
    wait_until(lambda: credits_balance(user=user) == 1, interval=0.2, what="the refund")
    assert LedgerEntry.objects.filter(account__user=user, kind=LedgerEntry.Kind.JOB_REFUND).count() == 1
    page.goto(site + "/credits/history")
    walk.check("credit history with the refund")

    assert walk.violations == [], "\n".join(walk.violations)
    assert walk.errors == []
