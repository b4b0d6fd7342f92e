"""The landing page's greeting rows: each line in its own language whatever the page's language,
and only languages this server can dub (issue 21: the Korean page showed Korean on the EN row,
and a KO row on a server that cannot dub into Korean)."""

from __future__ import annotations

import re

import pytest

from dubbing.languages import language_support
from portal.views import GREETINGS, home_greetings


def test_the_greetings_are_english_and_at_most_three_languages_the_server_dubs_into():
    assert home_greetings(["es", "fr", "ko", "ja", "it"]) == [
        ("en", GREETINGS["en"]), ("es", GREETINGS["es"]), ("ko", GREETINGS["ko"]), ("ja", GREETINGS["ja"])]
    assert home_greetings(["es"]) == [("en", GREETINGS["en"]), ("es", GREETINGS["es"])]
    assert home_greetings([]) == [("en", GREETINGS["en"])]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ko"])
def test_each_row_is_in_its_own_language_and_only_for_languages_this_server_dubs(client, language):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    rows = re.findall(r'<span class="lang">([A-Z]+)</span><span lang="([a-z]+)">“([^”]+)”</span>', page)
    targets = set(language_support().translated_targets)  # not Korean with the user's subtitles
    assert rows[0] == ("EN", "en", "Welcome back to the channel")
    assert all(GREETINGS[code] == text and tag == code.upper() for tag, code, text in rows)
    assert {code for _, code, _ in rows[1:]} <= targets
    if "ko" not in targets:
        assert "채널에 다시 오신 것을 환영합니다" not in page
