"""The jobs' ledger of cloned voices (pipeline/clones.py's CloneLedger): a row per clone made at
the provider, written before the provider is asked and updated with its id before the clone is
used, so that the sweep (dubbing.services.cloning) can delete whatever a crash leaves behind."""

from __future__ import annotations

import uuid

from dubbing import services


class JobCloneLedger:
    def __init__(self, *, job_id, claim_token, provider: str) -> None:
        self.job_id, self.claim_token, self.provider = job_id, claim_token, provider

    def name(self, speaker: str) -> str:
        # Unique, and says where it came from to whoever reads the provider's voice list.
        return f"onevoice-{str(self.job_id)[:8]}-{speaker}-{uuid.uuid4().hex[:8]}"

    def creating(self, name: str, speaker: str) -> None:
        services.cloned_voice_record(job_id=self.job_id, claim_token=self.claim_token, provider=self.provider,
                                     name=name, speaker=speaker)

    def created(self, name: str, voice: str) -> None:
        services.cloned_voice_created(name=name, voice_id=voice)

    def deleted(self, name: str, voice: str) -> None:
        services.cloned_voice_deleted(name=name)

    def delete_failed(self, name: str, voice: str, error: str) -> None:
        services.cloned_voice_delete_failed(name=name, error=error)
