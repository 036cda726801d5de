"""Celery tasks: thin adapters that look up a row and call a service.

Services never import this module (it is a surface); they queue a task by name, on commit.
"""

import collections
import logging

from celery import shared_task
from django.conf import settings

from visitors import outbox, privacy, reminders, remote, services, verification, webhooks

logger = logging.getLogger(__name__)


@shared_task
def close_stale_visits() -> int:
    # The same housekeeping round: lapsed kiosk check-ins and unused pairing codes.
    services.kiosk_flows_forget_expired()
    services.pairings_forget_expired()
    verification.forget_expired()
    return services.visits_close_stale()


@shared_task
def dispatch_reminders() -> int:
    """Claim the due reminders and hand them to send tasks in small batches; return how many."""
    claimed = outbox.reminders_claim()
    hand_out(claimed)
    return len(claimed)


def hand_out(claimed: list[tuple[int, str]], **options) -> int:
    """One send_reminders message per REMINDER_SEND_BATCH claimed rows, in due order; return
    how many messages. ``options`` go to apply_async (the benchmark names its own queue).

    A message that never arrives (the broker lost it, or went down half-way through this
    loop) loses nothing: its rows stay *sending* until their lease runs out, then are claimed
    again."""
    size = max(1, settings.REMINDER_SEND_BATCH)
    batches = [claimed[start : start + size] for start in range(0, len(claimed), size)]
    for batch in batches:
        send_reminders.apply_async((batch,), **options)
    return len(batches)


@shared_task
def send_reminders(claimed: list[tuple[int, str]]) -> dict[str, int]:
    """Deliver a small batch of claimed reminders, each on its own claim (see
    outbox.reminders_deliver); one that fails transiently goes on alone, as send_reminder,
    with the same back-off and the same number of attempts."""
    outcomes: collections.Counter[str] = collections.Counter()
    for reminder_id, claim, outcome in outbox.reminders_deliver(claimed):
        if isinstance(outcome, outbox.TransientError):
            outcome = _retry_alone(reminder_id, claim, retries=0)
        outcomes[outcome] += 1
    return dict(outcomes)


def _retry_alone(reminder_id: int, claim: str, *, retries: int) -> str:
    """What send_reminder's self.retry() does, for a row of a batch: a longer lease, then a
    send_reminder message of its own after the back-off. If that message cannot be queued,
    the row is retried once its lease runs out (checked with the provider first)."""
    countdown = min(600, 15 * 2**retries)
    outbox.reminder_extend_lease(reminder_id=reminder_id, claim=claim, seconds=countdown + 300)
    try:
        send_reminder.apply_async((reminder_id, claim), countdown=countdown, retries=retries + 1)
    except Exception:  # noqa: BLE001 - the broker is down: the lease brings it back
        logger.warning("reminder %s: retry not queued; retried after its lease", reminder_id,
                       exc_info=True)  # fmt: skip
    return "retrying"


@shared_task
def release_overdue_places() -> int:
    """Places of people called while on their way who did not come within the grace time."""
    return remote.release_overdue()


@shared_task
def schedule_daily_summaries() -> int:
    return reminders.daily_summaries_schedule()


@shared_task(bind=True, max_retries=4)
def send_reminder(self, reminder_id: int, claim: str) -> str:
    """Deliver one claimed reminder, retrying transient failures with exponential backoff."""
    try:
        return outbox.reminder_deliver(reminder_id=reminder_id, claim=claim)
    except outbox.TransientError as error:
        if self.request.retries >= self.max_retries:
            outbox.reminder_give_up(reminder_id=reminder_id, claim=claim, error=str(error))
            return "failed"
        countdown = min(600, 15 * 2**self.request.retries)
        outbox.reminder_extend_lease(reminder_id=reminder_id, claim=claim, seconds=countdown + 300)
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task
def anonymise_inactive_visitors() -> int:
    return privacy.visitors_anonymise_inactive()


@shared_task(bind=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> str:
    """POST one webhook delivery, retrying failures with exponential backoff (the row counts
    its attempts and says when the next is due)."""
    try:
        return webhooks.webhook_deliver(delivery_id=delivery_id)
    except webhooks.DeliveryFailed as error:
        raise self.retry(exc=error, countdown=error.countdown) from error


@shared_task
def sweep_webhook_deliveries() -> int:
    """Queue again every webhook delivery left pending past its due time; return how many."""
    due = webhooks.deliveries_due()
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    return len(due)
