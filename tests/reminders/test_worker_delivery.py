"""Delivery through a real Celery worker (the broker of the run: Redis in CI's second pass,
kombu's filesystem transport in the first): scheduled → dispatched → sent exactly once."""

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from twilio.request_validator import RequestValidator

from frontdesk.celery import QUEUES, app
from tests.factories import VisitFactory, VisitorFactory
from visitors import reminders, sms
from visitors.followups.models import Appointment, Workshop
from visitors.messaging.models import Reminder
from visitors.tasks import dispatch_reminders


@pytest.mark.django_db(transaction=True)
def test_a_worker_sends_each_due_reminder_exactly_once(office, settings):
    settings.SMS_BACKEND = "visitors.sms.MemoryBackend"
    sms.MemoryBackend.outbox = []
    reminders = []
    for i in range(5):
        person = VisitorFactory(phone=f"(555) 301-00{i:02d}", consent_sms=True)
        visit = VisitFactory(office=office, visitor=person)
        reminders.append(
            Reminder.objects.create(
                office=office,
                visitor=person,
                visit=visit,
                kind="broadcast",
                channel="sms",
                due_at=timezone.now() - dt.timedelta(seconds=1),
                idempotency_key=f"worker-test:{i}",
                context={"message": f"hello {i}"},
            )  # fmt: skip
        )
    # Name the queue: an earlier test worker's queue selection stays on the shared app.
    queues = [*QUEUES, app.conf.task_default_queue]
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=30, queues=queues
    ):
        # Two dispatcher runs back to back, as overlapping beats would: still one send each.
        first = dispatch_reminders.delay()
        second = dispatch_reminders.delay()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if Reminder.objects.filter(state="sent").count() == len(reminders):
                break
            time.sleep(0.2)
    assert {r.state for r in Reminder.objects.all()} == {"sent"}
    bodies = sorted(m.body for m in sms.MemoryBackend.outbox)
    assert bodies == sorted(f"{office.name}: hello {i}" for i in range(5))  # once each
    assert first.id != second.id


@pytest.mark.django_db(transaction=True)
def test_through_a_worker_only_what_may_go_out_goes_out(office, other_office, settings, client):
    """Consent, STOP, quiet hours and cancellation, with the real worker doing the sending."""
    settings.SMS_BACKEND = "visitors.sms.MemoryBackend"
    settings.TWILIO_AUTH_TOKEN = "worker-test-token"
    sms.MemoryBackend.outbox = []
    now = timezone.now()
    local = timezone.localtime(now, other_office.zone)
    # Hillside is in its quiet hours right now; Riverside is not.
    other_office.quiet_hours_start = (local - dt.timedelta(hours=1)).time()
    other_office.quiet_hours_end = (local + dt.timedelta(hours=1)).time()
    other_office.save()
    office.quiet_hours_start, office.quiet_hours_end = dt.time(0, 0), dt.time(0, 0)
    office.save()

    def text(who, where=office, key=None, **fields):
        return Reminder.objects.create(
            office=where, visitor=who, kind=fields.pop("kind", "workshop"), channel="sms",
            due_at=now - dt.timedelta(seconds=1), idempotency_key=key or f"mix:{who.pk}",
            context={"message": "hi"}, **fields,
        )  # fmt: skip

    agreed = VisitorFactory(first_name="Agreed", phone="(555) 301-1001", consent_sms=True)
    never = VisitorFactory(first_name="Never", phone="(555) 301-1002", consent_sms=False)
    stopped = VisitorFactory(first_name="Stopped", phone="(555) 301-1003", consent_sms=True)
    night = VisitorFactory(first_name="Night", phone="(555) 301-1004", consent_sms=True)
    booked = VisitorFactory(first_name="Booked", phone="(555) 301-1005", consent_sms=True)
    workshop = Workshop.objects.create(
        office=office, title="Interview practice", capacity=5, starts_at=now + dt.timedelta(days=1)
    )
    rows = {
        "agreed": text(agreed, workshop=workshop),
        "never": text(never, workshop=workshop),
        "stopped": text(stopped, workshop=workshop),
        "night": text(night, where=other_office, workshop=workshop),
    }
    appointment = Appointment.objects.create(
        office=office, visitor=booked, starts_at=now + dt.timedelta(hours=30), purpose="Review"
    )
    rows["cancelled"] = text(booked, kind="appointment", appointment=appointment,
                             key="mix:appointment")  # fmt: skip
    reminders.appointment_cancel(appointment)
    # "STOP" texted in before the dispatcher runs, through the signed webhook.
    url = "http://testserver/sms/inbound/"
    params = {"From": "+15553011003", "Body": "STOP"}
    signature = RequestValidator("worker-test-token").compute_signature(url, params)
    assert client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200

    queues = [*QUEUES, app.conf.task_default_queue]
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=30, queues=queues
    ):
        dispatch_reminders.delay()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = dict(Reminder.objects.values_list("idempotency_key", "state"))
            if "sending" not in states.values() and states[f"mix:{agreed.pk}"] == "sent":
                break
            time.sleep(0.2)
    for row in rows.values():
        row.refresh_from_db()
    assert rows["agreed"].state == "sent"
    assert (rows["never"].state, rows["never"].last_error) == ("cancelled", "no consent")
    assert (rows["stopped"].state, rows["stopped"].last_error) == ("cancelled", "STOP received")
    assert rows["cancelled"].state == "cancelled"
    # Quiet hours: deferred to the end of them, not dropped, and not counted as an attempt.
    assert rows["night"].state == "scheduled"
    assert rows["night"].due_at == other_office.quiet_hours_end_after(now)
    assert [m.to for m in sms.MemoryBackend.outbox] == ["(555) 301-1001"]
