"""A worker process killed in the middle of a send: the reminder is never lost and never sent
twice. Killed before the provider had it: sent again, once. Killed after: the next round finds
it at the provider and marks it sent without asking the provider to send it again.

Real worker processes (``celery worker`` in a subprocess, on the run's broker: Redis in CI's
second pass, the filesystem transport in the first) against the test database; the test kills
the first one with SIGKILL while it is inside the provider call, then starts a second one.
"""

import datetime as dt
import signal
import time

import pytest
from django.utils import timezone

from tests import workers
from tests.factories import VisitFactory, VisitorFactory
from visitors.messaging.models import Reminder
from visitors.sms import FileBackend
from visitors.tasks import dispatch_reminders


@pytest.mark.parametrize("killed", ["before", "after"], ids=["before-provider", "after-provider"])
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_leaves_the_reminder_sent_exactly_once(
    office, settings, tmp_path, killed
):
    # The dispatcher (this process) sets the lease, and the worker renews it as it hands the
    # text to the provider: both run with the same setting, as in a deployment.
    settings.REMINDER_LEASE_SECONDS = 3
    person = VisitorFactory(phone="(555) 301-0042", consent_sms=True)
    reminder = Reminder.objects.create(
        office=office, visitor=person, visit=VisitFactory(office=office, visitor=person),
        kind="broadcast", channel="sms", due_at=timezone.now() - dt.timedelta(seconds=1),
        idempotency_key=f"kill-test:{killed}", context={"message": "Desk 3 is open"},
    )  # fmt: skip
    marker = tmp_path / "hanging"
    first = workers.start(
        tmp_path, "first",
        SMS_BACKEND="tests.reminders.hanging_sms.HangingBackend",
        HANG_SMS_WHEN=killed, HANG_SMS_MARKER=str(marker), REMINDER_LEASE_SECONDS="3",
    )  # fmt: skip
    second = None
    try:
        assert dispatch_reminders() == 1
        workers.wait_for(marker.exists, seconds=90, what="the first worker to start sending",
                  tmp_path=tmp_path)  # fmt: skip
        first.send_signal(signal.SIGKILL)  # no clean-up, no ack, no "sent" mark
        first.wait(timeout=10)
        reminder.refresh_from_db()
        assert reminder.state == "sending"  # the dead worker still holds the lease
        assert reminder.attempts == 1

        second = workers.start(tmp_path, "second", SMS_BACKEND="visitors.sms.FileBackend")
        time.sleep(settings.REMINDER_LEASE_SECONDS + 0.5)  # the lease runs out
        settings.SMS_BACKEND = "visitors.sms.FileBackend"  # what this process asks, recovering
        settings.SMS_FILE_DIR = str(tmp_path / "provider")
        # The next beat settles it: found at the provider (after), or claimed again (before).
        assert dispatch_reminders() == (1 if killed == "before" else 0)
        workers.wait_for(
            lambda: Reminder.objects.get(pk=reminder.pk).state == "sent",
            seconds=90, what="the second worker to send", tmp_path=tmp_path,
        )  # fmt: skip
    finally:
        for worker in (first, second):
            workers.stop(worker)

    reminder.refresh_from_db()
    assert reminder.state == "sent"
    assert reminder.attempts == (2 if killed == "before" else 1)  # retried once, or found
    delivered = FileBackend.read(tmp_path / "provider")
    assert [m["key"] for m in delivered] == [reminder.idempotency_key]  # never twice
    assert delivered[0]["to"] == "(555) 301-0042"
    assert delivered[0]["body"] == f"{office.name}: Desk 3 is open"
    asked = (tmp_path / "provider" / "attempts.log").read_text().split()
    # Killed before the provider had it: asked to send once, by the second worker. Killed
    # after: asked once, by the first; the provider was only asked whether it had it.
    assert asked == [reminder.idempotency_key]
