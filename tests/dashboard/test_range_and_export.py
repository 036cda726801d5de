"""The dashboard over a range of days, offices side by side, and the streamed CSV export."""

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.dashboard.test_day import local, visit
from tests.factories import MembershipFactory, UserFactory, VisitorFactory
from visitors import dashboard
from visitors.offices.models import ReasonForVisit, ReferralPartner, Service, StaffRole
from visitors.people.models import EqualOpportunityRecord
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import Referral, ServiceGiven

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 3, 2)


@pytest.fixture
def week(office, other_office, counsellor):
    """Riverside: Monday 2 arrivals (waits 10 and 20 min), Wednesday 1 walk-away.
    Hillside: Monday 1 arrival (wait 40 min), hired."""
    visit(office, VisitorFactory(), MONDAY, (9, 0), called=(9, 10),
          service=((9, 10), (9, 30)), outcome=Outcome.RESOLVED, by=counsellor)  # fmt: skip
    visit(office, VisitorFactory(), MONDAY, (9, 30), called=(9, 50),
          service=((9, 50), (10, 0)), outcome=Outcome.FOLLOW_UP, by=counsellor)  # fmt: skip
    visit(office, VisitorFactory(), MONDAY + dt.timedelta(days=2), (14, 0), status=Status.LEFT)
    visit(other_office, VisitorFactory(), MONDAY, (9, 0), called=(9, 40),
          service=((9, 40), (10, 0)), outcome=Outcome.HIRED)  # fmt: skip


def test_a_week_day_by_day_heatmap_and_offices_side_by_side(office, other_office, week):
    f = dashboard.range_figures([office, other_office], MONDAY, MONDAY + dt.timedelta(days=6))
    assert [d["visits"] for d in f.daily] == [3, 0, 1, 0, 0, 0, 0]
    assert f.daily[0]["median_wait"] == 20.0  # 10, 20, 40
    assert f.daily[2]["walked_away"] == 1
    assert (f.daily[0]["served"], f.daily[0]["follow_up"], f.daily[0]["hired"]) == (3, 1, 1)
    assert f.totals == {"visits": 4, "visitors": 4}
    assert f.heatmap[(1, 9)] == {"arrivals": 3, "waited": 3, "total_wait": pytest.approx(4200),
                                 "mean_wait": 23.3}  # fmt: skip
    assert f.heatmap[(3, 14)]["arrivals"] == 1 and f.heatmap[(3, 14)]["mean_wait"] is None
    sides = {o["name"]: o for o in f.side_by_side}
    assert sides["Riverside Job Center"]["visits"] == 3
    assert sides["Riverside Job Center"]["median_wait"] == 15.0
    assert sides["Riverside Job Center"]["walk_away_share"] == 33.3
    assert (sides["Hillside Job Center"]["hired"], sides["Hillside Job Center"]["p90_wait"]) == (
        1, 40.0)  # fmt: skip
    assert f.equal_opportunity is None


def test_equal_opportunity_figures_only_as_counts_and_only_with_the_permission(
    client, office, manager, week
):
    for i in range(6):
        person = VisitorFactory()
        visit(office, person, MONDAY, (11, i), status=Status.LEFT)
        EqualOpportunityRecord.objects.create(visitor=person, sex="female" if i else "male",
                                              recorded_by=manager)  # fmt: skip
    client.force_login(manager)
    url = reverse("dashboard:range")
    page = client.get(url, {"date": MONDAY.isoformat()})
    assert page.context["figures"].equal_opportunity is None
    assert "Equal opportunity" not in page.text
    manager.user_permissions.add(Permission.objects.get(codename="view_eo_aggregates"))
    manager = type(manager).objects.get(pk=manager.pk)  # drop the permission cache
    client.force_login(manager)
    page = client.get(url, {"date": MONDAY.isoformat()})
    sexes = dict(page.context["figures"].equal_opportunity["Sex"])
    assert sexes == {"Female": 5, "Male": "<5"}  # one person is never singled out


def test_a_month_and_a_custom_range_and_what_is_refused(client, office, manager):
    client.force_login(manager)
    url = reverse("dashboard:range")
    month = client.get(url, {"period": "month", "date": "2026-02-14"})
    assert (month.context["first"], month.context["last"]) == (dt.date(2026, 2, 1),
                                                               dt.date(2026, 2, 28))  # fmt: skip
    swapped = client.get(url, {"period": "custom", "start": "2026-03-10", "end": "2026-03-01"})
    swapped_range = (swapped.context["first"], swapped.context["last"])
    assert swapped_range == (dt.date(2026, 3, 1), dt.date(2026, 3, 10))
    assert "swapped" in swapped.text
    huge = client.get(url, {"period": "custom", "start": "2000-01-01", "end": "2026-03-01"})
    assert (huge.context["last"] - huge.context["first"]).days == 365
    assert "At most 366 days" in huge.text


def test_the_range_view_costs_the_same_queries_however_many_visits(client, office, manager):
    client.force_login(manager)
    url = reverse("dashboard:range")
    client.get(reverse("dashboard:day"))  # the signed-in user is now in the cache

    def cost():
        with CaptureQueriesContext(connection) as queries:
            client.get(url, {"period": "month", "date": MONDAY.isoformat()})
        return len(queries)

    quiet = cost()
    for day in range(1, 20):
        for i in range(3):
            visit(office, VisitorFactory(), MONDAY.replace(day=day), (9, i), called=(10, i),
                  status=Status.NO_SHOW)  # fmt: skip
    assert cost() == quiet
    assert quiet <= 26  # 25, and one for the new-job check-ins of the period's hires


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_export_has_one_row_per_visit_with_stage_times_codes_and_referrals(
    client, office, manager, counsellor
):
    reason = ReasonForVisit.objects.create(office=office, label_en="Job search")
    v = visit(office, VisitorFactory(first_name="Rosa", last_name="=cmd|' /C calc'!A0"),
              MONDAY, (9, 0), called=(9, 12), service=((9, 15), (9, 45)),
              outcome=Outcome.REFERRED, by=counsellor)  # fmt: skip
    v.reasons.set([reason])
    service = Service.objects.create(name="Résumé help", reporting_code="BCS-108")
    ServiceGiven.objects.create(visit=v, service=service, given_by=counsellor)
    partner = ReferralPartner.objects.create(name="Legal Aid", helps_with="Legal help")
    Referral.objects.create(visit=v, partner=partner, referred_by=counsellor)
    visit(office, VisitorFactory(), MONDAY + dt.timedelta(days=1), (10, 0), status=Status.LEFT)
    client.force_login(manager)
    response = client.get(reverse("dashboard:export"),
                          {"start": MONDAY.isoformat(), "end": MONDAY.isoformat()})  # fmt: skip
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    [row] = _csv(response)
    assert row["visit_id"] == str(v.pk)
    assert row["first_name"] == "Rosa"
    assert row["last_name"] == "'=cmd|' /C calc'!A0"  # a spreadsheet shows it, never runs it
    assert row["checked_in_at"] == local(office, MONDAY, 9, 0).isoformat()
    assert row["concluded_at"] == local(office, MONDAY, 9, 45).isoformat()
    assert row["wait_minutes"] == "12.0"
    assert (row["reasons"], row["services"], row["referrals"], row["outcome"]) == (
        "Job search", "BCS-108 Résumé help", "Legal Aid", "referred")  # fmt: skip


def test_the_export_refuses_bad_ranges_and_other_offices(client, office, other_office, manager):
    client.force_login(manager)
    url = reverse("dashboard:export")
    assert client.get(url, {"start": "yesterday"}).status_code == 400
    assert client.get(url, {"start": "2020-01-01", "end": "2026-01-01"}).status_code == 400
    assert client.get(url, {"office": "hillside"}).status_code == 403
    boss = UserFactory(username="boss")
    MembershipFactory(user=boss, office=other_office, role=StaffRole.FRONT_DESK)
    client.force_login(boss)
    assert client.get(url).status_code == 403


def test_the_printable_report_is_the_day_without_controls(client, office, manager):
    client.force_login(manager)
    page = client.get(reverse("dashboard:report"))
    assert page.status_code == 200
    assert "printing" in page.text
    assert 'hx-trigger="every 60s"' not in page.text


@pytest.mark.django_db(transaction=True)
def test_the_range_runs_its_scans_at_once_with_the_same_answers(
    office, other_office, week, settings
):
    """Outside a transaction PostgreSQL runs the scans on several connections (SQLite: in
    turn); the figures are the same either way."""
    last = MONDAY + dt.timedelta(days=6)
    settings.DASHBOARD_QUERY_THREADS = 1
    in_turn = dashboard.range_figures([office, other_office], MONDAY, last)
    settings.DASHBOARD_QUERY_THREADS = 3
    at_once = dashboard.range_figures([office, other_office], MONDAY, last)
    assert at_once.daily == in_turn.daily
    assert at_once.side_by_side == in_turn.side_by_side
    assert at_once.heatmap == in_turn.heatmap
    assert at_once.totals == in_turn.totals == {"visits": 4, "visitors": 4}
