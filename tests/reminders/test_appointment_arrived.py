"""An appointment's visitor checks in: where the office asked for it, their counsellor gets an
email (besides the "For you" list and the chime), with a first name and initial, the ticket and
a link — nothing more."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory, VisitorFactory
from visitors import outbox, services
from visitors.followups.models import Appointment
from visitors.messaging.models import Reminder

pytestmark = pytest.mark.django_db


@pytest.fixture
def wen(office):
    user = UserFactory(username="wen", first_name="Wen", email="wen@example.org")
    MembershipFactory(user=user, office=office, role="counsellor")
    return user


def _arrive(office, staff):
    visitor = VisitorFactory(first_name="Imani", last_name="Okoye")
    appointment = Appointment.objects.create(
        office=office, visitor=visitor, staff=staff, purpose="WIOA intake",
        starts_at=timezone.now() + dt.timedelta(minutes=10),
    )  # fmt: skip
    return services.visit_check_in(
        office=office, visitor=visitor, source="desk", appointment=appointment
    )


def _deliver():
    for pk, claim in outbox.reminders_claim(now=timezone.now()):
        outbox.reminder_deliver(reminder_id=pk, claim=claim, now=timezone.now())


def test_the_counsellor_gets_an_email_when_the_office_asks_for_it(office, wen, settings):
    settings.PUBLIC_URL = "https://frontdesk.example.org"
    office.email_staff_on_arrival = True
    office.save()
    visit = _arrive(office, wen)
    _deliver()
    (email,) = mail.outbox
    assert email.to == ["wen@example.org"]
    assert email.subject == "Imani O. has arrived for your appointment"
    assert visit.ticket_code in email.body and "WIOA intake" in email.body
    assert f"https://frontdesk.example.org/desk/{office.slug}/visits/{visit.pk}/" in email.body
    assert "Okoye" not in email.body
    # Once per arrival, whatever repeats the check-in's effects.
    assert Reminder.objects.filter(kind=Reminder.Kind.APPOINTMENT_ARRIVED).count() == 1


def test_no_email_unless_the_office_asks_or_without_an_address(office, wen):
    _arrive(office, wen)
    office.email_staff_on_arrival = True
    office.save()
    nobody = UserFactory(username="noaddress", email="")
    MembershipFactory(user=nobody, office=office, role="counsellor")
    _arrive(office, nobody)
    _deliver()
    assert mail.outbox == []
    assert not Reminder.objects.filter(kind=Reminder.Kind.APPOINTMENT_ARRIVED).exists()
