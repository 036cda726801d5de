"""The Celery application, and every periodic schedule in one place."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")

app = Celery("frontdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Three queues, each with workers of its own (Procfile.dev, docker-compose.yml), so that one
# slow kind of work never holds up another: a webhook receiver that takes its time must not
# delay "you're being called". /healthz pings a worker on each.
TEXTS, WEBHOOKS, HOUSEKEEPING = "texts", "webhooks", "housekeeping"
QUEUES = (TEXTS, WEBHOOKS, HOUSEKEEPING)
app.conf.task_routes = {
    "visitors.tasks.dispatch_reminders": {"queue": TEXTS},
    "visitors.tasks.send_reminder": {"queue": TEXTS},
    "visitors.tasks.send_reminders": {"queue": TEXTS},
    # Releasing a place is followed by its text, and is as pressing: not behind housekeeping.
    "visitors.tasks.release_overdue_places": {"queue": TEXTS},
    "visitors.tasks.deliver_webhook": {"queue": WEBHOOKS},
    "visitors.tasks.sweep_webhook_deliveries": {"queue": WEBHOOKS},
    "visitors.tasks.close_stale_visits": {"queue": HOUSEKEEPING},
    "visitors.tasks.schedule_daily_summaries": {"queue": HOUSEKEEPING},
    "visitors.tasks.anonymise_inactive_visitors": {"queue": HOUSEKEEPING},
}

app.conf.beat_schedule = {
    # Close visits left open on an earlier office day, so the one-active-visit rule never
    # blocks a visitor who comes back tomorrow.
    "close-stale-visits": {
        "task": "visitors.tasks.close_stale_visits",
        "schedule": crontab(minute="*/15"),
    },
    # Joined from a phone, called, and not here within the office's grace time: released.
    "release-overdue-places": {
        "task": "visitors.tasks.release_overdue_places",
        "schedule": 60.0,
    },
    # The reminder outbox: claim what is due and hand each row to a send task.
    "dispatch-reminders": {
        "task": "visitors.tasks.dispatch_reminders",
        "schedule": 60.0,
    },
    # Webhook deliveries whose task was lost (a crash after the commit, the broker down when
    # it committed) are queued again; each attempt takes its row first, so none goes twice.
    "sweep-webhook-deliveries": {
        "task": "visitors.tasks.sweep_webhook_deliveries",
        "schedule": 60.0,
    },
    # Retention: anonymise visitors whose last visit is older than the office's setting.
    "anonymise-inactive-visitors": {
        "task": "visitors.tasks.anonymise_inactive_visitors",
        "schedule": crontab(hour=3, minute=30),
    },
    # Each office's managers get the day's summary once its day is over (DAILY_SUMMARY_HOUR).
    "schedule-daily-summaries": {
        "task": "visitors.tasks.schedule_daily_summaries",
        "schedule": crontab(minute=5),
    },
}


@app.task(name="frontdesk.ping", ignore_result=False)
def ping() -> str:
    """Answer /healthz's round trip through the broker and the result backend."""
    return "pong"
