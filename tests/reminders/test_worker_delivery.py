"""Delivery through a real Celery worker (the broker of the run: Redis in CI's second pass,
kombu's filesystem transport in the first): scheduled → dispatched → sent exactly once."""

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from frontdesk.celery import app
from tests.factories import VisitFactory, VisitorFactory
from visitors import sms
from visitors.models import Reminder
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
    queues = [app.conf.task_default_queue]
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
