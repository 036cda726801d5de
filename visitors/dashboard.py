"""The manager's dashboard: how the offices are serving people, computed in the database.

Every figure is an aggregate query; the number of queries depends on the number of distinct
time zones among the offices shown (hours are local hours), never on the number of visits.
Medians and 90th percentiles are PostgreSQL's ``percentile_cont``; SQLite has no percentile
aggregate, so there the durations of the period are read in one query and ranked in Python
(the embedded database is for development and small offices).

Durations are seconds: *wait* is check-in → called, *service* is service started → ended.
A day is the office's local day (``Visit.service_date``); hours are the office's local hours.
"""

import datetime as dt
import math
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, connections
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Extract, ExtractHour, ExtractIsoWeekDay
from django.utils import timezone

from visitors.followups.models import (
    Appointment,
    AppointmentState,
    ContactResult,
    FollowUp,
    FollowUpContact,
    FollowUpKind,
    FollowUpState,
)
from visitors.messaging.models import Reminder, ReminderState
from visitors.offices.models import WEEKDAYS, Office
from visitors.people.models import EqualOpportunityRecord, Visitor
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import OpenRequest, Referral, ServiceGiven, Source, Visit

WEEKS_COMPARED = 4
# The days any report may ask about (the web dashboard, its export, the API): outside them a
# date is a typo, and the ends of Python's calendar overflow when a day is turned into times.
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)


# --- Expressions ---------------------------------------------------------------------------


def seconds_between(start: str, end: str):
    """``end - start`` in seconds, as a database expression (NULL when either is NULL)."""
    if connection.vendor == "postgresql":
        return Extract(ExpressionWrapper(F(end) - F(start), output_field=DurationField()), "epoch")
    return ExpressionWrapper(
        (
            Func(F(end), function="julianday", output_field=FloatField())
            - Func(F(start), function="julianday", output_field=FloatField())
        )
        * Value(86400.0),
        output_field=FloatField(),
    )


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(p) WITHIN GROUP (ORDER BY expr)``."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


class LocalPart(Func):
    """PostgreSQL: a part of ``checked_in_at`` in the visit's own office's time zone."""

    output_field = IntegerField()
    template = "EXTRACT(%(part)s FROM (%(expressions)s))::integer"
    arg_joiner = " AT TIME ZONE "

    def __init__(self, part: str, **extra):
        super().__init__(F("checked_in_at"), F("office__time_zone"), part=part, **extra)


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks — what ``percentile_cont`` computes."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def duration_stats(visits: QuerySet, *, start: str, end: str, group: str | None = None) -> dict:
    """{group value: {n, median, p90, max, mean}} of ``end - start`` seconds (None: no group).

    One query on either database.
    """
    seconds = seconds_between(start, end)
    rows = visits.filter(**{f"{start}__isnull": False, f"{end}__isnull": False})
    keys = [group] if group else []
    if connection.vendor == "postgresql":
        qs = rows.annotate(s=seconds).values(*keys) if keys else rows.annotate(s=seconds)
        aggregates = {
            "n": Count("pk"), "median": PercentileCont("s", 0.5), "p90": PercentileCont("s", 0.9),
            "max": Max("s"), "mean": Avg("s"),
        }  # fmt: skip
        if keys:
            return {r[group]: _stat(r) for r in qs.annotate(**aggregates).order_by()}
        return {None: _stat(qs.aggregate(**aggregates))}
    collected: dict = defaultdict(list)
    for key, value in rows.annotate(s=seconds).values_list(group or "pk", "s").order_by():
        collected[key if group else None].append(max(0.0, value))
    if not group:
        collected.setdefault(None, [])
    return {
        key: _stat({"n": len(v), "median": percentile(v, 0.5), "p90": percentile(v, 0.9),
                    "max": max(v, default=None), "mean": (sum(v) / len(v)) if v else None})
        for key, v in collected.items()
    }  # fmt: skip


def _stat(row: dict) -> dict:
    def minutes(value):
        return None if value is None else round(max(0.0, float(value)) / 60, 1)

    return {"n": row["n"], **{k: minutes(row[k]) for k in ("median", "p90", "max", "mean")}}


def _duration_aggregates(name: str, *, start: str, end: str) -> dict:
    """PostgreSQL: what duration_stats gives, as aggregates ``<name>_n``, ``<name>_median``…
    to compute in the same pass as other figures (rows with no duration count for nothing)."""
    seconds = seconds_between(start, end)
    return {
        f"{name}_n": Count(seconds),
        f"{name}_median": PercentileCont(seconds, 0.5),
        f"{name}_p90": PercentileCont(seconds, 0.9),
        f"{name}_max": Max(seconds),
        f"{name}_mean": Avg(seconds),
    }


def _pop_stat(row: dict, name: str) -> dict:
    """The {n, median, p90, max, mean} that _duration_aggregates(name) put in ``row``."""
    return _stat({key: row.pop(f"{name}_{key}") for key in ("n", "median", "p90", "max", "mean")})


def _by_zone(offices: list[Office]) -> dict:
    zones: dict = defaultdict(list)
    for office in offices:
        zones[office.time_zone].append(office)
    return zones


def _local_window(offices: list[Office], first: dt.date, last: dt.date, field_name: str) -> Q:
    """Rows whose ``field_name`` falls in each office's local days first..last."""
    condition = Q(pk__in=[])
    for group in _by_zone(offices).values():
        start, _ = group[0].day_bounds(first)
        _, end = group[0].day_bounds(last)
        condition |= Q(
            office__in=[o.pk for o in group],
            **{f"{field_name}__gte": start, f"{field_name}__lt": end},
        )
    return condition


# --- The day -------------------------------------------------------------------------------


@dataclass
class Day:
    offices: list[Office]
    day: dt.date
    is_today: bool
    headline: dict = field(default_factory=dict)
    hours: list[dict] = field(default_factory=list)
    # Of the WEEKS_COMPARED same weekdays before, how many had any arrival: with none, there is
    # no usual to compare with (a day the office is closed, or before it used Frontdesk).
    usual_days: int = 0
    waits: dict = field(default_factory=dict)
    service: dict = field(default_factory=dict)
    by_reason: list[dict] = field(default_factory=list)
    outcomes: list[tuple] = field(default_factory=list)
    open_requests: dict = field(default_factory=dict)
    referrals: list[dict] = field(default_factory=list)
    services: list[dict] = field(default_factory=list)
    reminders: dict = field(default_factory=dict)
    appointments: dict = field(default_factory=dict)
    bookings: dict = field(default_factory=dict)
    hires: dict = field(default_factory=dict)
    staff: list[dict] = field(default_factory=list)


def day_visits(offices: list[Office], day: dt.date) -> QuerySet:
    return Visit.objects.filter(office__in=offices, service_date=day)


def day_figures(
    offices: list[Office], day: dt.date, *, now: dt.datetime, requests_listed: int | None = 25
) -> Day:
    """The day's figures; ``requests_listed`` caps the open requests listed (None: all)."""
    visits = day_visits(offices, day)
    is_today = any(o.local_date(now) == day for o in offices)
    figures = Day(offices=offices, day=day, is_today=is_today)
    figures.headline = _headline(visits, now=now) | _new_and_returning(visits, first=day)
    figures.outcomes = figures.headline.pop("outcomes")
    figures.waits = duration_stats(visits, start="checked_in_at", end="called_at")[None]
    figures.service = duration_stats(visits, start="service_started_at", end="ended_at")[None]
    figures.hours, figures.usual_days = _arrivals_by_hour(offices, day)
    figures.by_reason = _by_reason(visits)
    figures.open_requests = _open_requests(offices, day, day, now=now, listed=requests_listed)
    figures.referrals = _referrals(visits)
    figures.services = _services(visits)
    figures.reminders = _reminders(offices, day, day)
    figures.appointments = _appointments(offices, day, day)
    figures.bookings = _bookings(offices, day, day)
    figures.hires = _hires(
        _hire_check_ins(visits, today=offices[0].local_date(now)), figures.outcomes
    )
    figures.staff = list(
        visits.filter(called_by__isnull=False)
        .values("called_by__username", "called_by__first_name", "called_by__last_name")
        .annotate(served=Count("pk", filter=Q(status=Status.DONE)), seen=Count("pk"))
        .order_by("called_by__last_name", "called_by__first_name", "called_by__username")
    )
    return figures


def is_open_on_weekday(offices: list[Office], day: dt.date) -> bool:
    """Whether any of ``offices`` has opening hours on ``day``'s weekday."""
    return any(o.opening_hours.get(WEEKDAYS[day.weekday()]) for o in offices)


def _annotated(visits: QuerySet) -> QuerySet:
    """``visits`` with what _counts() compares: the wait, the office's target, the quote."""
    return visits.annotate(
        wait=seconds_between("checked_in_at", "called_at"),
        target=F("office__wait_target_minutes") * Value(60.0),
        quote_low=F("quoted_wait_min") * Value(60.0),
        quote_high=F("quoted_wait_max") * Value(60.0),
    )


def _counts() -> dict:
    """The tiles' counts as aggregates over _annotated() visits. Each adds up: a range's are
    the sums of its days' (which is how the range counts them, in its day-by-day pass)."""
    quoted = Q(quoted_wait_max__isnull=False, called_at__isnull=False)
    return {
        "visits": Count("pk"),
        "served": Count("pk", filter=Q(status=Status.DONE)),
        "walked_away": Count("pk", filter=Q(status=Status.LEFT)),
        "no_shows": Count("pk", filter=Q(status=Status.NO_SHOW)),
        "called": Count("pk", filter=Q(called_at__isnull=False)),
        "over_target": Count("pk", filter=Q(called_at__isnull=False, wait__gt=F("target"))),
        "quoted": Count("pk", filter=quoted),
        "within_quote": Count(
            "pk", filter=quoted & Q(wait__gte=F("quote_low"), wait__lte=F("quote_high"))
        ),
        "longer_than_quoted": Count("pk", filter=quoted & Q(wait__gt=F("quote_high"))),
        "shorter_than_quoted": Count("pk", filter=quoted & Q(wait__lt=F("quote_low"))),
        # Joined from a phone: how many, how many came, how many places were released.
        "remote_joins": Count("pk", filter=Q(source=Source.REMOTE)),
        "remote_arrived": Count("pk", filter=Q(source=Source.REMOTE, arrived_at__isnull=False)),
        "remote_released": Count("pk", filter=Q(released_at__isnull=False)),
        "covered": Count("pk", filter=Q(priority__gt=0)),
        "covered_served_ahead": Count("pk", filter=Q(served_ahead=True)),
        "rated": Count("rating"),
        "rating_total": Sum("rating"),
        **{f"outcome_{value}": Count("pk", filter=Q(outcome=value)) for value in Outcome.values},
    }


def _with_shares(row: dict) -> dict:
    """A row of _counts() (a day's, or a range's sums) with its shares, mean rating and
    outcomes."""
    row["over_target_share"] = _share(row["over_target"], row["called"])
    row["within_quote_share"] = _share(row["within_quote"], row["quoted"])
    # A visitor called sooner than quoted was not let down: the promise kept is "no longer".
    row["no_longer_than_quoted_share"] = _share(
        row["quoted"] - row["longer_than_quoted"], row["quoted"]
    )
    total = row.pop("rating_total") or 0
    row["rating"] = round(total / row["rated"], 1) if row["rated"] else None
    row["outcomes"] = [
        (value, label, row.pop(f"outcome_{value}")) for value, label in Outcome.choices
    ]
    return row


def _headline(visits: QuerySet, *, now: dt.datetime) -> dict:
    """A day's tiles: its counts, who is waiting now, and its outcomes, in one aggregate."""
    row = _annotated(visits).aggregate(
        visitors=Count("visitor", distinct=True),
        waiting=Count("pk", filter=Q(status=Status.WAITING)),
        oldest_waiting=Min("checked_in_at", filter=Q(status=Status.WAITING)),
        **_counts(),
    )
    oldest = row.pop("oldest_waiting")
    row["longest_wait_now"] = (
        round((now - oldest).total_seconds() / 60) if oldest is not None else None
    )
    return _with_shares(row)


def _new_and_returning(visits: QuerySet, *, first: dt.date) -> dict:
    """Of the people behind ``visits``, how many came for the first time and how many had
    come on a day before ``first`` (a second visit the same day is not "returning"):
    new + returning = visitors. One probe per person, not per visit."""
    people = Visitor.objects.filter(pk__in=visits.values("visitor"))
    came_before = Exists(Visit.objects.filter(visitor=OuterRef("pk"), service_date__lt=first))
    row = people.aggregate(everyone=Count("pk"), returning_visitors=Count("pk", filter=came_before))
    return {
        "new_visitors": row["everyone"] - row["returning_visitors"],
        "returning_visitors": row["returning_visitors"],
    }


def _share(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


def _arrivals_by_hour(offices: list[Office], day: dt.date) -> tuple[list[dict], int]:
    """Arrivals per local hour, against the average of the same weekday in the weeks before;
    and on how many of those weekdays anyone arrived at all."""
    today: dict = defaultdict(int)
    before: dict = defaultdict(int)
    days_with_arrivals: set = set()
    earlier_days = [day - dt.timedelta(weeks=w) for w in range(1, WEEKS_COMPARED + 1)]
    for group in _by_zone(offices).values():
        tz = group[0].zone
        rows = (
            Visit.objects.filter(office__in=group, service_date__in=[day, *earlier_days])
            .annotate(hour=ExtractHour("checked_in_at", tzinfo=tz))
            .values("hour", "service_date")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for r in rows:
            if r["service_date"] == day:
                today[r["hour"]] += r["n"]
            else:
                before[r["hour"]] += r["n"]
                days_with_arrivals.add(r["service_date"])
    hours = sorted(set(today) | set(before))
    if not hours:
        return [], 0
    return [
        {"hour": h, "arrivals": today.get(h, 0),
         "usual": round(before.get(h, 0) / WEEKS_COMPARED, 1)}
        for h in range(min(hours), max(hours) + 1)
    ], len(days_with_arrivals)  # fmt: skip


def _by_reason(visits: QuerySet) -> list[dict]:
    """Visits, waits and service times by reason (a visit with two reasons counts for both)."""
    group = "reasons__label_en"
    if connection.vendor == "postgresql":
        rows = (
            visits.values(group)
            .annotate(
                n=Count("pk"),
                **_duration_aggregates("wait", start="checked_in_at", end="called_at"),
                **_duration_aggregates("service", start="service_started_at", end="ended_at"),
            )
            .order_by()
        )
        counts, waits, service = {}, {}, {}
        for r in rows:
            counts[r[group]] = r["n"]
            waits[r[group]], service[r[group]] = _pop_stat(r, "wait"), _pop_stat(r, "service")
    else:
        waits = duration_stats(visits, start="checked_in_at", end="called_at", group=group)
        service = duration_stats(visits, start="service_started_at", end="ended_at", group=group)
        counts = dict(
            visits.values(group).annotate(n=Count("pk")).values_list(group, "n").order_by()
        )
    return [
        {
            "reason": label,
            "visits": counts[label],
            "wait": _if_any(waits.get(label)),
            "service": _if_any(service.get(label)),
        }
        for label in sorted(counts, key=lambda x: (x is None, x or ""))
    ]


def _if_any(stat: dict | None) -> dict | None:
    return stat if stat and stat["n"] else None


def _referrals(visits: QuerySet) -> list[dict]:
    return list(
        Referral.objects.filter(visit__in=visits)
        .values("partner__name")
        .annotate(n=Count("pk"), people=Count("visit__visitor", distinct=True))
        .order_by("-n", "partner__name")
    )


def _services(visits: QuerySet) -> list[dict]:
    return list(
        ServiceGiven.objects.filter(visit__in=visits)
        .values("service__reporting_code", "service__name", "service__staff_assisted")
        .annotate(n=Count("pk"))
        .order_by("service__reporting_code")
    )


def _open_requests(
    offices: list[Office],
    first: dt.date,
    last: dt.date,
    *,
    now: dt.datetime,
    listed: int | None = 0,
) -> dict:
    """Open requests as they stood at the end of ``last`` (now, while that day lasts), each
    office's day ending at its own midnight; those raised and resolved in first..last; and the
    first ``listed`` of the open ones (None: all of them), oldest first."""
    open_then = Q(pk__in=[])
    for group in _by_zone(offices).values():
        _, end = group[0].day_bounds(last)
        open_then |= Q(office__in=[o.pk for o in group], created_at__lt=end) & (
            Q(resolved_at__isnull=True) | Q(resolved_at__gte=end)
        )
    # "Oldest open for …" is counted to this moment (the first office's midnight, as its zone
    # is the page's).
    as_of = min(now, offices[0].day_bounds(last)[1])
    rows = OpenRequest.objects.filter(office__in=offices)
    summary = rows.aggregate(
        count=Count("pk", filter=open_then),
        oldest=Min("created_at", filter=open_then),
        raised=Count("pk", filter=_local_window(offices, first, last, "created_at")),
        resolved=Count("pk", filter=_local_window(offices, first, last, "resolved_at")),
    )
    summary["as_of"] = as_of
    summary["items"] = []
    if listed != 0:
        items = rows.filter(open_then).select_related("visitor", "office").order_by("created_at")
        summary["items"] = list(items if listed is None else items[:listed])
    summary["more"] = summary["count"] - len(summary["items"])
    return summary


def _reminders(offices: list[Office], first: dt.date, last: dt.date) -> dict:
    """Sent in first..last, and of those due then: failed, still pending, cancelled."""
    due = _local_window(offices, first, last, "due_at")
    return Reminder.objects.filter(office__in=offices).aggregate(
        sent=Count(
            "pk",
            filter=_local_window(offices, first, last, "sent_at") & Q(state=ReminderState.SENT),
        ),
        failed=Count("pk", filter=due & Q(state=ReminderState.FAILED)),
        pending=Count(
            "pk", filter=due & Q(state__in=[ReminderState.SCHEDULED, ReminderState.SENDING])
        ),
        cancelled=Count("pk", filter=due & Q(state=ReminderState.CANCELLED)),
    )


def _hire_check_ins(visits: QuerySet, *, today: dt.date) -> list[dict]:
    """The visitors of the period who got hired, and how their new-job check-ins stand now,
    per check-in day (30, 90, …): still employed, no longer employed, no answer (tried with
    no two-way contact, or closed without one), due but not tried yet, not yet due.

    Counted by the hire's day, as a workforce board reports by exit: one query.
    """
    contacts = FollowUpContact.objects.filter(follow_up=OuterRef("pk"))
    still, gone = Q(still=True), Q(gone=True, still=False)
    answered = still | Q(gone=True)
    waiting = Q(state=FollowUpState.OPEN, tried=False)
    rows = (
        FollowUp.objects.filter(
            kind=FollowUpKind.HIRE_CHECK_IN,
            promised_on__in=visits.filter(outcome=Outcome.HIRED).values("pk"),
        )
        .annotate(
            still=Exists(contacts.filter(result=ContactResult.STILL_EMPLOYED)),
            gone=Exists(contacts.filter(result=ContactResult.NOT_EMPLOYED)),
            tried=Exists(contacts),
        )
        .values("check_in_days")
        .annotate(
            total=Count("pk"),
            still_employed=Count("pk", filter=still),
            not_employed=Count("pk", filter=gone),
            no_answer=Count(
                "pk",
                filter=~answered
                & (Q(state=FollowUpState.OPEN, tried=True) | Q(state=FollowUpState.CLOSED)),
            ),
            due=Count("pk", filter=waiting & Q(due_on__lte=today)),
            not_yet_due=Count("pk", filter=waiting & Q(due_on__gt=today)),
        )
        .order_by("check_in_days")
    )
    return list(rows)


def _hires(check_ins: list[dict], outcomes: list[tuple]) -> dict:
    """{hired: how many got hired (of the outcomes), check_ins: per check-in day}."""
    hired = next((n for value, _label, n in outcomes if value == Outcome.HIRED), 0)
    return {"hired": hired, "check_ins": check_ins}


def _appointments(offices: list[Office], first: dt.date, last: dt.date) -> dict:
    rows = Appointment.objects.filter(_local_window(offices, first, last, "starts_at"))
    counts = dict(rows.values("state").annotate(n=Count("pk")).values_list("state", "n").order_by())
    return {state: counts.get(state, 0) for state in AppointmentState.values}


def _bookings(offices: list[Office], first: dt.date, last: dt.date) -> dict:
    """Appointments booked with "Book a time" (online or at the desk) that fall in the days, by
    what came of them."""
    rows = Appointment.objects.filter(
        _local_window(offices, first, last, "starts_at"), booking__isnull=False
    )
    counts = dict(rows.values("state").annotate(n=Count("pk")).values_list("state", "n").order_by())
    figures = {state: counts.get(state, 0) for state in AppointmentState.values}
    figures["total"] = sum(counts.values())
    return figures


# --- A range of days -------------------------------------------------------------------------


@dataclass
class Range:
    """A range of days: the day's main figures over all of it, then day by day and by office.

    Not the day's new and returning visitors, waits by reason or service times: over a month of
    fifty offices each costs about as much as the rest of the range together.
    """

    offices: list[Office]
    first: dt.date
    last: dt.date
    headline: dict = field(default_factory=dict)
    waits: dict = field(default_factory=dict)
    outcomes: list[tuple] = field(default_factory=list)
    open_requests: dict = field(default_factory=dict)
    referrals: list[dict] = field(default_factory=list)
    services: list[dict] = field(default_factory=list)
    daily: list[dict] = field(default_factory=list)
    heatmap: dict = field(default_factory=dict)
    side_by_side: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    reminders: dict = field(default_factory=dict)
    appointments: dict = field(default_factory=dict)
    bookings: dict = field(default_factory=dict)
    hires: dict = field(default_factory=dict)
    equal_opportunity: dict | None = None


def range_visits(offices: list[Office], first: dt.date, last: dt.date) -> QuerySet:
    return Visit.objects.filter(office__in=offices, service_date__gte=first, service_date__lte=last)


def gather(**tasks):
    """Run independent queries; on PostgreSQL, outside a transaction, two or three at once.

    Each task runs in a thread with its own connection (returned to the pool afterwards), so
    the month across fifty offices uses both cores of a small server. Inside a transaction
    (a test, or ATOMIC_REQUESTS) other connections would not see its rows: run in turn.
    """
    if (
        connection.vendor != "postgresql"
        or connection.in_atomic_block
        or settings.DASHBOARD_QUERY_THREADS < 2
    ):
        return {name: task() for name, task in tasks.items()}

    def run(task):
        try:
            return task()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=settings.DASHBOARD_QUERY_THREADS) as pool:
        futures = {name: pool.submit(run, task) for name, task in tasks.items()}
        return {name: future.result() for name, future in futures.items()}


def range_figures(
    offices: list[Office],
    first: dt.date,
    last: dt.date,
    *,
    equal_opportunity: bool = False,
    now: dt.datetime | None = None,
) -> Range:
    now = now or timezone.now()
    visits = range_visits(offices, first, last)
    figures = Range(offices=offices, first=first, last=last)
    wait = seconds_between("checked_in_at", "called_at")
    # PostgreSQL ranks in the same pass as it counts; SQLite needs a pass of its own.
    in_db = connection.vendor == "postgresql"
    ranked = {"median": PercentileCont("wait", 0.5), "p90": PercentileCont("wait", 0.9)}

    def per_day():
        # Every tile's count, day by day in the same pass: the range's are their sums.
        return list(
            _annotated(visits)
            .values("service_date")
            .annotate(
                visitors=Count("visitor", distinct=True),
                mean_wait=Avg("wait"),
                **_counts(),
                **(ranked if in_db else {}),
            )
            .order_by("service_date")
        )

    def whole():
        # What does not add up: the people (unduplicated) and the waits' ranks.
        waits = _duration_aggregates("wait", start="checked_in_at", end="called_at")
        row = visits.aggregate(visitors=Count("visitor", distinct=True), **(waits if in_db else {}))
        row["waits"] = (
            _pop_stat(row, "wait")
            if in_db
            else duration_stats(visits, start="checked_in_at", end="called_at")[None]
        )
        return row

    def per_office():
        return list(
            visits.annotate(wait=wait)
            .values("office")
            .annotate(
                **(ranked if in_db else {}),
                visits=Count("pk"),
                visitors=Count("visitor", distinct=True),
                walked_away=Count("pk", filter=Q(status=Status.LEFT)),
                no_shows=Count("pk", filter=Q(status=Status.NO_SHOW)),
                follow_up=Count("pk", filter=Q(outcome=Outcome.FOLLOW_UP)),
                hired=Count("pk", filter=Q(outcome=Outcome.HIRED)),
            )
            .order_by()
        )

    results = gather(
        per_day=per_day,
        per_office=per_office,
        heatmap=lambda: _heatmap(offices, visits),
        whole=whole,
        open_requests=lambda: _open_requests(offices, first, last, now=now),
        referrals=lambda: _referrals(visits),
        services=lambda: _services(visits),
        reminders=lambda: _reminders(offices, first, last),
        appointments=lambda: _appointments(offices, first, last),
        bookings=lambda: _bookings(offices, first, last),
        check_ins=lambda: _hire_check_ins(visits, today=offices[0].local_date(now)),
    )
    days = {r["service_date"]: r for r in results["per_day"]}
    medians = (
        {d: _stat({"n": 0, "max": None, "mean": r["mean_wait"], **{k: r[k] for k in ranked}})
         for d, r in days.items()}
        if in_db
        else duration_stats(visits, start="checked_in_at", end="called_at", group="service_date")
    )  # fmt: skip
    day = first
    while day <= last:
        row = days.get(day, {})
        stat = medians.get(day) or {}
        figures.daily.append({
            "day": day,
            **{k: row.get(k, 0) for k in ("visits", "visitors", "walked_away", "no_shows",
                                          "served")},
            **{k: row.get(f"outcome_{v}", 0) for k, v in (
                ("referred", Outcome.REFERRED), ("follow_up", Outcome.FOLLOW_UP),
                ("hired", Outcome.HIRED))},
            "median_wait": stat.get("median"), "p90_wait": stat.get("p90"),
            "rating": round(row["rating_total"] / row["rated"], 1) if row.get("rated") else None,
        })  # fmt: skip
        day += dt.timedelta(days=1)
    figures.heatmap = results["heatmap"]
    office_stats = (
        {}
        if in_db
        else duration_stats(visits, start="checked_in_at", end="called_at", group="office")
    )
    names = {o.pk: o.name for o in offices}
    for r in results["per_office"]:
        stat = (
            _stat({"n": 0, "max": None, "mean": None, "median": r.pop("median"),
                   "p90": r.pop("p90")})
            if in_db else office_stats.get(r["office"]) or {}
        )  # fmt: skip
        figures.side_by_side.append({
            **r, "name": names[r["office"]], "median_wait": stat.get("median"),
            "p90_wait": stat.get("p90"), "walk_away_share": _share(r["walked_away"], r["visits"]),
        })  # fmt: skip
    figures.side_by_side.sort(key=lambda r: r["name"])
    sums = {key: sum(r[key] or 0 for r in days.values()) for key in _counts()}
    figures.headline = _with_shares(sums) | results["whole"]
    for name in ("outcomes", "waits"):
        setattr(figures, name, figures.headline.pop(name))
    figures.totals = {k: figures.headline[k] for k in ("visits", "visitors")}
    for name in ("open_requests", "referrals", "services"):
        setattr(figures, name, results[name])
    figures.reminders = results["reminders"]
    figures.appointments = results["appointments"]
    figures.bookings = results["bookings"]
    figures.hires = _hires(results["check_ins"], figures.outcomes)
    if equal_opportunity:
        figures.equal_opportunity = _equal_opportunity(visits)
    return figures


def _heatmap(offices: list[Office], visits: QuerySet) -> dict:
    """{(iso weekday, local hour): {"arrivals": n, "mean_wait": minutes}}."""
    cells: dict = {}
    wait = seconds_between("checked_in_at", "called_at")
    if connection.vendor == "postgresql":
        # One pass for every zone: each row's local time in its own office's zone.
        groups = [(visits, LocalPart("isodow"), LocalPart("hour"))]
    else:
        groups = [
            (visits.filter(office__in=group),
             ExtractIsoWeekDay("checked_in_at", tzinfo=group[0].zone),
             ExtractHour("checked_in_at", tzinfo=group[0].zone))
            for group in _by_zone(offices).values()
        ]  # fmt: skip
    for rows, weekday, hour in groups:
        for r in (
            rows.annotate(weekday=weekday, hour=hour, wait=wait)
            .values("weekday", "hour")
            .annotate(n=Count("pk"), waited=Count("wait"), total_wait=Sum("wait"))
            .order_by()
        ):
            cell = cells.setdefault((r["weekday"], r["hour"]), {"arrivals": 0, "waited": 0,
                                                               "total_wait": 0.0})  # fmt: skip
            cell["arrivals"] += r["n"]
            cell["waited"] += r["waited"]
            cell["total_wait"] += float(r["total_wait"] or 0)
    for cell in cells.values():
        cell["mean_wait"] = (
            round(cell["total_wait"] / cell["waited"] / 60, 1) if cell["waited"] else None
        )
    return cells


EO_SMALL_CELL = 5


def _equal_opportunity(visits: QuerySet) -> dict:
    """Counts of visitors by each equal-opportunity answer; cells under 5 are shown as "<5"
    so that no one person can be picked out."""
    records = EqualOpportunityRecord.objects.filter(visitor__in=visits.values("visitor").distinct())
    result = {}
    for name in ("sex", "age_band", "disability", "limited_english"):
        counts = records.values(name).annotate(n=Count("pk")).order_by(name)
        model_field = EqualOpportunityRecord._meta.get_field(name)
        choices = dict(model_field.choices)
        result[str(model_field.verbose_name).capitalize()] = [
            (choices.get(r[name], r[name]), r["n"] if r["n"] >= EO_SMALL_CELL else "<5")
            for r in counts
        ]
    return result
