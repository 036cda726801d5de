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


@pytest.fixture
def office(midday_office):  # its visits are backdated by the hour: today's at any hour of the run
    return midday_office


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
def test_each_place_and_wait_counted_by_the_database_agrees_with_the_line_in_order(office, rule):
    """wait_estimate and queue_position count who is ahead in SQL; line_estimates walks the
    line as the console shows it. A mixed line — priorities, appointments (two at the same time),
    check-ins at the same instant, reasons with and without a median — must give the same
    answers both ways for every visit."""
    office.queue_rule = rule
    office.save()
    quick, slow, unknown = (ReasonFactory(office=office) for _ in range(3))
    for _ in range(3):
        _served(office, quick, 6)
        _served(office, slow, 40)
    now = timezone.now()
    nine = now + dt.timedelta(minutes=10)
    shapes = [  # (priority, appointment at, minutes before now, reasons)
        (0, None, 30, [quick]), (1, None, 5, [slow]), (0, nine, 20, [quick, slow]),
        (2, None, 1, []), (0, nine, 20, [unknown]), (1, now, 25, [quick]),
        (0, None, 20, [slow, unknown]), (0, None, 20, [quick]), (1, None, 5, []),
        (0, now, 2, [slow]), (2, nine, 40, [quick]), (0, None, 0, [unknown, quick]),
    ]  # fmt: skip
    for priority, starts_at, ago, reasons in shapes:
        visit = VisitFactory(office=office, priority=priority,
                             checked_in_at=now - dt.timedelta(minutes=ago))  # fmt: skip
        if starts_at is not None:
            visit.appointment = Appointment.objects.create(
                office=office, visitor=visit.visitor, starts_at=starts_at, purpose="Review"
            )
            visit.save()
        visit.reasons.set(reasons)
    line = list(selectors.queue_waiting(office=office).select_related("office", "appointment"))
    walked = selectors.line_estimates(office=office)
    assert len({(e.low, e.high) for e in walked.values()}) > 4  # the minutes differ by reason
    for place, visit in enumerate(line, start=1):
        assert selectors.queue_position(visit) == place
        assert selectors.wait_estimate(visit) == walked[visit.pk]
    everyone = selectors.newcomer_estimate(office=office)
    assert everyone.ahead == len(line)
    latest = VisitFactory(office=office, checked_in_at=now + dt.timedelta(minutes=1))
    latest.reasons.set([slow])
    assert selectors.wait_estimate(latest) == everyone  # the newcomer: behind everyone
    # A check-in quotes its wait before its INSERT (services.visit_check_in): the visit not yet
    # saved is placed where it then joins, level ones (the same instant too) ahead of it.
    latest.delete()
    for priority, starts_at, ago in [(0, None, 20), (1, None, 5), (0, nine, 20), (2, now, 2),
                                     (1, now, 25), (0, None, 60)]:  # fmt: skip
        appointment = None
        if starts_at is not None:
            appointment = Appointment.objects.create(
                office=office, visitor=VisitorFactory(), starts_at=starts_at, purpose="Review"
            )
        pending = VisitFactory.build(office=office, visitor=VisitorFactory(), priority=priority,
                                     appointment=appointment,
                                     checked_in_at=now - dt.timedelta(minutes=ago))  # fmt: skip
        quoted = selectors.wait_estimate(pending)
        pending.save()
        assert quoted == selectors.wait_estimate(pending), (priority, starts_at, ago)
        pending.delete()


def test_a_visit_s_wait_costs_the_same_statements_with_5_or_50_waiting(office):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    reason = ReasonFactory(office=office)
    _served(office, reason, 10)
    counts = []
    for size in (5, 50):
        while selectors.queue_waiting(office=office).count() < size:
            VisitFactory(office=office).reasons.set([reason])
        last = selectors.queue_waiting(office=office).select_related("office").last()
        selectors.wait_estimate(last)  # the estimate's inputs cached
        with CaptureQueriesContext(connection) as captured:
            estimate = selectors.wait_estimate(last)
        assert estimate.ahead == size - 1
        counts.append(len(captured))
    assert counts == [1, 1]
