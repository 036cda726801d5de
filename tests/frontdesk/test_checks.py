"""Production never pretends to send texts: check --deploy and the outbox refuse a test SMS
backend with DEBUG=0 unless a staging setup says so."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from frontdesk.checks import sms_backend_sends
from tests.factories import VisitorFactory
from visitors import outbox, sms
from visitors.messaging.models import Reminder


@pytest.mark.parametrize(
    ("backend", "allowed", "refused"),
    [
        ("visitors.sms.ConsoleBackend", False, True),
        ("visitors.sms.FileBackend", False, True),
        ("visitors.sms.TwilioBackend", False, False),
        ("visitors.sms.ConsoleBackend", True, False),
    ],
)
def test_check_deploy_refuses_a_backend_that_sends_nothing(settings, backend, allowed, refused):
    settings.DEBUG = False
    settings.SMS_BACKEND = backend
    settings.SMS_ALLOW_TEST_BACKEND = allowed
    assert [e.id for e in sms_backend_sends(None)] == (["frontdesk.E001"] if refused else [])


def test_development_keeps_the_console_backend(settings):
    settings.DEBUG = True
    settings.SMS_ALLOW_TEST_BACKEND = False
    settings.SMS_BACKEND = "visitors.sms.ConsoleBackend"
    assert sms_backend_sends(None) == []
    assert isinstance(sms.get_backend(), sms.ConsoleBackend)


def test_the_outbox_marks_nothing_sent_through_a_test_backend_in_production(office, settings):
    """The text waits (its lease runs out and it is tried again once the setup is fixed)."""
    settings.DEBUG = False
    settings.SMS_BACKEND = "visitors.sms.ConsoleBackend"
    settings.SMS_ALLOW_TEST_BACKEND = False
    visitor = VisitorFactory(phone="(555) 201-4477", consent_sms=True)
    Reminder.objects.create(
        office=office, visitor=visitor, kind="broadcast", channel="sms", due_at=timezone.now(),
        idempotency_key="b:1", context={"message": "Hello"},
    )  # fmt: skip
    ((reminder_id, claim),) = outbox.reminders_claim()
    with pytest.raises(ImproperlyConfigured):
        outbox.reminder_deliver(reminder_id=reminder_id, claim=claim)
    assert Reminder.objects.get(pk=reminder_id).state == "sending"
