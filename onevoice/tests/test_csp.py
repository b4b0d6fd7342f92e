"""The Content-Security-Policy is on every response: pages, the API (answers and errors), the
admin, error pages. Inline scripts and styles run only with the response's own nonce; PortOne's
origins are allowed on the credits page alone; no template or script relies on what the policy
refuses (inline handlers, nonce-less inline scripts, style attributes, javascript: URLs, eval)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".venv", "node_modules", "var", "vendor", "test-artifacts"}


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']} ({response.status_code}) has no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_the_site_policy(directives: dict[str, list[str]]) -> None:
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert "'self'" in directives["script-src"]
    for name in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in directives[name]
        assert "'unsafe-eval'" not in directives[name]


def nonce_of(directives: dict[str, list[str]], name: str) -> str | None:
    found = [source[len("'nonce-"):-1] for source in directives[name] if source.startswith("'nonce-")]
    return found[0] if found else None


@pytest.fixture
def portone_keys(settings):
    settings.PORTONE_STORE_ID = "store-csp"
    settings.PORTONE_CHANNEL_KEY = "channel-key-csp"
    settings.PORTONE_API_SECRET = "secret-csp"
    settings.PORTONE_BROWSER_SDK_URL = "https://cdn.portone.io/v2/browser-sdk.js"
    settings.PORTONE_CSP_ORIGINS = ["https://*.portone.io", "https://*.iamport.co"]


@pytest.mark.django_db
def test_a_page_has_the_policy(client):
    response = client.get("/")

    assert response.status_code == 200
    directives = policy(response)
    assert_the_site_policy(directives)
    assert directives["style-src"] == ["'self'"]  # nothing inline on the page, so no nonce either


@pytest.mark.django_db
def test_an_api_answer_and_an_api_error_have_the_policy(owner_client, api_client):
    answer = owner_client.get("/api/v1/me")
    refused = api_client.get("/api/v1/me")
    unknown = owner_client.get("/api/v1/no-such-endpoint")

    assert answer.status_code == 200
    assert refused.status_code == 401 and refused.json()["code"]
    assert unknown.status_code == 404 and unknown.json()["code"]
    for response in (answer, refused, unknown):
        assert_the_site_policy(policy(response))


@pytest.mark.django_db
def test_the_admin_login_and_a_missing_page_have_the_policy(client):
    login = client.get("/admin/login/")
    missing = client.get("/no-such-page")

    assert login.status_code == 200
    assert missing.status_code == 404
    assert "Page not found" in missing.content.decode()
    for response in (login, missing):
        assert_the_site_policy(policy(response))


@pytest.mark.django_db
def test_each_response_has_a_fresh_nonce_that_its_inline_scripts_and_styles_carry(client):
    first, second = client.get("/api/docs/"), client.get("/api/docs/")

    nonces = []
    for response in (first, second):
        assert response.status_code == 200
        directives = policy(response)
        assert_the_site_policy(directives)
        nonce = nonce_of(directives, "script-src")
        assert nonce and nonce == nonce_of(directives, "style-src")
        html = response.content.decode()
        inline = re.findall(r"<(script|style)\b([^>]*)>", html)
        inline = [(tag, attrs) for tag, attrs in inline if "src=" not in attrs]
        assert {tag for tag, _ in inline} == {"script", "style"}  # Swagger UI's set-up and its page style
        for tag, attrs in inline:
            assert f'nonce="{nonce}"' in attrs, (tag, attrs)
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


@pytest.mark.django_db
def test_the_api_docs_alone_allow_data_images(client):
    assert "data:" in policy(client.get("/api/docs/"))["img-src"]
    assert "data:" not in policy(client.get("/"))["img-src"]


@pytest.mark.django_db
def test_portone_is_allowed_on_the_credits_page_only(portone_keys, owner_browser):
    credits = owner_browser.get("/credits")

    assert credits.status_code == 200
    assert 'src="https://cdn.portone.io/v2/browser-sdk.js"' in credits.content.decode()
    directives = policy(credits)
    assert_the_site_policy(directives)
    assert "https://cdn.portone.io" in directives["script-src"]
    assert "https://*.iamport.co" in directives["connect-src"]
    assert directives["frame-src"] == ["https://*.portone.io", "https://*.iamport.co"]
    for path in ("/", "/credits/history", "/account", "/api/docs/", "/api/v1/me"):
        header = owner_browser.get(path).headers["Content-Security-Policy"]
        assert "portone" not in header and "iamport" not in header, path


@pytest.mark.django_db
def test_the_credits_page_adds_nothing_when_the_sdk_is_the_sites_own(portone_keys, settings, owner_browser):
    settings.PORTONE_BROWSER_SDK_URL = "/static/billing/test-checkout-sdk.js"  # the test checkout's stand-in

    header = owner_browser.get("/credits").headers["Content-Security-Policy"]

    assert "portone" not in header and "frame-src" not in header


@pytest.mark.django_db
def test_media_on_s3_is_allowed_from_the_buckets_hosts(client, settings):
    local = policy(client.get("/"))
    settings.AWS_STORAGE_BUCKET_NAME = "media"
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9000"

    on_s3 = policy(client.get("/"))

    for name in ("img-src", "media-src", "connect-src"):
        assert local[name] == ["'self'"]
        assert on_s3[name] == ["'self'", "http://127.0.0.1:9000", "http://media.127.0.0.1:9000"]
    assert on_s3["script-src"] == local["script-src"]


def test_the_buckets_hosts_follow_its_addressing():
    from onevoice.csp import s3_sources

    assert s3_sources(bucket="", endpoint_url=None, region=None) == []
    assert s3_sources(bucket="media", endpoint_url="http://minio:9000", region=None) == [
        "http://minio:9000", "http://media.minio:9000",
    ]
    assert "https://media.s3.ap-northeast-2.amazonaws.com" in s3_sources(
        bucket="media", endpoint_url=None, region="ap-northeast-2"
    )


# --- What the policy refuses, found in the source -------------------------------------------

TEMPLATE_RULES = [
    (re.compile(r"""\son[a-z]+\s*=""", re.IGNORECASE), "an inline event handler (on...=)"),
    (re.compile(r"""\sstyle\s*=""", re.IGNORECASE), "an inline style attribute"),
    (re.compile(r"""javascript:""", re.IGNORECASE), "a javascript: URL"),
    (re.compile(r"<style\b(?![^>]*\bnonce=)[^>]*>", re.IGNORECASE), "an inline <style> without the nonce"),
]
SCRIPT_RULES = [
    (re.compile(r"""\beval\s*\("""), "eval()"),
    (re.compile(r"""\bnew\s+Function\s*\("""), "new Function()"),
    (re.compile(r"""\bset(?:Timeout|Interval)\s*\(\s*["'`]"""), "a string given to setTimeout/setInterval"),
    (re.compile(r"""setAttribute\(\s*["'](?:on[a-z]+|style)["']"""), "an inline handler or style set by script"),
    (re.compile(r"""["'`][^"'`]*<[a-z][^>]*\s(?:on[a-z]+|style)\s*=""", re.IGNORECASE),
     "HTML with an inline handler or style written by script"),
    (re.compile(r"""javascript:""", re.IGNORECASE), "a javascript: URL"),
]
INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def template_problems(text: str) -> list[str]:
    found = [why for pattern, why in TEMPLATE_RULES if pattern.search(text)]
    for attrs in INLINE_SCRIPT.findall(text):
        if "src=" not in attrs and "nonce=" not in attrs:
            found.append("an inline <script> without the nonce")
    return found


def script_problems(text: str) -> list[str]:
    return [why for pattern, why in SCRIPT_RULES if pattern.search(text)]


def _files(suffix: str, folder: str) -> list[Path]:
    return sorted(
        path for path in ROOT.rglob(f"*{suffix}")
        if folder in path.relative_to(ROOT).parts and not SKIPPED_DIRS & set(path.relative_to(ROOT).parts)
    )


def test_the_scanners_find_what_the_policy_refuses():
    assert template_problems('<button onclick="go()">Go</button>') == ["an inline event handler (on...=)"]
    assert template_problems('<p style="margin-top:1rem">x</p>') == ["an inline style attribute"]
    assert template_problems("<script>go()</script>") == ["an inline <script> without the nonce"]
    assert template_problems('<a href="javascript:go()">x</a>') == ["a javascript: URL"]
    assert template_problems("<style>p{}</style>") == ["an inline <style> without the nonce"]
    assert template_problems('<script nonce="{{ request.csp_nonce }}">go()</script>') == []
    assert template_problems('<script src="/static/x.js" defer></script><meta content="x">') == []
    assert script_problems('setTimeout("poll()", 10)') == ["a string given to setTimeout/setInterval"]
    assert script_problems("eval(text)") == ["eval()"]
    assert script_problems("box.innerHTML = '<b onmouseover=\"x()\">'") == [
        "HTML with an inline handler or style written by script"
    ]
    assert script_problems('node.setAttribute("style", "color:red")') == ["an inline handler or style set by script"]
    assert script_problems("timer = setTimeout(poll, ms);") == []


def test_no_template_has_what_the_policy_refuses():
    templates = _files(".html", "templates")
    assert len(templates) > 30  # the scan really reads the project's templates

    problems = {str(path.relative_to(ROOT)): template_problems(path.read_text()) for path in templates}

    assert {path: found for path, found in problems.items() if found} == {}


def test_no_script_of_the_site_has_what_the_policy_refuses():
    scripts = _files(".js", "static")
    assert len(scripts) >= 6

    problems = {str(path.relative_to(ROOT)): script_problems(path.read_text()) for path in scripts}

    assert {path: found for path, found in problems.items() if found} == {}


# --- In a real browser: the admin and the API docs work under the policy ----------------------


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_admin_and_the_api_docs_work_under_the_policy_in_a_real_browser(live_server, staff):
    from testing.browser import chromium

    client = Client()
    client.force_login(staff)
    # chromium() fails the test on leaving if the policy refused anything on any page.
    with chromium() as browser:
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))

        for path in ("/admin/", "/admin/accounts/user/", "/admin/accounts/user/add/",
                     "/admin/billing/creditpack/add/", "/admin/dubbing/dubbingjob/", "/admin/community/post/"):
            response = page.goto(live_server.url + path)
            assert response.status == 200, path
            page.wait_for_load_state("load")
        before = page.evaluate("document.documentElement.dataset.theme || 'auto'")
        page.click("#header .theme-toggle")  # the admin's own script answers
        assert page.evaluate("document.documentElement.dataset.theme") != before

        page.goto(live_server.url + "/api/docs/")
        page.locator(".swagger-ui .opblock").first.wait_for(state="visible")  # the UI built itself from the schema
        assert page.locator(".swagger-ui .opblock").count() > 10

    assert errors == []
