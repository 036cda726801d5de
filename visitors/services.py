"""Multi-row and side-effecting work on visits: each a keyword-only function in a transaction."""

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from visitors.lifecycle import Status
from visitors.models import (
    Office,
    PriorityCategory,
    ReasonForVisit,
    Source,
    TicketCounter,
    Visit,
    Visitor,
)


class AlreadyWaiting(Exception):
    """The visitor already has an active visit at this office; ``visit`` is that one."""

    def __init__(self, visit: Visit):
        super().__init__(f"already checked in as {visit.ticket_code}")
        self.visit = visit


def ticket_allocate(*, office: Office, service_date: dt.date) -> int:
    """Return the next ticket number for the office's day, safe under concurrent check-ins.

    The counter row is incremented in the database (``UPDATE … SET n = n + 1``), which locks it
    until the surrounding transaction ends, so two check-ins can never read the same number.
    """
    counter, _created = TicketCounter.objects.get_or_create(
        office=office, service_date=service_date
    )
    TicketCounter.objects.filter(pk=counter.pk).update(last_number=F("last_number") + 1)
    return TicketCounter.objects.values_list("last_number", flat=True).get(pk=counter.pk)


def ticket_code(*, office: Office, number: int) -> str:
    return f"{office.ticket_prefix}-{number:03d}"


def visit_check_in(
    *,
    office: Office,
    visitor: Visitor,
    reasons: Iterable[ReasonForVisit] = (),
    reason_other: str = "",
    source: str = Source.KIOSK,
    at: dt.datetime | None = None,
) -> Visit:
    """Put a visitor in the office's queue with a new ticket, or raise AlreadyWaiting."""
    at = at or timezone.now()
    service_date = office.local_date(at)
    existing = Visit.objects.filter(
        office=office,
        visitor=visitor,
        status__in=[Status.WAITING, Status.CALLED, Status.IN_SERVICE],
    ).first()
    if existing is not None:
        raise AlreadyWaiting(existing)
    try:
        with transaction.atomic():
            number = ticket_allocate(office=office, service_date=service_date)
            visit = Visit.objects.create(
                office=office,
                visitor=visitor,
                service_date=service_date,
                ticket_number=number,
                ticket_code=ticket_code(office=office, number=number),
                priority=1 if visitor.priority_category != PriorityCategory.NONE else 0,
                source=source,
                reason_other=reason_other,
                checked_in_at=at,
            )
            visit.reasons.set(reasons)
            Visitor.objects.filter(pk=visitor.pk, last_seen_at__lt=at).update(last_seen_at=at)
    except IntegrityError:
        # A concurrent check-in of the same visitor won the one-active-visit constraint.
        existing = Visit.objects.filter(
            office=office,
            visitor=visitor,
            status__in=[Status.WAITING, Status.CALLED, Status.IN_SERVICE],
        ).first()
        if existing is None:
            raise
        raise AlreadyWaiting(existing) from None
    return visit


def visits_close_stale(*, now: dt.datetime | None = None) -> int:
    """Close visits still waiting or called from an earlier office day; return how many.

    Waiting visitors from a past day walked away (left); called ones did not come (no-show).
    Visits in service are left for staff to conclude: only they know the outcome.
    """
    now = now or timezone.now()
    closed = 0
    for office in Office.objects.all():
        today = office.local_date(now)
        stale = Q(office=office, service_date__lt=today)
        closed += Visit.objects.filter(stale, status=Status.WAITING).update(
            status=Status.LEFT, ended_at=now
        )
        closed += Visit.objects.filter(stale, status=Status.CALLED).update(
            status=Status.NO_SHOW, ended_at=now
        )
    return closed
