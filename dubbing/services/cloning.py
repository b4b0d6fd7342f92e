"""Writes around cloned voices: which speakers a consent ended up covering (the worker, once the
job's synthesis cloned them)."""

from __future__ import annotations

from django.db import transaction

from dubbing.models import VoiceCloningConsent


def voice_cloning_consent_speakers_record(*, job_id, speakers: list[str]) -> int:
    """Add `speakers` (cloned by the job's latest synthesis) to the job's consent rows; returns
    how many rows were updated. A re-render that clones again adds nobody twice."""
    updated = 0
    with transaction.atomic():
        for consent in VoiceCloningConsent.objects.select_for_update().filter(job_ref=job_id):
            merged = list(dict.fromkeys([*consent.speakers, *speakers]))
            if merged != consent.speakers:
                consent.speakers = merged
                consent.save(update_fields=["speakers"])
                updated += 1
    return updated
