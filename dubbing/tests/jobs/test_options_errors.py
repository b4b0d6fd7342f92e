"""A refused option names its field and reason (issue 18: the field used to be found by reading
the first word of the English message), and the API keys its 400 by that field."""

from __future__ import annotations

import pytest

from billing.selectors import credits_balance
from dubbing.errors import InvalidOptions
from dubbing.models import DubbingJob
from dubbing.pipeline.options import DubOptions, OptionsError
from dubbing.services import dub_options_parse


@pytest.mark.parametrize(("fields", "field", "reason"), [
    ({"target_language": ""}, "target_language", "required"),
    ({"target_language": "es", "background": "loud"}, "background", "choice"),
    ({"target_language": "es", "subtitles": "sideways"}, "subtitles", "choice"),
    ({"target_language": "es", "max_speed": 9.0}, "max_speed", "range"),
    ({"target_language": "es", "engines": "quantum"}, "engines", "choice"),
    ({"target_language": "es", "source_language": "es"}, "target_language", "same_language"),
])
def test_each_refusal_names_its_field_and_reason(fields, field, reason):
    with pytest.raises(OptionsError) as refused:
        DubOptions(**fields)
    assert (refused.value.field, refused.value.reason) == (field, reason)


@pytest.mark.parametrize(("fields", "field"), [
    ({"background": "loud"}, "background"),
    ({"max_speed": 9.0}, "max_speed"),
    ({"source_language": "es"}, "target_language"),
])
def test_the_service_keys_its_refusal_by_the_field_the_options_name(fields, field):
    with pytest.raises(InvalidOptions) as refused:
        dub_options_parse(**{"target_language": "es", "source_language": "en", **fields})
    assert set(refused.value.errors) == {field}


@pytest.mark.django_db
def test_the_same_language_is_refused_with_its_own_code_before_anything_is_reserved(owner, owner_client, video):
    balance = credits_balance(user=owner)
    answer = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es",
                                                "source_language": "es"}, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "same_language"
    assert set(answer.json()["errors"]) == {"target_language"}
    assert credits_balance(user=owner) == balance and not DubbingJob.objects.exists()
