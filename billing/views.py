"""Billing pages: credits and packs, the payment result, the ledger history."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import wraps

from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import user_must_verify_email
from billing import paddle, paddle_sandbox, portone, sandbox, selectors, services, stripe_sandbox
from billing.buyers import buyer_country, buyer_currency, currencies_offered, currency_payable
from billing.context_processors import request_balance
from billing.ledger_rows import ledger_job_ids, ledger_rows
from billing.models import Provider
from billing.providers import providers_configured
from onevoice.csp import source_of
from onevoice.errors import ServiceError


def _portone_sdk_csp(view):
    """Let the page load PortOne's browser SDK and what its checkout loads, calls and frames.

    Only the page that loads the SDK widens the policy, and only while payments are on. Read per
    request: the test checkout swaps the SDK for the site's own stand-in (billing/sandbox.py).
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        sdk = source_of(settings.PORTONE_BROWSER_SDK_URL)
        if sdk is None or not portone.is_configured():
            return view(request, *args, **kwargs)
        checkout = list(settings.PORTONE_CSP_ORIGINS)
        policy = {"script-src": [sdk, *checkout], "connect-src": [sdk, *checkout], "frame-src": checkout}
        return csp_update(policy)(view)(request, *args, **kwargs)

    return wrapped


AFTER_PAYMENT = "credits_after_payment"


def _remember_where_to_return(request) -> None:
    """The page that sent the user to buy credits (`?next=`, a path on this site: the dub form,
    the line editor), for the payment's result to lead back to; none when they came on their own."""
    target = request.GET.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        request.session[AFTER_PAYMENT] = target
    else:
        request.session.pop(AFTER_PAYMENT, None)


def _after_payment(request) -> str:
    return request.session.get(AFTER_PAYMENT, "")


def _paddle_js_csp(view):
    """Let the page load Paddle.js and frame Paddle's overlay checkout (PADDLE_CSP_ORIGINS),
    only while Paddle is on. Read per request: the test checkout serves its own stand-in."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        script = source_of(settings.PADDLE_JS_URL)
        if not paddle.is_configured():
            return view(request, *args, **kwargs)
        checkout = list(settings.PADDLE_CSP_ORIGINS)
        scripts = [script, *checkout] if script else checkout
        policy = {"script-src": scripts, "connect-src": scripts, "frame-src": checkout}
        return csp_update(policy)(view)(request, *args, **kwargs)

    return wrapped


def _paddle_js_url() -> str:
    return settings.PADDLE_JS_URL if paddle.is_configured() else ""


@require_GET
@login_required
@_portone_sdk_csp
@_paddle_js_csp
def credits_page(request):
    paddle_sandbox.catalog_ensure()  # the test checkout's loopback Paddle learns our packs (debug only)
    configured = bool(providers_configured())
    verify_first = user_must_verify_email(user=request.user)
    balance, plan_credits = selectors.credits_balances(user=request.user)
    request_balance(request, known=balance)  # the header shows it too
    _remember_where_to_return(request)
    currency = buyer_currency(request)
    payable = currency_payable(currency, country=buyer_country(request))
    return render(
        request,
        "billing/credits.html",
        {
            "balance": balance,
            # Each pack with its price in the buyer's currency (None: not sold in it).
            "packs": [(pack, pack.price_in(currency)) for pack in selectors.credit_pack_list()],
            "currency": currency,
            "currencies": currencies_offered(),
            "payments_configured": configured,
            # The packs without their buy buttons until the address is confirmed (the API
            # refuses the payment too, 403 email_unverified).
            "verify_first": verify_first,
            "can_buy": configured and payable and not verify_first,
            "currency_unpayable": configured and not payable,
            "sdk_url": settings.PORTONE_BROWSER_SDK_URL if portone.is_configured() else "",
            "paddle_js_url": _paddle_js_url(),
            "paddle_test_checkout": paddle_sandbox.is_running(),
            "test_checkout": sandbox.is_running(),
            "recent_rows": ledger_rows(selectors.ledger_entry_list(user=request.user)[:5]),
            "plan_credits": plan_credits,
        },
    )


@require_GET
@login_required
@_portone_sdk_csp
@_paddle_js_csp
def plans_page(request):
    """The user's plan (renewal date and amount, credits this period, change, cancel, resume,
    card) and the plans on offer; every action is the API's, called by billing/plans.js."""
    configured = bool(providers_configured())
    verify_first = user_must_verify_email(user=request.user)
    subscription = selectors.subscription_current(user=request.user)
    live = subscription is not None and subscription.status in ("active", "past_due")
    # A plan Stripe renews (not PortOne's billing key): its card and plan change in Stripe's portal.
    provider_run = subscription is not None and subscription.provider != Provider.PORTONE
    currency = buyer_currency(request)
    payable = currency_payable(currency, country=buyer_country(request))
    plans = list(selectors.plan_list())
    if live and subscription.plan not in plans:
        plans.insert(0, subscription.plan)  # a plan since deactivated: its subscribers keep it
    quotes = {}
    if live and subscription.status == "active" and not provider_run:
        for plan in plans:
            if plan.price > subscription.plan.price:
                quotes[plan.pk] = services.upgrade_quote(subscription=subscription, plan=plan, now=timezone.now())
    return render(
        request,
        "billing/plans.html",
        {
            "subscription": subscription,
            "live": live,
            # Each plan with its upgrade quote (PortOne's plans) and its price in the buyer's currency.
            "plans": [(plan, quotes.get(plan.pk), plan.price_in(currency)) for plan in plans],
            "currency": currency,
            "currencies": currencies_offered(),
            "provider_run": provider_run,
            "balance": request_balance(request),
            "plan_credits": selectors.plan_credits_left(user=request.user),
            "payments_configured": configured,
            "verify_first": verify_first,
            "can_pay": configured and payable and not verify_first,
            "sdk_url": settings.PORTONE_BROWSER_SDK_URL if portone.is_configured() else "",
            "test_checkout": sandbox.is_running(),
            "paddle_js_url": _paddle_js_url(),
            "paddle_test_checkout": paddle_sandbox.is_running(),
        },
    )


def credit_history_context(request, *, video_titles: Callable[[set[str]], Mapping[str, str]]) -> dict:
    """The credit history page's context: a page of entries as rows that say what each was.
    `video_titles(job ids)` names the videos the entries' jobs dubbed: served by portal (billing
    cannot read dubbing's jobs), one query."""
    page = Paginator(selectors.ledger_entry_list(user=request.user), 50).get_page(request.GET.get("page"))
    entries = list(page.object_list)
    titles = video_titles(ledger_job_ids(entries)) if ledger_job_ids(entries) else {}
    return {"balance": request_balance(request), "page": page,
            "rows": ledger_rows(entries, videos=titles)}


@require_GET
@login_required
def payment_result_page(request, payment_id: str):
    payment = selectors.payment_get_for_user(user=request.user, payment_id=payment_id)
    if payment is None:
        raise Http404
    return render(
        request,
        "billing/payment_result.html",
        {"payment": payment, "balance": request_balance(request), "return_to": _after_payment(request)},
    )


@require_GET
@login_required
def payment_return_page(request):
    """Phones come back here from the PG (`redirectUrl`): complete the payment like the API does."""
    payment_id = request.GET.get("paymentId", "")
    payment = selectors.payment_get_for_user(user=request.user, payment_id=payment_id)
    if payment is None:
        raise Http404
    error = ""
    closed = bool(request.GET.get("code"))
    if closed:
        # The SDK reports a payment the user closed or the PG refused; PortOne still has the final
        # word: asked first, the checkout ends cancelled unless it was paid after all.
        error = request.GET.get("message") or gettext("The payment was not completed.")
    try:
        if closed:
            payment = services.payment_checkout_close(user=request.user, payment_id=payment_id)
            error = "" if payment.credited_at else error
        else:
            payment = services.payment_complete(user=request.user, payment_id=payment_id)
    except ServiceError as failure:  # mismatch, failed, provider unavailable: say so on the page
        error = failure.detail
    payment.refresh_from_db()
    return render(
        request,
        "billing/payment_result.html",
        {"payment": payment, "balance": request_balance(request), "error": error,
         "return_to": _after_payment(request)},
        status=200,
    )


@require_POST
@login_required
def test_checkout_pay(request):
    """The stand-in SDK's "Pay" button (debug only): the PG side of a test payment."""
    if sandbox.server() is None:
        raise Http404
    try:
        body = json.loads(request.body or b"{}")
        payment_id, amount = str(body["paymentId"]), int(body["totalAmount"])
        currency, order_name = str(body.get("currency", "KRW")), str(body.get("orderName", ""))
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"code": "INVALID_REQUEST", "message": "Bad test payment request."}, status=400)
    # Only the payer's own pending orders: the sandbox is no way to poke at other people's.
    if selectors.payment_get_for_user(user=request.user, payment_id=payment_id) is None:
        raise Http404
    answer = sandbox.sandbox_pay(
        payment_id=payment_id,
        amount=amount,
        currency=currency,
        order_name=order_name,
        webhook_url=request.build_absolute_uri(reverse("api_billing_webhook_portone")),
    )
    return JsonResponse(answer)


@require_POST
@login_required
def test_checkout_billing_key(request):
    """The stand-in SDK's "Register card" button (debug only): the card company's side."""
    if sandbox.server() is None:
        raise Http404
    try:
        body = json.loads(request.body or b"{}")
        issue_id, issue_name = str(body["issueId"]), str(body.get("issueName", ""))
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"code": "INVALID_REQUEST", "message": "Bad test card request."}, status=400)
    # Only for the payer's own plan waiting for this card.
    subscription = selectors.subscription_current(user=request.user)
    if subscription is None or not subscription.pending_issue_id or subscription.pending_issue_id != issue_id:
        raise Http404
    return JsonResponse(sandbox.sandbox_issue_billing_key(
        customer_id=str(request.user.pk), issue_id=issue_id, issue_name=issue_name))


@require_POST
@login_required
def test_checkout_renew(request):
    """Test checkout only: renew the user's plan now, as the renewer will when its period ends
    (the clock moved to the renewal date for this one renewal); the charge goes to the loopback
    PortOne server, so no money moves."""
    if sandbox.server() is None:
        raise Http404
    subscription = selectors.subscription_current(user=request.user)
    if subscription is None or subscription.next_attempt_at is None:
        raise Http404
    outcome = services.subscription_renew(subscription_id=subscription.pk, now=subscription.next_attempt_at)
    messages.info(request, gettext("Test renewal: %(outcome)s.") % {"outcome": outcome})
    return redirect("plans")


@require_POST
@login_required
def test_checkout_paddle_pay(request):
    """The Paddle.js stand-in's "Pay" button (debug only): Paddle's checkout paying."""
    if paddle_sandbox.server() is None:
        raise Http404
    try:
        transaction_id = str(json.loads(request.body or b"{}")["transactionId"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"code": "INVALID_REQUEST", "message": "Bad test payment request."}, status=400)
    # Only the payer's own pending checkouts: the sandbox is no way to poke at other people's.
    if not selectors.payment_pending_for_checkout(user=request.user, provider_checkout_id=transaction_id):
        raise Http404
    return JsonResponse(paddle_sandbox.sandbox_pay(
        transaction_id=transaction_id,
        webhook_url=request.build_absolute_uri(reverse("api_billing_webhook_paddle")),
    ))


@require_GET
@login_required
def payment_receipt(request, payment_id: str):
    """The buyer's receipt at the provider that took the payment (Paddle's invoice PDF is linked
    afresh each time): the buyer's own payments, or any for staff."""
    payment = selectors.payment_get_for_user(user=request.user, payment_id=payment_id)
    if payment is None and request.user.is_staff:
        payment = selectors.payment_get(payment_id=payment_id)
    if payment is None:
        raise Http404
    try:
        link = services.payment_receipt_link(payment=payment)  # may ask the provider
    except ServiceError as error:  # the provider did not answer: say so, the link works later
        return render(request, "billing/payment_result.html",
                      {"payment": payment, "balance": selectors.credits_balance(user=request.user),
                       "error": error.detail}, status=error.status_code)
    if not link:
        raise Http404
    return redirect(link)


@require_http_methods(["GET", "POST"])
@login_required
def test_checkout_stripe(request, session_id: str):
    """Stands in for Stripe's hosted checkout page in the test checkout (debug only): the order,
    "Test payment: no money moves", Pay and Cancel. Pay does what Stripe does (the session paid,
    its signed webhooks sent) and sends the buyer where Stripe would: the order's return page."""
    session = stripe_sandbox.session_get(session_id)
    # Only the payer's own pending checkouts: the sandbox is no way to poke at other people's.
    if session is None or not selectors.payment_pending_for_checkout(
            user=request.user, provider_checkout_id=session_id):
        raise Http404
    if request.method == "POST":
        if request.POST.get("action") == "pay" and session["status"] == "open":
            return redirect(stripe_sandbox.sandbox_pay(
                session_id=session_id,
                webhook_url=request.build_absolute_uri(reverse("api_billing_webhook_stripe"))))
        return redirect(session["cancel_url"])
    return render(request, "billing/test_checkout_stripe.html", {
        "session": session, "amount": session["amount_total"], "currency": session["currency"].upper(),
        "order_name": session["_line_items"][0]["price_data"]["product_data"]["name"],
    })
