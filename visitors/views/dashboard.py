"""The manager's dashboard: the day, a range of days, the visits export and a printable report.

Managers and office admins see the offices they hold that role at ("all my offices" or one);
equal-opportunity figures only with the ``people.view_eo_aggregates`` permission, and only as
counts. Charts are SVG drawn here on the server, each with its numbers in a table.
"""

import calendar
import csv
import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from itertools import batched

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from visitors import access, conversations, dashboard
from visitors.access import MAX_RANGE_DAYS
from visitors.offices.models import Office
from visitors.visits.models import Referral, ServiceGiven, Visit

# The chart's drawing area inside its viewBox: room on the left for the value axis, above the
# bars for their values, below for the category labels and the axis' name.
CHART_WIDTH, CHART_HEIGHT = 640, 230
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 48, 632, 30, 190
# Past this many bars, values and every category label would overlap: the table has them.
MOST_LABELLED_BARS = 31
# Open requests the day's screen lists (the count says how many more); the printout lists all.
REQUESTS_LISTED = 25


def _scope(request: HttpRequest) -> tuple[list[Office], list[Office], str]:
    """(offices shown, offices this manager may choose from, the choice as given)."""
    offices = access.managed_offices(request.user)
    if not offices:
        raise PermissionDenied(_("The dashboard is for managers."))
    choice = request.GET.get("office", "all" if len(offices) > 1 else offices[0].slug)
    if choice != "all":
        chosen = [o for o in offices if o.slug == choice]
        if not chosen:
            raise PermissionDenied(_("You do not manage that office."))
        return chosen, offices, choice
    return offices, offices, choice


def _date(value: str, default: dt.date, errors: list, label: str) -> dt.date:
    if not value:
        return default
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors.append(_("%(label)s is not a date (YYYY-MM-DD); showing %(day)s instead.")
                      % {"label": label, "day": default.isoformat()})  # fmt: skip
        return default
    if not dashboard.FIRST_DAY <= day <= dashboard.LAST_DAY:
        errors.append(
            _("%(label)s must be between %(first)s and %(last)s; showing %(day)s instead.")
            % {"label": label, "first": dashboard.FIRST_DAY.isoformat(),
               "last": dashboard.LAST_DAY.isoformat(), "day": default.isoformat()}
        )  # fmt: skip
        return default
    return day


def _today(offices: list[Office]) -> dt.date:
    return offices[0].local_date()


def axis_top(value: float) -> int:
    """The top of a value axis: at least ``value``, round, and even, so that the midpoint
    gridline is a whole number too (2, 4, 6, 8, 10, 12, 16, 20, 24, 30, 40, 50, 60, 80, …)."""
    half = max(float(value), 1.0) / 2
    magnitude = 10 ** math.floor(math.log10(half))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        middle = round(step * magnitude, 6)
        if middle >= half and middle == int(middle):
            return int(2 * middle)
    return int(2 * math.ceil(half))  # unreachable: step 10 always qualifies


def _number(value) -> str:
    return formats.number_format(value, decimal_pos=None if float(value).is_integer() else 1)


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    middle: float  # where its value and its label are centred
    value: str
    label: str  # under the bar
    title: str  # the category's full name
    show_label: bool

    @property
    def value_y(self) -> float:
        return round(self.y - 4, 1)


@dataclass
class Mark:
    """A point on the comparison line, or a tick on the value axis."""

    y: float
    value: str
    x: float = 0.0
    title: str = ""


@dataclass
class BarChart:
    """An SVG bar chart's geometry: both axes named, a value on each bar, an optional line."""

    value_name: str
    category_name: str
    bars: list[Bar]
    ticks: list[Mark]
    points: list[Mark]
    highest: Bar | None  # None when every bar is 0
    total: str
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: int = PLOT_LEFT
    right: int = PLOT_RIGHT
    bottom: int = PLOT_BOTTOM
    tick_x: int = PLOT_LEFT - 6
    legend_x: int = PLOT_LEFT + 140
    category_y: int = PLOT_BOTTOM + 16
    name_y: int = CHART_HEIGHT - 6
    middle_x: float = (PLOT_LEFT + PLOT_RIGHT) / 2

    @property
    def labelled(self) -> bool:
        """Whether each bar carries its value (past MOST_LABELLED_BARS, only the table)."""
        return len(self.bars) <= MOST_LABELLED_BARS

    @property
    def line(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)


def bar_chart(
    rows: list[dict],
    key: str,
    label_key: str,
    *,
    value_name: str,
    category_name: str,
    label=str,
    title=str,
    line_key: str | None = None,
) -> BarChart | None:
    """The chart of ``rows[key]`` by ``rows[label_key]``, with ``rows[line_key]`` as a line for
    comparison. ``label`` turns a category into the short text under its bar, ``title`` into
    its full name."""
    if not rows:
        return None
    values = [r[key] for r in rows] + ([r[line_key] for r in rows] if line_key else [])
    top = axis_top(max(values))
    slot = (PLOT_RIGHT - PLOT_LEFT) / len(rows)
    gap = min(2, slot / 8)
    every = math.ceil(len(rows) / MOST_LABELLED_BARS)

    def y(value) -> float:
        return round(PLOT_BOTTOM - (value / top) * (PLOT_BOTTOM - PLOT_TOP), 1)

    bars, points = [], []
    for i, r in enumerate(rows):
        middle = round(PLOT_LEFT + (i + 0.5) * slot, 1)
        bars.append(
            Bar(
                x=round(PLOT_LEFT + i * slot + gap, 1),
                y=y(r[key]),
                width=round(max(slot - 2 * gap, 0.5), 1),
                height=round(PLOT_BOTTOM - y(r[key]), 1),
                middle=middle,
                value=_number(r[key]),
                label=label(r[label_key]),
                title=title(r[label_key]),
                show_label=i % every == 0,
            )
        )
        if line_key:
            points.append(
                Mark(x=middle, y=y(r[line_key]), value=_number(r[line_key]), title=bars[-1].title)
            )
    highest = max(zip(rows, bars, strict=True), key=lambda pair: pair[0][key])
    return BarChart(
        value_name=value_name,
        category_name=category_name,
        bars=bars,
        ticks=[Mark(y=y(v), value=_number(v)) for v in (0, top // 2, top)],
        points=points,
        highest=highest[1] if highest[0][key] else None,
        total=_number(sum(r[key] for r in rows)),
    )


def hours_chart(figures: dashboard.Day) -> BarChart | None:
    return bar_chart(
        figures.hours,
        "arrivals",
        "hour",
        value_name=_("Arrivals"),
        category_name=_("Hour of the day (local time)"),
        label=lambda h: f"{h:02d}",
        title=lambda h: f"{h:02d}:00",
        line_key="usual" if figures.usual_days else None,  # no usual: no line at 0
    )


def daily_chart(figures: dashboard.Range) -> BarChart | None:
    week = len(figures.daily) <= 7
    return bar_chart(
        figures.daily,
        "visits",
        "day",
        value_name=_("Visits"),
        category_name=_("Day"),
        label=(lambda d: formats.date_format(d, "D j")) if week else (lambda d: str(d.day)),
        title=lambda d: formats.date_format(d, "D j M Y"),
    )


UNANSWERED_LISTED = 25


def _unanswered(offices) -> dict:
    """Texts from visitors that have waited more than a business day for a reply: a question
    nobody answered is the manager's to chase."""
    threads = conversations.unanswered_threads(
        [o.pk for o in offices], conversations.one_business_day_before(offices[0], timezone.now())
    )
    listed = list(threads[: UNANSWERED_LISTED + 1])
    return {"items": listed[:UNANSWERED_LISTED], "more": len(listed) > UNANSWERED_LISTED}


@login_required
@require_GET
def day(request: HttpRequest) -> HttpResponse:
    """The day's figures; as the printable report (``dashboard:report``), every open request."""
    offices, choices, choice = _scope(request)
    errors: list[str] = []
    today = _today(offices)
    day = _date(request.GET.get("date", ""), today, errors, _("Date"))
    printing = request.resolver_match.url_name == "report"
    figures = dashboard.day_figures(
        offices, day, now=timezone.now(), requests_listed=None if printing else REQUESTS_LISTED
    )
    timezone.activate(offices[0].zone)
    context = {
        "figures": figures, "offices": offices, "choices": choices, "choice": choice,
        "day": day, "today": today, "errors": errors,
        "previous": day - dt.timedelta(days=1), "next": day + dt.timedelta(days=1),
        "hours_chart": hours_chart(figures), "printing": printing,
        "open_weekday": dashboard.is_open_on_weekday(offices, day),
        "unanswered": _unanswered(offices) if day == today else None,
    }  # fmt: skip
    if request.htmx and request.GET.get("live"):
        return render(request, "dashboard/day.html#figures", context)
    return render(request, "dashboard/day.html", context)


def _period(request: HttpRequest, today: dt.date, errors: list) -> tuple[str, dt.date, dt.date]:
    period = request.GET.get("period", "week")
    anchor = _date(request.GET.get("date", ""), today, errors, _("Date"))
    if period == "month":
        last_day = calendar.monthrange(anchor.year, anchor.month)[1]
        return period, anchor.replace(day=1), anchor.replace(day=last_day)
    if period == "custom":
        first = _date(request.GET.get("start", ""), today - dt.timedelta(days=29), errors,
                      _("Start"))  # fmt: skip
        last = _date(request.GET.get("end", ""), today, errors, _("End"))
        if last < first:
            errors.append(_("The end is before the start; they were swapped."))
            first, last = last, first
        if (last - first).days >= MAX_RANGE_DAYS:
            errors.append(_("At most %(n)s days at once; showing the last %(n)s.")
                          % {"n": MAX_RANGE_DAYS})  # fmt: skip
            first = last - dt.timedelta(days=MAX_RANGE_DAYS - 1)
        return period, first, last
    monday = anchor - dt.timedelta(days=anchor.weekday())
    return "week", monday, monday + dt.timedelta(days=6)


@login_required
@require_GET
def range_view(request: HttpRequest) -> HttpResponse:
    offices, choices, choice = _scope(request)
    errors: list[str] = []
    period, first, last = _period(request, _today(offices), errors)
    figures = dashboard.range_figures(
        offices, first, last, equal_opportunity=access.can_see_equal_opportunity(request.user)
    )
    timezone.activate(offices[0].zone)
    weekdays = [(i, calendar.day_abbr[i - 1]) for i in range(1, 8)]
    hours = sorted({h for (_w, h) in figures.heatmap}) or []
    busiest = max((c["arrivals"] for c in figures.heatmap.values()), default=0)
    heat = [
        {"weekday": label, "cells": [
            _heat_cell(figures.heatmap.get((w, h)), busiest) for h in hours]}
        for w, label in weekdays
    ]  # fmt: skip
    context = {
        "figures": figures, "offices": offices, "choices": choices, "choice": choice,
        "period": period, "first": first, "last": last, "errors": errors,
        "hours": hours, "heat": heat, "daily_chart": daily_chart(figures),
    }  # fmt: skip
    return render(request, "dashboard/range.html", context)


def _heat_cell(cell: dict | None, busiest: int) -> dict:
    if not cell:
        return {"arrivals": 0, "mean_wait": None, "level": 0}
    level = 0 if not busiest else min(4, 1 + int(4 * cell["arrivals"] / (busiest + 1)))
    return {**cell, "level": level}


class _Echo:
    def write(self, value: str) -> str:
        return value


def _inert(value) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_COLUMNS = [
    "visit_id", "office", "service_date", "ticket", "visitor_id", "first_name", "last_name",
    "status", "source", "priority_of_service", "checked_in_at", "called_at",
    "service_started_at", "greeted_at", "determined_at", "responded_at", "concluded_at",
    "future_reference_at", "ended_at", "wait_minutes", "reasons", "services", "outcome",
    "referrals", "rating",
]  # fmt: skip
STAGE_TIMES = CSV_COLUMNS[10:19]


EXPORT_CHUNK = 5000


def export_rows(visits, offices: list[Office]):
    """The CSV rows, a chunk at a time: plain tuples from a database cursor (no model
    instances), and the reasons, services and referrals of each chunk in three queries."""
    zones = {o.pk: o.zone for o in offices}
    names = {o.pk: o.name for o in offices}
    yield CSV_COLUMNS
    rows = visits.order_by("service_date", "office_id", "ticket_number").values_list(
        "pk", "office_id", "service_date", "ticket_code", "visitor_id", "visitor__first_name",
        "visitor__last_name", "status", "source", "priority", *STAGE_TIMES, "outcome", "rating",
    )  # fmt: skip
    for chunk in batched(rows.iterator(chunk_size=EXPORT_CHUNK), EXPORT_CHUNK):
        ids = [row[0] for row in chunk]
        reasons, services, referrals = defaultdict(list), defaultdict(list), defaultdict(list)
        through = Visit.reasons.through.objects.filter(visit_id__in=ids)
        for visit_id, label in through.values_list("visit_id", "reasonforvisit__label_en"):
            reasons[visit_id].append(label)
        for visit_id, code, name in ServiceGiven.objects.filter(visit_id__in=ids).values_list(
            "visit_id", "service__reporting_code", "service__name"
        ):
            services[visit_id].append(f"{code} {name}")
        for visit_id, partner in Referral.objects.filter(visit_id__in=ids).values_list(
            "visit_id", "partner__name"
        ):
            referrals[visit_id].append(partner)
        for row in chunk:
            pk, office_id, day, ticket, visitor_id, first, last, status, source, priority = row[:10]
            stamps = row[10:19]
            outcome, rating = row[19:]
            zone = zones[office_id]
            times = [t.astimezone(zone).isoformat(timespec="seconds") if t else "" for t in stamps]
            checked_in, called = stamps[0], stamps[1]
            wait = round((called - checked_in).total_seconds() / 60, 1) if called else ""
            yield [
                pk, names[office_id], day.isoformat(), ticket, visitor_id, first, last, status,
                source, "yes" if priority else "no", *times, wait, "; ".join(reasons[pk]),
                "; ".join(services[pk]), outcome, "; ".join(referrals[pk]), rating or "",
            ]  # fmt: skip


@login_required
@require_GET
def export(request: HttpRequest) -> StreamingHttpResponse:
    """Visits of a date range as CSV, streamed: rows are written as the database yields them."""
    offices, _choices, choice = _scope(request)
    errors: list[str] = []
    today = _today(offices)
    first = _date(request.GET.get("start", ""), today, errors, _("Start"))
    last = _date(request.GET.get("end", ""), first, errors, _("End"))
    if errors or last < first or (last - first).days >= MAX_RANGE_DAYS:
        return HttpResponse(
            " ".join(errors) or _("Choose a start and an end at most %(n)s days apart.")
            % {"n": MAX_RANGE_DAYS},
            status=400, content_type="text/plain; charset=utf-8",
        )  # fmt: skip
    writer = csv.writer(_Echo())
    visits = Visit.objects.filter(
        office__in=offices, service_date__gte=first, service_date__lte=last
    )
    stream = (writer.writerow([_inert(v) for v in row]) for row in export_rows(visits, offices))
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    filename = f"visits-{choice}-{first.isoformat()}-{last.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def can_open_dashboard(user) -> bool:
    """For the navigation's context processor (frontdesk/context_processors.py)."""
    return access.can_open_dashboard(user)
