"""The visitor's own status page, opened from the kiosk's QR code on their phone.

The link's token is 256 random bits and works only on the office day of the visit; any other
token gets the same plain 404, which says nothing about whether it ever existed.
"""

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.decorators import ratelimit

from frontdesk.ratelimits import rate
from visitors import hires, remote, selectors, services
from visitors.offices.models import Language
from visitors.visits.lifecycle import Outcome, Status, TransitionNotAllowed
from visitors.visits.models import Visit


def _visit_for_token(token: str) -> Visit:
    if len(token) > 64:
        raise Http404
    visit = Visit.objects.select_related("office", "visitor").filter(status_token=token).first()
    if visit is None or visit.service_date != visit.office.local_date():
        raise Http404
    timezone.activate(visit.office.zone)
    return visit


def _language(request: HttpRequest, visit: Visit) -> str:
    chosen = request.GET.get("lang") or request.POST.get("lang")
    return chosen if chosen in Language.values else visit.visitor.preferred_language


def _render(request, visit, *, message="", status=200):
    lang = _language(request, visit)
    position = selectors.queue_position(visit) if visit.status == Status.WAITING else None
    # The best place this page has shown: a higher number now gets a word of why (never who).
    seen = request.GET.get("best", "")
    best = min(int(seen), position) if seen.isdecimal() and position else position
    with translation.override(lang):
        context = {
            "visit": visit,
            "office": visit.office,
            "lang": lang,
            "position": position,
            "best": best,
            "moved_back": bool(position and best and position > best),
            "office_messages": [
                m.text_for(lang) for m in selectors.office_messages_live(office_id=visit.office_id)
            ]
            if visit.status in (Status.WAITING, Status.CALLED)
            else [],
            "estimate": selectors.wait_estimate(visit),
            "message": message,
            "can_leave": visit.status in (Status.WAITING, Status.CALLED),
            "rating_choices": [(n, _("%(n)s of 5") % {"n": n}) for n in range(1, 6)],
            "other_lang": "es" if lang == "en" else "en",
            # Joined from a phone: on the way until they say "I'm here" with the lobby code.
            "on_the_way": visit.on_the_way and visit.status in (Status.WAITING, Status.CALLED),
            "grace_until": (
                visit.called_at + dt.timedelta(minutes=visit.office.remote_grace_minutes)
                if visit.on_the_way and visit.called_at
                else None
            ),
            "released": visit.released_at is not None,
            # Just joined from a phone, the number proved: greeted by name (a returning visitor
            # "welcome back"); the page is theirs alone, opened with its 256-bit token.
            "joined": request.GET.get("joined") == "1" and not request.htmx,
            "welcome_back": request.GET.get("joined") == "1"
            and visit.visitor.first_seen_at < visit.checked_in_at,
            "join_url": reverse("public:office", args=[visit.office.slug]) + f"?lang={lang}",
            # A finished "Got hired!" visit: congratulations, and what the office offers next.
            "hired": visit.status == Status.DONE and visit.outcome == Outcome.HIRED,
            "hire_offer": hires.offer_for(visit.office, lang),
            "hire_offer_lang": "en" if hires.offer_is_english_only(visit.office, lang) else lang,
        }
        template = "status/status.html#status-panel" if request.htmx else "status/status.html"
        response = render(request, template, context, status=status)
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
@ratelimit(key="ip", rate=rate("RATELIMIT_STATUS"), block=True)
def status_page(request: HttpRequest, token: str) -> HttpResponse:
    return _render(request, _visit_for_token(token))


@require_POST
@ratelimit(key="ip", rate=rate("RATELIMIT_STATUS_POST"), block=True)
def status_leave(request: HttpRequest, token: str) -> HttpResponse:
    """The visitor had to leave: take them out of the line."""
    visit = _visit_for_token(token)
    message = ""
    with translation.override(_language(request, visit)):
        try:
            services.visit_mark_left(visit=visit, by=None, what="visitor left (status page)")
            message = _("You have left the line. We hope to see you soon.")
        except TransitionNotAllowed:
            visit.refresh_from_db()
            message = _("Your visit has already moved on, so nothing was changed.")
    if not request.htmx:
        url = reverse("status:page", args=[token])
        return HttpResponseRedirect(f"{url}?lang={_language(request, visit)}")
    return _render(request, visit, message=message)


@require_POST
@ratelimit(key="ip", rate=rate("RATELIMIT_STATUS_POST"), block=True)
def status_rate(request: HttpRequest, token: str) -> HttpResponse:
    """The visitor's own rating of a finished visit, 1 to 5, once."""
    visit = _visit_for_token(token)
    raw = request.POST.get("rating", "")
    with translation.override(_language(request, visit)):
        if not (raw.isdecimal() and 1 <= int(raw) <= 5):
            return _render(request, visit, message=_("Choose a number from 1 to 5."), status=422)
        rated = Visit.objects.filter(pk=visit.pk, status=Status.DONE, rating__isnull=True).update(
            rating=int(raw)
        )
        visit.refresh_from_db()
        message = _("Thank you!") if rated else ""
    if not request.htmx:
        url = reverse("status:page", args=[token])
        return HttpResponseRedirect(f"{url}?lang={_language(request, visit)}")
    return _render(request, visit, message=message)


def _per_ticket(group, request) -> str:
    """A status page's own bucket: guesses at the lobby code count per ticket, whatever the
    address they come from."""
    return request.path


@require_POST
@ratelimit(key="ip", rate=rate("RATELIMIT_STATUS_POST"), block=True)
@ratelimit(key=_per_ticket, rate=rate("RATELIMIT_LOBBY_CODE"), block=True)
def status_here(request: HttpRequest, token: str) -> HttpResponse:
    """ "I'm here": someone who joined from their phone types the lobby display's code."""
    visit = _visit_for_token(token)
    with translation.override(_language(request, visit)):
        if not visit.on_the_way:
            message = _("You are already marked as here.")
        elif not remote.lobby_code_ok(visit.office, request.POST.get("code", "")):
            return _render(
                request, visit, status=422,
                message=_("That is not the code on the lobby screen. Look at the screen by the "
                          "front desk and try again, or ask at the desk."),
            )  # fmt: skip
        elif remote.visit_arrive(visit=visit, how=remote.ArrivedBy.LOBBY_CODE):
            message = _("Thank you, you are marked as here. Your place is kept.")
        else:
            visit.refresh_from_db()
            message = _("Your visit has already moved on, so nothing was changed.")
    if not request.htmx:
        url = reverse("status:page", args=[token])
        return HttpResponseRedirect(f"{url}?lang={_language(request, visit)}")
    return _render(request, visit, message=message)
