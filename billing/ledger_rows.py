"""What a ledger entry was, said to the person whose credits moved: a dub, a re-render, a
refund, a purchase or a grant, naming the video or the order.

Billing cannot read dubbing's jobs (the layers point the other way), so the video titles come
from whoever composes the page (portal): `videos` maps a job's id to its video's title. A job
missing from it was deleted with its video; without the map at all, a row says what it was
without naming the video (the credits page's short list).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext

from billing.models import LedgerEntry

Kind = LedgerEntry.Kind

# The machine's word for each kind (the API's `category`): what a reader asks first.
DUB, RERENDER, REFUND, PURCHASE, GRANT, EXPIRY, ADJUSTMENT = (
    "dub", "rerender", "refund", "purchase", "grant", "expiry", "adjustment")
_CATEGORIES = {
    Kind.PURCHASE: PURCHASE, Kind.PLAN_GRANT: PURCHASE,
    Kind.SIGNUP_BONUS: GRANT, Kind.GRANT: GRANT,
    Kind.JOB_REFUND: REFUND, Kind.PAYMENT_REFUND: REFUND, Kind.PLAN_REFUND: REFUND,
    Kind.PLAN_EXPIRY: EXPIRY, Kind.ADJUSTMENT: ADJUSTMENT,
}


def entry_job_id(entry: LedgerEntry) -> str | None:
    """The dubbing job a debit or refund was for: its ref is "job:<id>#<attempt|renderN|staff>"
    (billing.services.ledger writes them)."""
    if not entry.ref.startswith("job:"):
        return None
    return entry.ref[len("job:"):].split("#", 1)[0] or None


def _is_render(entry: LedgerEntry) -> bool:
    return "#render" in entry.ref


def entry_category(entry: LedgerEntry) -> str:
    if entry.kind == Kind.JOB_DEBIT:
        return RERENDER if _is_render(entry) else DUB
    return _CATEGORIES.get(entry.kind, ADJUSTMENT)


def _job_sentence(entry: LedgerEntry, videos: Mapping[str, str] | None) -> str:
    render, refund = _is_render(entry), entry.kind == Kind.JOB_REFUND
    if videos is None:
        if refund:
            return gettext("Refund for a re-render") if render else gettext("Refund for a dub")
        return gettext("Re-render") if render else gettext("Dub")
    title = videos.get(entry_job_id(entry) or "")
    if title is None:
        if refund:
            return gettext("Refund for a re-render of a deleted video") if render else gettext(
                "Refund for a dub of a deleted video")
        return gettext("Re-render of a deleted video") if render else gettext("Dub of a deleted video")
    if refund:
        sentence = (gettext("Refund for the re-render of “%(video)s”") if render
                    else gettext("Refund for the dub of “%(video)s”"))
    else:
        sentence = gettext("Re-render of “%(video)s”") if render else gettext("Dub of “%(video)s”")
    return sentence % {"video": title}


def _order_sentence(entry: LedgerEntry) -> str:
    order = entry.payment.title if entry.payment_id is not None else ""
    if entry.kind in (Kind.PAYMENT_REFUND, Kind.PLAN_REFUND):
        return gettext("Refund of %(order)s") % {"order": order} if order else gettext("Refund of a purchase")
    return gettext("Purchase: %(order)s") % {"order": order} if order else str(entry.get_kind_display())


def entry_description(entry: LedgerEntry, *, videos: Mapping[str, str] | None = None) -> str:
    """The row's sentence in the active language ("Dub of “Trip to Jeju”", "Purchase: OneVoice
    Standard: 100 credits", "Sign-up bonus"); the reason, when there is one, is shown beside it."""
    if entry_job_id(entry) is not None and entry.kind in (Kind.JOB_DEBIT, Kind.JOB_REFUND):
        return _job_sentence(entry, videos)
    if entry.kind in (Kind.PURCHASE, Kind.PLAN_GRANT, Kind.PAYMENT_REFUND, Kind.PLAN_REFUND):
        return _order_sentence(entry)
    return str(entry.get_kind_display())


@dataclass(frozen=True)
class LedgerRow:
    """One entry as the history shows it."""

    entry: LedgerEntry
    category: str
    description: str
    job_id: str | None


def ledger_rows(entries, *, videos: Mapping[str, str] | None = None) -> list[LedgerRow]:
    return [LedgerRow(entry=e, category=entry_category(e), description=entry_description(e, videos=videos),
                      job_id=entry_job_id(e)) for e in entries]


def ledger_job_ids(entries) -> set[str]:
    """The jobs a page of entries refers to (for the caller to look their videos up in one query)."""
    return {job_id for e in entries if (job_id := entry_job_id(e)) is not None}
