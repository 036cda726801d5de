"""The queries each screen reads: the queue in its order, positions, waits and estimates, and
the stored visitors a typed name may be (recognition's rules applied to the database)."""

import contextlib
import datetime as dt
import functools
import math
import statistics
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from visitors.messaging.models import OfficeMessage
from visitors.offices.models import Office
from visitors.people.models import Visitor, VisitorNameKey
from visitors.people.recognition import (
    CANDIDATE_MIN,
    CANDIDATE_POOL,
    CONFIRM_MIN,
    PART_MIN,
    NameLikeness,
    name_likeness,
    query_keys,
)
from visitors.visits.lifecycle import ACTIVE_STATUSES, Status
from visitors.visits.models import OpenRequest, Visit

DEFAULT_SERVICE_MINUTES = 12.0
# Visitors sharing a name key and the second factor, all scored up to this many (a statewide
# population has several "María García" whose phones end alike; two of them who both fit are
# "several", never one guessed).
FACTOR_POOL = 200
# Ranking by name reads at most KEY_ROWS rows of each key (its lowest visitor ids), fewer when
# the query has many keys (QUERY_ROWS in all, KEY_ROWS_MIN at least). A key with fewer rows is
# *rare* and read whole; one with more is common ("N:garcia|m" has ~4,000 rows among a million
# visitors) and says little on its own. See _candidates.
KEY_ROWS = 200
KEY_ROWS_MIN = 50
QUERY_ROWS = 3000
RECENT_DAYS = 28
RECENT_SAMPLE = 300


# Each queue rule's keys, first to last: (field, descending, nullable). A nullable key sorts its
# empty values last. The line's ORDER BY (queue_order) and "who is ahead of this visit"
# (_ahead_of) are both read off this one list, so a place in line and the line shown agree.
_QUEUE_KEYS: dict[str, list[tuple[str, bool, bool]]] = {
    Office.QueueRule.ARRIVAL: [("checked_in_at", False, False), ("pk", False, False)],
    Office.QueueRule.APPOINTMENTS_FIRST: [
        ("appointment__starts_at", False, True),
        ("priority", True, False),
        ("checked_in_at", False, False),
        ("pk", False, False),
    ],
}
_PRIORITY_KEYS = [
    ("priority", True, False),
    ("appointment__starts_at", False, True),
    ("checked_in_at", False, False),
    ("pk", False, False),
]


def _queue_keys(office: Office) -> list[tuple[str, bool, bool]]:
    return _QUEUE_KEYS.get(office.queue_rule, _PRIORITY_KEYS)


def queue_order(office: Office) -> list:
    """The office's queue rule as an ORDER BY. By default, the veterans' priority of service:
    covered veterans and eligible spouses first, then appointment time, then check-in time."""
    return [
        F(name).asc(nulls_last=True) if nullable else f"-{name}" if descending else name
        for name, descending, nullable in _queue_keys(office)
    ]


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
    line = _line_before(visit, medians=None)
    return None if line is None else line[0] + 1


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
    minutes = {pk: (end - start).total_seconds() / 60 for pk, start, end in rows if start and end}
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
    # When the office closes today, and whether the wait may run past it: then no range is
    # quoted, only "we may not reach you today".
    closes_at: dt.datetime | None = None
    past_closing: bool = False


def wait_estimate(visit: Visit, *, now: dt.datetime | None = None) -> WaitEstimate | None:
    """An honest range of minutes until the visit is called, from who is ahead and how long
    their reasons usually take, shared among the staff on duty."""
    if visit.status != Status.WAITING:
        return None
    medians, staff = _estimate_inputs(visit.office, now=now)
    line = _line_before(visit, medians=medians)
    if line is None:
        return None
    return _range_now(visit.office, line, staff, now=now)


def newcomer_estimate(*, office: Office, now: dt.datetime | None = None) -> WaitEstimate | None:
    """The same range for someone who would join the line now, behind everyone waiting (the
    office's public page); None while the office is closed."""
    now = now or timezone.now()
    if not office.is_open_at(now):
        return None
    medians, staff = _estimate_inputs(office, now=now)
    sql, known = _line_sql(None, tuple(medians))
    day = connection.ops.adapt_datefield_value(office.local_date(now))
    # No visit has id 0: everyone waiting is counted as ahead.
    params = [0, 0, 0, *_median_params(known, medians), office.pk, day, Status.WAITING]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        _none, ahead, minutes = cursor.fetchone()
    return _range_now(office, (ahead or 0, float(minutes or 0.0)), staff, now=now)


# The id of a visit not yet saved (a check-in quoting its wait before its INSERT): it will be
# the highest, so everyone level with it on every other key is ahead.
_PENDING_PK = 2**62


def _line_before(visit: Visit, *, medians: dict | None) -> tuple[int, float] | None:
    """(how many wait ahead of ``visit``, their usual minutes of service in all), counted by the
    database in one statement whatever the length of the line; None when ``visit`` no longer
    waits. Without ``medians``, the count alone. A visit not yet saved is placed where it will
    join."""
    starts = visit.appointment.starts_at if visit.appointment is not None else None
    pending = visit.pk is None
    pk = _PENDING_PK if pending else visit.pk
    mine = {"priority": visit.priority, "appointment__starts_at": starts,
            "checked_in_at": visit.checked_in_at, "pk": pk}  # fmt: skip
    keys = tuple((name, desc, mine[name] is None) for name, desc, _ in _queue_keys(visit.office))
    sql, known = _line_sql(keys, tuple(medians or ()))
    ops = connection.ops
    values = {"priority": visit.priority, "pk": pk,
              "appointment__starts_at": ops.adapt_datetimefield_value(starts),
              "checked_in_at": ops.adapt_datetimefield_value(visit.checked_in_at)}  # fmt: skip
    params: list = [pk, pk]
    if medians is not None:
        params += [pk, *_median_params(known, medians)]
    params += [visit.office_id, ops.adapt_datefield_value(visit.service_date), Status.WAITING]
    for i, (name, _desc, empty) in enumerate(keys):
        params += [values[n] for n, _d, e in keys[:i] if not e]
        if not empty:
            params.append(values[name])
    params.append(pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        me, ahead, minutes = cursor.fetchone()
    if not me and not pending:
        return None
    return ahead or 0, float(minutes or 0.0)


def _median_params(known: tuple, medians: dict) -> list:
    params: list = []
    for reason in known:
        params += [reason, float(medians[reason])]
    return [*params, float(medians[None])]


_COLUMNS = {
    "priority": "v.priority",
    "appointment__starts_at": "a.starts_at",
    "checked_in_at": "v.checked_in_at",
    "pk": "v.id",
}


@functools.lru_cache(maxsize=256)
def _line_sql(keys: tuple | None, reasons: tuple) -> tuple[str, tuple]:
    """The statement _line_before runs, for a queue rule's keys (each with whether the visit's
    own value is empty) and the reasons with a median: its text depends on nothing else.
    Without keys, the whole line."""
    visits, through = Visit._meta.db_table, Visit.reasons.through._meta.db_table
    appointments = Visit._meta.get_field("appointment").related_model._meta.db_table
    known = tuple(r for r in reasons if r is not None)
    ahead: list[str] = []
    level: list[str] = []
    for name, descending, empty in keys or ():
        column = _COLUMNS[name]
        if empty:  # an empty value sorts last: everyone with one is before
            before, same = f"{column} IS NOT NULL", f"{column} IS NULL"
        else:
            before, same = f"{column} {'>' if descending else '<'} %s", f"{column} = %s"
        ahead.append("(" + " AND ".join([*level, before]) + ")")
        level.append(same)
    if reasons:
        cases = " ".join("WHEN %s THEN %s" for _ in known)
        longest = (
            f"(SELECT MAX(CASE r.reasonforvisit_id {cases} END) FROM {through} r"
            " WHERE r.visit_id = v.id)"
            if known
            else "NULL"
        )
        minutes = f"SUM(CASE WHEN v.id = %s THEN 0 ELSE COALESCE({longest}, %s) END)"
    else:
        minutes = "0"
    sql = (
        "SELECT SUM(CASE WHEN v.id = %s THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN v.id = %s THEN 0 ELSE 1 END),"
        f" {minutes}"
        f" FROM {visits} v LEFT JOIN {appointments} a ON a.id = v.appointment_id"
        " WHERE v.office_id = %s AND v.service_date = %s AND v.status = %s"
    )
    if keys is not None:
        sql += f" AND ({' OR '.join(ahead)} OR v.id = %s)"
    return sql, known


def _range_now(office: Office, line: tuple[int, float], staff: int, *, now) -> WaitEstimate:
    now = now or timezone.now()
    ahead, minutes = line
    return _range(ahead, minutes / staff, now=now, closes=office.closes_at(now))


def line_estimates(
    *, office: Office, day: dt.date | None = None, now=None, upto: set[int] | None = None
) -> dict:
    """Every waiting visit's estimate in one pass ({visit id: WaitEstimate}): for asking about
    many at once (who on the way should head in now) without going over the line for each.
    With ``upto``, the pass stops once it has reached all of those visits."""
    medians, staff = _estimate_inputs(office, now=now)
    now = now or timezone.now()
    waiting = queue_waiting(office=office, day=day or office.local_date(now))
    ids = list(waiting.values_list("pk", flat=True))
    minutes = _service_minutes_each(office, waiting, now=now, medians=medians)
    closes = office.closes_at(now)
    left = set(upto) if upto is not None else None
    estimates, total = {}, 0.0
    for place, visit_id in enumerate(ids):
        estimates[visit_id] = _range(place, total / staff, now=now, closes=closes)
        total += minutes(visit_id)
        if left is not None:
            left.discard(visit_id)
            if not left:
                break
    return estimates


# The estimate's slow-moving inputs — median minutes of service per reason over four weeks, and
# how many staff called someone in the last 90 minutes — are kept this long per office, and
# forgotten at once when a visit finishes or someone is called (visitors.effects).
ESTIMATE_INPUTS_SECONDS = 60


def estimate_inputs_key(office_id: int) -> str:
    return f"estimate-inputs:{office_id}"


def _estimate_inputs(office: Office, *, now) -> tuple[dict, int]:
    """(medians by reason, staff on duty), from the cache when it has them for now."""
    if now is not None:  # a question about another moment: worked out for it
        return service_minutes_by_reason(office=office, now=now), staff_on_duty(
            office=office, now=now
        )
    key = estimate_inputs_key(office.pk)
    try:
        cached = cache.get(key)
    except Exception:  # noqa: BLE001 — no cache: work them out
        cached = None
    if cached is not None and cached[0] == office.created_at.timestamp():
        return cached[1], cached[2]
    medians = service_minutes_by_reason(office=office)
    staff = staff_on_duty(office=office)
    with contextlib.suppress(Exception):  # no cache: worked out again next time
        cache.set(key, (office.created_at.timestamp(), medians, staff), ESTIMATE_INPUTS_SECONDS)
    return medians, staff


def _service_minutes_each(office: Office, waiting, *, now, medians=None):
    """A function giving the usual minutes of service of a waiting visit, from its reasons."""
    reasons_of: dict[int, list[int]] = {}
    for visit_id, reason_id in Visit.reasons.through.objects.filter(
        visit__in=waiting.order_by()
    ).values_list("visit_id", "reasonforvisit_id"):
        reasons_of.setdefault(visit_id, []).append(reason_id)
    if medians is None:
        medians = service_minutes_by_reason(office=office, now=now)
    return _minutes_each(reasons_of, medians)


def _minutes_each(reasons_of: dict[int, list[int]], medians: dict):
    def minutes(visit_id: int) -> float:
        known = [medians[r] for r in reasons_of.get(visit_id, []) if r in medians]
        return max(known) if known else medians[None]

    return minutes


def _range(ahead: int, per_desk: float, *, now, closes) -> WaitEstimate:
    per_desk = round(per_desk, 6)  # the same range whichever order the minutes were added in
    low = 5 * math.floor(per_desk * 0.7 / 5)
    high = max(low + 5, 5 * math.ceil(per_desk * 1.3 / 5))
    past_closing = closes is not None and now + dt.timedelta(minutes=high) > closes
    return WaitEstimate(
        ahead=ahead, low=low, high=high, closes_at=closes, past_closing=past_closing
    )


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
    """The visitor's visit still open at the office (at most one: an index says so)."""
    # Asked at every returning visitor's check-in, and nearly always none: the id first (a
    # short statement, no model built), the whole visit only when there is one.
    found = (
        Visit.objects.filter(office=office, visitor=visitor, status__in=ACTIVE_STATUSES)
        .values_list("pk", flat=True)
        .first()
    )
    return None if found is None else Visit.objects.get(pk=found)


@dataclass(frozen=True)
class Board:
    version: int
    waiting: list
    serving: list
    done: list

    @property
    def here(self) -> list:
        """Waiting in the building (everyone but those who joined from a phone and are on their
        way)."""
        return [visit for visit in self.waiting if not visit.on_the_way]

    @property
    def on_the_way(self) -> list:
        return [visit for visit in self.waiting if visit.on_the_way]


def console_board(*, office: Office) -> Board:
    """Everything the console's queue shows, in a fixed number of queries.

    The version is read first: a change committed while the rows are read shows in them under
    the older number, so every console asks again at its next poll (read last, such a change
    would wear the newer number and never be fetched)."""
    version = Office.objects.values_list("queue_version", flat=True).get(pk=office.pk)
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
    # The place they gave up earlier today (left or no-show), for "give their place back".
    gave_up = Visit.objects.filter(
        office=office,
        service_date=day,
        visitor=OuterRef("visitor"),
        status__in=[Status.LEFT, Status.NO_SHOW],
        checked_in_at__lt=OuterRef("checked_in_at"),
    ).order_by("checked_in_at")
    base = (
        Visit.objects.filter(office=office, service_date=day)
        .select_related("visitor", "called_by", "assigned_to", "appointment")
        .prefetch_related("reasons")
        .annotate(
            open_requests=Coalesce(Subquery(open_requests), Value(0), output_field=IntegerField()),
            returning=Exists(earlier),
        )
    )
    waiting = list(
        base.filter(status=Status.WAITING)
        .annotate(
            gave_up_pk=Subquery(gave_up.values("pk")[:1]),
            gave_up_code=Subquery(gave_up.values("ticket_code")[:1]),
            gave_up_status=Subquery(gave_up.values("status")[:1]),
        )
        .order_by(*queue_order(office))
    )
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
    return Board(version=version, waiting=waiting, serving=serving, done=done)


def for_you_waiting(*, office: Office, user) -> list:
    """The waiting visits that are this staff member's (as ``for_you``), in one query of their
    own: the shared board is the same for everyone and comes from the cache."""
    mine = Q(assigned_to=user) | Q(assigned_to__isnull=True, appointment__staff=user)
    return list(queue_waiting(office=office).filter(mine).select_related("visitor", "appointment"))


def for_you(board: Board, user) -> list:
    """The waiting visits that are this staff member's: handed over to them, or their
    appointment (unless handed to someone else)."""
    return [
        visit
        for visit in board.waiting
        if visit.assigned_to_id == user.pk
        or (
            visit.assigned_to_id is None
            and visit.appointment_id
            and visit.appointment.staff_id == user.pk
        )
    ]


def queue_version(*, office_id: int) -> int:
    return Office.objects.values_list("queue_version", flat=True).get(pk=office_id)


# --- Matching against stored visitors -----------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    visitor: Visitor
    score: float
    confirmed: bool


def second_factor_matches(
    visitor, *, phone_last4: str = "", birth_date: dt.date | None = None, birth_month_day=None
) -> bool:
    """True when at least one second factor is given and every one given agrees with the record
    (which must have it): phone digits and a birthday that disagrees confirm nobody."""
    month_day = birth_month_day or ((birth_date.month, birth_date.day) if birth_date else None)
    if not phone_last4 and not month_day:
        return False
    if phone_last4 and phone_last4 != visitor.phone_last4:
        return False
    if month_day:
        if visitor.birth_date is None:
            return False
        return (visitor.birth_date.month, visitor.birth_date.day) == tuple(month_day)
    return True


def _column(model, name: str) -> str:
    """A concrete field's database column."""
    column = getattr(model._meta.get_field(name), "column", None)
    if not column:
        raise ValueError(f"{model.__name__}.{name} has no column")
    return column


def _candidates(keys: set[str], *, phone_last4: str, month_day: int | None) -> list[Visitor]:
    """The visitors to score for a query, in one statement of bounded cost: the CANDIDATE_POOL
    sharing most of ``keys``, and everyone sharing a key and the second factor given.

    By name, visitors are ranked by how many of the keys they share (then by id), as when every
    row of every key was counted, but each key is read only up to its first rows (KEY_ROWS, by
    visitor id):

    - when a key was cut short, everyone found through a *rare* key (one read whole) has the
      keys they share counted in full from the ``(visitor, key)`` index, so a rare surname with
      a very common first name (John Sobeve, whose "john" keys have thousands of rows) still
      ranks first;
    - anyone else is counted over the rows read: among the thousands sharing only common keys
      (hundreds of María García), those with the lowest ids, as the full count would pick.

    When no key has that many rows (any population up to tens of thousands) this is exactly the
    full count. By the second factor: every visitor on a key row with the query's key and the
    factor (the rows carry them; index ``(key, phone_last4, visitor)`` or ``(key,
    birth_month_day, visitor)``), up to FACTOR_POOL. PostgreSQL reads the keys in a LATERAL
    join (one plan whatever their number); SQLite in a UNION ALL of the same subqueries.
    """
    quote = connection.ops.quote_name
    table, key = quote(VisitorNameKey._meta.db_table), quote("key")
    keys_sorted = sorted(keys)
    per_key = max(KEY_ROWS_MIN, min(KEY_ROWS, QUERY_ROWS // len(keys_sorted)))
    marks = ", ".join(["%s"] * len(keys_sorted))
    first_rows = (
        f"SELECT visitor_id, COUNT(*) OVER () AS key_rows FROM (SELECT visitor_id FROM {table} "
        f"WHERE {key} = {{key}} ORDER BY visitor_id LIMIT %s) AS first_rows"
    )
    if connection.vendor == "postgresql":
        capped = (
            f"SELECT capped.visitor_id, capped.key_rows FROM unnest(%s::varchar[]) AS query({key}) "
            f"CROSS JOIN LATERAL ({first_rows.format(key=f'query.{key}')}) AS capped"
        )
        params: list = [keys_sorted, per_key]
    else:
        capped = " UNION ALL ".join([f"SELECT * FROM ({first_rows.format(key='%s')})"] * len(keys))
        params = [value for k in keys_sorted for value in (k, per_key)]
    params += [per_key, per_key, *keys_sorted, CANDIDATE_POOL]
    by_factor = ""
    if phone_last4 or month_day is not None:
        factor = [("phone_last4", phone_last4), ("birth_month_day", month_day)]
        given = [(column, value) for column, value in factor if value not in ("", None)]
        where = "".join(f" AND {quote(column)} = %s" for column, _value in given)
        by_factor = (
            f"UNION SELECT visitor_id FROM (SELECT DISTINCT visitor_id FROM {table} "
            f"WHERE {key} IN ({marks}){where} LIMIT %s) AS by_factor"
        )
        params += [*keys_sorted, *(value for _column, value in given), FACTOR_POOL]
    meta = Visitor._meta
    fields = ["id", "first_name", "last_name", "preferred_name", "phone_last4", "birth_date",
              "priority_category"]  # fmt: skip
    columns = ", ".join(quote(_column(Visitor, f)) for f in [*fields, "last_seen_at"])
    sql = f"""
        WITH capped AS MATERIALIZED ({capped}),
        rare AS MATERIALIZED (
            SELECT DISTINCT visitor_id FROM capped
            WHERE key_rows < %s AND EXISTS (SELECT 1 FROM capped WHERE key_rows >= %s)
        ),
        shared AS (
            SELECT visitor_id, SUM(CASE WHEN {key} IN ({marks}) THEN 1 ELSE 0 END) AS hits
            FROM {table} WHERE visitor_id IN (SELECT visitor_id FROM rare) GROUP BY visitor_id
            UNION ALL
            SELECT visitor_id, COUNT(*) AS hits FROM capped
            WHERE visitor_id NOT IN (SELECT visitor_id FROM rare) GROUP BY visitor_id
        ),
        pool AS (
            SELECT visitor_id FROM (
                SELECT visitor_id FROM shared ORDER BY hits DESC, visitor_id LIMIT %s
            ) AS by_name
            {by_factor}
        )
        SELECT {columns} FROM {quote(meta.db_table)}
        WHERE {quote(_column(Visitor, "id"))} IN (SELECT visitor_id FROM pool)
        AND {quote(_column(Visitor, "merged_into"))} IS NULL
    """
    # raw(): model instances with the database's conversions (SQLite's times made aware).
    return list(Visitor.objects.raw(sql, params))


def visitor_match(
    *,
    first_name: str,
    last_name: str,
    phone_last4: str = "",
    birth_date: dt.date | None = None,
    birth_month_day: tuple[int, int] | None = None,
    limit: int = 10,
) -> list[Candidate]:
    """Rank stored visitors by likeness to the name; mark those the second factor confirms."""
    keys = query_keys(first_name, last_name)
    if not keys:
        return []
    # Everyone who shares a key and the second factor is scored, however common the name and
    # however far down the key ranking: confirming one of two people who both fit would greet
    # the wrong one. (Counted over all of them, not a shortlist.)
    month_day = birth_month_day or ((birth_date.month, birth_date.day) if birth_date else None)
    visitors = _candidates(
        keys,
        phone_last4=phone_last4,
        month_day=month_day[0] * 100 + month_day[1] if month_day else None,
    )
    ranked = []
    # A common name brings the same stored name many times (40 "María García"): scored once.
    likeness_of: dict[tuple[str, str, str], NameLikeness] = {}
    for visitor in visitors:
        names = (visitor.first_name, visitor.last_name, visitor.preferred_name)
        likeness = likeness_of.get(names)
        if likeness is None:
            likeness = likeness_of[names] = name_likeness(first_name, last_name, *names)
        score = likeness.score
        if score < CANDIDATE_MIN:
            continue
        names_agree = score >= CONFIRM_MIN and min(likeness.given, likeness.family) >= PART_MIN
        confirmed = names_agree and second_factor_matches(
            visitor,
            phone_last4=phone_last4,
            birth_date=birth_date,
            birth_month_day=birth_month_day,
        )
        ranked.append(Candidate(visitor=visitor, score=round(score, 4), confirmed=confirmed))
    ranked.sort(key=lambda c: (-c.score, -c.visitor.last_seen_at.timestamp(), c.visitor.pk))
    # Every confirmed candidate is returned, past the limit too: callers count them, and two
    # is "several" (never greeted), not one.
    return ranked[:limit] + [c for c in ranked[limit:] if c.confirmed]


# --- Messages to everyone waiting ---------------------------------------------------------------


def office_messages_live(*, office_id: int, now: dt.datetime | None = None) -> list:
    """The office's messages still showing, newest first."""
    now = now or timezone.now()
    return list(OfficeMessage.objects.filter(office_id=office_id, expires_at__gt=now)[:3])
