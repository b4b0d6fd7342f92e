"""The whole journey in headless Chromium, against the live test server and a real worker.

A new user signs up, verifies the email from the outbox, logs in, buys credits through the
built-in test checkout, uploads speech_en.mp4 watching the progress bar, dubs it into Spanish
watching the job page reach 100% without reloading, plays the dub, downloads the SRT, edits a
line and re-renders, publishes; a second user likes and comments; staff refunds part of the
payment in the admin. Every page passed is screenshotted (desktop and phone) under
test-artifacts/screenshots/ and checked with axe-core: no serious or critical violation.
The pages' error states (a bad upload, too few credits, a failed job refunded) are walked too.

Korean both ways (issue 21): a Korean user uploads a portrait Korean clip with music the
recognizer was not tuned on, sees Korean detected and preselected, dubs it into Spanish with
their own Spanish subtitles and plays it with those cues; an English clip is dubbed into Korean
with Korean subtitles (CP949 or UTF-8 with a BOM) and plays with its Korean <track>, shown by
default; My dubs, the line editor and the credit history fit a 390 px phone. The verification
email's link carries the port the server really listens on and verifies the account.
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
from testing.browser import Walk, wait_for
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
def browser(chromium_browser):
    return chromium_browser


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
    # The order as the payment window shows it, in the buyer's language (it was English on a Korean page)
    item = {"en": f"OneVoice {pack.name}: {pack.credits} credits", "ko": f"OneVoice {pack.name}: {pack.credits}크레딧"}
    assert dialog.locator(".test-checkout__order span").inner_text() == item[locale]
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


# --- Korean both ways, the real address, and the phone (issue 21's "done when") -----------------

# The English clip's four sentences (1.3-3.5, 4.5-7.7, 8.8-11.2, 12.4-15.6 s), as a Korean
# subtitler wrote them.
KOREAN_CUES = [
    (1.2, 3.6, "짧은 시연에 오신 것을 환영합니다."),
    (4.4, 7.8, "내일 아침은 맑고 따뜻하겠습니다."),
    (8.7, 11.3, "오후에는 우산을 꼭 챙기세요."),
    (12.3, 15.7, "시청해 주셔서 감사합니다. 다음에 또 만나요."),
]
# What a track's cues say, in order (the cue texts as the browser parsed them).
TRACK_CUES = """
(id) => { const t = document.querySelector('#' + id + ' track');
  return t && t.track.cues ? Array.from(t.track.cues, c => c.text.replace(/<[^>]*>/g, '')) : null; }
"""
TRACK_STATE = """
(id) => { const t = document.querySelector('#' + id + ' track');
  return t ? {srclang: t.srclang, default: t.default, mode: t.track.mode, readyState: t.readyState,
              cues: t.track.cues ? t.track.cues.length : 0} : null; }
"""


@pytest.fixture
def dubbing_site(live_server, media_root, worker, settings, tmp_path):
    """The offline engines as on the embedded set-up (no cloud translator: Korean needs the user's
    subtitles), the test's own workspace, and the language answer rebuilt for them."""
    from dubbing.languages import language_support_clear

    settings.DUBBING_ENGINES = "local"
    settings.DUBBING_TRANSLATE_ENGINE = None
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    language_support_clear()
    yield live_server.url
    language_support_clear()


def _dub_with_target_subtitles(walk: Walk, video, target: str, subtitles: Path, check: str) -> DubbingJob:
    """From the video page's dub form: dub into `target` with the user's subtitles file, then wait
    on the job page (no reload) for the dub to succeed; the job."""
    page = walk.page
    page.select_option("#id_target_language", target)
    page.set_input_files("#id_target_subtitles", str(subtitles))
    walk.check(check)
    page.click("#dub-submit")
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}$"))
    _wait_for_job_done(page)
    job = DubbingJob.objects.get(video=video)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    return job


def _signed_in_tab(browser, site: str, user, name: str, locale: str) -> Walk:
    """A tab already logged in as `user` (the login page is walked by the whole journey)."""
    from django.test import Client

    walk = _tab(browser, name, user.name, locale)
    client = Client()
    client.force_login(user)
    walk.page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site}])
    return walk


def _upload_and_wait_for_language(walk: Walk, site: str, path, title: str):
    """Upload through the page, then wait for the spoken language heard in the background; returns the video."""
    from videos.models import SpokenLanguageStatus, Video

    page = walk.page
    _upload(walk, site, path, title)
    page.wait_for_url(re.compile(r".*/videos/[0-9a-f-]{36}$"), timeout=60_000)
    video = Video.objects.get(id=page.url.rsplit("/", 1)[1])
    wait_until(lambda: Video.objects.get(pk=video.pk).spoken_language_status not in ("", SpokenLanguageStatus.PENDING),
               timeout=120, interval=0.3, what="the spoken language")
    page.reload()
    return Video.objects.get(pk=video.pk)


def _phone_fits(walk: Walk, what: str) -> None:
    """At 390 px nothing is wider than the screen: no sideways scrolling of the page, nothing past
    its edge, no table cut off inside its scrolling box. The header's section links are a strip
    that scrolls sideways: opened on the phone, the current page's link is in view."""
    from testing.browser import DESKTOP, PHONE

    page = walk.page
    page.set_viewport_size(PHONE)
    try:
        page.reload()  # opened on the phone, as a phone opens it
        current = page.evaluate("(() => { const a = document.querySelector('.site-nav__links a[aria-current=page]');"
                                " if (!a) return null; const r = a.getBoundingClientRect();"
                                " return [a.textContent.trim(), Math.round(r.left), Math.round(r.right)]; })()")
        assert current is None or (current[1] >= 0 and current[2] <= PHONE["width"]), f"{what}: {current}"
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate(
            "() => Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 391"
            " && !e.closest('.site-nav__links, .table-wrap')).slice(0, 5).map(e => e.tagName + '.' + e.className)")
        cut = page.evaluate("() => Array.from(document.querySelectorAll('.table-wrap'))"
                            ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.getAttribute('aria-label'))")
    finally:
        page.set_viewport_size(DESKTOP)
    assert width <= PHONE["width"], f"{what}: {width} px wide at 390 px ({wide})"
    assert wide == [], f"{what}: beyond the screen's edge at 390 px: {wide}"
    assert cut == [], f"{what}: a table wider than the screen at 390 px: {cut}"


def test_a_korean_user_dubs_a_korean_clip_into_spanish_with_their_subtitles(dubbing_site, browser, tmp_path):
    from billing.tests.factories import give_credits
    from testing.speech_clips import korean_phone_clip, srt

    site = dubbing_site
    # A Korean phone video the recognizer was not tuned on: portrait, music under the speech.
    clip = tmp_path / "소개.mp4"
    lines = korean_phone_clip(clip)
    spanish = tmp_path / "소개.es.srt"
    spanish.write_text(srt([(a, b, es) for a, b, _, es in lines]), encoding="utf-8")
    user = UserFactory(email="minji@example.com", name="민지", locale="ko")
    give_credits(user, 5, staff=UserFactory(email="staff-ko@example.com", staff=True))
    walk = _signed_in_tab(browser, site, user, "korean-clip", "ko")
    page = walk.page

    # The upload: the spoken language is heard in the background, shown and preselected.
    video = _upload_and_wait_for_language(walk, site, clip, "새 기능 소개")
    assert (video.spoken_language, video.height > video.width) == ("ko", True)
    assert "한국어(감지됨" in page.inner_text("#dub-spoken")
    assert page.eval_on_selector("#id_source_language", "s => s.value") == "ko"
    needs = page.inner_text("#dub-needs")  # what Korean needs here, in plain Korean
    assert "한국어" in needs and not re.search(r"[A-Za-z_]{3,}", needs), needs
    walk.check("korean video")

    # Korean into Spanish with the user's Spanish subtitles.
    job = _dub_with_target_subtitles(walk, video, "es", spanish, "dub form with spanish subtitles")
    assert (job.source_language, job.target_language, job.engines["translate"]) == ("ko", "es", "subtitles")

    # The dub plays on the job page, in its portrait shape, with the Spanish the user wrote.
    page.wait_for_selector("#dubbed-player:not([hidden])")
    page.evaluate("async () => { const v = document.getElementById('dubbed-player'); v.muted = true; await v.play(); }")
    wait_for(page, "document.getElementById('dubbed-player').currentTime > 0.3", timeout=20_000)
    page.evaluate("document.getElementById('dubbed-player').pause()")
    wait_for(page, "(t => t && t.readyState === 2)(document.querySelector('#dubbed-player track'))")
    assert page.evaluate(TRACK_CUES, "dubbed-player") == [es for _, _, _, es in lines]
    # Paused inside the first line, its Spanish is the cue on screen.
    page.evaluate(f"document.getElementById('dubbed-player').currentTime = {(lines[0][0] + lines[0][1]) / 2}")
    wait_for(page, "(c => c && c.length > 0)(document.querySelector('#dubbed-player track').track.activeCues)")
    assert page.evaluate("Array.from(document.querySelector('#dubbed-player track').track.activeCues, c => c.text)"
                         ) == [lines[0][3]]
    box = page.locator("#dubbed-player").bounding_box()
    assert box["height"] > box["width"], box  # portrait stays portrait
    walk.check("korean clip dubbed into spanish")

    # After a reload both tracks are there: what was said in Korean, and the Spanish shown by default.
    page.reload()
    wait_for(page, "(t => t && t.readyState === 2)(document.querySelector('#dubbed-player track'))")
    assert page.evaluate(TRACK_STATE, "dubbed-player") | {"readyState": 2} == {
        "srclang": "es", "default": True, "mode": "showing", "readyState": 2, "cues": len(lines)}
    assert page.evaluate(TRACK_STATE, "original-player")["srclang"] == "ko"
    _phone_fits(walk, "the job page")

    assert walk.violations == [], "\n".join(walk.violations)
    assert walk.errors == []


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_an_english_clip_dubbed_into_korean_plays_its_korean_track(dubbing_site, browser, locale, tmp_path):
    from billing.tests.factories import give_credits
    from testing.speech_clips import srt

    site = dubbing_site
    user = UserFactory(email=f"hana-{locale}@example.com", name={"en": "Hana", "ko": "하나"}[locale], locale=locale)
    give_credits(user, 5, staff=UserFactory(email=f"staff-{locale}@example.com", staff=True))
    # As Korean editors save them: CP949 from a Korean desktop, UTF-8 with a BOM from another.
    korean = tmp_path / "demo.ko.srt"
    korean.write_bytes(srt(KOREAN_CUES).encode("cp949") if locale == "ko"
                       else b"\xef\xbb\xbf" + srt(KOREAN_CUES).encode("utf-8"))
    walk = _signed_in_tab(browser, site, user, "english-into-korean", locale)
    page = walk.page

    video = _upload_and_wait_for_language(walk, site, FIXTURE_MEDIA / "speech_en.mp4", "Weather demo")
    assert video.spoken_language == "en"
    job = _dub_with_target_subtitles(walk, video, "ko", korean, "dub form with korean subtitles")
    assert (job.source_language, job.target_language, job.engines["translate"]) == ("en", "ko", "subtitles")

    # The Korean track, added when the dub finished without a reload, loads and shows what was supplied.
    page.wait_for_selector("#dubbed-player:not([hidden])")
    wait_for(page, "(t => t && t.readyState === 2)(document.querySelector('#dubbed-player track'))")
    assert page.evaluate(TRACK_STATE, "dubbed-player") == {
        "srclang": "ko", "default": True, "mode": "showing", "readyState": 2, "cues": len(KOREAN_CUES)}
    assert page.evaluate(TRACK_CUES, "dubbed-player") == [text for _, _, text in KOREAN_CUES]
    page.evaluate("async () => { const v = document.getElementById('dubbed-player'); v.muted = true;"
                  " v.currentTime = 5; await v.play(); }")
    # While it plays, the cue of the moment is the Korean line supplied for it.
    wait_for(page, "(c => c && c.length > 0)(document.querySelector('#dubbed-player track').track.activeCues)",
             timeout=20_000)
    active = page.evaluate("Array.from(document.querySelector('#dubbed-player track').track.activeCues, c => c.text)")
    page.evaluate("document.getElementById('dubbed-player').pause()")
    assert active and set(active) <= {text for _, _, text in KOREAN_CUES}, active
    walk.check("english dubbed into korean")
    page.reload()
    wait_for(page, "(t => t && t.readyState === 2)(document.querySelector('#dubbed-player track'))")
    assert page.evaluate(TRACK_STATE, "dubbed-player")["mode"] == "showing"
    _phone_fits(walk, "the job page")

    # My dubs, the line editor and the credit history on a phone.
    page.goto(site + "/jobs")
    walk.check("my dubs")
    _phone_fits(walk, "My dubs")
    page.goto(f"{site}/jobs/{job.id}/lines")
    assert page.locator("#line-text-0").input_value() == KOREAN_CUES[0][2]
    # Spoken by Korean's default voice, the one measured the most intelligible (docs/sound.md).
    assert "jm_kumo" in page.locator("#speakers").inner_text()
    walk.check("line editor")
    _phone_fits(walk, "the line editor")
    page.goto(site + "/credits/history")
    walk.check("credit history")
    _phone_fits(walk, "the credit history")

    assert walk.violations == [], "\n".join(walk.violations)
    assert walk.errors == []


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_verification_link_works_on_the_port_the_server_listens_on(live_server, worker, browser, settings,
                                                                      monkeypatch, locale):
    from accounts.models import User
    from portal.management.commands.devserver import site_url_follow

    settings.REQUIRE_EMAIL_VERIFICATION = True
    settings.SITE_URL = "http://127.0.0.1:8000"  # the default, put back after the test
    monkeypatch.delenv("SITE_URL", raising=False)  # the embedded set-up names no address
    host, port = live_server.thread.host, live_server.thread.port
    assert port != 8000  # a random port, as with `PORT=8023 make run`
    # What devserver does when it starts on an address without SITE_URL in the environment.
    assert site_url_follow(host, port) == live_server.url
    walk = _tab(browser, "verification-port", "new user", locale)
    page = walk.page
    email = f"ines-{locale}@example.com"
    page.goto(live_server.url + "/signup")
    page.fill("#id_name", "Ines")
    page.fill("#id_email", email)
    page.fill("#id_password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/signup/sent$"))

    message = wait_until(lambda: next((m for m in mail.outbox if email in m.to), None), interval=0.2,
                         what="the verification email")
    links = re.findall(r"https?://[^\s\"'<>]+/verify-email/[^\s\"'<>]+", message.body)
    assert links and all(link.startswith(live_server.url + "/verify-email/") for link in links), message.body
    page.goto(links[0])  # the link as the email has it, host and port included
    assert page.locator("h1").inner_text() == {"en": "Email confirmed", "ko": "이메일 확인 완료"}[locale]
    walk.check("email verified from the link")
    assert User.objects.get(email=email).email_verified_at is not None
    _log_in(walk, live_server.url, email)
    assert walk.violations == [], "\n".join(walk.violations)
    assert walk.errors == []
