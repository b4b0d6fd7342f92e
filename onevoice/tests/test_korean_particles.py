"""Korean particles agree with the word before them (issue 21: “hd_ko”을(를) 영어(으)로)."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import translation

from onevoice.korean import particles


@pytest.mark.parametrize(("text", "expected"), [
    # Hangul: open syllable, a final consonant, and ㄹ which takes 로
    ("스페인어(으)로 더빙했습니다", "스페인어로 더빙했습니다"),
    ("“영상”을(를) 지웠습니다", "“영상”을 지웠습니다"),
    ("“비디오”을(를) 지웠습니다", "“비디오”를 지웠습니다"),
    ("서울(으)로", "서울로"),
    ("부산(으)로", "부산으로"),
    ("한국어은(는)", "한국어는"), ("강은(는)", "강은"),
    ("친구이(가)", "친구가"), ("사람이(가)", "사람이"),
    ("나와(과) 너", "나와 너"), ("책와(과) 펜", "책과 펜"),
    # Latin names and codes, read as Korean reads them
    ("“hd_ko”을(를) 영어(으)로", "“hd_ko”를 영어로"),
    ("me@example.com(으)로 링크를 보냈습니다", "me@example.com으로 링크를 보냈습니다"),  # 컴
    ("'es'(으)로", "'es'로"), ("'en'(으)로", "'en'으로"),
    ("HTML을(를)", "HTML을"), ("TV을(를)", "TV를"), ("Tom이(가)", "Tom이"), ("Paul(으)로", "Paul로"),
    # Numbers by how they are read: 일(ㄹ) 이 삼 ... 십 백 천 만
    ("1(으)로", "1로"), ("3(으)로", "3으로"), ("2을(를)", "2를"), ("10을(를)", "10을"),
    ("1000을(를)", "1000을"), ("<strong>me@example.com</strong>(으)로", "<strong>me@example.com</strong>으로"), ("10000을(를)", "10000을"), ("20000이(가)", "20000이"),
])
def test_each_marker_takes_the_particle_that_agrees_with_the_word_before_it(text, expected):
    assert particles(text) == expected


def test_a_sentence_without_markers_is_unchanged():
    for text in ("“Talk” has been dubbed into Spanish.", "괄호(설명)는 그대로", ""):
        assert particles(text) == text


def test_the_template_filter_resolves_markers_inside_a_translated_block_and_keeps_escaping():
    template = Template("{% load korean %}{% filter particles %}“{{ title }}”을(를) {{ language }}(으)로{% endfilter %}")
    assert template.render(Context({"title": "<b>길</b>", "language": "스페인어"})) == (
        "“&lt;b&gt;길&lt;/b&gt;”을 스페인어로")


@pytest.mark.parametrize(("template", "expected"), [
    ("emails/dubbing/job_failed_body.txt", "“hd_ko”를 스페인어로 더빙하지 못했습니다"),
    ("emails/dubbing/job_succeeded_body.txt", "“hd_ko”를 스페인어로"),
])
def test_the_korean_job_emails_read_with_the_particles_that_fit_the_title_and_language(template, expected):
    with translation.override("ko"):
        body = render_to_string(template, {"user": None, "video": {"title": "hd_ko"}, "language": "스페인어",
                                           "render": 0, "link": "http://127.0.0.1:8000/jobs/1",
                                           "refunded": True})
    assert expected in body
    assert "(를)" not in body and "(으)로" not in body


def test_the_korean_email_gate_names_the_address_with_the_right_particle(rf):
    request = rf.get("/")
    request.user = type("U", (), {"email": "me@example.com"})()
    with translation.override("ko"):
        html = render_to_string("accounts/_verify_email_gate.html", {"request": request})
    assert "<strong>me@example.com</strong>으로" in html
    assert "(으)로" not in html
