"""Claiming in one statement and sending in small batches, without giving up anything per row:
each text still goes through its own claim, its own idempotency key and its own state changes,
so a batch that stops half-way (a worker killed, a provider error) sends nothing twice and
loses nothing."""

import collections
import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import VisitorFactory
from visitors import outbox, sms, tasks
from visitors.messaging.models import Reminder

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def memory_sms(settings):
    settings.SMS_BACKEND = "visitors.sms.MemoryBackend"
    sms.MemoryBackend.outbox = []
    return sms.MemoryBackend.outbox


def _texts(office, n, *, prefix="batch"):
    due = timezone.now() - dt.timedelta(seconds=5)
    rows = []
    for i in range(n):
        person = VisitorFactory(phone=f"(555) 302-{i:04d}", consent_sms=True)
        rows.append(
            Reminder.objects.create(
                office=office,
                visitor=person,
                kind="broadcast",
                channel="sms",
                due_at=due + dt.timedelta(milliseconds=i),
                idempotency_key=f"{prefix}:{i}",
                context={"message": f"hello {i}"},
            )  # fmt: skip
        )
    return rows


def _sent_keys(memory_sms):
    return collections.Counter(message.idempotency_key for message in memory_sms)


class Killed(BaseException):
    """Stands for the worker process dying: nothing after it runs, nothing catches it."""


class DyingBackend(sms.MemoryBackend):
    """Dies on the third text: before the provider has it, or right after."""

    when = "before"
    sends = 0

    def send(self, message):
        DyingBackend.sends += 1
        if DyingBackend.sends == 3:
            if DyingBackend.when == "after":
                super().send(message)
            raise Killed
        return super().send(message)


def test_a_round_is_claimed_in_a_fixed_number_of_statements(office, django_assert_num_queries):
    rows = _texts(office, 30)
    # Lapsed leases, the due rows, one UPDATE; the transaction's savepoint and its release.
    with django_assert_num_queries(5):
        claimed = outbox.reminders_claim(limit=25)
    assert [pk for pk, _ in claimed] == [row.pk for row in rows[:25]]  # in due order
    assert Reminder.objects.filter(state="sending", attempts=1).count() == 25
    assert outbox.reminders_claim(limit=25) != claimed  # the other five, with another claim
    assert Reminder.objects.filter(state="scheduled").count() == 0


def test_a_batch_reads_its_rows_once_and_sends_each_once(
    office, memory_sms, django_assert_num_queries
):
    _texts(office, 5)
    claimed = outbox.reminders_claim()
    # One read for the batch; per text its compare-and-set before the provider, and after
    # (on PostgreSQL a text's "sent" goes in one statement with the next one's hand-over).
    statements = 1 + 5 + 1 if connection.vendor == "postgresql" else 1 + 2 * 5
    with django_assert_num_queries(statements):
        assert tasks.send_reminders(claimed) == {"sent": 5}
    assert _sent_keys(memory_sms) == {f"batch:{i}": 1 for i in range(5)}
    assert set(Reminder.objects.values_list("state", flat=True)) == {"sent"}
    # The same message delivered again (the broker redelivers it): nothing is sent twice.
    assert tasks.send_reminders(claimed) == {"skipped": 5}
    assert len(memory_sms) == 5


def test_the_dispatcher_hands_out_batches_in_due_order(office, settings, monkeypatch):
    settings.REMINDER_SEND_BATCH = 4
    rows = _texts(office, 10)
    published = []
    monkeypatch.setattr(tasks.send_reminders, "apply_async",
                        lambda args, **options: published.append(args[0]))  # fmt: skip
    assert tasks.dispatch_reminders() == 10
    assert [len(batch) for batch in published] == [4, 4, 2]
    assert [pk for batch in published for pk, _claim in batch] == [row.pk for row in rows]


@pytest.mark.parametrize("when", ["before", "after"], ids=["before-provider", "after-provider"])
def test_a_batch_that_dies_half_way_loses_and_duplicates_nothing(
    office, settings, memory_sms, when
):
    settings.SMS_BACKEND = "tests.reminders.test_batches.DyingBackend"
    DyingBackend.when, DyingBackend.sends = when, 0
    rows = _texts(office, 5)
    claimed = outbox.reminders_claim()
    with pytest.raises(Killed):
        tasks.send_reminders(claimed)
    states = [Reminder.objects.get(pk=row.pk) for row in rows]
    assert [r.state for r in states] == ["sent", "sent", "sending", "sending", "sending"]
    assert states[2].provider_attempted_at is not None  # in the provider's hands, maybe
    assert [r.provider_attempted_at for r in states[3:]] == [None, None]  # never tried

    # The message comes again before the leases run out (acks_late: the broker redelivers a
    # message whose worker died): the text that may have gone is asked about, not resent.
    tasks.send_reminders(claimed)
    # Or it never comes again: after the lease the next round settles the rest.
    later = timezone.now() + dt.timedelta(seconds=settings.REMINDER_LEASE_SECONDS + 1)
    for pk, claim in outbox.reminders_claim(now=later):
        outbox.reminder_deliver(reminder_id=pk, claim=claim, now=later)

    assert set(Reminder.objects.values_list("state", flat=True)) == {"sent"}
    assert _sent_keys(memory_sms) == {f"batch:{i}": 1 for i in range(5)}  # once each


def test_a_batch_that_dies_half_way_is_settled_after_its_lease(office, settings, memory_sms):
    """No redelivery at all: only the leases bring the rest back."""
    settings.SMS_BACKEND = "tests.reminders.test_batches.DyingBackend"
    DyingBackend.when, DyingBackend.sends = "after", 0
    rows = _texts(office, 5)
    with pytest.raises(Killed):
        tasks.send_reminders(outbox.reminders_claim())
    assert outbox.reminders_claim() == []  # the leases still hold
    later = timezone.now() + dt.timedelta(seconds=settings.REMINDER_LEASE_SECONDS + 1)
    again = outbox.reminders_claim(now=later)
    # The third was found at the provider and marked sent; the last two are claimed again.
    assert [pk for pk, _ in again] == [rows[3].pk, rows[4].pk]
    assert Reminder.objects.get(pk=rows[2].pk).state == "sent"
    assert tasks.send_reminders(again) == {"sent": 2}
    assert _sent_keys(memory_sms) == {f"batch:{i}": 1 for i in range(5)}
    assert [r.attempts for r in Reminder.objects.order_by("due_at")] == [1, 1, 1, 2, 2]


def test_a_row_claimed_again_meanwhile_is_not_sent_by_the_old_batch(
    office, memory_sms, monkeypatch
):
    """The batch read its rows at the start; by the time it reaches the second one, that row's
    lease ran out and another dispatcher holds it. The old batch must not send it too."""
    first, second = _texts(office, 2)
    claimed = outbox.reminders_claim()
    real_send = sms.send_sms

    def send_and_meanwhile(**kwargs):
        if kwargs["idempotency_key"] == first.idempotency_key:
            Reminder.objects.filter(pk=second.pk).update(claim="someone-else")
        return real_send(**kwargs)

    monkeypatch.setattr(sms, "send_sms", send_and_meanwhile)
    assert tasks.send_reminders(claimed) == {"sent": 1, "skipped": 1}
    assert [m.idempotency_key for m in memory_sms] == [first.idempotency_key]
    second.refresh_from_db()
    assert (second.state, second.claim, second.provider_attempted_at) == (
        "sending",
        "someone-else",
        None,
    )


def test_handing_a_text_to_the_provider_renews_its_lease(office, settings, monkeypatch):
    """So that a lease that ran out while the batch waited cannot be recovered (and sent again
    by someone else) while this worker is sending it."""
    (row,) = _texts(office, 1)
    claimed = outbox.reminders_claim()
    Reminder.objects.filter(pk=row.pk).update(lease_expires_at=timezone.now() - dt.timedelta(1))
    seen = []

    def send_while_recovering(**kwargs):
        seen.append(outbox.reminders_recover(now=timezone.now()))
        return "memory-1"

    monkeypatch.setattr(sms, "send_sms", send_while_recovering)
    assert tasks.send_reminders(claimed) == {"sent": 1}
    assert seen == [{"rescheduled": 0, "found_sent": 0, "waiting": 0}]
    assert Reminder.objects.get(pk=row.pk).state == "sent"


def test_a_transient_failure_retries_that_row_alone(office, settings, memory_sms, monkeypatch):
    rows = _texts(office, 3)
    claimed = outbox.reminders_claim()
    real_send = sms.send_sms

    def flaky(**kwargs):
        if kwargs["idempotency_key"] == rows[1].idempotency_key:
            raise sms.SmsError("Twilio 503", permanent=False)
        return real_send(**kwargs)

    retried = []
    monkeypatch.setattr(sms, "send_sms", flaky)
    monkeypatch.setattr(tasks.send_reminder, "apply_async",
                        lambda args, **options: retried.append((args, options)))  # fmt: skip
    before = timezone.now()
    assert tasks.send_reminders(claimed) == {"sent": 2, "retrying": 1}
    assert retried == [((rows[1].pk, claimed[1][1]), {"countdown": 15, "retries": 1})]
    failed = Reminder.objects.get(pk=rows[1].pk)
    assert (failed.state, failed.last_error) == ("sending", "Twilio 503")
    assert failed.lease_expires_at >= before + dt.timedelta(seconds=315)  # held for the retry
    # The retry, on its own, sends it once.
    monkeypatch.setattr(sms, "send_sms", real_send)
    assert outbox.reminder_deliver(reminder_id=rows[1].pk, claim=claimed[1][1]) == "sent"
    assert _sent_keys(memory_sms) == {f"batch:{i}": 1 for i in range(3)}


def test_a_row_that_breaks_does_not_hold_up_the_others(office, memory_sms, monkeypatch):
    rows = _texts(office, 3)
    claimed = outbox.reminders_claim()
    real_render = outbox._render

    def broken(reminder):
        if reminder.pk == rows[0].pk:
            raise ValueError("a template error")
        return real_render(reminder)

    monkeypatch.setattr(outbox, "_render", broken)
    assert tasks.send_reminders(claimed) == {"error": 1, "sent": 2}
    assert Reminder.objects.get(pk=rows[0].pk).state == "sending"  # retried after its lease
    assert sorted(_sent_keys(memory_sms)) == ["batch:1", "batch:2"]


def test_a_sent_mark_is_written_before_anything_else_leaves_the_process(
    office, memory_sms, monkeypatch
):
    """The batch holds a text's "sent" back to write it with the next statement: it must be
    in the database before the next text goes to a server, so that a crash there leaves
    nothing more unmarked than one text."""
    texted, mailed = _texts(office, 2)
    mailed.visitor.email, mailed.visitor.consent_email = "rosa@example.org", True
    mailed.visitor.save()
    Reminder.objects.filter(pk=mailed.pk).update(channel="email")
    seen = []
    monkeypatch.setattr(
        outbox, "send_mail",
        lambda *args: seen.append(Reminder.objects.get(pk=texted.pk).state),
    )  # fmt: skip
    assert tasks.send_reminders(outbox.reminders_claim()) == {"sent": 2}
    assert seen == ["sent"]
    assert set(Reminder.objects.values_list("state", flat=True)) == {"sent"}


def test_a_row_s_compare_and_set_goes_by_its_id_not_the_lease_index(office):
    """Statistics taken while nothing was being sent made PostgreSQL run each row's
    compare-and-set (id, state "sending", claim) through the partial lease index, scanning
    every row being sent for each one: 10,000 texts took 10,000 scans of up to 10,000 rows."""
    person = VisitorFactory(phone="(555) 302-0001", consent_sms=True)
    rows = Reminder.objects.bulk_create(
        Reminder(office=office, visitor=person, kind="broadcast", channel="sms",
                 due_at=timezone.now(), idempotency_key=f"plan:{i}")
        for i in range(2000)
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Reminder._meta.db_table}")
    plan = Reminder.objects.filter(pk=rows[0].pk, state="sending", claim="x").explain()
    by_id = "pkey" if connection.vendor == "postgresql" else "INTEGER PRIMARY KEY"
    assert "reminder_lease" not in plan and by_id in plan, plan
    recovery = Reminder.objects.filter(state="sending", lease_expires_at__lt=timezone.now())
    assert "reminder_lease_held" in recovery.explain()
