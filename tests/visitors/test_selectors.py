"""The queue's order and the estimated wait: from who is ahead, recent service times per reason,
and the staff on duty."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import ReasonFactory, UserFactory, VisitFactory, VisitorFactory
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


@pytest.mark.parametrize("rule", ["priority_first", "appointments_first", "arrival"])
def test_a_newcomer_s_wait_worked_out_before_it_joins_is_the_one_it_has_once_in(office, rule):
    """newcomer_wait places a visit not yet in the line by the office's queue rule, in Python;
    it must agree with the database's ORDER BY (wait_estimate) for every kind of newcomer."""
    office.queue_rule = rule
    office.save()
    quick, slow = ReasonFactory(office=office), ReasonFactory(office=office)
    for _ in range(3):
        _served(office, quick, 5)
        _served(office, slow, 40)
    now = timezone.now()

    def appointment(minutes):
        starts = now + dt.timedelta(minutes=minutes)
        return Appointment.objects.create(
            office=office, visitor=VisitorFactory(), purpose="Review", starts_at=starts
        )

    line = [
        ({"priority": 0}, [slow], -50),
        ({"priority": 1}, [quick], -40),
        ({"priority": 0, "appointment": appointment(10)}, [slow, quick], -30),
        ({"priority": 0}, [], -20),
        ({"priority": 1, "appointment": appointment(-10)}, [slow], -10),
        ({"priority": 0}, [quick], 0),  # the same moment as a newcomer: the id decides
    ]
    for fields, reasons, minutes in line:
        VisitFactory(office=office, checked_in_at=now + dt.timedelta(minutes=minutes),
                     **fields).reasons.set(reasons)  # fmt: skip
    newcomers = [(0, None), (1, None), (0, appointment(5)), (1, appointment(-20)),
                 (0, appointment(60))]  # fmt: skip
    for priority, booked in newcomers:
        before = selectors.newcomer_wait(
            office=office, day=office.local_date(now), priority=priority,
            appointment_starts=booked.starts_at if booked else None, checked_in_at=now, now=now,
        )  # fmt: skip
        visit = VisitFactory(office=office, priority=priority, appointment=booked,
                             checked_in_at=now)  # fmt: skip
        visit.reasons.set([slow])
        after = selectors.wait_estimate(visit, now=now)
        assert (before.ahead, before.low, before.high) == (after.ahead, after.low, after.high), (
            priority,
            booked,
        )
        visit.delete()
