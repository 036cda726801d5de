"""Book a time: the public pages (no sign-in, a number proved by a code) and the desk's page.

The public flow keeps its state in the page itself — the chosen type and slot in links and
hidden fields, the proof as the verification's token — so no session is needed, and every
value is checked again by the service at the last step. Slot lists say only "free"; nothing
tells one visitor who else booked.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from frontdesk.ratelimits import count, public_page
from visitors import verification
from visitors.access import office_for_staff
from visitors.booking import services
from visitors.booking.forms import (
    CodeForm,
    DeskForm,
    DetailsForm,
    NameForm,
    parse_at,
    parse_day,
)
from visitors.booking.models import AppointmentType, Booking, MadeBy
from visitors.offices.models import Language, Office

PURPOSE = "book"


def _public_office(slug: str) -> Office:
    office = get_object_or_404(Office, slug=slug, remote_booking=True)
    timezone.activate(office.zone)
    return office


def _language(request: HttpRequest, default: str = "") -> str:
    chosen = request.POST.get("lang") or request.GET.get("lang")
    if chosen in Language.values:
        return chosen
    if default in Language.values:
        return default
    return Language.SPANISH if translation.get_language() == "es" else Language.ENGLISH


def _page(request, template: str, context: dict, *, lang: str, status: int = 200):
    query = request.GET.copy()
    query.pop("lang", None)
    with translation.override(lang):
        response = render(
            request,
            template,
            {
                **context,
                "lang": lang,
                "other_lang": "es" if lang == "en" else "en",
                "lang_query": query.urlencode(),
            },
            status=status,
        )
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    return response


def _labelled(kind: AppointmentType) -> AppointmentType:
    kind.label = kind.name_for(translation.get_language() or "en")  # type: ignore[attr-defined]
    return kind


def _types(office: Office, *, online: bool):
    types = AppointmentType.objects.filter(office=office, is_active=True).select_related("office")
    return types.filter(bookable_online=True) if online else types


def _chosen_type(request, office: Office, *, online: bool) -> AppointmentType | None:
    raw = request.POST.get("type") or request.GET.get("type") or ""
    if not raw.isdecimal() or len(raw) > 12:
        return None
    kind = _types(office, online=online).filter(pk=int(raw)).first()
    return _labelled(kind) if kind else None


def _picker(request, office: Office, kind: AppointmentType | None, *, online: bool) -> dict:
    """What the type → day → slot picker shows for the choices made so far."""
    types = [_labelled(t) for t in _types(office, online=online)]
    if kind is None and len(types) == 1:
        kind = types[0]
    at = parse_at(request.POST.get("at") or request.GET.get("at"))
    day = parse_day(request.GET.get("day")) or (office.local_date(at) if at else None)
    return {
        "types": types,
        "kind": kind,
        "days": services.days_with_slots(kind) if kind and not day else [],
        "day": day,
        "slots": services.slots_free(kind, day) if kind and day and not (online and at) else [],
        "at": at,
    }


def _slot_is_free(kind: AppointmentType, at: dt.datetime | None) -> bool:
    if at is None:
        return False
    day = kind.office.local_date(at)
    return any(slot.starts_at == at for slot in services.slots_free(kind, day))


@require_http_methods(["GET", "POST"])
@public_page("booking.public")
def book(request: HttpRequest, slug: str) -> HttpResponse:
    """Choose a type, a day and a slot; give a name and a number; type the code; booked."""
    office = _public_office(slug)
    lang = _language(request)
    step = request.POST.get("step", "")
    with translation.override(lang):
        if step == "send":
            return _book_send(request, office, lang)
        if step == "confirm":
            return _book_confirm(request, office, lang)
        kind = _chosen_type(request, office, online=True)
        context = {"office": office, **_picker(request, office, kind, online=True)}
        if context["kind"] and context["at"]:
            if not _slot_is_free(context["kind"], context["at"]):
                context["at"] = None
                context["message"] = _("That time is no longer free. Please choose another.")
            else:
                context["form"] = DetailsForm()
    return _page(request, "booking/book.html", context, lang=lang)


def _book_send(request, office: Office, lang: str) -> HttpResponse:
    kind = _chosen_type(request, office, online=True)
    at = parse_at(request.POST.get("at"))
    if kind is None or not _slot_is_free(kind, at):
        context = {
            "office": office,
            **_picker(request, office, kind, online=True),
            "at": None,
            "message": _("That time is no longer free. Please choose another."),
        }
        return _page(request, "booking/book.html", context, lang=lang, status=409)
    form = DetailsForm(request.POST)
    context = {"office": office, "kind": kind, "at": at, "form": form}
    if not form.is_valid():
        return _page(request, "booking/book.html", context, lang=lang, status=422)
    phone = form.cleaned_data["phone"]
    # Each code costs a text: limited per number, per address and per office.
    count(
        request,
        group="booking.code.number",
        key=verification.number_key,  # django-ratelimit takes callables
        name="RATELIMIT_VERIFY_NUMBER",
    )
    count(request, group="booking.code.ip", key="ip", name="RATELIMIT_VERIFY_IP")
    count(
        request,
        group="booking.code.office",
        key=lambda _g, _r: office.slug,
        name="RATELIMIT_REMOTE_OFFICE",
    )
    # Whether the number must come in person is said only once it is proved: before, anyone
    # could type a stranger's number and learn about their missed appointments.
    try:
        proof = verification.code_send(office=office, phone=phone, purpose=PURPOSE, language=lang)
    except verification.NotTextable as error:
        context["message"] = str(error)
        return _page(request, "booking/book.html", context, lang=lang, status=422)
    context.update(code_form=CodeForm(), token=proof.token, names=form.cleaned_data)
    return _page(request, "booking/book.html", context, lang=lang)


def _book_confirm(request, office: Office, lang: str) -> HttpResponse:
    kind = _chosen_type(request, office, online=True)
    at = parse_at(request.POST.get("at"))
    token = request.POST.get("token", "")
    proof = verification.pending(token, office=office, purpose=PURPOSE)
    names = NameForm(request.POST)  # the names again, from the hidden fields
    if kind is None or at is None or proof is None or not names.is_valid():
        context = {
            "office": office,
            **_picker(request, office, None, online=True),
            "at": None,
            "message": _("Something was missing. Please start again."),
        }
        return _page(request, "booking/book.html", context, lang=lang, status=422)
    code_form = CodeForm(request.POST)
    code_form.is_valid()
    context = {
        "office": office,
        "kind": kind,
        "at": at,
        "token": token,
        "names": names.cleaned_data,
        "code_form": code_form,
    }
    check = verification.code_check(proof, code_form.cleaned_data.get("code", ""))
    if not check.ok:
        context["message"] = check.message
        return _page(request, "booking/book.html", context, lang=lang, status=422)
    proof = verification.verified(token, office=office, purpose=PURPOSE)
    if proof is None or proof.used_at is not None:  # gone stale, or made a booking already
        context = {
            "office": office,
            **_picker(request, office, None, online=True),
            "at": None,
            "message": _("That code has run out or was already used. Please start again."),
        }
        return _page(request, "booking/book.html", context, lang=lang, status=422)
    if verification.must_check_in_on_site(office=office, phone=proof.phone):
        context["message"] = _(
            "Please come to the office to book: this number missed appointments recently."
        )
        return _page(request, "booking/book.html", context, lang=lang, status=403)
    try:
        booking = services.booking_make(
            kind=kind,
            starts_at=at,
            first_name=names.cleaned_data["first_name"],
            last_name=names.cleaned_data["last_name"],
            language=lang,
            made_by=MadeBy.ONLINE,
            proof=proof,
        )
    except services.BookingError as error:
        # The number stays proved: offer the day's other times with the same proof.
        day = office.local_date(at)
        context.update(
            message=str(error),
            verified=True,
            day=day,
            at=None,
            slots=services.slots_free(kind, day),
        )
        return _page(request, "booking/book.html", context, lang=lang, status=409)
    url = reverse("booking:manage", args=[office.slug, booking.manage_token])
    return HttpResponseRedirect(f"{url}?lang={lang}&new=1")


def _booking_for_token(slug: str, token: str) -> Booking:
    # The token is what opens a booking: its link keeps working when the office books only at
    # the desk, or stops offering online booking after the text went out.
    office = get_object_or_404(Office, slug=slug)
    timezone.activate(office.zone)
    booking = services.booking_for_token(office=office, token=token)
    if booking is None:
        raise Http404
    return booking


@require_http_methods(["GET", "POST"])
@public_page("booking.public")
def manage(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """The visitor's own booking, from the link in their text: see it, move it, cancel it."""
    booking = _booking_for_token(slug, token)
    appointment = booking.appointment
    lang = _language(request, appointment.visitor.preferred_language)
    kind = booking.appointment_type
    message, status = "", 200
    with translation.override(lang):
        if request.method == "POST":
            action = request.POST.get("action")
            try:
                if action == "cancel":
                    services.booking_cancel(booking=booking)
                elif action == "move":
                    at = parse_at(request.POST.get("at"))
                    if at is None:
                        raise services.SlotTaken(_("Choose a time."))
                    services.booking_move(booking=booking, starts_at=at)
                else:
                    raise services.BookingError(_("Choose what to do."))
            except services.BookingError as error:
                message, status = str(error), 409
                appointment.refresh_from_db()
            else:
                url = reverse("booking:manage", args=[slug, token])
                return HttpResponseRedirect(f"{url}?lang={lang}&done={action}")
        moving = request.GET.get("move") == "1" and appointment.state == "scheduled"
        day = parse_day(request.GET.get("day")) if moving else None
        context = {
            "office": booking.appointment.office,
            "booking": booking,
            "appointment": appointment,
            "kind": _labelled(kind),
            "name": appointment.visitor.display_name,
            "message": message,
            "new": request.GET.get("new") == "1",
            "done": request.GET.get("done", ""),
            "moving": moving,
            "day": day,
            "days": services.days_with_slots(kind) if moving and not day else [],
            "slots": services.slots_free(kind, day) if day else [],
            "changeable": appointment.state == "scheduled"
            and appointment.starts_at > timezone.now(),
            "manage_url": services.manage_url(booking),
        }
    return _page(request, "booking/manage.html", context, lang=lang, status=status)


# --- The desk -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def desk_book(request: HttpRequest, slug: str) -> HttpResponse:
    """Staff book a time for someone: the same slots, a name and a number, no code."""
    office = office_for_staff(request, slug)
    kind = _chosen_type(request, office, online=False)
    context = {"office": office, **_picker(request, office, kind, online=False)}
    form = DeskForm(request.POST or None)
    status = 200
    if request.method == "POST":
        at = context["at"]
        if kind is None or at is None:
            messages.error(request, _("Choose a type and a time."))
            return HttpResponseRedirect(reverse("booking:desk_book", args=[slug]))
        if form.is_valid():
            try:
                booking = services.booking_make(
                    kind=kind,
                    starts_at=at,
                    first_name=form.cleaned_data["first_name"],
                    last_name=form.cleaned_data["last_name"],
                    phone=form.cleaned_data["phone"],
                    consent_sms=form.cleaned_data["consent_sms"],
                    made_by=MadeBy.DESK,
                    by=request.user,
                    form_token=form.cleaned_data["form_token"] or None,
                )
            except services.BookingError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    _("Booked %(name)s for %(when)s.")
                    % {
                        "name": booking.appointment.visitor.display_name,
                        "when": services.when_text(at, office, translation.get_language() or "en"),
                    },
                )
                return HttpResponseRedirect(reverse("booking:desk_book", args=[slug]))
        status = 422
    context.update(form=form, bookings=services.bookings_upcoming(office=office))
    return render(request, "booking/desk_book.html", context, status=status)


@login_required
@require_POST
def desk_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office = office_for_staff(request, slug)
    booking = get_object_or_404(Booking, pk=pk, appointment__office=office)
    try:
        services.booking_cancel(booking=booking)
        messages.success(request, _("Booking cancelled; the time is free again."))
    except services.BookingError as error:
        messages.error(request, str(error))
    return HttpResponseRedirect(reverse("booking:desk_book", args=[slug]))
