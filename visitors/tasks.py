"""Celery tasks: thin adapters that call a service."""

from celery import shared_task

from visitors import services


@shared_task
def close_stale_visits() -> int:
    return services.visits_close_stale()
