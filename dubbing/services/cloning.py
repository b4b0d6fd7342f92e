"""Writes around cloned voices: which speakers a consent ended up covering (the worker, once the
job's synthesis cloned them); the rows of clones made at a provider (written by the worker's
ledger before the provider is asked), and the sweep that deletes what a run left behind
(`manage.py sweep_cloned_voices`, and the reaper's loop every CLONED_VOICE_SWEEP_INTERVAL)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from dubbing.engine_config import engine_config
from dubbing.engines.registry import build_tts
from dubbing.models import ClonedVoice, JobStatus, VoiceCloningConsent
from onevoice.retry import backoff_delay

logger = logging.getLogger(__name__)

SWEEP_RETRY_BASE = 60.0  # seconds before a failed delete is tried again, doubling each time...
SWEEP_RETRY_CAP = 3600.0  # ...up to an hour


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


# --- Cloned voices at the provider ---------------------------------------------------------------


def cloned_voice_record(*, job_id, claim_token, provider: str, name: str, speaker: str) -> ClonedVoice:
    """Before the provider is asked to make the clone `name`: a row the sweep will find."""
    return ClonedVoice.objects.create(job_id=job_id, claim_token=claim_token, provider=provider, name=name,
                                      speaker=speaker)


def cloned_voice_created(*, name: str, voice_id: str) -> None:
    """The provider's id of the clone `name`, written before the clone is used."""
    ClonedVoice.objects.filter(name=name).update(voice_id=voice_id)


def cloned_voice_deleted(*, name: str) -> None:
    ClonedVoice.objects.filter(name=name, deleted_at__isnull=True).update(deleted_at=timezone.now(), last_error="")


def cloned_voice_delete_failed(*, name: str, error: str, now=None) -> None:
    """A delete that failed: tried again by the sweep, later each time."""
    now = now or timezone.now()
    voice = ClonedVoice.objects.filter(name=name, deleted_at__isnull=True).first()
    if voice is None:
        return
    attempts = voice.delete_attempts + 1
    ClonedVoice.objects.filter(pk=voice.pk).update(
        delete_attempts=attempts, last_error=error[:2000],
        retry_at=now + timedelta(seconds=backoff_delay(attempts, base=SWEEP_RETRY_BASE, cap=SWEEP_RETRY_CAP)))


def _in_use(now) -> Q:
    """Clones the run that made them may still be using: that run's job is running under the
    same claim, with a fresh heartbeat."""
    stale = now - timedelta(seconds=settings.DUBBING_HEARTBEAT_STALE_SECONDS)
    return Q(job__status=JobStatus.RUNNING, job__claim_token=F("claim_token"), job__heartbeat_at__gte=stale)


def cloned_voices_due(*, now=None):
    now = now or timezone.now()
    return (ClonedVoice.objects.filter(deleted_at__isnull=True)
            .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
            .exclude(_in_use(now)).order_by("created_at"))


def cloned_voices_sweep(*, now=None, engines: dict | None = None) -> dict[str, int]:
    """Delete at the provider every clone no running job uses any more (a crash's, or one whose
    delete failed): by its id, or, when the crash came between the provider's answer and the
    row's update, by the name it was made with. Returns counts: deleted, failed, pending (rows
    whose retry time has not come). `engines` maps a provider to its speech engine (built from
    the settings when absent)."""
    now = now or timezone.now()
    counts = {"deleted": 0, "failed": 0}
    engines = dict(engines or {})
    for voice in list(cloned_voices_due(now=now)):
        try:
            engine = engines.get(voice.provider) or engines.setdefault(voice.provider, _engine(voice.provider))
            ids = [voice.voice_id] if voice.voice_id else engine.find_voices(voice.name)
            for voice_id in ids:
                engine.delete_voice(voice_id)
        except Exception as exc:  # noqa: BLE001 - one stuck voice never stops the others
            logger.warning("Cloned voice %s (%s) could not be deleted: %s", voice.name, voice.voice_id, exc)
            cloned_voice_delete_failed(name=voice.name, error=str(exc), now=now)
            counts["failed"] += 1
            continue
        cloned_voice_deleted(name=voice.name)
        counts["deleted"] += 1
    counts["pending"] = ClonedVoice.objects.filter(deleted_at__isnull=True).count()
    return counts


def _engine(provider: str):
    """The provider's speech engine from this deployment's settings (its key and base URL)."""
    return build_tts(provider, engine_config())
