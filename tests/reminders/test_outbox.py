"""The reminder outbox: claimed once with a lease, delivered once, consent and quiet hours kept,
a dead worker's row retried rather than lost."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from tests.factories import VisitFactory, VisitorFactory, aware
from visitors import outbox, services, sms
from visitors.messaging.models import Reminder, ReminderState
from visitors.tasks import dispatch_reminders, send_reminder

pytestmark = pytest.mark.django_db
NOON = aware(2026, 3, 2, 18, 0)  # 12:00 in Chicago
NIGHT = aware(2026, 3, 3, 3, 0)  # 21:00 in Chicago


@pytest.fixture(autouse=True)
def memory_sms(settings):
    settings.SMS_BACKEND = "visitors.sms.MemoryBackend"
    sms.MemoryBackend.outbox = []
    return sms.MemoryBackend.outbox


def _reminder(office, *, kind="appointment", channel="sms", due=NOON, language="en", **visitor):
    person = VisitorFactory(
        **({"phone": "(555) 201-4477", "consent_sms": True, "preferred_language": language}
           | visitor)
    )  # fmt: skip
    visit = VisitFactory(office=office, visitor=person)
    return Reminder.objects.create(
        office=office, visitor=person, visit=visit, kind=kind, channel=channel, due_at=due,
        idempotency_key=f"test:{person.pk}:{kind}",
        context={"ticket": visit.ticket_code, "desk": "Desk 3", "message": "Running late"},
    )  # fmt: skip


def test_due_reminders_are_claimed_once_and_future_ones_wait(office):
    due = _reminder(office, due=NOON - dt.timedelta(minutes=1))
    later = _reminder(office, kind="workshop", due=NOON + dt.timedelta(hours=1))
    first = outbox.reminders_claim(now=NOON)
    assert [pk for pk, _claim in first] == [due.pk]
    assert outbox.reminders_claim(now=NOON) == []  # already claimed: not again
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.state, due.attempts, later.state) == ("sending", 1, "scheduled")


def test_a_claimed_reminder_is_sent_exactly_once(office, memory_sms):
    reminder = _reminder(office, kind="called_now")
    [(pk, claim)] = outbox.reminders_claim(now=NOON)
    assert outbox.reminder_deliver(reminder_id=pk, claim=claim, now=NOON) == "sent"
    assert outbox.reminder_deliver(reminder_id=pk, claim=claim, now=NOON) == "skipped"
    assert len(memory_sms) == 1
    assert "it's your turn" in memory_sms[0].body and "Desk 3" in memory_sms[0].body
    assert memory_sms[0].to == "(555) 201-4477"
    reminder.refresh_from_db()
    assert (reminder.state, reminder.sent_at, reminder.claim) == ("sent", NOON, "")


def test_it_writes_in_the_visitor_s_language(office, memory_sms):
    _reminder(office, kind="called_now", language="es")
    [(pk, claim)] = outbox.reminders_claim(now=NOON)
    outbox.reminder_deliver(reminder_id=pk, claim=claim, now=NOON)
    assert "es su turno" in memory_sms[0].body.lower()


def test_a_dead_worker_s_reminder_is_claimed_again_after_its_lease(office, memory_sms, settings):
    reminder = _reminder(office)
    [(pk, stale_claim)] = outbox.reminders_claim(now=NOON)
    # The worker holding it died before sending. After the lease, it is claimed again.
    later = NOON + dt.timedelta(seconds=settings.REMINDER_LEASE_SECONDS + 1)
    [(pk2, claim)] = outbox.reminders_claim(now=later)
    assert pk2 == pk and claim != stale_claim
    assert outbox.reminder_deliver(reminder_id=pk, claim=stale_claim, now=later) == "skipped"
    assert outbox.reminder_deliver(reminder_id=pk, claim=claim, now=later) == "sent"
    reminder.refresh_from_db()
    assert (reminder.state, reminder.attempts, len(memory_sms)) == ("sent", 2, 1)


def test_without_consent_nothing_is_sent(office, memory_sms):
    reminder = _reminder(office, consent_sms=False)
    [(pk, claim)] = outbox.reminders_claim(now=NOON)
    assert outbox.reminder_deliver(reminder_id=pk, claim=claim, now=NOON) == "cancelled"
    reminder.refresh_from_db()
    assert (reminder.state, reminder.last_error, memory_sms) == ("cancelled", "no consent", [])


def test_quiet_hours_defer_a_text_to_the_morning(office, memory_sms):
    reminder = _reminder(office, due=NIGHT)
    [(pk, claim)] = outbox.reminders_claim(now=NIGHT)
    assert outbox.reminder_deliver(reminder_id=pk, claim=claim, now=NIGHT) == "deferred"
    reminder.refresh_from_db()
    assert reminder.state == "scheduled" and memory_sms == []
    assert reminder.due_at == aware(2026, 3, 3, 14, 0)  # 08:00 in Chicago
    assert reminder.attempts == 0


def test_being_called_is_texted_even_in_quiet_hours(office, memory_sms):
    _reminder(office, kind="called_now", due=NIGHT)
    [(pk, claim)] = outbox.reminders_claim(now=NIGHT)
    assert outbox.reminder_deliver(reminder_id=pk, claim=claim, now=NIGHT) == "sent"


def test_email_goes_through_django_s_mailer(office):
    _reminder(office, channel="email", email="rosa@example.org", consent_email=True)
    [(pk, claim)] = outbox.reminders_claim(now=NOON)
    outbox.reminder_deliver(reminder_id=pk, claim=claim, now=NOON)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["rosa@example.org"]
    assert mail.outbox[0].subject == "Appointment reminder"


def test_a_permanent_provider_error_fails_the_row_and_a_transient_one_retries(office, monkeypatch):
    reminder = _reminder(office)

    def refuse(**_kw):
        raise sms.SmsError("number unreachable", permanent=False)

    monkeypatch.setattr(sms, "send_sms", refuse)
    [(pk, claim)] = outbox.reminders_claim(now=NOON)
    with pytest.raises(outbox.TransientError):
        outbox.reminder_deliver(reminder_id=pk, claim=claim, now=NOON)
    reminder.refresh_from_db()
    assert (reminder.state, reminder.last_error) == ("sending", "number unreachable")

    def invalid(**_kw):
        raise sms.SmsError("invalid number", permanent=True)

    monkeypatch.setattr(sms, "send_sms", invalid)
    assert outbox.reminder_deliver(reminder_id=pk, claim=claim, now=NOON) == "failed"
    reminder.refresh_from_db()
    assert (reminder.state, reminder.last_error) == (ReminderState.FAILED, "invalid number")


def test_the_dispatcher_task_hands_claimed_rows_to_send_tasks(office, memory_sms, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from frontdesk.celery import app

    app.conf.task_always_eager = True
    try:
        _reminder(office, kind="broadcast", due=timezone.now() - dt.timedelta(seconds=5))
        assert dispatch_reminders.apply().get() == 1
    finally:
        app.conf.task_always_eager = False
    assert len(memory_sms) == 1 and "Running late" in memory_sms[0].body
    assert Reminder.objects.get().state == "sent"
    assert send_reminder.name == "visitors.tasks.send_reminder"


def test_a_text_arrives_as_typed_not_html_escaped(office, clerk, memory_sms):
    """A broadcast with an apostrophe and an ampersand, to someone whose name has one: the
    text is plain text, not HTML (it used to arrive as We&#x27;re … &amp; …)."""
    office.name = "Smith & Daughters Job Center"
    office.save()
    VisitFactory(office=office, visitor=VisitorFactory(first_name="Siobhán", last_name="O'Brien",
                                                       consent_sms=True))  # fmt: skip
    services.queue_broadcast(office=office, message="We're running late & sorry", by=clerk)
    for reminder_id, claim in outbox.reminders_claim():
        outbox.reminder_deliver(reminder_id=reminder_id, claim=claim)
    (text,) = memory_sms
    assert "We're running late & sorry" in text.body
    assert "&#x27;" not in text.body and "&amp;" not in text.body


def _lapsed(office, *, channel="sms", attempted=True):
    """A text a worker was sending when it died: its lease ran out."""
    now = timezone.now()
    return Reminder.objects.create(
        office=office, visitor=VisitorFactory(consent_sms=True, consent_email=True,
                                              email="rosa@example.org"),
        kind="broadcast", channel=channel, due_at=now, state="sending", claim="dead",
        lease_expires_at=now - dt.timedelta(seconds=1), attempts=1,
        provider_attempted_at=now - dt.timedelta(seconds=30) if attempted else None,
        idempotency_key=f"lapsed:{channel}:{attempted}", context={"message": "Desk 3"},
    )  # fmt: skip


def test_a_text_the_provider_already_has_is_marked_sent_not_sent_again(office, memory_sms):
    """The dead worker's send reached the provider: found there, marked sent, not resent."""
    reminder = _lapsed(office)
    memory_sms.append(sms.SmsMessage(to="x", body="…", idempotency_key=reminder.idempotency_key))
    assert outbox.reminders_recover(now=timezone.now())["found_sent"] == 1
    found = Reminder.objects.get(pk=reminder.pk)
    assert (found.state, found.provider_message_id) == ("sent", "memory-1")
    assert outbox.reminders_claim() == []  # nothing to send again
    assert len(memory_sms) == 1


def test_a_text_the_provider_never_got_is_claimed_again(office, memory_sms):
    reminder = _lapsed(office)
    assert outbox.reminders_recover(now=timezone.now())["rescheduled"] == 1
    assert Reminder.objects.get(pk=reminder.pk).state == "scheduled"


def test_a_provider_that_cannot_be_asked_leaves_the_text_for_the_next_round(
    office, memory_sms, monkeypatch
):
    def unreachable(*args, **kwargs):
        raise sms.SmsError("Twilio message list: connection refused")

    monkeypatch.setattr(sms.MemoryBackend, "find_sent", unreachable)
    reminder = _lapsed(office)
    assert outbox.reminders_recover(now=timezone.now()) == {
        "rescheduled": 0,
        "found_sent": 0,
        "waiting": 1,
    }
    assert Reminder.objects.get(pk=reminder.pk).state == "sending"  # never sent again blind


def test_an_email_that_may_have_gone_is_sent_again(office, memory_sms):
    """No SMTP server can be asked: at least once."""
    reminder = _lapsed(office, channel="email")
    outbox.reminders_recover(now=timezone.now())
    assert Reminder.objects.get(pk=reminder.pk).state == "scheduled"
