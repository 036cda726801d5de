"""The lobby kiosk: a visitor checks in over a few htmx screens, in English or Spanish.

Two requests make a check-in: "who are you" (``identify``: the language, the name, and the
second factor or "first visit") and "what for" (``finish``: reasons and contact, which checks
them in). The welcome screen carries the name screen in both languages, and the name and
reasons screens are each two pages the tablet turns itself (static/js/kiosk.js): only the
answers that need the server go to it. Without JavaScript the same screens post one at a
time. The single steps of earlier versions (``language``, ``name``, ``verify``, ``reasons``,
``contact``) are still answered: a tablet that loaded its page before an upgrade finishes its
check-in, and a wrong or doubtful second-factor answer is asked again on its own screen.

What the visitor has told the kiosk so far stays on the server, in a KioskFlow row bound to
the tablet's kiosk link; between screens the tablet holds only the flow's random key (the
``state`` field), never a session or a cookie. The key is as long for everyone and decodes to
nothing, so the tablet cannot tell whether a name is known, and when the kiosk resets nothing
of the last visitor remains on it. Second-factor attempts are counted on the flow, in the
database: an old form sent again does not reset them, and a stopped Redis does not lose them.
"""

import datetime as dt
from dataclasses import replace
from functools import lru_cache, wraps

import segno
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.dates import WEEKDAYS as WEEKDAY_NAMES
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.decorators import ratelimit

from frontdesk import ratelimits
from frontdesk.cache import prefetch
from frontdesk.ratelimits import rate
from visitors import conversations, remote, selectors, services
from visitors.forms import (
    CallbackForm,
    ContactForm,
    KioskArrivedForm,
    LanguageForm,
    NameForm,
    ReasonsForm,
    SecondFactorForm,
)
from visitors.identify import Answer, identify
from visitors.offices.models import KioskLink, Language, Office, active_reasons
from visitors.people.models import PriorityCategory, Visitor
from visitors.visits.models import KioskFlow

KIOSK_COOKIE = "frontdesk_kiosk"
MAX_ATTEMPTS = 3
FLAG_WRONG_ANSWERS = "Three wrong second-factor answers at the kiosk: may be a returning visitor."
FLAG_SEVERAL = "Several records matched at the kiosk: check for duplicates to merge."


def kiosk_view(view):
    """Open the view only to a tablet holding an active kiosk link for this office."""

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args, **kwargs):
        # The tablet's link and its office in one query; the office alone only for a refusal.
        link = KioskLink.find_active(slug=slug, token=request.COOKIES.get(KIOSK_COOKIE, ""))
        office = link.office if link is not None else get_object_or_404(Office, slug=slug)
        if link is None:
            # Posts without the tablet's cookie count per address in a bucket of their own:
            # they can never use up the paired tablet's (counted per link, in kiosk_step).
            ratelimits.count(
                request, group="kiosk:unpaired", key="ip", name="RATELIMIT_KIOSK", method="POST"
            )
            response = render(request, "kiosk/locked.html", {"office": office}, status=403)
        else:
            link.seen(timezone.now())
            timezone.activate(office.zone)
            response = view(request, office, link, *args, **kwargs)
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


def _device(group, request) -> str:
    """A paired tablet's rate-limit bucket: its kiosk link's token, which kiosk_view checked."""
    return request.COOKIES[KIOSK_COOKIE]


@require_GET
@kiosk_view
def kiosk_home(request: HttpRequest, office: Office, link: KioskLink) -> HttpResponse:
    return _welcome(request, office)


def _closing_soon(office: Office):
    """The closing time when it is less than an hour away (the welcome screen says so)."""
    now = timezone.now()
    closes = office.closes_at(now)
    return closes if closes is not None and closes - now <= dt.timedelta(hours=1) else None


def _step_callback(request, office: Office) -> HttpResponse:
    """Outside opening hours: a call-back request for the office's inbox (never a check-in)."""
    if office.is_open_at(timezone.now()) or not office.kiosk_after_hours_callback:
        return _welcome(request, office)
    form = CallbackForm(request.POST)
    if not form.is_valid():
        return _closed_screen(request, office, form=form, status=422)
    conversations.kiosk_callback_request(office=office, **form.cleaned_data)
    return _closed_screen(request, office, asked=True)


def _step_arrived(request, office: Office) -> HttpResponse:
    """ "I joined from my phone": the ticket from their text and the phone's last 4 digits."""
    if not office.remote_join:
        return _welcome(request, office)
    if request.POST.get("show"):
        return _screen(request, office, "arrived", {"arrived_form": KioskArrivedForm()})
    form = KioskArrivedForm(request.POST)
    if not form.is_valid():
        return _screen(request, office, "arrived", {"arrived_form": form}, status=422)
    visit = remote.kiosk_find(
        office, ticket=form.cleaned_data["ticket"], phone_last4=form.cleaned_data["phone_last4"]
    )
    if visit is None or not remote.visit_arrive(visit=visit, how=remote.ArrivedBy.KIOSK):
        # The same words whichever part did not fit: nothing is revealed of other tickets.
        form.add_error(
            None,
            "We could not find that ticket on its way here. Check the text we sent you, or go "
            "to the desk. · No encontramos ese turno. Revise el mensaje que le enviamos, o vaya "
            "al mostrador.",
        )
        return _screen(request, office, "arrived", {"arrived_form": form}, status=422)
    return _screen(request, office, "arrived", {"arrived_visit": visit})


def _closed_screen(request, office: Office, *, form=None, asked=False, status=200):
    """Outside the office's hours the kiosk says so, in both languages, with the hours, when it
    opens next and the office's phone: no check-in and no quoted wait."""
    with translation.override("en"):
        days_en = [str(WEEKDAY_NAMES[n]) for n in range(7)]
    with translation.override("es"):
        days_es = [str(WEEKDAY_NAMES[n]) for n in range(7)]
    context = {
        "callback_form": (form or CallbackForm()) if office.kiosk_after_hours_callback else None,
        "asked": asked,
        "next_opening": office.next_opening(timezone.now()),
        "hours": [
            {"en": days_en[n], "es": days_es[n], "spans": spans}
            for n, spans in office.weekly_hours()
        ],
    }
    return _screen(request, office, "closed", context, status=status)


@require_POST
@kiosk_view
# Counted per paired device, once kiosk_view has let it in: no one else can use up its bucket.
@ratelimit(group="kiosk:device", key=_device, rate=rate("RATELIMIT_KIOSK"), method="POST")
def kiosk_step(request: HttpRequest, office: Office, link: KioskLink) -> HttpResponse:
    step = request.POST.get("step", "")
    if step == "language":
        return _step_language(request, office, link)
    if step == "identify":
        return _step_identify(request, office, link)
    if step == "callback":
        return _step_callback(request, office)
    if step == "arrived":
        return _step_arrived(request, office)
    # Each step, and what the flow must already hold for it.
    handler, needs = {
        "name": (_step_name, "lang"),
        "verify": (_step_verify, "first"),
        "reasons": (_step_reasons, "first"),
        "contact": (_step_contact, "reasons"),
        "finish": (_step_finish, "first"),
    }.get(step, (None, ""))
    flow = KioskFlow.find(link=link, key=request.POST.get("state", ""))
    if handler is None or flow is None or needs not in flow.data:
        # A lapsed or made-up key, another tablet's, or a step out of order: start over, quietly.
        return _welcome(request, office)
    with translation.override(flow.data["lang"]):
        return handler(request, office, flow)


# --- Steps ---------------------------------------------------------------------------------------


def _step_language(request, office, link):
    if not office.is_open_at(timezone.now()):
        return _closed_screen(request, office)
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return _welcome(request, office)
    flow = KioskFlow.start(link=link, data={"lang": form.cleaned_data["language"]})
    with translation.override(flow.data["lang"]):
        return _identify_screen(request, office, flow, flow.data["lang"])


def _step_identify(request, office, link):
    """The name with the second factor (or "first visit"), in one request.

    From the welcome screen (the tablet turned the pages itself) there is no flow yet: it starts
    here, with the language the visitor tapped. Without JavaScript the language step made it.
    """
    key = request.POST.get("state", "")
    flow = KioskFlow.find(link=link, key=key) if key else None
    if flow is not None and "lang" not in flow.data:
        flow = None
    if flow is None:
        if key or not office.is_open_at(timezone.now()):
            # A lapsed key, another tablet's, or an office that has closed meanwhile.
            return _welcome(request, office)
        language = LanguageForm({"language": request.POST.get("lang", "")})
        if not language.is_valid():
            return _welcome(request, office)
        lang = language.cleaned_data["language"]
    else:
        lang = flow.data["lang"]
    first_visit = request.POST.get("action") == "first_visit"
    with translation.override(lang):
        form = NameForm(request.POST)
        factor = SecondFactorForm(
            None if first_visit else request.POST, factor=office.second_factor
        )
        names_ok = form.is_valid()
        if not names_ok or not (first_visit or factor.is_valid()):
            return _identify_screen(request, office, flow, lang, form, factor, status=422)
        names = {
            "first": form.cleaned_data["first_name"],
            "last": form.cleaned_data["last_name"],
            "preferred": form.cleaned_data["preferred_name"],
        }
        if flow is None:
            # Written once this request knows what it found (the first save_data), unless the
            # next screen needs it at once.
            flow = KioskFlow.start(link=link, data={"lang": lang, **names}, save=first_visit)
        else:
            # Names given again drop what was found for the last ones; the attempts stay.
            for found in ("visitor_id", "reasons", "other", "ask", "answer"):
                flow.data.pop(found, None)
            flow.data.update(names)
            if first_visit:
                flow.save_data()
        if first_visit:
            return _reasons_screen(request, office, flow, returning=None)
        return _find(request, office, flow, factor)


def _welcome(request, office):
    if not office.is_open_at(timezone.now()):
        return _closed_screen(request, office)
    context = {"closing_soon": _closing_soon(office), "identify_screens": True}
    return _screen(request, office, "welcome", context)


def _step_name(request, office, flow):
    form = NameForm(request.POST)
    if not form.is_valid():
        return _identify_screen(request, office, flow, flow.data["lang"], form, status=422)
    # A name given again (an old form sent twice) drops what was found for the last one. The
    # attempts stay with the flow: a new name buys no new guesses.
    for found in ("visitor_id", "reasons", "other", "ask", "answer"):
        flow.data.pop(found, None)
    flow.data.update(
        first=form.cleaned_data["first_name"],
        last=form.cleaned_data["last_name"],
        preferred=form.cleaned_data["preferred_name"],
    )
    flow.save_data()
    return _verify_screen(request, office, flow, SecondFactorForm(factor=office.second_factor))


def _step_verify(request, office, flow):
    state = flow.data
    if request.POST.get("action") == "first_visit":
        state.pop("visitor_id", None)
        flow.save_data()
        return _reasons_screen(request, office, flow, returning=None)
    factor = state.get("ask") or office.second_factor
    form = SecondFactorForm(request.POST, factor=factor)
    if not form.is_valid():
        return _verify_screen(request, office, flow, form, status=422)
    return _find(request, office, flow, form)


def _find(request, office, flow, form):
    """Look the visitor up by the flow's name and a valid second-factor answer (one attempt)."""
    state = flow.data
    if not flow.claim_attempt(limit=MAX_ATTEMPTS):
        # The tries are used up (an old form sent again): on as new, whatever the answer.
        return _reasons_screen(request, office, flow, returning=None)
    answer = form.answer()
    if state.get("ask"):
        # The other factor, asked because several fitted the first: both must agree.
        answer = Answer.from_data(state.get("answer")).and_(answer)
    found = identify(first_name=state["first"], last_name=state["last"], answer=answer)
    tablet = request.COOKIES[KIOSK_COOKIE]
    if found.result == "confirmed" and _guessed_at(request, found.visitor, tablet):
        # Too many wrong answers lately against this record (over every tablet and flow) or at
        # this tablet: someone may be guessing. Answered exactly as a miss, so that a right
        # guess is not told apart either; after the flow's tries, on as new, the desk told.
        found = replace(found, result="none", visitor=None)
    if found.result == "none" and found.candidates:  # someone has the name; the answer fitted
        ratelimits.add(request, group="kiosk:misses", key=tablet, name="RATELIMIT_KIOSK_MISSES")
        for candidate in found.candidates:  # none of them: a miss on each
            ratelimits.add(request, group="kiosk:factor", key=str(candidate.visitor.pk),
                           name="RATELIMIT_KIOSK_FACTOR")  # fmt: skip
    if found.result == "confirmed":
        visitor = found.visitor
        active = selectors.visitor_active_visit(visitor=visitor, office=office)
        if active is not None:
            return _ticket_screen(request, office, active, already=True)
        state["visitor_id"] = visitor.pk
        state.pop("flag", None)
        flow.save_data()
        return _reasons_screen(request, office, flow, returning=visitor)
    if found.result == "several":
        # Never one of them guessed. The desk is told, whatever comes next, unless the other
        # factor singles one out: it is asked with the same words as at an office that always
        # asks it, so the screen says nothing of several records.
        state["flag"] = FLAG_SEVERAL
        if found.ask and flow.attempts < MAX_ATTEMPTS:
            state["ask"], state["answer"] = found.ask, answer.as_data()
            flow.save_data()
            return _verify_screen(request, office, flow, SecondFactorForm(factor=found.ask))
        flow.save_data()
        return _reasons_screen(request, office, flow, returning=None)
    if flow.attempts >= MAX_ATTEMPTS:
        if found.candidates and not state.get("flag"):
            state["flag"] = FLAG_WRONG_ANSWERS
        flow.save_data()
        return _reasons_screen(request, office, flow, returning=None)
    # The same words whether or not anyone by that name exists: nothing is revealed.
    form.add_error(
        None, _("We could not find you with that. Check it and try again, or continue as new.")
    )
    flow.save_data()
    return _verify_screen(request, office, flow, form, status=422)


def _guessed_at(request, visitor, tablet: str) -> bool:
    return ratelimits.used_up(
        request, group="kiosk:factor", key=str(visitor.pk), name="RATELIMIT_KIOSK_FACTOR"
    ) or ratelimits.used_up(
        request, group="kiosk:misses", key=tablet, name="RATELIMIT_KIOSK_MISSES"
    )


def _step_reasons(request, office, flow):
    form = ReasonsForm(request.POST, office=office, day=office.local_date())
    if not form.is_valid():
        return _reasons_screen(request, office, flow, form=form, status=422)
    flow.data["reasons"] = [r.pk for r in form.cleaned_data["reasons"]]
    flow.data["other"] = form.cleaned_data["other"]
    flow.save_data()
    visitor = None
    if flow.data.get("visitor_id"):
        visitor = Visitor.objects.filter(pk=flow.data["visitor_id"]).first()
    return _contact_screen(request, office, flow, ContactForm(initial=_contact_initial(visitor)))


def _step_contact(request, office, flow):
    prefetch(services.check_in_cache_keys(office.pk))  # what the check-in reads, in one trip
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _contact_screen(request, office, flow, form, status=422)
    return _check_in(request, office, flow, form.cleaned_data)


def _step_finish(request, office, flow):
    """Reasons and contact, in one request: check them in, or show what to fix."""
    prefetch(services.check_in_cache_keys(office.pk))  # what the check-in reads, in one trip
    reasons = ReasonsForm(request.POST, office=office, day=office.local_date())
    contact = ContactForm(request.POST)
    reasons_ok, contact_ok = reasons.is_valid(), contact.is_valid()
    if not (reasons_ok and contact_ok):
        returning = None
        if flow.data.get("visitor_id"):
            returning = Visitor.objects.filter(pk=flow.data["visitor_id"]).first()
        return _reasons_screen(
            request, office, flow, returning=returning, form=reasons, contact=contact,
            status=422,
        )  # fmt: skip
    flow.data["reasons"] = [r.pk for r in reasons.cleaned_data["reasons"]]
    flow.data["other"] = reasons.cleaned_data["other"]
    # Chosen and checked in this very request: the check-in need not read them again.
    return _check_in(request, office, flow, contact.cleaned_data, reasons.cleaned_data["reasons"])


def _check_in(request, office, flow, data, reasons=None):
    state = flow.data
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
        visit = services.kiosk_check_in(
            office=office, data=check_in, token=flow.checkin_token, reasons=reasons
        )
    except services.AlreadyWaiting as already:
        return _ticket_screen(request, office, already.visit, already=True)
    except services.FormUsedElsewhere:  # a flow is made per office: only if tampered with
        return _welcome(request, office)
    return _ticket_screen(request, office, visit, already=False)


# --- Screens -------------------------------------------------------------------------------------


def _identify_screen(request, office, flow, lang, form=None, factor=None, status=200):
    """The name, then "have you been here before?": two pages of one form."""
    context = {
        "flow": flow,
        "lang": lang,
        "form": form or NameForm(),
        "factor_form": factor or SecondFactorForm(factor=office.second_factor),
    }
    return _screen(request, office, "identify", context, status=status)


def _verify_screen(request, office, flow, form, status=200):
    return _screen(request, office, "verify", {"flow": flow, "form": form}, status=status)


def _reasons_screen(request, office, flow, *, returning=None, form=None, contact=None, status=200):
    """What brings them in, then how to reach them: two pages of one form (``finish``)."""
    day = office.local_date()
    if form is None:
        form = ReasonsForm(office=office, day=day)
    # What they came for last time is marked, never ticked for them: a visitor in a hurry
    # would pass through with a reason they did not choose today.
    usual = set()
    if returning is not None:
        usual = set(selectors.visitor_usual_reason_ids(visitor=returning, office=office))
    lang = flow.data["lang"]
    selected = {str(value) for value in (form["reasons"].value() or [])}
    # The office's active reasons in one read: those closed today are shown, not offered.
    open_today, closed_today = [], []
    for reason in active_reasons(office):
        (closed_today if reason.closed_on == day else open_today).append(reason)
    choices = [
        {"id": r.pk, "label": r.label_for(lang), "checked": str(r.pk) in selected,
         "last_time": r.pk in usual}
        for r in open_today
    ]  # fmt: skip
    # A note with no Spanish version is shown in English, marked as English for screen readers.
    closed = [
        {
            "label": r.label_for(lang),
            "note": r.closed_note_for(lang),
            "note_lang": "en" if r.closed_note_is_english_only(lang) else "",
        }
        for r in closed_today
    ]
    context = {
        "flow": flow,
        "form": form,
        "returning_name": returning.display_name if returning else "",
        "reason_choices": choices,
        "closed_reasons": closed,
        "contact_page": _contact_page(contact, lang, office.priority_notice(lang), returning),
    }
    return _screen(request, office, "finish", context, status=status)


def _contact_page(form, lang: str, notice: str, returning: Visitor | None) -> str:
    """The finish screen's second page; a blank one made once per language, notice and
    starting priority (the same for every visitor who gets it)."""
    if form is None:
        initial = _contact_initial(returning)["priority_category"]
        return _blank_contact_page(lang, notice, initial)
    return render_to_string("kiosk/_contact_page.html", {"form": form, "priority_notice": notice})


@lru_cache(maxsize=64)
def _blank_contact_page(lang: str, notice: str, priority: str) -> str:
    """A blank contact page (lru: keyed by all it depends on; templates and catalogues change
    only with a restart)."""
    form = ContactForm(initial={"ahead_count": 3, "priority_category": priority})
    with translation.override(lang):
        context = {"form": form, "priority_notice": notice}
        return mark_safe(render_to_string("kiosk/_contact_page.html", context))  # noqa: S308 — our template


@lru_cache(maxsize=1024)
def _identify_template(slug: str, factor: str, lang: str) -> str:
    """A blank name screen for the welcome screen to carry (kiosk.js shows it when its language
    is tapped): the same for every visitor at an office, so made once per office, second factor
    and language. No CSRF input in it: the tablet's htmx sends the page's token in a header."""
    office = Office(slug=slug, second_factor=factor)
    context = {
        "office": office,
        "screen": "identify",
        "lang": lang,
        "form": NameForm(),
        "factor_form": SecondFactorForm(factor=factor),
        "state_token": "",
        "without_csrf_input": True,
    }
    with translation.override(lang):
        return mark_safe(render_to_string("kiosk/kiosk.html#screen", context))  # noqa: S308 — our template


def _contact_initial(visitor: Visitor | None) -> dict:
    """The contact form as it starts: a returning visitor's priority already chosen."""
    initial = {"ahead_count": 3, "priority_category": PriorityCategory.NONE}
    if visitor is not None:
        initial["priority_category"] = visitor.priority_category
    return initial


def _contact_screen(request, office, flow, form, status=200):
    context = {
        "flow": flow,
        "form": form,
        "priority_notice": office.priority_notice(flow.data["lang"]),
        "returning": bool(flow.data.get("visitor_id")),
    }
    return _screen(request, office, "contact", context, status=status)


def _ticket_screen(request, office, visit, *, already):
    if already:
        # Someone already in line, found by name and one short answer (or checked in at the
        # desk meanwhile). The person at the tablet may not be them: nothing of the visit is
        # shown — not its ticket, place or wait, and above all not the status page's link, which
        # can take them out of the line. The desk, or the text they were sent, has it.
        return _screen(request, office, "ticket", {"already": True})
    status_url = request.build_absolute_uri(reverse("status:page", args=[visit.status_token]))
    qr_svg = ""
    if not request.htmx:
        # The tablet draws the QR itself (kiosk.js, ~2.5 ms of the server's CPU less per
        # check-in); a page posted without JavaScript gets it drawn here. A fixed mask: segno
        # need not try all eight (5 ms → 1.5 ms); any mask scans the same.
        qr = segno.make(status_url, error="m", mask=0)
        qr_svg = mark_safe(qr.svg_inline(scale=5, border=2, title="QR"))  # noqa: S308 — segno's own markup
    # The check-in has just worked it out to quote it (services.visit_check_in).
    estimate = getattr(visit, "wait_estimate", None) or selectors.wait_estimate(visit)
    context = {
        "visit": visit,
        "already": already,
        # The estimate counts who is ahead already: no second pass over the line.
        "position": estimate.ahead + 1 if estimate else selectors.queue_position(visit),
        "estimate": estimate,
        "qr_svg": qr_svg,
        "status_url": status_url,
        "texting": visit.notify_when_called,
    }
    return _screen(request, office, "ticket", context)


def _screen(request, office, screen, context, status=200):
    flow = context.get("flow")
    context |= {
        "office": office,
        "screen": screen,
        "state_token": flow.key if flow else "",
        "lang": flow.data["lang"] if flow else context.get("lang") or translation.get_language(),
        "languages": Language.choices,
    }
    if context.get("identify_screens"):
        # The name screen in each language, for the tablet to show when a language is tapped.
        context["identify_templates"] = [
            (code, _identify_template(office.slug, office.second_factor, code))
            for code, _label in Language.choices
        ]
    template = "kiosk/kiosk.html#screen" if request.htmx else "kiosk/kiosk.html"
    return render(request, template, context, status=status)
