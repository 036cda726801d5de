"""The queue's order and the estimated wait: from who is ahead, recent service times per reason,
and the staff on duty."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import ReasonFactory, UserFactory, VisitFactory
from visitors import selectors
from visitors.followups.models import Appointment
from visitors.visits.lifecycle import Outcome, Status

pytestmark = pytest.mark.django_db


def _served(office, reason, minutes, *, by=None, ago=dt.timedelta(hours=2)):
    end = timezone.now() - ago
    start = end - dt.timedelta(minutes=minutes)
    visit = VisitFactory(
        office=office, status=Status.DONE, called_at=start, called_by=by,
        service_started_at=start, greeted_at=start, determined_at=start, responded_at=start,
        concluded_at=end, outcome=Outcome.RESOLVED, ended_at=end,
        service_date=office.local_date() - dt.timedelta(days=1),
    )  # fmt: skip
    visit.reasons.set([reason])


def test_it_orders_the_queue_by_priority_then_appointment_then_arrival(office):
    now = timezone.now()
    first_in = VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=30))
    veteran = VisitFactory(office=office, priority=1, checked_in_at=now)
    appointment = Appointment.objects.create(
        office=office, visitor=first_in.visitor, starts_at=now, purpose="Résumé review"
    )
    booked = VisitFactory(
        office=office, appointment=appointment, checked_in_at=now - dt.timedelta(minutes=5)
    )
    order = list(selectors.queue_waiting(office=office))
    assert order == [veteran, booked, first_in]
    assert [selectors.queue_position(v) for v in order] == [1, 2, 3]


def test_it_estimates_a_range_from_people_ahead_and_recent_service_times(office):
    reason = ReasonFactory(office=office)
    for _ in range(5):
        _served(office, reason, 10)
    waiting = [VisitFactory(office=office) for _ in range(4)]
    for visit in waiting:
        visit.reasons.set([reason])
    estimate = selectors.wait_estimate(waiting[3])
    assert (estimate.ahead, estimate.low, estimate.high) == (3, 20, 40)  # 30 min ± share


def test_more_staff_on_duty_shortens_the_estimate(office):
    reason = ReasonFactory(office=office)
    for by in (UserFactory(), UserFactory()):
        _served(office, reason, 10, by=by, ago=dt.timedelta(minutes=20))
    waiting = [VisitFactory(office=office) for _ in range(4)]
    for visit in waiting:
        visit.reasons.set([reason])
    estimate = selectors.wait_estimate(waiting[3])
    assert selectors.staff_on_duty(office=office) == 2
    assert (estimate.low, estimate.high) == (10, 20)  # 15 min of work per desk


def test_the_first_in_line_is_quoted_a_short_wait_and_others_none(office, clerk):
    visit = VisitFactory(office=office)
    estimate = selectors.wait_estimate(visit)
    assert (estimate.ahead, estimate.low, estimate.high) == (0, 0, 5)
    visit.mark_called(by=clerk)
    assert selectors.wait_estimate(visit) is None


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("priority_first", ["veteran", "booked", "first_in"]),
        ("appointments_first", ["booked", "veteran", "first_in"]),
        ("arrival", ["first_in", "booked", "veteran"]),
    ],
)
def test_the_queue_rule_is_an_office_setting(office, rule, expected):
    office.queue_rule = rule
    office.save()
    now = timezone.now()
    first_in = VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=30))
    booked = VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=5))
    booked.appointment = Appointment.objects.create(
        office=office, visitor=booked.visitor, starts_at=now, purpose="Résumé review"
    )
    booked.save()
    veteran = VisitFactory(office=office, priority=1, checked_in_at=now)
    names = {first_in.pk: "first_in", booked.pk: "booked", veteran.pk: "veteran"}
    assert [names[v.pk] for v in selectors.queue_waiting(office=office)] == expected
