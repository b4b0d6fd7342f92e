"""The webhooks settings page: endpoints, their latest attempts, add / enable / test / delete."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from dubbing.events import JobEvent
from integrations import selectors, services
from onevoice.errors import ServiceError


@login_required
def webhooks_page(request):
    if request.method == "POST":
        action = request.POST.get("action", "create")
        try:
            if action == "create":
                endpoint = services.webhook_endpoint_create(owner=request.user, url=request.POST.get("url", ""),
                                                            events=request.POST.getlist("events"))
                messages.success(
                    request,
                    gettext("Endpoint added. Its signing secret, shown only now: %(secret)s") % {"secret": endpoint.secret},
                )
            else:
                endpoint = selectors.webhook_endpoint_get(owner_id=request.user.pk,
                                                          endpoint_id=request.POST.get("endpoint"))
                if action == "test":
                    services.webhook_ping(endpoint=endpoint)
                    messages.success(request, gettext("A ping is on its way."))
                elif action in ("enable", "disable"):
                    services.webhook_endpoint_update(endpoint=endpoint, active=action == "enable")
                elif action == "delete":
                    services.webhook_endpoint_delete(endpoint=endpoint)
                    messages.success(request, gettext("Endpoint deleted."))
        except (ServiceError, ValueError) as exc:
            messages.error(request, str(getattr(exc, "detail", exc)))
        return redirect("webhooks")
    endpoints = [(e, list(selectors.webhook_attempt_list(endpoint=e)[:10]))
                 for e in selectors.webhook_endpoint_list(owner_id=request.user.pk)]
    return render(request, "integrations/webhooks.html",
                  {"endpoints": endpoints, "event_choices": JobEvent.choices})
