"""The dashboard's figures through the API, and paging of lists."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from tests.factories import VisitFactory
from visitors.people.models import EqualOpportunityRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(midday_office):  # its visits are backdated by the hour: today's at any hour of the run
    return midday_office


def test_the_day_s_figures(api, read_token, office):
    now = timezone.now()
    VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=20))
    VisitFactory(office=office, status="called", checked_in_at=now - dt.timedelta(minutes=30),
                 called_at=now - dt.timedelta(minutes=10))  # fmt: skip
    body = api("get", "/offices/riverside/dashboard/day", read_token).json()
    assert (body["day"], body["is_today"]) == (office.local_date().isoformat(), True)
    assert (body["headline"]["visits"], body["headline"]["waiting"]) == (2, 1)
    assert body["waits"]["n"] == 1 and body["waits"]["median"] == 20.0
    assert {o["outcome"] for o in body["outcomes"]} >= {"resolved", "referred"}
    assert sum(h["arrivals"] for h in body["hours"]) == 2


def test_a_range_day_by_day_with_its_heatmap(api, read_token, office):
    VisitFactory(office=office)
    today = office.local_date()
    body = api("get", f"/offices/riverside/dashboard/range?start={today - dt.timedelta(days=2)}"
               f"&end={today}", read_token).json()  # fmt: skip
    assert [d["day"] for d in body["daily"]][-1] == today.isoformat()
    assert len(body["daily"]) == 3
    assert body["totals"] == {"visits": 1, "visitors": 1}
    assert sum(c["arrivals"] for c in body["heatmap"]) == 1
    assert body["equal_opportunity"] is None


def test_a_range_longer_than_a_year_is_refused(api, read_token):
    response = api("get", "/offices/riverside/dashboard/range?start=2020-01-01&end=2022-01-01",
                   read_token)  # fmt: skip
    assert (response.status_code, list(response.json()["error"]["fields"])) == (422, ["end"])


def test_equal_opportunity_counts_only_with_the_permission(api, read_token, admin, office):
    visit = VisitFactory(office=office)
    EqualOpportunityRecord.objects.create(visitor=visit.visitor, recorded_by=admin, sex="female")
    admin.user_permissions.add(Permission.objects.get(codename="view_eo_aggregates"))
    body = api("get", "/offices/riverside/dashboard/range", read_token).json()
    counts = [c for rows in body["equal_opportunity"].values() for c in rows]
    assert counts and all(c["count"] == "<5" for c in counts)


def test_lists_are_paged_with_count_next_and_previous(api, read_token, office):
    visits = [VisitFactory(office=office, checked_in_at=timezone.now() - dt.timedelta(minutes=i))
              for i in range(5)]  # fmt: skip
    first = api("get", "/offices/riverside/visits?limit=2", read_token).json()
    assert (first["count"], first["previous"]) == (5, None)
    assert [v["id"] for v in first["results"]] == [visits[0].pk, visits[1].pk]
    assert first["next"].startswith("http://testserver/api/v1/offices/riverside/visits?")
    second = api("get", first["next"], read_token).json()
    assert [v["id"] for v in second["results"]] == [visits[2].pk, visits[3].pk]
    last = api("get", second["next"], read_token).json()
    assert ([v["id"] for v in last["results"]], last["next"]) == ([visits[4].pk], None)
    assert api("get", last["previous"], read_token).json()["results"] == second["results"]
