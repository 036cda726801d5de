"""The manager's dashboard figures, for one office: a day, or a range of days.

Computed by visitors.dashboard exactly as the web dashboard is; like it, only for managers and
office admins (the token maker's role at the office), and equal-opportunity counts only when
its maker holds ``people.view_eo_aggregates``.
"""

import datetime as dt

from django.utils import timezone
from ninja import Query, Router

from visitors import dashboard
from visitors.access import MANAGING_ROLES, MAX_RANGE_DAYS, can_see_equal_opportunity
from visitors.api.auth import actor, office_access
from visitors.api.common import OfficeSlug
from visitors.api.errors import ApiError, responses
from visitors.api.schemas import FIRST_DAY, LAST_DAY, DayOut, RangeOut

router = Router(tags=["Dashboard"])


def _day_out(office, figures: dashboard.Day) -> dict:
    return {
        "office": office.slug,
        "day": figures.day,
        "is_today": figures.is_today,
        "headline": figures.headline,
        "hours": figures.hours,
        "waits": figures.waits,
        "service": figures.service,
        "by_reason": figures.by_reason,
        "outcomes": [
            {"outcome": value, "label": str(label), "count": n}
            for value, label, n in figures.outcomes
        ],
        "open_requests": {
            "count": figures.open_requests["count"],
            "oldest": figures.open_requests["oldest"],
        },
        "referrals": [
            {"partner": r["partner__name"], "referrals": r["n"], "people": r["people"]}
            for r in figures.referrals
        ],
        "services": [
            {
                "reporting_code": s["service__reporting_code"],
                "name": s["service__name"],
                "staff_assisted": s["service__staff_assisted"],
                "count": s["n"],
            }
            for s in figures.services
        ],  # fmt: skip
        "reminders": figures.reminders,
        "appointments": figures.appointments,
        "bookings": figures.bookings,
        "staff": [
            {
                "username": s["called_by__username"],
                "first_name": s["called_by__first_name"],
                "last_name": s["called_by__last_name"],
                "seen": s["seen"],
                "served": s["served"],
            }
            for s in figures.staff
        ],  # fmt: skip
    }


@router.get(
    "/offices/{office}/dashboard/day",
    response=responses({200: DayOut}),
    summary="The dashboard's figures for a day",
    description="Arrivals by hour against the usual, waits and service times (minutes), "
    "outcomes, open requests, referrals, services by reporting code, reminders, appointments "
    "and staff on duty, for the office's local ``date`` (default today). Managers and office "
    "admins only.",
)
def day(
    request,
    office: OfficeSlug,
    date: dt.date | None = Query(None, ge=FIRST_DAY, le=LAST_DAY),  # noqa: B008
):
    office, _membership = office_access(request, office, roles=MANAGING_ROLES)
    figures = dashboard.day_figures([office], date or office.local_date(), now=timezone.now())
    return _day_out(office, figures)


@router.get(
    "/offices/{office}/dashboard/range",
    response=responses({200: RangeOut}),
    summary="The dashboard's figures for a range of days",
    description="Day by day, a weekday × hour heatmap of arrivals and mean waits, and totals, "
    f"for the office's local days ``start``..``end`` (at most {MAX_RANGE_DAYS} days; default the "
    "last 7). Managers and office admins only.",
)
def range_(
    request,
    office: OfficeSlug,
    start: dt.date | None = Query(None, ge=FIRST_DAY, le=LAST_DAY),  # noqa: B008
    end: dt.date | None = Query(None, ge=FIRST_DAY, le=LAST_DAY),  # noqa: B008
):
    office, _membership = office_access(request, office, roles=MANAGING_ROLES)
    last = end or office.local_date()
    first = start or last - dt.timedelta(days=6)
    if last < first or (last - first).days >= MAX_RANGE_DAYS:
        raise ApiError(
            422, "Some fields are not valid; see fields.",
            fields={"end": [f"Must be on or after start, at most {MAX_RANGE_DAYS} days in all."]},
        )  # fmt: skip
    eo = can_see_equal_opportunity(actor(request))
    figures = dashboard.range_figures([office], first, last, equal_opportunity=eo)
    return {
        "office": office.slug,
        "start": first,
        "end": last,
        "totals": figures.totals,
        "daily": figures.daily,
        "heatmap": [
            {
                "weekday": weekday,
                "hour": hour,
                "arrivals": cell["arrivals"],
                "mean_wait": cell["mean_wait"],
            }
            for (weekday, hour), cell in sorted(figures.heatmap.items())
        ],  # fmt: skip
        "reminders": figures.reminders,
        "appointments": figures.appointments,
        "bookings": figures.bookings,
        "equal_opportunity": None
        if figures.equal_opportunity is None
        else {
            label: [{"answer": str(answer), "count": count} for answer, count in rows]
            for label, rows in figures.equal_opportunity.items()
        },
    }
