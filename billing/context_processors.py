"""The balance in every page's header, for a signed-in user: at most one query per request (none
when the page does not show it), shared with the page's own view through `request_balance`."""

from __future__ import annotations

from billing.selectors import credits_balance

_CACHE = "_onevoice_credits_balance"


def request_balance(request, *, known: int | None = None) -> int:
    """The signed-in user's balance, read once per request. A view that has read it already (with
    its plan credits, say) passes it as `known`, so the header does not read it again."""
    if known is not None:
        setattr(request, _CACHE, known)
    if getattr(request, _CACHE, None) is None:
        setattr(request, _CACHE, credits_balance(user=request.user))
    return getattr(request, _CACHE)


def header_balance(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # A callable: the template calls it, so the query runs only where the header is rendered.
    return {"header_balance": lambda: request_balance(request)}
