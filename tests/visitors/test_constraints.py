"""Invariants the database holds itself: a violation raises IntegrityError and changes nothing.

Each test writes past the model methods (``QuerySet.update`` or ``create`` with bad values), as a
buggy code path, an admin action or a race would, and checks that the stored rows are unchanged.
"""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.factories import OfficeFactory, UserFactory, VisitFactory, VisitorFactory
from visitors.followups.models import Appointment, Workshop
from visitors.messaging.models import Reminder
from visitors.offices.models import StaffMembership
from visitors.people.models import Visitor
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import OpenRequest, TicketCounter, Visit

pytestmark = pytest.mark.django_db


def _snapshot(model):
    return sorted(model.objects.values_list(), key=repr)


def assert_refused(model, write):
    """Run ``write``; it must raise IntegrityError and leave ``model``'s rows as they were."""
    before = _snapshot(model)
    with pytest.raises(IntegrityError), transaction.atomic():
        write()
    assert _snapshot(model) == before


def test_it_refuses_a_second_ticket_number_on_the_same_office_day():
    visit = VisitFactory(ticket_number=14, ticket_code="A-014")
    assert_refused(
        Visit,
        lambda: VisitFactory(office=visit.office, ticket_number=14, ticket_code="A-114"),
    )


def test_it_refuses_a_second_ticket_code_on_the_same_office_day():
    visit = VisitFactory(ticket_number=14, ticket_code="A-014")
    assert_refused(
        Visit,
        lambda: VisitFactory(office=visit.office, ticket_number=15, ticket_code="A-014"),
    )


def test_it_allows_the_same_ticket_at_another_office_or_on_another_day():
    visit = VisitFactory(ticket_number=14, ticket_code="A-014")
    VisitFactory(ticket_number=14, ticket_code="A-014")  # another office
    VisitFactory(
        office=visit.office,
        ticket_number=14,
        ticket_code="A-014",
        service_date=visit.service_date - dt.timedelta(days=1),
    )
    assert Visit.objects.filter(ticket_code="A-014").count() == 3


@pytest.mark.parametrize("active", [Status.WAITING, Status.CALLED, Status.IN_SERVICE])
def test_it_refuses_a_second_active_visit_for_a_visitor_at_one_office(active):
    first = VisitFactory(status=active, called_at=timezone.now())
    assert_refused(Visit, lambda: VisitFactory(office=first.office, visitor=first.visitor))


def test_it_refuses_to_reactivate_a_closed_visit_while_another_is_active():
    """Putting a left visit back in line while the visitor holds a new ticket would fork them."""
    old = VisitFactory(status=Status.LEFT)
    VisitFactory(office=old.office, visitor=old.visitor)
    assert_refused(Visit, lambda: Visit.objects.filter(pk=old.pk).update(status=Status.WAITING))


def test_it_allows_many_closed_visits_and_one_active_per_office():
    visitor = VisitorFactory()
    office = OfficeFactory()
    for status in (Status.DONE, Status.LEFT, Status.NO_SHOW):
        VisitFactory(
            office=office, visitor=visitor, status=status, called_at=timezone.now(),
            concluded_at=timezone.now(), greeted_at=timezone.now(),
            determined_at=timezone.now(), responded_at=timezone.now(), outcome=Outcome.RESOLVED,
        )  # fmt: skip
    VisitFactory(office=office, visitor=visitor)
    VisitFactory(visitor=visitor)  # active at another office as well
    assert visitor.visits.count() == 5


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "teleported"), ("source", "pigeon"), ("outcome", "shrug")],
)
def test_it_refuses_values_outside_the_choices(field, value):
    visit = VisitFactory()
    assert_refused(Visit, lambda: Visit.objects.filter(pk=visit.pk).update(**{field: value}))


def test_it_refuses_a_ticket_number_of_zero():
    assert_refused(Visit, lambda: VisitFactory(ticket_number=0, ticket_code="A-000"))


@pytest.mark.parametrize("status", [Status.CALLED, Status.IN_SERVICE, Status.DONE])
def test_it_refuses_a_called_status_without_a_call_time(status):
    visit = VisitFactory()
    assert_refused(Visit, lambda: Visit.objects.filter(pk=visit.pk).update(status=status))


def test_it_refuses_done_without_a_concluded_outcome():
    """Nobody leaves with an unanswered question: "done" needs the concluding stage's outcome."""
    visit = VisitFactory(status=Status.IN_SERVICE, called_at=timezone.now())
    assert_refused(Visit, lambda: Visit.objects.filter(pk=visit.pk).update(status=Status.DONE))


@pytest.mark.parametrize(
    ("stage_at", "needs"),
    [
        ("determined_at", "greeted_at"),
        ("responded_at", "determined_at"),
        ("concluded_at", "responded_at"),
        ("future_reference_at", "concluded_at"),
    ],
)
def test_it_refuses_a_stage_without_the_stage_before_it(stage_at, needs):
    visit = VisitFactory(status=Status.IN_SERVICE, called_at=timezone.now())
    earlier = ["greeted_at", "determined_at", "responded_at", "concluded_at"]
    fields = dict.fromkeys(earlier[: earlier.index(needs)], timezone.now())
    Visit.objects.filter(pk=visit.pk).update(**fields)
    assert_refused(
        Visit, lambda: Visit.objects.filter(pk=visit.pk).update(**{stage_at: timezone.now()})
    )


def test_it_refuses_a_second_ticket_counter_for_an_office_day():
    office = OfficeFactory()
    TicketCounter.objects.create(office=office, service_date=dt.date(2026, 3, 2), last_number=7)
    assert_refused(
        TicketCounter,
        lambda: TicketCounter.objects.create(office=office, service_date=dt.date(2026, 3, 2)),
    )


def test_it_refuses_a_second_membership_of_a_user_at_one_office():
    office, user = OfficeFactory(), UserFactory()
    StaffMembership.objects.create(user=user, office=office, role="front_desk")
    assert_refused(
        StaffMembership,
        lambda: StaffMembership.objects.create(user=user, office=office, role="manager"),
    )


def test_it_refuses_an_unknown_staff_role():
    assert_refused(
        StaffMembership,
        lambda: StaffMembership.objects.create(
            user=UserFactory(), office=OfficeFactory(), role="overlord"
        ),
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("priority_category", "general"), ("preferred_language", "tlh")],
)
def test_it_refuses_unknown_visitor_categories_and_languages(field, value):
    visitor = VisitorFactory()
    assert_refused(Visitor, lambda: Visitor.objects.filter(pk=visitor.pk).update(**{field: value}))


def test_it_refuses_a_visitor_last_seen_before_first_seen():
    visitor = VisitorFactory()
    assert_refused(
        Visitor,
        lambda: Visitor.objects.filter(pk=visitor.pk).update(
            last_seen_at=visitor.first_seen_at - dt.timedelta(days=1)
        ),
    )


def test_it_refuses_a_resolved_request_without_a_time_and_an_open_one_with_one():
    visit = VisitFactory()
    request = OpenRequest.objects.create(
        office=visit.office, visitor=visit.visitor, raised_on=visit, description="Call back"
    )
    assert_refused(
        OpenRequest, lambda: OpenRequest.objects.filter(pk=request.pk).update(state="resolved")
    )
    assert_refused(
        OpenRequest,
        lambda: OpenRequest.objects.filter(pk=request.pk).update(resolved_at=timezone.now()),
    )


def test_it_refuses_a_workshop_with_no_seats():
    office = OfficeFactory()
    assert_refused(
        Workshop,
        lambda: Workshop.objects.create(
            office=office, title="Résumés", starts_at=timezone.now(), capacity=0
        ),
    )


def test_it_refuses_an_appointment_of_zero_minutes_or_an_unknown_state():
    visit = VisitFactory()
    kwargs = {"office": visit.office, "visitor": visit.visitor, "starts_at": timezone.now()}
    assert_refused(
        Appointment, lambda: Appointment.objects.create(**kwargs, duration_minutes=0, purpose="x")
    )
    assert_refused(
        Appointment, lambda: Appointment.objects.create(**kwargs, state="maybe", purpose="x")
    )


def _reminder(**overrides):
    visit = VisitFactory()
    fields = {
        "office": visit.office,
        "visitor": visit.visitor,
        "kind": Reminder.Kind.APPOINTMENT,
        "channel": Reminder.Channel.SMS,
        "due_at": timezone.now(),
        "idempotency_key": "appointment:1:day-before",
    }
    return Reminder.objects.create(**(fields | overrides))


def test_it_refuses_a_second_reminder_with_the_same_idempotency_key():
    """The outbox's idempotency key is what makes a reminder impossible to queue twice."""
    _reminder()
    assert_refused(Reminder, lambda: _reminder())


@pytest.mark.parametrize(
    "overrides",
    [
        {"kind": "spam"},
        {"channel": "pager"},
        {"state": "lost"},
        {"state": "sent"},  # sent needs sent_at
        {"visitor": None},  # nobody to send to
    ],
    ids=["kind", "channel", "state", "sent-without-time", "no-recipient"],
)
def test_it_refuses_an_invalid_reminder(overrides):
    assert_refused(Reminder, lambda: _reminder(idempotency_key="k", **overrides))
