"""Front-desk staff: look visitors up as you type, check one in by hand, merge duplicates, read
a visitor's history and each past visit in full."""

import datetime as dt
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from visitors import access, conversations, privacy, services
from visitors.followups.models import Appointment, FollowUp, FollowUpContact, WorkshopSignup
from visitors.forms import (
    BARRIERS,
    ContactForm,
    MergeForm,
    NameForm,
    ReasonsForm,
    ResolveForm,
    VisitorSearchForm,
)
from visitors.people.models import Visitor
from visitors.visits.lifecycle import ACTIVE_STATUSES, STAGE_FIELDS, STAGE_ORDER
from visitors.visits.models import OpenRequest, Referral, ServiceGiven, Source, Visit


@login_required
@require_GET
def visitors(request: HttpRequest, slug: str) -> HttpResponse:
    office = access.office_for_staff(request, slug)
    form = VisitorSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    results = access.visitor_search(office=office, query=query) if query else []
    context = {"office": office, "form": form, "query": query, "results": results}
    template = "desk/visitors.html#visitor-results" if request.htmx else "desk/visitors.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def visitor_merge(request: HttpRequest, slug: str) -> HttpResponse:
    office = access.office_for_staff(request, slug)
    form = MergeForm(request.POST or request.GET)
    if not form.is_valid():
        messages.error(request, _("Choose the two records to merge."))
        return redirect("desk:visitors", slug=office.slug)
    keep = access.visitor_for_office(request.user, office, form.cleaned_data["keep"])
    merge = access.visitor_for_office(request.user, office, form.cleaned_data["merge"])
    if not access.can_merge(request.user, keep, merge, office=office):
        raise PermissionDenied(_("One of them has visits at an office where you have no role."))
    if request.method == "GET":
        return render(request, "desk/merge.html", {"office": office, "keep": keep, "merge": merge})
    try:
        services.visitor_merge(keep=keep, merge=merge, by=request.user, office=office)
    except services.MergeRefused as refused:
        messages.error(request, str(refused))
        return redirect("desk:visitors", slug=office.slug)
    messages.success(
        request,
        _("Merged %(merged)s into %(kept)s.") % {"merged": merge, "kept": keep},
    )
    return redirect(f"{reverse('desk:visitors', args=[office.slug])}?q={keep.last_name}")


@login_required
@require_http_methods(["GET", "POST"])
def check_in(request: HttpRequest, slug: str) -> HttpResponse:
    """Check a visitor in by hand: a found visitor (``visitor``) or a new one from the names."""
    office = access.office_for_staff(request, slug)
    day = office.local_date()
    visitor = None
    visitor_id = request.POST.get("visitor") or request.GET.get("visitor")
    if visitor_id and visitor_id.isdecimal():
        visitor = access.visitor_for_office(request.user, office, int(visitor_id))
        if visitor.merged_into_id is not None:
            raise Http404
    data = request.POST if request.method == "POST" else None
    name_form = NameForm(data) if visitor is None else None
    reasons_form = ReasonsForm(data, office=office, day=day)
    initial = {"ahead_count": 3, "priority_category": "none"}
    if visitor is not None:
        initial |= {"phone": visitor.phone, "email": visitor.email,
                    "priority_category": visitor.priority_category}  # fmt: skip
    contact_form = ContactForm(data, initial=initial)
    token = (request.POST.get("token") or "").strip()[:64]
    forms_valid = (
        request.method == "POST"
        and reasons_form.is_valid()
        and contact_form.is_valid()
        and (visitor is not None or name_form.is_valid())
    )
    if forms_valid:
        names = name_form.cleaned_data if name_form is not None else {}
        contact = contact_form.cleaned_data
        check_in_data = services.KioskCheckIn(
            first_name=names.get("first_name", ""),
            last_name=names.get("last_name", ""),
            preferred_name=names.get("preferred_name", ""),
            language=visitor.preferred_language if visitor else "en",
            visitor_id=visitor.pk if visitor else None,
            reason_ids=[r.pk for r in reasons_form.cleaned_data["reasons"]],
            reason_other=reasons_form.cleaned_data["other"],
            phone=contact["phone"],
            email=contact["email"],
            notify_when_called=contact["notify_when_called"],
            notify_when_ahead=contact["ahead_count"] if contact["notify_when_ahead"] else None,
            consent_reminders=contact["consent_reminders"],
            priority_category=contact["priority_category"],
        )
        try:
            visit = services.kiosk_check_in(
                office=office,
                data=check_in_data,
                token=f"desk:{office.pk}:{token or secrets.token_urlsafe(18)}",
                source=Source.DESK,
                by=request.user,
            )
            visitor = visit.visitor
            messages.success(
                request, _("%(name)s is in line as %(ticket)s.")
                % {"name": visitor.display_name, "ticket": visit.ticket_code},
            )  # fmt: skip
        except services.AlreadyWaiting as already:
            messages.info(
                request, _("%(name)s is already in line as %(ticket)s.")
                % {"name": visitor.display_name, "ticket": already.visit.ticket_code},
            )  # fmt: skip
        except services.FormUsedElsewhere:
            messages.error(
                request, _("This check-in form was already used. Nobody was checked in; please "
                           "fill it in again.")
            )  # fmt: skip
        return redirect("desk:visitors", slug=office.slug)
    context = {
        "office": office,
        "visitor": visitor,
        "name_form": name_form,
        "reasons_form": reasons_form,
        "contact_form": contact_form,
        "token": secrets.token_urlsafe(18),
        "active": visitor.visits.filter(office=office, status__in=ACTIVE_STATUSES).first()
        if visitor
        else None,
    }
    return render(request, "desk/check_in.html", context, status=200 if data is None else 422)


@login_required
@require_GET
def visitor_profile(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A visitor's history: visits and their stages, open requests, referrals, appointments."""
    office = access.office_for_staff(request, slug)
    visitor = access.visitor_for_office(request.user, office, pk)
    privacy.audit(user=request.user, visitor_id=visitor.pk, action="view", what="profile",
                  office=office)  # fmt: skip
    visits = list(
        visitor.visits.select_related("office", "greeted_by", "concluded_by")
        .prefetch_related("reasons", "services_given__service", "referrals__partner")
        .order_by("-checked_in_at")[:50]
    )
    # A visit opens in full, with their words and the notes, only for staff of the office that
    # served them (visitor_visit).
    openable = set(access.staff_offices(request.user).values_list("pk", flat=True))
    context = {
        "office": office,
        "visitor": visitor,
        "visits": visits,
        "openable": openable,
        "some_locked": any(v.office_id not in openable for v in visits),
        "open_requests": visitor.open_requests.filter(state=OpenRequest.State.OPEN),
        "resolved_requests": visitor.open_requests.filter(state=OpenRequest.State.RESOLVED)[:20],
        "appointments": visitor.appointments.select_related("office").order_by("-starts_at")[:20],
        "reminders": visitor.reminders.filter(office=office).order_by("-due_at")[:20],
        "follow_ups": visitor.follow_ups.filter(office=office).order_by("-due_on")[:20],
        "threads": conversations.inbox_threads(office, request.user).filter(visitor=visitor),
        "is_office_admin": access.is_office_admin(request.user, office),
        "resolve_form": ResolveForm(),
    }
    return render(request, "desk/visitor.html", context)


def _visit_records(visitor: Visitor, user) -> QuerySet[Visit]:
    """``visitor``'s visits that ``user`` may open in full, with everything one page shows.

    The history lists every visit of someone seen at the office; the whole record (their words,
    the notes, what came of a follow-up) is for staff of the office that served them, as a merge
    is (access.can_merge).
    """
    users = ("called_by", *(by for _at, by in STAGE_FIELDS.values()))
    return (
        visitor.visits.filter(office__in=access.staff_offices(user))
        .select_related("office", "appointment", *users)
        .prefetch_related(
            "reasons",
            Prefetch(
                "services_given",
                ServiceGiven.objects.select_related("service", "given_by").order_by(
                    "service__position", "service__name"
                ),
            ),
            Prefetch(
                "referrals",
                Referral.objects.select_related("partner", "referred_by").order_by("created_at"),
            ),
            Prefetch(
                "follow_ups_promised",
                FollowUp.objects.select_related("assigned_to", "closed_by").prefetch_related(
                    Prefetch("contacts", FollowUpContact.objects.select_related("by"))
                ),
            ),
            Prefetch("appointments_booked", Appointment.objects.select_related("staff")),
            Prefetch("requests_raised", OpenRequest.objects.select_related("resolved_by")),
            "requests_resolved",
            "reminders",
        )
    )


def _minutes(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, round((end - start).total_seconds() / 60))


@login_required
@require_GET
def visitor_visit(request: HttpRequest, slug: str, pk: int, visit: int) -> HttpResponse:
    """One visit from a visitor's history in full: the five stages with who and when, their
    words, the notes, what was done, and what came of the referrals and the follow-up."""
    office = access.office_for_staff(request, slug)
    visitor = access.visitor_for_office(request.user, office, pk)
    record = get_object_or_404(_visit_records(visitor, request.user), pk=visit)
    privacy.audit(
        user=request.user,
        visitor_id=visitor.pk,
        visit_id=record.pk,
        action="view",
        what="past visit",
        office=office,
    )
    barriers = dict(BARRIERS)
    context = {
        "office": office,
        "visitor": visitor,
        "visit": record,
        "stages": [
            {
                "stage": stage,
                "at": getattr(record, STAGE_FIELDS[stage][0]),
                "by": getattr(record, STAGE_FIELDS[stage][1]),
            }
            for stage in STAGE_ORDER
        ],
        "barriers": [barriers.get(b, b) for b in record.barriers],
        "follow_ups": sorted(record.follow_ups_promised.all(), key=lambda f: (f.due_on, f.pk)),
        "workshops": WorkshopSignup.objects.filter(signed_up_on=record)
        .select_related("workshop")
        .order_by("workshop__starts_at"),
        "waited": _minutes(record.checked_in_at, record.called_at),
        "served": _minutes(record.service_started_at, record.ended_at),
    }
    # Times are the visit's office's local times, also for a visit at another office.
    with timezone.override(record.office.zone):
        return render(request, "desk/visitor_visit.html", context)


@login_required
@require_POST
def request_resolve(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office = access.office_for_staff(request, slug)
    open_request = get_object_or_404(OpenRequest, pk=pk, office=office)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say how it was resolved."))
    elif services.open_request_resolve(
        request=open_request, by=request.user, resolution=form.cleaned_data["resolution"]
    ):
        messages.success(request, _("Request resolved."))
    else:
        messages.info(request, _("That request was already resolved."))
    return redirect("desk:visitor", slug=office.slug, pk=open_request.visitor_id)


def _visitor_for_office_admin(request: HttpRequest, slug: str, pk: int):
    """An office admin's (or a superuser's) view of a visitor seen at that office."""
    office = access.office_for_admin(request, slug)
    visitor = access.visitor_for_office(request.user, office, pk)
    if visitor.merged_into_id is not None:
        raise Http404
    return office, visitor


@login_required
@require_GET
def visitor_export(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Everything held about one visitor, as a JSON download (a request for their data)."""
    office, visitor = _visitor_for_office_admin(request, slug, pk)
    privacy.audit(user=request.user, visitor_id=visitor.pk, action="export", what="json",
                  office=office)  # fmt: skip
    response = JsonResponse(privacy.visitor_export(visitor), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="visitor-{visitor.pk}.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def visitor_erase(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Erase a visitor's personal data on request; visits stay, counted but nameless."""
    office, visitor = _visitor_for_office_admin(request, slug, pk)
    if visitor.anonymised_at:
        messages.info(request, _("This visitor's personal data was already removed."))
        return redirect("desk:visitor", slug=office.slug, pk=visitor.pk)
    active = visitor.visits.filter(status__in=ACTIVE_STATUSES).exists()
    if request.method == "POST":
        if active:
            messages.error(request, _("They are in line right now: finish the visit first."))
        elif request.POST.get("confirm") != "erase":
            messages.error(request, _("Tick the box to confirm."))
        else:
            privacy.visitor_erase(visitor, by=request.user, office=office)
            messages.success(request, _("Personal data removed. Their visits stay in the "
                                        "statistics without a name."))  # fmt: skip
            return redirect("desk:visitor", slug=office.slug, pk=visitor.pk)
    return render(request, "desk/erase.html",
                  {"office": office, "visitor": visitor, "active": active})  # fmt: skip
