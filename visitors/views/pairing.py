"""Pairing lobby devices: the tablet shows a short code, an office admin approves it.

``/pair/`` on the device makes a long random token, keeps it in a cookie and shows a six-letter
code (valid for 10 minutes; the page checks every few seconds). In the console, an office admin
types the code at ``/desk/<office>/devices/`` with a label and a capability (check-in kiosk or
lobby display); the device's next check finds the approval and opens its kiosk or display.
The same page lists the office's devices with their last-seen time, and revokes them.
"""

import datetime as dt
import math
import secrets

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from frontdesk.ratelimits import rate
from visitors.access import office_for_admin
from visitors.offices.models import DevicePairing, KioskLink
from visitors.views.display import DISPLAY_COOKIE
from visitors.views.kiosk import KIOSK_COOKIE, set_device_cookie

PAIRING_COOKIE = "frontdesk_pairing"
PAIRING_MINUTES = 10
DEVICE_HOMES = {
    KioskLink.Capability.CHECK_IN: (KIOSK_COOKIE, "kiosk:home", "kiosk"),
    KioskLink.Capability.DISPLAY: (DISPLAY_COOKIE, "display:board", "display"),
}


def _new_pairing(response_cookie_holder: dict) -> DevicePairing:
    token = secrets.token_urlsafe(32)
    response_cookie_holder["token"] = token
    now = timezone.now()
    return DevicePairing.objects.create(
        code=DevicePairing.new_code(), token_hash=KioskLink.hash_token(token), created_at=now,
        expires_at=now + dt.timedelta(minutes=PAIRING_MINUTES),
    )  # fmt: skip


@never_cache
@require_http_methods(["GET", "POST"])
# Only asking for a code makes a row; the page's own check every 3 s makes none, so it is not
# counted (three devices pairing behind one lobby address would otherwise use up the limit).
@ratelimit(key="ip", rate=rate("RATELIMIT_KIOSK"), method="POST", block=True)
def pair(request: HttpRequest) -> HttpResponse:
    """On the device: show a code until an office admin approves it, then open the device.

    A code is made only when the device asks for one (a POST from the page's button): a mere
    GET — a crawler, a link preview, someone reloading — makes no row. Expired rows are swept
    with the stale visits (services.pairings_forget_expired).
    """
    token = request.COOKIES.get(PAIRING_COOKIE, "")
    pairing = None
    if token and len(token) <= 100:
        pairing = (
            DevicePairing.objects.select_related("link__office")
            .filter(token_hash=KioskLink.hash_token(token))
            .first()
        )
    if pairing is not None and pairing.link_id and pairing.link.is_active:
        link = pairing.link
        cookie, home, prefix = DEVICE_HOMES[link.capability]
        if request.htmx:  # the page's own check: let htmx load the device's home
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse(home, args=[link.office.slug])
        else:
            response = redirect(home, slug=link.office.slug)
        set_device_cookie(response, office=link.office, token=token, cookie=cookie, prefix=prefix)
        response.delete_cookie(PAIRING_COOKIE, path="/pair/")
        DevicePairing.objects.filter(pk=pairing.pk).delete()  # used once
        return response
    waiting = pairing is not None and pairing.expires_at > timezone.now() and not pairing.link_id
    if request.method == "POST":
        if waiting:
            return redirect("pair")  # a second tap: keep the code already shown
        holder: dict = {}
        _new_pairing(holder)
        response = redirect("pair")
        response.set_cookie(PAIRING_COOKIE, holder["token"], max_age=PAIRING_MINUTES * 60,
                            path="/pair/", httponly=True, samesite="Strict",
                            secure=request.is_secure())  # fmt: skip
        return response
    template = "pairing/pair.html#code" if request.htmx else "pairing/pair.html"
    # The device belongs to no office yet, so no clock time would be in the right zone: the
    # code's life is given in minutes (the page checks every few seconds, so it counts down).
    minutes_left = (
        math.ceil((pairing.expires_at - timezone.now()).total_seconds() / 60) if waiting else 0
    )
    return render(
        request, template, {"pairing": pairing if waiting else None, "minutes_left": minutes_left}
    )


class ApproveForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code shown on the device"), max_length=12)
    label = forms.CharField(
        label=gettext_lazy("Where it is"), max_length=80,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Lobby left")}),
    )  # fmt: skip
    capability = forms.ChoiceField(
        label=gettext_lazy("It is a"), choices=KioskLink.Capability.choices
    )

    def clean_code(self) -> str:
        return "".join(ch for ch in self.cleaned_data["code"].upper() if ch.isalnum())


@login_required
@require_http_methods(["GET", "POST"])
def devices(request: HttpRequest, slug: str) -> HttpResponse:
    """The office's devices with their last-seen time; approve a pairing code."""
    office = office_for_admin(request, slug)
    form = ApproveForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            pairing = DevicePairing.objects.filter(
                code=data["code"], link__isnull=True, expires_at__gt=timezone.now()
            ).first()
            if pairing is None:
                form.add_error("code", _("No device is showing that code (codes last 10 "
                                         "minutes): check the screen and try again."))  # fmt: skip
            else:
                try:
                    with transaction.atomic():
                        link = KioskLink.objects.create(
                            office=office, label=data["label"], capability=data["capability"],
                            token_hash=pairing.token_hash, created_by=request.user,
                        )  # fmt: skip
                        taken = DevicePairing.objects.filter(
                            pk=pairing.pk, link__isnull=True
                        ).update(link=link)
                        if not taken:
                            raise IntegrityError
                except IntegrityError:
                    form.add_error("code", _("That device was just paired by someone else."))
                else:
                    messages.success(request, _("Paired: the device opens within a few seconds."))
                    return redirect("desk:devices", slug=office.slug)
        status = 422
    return render(
        request, "pairing/devices.html",
        {"office": office, "form": form, "links": office.kiosk_links.order_by(
            "revoked_at", "capability", "label")},
        status=status,
    )  # fmt: skip


@login_required
@require_POST
def device_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office = office_for_admin(request, slug)
    link = get_object_or_404(KioskLink, pk=pk, office=office)
    if KioskLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ):
        messages.success(request, _("Revoked: %(label)s is locked at its next request.")
                         % {"label": link.label})  # fmt: skip
    return redirect("desk:devices", slug=office.slug)
