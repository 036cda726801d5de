"""The lobby kiosk: a visitor checks in over a few htmx screens, in English or Spanish.

What the visitor has told the kiosk so far travels between screens in a signed (tamper-proof)
``state`` field, never in a session or a cookie, so that when the kiosk resets nothing of the
last visitor remains on the tablet. Second-factor attempts are counted on the server.
"""

import secrets
from functools import wraps

import segno
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.decorators import ratelimit

from frontdesk.ratelimits import rate
from visitors import selectors, services
from visitors.forms import ContactForm, LanguageForm, NameForm, ReasonsForm, SecondFactorForm
from visitors.offices.models import KioskLink, Language, Office, ReasonForVisit
from visitors.people.models import PriorityCategory, Visitor
from visitors.selectors import visitor_match

KIOSK_COOKIE = "frontdesk_kiosk"
STATE_SALT = "frontdesk.kiosk.state"
STATE_MAX_AGE = 20 * 60
MAX_ATTEMPTS = 3
FLAG_WRONG_ANSWERS = "Three wrong second-factor answers at the kiosk: may be a returning visitor."
FLAG_SEVERAL = "Several records matched at the kiosk: check for duplicates to merge."


def kiosk_view(view):
    """Open the view only to a tablet holding an active kiosk link for this office."""

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args, **kwargs):
        office = get_object_or_404(Office, slug=slug)
        link = KioskLink.find_active(office=office, token=request.COOKIES.get(KIOSK_COOKIE, ""))
        if link is None:
            response = render(request, "kiosk/locked.html", {"office": office}, status=403)
        else:
            now = timezone.now()
            if link.last_seen_at is None or (now - link.last_seen_at).total_seconds() > 60:
                KioskLink.objects.filter(pk=link.pk).update(last_seen_at=now)
            timezone.activate(office.zone)
            response = view(request, office, *args, **kwargs)
        add_never_cache_headers(response)  # no-store: nothing of a visitor in the browser cache
        return response

    return wrapper


@require_GET
def kiosk_open(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """Bind this tablet to the office's kiosk with the link an office admin made."""
    return device_open(
        request, slug=slug, token=token, capability=KioskLink.Capability.CHECK_IN,
        cookie=KIOSK_COOKIE, home="kiosk:home", prefix="kiosk",
    )  # fmt: skip


def device_open(request, *, slug, token, capability, cookie, home, prefix) -> HttpResponse:
    """Give a device opened with a valid link its token in a cookie scoped to its own pages."""
    office = get_object_or_404(Office, slug=slug)
    if KioskLink.find_active(office=office, token=token, capability=capability) is None:
        return render(request, "kiosk/locked.html", {"office": office}, status=404)
    response = HttpResponseRedirect(reverse(home, args=[office.slug]))
    set_device_cookie(response, office=office, token=token, cookie=cookie, prefix=prefix)
    return response


def set_device_cookie(response, *, office: Office, token: str, cookie: str, prefix: str) -> None:
    """The device's token, in a cookie scoped to its own pages and kept about a year."""
    response.set_cookie(
        cookie,
        token,
        max_age=400 * 24 * 3600,
        path=f"/{prefix}/{office.slug}/",
        secure=not settings.DEBUG,
        httponly=True,
        samesite="Strict",
    )


@require_GET
@kiosk_view
def kiosk_home(request: HttpRequest, office: Office) -> HttpResponse:
    return _screen(request, office, "welcome", {"state": {}})


@require_POST
@ratelimit(key="ip", rate=rate("RATELIMIT_KIOSK"), method="POST", block=True)
@kiosk_view
def kiosk_step(request: HttpRequest, office: Office) -> HttpResponse:
    step = request.POST.get("step", "")
    if step == "language":
        return _step_language(request, office)
    state = _load_state(request.POST.get("state", ""))
    if state is None:
        # A stale or tampered form (or one left from the last visitor): start over, quietly.
        return _screen(request, office, "welcome", {"state": {}})
    handler = {
        "name": _step_name,
        "verify": _step_verify,
        "reasons": _step_reasons,
        "contact": _step_contact,
    }.get(step)
    if handler is None:
        return _screen(request, office, "welcome", {"state": {}})
    with translation.override(state["lang"]):
        return handler(request, office, state)


# --- Steps ---------------------------------------------------------------------------------------


def _step_language(request, office):
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return _screen(request, office, "welcome", {"state": {}})
    state = {"lang": form.cleaned_data["language"], "flow": secrets.token_urlsafe(18)}
    with translation.override(state["lang"]):
        return _screen(request, office, "name", {"state": state, "form": NameForm()})


def _step_name(request, office, state):
    form = NameForm(request.POST)
    if not form.is_valid():
        return _screen(request, office, "name", {"state": state, "form": form}, status=422)
    state.update(
        first=form.cleaned_data["first_name"],
        last=form.cleaned_data["last_name"],
        preferred=form.cleaned_data["preferred_name"],
    )
    return _verify_screen(request, office, state, SecondFactorForm(factor=office.second_factor))


def _step_verify(request, office, state):
    if request.POST.get("action") == "first_visit":
        return _reasons_screen(request, office, state, returning=None)
    form = SecondFactorForm(request.POST, factor=office.second_factor)
    if not form.is_valid():
        return _verify_screen(request, office, state, form, status=422)
    answer = form.cleaned_data
    candidates = visitor_match(
        first_name=state["first"],
        last_name=state["last"],
        phone_last4=answer.get("phone_last4") or "",
        birth_month_day=(answer["birth_month"], answer["birth_day"])
        if answer.get("birth_month") and answer.get("birth_day")
        else None,
    )
    confirmed = [c.visitor for c in candidates if c.confirmed]
    if len(confirmed) == 1:
        visitor = confirmed[0]
        active = selectors.visitor_active_visit(visitor=visitor, office=office)
        if active is not None:
            return _ticket_screen(request, office, active, state, already=True)
        state["visitor_id"] = visitor.pk
        return _reasons_screen(request, office, state, returning=visitor)
    if len(confirmed) > 1:
        state["flag"] = FLAG_SEVERAL
        return _reasons_screen(request, office, state, returning=None)
    attempts = _count_attempt(state["flow"])
    if attempts >= MAX_ATTEMPTS:
        if candidates:
            state["flag"] = FLAG_WRONG_ANSWERS
        return _reasons_screen(request, office, state, returning=None)
    # The same words whether or not anyone by that name exists: nothing is revealed.
    form.add_error(
        None, _("We could not find you with that. Check it and try again, or continue as new.")
    )
    return _verify_screen(request, office, state, form, status=422)


def _step_reasons(request, office, state):
    form = ReasonsForm(request.POST, office=office, day=office.local_date())
    if not form.is_valid():
        return _reasons_screen(request, office, state, form=form, status=422)
    state["reasons"] = [r.pk for r in form.cleaned_data["reasons"]]
    state["other"] = form.cleaned_data["other"]
    return _contact_screen(request, office, state, ContactForm(initial=_contact_initial(state)))


def _step_contact(request, office, state):
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _contact_screen(request, office, state, form, status=422)
    data = form.cleaned_data
    check_in = services.KioskCheckIn(
        first_name=state["first"],
        last_name=state["last"],
        preferred_name=state.get("preferred", ""),
        language=state["lang"],
        visitor_id=state.get("visitor_id"),
        identity_flag=state.get("flag", ""),
        reason_ids=state.get("reasons", []),
        reason_other=state.get("other", ""),
        phone=data["phone"],
        email=data["email"],
        notify_when_called=data["notify_when_called"],
        notify_when_ahead=data["ahead_count"] if data["notify_when_ahead"] else None,
        consent_reminders=data["consent_reminders"],
        priority_category=data["priority_category"],
    )
    try:
        visit = services.kiosk_check_in(office=office, data=check_in, token=state["flow"])
    except services.AlreadyWaiting as already:
        return _ticket_screen(request, office, already.visit, state, already=True)
    return _ticket_screen(request, office, visit, state, already=False)


# --- Screens -------------------------------------------------------------------------------------


def _verify_screen(request, office, state, form, status=200):
    return _screen(request, office, "verify", {"state": state, "form": form}, status=status)


def _reasons_screen(request, office, state, *, returning=None, form=None, status=200):
    day = office.local_date()
    if form is None:
        initial = {}
        if returning is not None:
            initial["reasons"] = selectors.visitor_usual_reason_ids(
                visitor=returning, office=office
            )
        form = ReasonsForm(initial=initial, office=office, day=day)
    lang = state["lang"]
    selected = {str(value) for value in (form["reasons"].value() or [])}
    choices = [
        {"id": r.pk, "label": r.label_for(lang), "checked": str(r.pk) in selected}
        for r in form.fields["reasons"].queryset
    ]
    closed = [
        {"label": r.label_for(lang), "note": r.closed_note}
        for r in ReasonForVisit.objects.filter(office=office, is_active=True, closed_on=day)
    ]
    context = {
        "state": state,
        "form": form,
        "returning_name": returning.display_name if returning else "",
        "reason_choices": choices,
        "closed_reasons": closed,
    }
    return _screen(request, office, "reasons", context, status=status)


def _contact_initial(state) -> dict:
    initial = {"ahead_count": 3, "priority_category": PriorityCategory.NONE}
    if state.get("visitor_id"):
        visitor = Visitor.objects.filter(pk=state["visitor_id"]).first()
        if visitor is not None:
            initial["priority_category"] = visitor.priority_category
    return initial


def _contact_screen(request, office, state, form, status=200):
    context = {
        "state": state,
        "form": form,
        "priority_notice": office.priority_notice(state["lang"]),
        "returning": bool(state.get("visitor_id")),
    }
    return _screen(request, office, "contact", context, status=status)


def _ticket_screen(request, office, visit, state, *, already):
    status_url = request.build_absolute_uri(reverse("status:page", args=[visit.status_token]))
    qr = segno.make(status_url, error="m")
    # The check-in has just worked it out to quote it (services.visit_quote_wait).
    estimate = getattr(visit, "wait_estimate", None) or selectors.wait_estimate(visit)
    context = {
        "state": {},
        "visit": visit,
        "already": already,
        # The estimate counts who is ahead already: no second pass over the line.
        "position": estimate.ahead + 1 if estimate else selectors.queue_position(visit),
        "estimate": estimate,
        "qr_svg": mark_safe(qr.svg_inline(scale=5, border=2, title="QR")),  # noqa: S308 — segno's own markup
        "status_url": status_url,
        "texting": visit.notify_when_called,
    }
    return _screen(request, office, "ticket", context)


def _screen(request, office, screen, context, status=200):
    state = context.get("state") or {}
    context |= {
        "office": office,
        "screen": screen,
        "state_token": _dump_state(state) if state else "",
        "lang": state.get("lang", translation.get_language()),
        "languages": Language.choices,
    }
    template = "kiosk/kiosk.html#screen" if request.htmx else "kiosk/kiosk.html"
    return render(request, template, context, status=status)


def _dump_state(state: dict) -> str:
    return signing.dumps(state, salt=STATE_SALT, compress=True)


def _load_state(token: str) -> dict | None:
    if not token or len(token) > 8000:
        return None
    try:
        state = signing.loads(token, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(state, dict) or state.get("lang") not in Language.values:
        return None
    return state


def _count_attempt(flow: str) -> int:
    key = f"kiosk-attempts:{flow}"
    cache.add(key, 0, timeout=STATE_MAX_AGE)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=STATE_MAX_AGE)
        return 1
