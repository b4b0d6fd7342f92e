"""Korean and English: every string the templates, the code and the scripts mark is in the Korean
catalogs, the language is chosen by the user's `locale`, else the footer's switch or
Accept-Language; prices and dates per locale."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.template import engines
from django.test import Client
from django.utils import translation

from testing.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "locale" / "ko" / "LC_MESSAGES"
# Templates whose text users read (the admin's own templates are Django's and English).
TEMPLATE_DIRS = [ROOT / "templates", *sorted(ROOT.glob("*/templates/*"))]
# Visible text outside {% translate %}: what the wrapper of a new template forgot.
_TOKEN = re.compile(r"({%.*?%}|{{.*?}}|{#.*?#}|<!--.*?-->|<(?:{%.*?%}|{{.*?}}|[^>{]|{(?![%{]))*>)", re.DOTALL)
_UNTRANSLATED_OK = {"OneVoice", "API", "UTC", "English", "한국어", "EN", "ES", "KO"}  # names and codes
# What makemessages reads: the sources and the catalogs, not the tools' folders or data.
_SOURCE_SUFFIXES = {".py", ".html", ".txt", ".js", ".po"}
_NOT_SOURCES = {".git", ".venv", "var", "test-artifacts", "node_modules", "vendor", "bench", "examples",
                "__pycache__", ".ruff_cache", ".pytest_cache", "dubbed"}


def _templates() -> list[Path]:
    found = []
    for folder in TEMPLATE_DIRS:
        if folder.name == "admin":
            continue
        found += [p for p in folder.rglob("*.html") if "/admin/" not in str(p)]
    return sorted(found)


@dataclass
class Entry:
    msgid: str
    msgstr: list[str]
    flags: set[str]
    where: list[str]


def _po_entries(path: Path) -> list[Entry]:
    """The entries of a .po file (the header and obsolete ones left out)."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        fields: dict[str, str] = {}
        current = None
        flags, where = set(), []
        for line in lines:
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#:"):
                where += line[2:].split()
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
            elif not line.startswith("#") and " " in line:
                current, value = line.split(" ", 1)
                fields[current] = ast.literal_eval(value)
        if fields.get("msgid"):
            context = fields.get("msgctxt")
            msgid = (context + "\x04" if context else "") + fields["msgid"]
            strings = [value for key, value in fields.items() if key.startswith("msgstr")]
            entries.append(Entry(msgid, strings, flags, where))
    return entries


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    """`makemessages -l ko` for both domains, run on a copy of the tree so that the real catalogs
    stay as they are: what it leaves is each catalog as the sources need it, merged (msgmerge)
    with the translations we have."""
    copy = tmp_path_factory.mktemp("extract") / "tree"

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {
            name for name in names
            if name in _NOT_SOURCES
            or (Path(folder, name).is_file() and Path(name).suffix not in _SOURCE_SUFFIXES)
        }

    shutil.copytree(ROOT, copy, ignore=ignore)
    for domain in ("django", "djangojs"):
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "ko", "-d", domain, "--no-obsolete", "-v", "0"],
            cwd=copy, check=True, capture_output=True, timeout=300,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "onevoice.settings"},
        )
    return copy / "locale" / "ko" / "LC_MESSAGES"


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_marked_string_has_a_korean_translation(extracted, domain):
    """Templates ({% translate %}), Python (gettext, gettext_lazy, ngettext, pgettext...) and the
    scripts (gettext()): any msgid the sources mark and the Korean catalog does not translate
    (missing, empty, or only a fuzzy guess of msgmerge's) fails."""
    missing = sorted(
        f"{', '.join(entry.where[:3]) or '?'}: {entry.msgid!r}"
        for entry in _po_entries(extracted / f"{domain}.po")
        if "fuzzy" in entry.flags or not any(entry.msgstr)
    )
    assert not missing, f"Not translated into Korean (locale/ko/LC_MESSAGES/{domain}.po):\n" + "\n".join(missing)


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_korean_translations_keep_their_placeholders(extracted, domain):
    """msgfmt --check-format on the merged catalog, where the extraction marked each msgid's format
    (python-format, python-brace-format, javascript-format): a translation that drops or renames
    a %(name)s fails, which the committed catalog (it has no such marks) would not show."""
    checked = subprocess.run(
        ["msgfmt", "--check-format", "-o", os.devnull, str(extracted / f"{domain}.po")],
        check=False, capture_output=True, text=True,
    )
    assert checked.returncode == 0, checked.stderr


def test_the_committed_catalogs_hold_no_stale_or_doubtful_entries():
    """Every entry of the committed catalogs is translated and none is fuzzy (compilemessages
    would leave a fuzzy one out, silently)."""
    doubtful = [
        f"{path.name}: {entry.msgid!r}"
        for path in sorted(CATALOGS.glob("*.po"))
        for entry in _po_entries(path)
        if "fuzzy" in entry.flags or not any(entry.msgstr)
    ]
    assert not doubtful, "\n".join(doubtful)


def test_the_committed_catalogs_pass_msgfmts_full_check():
    """msgfmt --check (formats, header, and plural forms: Korean has one, and an entry with a
    second, empty one made the whole check fail)."""
    for path in sorted(CATALOGS.glob("*.po")):
        checked = subprocess.run(["msgfmt", "--check", "-o", os.devnull, str(path)], capture_output=True, text=True)
        assert checked.returncode == 0, f"{path.name}: {checked.stderr}"


def test_no_template_shows_text_outside_a_translate_tag():
    unmarked = []
    for path in _templates():
        raw = 0
        for part in _TOKEN.split(path.read_text(encoding="utf-8")):
            if not part:
                continue
            if _TOKEN.fullmatch(part):
                low = part.lower()
                if low.startswith(("<script", "<style", "<code")) or re.match(
                    r"{%\s*(comment|verbatim|blocktranslate)\b", part
                ):
                    raw += 1
                elif low.startswith(("</script", "</style", "</code")) or re.match(
                    r"{%\s*(endcomment|endverbatim|endblocktranslate)\b", part
                ):
                    raw -= 1
                continue
            core = part.strip(" \n\t©·")
            if raw or not re.search(r"[A-Za-z]", core) or core in _UNTRANSLATED_OK:
                continue
            if re.fullmatch(r"[\W\d]*(&\w+;)?[\W\d]*", core):
                continue
            unmarked.append(f"{path.relative_to(ROOT)}: {core[:60]!r}")
    assert not unmarked, "Wrap these in {% translate %}:\n" + "\n".join(unmarked)


@pytest.mark.django_db
def test_accept_language_picks_korean_for_a_visitor():
    page = Client().get("/", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.5")

    assert page["Content-Language"] == "ko"
    text = page.content.decode()
    assert '<html lang="ko">' in text
    assert "내 동영상이 다른 언어로 말합니다." in text


@pytest.mark.django_db
def test_a_signed_in_users_locale_beats_accept_language(owner):
    owner.locale = "ko"
    owner.save()
    client = Client()
    client.force_login(owner)

    page = client.get("/credits", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()

    assert '<html lang="ko">' in page and "크레딧 구매" in page


@pytest.mark.django_db
def test_the_footer_switch_changes_the_language_and_the_accounts_locale(owner):
    client = Client()
    client.force_login(owner)
    assert '<html lang="en">' in client.get("/credits").content.decode()

    response = client.post("/language", {"language": "ko", "next": "/credits"})

    assert response.status_code == 302 and response["Location"] == "/credits"
    owner.refresh_from_db()
    assert owner.locale == "ko"
    assert "크레딧 구매" in client.get("/credits").content.decode()
    visitor = Client()
    visitor.post("/language", {"language": "ko", "next": "https://evil.example/"})
    assert "내 동영상이 다른 언어로 말합니다." in visitor.get("/").content.decode()  # the cookie


def test_the_switch_never_redirects_off_site():
    response = Client().post("/language", {"language": "ko", "next": "https://evil.example/"})
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_signing_up_on_a_korean_page_makes_a_korean_account():
    from accounts.models import User

    Client().post(
        "/signup",
        {"name": "민지", "email": "minji@example.com", "password": "correct horse battery staple 42"},
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert User.objects.get(email="minji@example.com").locale == "ko"


@pytest.mark.parametrize(
    ("language", "price", "date"),
    [("ko", "₩15,000", "2026년 12월 1일"), ("en", "₩15,000", "Dec. 1, 2026")],
)
def test_prices_and_dates_follow_the_locale(language, price, date):
    template = engines["django"].from_string(
        '{% load billing_tags %}{{ amount|money:"KRW" }}|{{ when|date:"DATE_FORMAT" }}'
    )
    with translation.override(language):
        rendered = template.render({"amount": 15000, "when": datetime(2026, 12, 1, 9, 30, tzinfo=UTC)})
    assert rendered == f"{price}|{date}"


@pytest.mark.django_db(transaction=True)
def test_emails_are_written_in_the_accounts_language(broker, worker):
    from django.core import mail

    from accounts.services import user_register

    user_register(email="jiwoo@example.com", password="correct horse battery staple 42", locale="ko")

    wait_until(lambda: mail.outbox, timeout=10, what="the verification email")
    message = mail.outbox[-1]
    assert message.subject == "OneVoice 이메일 주소 확인"
    assert "이 링크를 열어 본인의 이메일 주소임을 확인해 주세요" in message.body


def test_the_dub_form_and_the_job_states_speak_korean():
    from dubbing.models import JobStatus
    from dubbing.views import STAGE_LABELS

    with translation.override("ko"):
        assert str(JobStatus.SUCCEEDED.label) == "완료"
        assert str(STAGE_LABELS["transcribe"]) == "음성 인식"
        from dubbing.languages import language_name

        assert language_name("es") == "스페인어"


@pytest.mark.django_db
def test_api_errors_speak_the_accept_language(owner_client):
    response = owner_client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000", HTTP_ACCEPT_LANGUAGE="ko")

    assert response.status_code == 404
    assert response.json()["detail"] == "더빙 작업을 찾을 수 없습니다."
