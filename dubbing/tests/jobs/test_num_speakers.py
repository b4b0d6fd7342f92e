"""`num_speakers` (issue 20): 0 detects the count, 1-10 forces it. Out of range or not a whole
number: 400 naming the field, nothing reserved; the form and the API both carry it to the job."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.selectors import credits_balance
from billing.tests.factories import give_credits
from dubbing.errors import InvalidOptions
from dubbing.languages import language_support
from dubbing.models import DubbingJob
from dubbing.pipeline.options import DubOptions, OptionsError
from dubbing.services import dub_options_parse, source_analysis_key


@pytest.mark.parametrize("value", [-1, 11, 2.5, True, "two", "3x", [2]])
def test_a_speaker_count_out_of_range_or_not_a_whole_number_is_refused_naming_it(value):
    with pytest.raises(InvalidOptions) as refused:
        dub_options_parse(target_language="es", source_language="en", num_speakers=value)
    assert set(refused.value.errors) == {"num_speakers"}
    assert "0" in refused.value.errors["num_speakers"][0] and "10" in refused.value.errors["num_speakers"][0]


def test_the_options_refuse_a_count_past_ten_by_field_and_reason():
    with pytest.raises(OptionsError) as refused:
        DubOptions(target_language="es", num_speakers=11)
    assert (refused.value.field, refused.value.reason) == ("num_speakers", "range")


@pytest.mark.parametrize(("value", "expected"), [(None, 0), (0, 0), ("3", 3), (10, 10)])
def test_a_speaker_count_from_zero_to_ten_is_kept(value, expected):
    assert dub_options_parse(target_language="es", source_language="en", num_speakers=value).num_speakers == expected


def test_the_count_is_part_of_the_source_analysis_key():
    def key(n):
        options = DubOptions(target_language="es", source_language="en", num_speakers=n)
        return source_analysis_key(video_id="v", video_key="k", options=options, recognizer="whisper")

    assert key(0) != key(2) != key(3)
    assert key(2) == key(2)


def _needs_en_es():
    if not language_support().supports("en", "es"):
        pytest.skip("the local engines here cannot dub en->es")


@pytest.mark.django_db
@pytest.mark.parametrize("value", [11, -1, "many", 1.5])
def test_the_api_answers_400_naming_num_speakers_and_reserves_nothing(owner, staff, owner_client, video, value):
    _needs_en_es()
    give_credits(owner, 5, staff=staff)
    answer = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es",
                                                "num_speakers": value}, format="json")
    assert answer.status_code == 400, answer.content
    assert "num_speakers" in answer.json()["errors"]
    assert credits_balance(user=owner) == 5 and not DubbingJob.objects.exists()


@pytest.mark.django_db
def test_the_api_keeps_the_count_on_the_job_and_defaults_to_detecting(owner, staff, owner_client, video):
    _needs_en_es()
    give_credits(owner, 5, staff=staff)
    answer = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es",
                                                "num_speakers": 2}, format="json")
    assert answer.status_code == 201, answer.content
    assert DubbingJob.objects.get().options["num_speakers"] == 2
    answer = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es"}, format="json")
    assert answer.status_code == 201, answer.content
    assert DubbingJob.objects.get(id=answer.json()["id"]).options["num_speakers"] == 0


@pytest.mark.django_db
def test_the_form_offers_the_count_in_korean_and_carries_it_to_the_job(owner, staff, video):
    _needs_en_es()
    give_credits(owner, 5, staff=staff)
    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    browser = Client()
    browser.force_login(owner)
    html = browser.get(f"/videos/{video.id}/dub").content.decode()
    assert '<select name="num_speakers"' in html and '<label for="id_num_speakers">화자 수</label>' in html
    assert "자동으로 찾기" in html

    refused = browser.post(f"/videos/{video.id}/dub", {"target_language": "es", "source_language": "auto",
                                                       "background": "duck", "subtitles": "soft",
                                                       "max_speed": "1.3", "num_speakers": "11"})
    assert refused.status_code == 400 and not DubbingJob.objects.exists()

    response = browser.post(f"/videos/{video.id}/dub", {"target_language": "es", "source_language": "auto",
                                                        "background": "duck", "subtitles": "soft",
                                                        "max_speed": "1.3", "num_speakers": "2"})
    assert response.status_code == 302
    assert DubbingJob.objects.get().options["num_speakers"] == 2


def test_the_command_line_refuses_a_count_past_ten_naming_it(tmp_path):
    from django.core.management import CommandError, call_command

    media = tmp_path / "in.wav"
    media.write_bytes(b"RIFF")
    with pytest.raises(CommandError, match="num_speakers"):
        call_command("dub", str(media), "--to", "es", "--num-speakers", "11")
