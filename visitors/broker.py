"""Queueing a Celery task from a service once its change has committed — by name, so that no
service imports the task module (a surface), and without ever failing or stalling the request.

The rows a task would act on are already in the database (reminders, webhook deliveries), and
beat's sweepers send whatever is left pending, so a broker that is down only delays them. What
must not happen is a request waiting on it: each attempt fails fast (no retries, no result
backend), and after one failure this process stops trying for ``PAUSE_SECONDS`` — a change
with five webhook subscribers costs one failed attempt, not five. A failure that took seconds
(a Redis that takes connections and never answers: each attempt waits for the read timeout)
pauses it for ``HUNG_PAUSE_SECONDS``, so a hung broker costs a request that wait about once a
minute per process, not every few requests.
"""

import logging
import random
import time

from celery import current_app

logger = logging.getLogger(__name__)

PAUSE_SECONDS = 10.0
HUNG_PAUSE_SECONDS = 60.0
SLOW_FAILURE_SECONDS = 1.0
_paused_until = 0.0


def queue(task_name: str, *args) -> bool:
    """Queue ``task_name`` with ``args``; False when the broker is down (the rows wait)."""
    global _paused_until
    if time.monotonic() < _paused_until:
        return False
    started = time.monotonic()
    try:
        current_app.send_task(task_name, args, retry=False, ignore_result=True)
    except Exception:  # noqa: BLE001 - any broker failure: the sweepers send the rows later
        now = time.monotonic()
        hung = now - started > SLOW_FAILURE_SECONDS
        # Spread (±25 %): processes that failed together would otherwise try again together,
        # and every web worker would wait at the same moment.
        pause = HUNG_PAUSE_SECONDS * random.uniform(0.75, 1.25) if hung else PAUSE_SECONDS
        _paused_until = now + pause
        logger.warning("broker unavailable; %s not queued, the rows wait for the sweepers",
                       task_name, exc_info=True)  # fmt: skip
        return False
    return True


def resume() -> None:
    """Forget a failure (tests, or a process that knows the broker is back)."""
    global _paused_until
    _paused_until = 0.0
