"""The queries each screen reads: the queue in its order, positions, waits and estimates."""

import datetime as dt
import math
import statistics
from dataclasses import dataclass

from django.db.models import Count, F, Max, QuerySet
from django.utils import timezone

from visitors.lifecycle import ACTIVE_STATUSES, Status
from visitors.models import Office, Visit, Visitor

DEFAULT_SERVICE_MINUTES = 12.0
RECENT_DAYS = 28
RECENT_SAMPLE = 300


def queue_order(office: Office) -> list:
    """The office's queue rule as an ORDER BY. By default, the veterans' priority of service:
    covered veterans and eligible spouses first, then appointment time, then check-in time."""
    appointment = F("appointment__starts_at").asc(nulls_last=True)
    rule = office.queue_rule
    if rule == Office.QueueRule.ARRIVAL:
        return ["checked_in_at", "pk"]
    if rule == Office.QueueRule.APPOINTMENTS_FIRST:
        return [appointment, "-priority", "checked_in_at", "pk"]
    return ["-priority", appointment, "checked_in_at", "pk"]


def queue_waiting(*, office: Office, day: dt.date | None = None) -> QuerySet[Visit]:
    """Waiting visits in the order they will be called, by the office's queue rule."""
    day = day or office.local_date()
    return Visit.objects.filter(office=office, service_date=day, status=Status.WAITING).order_by(
        *queue_order(office)
    )


def queue_position(visit: Visit) -> int | None:
    """1 for the next to be called; None once the visit is no longer waiting."""
    if visit.status != Status.WAITING:
        return None
    order = list(
        queue_waiting(office=visit.office, day=visit.service_date).values_list("pk", flat=True)
    )
    return order.index(visit.pk) + 1 if visit.pk in order else None


def service_minutes_by_reason(*, office: Office, now: dt.datetime | None = None) -> dict:
    """Median minutes of service over recent finished visits, per reason and overall (key None)."""
    now = now or timezone.now()
    rows = list(
        Visit.objects.filter(
            office=office,
            status=Status.DONE,
            service_started_at__isnull=False,
            ended_at__gte=now - dt.timedelta(days=RECENT_DAYS),
        )
        .order_by("-ended_at")
        .values_list("pk", "service_started_at", "ended_at")[:RECENT_SAMPLE]
    )
    minutes = {pk: (end - start).total_seconds() / 60 for pk, start, end in rows}
    per_reason: dict = {}
    for visit_id, reason_id in Visit.reasons.through.objects.filter(
        visit_id__in=list(minutes)
    ).values_list("visit_id", "reasonforvisit_id"):
        per_reason.setdefault(reason_id, []).append(minutes[visit_id])
    medians = {reason: statistics.median(values) for reason, values in per_reason.items()}
    medians[None] = statistics.median(minutes.values()) if minutes else DEFAULT_SERVICE_MINUTES
    return medians


def staff_on_duty(*, office: Office, now: dt.datetime | None = None) -> int:
    """Staff who called someone at this office in the last 90 minutes (at least one)."""
    now = now or timezone.now()
    count = (
        Visit.objects.filter(office=office, called_at__gte=now - dt.timedelta(minutes=90))
        .exclude(called_by=None)
        .values("called_by")
        .distinct()
        .count()
    )
    return max(count, 1)


@dataclass(frozen=True)
class WaitEstimate:
    ahead: int
    low: int
    high: int


def wait_estimate(visit: Visit, *, now: dt.datetime | None = None) -> WaitEstimate | None:
    """An honest range of minutes until the visit is called, from who is ahead and how long
    their reasons usually take, shared among the staff on duty."""
    if visit.status != Status.WAITING:
        return None
    # Plain ids, not model instances: on a busy day hundreds wait, and every check-in asks.
    waiting = queue_waiting(office=visit.office, day=visit.service_date)
    ids = list(waiting.values_list("pk", flat=True))
    if visit.pk not in ids:
        return None
    ahead = ids[: ids.index(visit.pk)]
    reasons_of: dict[int, list[int]] = {}
    for visit_id, reason_id in Visit.reasons.through.objects.filter(
        visit__in=waiting.order_by()
    ).values_list("visit_id", "reasonforvisit_id"):
        reasons_of.setdefault(visit_id, []).append(reason_id)
    medians = service_minutes_by_reason(office=visit.office, now=now)
    total = 0.0
    for other in ahead:
        known = [medians[r] for r in reasons_of.get(other, []) if r in medians]
        total += max(known) if known else medians[None]
    per_desk = total / staff_on_duty(office=visit.office, now=now)
    low = 5 * math.floor(per_desk * 0.7 / 5)
    high = max(low + 5, 5 * math.ceil(per_desk * 1.3 / 5))
    return WaitEstimate(ahead=len(ahead), low=low, high=high)


def visitor_usual_reason_ids(*, visitor: Visitor, office: Office) -> list[int]:
    """The reason this visitor came for most often at this office (ties: the latest)."""
    row = (
        Visit.reasons.through.objects.filter(visit__visitor=visitor, visit__office=office)
        .values("reasonforvisit_id")
        .annotate(n=Count("id"), latest=Max("visit__checked_in_at"))
        .order_by("-n", "-latest")
        .first()
    )
    return [row["reasonforvisit_id"]] if row else []


def visitor_active_visit(*, visitor: Visitor, office: Office) -> Visit | None:
    return (
        Visit.objects.filter(
            office=office,
            visitor=visitor,
            status__in=ACTIVE_STATUSES,
        )
        .order_by("-checked_in_at")
        .first()
    )


@dataclass(frozen=True)
class Board:
    version: int
    waiting: list
    serving: list
    done: list


def console_board(*, office: Office) -> Board:
    """Everything the console's queue shows, in a fixed number of queries."""
    from django.db.models import Exists, IntegerField, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    from visitors.models import OpenRequest

    day = office.local_date()
    open_requests = (
        OpenRequest.objects.filter(visitor=OuterRef("visitor"), state=OpenRequest.State.OPEN)
        .order_by()
        .values("visitor")
        .annotate(n=Count("pk"))
        .values("n")
    )
    earlier = Visit.objects.filter(
        visitor=OuterRef("visitor"), checked_in_at__lt=OuterRef("checked_in_at")
    )
    base = (
        Visit.objects.filter(office=office, service_date=day)
        .select_related("visitor", "called_by", "assigned_to")
        .prefetch_related("reasons")
        .annotate(
            open_requests=Coalesce(Subquery(open_requests), Value(0), output_field=IntegerField()),
            returning=Exists(earlier),
        )
    )
    waiting = list(base.filter(status=Status.WAITING).order_by(*queue_order(office)))
    serving = list(
        base.filter(status__in=[Status.CALLED, Status.IN_SERVICE]).order_by("called_at", "pk")
    )
    # The done column shows no badges: no per-row subqueries to sort a long day through.
    done = list(
        Visit.objects.filter(
            office=office,
            service_date=day,
            status__in=[Status.DONE, Status.LEFT, Status.NO_SHOW],
        )
        .select_related("visitor")
        .order_by("-ended_at", "-pk")[:50]
    )
    version = Office.objects.values_list("queue_version", flat=True).get(pk=office.pk)
    return Board(version=version, waiting=waiting, serving=serving, done=done)


def queue_version(*, office_id: int) -> int:
    return Office.objects.values_list("queue_version", flat=True).get(pk=office_id)
