"""Celery tasks: thin adapters that look up a row and call a service.

Services never import this module (it is a surface); they queue a task by name, on commit.
"""

from celery import shared_task

from visitors import outbox, privacy, reminders, remote, services, verification, webhooks


@shared_task
def close_stale_visits() -> int:
    # The same housekeeping round: lapsed kiosk check-ins and unused pairing codes.
    services.kiosk_flows_forget_expired()
    services.pairings_forget_expired()
    verification.forget_expired()
    return services.visits_close_stale()


@shared_task
def dispatch_reminders() -> int:
    """Claim the due reminders and hand each to a send task; return how many."""
    claimed = outbox.reminders_claim()
    for reminder_id, claim in claimed:
        send_reminder.delay(reminder_id, claim)
    return len(claimed)


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
