"""The printable report of a past day lists the open requests as they stood at the end of that
day (each office's own local day), every one of them; the screen lists the first 25 and says
how many more there are."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.dashboard.test_day import local, visit
from tests.factories import MembershipFactory, UserFactory, VisitorFactory
from visitors import dashboard
from visitors.offices.models import StaffRole
from visitors.visits.lifecycle import Status
from visitors.visits.models import OpenRequest

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)  # a Tuesday, long past when the suite runs
ITEM = re.compile(r"<li>\d{4}-\d\d-\d\d — ")


def _request(office, raised_on, created_at, *, resolved_at=None, what="Bring pay stubs"):
    return OpenRequest.objects.create(
        office=office, visitor=raised_on.visitor, raised_on=raised_on, description=what,
        created_at=created_at, resolved_at=resolved_at,
        state=OpenRequest.State.RESOLVED if resolved_at else OpenRequest.State.OPEN,
    )  # fmt: skip


@pytest.fixture
def requests_(office):
    """64 open at the end of DAY (60 still open, 4 resolved later), 3 resolved during DAY,
    2 raised the day after."""
    earlier = visit(office, VisitorFactory(), DAY - dt.timedelta(days=10), (9, 0),
                    status=Status.LEFT)  # fmt: skip
    start = local(office, DAY - dt.timedelta(days=10), 9, 30)
    for i in range(60):
        _request(office, earlier, start + dt.timedelta(minutes=i), what=f"Still open {i}")
    for i in range(4):
        _request(office, earlier, start, resolved_at=local(office, DAY + dt.timedelta(days=1),
                 9, i), what=f"Resolved later {i}")  # fmt: skip
    for i in range(3):
        _request(office, earlier, start, resolved_at=local(office, DAY, 15, i),
                 what=f"Resolved that day {i}")  # fmt: skip
    for i in range(2):
        _request(office, earlier, local(office, DAY + dt.timedelta(days=1), 9, i),
                 what=f"Raised the next day {i}")  # fmt: skip


def test_the_figures_are_the_open_requests_at_the_end_of_the_day(office, requests_):
    f = dashboard.day_figures([office], DAY, now=local(office, DAY + dt.timedelta(days=30), 9, 0),
                              requests_listed=None)  # fmt: skip
    o = f.open_requests
    assert (o["count"], o["raised"], o["resolved"], o["more"]) == (64, 0, 3, 0)
    assert len(o["items"]) == 64
    described = {r.description for r in o["items"]}
    assert {"Still open 0", "Resolved later 3"} <= described
    assert not any(d.startswith(("Resolved that day", "Raised the next day")) for d in described)
    assert o["as_of"] == local(office, DAY + dt.timedelta(days=1), 0, 0)


def test_the_printable_report_lists_every_one(client, office, manager, requests_):
    client.force_login(manager)
    page = client.get(reverse("dashboard:report"), {"date": DAY.isoformat()})
    assert page.status_code == 200
    assert "64 open requests at the end of the day" in page.text
    assert len(ITEM.findall(page.text)) == 64
    assert "Resolved later 0" in page.text and "Resolved that day" not in page.text
    assert "more: every one is in the printable report" not in page.text
    # The oldest, as old as it was that night (not as old as it is now).
    assert "oldest open for 1\xa0week, 3\xa0days" in page.text


def test_the_screen_lists_25_and_links_to_the_rest(client, office, manager, requests_):
    client.force_login(manager)
    page = client.get(reverse("dashboard:day"), {"date": DAY.isoformat()})
    assert len(ITEM.findall(page.text)) == 25
    assert "and 39 more: every one is in the printable report" in page.text
    assert f"{reverse('dashboard:report')}?office=riverside&amp;date={DAY}" in page.text


def test_today_lists_the_requests_open_now(office, requests_):
    """While the day lasts, "at the end of the day" is now: resolved ones are not open."""
    earlier = OpenRequest.objects.first().raised_on
    _request(office, earlier, local(office, DAY, 9, 0), what="Raised this morning")
    _request(office, earlier, local(office, DAY, 9, 0), resolved_at=local(office, DAY, 9, 30),
             what="Resolved this morning")  # fmt: skip
    now = local(office, DAY, 10, 0)
    o = dashboard.day_figures([office], DAY, now=now).open_requests
    # 60 still open, 4 resolved only tomorrow, 1 raised this morning; not the one resolved
    # this morning, nor those of tomorrow (stored ahead by the fixture).
    assert (o["count"], o["raised"], o["resolved"], o["as_of"]) == (65, 2, 4, now)
    assert len(o["items"]) == 25 and o["more"] == 40


def test_each_office_s_day_ends_at_its_own_midnight(client, office, other_office):
    """23:30 in Denver is 00:30 the next day in Chicago: it still belongs to Denver's day."""
    riverside = visit(office, VisitorFactory(), DAY, (9, 0), status=Status.LEFT)
    hillside = visit(other_office, VisitorFactory(), DAY, (9, 0), status=Status.LEFT)
    _request(other_office, hillside, local(other_office, DAY, 23, 30), what="Denver late")
    _request(office, riverside, local(office, DAY, 23, 30), what="Chicago late")
    _request(office, riverside, local(office, DAY + dt.timedelta(days=1), 0, 30),
             what="Chicago after midnight")  # fmt: skip
    regional = UserFactory(username="regional")
    for where in (office, other_office):
        MembershipFactory(user=regional, office=where, role=StaffRole.MANAGER)
    client.force_login(regional)
    page = client.get(reverse("dashboard:report"), {"office": "all", "date": DAY.isoformat()})
    assert "Denver late" in page.text and "Chicago late" in page.text
    assert "Chicago after midnight" not in page.text


def test_the_report_costs_the_same_queries_for_5_or_64_requests(client, office, manager):
    earlier = visit(office, VisitorFactory(), DAY - dt.timedelta(days=1), (9, 0),
                    status=Status.LEFT)  # fmt: skip
    client.force_login(manager)
    client.get(reverse("dashboard:day"))  # the signed-in user is now in the cache

    def cost(n):
        for i in range(n - OpenRequest.objects.count()):
            _request(office, visit(office, VisitorFactory(), DAY - dt.timedelta(days=1), (10, 0),
                                   status=Status.LEFT) if i % 2 else earlier,
                     local(office, DAY, 9, 0))  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("dashboard:report"), {"date": DAY.isoformat()})
        assert len(ITEM.findall(page.text)) == n
        return len(queries)

    assert cost(5) == cost(64)
