"""The office's public page (/o/<office>/): anyone, on their phone, without signing in.

It says whether the office is open, how many people wait and the estimated wait (never who),
which reasons it serves today, and offers the two ways in the office chose: *Join the line
now* and *Book a time* (visitors.booking). Joining takes two steps: the form, then the code we
texted to the number; no place is taken without it. The form's data travels in the page
between the two steps; the proof is the verification row the code checks.
"""

import segno
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.dates import WEEKDAYS as WEEKDAY_NAMES
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.decorators import ratelimit

from frontdesk import ratelimits
from frontdesk.ratelimits import rate
from visitors import remote, services, verification
from visitors.forms import CodeForm, RemoteJoinForm
from visitors.offices.models import Language, Office
from visitors.people.models import VerificationPurpose


def _lang(request: HttpRequest) -> str:
    chosen = request.POST.get("lang") or request.GET.get("lang")
    if chosen in Language.values:
        return chosen
    return translation.get_language() if translation.get_language() in Language.values else "en"


def _page(request, template, context, *, lang, status=200):
    context |= {"lang": lang, "other_lang": "es" if lang == "en" else "en"}
    with translation.override(lang):
        response = render(request, template, context, status=status)
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    return response


def _office(slug: str) -> Office:
    office = get_object_or_404(Office, slug=slug)
    timezone.activate(office.zone)
    return office


def _hours(office: Office) -> list[dict]:
    return [
        {"day": str(WEEKDAY_NAMES[number]), "spans": spans}
        for number, spans in office.weekly_hours()
    ]


@require_GET
@ratelimit(key="ip", rate=rate("RATELIMIT_PUBLIC"), block=True)
def office_page(request: HttpRequest, slug: str) -> HttpResponse:
    office = _office(slug)
    lang = _lang(request)
    with translation.override(lang):
        context = {
            "office": office,
            "today": remote.office_today(office),
            "hours": _hours(office),
            "booking_url": _booking_url(office),
        }
    return _page(request, "public/office.html", context, lang=lang)


def _booking_url(office: Office) -> str:
    return reverse("booking:book", args=[office.slug]) if office.remote_booking else ""


@require_GET
@ratelimit(key="ip", rate=rate("RATELIMIT_PUBLIC"), block=True)
def poster(request: HttpRequest, slug: str) -> HttpResponse:
    """A printable page for the door: the public page's address and its QR code."""
    office = _office(slug)
    url = settings.PUBLIC_URL + reverse("public:office", args=[office.slug])
    qr = segno.make(url, error="m", mask=0)
    context = {
        "office": office,
        "url": url,
        "qr_svg": mark_safe(qr.svg_inline(scale=8, border=2, title="QR")),  # noqa: S308 — segno's own markup
        "hours": _hours(office),
    }
    return _page(request, "public/poster.html", context, lang="en")


@require_http_methods(["GET", "POST"])
@ratelimits.public_page("public.join")
def join(request: HttpRequest, slug: str) -> HttpResponse:
    office = _office(slug)
    if not office.remote_join:
        raise Http404
    lang = _lang(request)
    with translation.override(lang):
        step = request.POST.get("step", "") if request.method == "POST" else ""
        # The last step checks again itself (remote_join): no figures for a page to show.
        today = remote.office_today(office) if step != "verify" else None
        reasons = remote.joinable_reasons(office, day=office.local_date())
        if today is not None and not today.can_join:
            return _page(request, "public/join.html", {"office": office, "today": today,
                                                       "closed": True}, lang=lang)  # fmt: skip
        form = RemoteJoinForm(request.POST or None, reasons=reasons, prefix="j")
        if step == "":
            return _join_form(request, office, form, lang=lang, today=today)
        if not form.is_valid():
            return _join_form(request, office, form, lang=lang, today=today, status=422)
        if step == "send":
            return _send_code(request, office, form, lang=lang, today=today)
        if step == "verify":
            return _verify(request, office, form, lang=lang, today=today)
    return _join_form(request, office, form, lang=lang, today=today)


def _join_form(request, office, form, *, lang, today, status=200, error=""):
    context = {"office": office, "form": form, "today": today, "error": error}
    return _page(request, "public/join.html", context, lang=lang, status=status)


def _code_form(request, office, form, proof, *, lang, code_form=None, status=200, error=""):
    context = {
        "office": office, "form": form, "proof": proof, "code_form": code_form or CodeForm(),
        "error": error, "number_end": proof.phone[-4:],
    }  # fmt: skip
    return _page(request, "public/join_code.html", context, lang=lang, status=status)


def _send_code(request, office, form, *, lang, today):
    phone = form.cleaned_data["phone"]
    # Each text costs money and reaches a real phone: per number and per address.
    ratelimits.count(request, group="verify:number", key=verification.number_key,
                     name="RATELIMIT_VERIFY_NUMBER", method="POST")  # fmt: skip
    ratelimits.count(request, group="verify:ip", key="ip", name="RATELIMIT_VERIFY_IP",
                     method="POST")  # fmt: skip
    # Whether this number must come in person is said only once the code proves it is theirs
    # (remote_join): before, anyone could learn a stranger's missed calls.
    try:
        proof = verification.code_send(
            office=office, phone=phone, purpose=VerificationPurpose.JOIN, language=lang
        )
    except verification.NotTextable as refused:
        return _join_form(
            request, office, form, lang=lang, today=today, status=422, error=str(refused)
        )
    return _code_form(request, office, form, proof, lang=lang)


def _verify(request, office, form, *, lang, today):
    proof = verification.pending(
        request.POST.get("proof", ""), office=office, purpose=VerificationPurpose.JOIN
    )
    if proof is None or proof.phone != form.cleaned_data["phone"]:
        # A lapsed, made-up or other number's token: ask for a code again.
        error = _("Please ask for a new code.")
        return _join_form(request, office, form, lang=lang, today=today, status=422, error=error)
    code_form = CodeForm(request.POST)
    if not code_form.is_valid():
        return _code_form(request, office, form, proof, lang=lang, code_form=code_form,
                          status=422)  # fmt: skip
    checked = verification.code_check(proof, code_form.cleaned_data["code"])
    if not checked.ok:
        return _code_form(request, office, form, proof, lang=lang, code_form=code_form,
                          status=422, error=checked.message)  # fmt: skip
    proof = verification.verified(proof.token, office=office, purpose=VerificationPurpose.JOIN)
    if proof is None:  # proved too long ago (a page sent again the next morning)
        error = _("Please ask for a new code.")
        return _join_form(request, office, form, lang=lang, today=today, status=422, error=error)
    ratelimits.count(request, group="remote:office", key=lambda g, r: office.slug,
                     name="RATELIMIT_REMOTE_OFFICE", method="POST")  # fmt: skip
    data = form.cleaned_data
    request_ = remote.JoinRequest(
        first_name=data["first_name"],
        last_name=data["last_name"],
        reason_ids=[r.pk for r in data["reasons"]],
        reason_other=data["other"],
        travel_minutes=data["travel_minutes"],
        language=lang,
    )
    try:
        visit = remote.remote_join(office=office, proof=proof, data=request_)
    except remote.JoinRefused as refused:
        return _join_form(
            request, office, form, lang=lang, today=today, status=422, error=str(refused)
        )
    except services.AlreadyWaiting as already:
        visit = already.visit
    url = reverse("status:page", args=[visit.status_token])
    return HttpResponseRedirect(f"{url}?lang={lang}&joined=1")
