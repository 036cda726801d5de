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
    BooleanField,
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

from visitors.followups.models import Appointment, AppointmentState
from visitors.messaging.models import Reminder, ReminderState
from visitors.offices.models import Office
from visitors.people.models import EqualOpportunityRecord
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import OpenRequest, Referral, ServiceGiven, Visit

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
    waits: dict = field(default_factory=dict)
    service: dict = field(default_factory=dict)
    by_reason: list[dict] = field(default_factory=list)
    outcomes: list[tuple] = field(default_factory=list)
    open_requests: dict = field(default_factory=dict)
    referrals: list[dict] = field(default_factory=list)
    services: list[dict] = field(default_factory=list)
    reminders: dict = field(default_factory=dict)
    appointments: dict = field(default_factory=dict)
    staff: list[dict] = field(default_factory=list)


def day_visits(offices: list[Office], day: dt.date) -> QuerySet:
    return Visit.objects.filter(office__in=offices, service_date=day)


def day_figures(offices: list[Office], day: dt.date, *, now: dt.datetime) -> Day:
    visits = day_visits(offices, day)
    is_today = any(o.local_date(now) == day for o in offices)
    figures = Day(offices=offices, day=day, is_today=is_today)
    figures.headline = _headline(visits, now=now)
    figures.hours = _arrivals_by_hour(offices, day)
    figures.waits = duration_stats(visits, start="checked_in_at", end="called_at")[None]
    figures.service = duration_stats(visits, start="service_started_at", end="ended_at")[None]
    figures.by_reason = _by_reason(visits)
    figures.outcomes = _outcomes(visits)
    figures.open_requests = _open_requests(offices)
    figures.referrals = list(
        Referral.objects.filter(visit__in=visits)
        .values("partner__name")
        .annotate(n=Count("pk"), people=Count("visit__visitor", distinct=True))
        .order_by("-n", "partner__name")
    )
    figures.services = list(
        ServiceGiven.objects.filter(visit__in=visits)
        .values("service__reporting_code", "service__name", "service__staff_assisted")
        .annotate(n=Count("pk"))
        .order_by("service__reporting_code")
    )
    figures.reminders = _reminders(offices, day, day)
    figures.appointments = _appointments(offices, day, day)
    figures.staff = list(
        visits.filter(called_by__isnull=False)
        .values("called_by__username", "called_by__first_name", "called_by__last_name")
        .annotate(served=Count("pk", filter=Q(status=Status.DONE)), seen=Count("pk"))
        .order_by("called_by__last_name", "called_by__first_name", "called_by__username")
    )
    return figures


def _headline(visits: QuerySet, *, now: dt.datetime) -> dict:
    wait = seconds_between("checked_in_at", "called_at")
    # Returning: came on an earlier day (a second visit the same day is not "returning").
    earlier = Visit.objects.filter(
        visitor=OuterRef("visitor"), service_date__lt=OuterRef("service_date")
    )
    quoted = Q(quoted_wait_max__isnull=False, called_at__isnull=False)
    row = visits.annotate(
        wait=wait,
        returning=Exists(earlier),
        target=F("office__wait_target_minutes") * Value(60.0),
        quote_low=F("quoted_wait_min") * Value(60.0),
        quote_high=F("quoted_wait_max") * Value(60.0),
    ).aggregate(
        visits=Count("pk"),
        visitors=Count("visitor", distinct=True),
        new_visitors=Count("visitor", distinct=True, filter=Q(returning=False)),
        returning_visitors=Count("visitor", distinct=True, filter=Q(returning=True)),
        waiting=Count("pk", filter=Q(status=Status.WAITING)),
        oldest_waiting=Min("checked_in_at", filter=Q(status=Status.WAITING)),
        served=Count("pk", filter=Q(status=Status.DONE)),
        walked_away=Count("pk", filter=Q(status=Status.LEFT)),
        no_shows=Count("pk", filter=Q(status=Status.NO_SHOW)),
        called=Count("pk", filter=Q(called_at__isnull=False)),
        over_target=Count("pk", filter=Q(called_at__isnull=False, wait__gt=F("target"))),
        quoted=Count("pk", filter=quoted),
        within_quote=Count(
            "pk", filter=quoted & Q(wait__gte=F("quote_low"), wait__lte=F("quote_high"))
        ),
        longer_than_quoted=Count("pk", filter=quoted & Q(wait__gt=F("quote_high"))),
        shorter_than_quoted=Count("pk", filter=quoted & Q(wait__lt=F("quote_low"))),
        covered=Count("pk", filter=Q(priority__gt=0)),
        covered_served_ahead=Count("pk", filter=Q(served_ahead=True)),
        rated=Count("rating"),
        rating=Avg("rating"),
    )
    oldest = row.pop("oldest_waiting")
    row["longest_wait_now"] = (
        round((now - oldest).total_seconds() / 60) if oldest is not None else None
    )
    row["over_target_share"] = _share(row["over_target"], row["called"])
    row["within_quote_share"] = _share(row["within_quote"], row["quoted"])
    # A visitor called sooner than quoted was not let down: the promise kept is "no longer".
    row["no_longer_than_quoted_share"] = _share(
        row["quoted"] - row["longer_than_quoted"], row["quoted"]
    )
    row["rating"] = None if row["rating"] is None else round(float(row["rating"]), 1)
    return row


def _share(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


def _arrivals_by_hour(offices: list[Office], day: dt.date) -> list[dict]:
    """Arrivals per local hour, against the average of the same weekday in the weeks before."""
    today: dict = defaultdict(int)
    before: dict = defaultdict(int)
    earlier_days = [day - dt.timedelta(weeks=w) for w in range(1, WEEKS_COMPARED + 1)]
    for group in _by_zone(offices).values():
        tz = group[0].zone
        rows = (
            Visit.objects.filter(office__in=group, service_date__in=[day, *earlier_days])
            .annotate(
                hour=ExtractHour("checked_in_at", tzinfo=tz),
                today=ExpressionWrapper(Q(service_date=day), output_field=BooleanField()),
            )
            .values("hour", "today")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for r in rows:
            (today if r["today"] else before)[r["hour"]] += r["n"]
    hours = sorted(set(today) | set(before))
    if not hours:
        return []
    return [
        {"hour": h, "arrivals": today.get(h, 0),
         "usual": round(before.get(h, 0) / WEEKS_COMPARED, 1)}
        for h in range(min(hours), max(hours) + 1)
    ]  # fmt: skip


def _by_reason(visits: QuerySet) -> list[dict]:
    group = "reasons__label_en"
    waits = duration_stats(visits, start="checked_in_at", end="called_at", group=group)
    service = duration_stats(visits, start="service_started_at", end="ended_at", group=group)
    counts = dict(visits.values(group).annotate(n=Count("pk")).values_list(group, "n").order_by())
    rows = []
    for label in sorted(counts, key=lambda x: (x is None, x or "")):
        rows.append({"reason": label, "visits": counts[label], "wait": waits.get(label),
                     "service": service.get(label)})  # fmt: skip
    return rows


def _outcomes(visits: QuerySet) -> list[tuple]:
    counts = dict(
        visits.exclude(outcome="").values("outcome").annotate(n=Count("pk"))
        .values_list("outcome", "n").order_by()
    )  # fmt: skip
    return [(value, label, counts.get(value, 0)) for value, label in Outcome.choices]


def _open_requests(offices: list[Office]) -> dict:
    open_ = OpenRequest.objects.filter(office__in=offices, state=OpenRequest.State.OPEN)
    summary = open_.aggregate(count=Count("pk"), oldest=Min("created_at"))
    summary["items"] = list(open_.select_related("visitor", "office").order_by("created_at")[:25])
    return summary


def _reminders(offices: list[Office], first: dt.date, last: dt.date) -> dict:
    rows = Reminder.objects.filter(office__in=offices)
    sent = rows.filter(_local_window(offices, first, last, "sent_at"), state=ReminderState.SENT)
    due = rows.filter(_local_window(offices, first, last, "due_at"))
    counts = due.aggregate(
        failed=Count("pk", filter=Q(state=ReminderState.FAILED)),
        pending=Count("pk", filter=Q(state__in=[ReminderState.SCHEDULED, ReminderState.SENDING])),
        cancelled=Count("pk", filter=Q(state=ReminderState.CANCELLED)),
    )
    counts["sent"] = sent.count()
    return counts


def _appointments(offices: list[Office], first: dt.date, last: dt.date) -> dict:
    rows = Appointment.objects.filter(_local_window(offices, first, last, "starts_at"))
    counts = dict(rows.values("state").annotate(n=Count("pk")).values_list("state", "n").order_by())
    return {state: counts.get(state, 0) for state in AppointmentState.values}


# --- A range of days -------------------------------------------------------------------------


@dataclass
class Range:
    offices: list[Office]
    first: dt.date
    last: dt.date
    daily: list[dict] = field(default_factory=list)
    heatmap: dict = field(default_factory=dict)
    side_by_side: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    reminders: dict = field(default_factory=dict)
    appointments: dict = field(default_factory=dict)
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
    offices: list[Office], first: dt.date, last: dt.date, *, equal_opportunity: bool = False
) -> Range:
    visits = range_visits(offices, first, last)
    figures = Range(offices=offices, first=first, last=last)
    wait = seconds_between("checked_in_at", "called_at")
    # PostgreSQL ranks in the same pass as it counts; SQLite needs a pass of its own.
    in_db = connection.vendor == "postgresql"
    ranked = {"median": PercentileCont("wait", 0.5), "p90": PercentileCont("wait", 0.9)}

    def per_day():
        return list(
            visits.annotate(wait=wait)
            .values("service_date")
            .annotate(
                visits=Count("pk"),
                visitors=Count("visitor", distinct=True),
                walked_away=Count("pk", filter=Q(status=Status.LEFT)),
                no_shows=Count("pk", filter=Q(status=Status.NO_SHOW)),
                served=Count("pk", filter=Q(status=Status.DONE)),
                referred=Count("pk", filter=Q(outcome=Outcome.REFERRED)),
                follow_up=Count("pk", filter=Q(outcome=Outcome.FOLLOW_UP)),
                hired=Count("pk", filter=Q(outcome=Outcome.HIRED)),
                rating=Avg("rating"),
                mean_wait=Avg("wait"),
                **(ranked if in_db else {}),
            )
            .order_by("service_date")
        )

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
        totals=lambda: visits.aggregate(
            visits=Count("pk"), visitors=Count("visitor", distinct=True)
        ),
        reminders=lambda: _reminders(offices, first, last),
        appointments=lambda: _appointments(offices, first, last),
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
        rating = row.get("rating")
        figures.daily.append({
            "day": day,
            **{k: row.get(k, 0) for k in ("visits", "visitors", "walked_away", "no_shows",
                                          "served", "referred", "follow_up", "hired")},
            "median_wait": stat.get("median"), "p90_wait": stat.get("p90"),
            "rating": None if rating is None else round(float(rating), 1),
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
    figures.totals = results["totals"]
    figures.reminders = results["reminders"]
    figures.appointments = results["appointments"]
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
