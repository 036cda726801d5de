"""The dashboard's day, built by hand with known answers, on SQLite and PostgreSQL alike."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory, VisitFactory, VisitorFactory
from visitors import dashboard
from visitors.followups.models import Appointment
from visitors.messaging.models import Reminder
from visitors.offices.models import ReasonForVisit, ReferralPartner, Service, StaffRole
from visitors.people.models import PriorityCategory
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import OpenRequest, Referral, ServiceGiven

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)  # a Tuesday


def local(office, day, hh, mm):
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=office.zone)


def visit(office, visitor, day, arrived, *, called=None, service=None, outcome="", status=None,
          by=None, **fields):  # fmt: skip
    """A visit at local times (hh, mm) with every stage time its status needs."""
    at = local(office, day, *arrived)
    values = {"office": office, "visitor": visitor, "checked_in_at": at, "service_date": day}
    if called:
        values |= {"called_at": local(office, day, *called), "called_by": by}
        status = status or Status.CALLED
    if service:
        begin, end = (local(office, day, *t) for t in service)
        values |= {"service_started_at": begin, "greeted_at": begin, "determined_at": begin,
                   "responded_at": begin, "concluded_at": end, "ended_at": end,
                   "outcome": outcome}  # fmt: skip
        status = Status.DONE
    return VisitFactory(status=status or Status.WAITING, **values, **fields)


@pytest.fixture
def day(office, counsellor, clerk):
    office.wait_target_minutes = 25
    office.save()
    a = ReasonForVisit.objects.create(office=office, label_en="Job search")
    b = ReasonForVisit.objects.create(office=office, label_en="Unemployment claim")
    regular = VisitorFactory(first_name="Regular")
    walker = VisitorFactory(first_name="Walker")
    veteran = VisitorFactory(first_name="Vet", priority_category=PriorityCategory.COVERED_VETERAN)
    # The weeks before: the regular came last Tuesday; 4 + 4 arrivals at 9h on two Tuesdays.
    for weeks, n in ((1, 4), (2, 4)):
        earlier = DAY - dt.timedelta(weeks=weeks)
        for i in range(n):
            who = regular if (weeks, i) == (1, 0) else VisitorFactory()
            visit(office, who, earlier, (9, 10 + i), status=Status.LEFT)
    v1 = visit(office, regular, DAY, (9, 5), called=(9, 15), service=((9, 16), (9, 36)),
               outcome=Outcome.RESOLVED, by=counsellor, quoted_wait_min=5, quoted_wait_max=15,
               rating=5)  # fmt: skip
    v2 = visit(office, VisitorFactory(), DAY, (9, 20), called=(9, 50),
               service=((10, 0), (10, 30)), outcome=Outcome.REFERRED, by=counsellor,
               quoted_wait_min=10, quoted_wait_max=20, rating=4)  # fmt: skip
    v3 = visit(office, walker, DAY, (9, 40), status=Status.LEFT)
    visit(office, VisitorFactory(), DAY, (10, 10), called=(10, 30), status=Status.NO_SHOW,
               by=clerk, quoted_wait_min=15, quoted_wait_max=25)  # fmt: skip
    v5 = visit(office, veteran, DAY, (10, 15), called=(11, 15), service=((11, 16), (11, 46)),
               outcome=Outcome.FOLLOW_UP, by=counsellor, priority=1,
               served_ahead=True)  # fmt: skip
    v6 = visit(office, walker, DAY, (10, 50))  # came back and is waiting now
    v1.reasons.set([a])
    v2.reasons.set([a])
    v3.reasons.set([b])
    v5.reasons.set([b])
    legal = ReferralPartner.objects.create(name="Legal Aid", helps_with="Legal help")
    Referral.objects.create(visit=v2, partner=legal, referred_by=counsellor)
    resume = Service.objects.create(name="Résumé help", reporting_code="BCS-108",
                                    staff_assisted=True)  # fmt: skip
    ServiceGiven.objects.create(visit=v1, service=resume, given_by=counsellor)
    ServiceGiven.objects.create(visit=v2, service=resume, given_by=counsellor)
    OpenRequest.objects.create(office=office, visitor=veteran, raised_on=v5,
                               description="Bring DD-214",
                               created_at=local(office, DAY, 11, 40))  # fmt: skip
    for state, when in (("kept", (9, 0)), ("missed", (14, 0))):
        Appointment.objects.create(office=office, visitor=regular, starts_at=local(
            office, DAY, *when), purpose="Review", state=state)  # fmt: skip
    common = {"office": office, "visitor": regular, "kind": "appointment", "channel": "sms"}
    Reminder.objects.create(**common, state="sent", due_at=local(office, DAY, 8, 0),
                            sent_at=local(office, DAY, 8, 0), idempotency_key="d1")  # fmt: skip
    Reminder.objects.create(**common, state="failed", due_at=local(office, DAY, 8, 5),
                            idempotency_key="d2")  # fmt: skip
    Reminder.objects.create(**common, state="scheduled", due_at=local(office, DAY, 16, 0),
                            idempotency_key="d3")  # fmt: skip
    yesterday = local(office, DAY, 8, 0) - dt.timedelta(days=1)
    Reminder.objects.create(**common, state="sent", due_at=yesterday, sent_at=yesterday,
                            idempotency_key="d4")  # fmt: skip
    return {"v6": v6, "now": local(office, DAY, 11, 30)}


def test_every_figure_of_a_day_built_by_hand(office, day):
    f = dashboard.day_figures([office], DAY, now=day["now"])
    h = f.headline
    assert (h["visits"], h["visitors"]) == (6, 5)  # the walker came twice
    assert (h["new_visitors"], h["returning_visitors"]) == (4, 1)
    assert (h["waiting"], h["longest_wait_now"]) == (1, 40)
    assert (h["walked_away"], h["no_shows"], h["served"]) == (1, 1, 3)
    assert (h["over_target"], h["called"], h["over_target_share"]) == (2, 4, 50.0)
    assert (h["quoted"], h["within_quote"], h["longer_than_quoted"]) == (3, 2, 1)
    assert (h["shorter_than_quoted"], h["within_quote_share"]) == (0, 66.7)
    assert h["no_longer_than_quoted_share"] == 66.7
    assert (h["covered"], h["covered_served_ahead"]) == (1, 1)
    assert (h["rated"], h["rating"]) == (2, 4.5)
    # Waits of those called: 10, 30, 20, 60 minutes.
    assert f.waits == {"n": 4, "median": 25.0, "p90": 51.0, "max": 60.0, "mean": 30.0}
    assert (f.service["n"], f.service["median"]) == (3, 30.0)
    assert f.hours == [
        {"hour": 9, "arrivals": 3, "usual": 2.0},
        {"hour": 10, "arrivals": 3, "usual": 0.0},
    ]
    reasons = {r["reason"]: r for r in f.by_reason}
    assert reasons["Job search"]["visits"] == 2
    assert reasons["Job search"]["wait"]["median"] == 20.0
    assert reasons["Unemployment claim"]["wait"] == {"n": 1, "median": 60.0, "p90": 60.0,
                                                     "max": 60.0, "mean": 60.0}  # fmt: skip
    assert reasons[None]["visits"] == 2
    assert {value: n for value, _label, n in f.outcomes} == {
        "resolved": 1, "referred": 1, "follow_up": 1, "hired": 0}  # fmt: skip
    assert [(r["partner__name"], r["n"]) for r in f.referrals] == [("Legal Aid", 1)]
    assert [(s["service__reporting_code"], s["n"], s["service__staff_assisted"])
            for s in f.services] == [("BCS-108", 2, True)]  # fmt: skip
    assert f.open_requests["count"] == 1
    assert f.open_requests["items"][0].description == "Bring DD-214"
    assert f.reminders == {"sent": 1, "failed": 1, "pending": 1, "cancelled": 0}
    assert (f.appointments["kept"], f.appointments["missed"]) == (1, 1)
    staff = {s["called_by__username"]: (s["seen"], s["served"]) for s in f.staff}
    assert staff == {"counsellor": (3, 3), "clerk": (1, 0)}


def test_a_visitor_called_sooner_than_quoted_is_not_a_miss(client, office, manager):
    """Quoted 20–30 minutes, called after 5: the promise was kept (sooner), not broken."""
    for arrived, called, low, high in (
        ((9, 0), (9, 5), 20, 30),
        ((9, 0), (9, 25), 20, 30),
        ((9, 0), (9, 45), 20, 30),
    ):  # sooner, within, longer
        visit(office, VisitorFactory(), DAY, arrived, called=called, status=Status.CALLED,
              quoted_wait_min=low, quoted_wait_max=high)  # fmt: skip
    h = dashboard.day_figures([office], DAY, now=local(office, DAY, 12, 0)).headline
    assert (h["quoted"], h["shorter_than_quoted"], h["within_quote"], h["longer_than_quoted"]) == (
        3, 1, 1, 1)  # fmt: skip
    assert h["no_longer_than_quoted_share"] == 66.7
    client.force_login(manager)
    page = client.get(reverse("dashboard:day"), {"date": DAY.isoformat()})
    assert "66.7%" in page.text and "1 within the range, 1 sooner, 1 longer" in page.text


def test_all_my_offices_counts_each_office_in_its_own_local_hours(office, other_office, day):
    # 09:30 in Denver is 10:30 in Chicago: it belongs to the 9 o'clock bar.
    visit(other_office, VisitorFactory(), DAY, (9, 30), status=Status.LEFT)
    f = dashboard.day_figures([office, other_office], DAY, now=day["now"])
    assert f.headline["visits"] == 7
    assert f.hours[0] == {"hour": 9, "arrivals": 4, "usual": 2.0}


def test_a_day_with_the_change_to_daylight_time_counts_arrivals_by_the_clock_on_the_wall(
    office,
):
    sunday = dt.date(2026, 3, 8)  # clocks go from 02:00 to 03:00 in Chicago
    before = dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC)  # 01:30 CST
    after = dt.datetime(2026, 3, 8, 8, 30, tzinfo=dt.UTC)  # 03:30 CDT: one hour later
    for at in (before, after):
        VisitFactory(office=office, checked_in_at=at, service_date=sunday, status=Status.LEFT)
    assert office.local_date(after) == sunday
    f = dashboard.day_figures([office], sunday, now=after + dt.timedelta(hours=1))
    assert [(h["hour"], h["arrivals"]) for h in f.hours] == [(1, 1), (2, 0), (3, 1)]


def test_the_page_shows_the_figures_and_their_tables(client, office, manager, day):
    client.force_login(manager)
    page = client.get(reverse("dashboard:day"), {"date": DAY.isoformat()})
    assert page.status_code == 200
    text = page.text
    assert "Arrivals by hour" in text and "<svg" in text and "<table" in text
    assert "Bring DD-214" in text
    assert "Legal Aid" in text


def test_the_day_view_costs_the_same_queries_for_a_busy_day(client, office, manager):
    client.force_login(manager)
    url = reverse("dashboard:day")
    client.get(url)  # the signed-in user is now in the cache, as on any page after sign-in

    def cost():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"date": DAY.isoformat()}).status_code == 200
        return len(queries)

    visit(office, VisitorFactory(), DAY, (9, 0), status=Status.LEFT)
    quiet = cost()
    for i in range(40):
        visit(office, VisitorFactory(), DAY, (10, i), called=(11, i), status=Status.NO_SHOW)
    assert cost() == quiet
    assert quiet <= 30


def test_only_managers_of_the_office_see_it(client, office, other_office, clerk, manager):
    client.force_login(clerk)
    assert client.get(reverse("dashboard:day")).status_code == 403
    client.force_login(manager)
    assert client.get(reverse("dashboard:day"), {"office": "hillside"}).status_code == 403
    assert client.get(reverse("dashboard:day"), {"office": "riverside"}).status_code == 200
    two = UserFactory(username="regional")
    MembershipFactory(user=two, office=office, role=StaffRole.MANAGER)
    MembershipFactory(user=two, office=other_office, role=StaffRole.ADMIN)
    client.force_login(two)
    page = client.get(reverse("dashboard:day"))
    assert page.context["choice"] == "all"
    assert [o.slug for o in page.context["offices"]] == ["hillside", "riverside"]


def test_a_bad_date_says_so_and_shows_today(client, office, manager):
    client.force_login(manager)
    page = client.get(reverse("dashboard:day"), {"date": "31/02/2026<script>"})
    assert page.status_code == 200
    assert "is not a date" in page.text
    assert "<script>" not in page.text
    assert page.context["day"] == office.local_date()


def test_today_stays_live(client, office, manager):
    client.force_login(manager)
    page = client.get(reverse("dashboard:day"))
    assert 'hx-trigger="every 60s"' in page.text
    region = client.get(reverse("dashboard:day"), {"live": "1"}, headers={"HX-Request": "true"})
    assert region.text.lstrip().startswith('<div id="figures"')
    past = client.get(reverse("dashboard:day"), {"date": "2026-01-05"})
    assert 'hx-trigger="every 60s"' not in past.text
