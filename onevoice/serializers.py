"""The base of every input serializer: a JSON body naming a field the serializer does not have
answers 400 `unknown_field`, naming it (as Stripe answers "Received unknown parameter").

A typo such as `num_speaker` for `num_speakers` was silently ignored: the job ran with the
default and the client never learnt why. Form and multipart bodies (QueryDicts) are not checked:
browsers add fields of their own (the CSRF token, the submit button). The schema says the same
with `additionalProperties: false` on these request bodies (onevoice/schema.py).
"""

from __future__ import annotations

from django.http import QueryDict
from django.utils.translation import gettext
from rest_framework import serializers

UNKNOWN_FIELD_CODE = "unknown_field"


class RejectUnknownFieldsMixin:
    def to_internal_value(self, data):
        if isinstance(data, dict) and not isinstance(data, QueryDict):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                message = gettext("Unknown field. Known: %(known)s.") % {"known": ", ".join(self.fields) or "-"}
                raise serializers.ValidationError({name: [message] for name in unknown}, code=UNKNOWN_FIELD_CODE)
        return super().to_internal_value(data)


class InputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """What every API request body is validated with."""
