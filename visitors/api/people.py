"""Visitors (search, match, create, merge), open requests, appointments and reminders."""

import datetime as dt

from django.db.models import Count, Max, Q
from ninja import Query, Router, Status

from visitors import access, privacy, services
from visitors.api.auth import actor, office_access
from visitors.api.common import (
    DEFAULT_LIMIT,
    Limit,
    OfficeSlug,
    Offset,
    PathId,
    page,
    refuse,
    visitor_out,
)
from visitors.api.errors import ApiError, form_fields, responses
from visitors.api.schemas import (
    FIRST_DAY,
    LAST_DAY,
    AppointmentPage,
    MatchIn,
    MatchOut,
    MergeIn,
    MergeOut,
    OpenRequestOut,
    OpenRequestPage,
    ReminderOut,
    ReminderPage,
    ResolveIn,
    VisitorFoundOut,
    VisitorIn,
    VisitorOut,
    VisitorSearchPage,
)
from visitors.followups.models import Appointment, AppointmentState
from visitors.forms import ContactForm, NameForm, ResolveForm, VisitorSearchForm
from visitors.identify import Answer, identify
from visitors.messaging.models import Reminder, ReminderKind, ReminderState
from visitors.people.models import Visitor
from visitors.visits.models import OpenRequest, RequestState

router = Router(tags=["Visitors"])
lists = Router(tags=["Open requests, appointments, reminders"])

SEARCH_DOC = (
    "Ranked visitors for a typed name (forgiving typos, accents, nicknames and swapped names) "
    "or at least 4 digits of a phone number — the front desk's lookup. At most 15 results."
)


@router.get(
    "/offices/{office}/visitors",
    response=responses({200: VisitorSearchPage}),
    summary="Search visitors",
    description=SEARCH_DOC,
)
def search(
    request,
    office: OfficeSlug,
    q: str = Query(..., description="A name or phone digits.", min_length=1, max_length=201),  # noqa: B008
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
):
    office, _membership = office_access(request, office)
    form = VisitorSearchForm({"q": q})
    if not form.is_valid():
        raise ApiError(422, "Some fields are not valid; see fields.", fields=form_fields(form))
    query = form.cleaned_data["q"]
    found = access.visitor_search(office=office, query=query) if query else []

    def serialise(row):
        visitor = row["visitor"]
        return visitor_out(visitor) | {"score": row["score"], "last_visit_at": visitor.last_visit,
                                       "open_requests": visitor.open_request_count}  # fmt: skip

    return page(request, found, limit=limit, offset=offset, serialise=serialise)


@router.post(
    "/offices/{office}/visitors/match",
    response=responses({200: MatchOut}),
    summary="Match a visitor as the kiosk does",
    description="Name plus the second factor (last 4 phone digits, or birth month and day), "
    "with the kiosk's rules: a visitor is returned only when exactly one record matches both. "
    "When several do, `ask` names the other factor to send as well (both must then agree). "
    "A POST so that names and digits stay out of URLs and logs; it changes nothing, but needs a "
    "read-and-write token.",
)
def match(request, office: OfficeSlug, payload: MatchIn):
    office, _membership = office_access(request, office)
    names = NameForm({"first_name": payload.first_name, "last_name": payload.last_name})
    if not names.is_valid():
        raise ApiError(422, "Some fields are not valid; see fields.", fields=form_fields(names))
    found = identify(
        first_name=names.cleaned_data["first_name"],
        last_name=names.cleaned_data["last_name"],
        answer=Answer.of(phone_last4=payload.phone_last4, birth_month=payload.birth_month,
                         birth_day=payload.birth_day),
    )  # fmt: skip
    if found.result == "confirmed":
        visitor = Visitor.objects.get(pk=found.visitor.pk)
        if not access.visible_visitors(office).filter(pk=visitor.pk).exists():
            # Being checked in here now: their name and id, not what other offices know.
            return {"result": "confirmed", "visitor": _names_only(visitor)}
        return {"result": "confirmed", "visitor": visitor_out(visitor)}
    return {"result": found.result, "visitor": None, "ask": found.ask}


@router.post(
    "/offices/{office}/visitors",
    response=responses({201: VisitorOut}),
    summary="Create a visitor",
    description="A new visitor record (match first, to avoid a duplicate). Names, phone and "
    "email follow the kiosk's rules.",
)
def create(request, office: OfficeSlug, payload: VisitorIn):
    office, _membership = office_access(request, office)
    data = payload.dict()
    names, contact = NameForm(data), ContactForm(data | {"priority_category": "none"})
    if not (names.is_valid() & contact.is_valid()):
        fields = form_fields(names) | form_fields(contact)
        raise ApiError(422, "Some fields are not valid; see fields.", fields=fields)
    visitor = services.visitor_create(
        office=office, **names.cleaned_data, phone=contact.cleaned_data["phone"],
        email=contact.cleaned_data["email"], birth_date=payload.birth_date,
        preferred_language=payload.preferred_language, consent_sms=payload.consent_sms,
        consent_email=payload.consent_email, priority_category=payload.priority_category,
    )  # fmt: skip
    privacy.audit(user=actor(request), visitor_id=visitor.pk, action="change",
                  what="created (API)", office=office)  # fmt: skip
    return Status(201, visitor_out(visitor))


@router.get(
    "/offices/{office}/visitors/{int:visitor_id}",
    response=responses({200: VisitorFoundOut}),
    summary="A visitor",
    description="Reading it is recorded in the audit trail, as opening their history is.",
)
def visitor_detail(request, office: OfficeSlug, visitor_id: PathId):
    office, _membership = office_access(request, office)
    visitor = (
        access.visible_visitors(office)
        .filter(pk=visitor_id)
        .annotate(
            last_visit=Max("visits__checked_in_at", filter=Q(visits__office=office)),
            open_request_count=Count(
                "open_requests",
                filter=Q(open_requests__state="open", open_requests__office=office),
                distinct=True,
            ),
        )
        .first()
    )
    if visitor is None:
        refuse(404, "No visitor with this id.")
    privacy.audit(user=actor(request), visitor_id=visitor.pk, action="view", what="visitor (API)",
                  office=office)  # fmt: skip
    return visitor_out(visitor) | {"score": 1.0, "last_visit_at": visitor.last_visit,
                                   "open_requests": visitor.open_request_count}  # fmt: skip


@router.post(
    "/offices/{office}/visitors/merge",
    response=responses({200: MergeOut}, 409),
    summary="Merge two visitor records",
    description="Moves everything of ``merge_id`` onto ``keep_id`` and leaves a tombstone. 409 "
    "when both are in line at the same office, or one was merged already.",
)
def merge(request, office: OfficeSlug, payload: MergeIn):
    office, _membership = office_access(request, office)
    # An id not seen here is answered as an unknown one: neither says whether it exists.
    found = access.visible_visitors(office).in_bulk([payload.keep_id, payload.merge_id])
    missing = {
        name: ["No visitor with this id."]
        for name, pk in (("keep_id", payload.keep_id), ("merge_id", payload.merge_id))
        if pk not in found
    }
    if missing:
        raise ApiError(422, "Some fields are not valid; see fields.", fields=missing)
    keep, merged = found[payload.keep_id], found[payload.merge_id]
    if not access.can_merge(
        actor(request), keep, merged, office=office, within=request.auth.offices.all()
    ):
        message = "One of them has records at an office this token or its maker cannot reach."
        refuse(403, message, code="merge_not_allowed")
    try:
        record = services.visitor_merge(keep=keep, merge=merged, by=actor(request), office=office)
    except services.MergeRefused as refused:
        refuse(409, str(refused), code="merge_refused")
    return {"kept": visitor_out(record.kept), "merged_visitor_id": record.merged_visitor_id,
            "moved": record.moved}  # fmt: skip


def _names_only(visitor: Visitor) -> dict:
    """A visitor as VisitorOut with their names and nothing else another office recorded."""
    hidden = {"phone": "", "email": "", "birth_date": None, "consent_sms": False}
    hidden |= {"consent_email": False, "priority_category": "none", "merged_into_id": None}
    return visitor_out(visitor) | hidden


# --- Open requests, appointments, reminders ------------------------------------------------------


def _open_request_out(row: OpenRequest) -> dict:
    return {"id": row.pk, "visitor_id": row.visitor_id, "raised_on_visit_id": row.raised_on_id,
            "description": row.description, "state": row.state, "created_at": row.created_at,
            "resolved_at": row.resolved_at, "resolution": row.resolution}  # fmt: skip


@lists.get(
    "/offices/{office}/open-requests",
    response=responses({200: OpenRequestPage}),
    summary="Open requests",
    description="Needs raised on a visit and not yet met, oldest first (``state=resolved`` for "
    "the resolved ones, latest first).",
)
def open_requests(
    request,
    office: OfficeSlug,
    state: RequestState = RequestState.OPEN,
    visitor_id: int | None = Query(None, ge=1, le=2**63 - 1),  # noqa: B008
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
):
    office, _membership = office_access(request, office)
    rows = OpenRequest.objects.filter(office=office, state=state)
    if visitor_id:
        rows = rows.filter(visitor_id=visitor_id)
    order = ("created_at", "pk") if state == RequestState.OPEN else ("-resolved_at", "-pk")
    return page(request, rows.order_by(*order), limit=limit, offset=offset,
                serialise=_open_request_out)  # fmt: skip


@lists.post(
    "/offices/{office}/open-requests/{int:request_id}/resolve",
    response=responses({200: OpenRequestOut}, 409),
    summary="Resolve an open request",
    description="Once: 409 when it was resolved already.",
)
def resolve(request, office: OfficeSlug, request_id: PathId, payload: ResolveIn):
    office, _membership = office_access(request, office)
    row = OpenRequest.objects.filter(pk=request_id, office=office).first()
    if row is None:
        refuse(404, "This office has no open request with that id.")
    form = ResolveForm(payload.dict())
    if not form.is_valid():
        raise ApiError(422, "Some fields are not valid; see fields.", fields=form_fields(form))
    if not services.open_request_resolve(
        request=row, by=actor(request), resolution=form.cleaned_data["resolution"]
    ):
        refuse(409, "That request was already resolved.", code="already_resolved")
    row.refresh_from_db()
    return _open_request_out(row)


@lists.get(
    "/offices/{office}/appointments",
    response=responses({200: AppointmentPage}),
    summary="Appointments",
    description="Appointments starting on the office's local days ``start``..``end`` (default: "
    "today and the 30 days after), earliest first; at most 366 days.",
)
def appointments(
    request,
    office: OfficeSlug,
    start: dt.date | None = Query(None, ge=FIRST_DAY, le=LAST_DAY),  # noqa: B008
    end: dt.date | None = Query(None, ge=FIRST_DAY, le=LAST_DAY),  # noqa: B008
    state: AppointmentState | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
):
    office, _membership = office_access(request, office)
    first = start or office.local_date()
    last = end or first + dt.timedelta(days=30)
    if last < first or (last - first).days > 366:
        raise ApiError(
            422, "Some fields are not valid; see fields.",
            fields={"end": ["Must be on or after start, at most 366 days later."]},
        )  # fmt: skip
    begins, _ = office.day_bounds(first)
    _, ends = office.day_bounds(last)
    rows = Appointment.objects.filter(office=office, starts_at__gte=begins, starts_at__lt=ends)
    if state:
        rows = rows.filter(state=state)
    rows = rows.select_related("staff").order_by("starts_at", "pk")
    return page(request, rows, limit=limit, offset=offset, serialise=lambda a: {
        "id": a.pk, "visitor_id": a.visitor_id,
        "staff": a.staff.get_username() if a.staff else None, "starts_at": a.starts_at,
        "duration_minutes": a.duration_minutes, "purpose": a.purpose, "state": a.state,
        "booked_on_visit_id": a.booked_on_id,
    })  # fmt: skip


def _reminder_out(r: Reminder) -> dict:
    return {"id": r.pk, "kind": r.kind, "channel": r.channel, "state": r.state,
            "due_at": r.due_at, "sent_at": r.sent_at, "attempts": r.attempts,
            "last_error": r.last_error, "visitor_id": r.visitor_id, "visit_id": r.visit_id,
            "appointment_id": r.appointment_id}  # fmt: skip


@lists.get(
    "/offices/{office}/reminders",
    response=responses({200: ReminderPage}),
    summary="Reminders (the outbox)",
    description="The office's texts and emails, latest due first; filter by state and kind.",
)
def reminders(
    request,
    office: OfficeSlug,
    state: ReminderState | None = None,
    kind: ReminderKind | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
):
    office, _membership = office_access(request, office)
    rows = Reminder.objects.filter(office=office)
    if state:
        rows = rows.filter(state=state)
    if kind:
        rows = rows.filter(kind=kind)
    return page(request, rows.order_by("-due_at", "-pk"), limit=limit, offset=offset,
                serialise=_reminder_out)  # fmt: skip


def _reminder(office, pk: int) -> Reminder:
    reminder = Reminder.objects.filter(pk=pk, office=office).first()
    if reminder is None:
        refuse(404, "This office has no reminder with that id.")
    return reminder


@lists.post(
    "/offices/{office}/reminders/{int:reminder_id}/retry",
    response=responses({200: ReminderOut}, 409),
    summary="Send a failed or cancelled reminder again",
    description="409 unless it failed or was cancelled. Consent is checked again.",
)
def reminder_retry(request, office: OfficeSlug, reminder_id: PathId):
    office, _membership = office_access(request, office)
    reminder = _reminder(office, reminder_id)
    if not services.reminder_retry(reminder=reminder):
        refuse(409, "Only failed or cancelled reminders can be sent again.", code="not_retryable")
    reminder.refresh_from_db()
    return _reminder_out(reminder)


@lists.post(
    "/offices/{office}/reminders/{int:reminder_id}/cancel",
    response=responses({200: ReminderOut}, 409),
    summary="Cancel a scheduled reminder",
    description="409 unless it is still scheduled.",
)
def reminder_cancel(request, office: OfficeSlug, reminder_id: PathId):
    office, _membership = office_access(request, office)
    reminder = _reminder(office, reminder_id)
    if not services.reminder_cancel(reminder=reminder, by=actor(request)):
        refuse(409, "Only scheduled reminders can be cancelled.", code="not_cancellable")
    reminder.refresh_from_db()
    return _reminder_out(reminder)
