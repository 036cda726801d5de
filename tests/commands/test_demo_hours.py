"""The demo keeps the office's opening hours: history on open days within the hours, a live
queue only while the office is open, and a dashboard that says when there is no usual."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from tests.factories import OfficeFactory
from visitors.demo import demo_seed
from visitors.followups.models import Workshop
from visitors.offices.models import Office
from visitors.visits.lifecycle import ACTIVE_STATUSES, Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db

CHICAGO = Office(time_zone="America/Chicago").zone
SUNDAY_EVENING = dt.datetime(2026, 3, 8, 19, 0, tzinfo=CHICAGO)
TUESDAY_MORNING = dt.datetime(2026, 3, 10, 10, 0, tzinfo=CHICAGO)
JUST_OPENED = dt.datetime(2026, 3, 9, 8, 5, tzinfo=CHICAGO)  # a Monday
BEFORE_OPENING = dt.datetime(2026, 3, 9, 7, 30, tzinfo=CHICAGO)


@pytest.fixture(autouse=True)
def _development_site(settings):
    """The demo is for development sites, where DEBUG is on."""
    settings.DEBUG = True


def _today_in_line(office: Office, at: dt.datetime):
    return Visit.objects.filter(
        office=office, service_date=office.local_date(at), status__in=ACTIVE_STATUSES
    )


def _within_hours(office: Office, at: dt.datetime) -> bool:
    return any(o <= at < c for o, c in office.spans_on(office.local_date(at)))


@time_machine.travel(SUNDAY_EVENING, tick=False)
def test_it_seeds_no_live_queue_on_a_sunday_evening():
    """The office is closed: the history is there, the queue is empty, and the command says
    why."""
    out = StringIO()
    call_command("seed_demo", "--visitors", "40", stdout=out)
    office = Office.objects.get(slug="riverside")
    assert Visit.objects.filter(office=office).count() > 30
    assert not Visit.objects.filter(service_date=office.local_date()).exists()
    assert "0 waiting now" in out.getvalue()
    assert "The office is closed now" in out.getvalue()


@time_machine.travel(TUESDAY_MORNING, tick=False)
def test_it_seeds_a_live_queue_while_the_office_is_open():
    """Tuesday 10:00: a handful waiting, one called, one in service, all checked in since
    opening and not in the future."""
    report = demo_seed(visitors=40)
    office = Office.objects.get(slug="riverside")
    line = _today_in_line(office, TUESDAY_MORNING)
    assert report.open_now and report.waiting >= 3
    assert line.filter(status=Status.CALLED).count() == 1
    assert line.filter(status=Status.IN_SERVICE).count() == 1
    opened = dt.datetime(2026, 3, 10, 8, 0, tzinfo=CHICAGO)
    assert all(opened <= v.checked_in_at <= TUESDAY_MORNING for v in line)


@time_machine.travel(JUST_OPENED, tick=False)
def test_nobody_in_the_live_queue_checked_in_before_opening_time():
    """Five minutes after opening, the queue's check-ins all fall in those five minutes."""
    demo_seed(visitors=40)
    office = Office.objects.get(slug="riverside")
    line = _today_in_line(office, JUST_OPENED)
    opened = dt.datetime(2026, 3, 9, 8, 0, tzinfo=CHICAGO)
    assert line.exists()
    assert all(opened <= v.checked_in_at <= JUST_OPENED for v in line)


@time_machine.travel(BEFORE_OPENING, tick=False)
def test_before_opening_the_queue_stays_empty_and_is_topped_up_once_open():
    """Run again once the office is open, the demo adds today's queue (and nothing else)."""
    demo_seed(visitors=40)
    office = Office.objects.get(slug="riverside")
    assert not _today_in_line(office, BEFORE_OPENING).exists()
    past = Visit.objects.filter(office=office).count()
    with time_machine.travel(JUST_OPENED, tick=False):
        report = demo_seed(visitors=40)
    assert report.waiting >= 3 and report.visits == 0
    assert Visit.objects.filter(office=office).count() == past + 6


@time_machine.travel(TUESDAY_MORNING, tick=False)
def test_the_history_falls_on_open_days_within_the_office_s_own_hours():
    """An office open Saturday mornings and Tuesday afternoons only: every past visit and
    every workshop falls in those hours."""
    hours = {"sat": [["09:00", "12:00"]], "tue": [["13:00", "18:00"]]}
    office = OfficeFactory(slug="riverside", time_zone="America/Chicago", opening_hours=hours)
    report = demo_seed(visitors=40)
    office.refresh_from_db()
    assert office.opening_hours == hours  # the demo keeps hours an admin set
    assert not report.open_now  # 10:00 on a Tuesday: not yet open
    visits = Visit.objects.filter(office=office)
    assert visits.count() > 30
    assert {v.service_date.weekday() for v in visits} == {1, 5}
    assert all(_within_hours(office, v.checked_in_at) for v in visits)
    assert all(_within_hours(office, w.starts_at) for w in Workshop.objects.filter(office=office))


@time_machine.travel(TUESDAY_MORNING, tick=False)
def test_the_demo_history_has_quotes_and_ratings_for_the_dashboard():
    """Quoted waits and ratings make the dashboard's accuracy and rating tiles show figures."""
    demo_seed(visitors=40)
    history = Visit.objects.filter(status=Status.DONE)
    assert history.filter(quoted_wait_max__isnull=False).count() == history.count()
    assert history.filter(rating__isnull=False).exists()


def test_the_dashboard_on_a_closed_sunday_says_there_is_no_usual(client):
    """Seeded on a Sunday evening, the dashboard compares with nothing instead of "0.0"."""
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        demo_seed(visitors=40)
        client.force_login(get_user_model().objects.get(username="manager"))
        page = client.get(reverse("dashboard:day"))
    assert page.status_code == 200
    assert page.context["figures"].usual_days == 0
    assert "No usual for a Sunday: the office is closed on that weekday." in page.text
    assert "<td>0.0</td>" not in page.text
