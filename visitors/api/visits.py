"""Check-in, the queue, call next, and a visit with its status actions and five stages.

Input is checked by the same Django forms the kiosk and the console use, and the work is done by
the same services, so a rule holds the same way on the web and here.
"""

import datetime as dt
import secrets

from django.db.models import Prefetch
from ninja import Query, Router, Status

from visitors import access, privacy, selectors, services
from visitors.api.auth import actor, office_access
from visitors.api.common import (
    DEFAULT_LIMIT,
    Limit,
    OfficeSlug,
    Offset,
    PathId,
    page,
    refuse,
    visit_out,
)
from visitors.api.errors import ApiError, form_fields, responses
from visitors.api.schemas import (
    FIRST_DAY,
    LAST_DAY,
    ActionName,
    CallNextIn,
    CallNextOut,
    CheckInIn,
    ConcludingIn,
    DeterminingIn,
    FutureReferenceIn,
    QueuedVisitOut,
    QueueOut,
    RespondingIn,
    StatusName,
    VisitDetailOut,
    VisitOut,
    VisitPage,
)
from visitors.forms import (
    ConcludingForm,
    ContactForm,
    DeterminingForm,
    FutureReferenceForm,
    NameForm,
    ReasonsForm,
    RespondingForm,
)
from visitors.visits.lifecycle import STAGE_FIELDS, STAGE_ORDER, Action, Stage, TransitionNotAllowed
from visitors.visits.models import Source, Visit

router = Router(tags=["Visits"])


def _visit(office, pk: int) -> Visit:
    visit = (
        access.office_visits(office)
        .select_related("visitor", "office")
        .prefetch_related("reasons")
        .filter(pk=pk)
        .first()
    )
    if visit is None:
        refuse(404, "This office has no visit with that id.")
    return visit


_UNKNOWN = object()


def _queued(visit: Visit, estimate=_UNKNOWN, *, reasons=None) -> dict:
    """The visit with its place in line and its wait. ``estimate``: the one just quoted at
    check-in (its ``ahead`` is the place before the visit's own), so the line is not read
    twice."""
    if estimate is _UNKNOWN:
        estimate = selectors.wait_estimate(visit)
        position = selectors.queue_position(visit)
    else:
        position = None if estimate is None else estimate.ahead + 1
    return visit_out(visit, reasons=reasons) | {
        "position": position,
        "wait": None
        if estimate is None
        else {"ahead": estimate.ahead, "low_minutes": estimate.low, "high_minutes": estimate.high},
    }


def _invalid(*forms_and_renames) -> None:
    fields: dict = {}
    for form, rename in forms_and_renames:
        if form is not None and form.errors:
            for name, errors in form_fields(form, rename).items():
                fields.setdefault(name, []).extend(errors)
    if fields:
        raise ApiError(422, "Some fields are not valid; see fields.", fields=fields)


@router.post(
    "/offices/{office}/check-ins",
    response=responses({200: QueuedVisitOut, 201: QueuedVisitOut}, 409),
    summary="Check a visitor in",
    description="Puts a returning visitor (``visitor_id``) or a new one (names) in the office's "
    "line with a new ticket, as the front desk does. 201 with the visit, its position and an "
    "estimated wait; 200 with the same visit when ``idempotency_key`` repeats an earlier "
    "request; 409 when the visitor is already in line here.",
)
def check_in(request, office: OfficeSlug, payload: CheckInIn):
    office, _membership = office_access(request, office, ahead=services.check_in_cache_keys)
    visitor = None
    if payload.visitor_id is not None:
        visitor = access.visitor_for_check_in(office, payload.visitor_id)
        if visitor is None:
            refuse(422, "Some fields are not valid; see fields.",
                   fields={"visitor_id": ["No visitor with this id."]})  # fmt: skip
    data = payload.dict()
    name_form = NameForm(data) if visitor is None else None
    reasons_form = ReasonsForm(
        {"reasons": payload.reason_ids, "other": payload.reason_other},
        office=office, day=office.local_date(),
    )  # fmt: skip
    contact_form = ContactForm(
        data | {"notify_when_ahead": payload.notify_when_ahead is not None,
                "ahead_count": payload.notify_when_ahead or ""}
    )  # fmt: skip
    valid = [f.is_valid() for f in (name_form, reasons_form, contact_form) if f is not None]
    if not all(valid):
        _invalid(
            (name_form, {}),
            (reasons_form, {"reasons": "reason_ids", "other": "reason_other"}),
            (contact_form, {"ahead_count": "notify_when_ahead"}),
        )
    names = name_form.cleaned_data if name_form is not None else {}
    contact = contact_form.cleaned_data
    # A key is the client's, per token and office: the same key at two offices is two requests.
    key = f"api:{request.auth.pk}:{office.pk}:" + (
        payload.idempotency_key or secrets.token_urlsafe(18)
    )
    reasons = list(reasons_form.cleaned_data["reasons"])
    try:
        visit = services.kiosk_check_in(
            office=office,
            data=services.KioskCheckIn(
                first_name=names.get("first_name", ""),
                last_name=names.get("last_name", ""),
                preferred_name=names.get("preferred_name", ""),
                language=visitor.preferred_language if visitor else payload.language,
                visitor_id=visitor.pk if visitor else None,
                reason_ids=[r.pk for r in reasons],
                reason_other=reasons_form.cleaned_data["other"],
                phone=contact["phone"],
                email=contact["email"],
                notify_when_called=contact["notify_when_called"],
                notify_when_ahead=contact["ahead_count"] if contact["notify_when_ahead"] else None,
                consent_reminders=contact["consent_reminders"],
                priority_category=contact["priority_category"],
            ),
            token=key,
            source=Source.API,
            by=actor(request),
            # Validated just now by the form (active, this office's, open today): not read
            # again.
            reasons=reasons,
        )
    except services.AlreadyWaiting as already:
        refuse(409, f"This visitor is already in line here as {already.visit.ticket_code} "
               f"(visit {already.visit.pk}).", code="already_waiting")  # fmt: skip
    except services.FormUsedElsewhere:
        refuse(409, "This idempotency_key was already used for a check-in at another office; "
               "use a new key.", code="idempotency_key_reused")  # fmt: skip
    if visit.replayed:  # the earlier request's visit, as it is now
        return Status(200, _queued(_visit(office, visit.pk)))
    # Just made in this request: the row as written, its reasons as validated, the wait as
    # quoted — nothing to read again.
    return Status(201, _queued(visit, getattr(visit, "wait_estimate", _UNKNOWN), reasons=reasons))


@router.get(
    "/offices/{office}/queue",
    response=responses({200: QueueOut}),
    summary="The office's queue now",
    description="Today's waiting visits in the order they will be called (by the office's queue "
    "rule) with their positions, and those being served. A snapshot, not a paged list: it is "
    "the whole line. ``version`` changes whenever the queue does.",
)
def queue(request, office: OfficeSlug):
    office, _membership = office_access(request, office)
    board = selectors.console_board(office=office)
    return {
        "version": board.version,
        "day": office.local_date(),
        "waiting": [
            visit_out(v) | {"position": i, "wait": None}
            for i, v in enumerate(board.waiting, start=1)
        ],  # fmt: skip
        "serving": [visit_out(v) for v in board.serving],
    }


@router.post(
    "/offices/{office}/queue/call-next",
    response=responses({200: CallNextOut}),
    summary="Call the next visitor",
    description="Calls the first waiting visitor by the office's queue rule, as the console's "
    "button does (safe when several staff call at once). ``visit`` is null when nobody waits.",
)
def call_next(request, office: OfficeSlug, payload: CallNextIn):
    office, _membership = office_access(request, office)
    visit = services.queue_call_next(office=office, staff=actor(request), desk=payload.desk)
    return {"visit": visit_out(_visit(office, visit.pk)) if visit else None}


@router.get(
    "/offices/{office}/visits",
    response=responses({200: VisitPage}),
    summary="Visits of a day",
    description="The office's visits of one local day (default today), latest first.",
)
def visits(
    request,
    office: OfficeSlug,
    date: dt.date | None = Query(None, ge=FIRST_DAY, le=LAST_DAY),  # noqa: B008
    status: StatusName | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
):
    office, _membership = office_access(request, office)
    rows = access.office_visits(office).filter(service_date=date or office.local_date())
    if status:
        rows = rows.filter(status=status)
    rows = rows.prefetch_related("reasons").order_by("-checked_in_at", "-pk")
    return page(request, rows, limit=limit, offset=offset, serialise=visit_out)


def _detail(visit: Visit) -> dict:
    visit = (
        Visit.objects.select_related(*(by for _at, by in STAGE_FIELDS.values()))
        .prefetch_related(
            "reasons",
            Prefetch("services_given__service"),
            Prefetch("referrals__partner"),
        )
        .get(pk=visit.pk)
    )
    stages = []
    for stage in STAGE_ORDER:
        at_field, by_field = STAGE_FIELDS[stage]
        by = getattr(visit, by_field)
        at = getattr(visit, at_field)
        stages.append({"stage": stage.value, "done": at is not None, "at": at,
                       "by": by.get_username() if by else None})  # fmt: skip
    return visit_out(visit) | {
        "stages": stages,
        "visitor_words": visit.visitor_words,
        "job_leads": visit.job_leads,
        "barriers": list(visit.barriers or []),
        "notes": visit.notes,
        "note_for_next_time": visit.note_for_next_time,
        "rating": visit.rating,
        "services": [
            {
                "reporting_code": g.service.reporting_code,
                "name": g.service.name,
                "staff_assisted": g.service.staff_assisted,
            }
            for g in visit.services_given.all()
        ],  # fmt: skip
        "referrals": [
            {"partner_id": r.partner_id, "partner": r.partner.name, "note": r.note}
            for r in visit.referrals.all()
        ],
    }


@router.get(
    "/offices/{office}/visits/{int:visit_id}",
    response=responses({200: VisitDetailOut}),
    summary="A visit with its five stages",
    description="Each stage with who recorded it and when; the actions its status allows now. "
    "Reading it is recorded in the audit trail, as opening the workspace is.",
)
def visit_detail(request, office: OfficeSlug, visit_id: PathId):
    office, _membership = office_access(request, office)
    visit = _visit(office, visit_id)
    privacy.audit(user=actor(request), visitor_id=visit.visitor_id, visit_id=visit.pk,
                  action="view", what="visit (API)", office=office)  # fmt: skip
    return _detail(visit)


@router.post(
    "/offices/{office}/visits/{int:visit_id}/actions/{action}",
    response=responses({200: VisitOut}, 409),
    summary="Move a visit: call, call again, start, put back, left, no-show, finish, place back",
    description="The status change the console's buttons make. 409 when the visit's status "
    "does not allow it now (e.g. finishing before concluding with an outcome); "
    "``allowed_actions`` on the visit lists what is possible.",
)
def visit_action(
    request,
    office: OfficeSlug,
    visit_id: PathId,
    action: ActionName,
    payload: CallNextIn | None = None,
):
    office, _membership = office_access(request, office)
    visit = _visit(office, visit_id)
    try:
        services.VISIT_ACTIONS[Action(action)](
            visit=visit, by=actor(request), desk=payload.desk if payload else ""
        )
    except TransitionNotAllowed as refused:
        refuse(409, str(refused), code="transition_not_allowed")
    return visit_out(_visit(office, visit.pk))


def _record(request, office, visit_id: int, stage: Stage, form=None, rename=None) -> dict:
    visit = _visit(office, visit_id)
    data = {}
    if form is not None:
        form = form(visit)
        if not form.is_valid():
            _invalid((form, rename or {}))
        data = form.cleaned_data
    try:
        services.visit_stage_record(visit=visit, stage=stage, by=actor(request), data=data)
    except (TransitionNotAllowed, services.WorkshopFull) as refused:
        code = "workshop_full" if isinstance(refused, services.WorkshopFull) else "stage_refused"
        refuse(409, str(refused), code=code)
    return _detail(visit)


STAGE_DOC = (
    "Records the stage with who (the token's maker) and when, as the visit workspace does; "
    "stages go in order, while the visitor is with staff. 409 when the visit's status or an "
    "earlier missing stage does not allow it."
)


@router.post(
    "/offices/{office}/visits/{int:visit_id}/stages/greeting",
    response=responses({200: VisitDetailOut}, 409),
    summary="Stage 1: greeting",
    description=STAGE_DOC + " Greeting a called visitor starts their service.",
)
def stage_greeting(request, office: OfficeSlug, visit_id: PathId):
    office, _membership = office_access(request, office)
    return _record(request, office, visit_id, Stage.GREETING)


@router.post(
    "/offices/{office}/visits/{int:visit_id}/stages/determining",
    response=responses({200: VisitDetailOut}, 409),
    summary="Stage 2: determining what they need",
    description=STAGE_DOC + " At least one reason or their own words.",
)
def stage_determining(request, office: OfficeSlug, visit_id: PathId, payload: DeterminingIn):
    office, _membership = office_access(request, office)

    def form(visit):
        return DeterminingForm(
            {"reasons": payload.reason_ids, "visitor_words": payload.visitor_words}, office=office
        )

    return _record(request, office, visit_id, Stage.DETERMINING, form, {"reasons": "reason_ids"})


@router.post(
    "/offices/{office}/visits/{int:visit_id}/stages/responding",
    response=responses({200: VisitDetailOut}, 409),
    summary="Stage 3: responding — services, referrals, job leads",
    description=STAGE_DOC + " At least a service, a referral or a job lead; a covered veteran "
    "with significant barriers is also referred to a veterans' specialist.",
)
def stage_responding(request, office: OfficeSlug, visit_id: PathId, payload: RespondingIn):
    office, _membership = office_access(request, office)

    def form(visit):
        return RespondingForm(
            {"services": payload.service_ids, "partners": payload.partner_ids,
             "job_leads": payload.job_leads, "barriers": payload.barriers}
        )  # fmt: skip

    rename = {"services": "service_ids", "partners": "partner_ids"}
    return _record(request, office, visit_id, Stage.RESPONDING, form, rename)


@router.post(
    "/offices/{office}/visits/{int:visit_id}/stages/concluding",
    response=responses({200: VisitDetailOut}, 409),
    summary="Stage 4: concluding with an outcome",
    description=STAGE_DOC + " ``still_open`` raises an open request that follows the visitor. "
    "Sends the ``visit.concluded`` webhook.",
)
def stage_concluding(request, office: OfficeSlug, visit_id: PathId, payload: ConcludingIn):
    office, _membership = office_access(request, office)

    def form(visit):
        return ConcludingForm(payload.dict())

    return _record(request, office, visit_id, Stage.CONCLUDING, form)


@router.post(
    "/offices/{office}/visits/{int:visit_id}/stages/future_reference",
    response=responses({200: VisitDetailOut}, 409),
    summary="Stage 5: future reference — appointment, workshop, follow-up, note",
    description=STAGE_DOC + " An outcome of follow_up needs an appointment or a follow-up "
    "date. Appointments and workshops get their reminders scheduled.",
)
def stage_future_reference(
    request, office: OfficeSlug, visit_id: PathId, payload: FutureReferenceIn
):
    office, _membership = office_access(request, office)

    def form(visit):
        data = payload.dict() | {"workshop": payload.workshop_id}
        return FutureReferenceForm({k: v for k, v in data.items() if v is not None}, visit=visit)

    rename = {"workshop": "workshop_id"}
    return _record(request, office, visit_id, Stage.FUTURE_REFERENCE, form, rename)
