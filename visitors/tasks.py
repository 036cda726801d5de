"""Celery tasks: thin adapters that call a service."""

from celery import shared_task
from django.conf import settings

from visitors import services


@shared_task
def close_stale_visits() -> int:
    return services.visits_close_stale()


@shared_task
def dispatch_reminders() -> int:
    """Claim the due reminders and hand each to a send task; return how many."""
    from visitors import outbox

    claimed = outbox.reminders_claim()
    for reminder_id, claim in claimed:
        send_reminder.delay(reminder_id, claim)
    return len(claimed)


@shared_task
def schedule_daily_summaries() -> int:
    from visitors import reminders

    return reminders.daily_summaries_schedule()


@shared_task(bind=True, max_retries=4)
def send_reminder(self, reminder_id: int, claim: str) -> str:
    """Deliver one claimed reminder, retrying transient failures with exponential backoff."""
    from visitors import outbox

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
    from visitors import privacy

    return privacy.visitors_anonymise_inactive()


@shared_task(bind=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> str:
    """POST one webhook delivery, retrying failures with exponential backoff."""
    from visitors import webhooks

    final = self.request.retries + 1 >= settings.WEBHOOK_MAX_ATTEMPTS
    try:
        return webhooks.webhook_deliver(delivery_id=delivery_id, final=final)
    except webhooks.DeliveryFailed as error:
        countdown = webhooks.retry_countdown(self.request.retries)
        raise self.retry(exc=error, countdown=countdown) from error
