"""What follows from a change to a visit, written in the change's own transaction.

Every transition service (``visitors.services``) calls :func:`visit_changed` inside the
``transaction.atomic`` block that made the change, whichever surface asked for it (console,
workspace, API, kiosk, status page, desk check-in, beat). It writes, in that transaction:

- the office's queue version (open consoles and displays poll it);
- the texts that follow ("you're being called"; "N ahead" whenever the line moves), only where
  the visitor agreed to them — reminder rows in the outbox;
- the webhook deliveries for the office's subscribers;
- one audit event.

So a change that commits carries all of them, and a change that rolls back leaves none. What
happens *after* the commit — asking a worker to send now, forgetting the cached queue version —
is registered with ``transaction.on_commit(..., robust=True)`` and may fail (Redis or the broker
down) without failing the request: the rows wait in the database, and the beat sweepers
(``dispatch_reminders``, ``sweep_webhook_deliveries``) send whatever was left pending.
"""

import logging

from django.core.cache import cache
from django.db import transaction
from django.db.models import TextChoices

from frontdesk import db
from visitors import polling, reminders, selectors, webhooks
from visitors.offices.models import Office
from visitors.people.models import AuditAction, AuditEvent
from visitors.visits.models import Visit

logger = logging.getLogger(__name__)


class Event(TextChoices):
    """Every change of a visit that the transition services make."""

    CHECKED_IN = "checked_in"
    CALLED = "called"
    RECALLED = "recalled"
    STARTED = "started"
    RETURNED = "returned"
    LEFT = "left"
    NO_SHOW = "no_show"
    FINISHED = "finished"
    HANDED_OVER = "handed_over"
    GREETED = "greeting"
    DETERMINED = "determining"
    RESPONDED = "responding"
    CONCLUDED = "concluding"
    FUTURE_REFERENCE = "future_reference"
    MERGED = "merged"
    PLACED_BACK = "placed_back"


# The events after which someone waiting may have fewer people ahead of them.
LINE_MOVES = {
    Event.CHECKED_IN,
    Event.CALLED,
    Event.RECALLED,
    Event.RETURNED,
    Event.LEFT,
    Event.NO_SHOW,
    Event.MERGED,
    Event.PLACED_BACK,
}
WEBHOOK_EVENTS = {
    Event.CHECKED_IN: "visit.checked_in",
    Event.CALLED: "visit.called",
    Event.RECALLED: "visit.called",
    Event.CONCLUDED: "visit.concluded",
}


def visit_changed(visit: Visit, event: Event, *, by=None, what: str = "") -> None:
    """Write everything that follows from ``event`` on ``visit``; call inside its transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("visit_changed must run in the change's transaction")
    if event in (Event.FINISHED, Event.CALLED, Event.RECALLED):
        # The wait estimate's inputs moved: a visit finished (the medians), someone called
        # (staff on duty).
        office_id = visit.office_id
        transaction.on_commit(lambda: _forget_estimate_inputs(office_id), robust=True)
    texts_now = 0  # texts due at once: worth asking a worker to send right after the commit
    if event in (Event.CALLED, Event.RECALLED):
        texts_now += reminders.called_now(visit)
    if event == Event.CHECKED_IN:
        if not getattr(visit, "new_visitor", False):
            reminders.visitor_came_back(visit)  # a record made just now has no reminders
        texts_now += reminders.checked_in(visit)
        texts_now += reminders.appointment_arrived(visit)
        # A newcomer joins at the back (or, with priority, ahead): nobody's wait got shorter,
        # so only the newcomer's own "tell me when N are ahead" can be met already. (One who
        # joined from their phone hears "time to head in" once their wait is quoted.)
        if visit.notify_when_ahead is not None:
            texts_now += reminders.queue_position_notify(
                Office(pk=visit.office_id), day=visit.service_date
            )
    elif event in LINE_MOVES:
        texts_now += reminders.line_moved(Office(pk=visit.office_id), day=visit.service_date)
    if event in WEBHOOK_EVENTS:
        webhooks.emit(
            WEBHOOK_EVENTS[event], office_id=visit.office_id, data=webhooks.visit_data(visit)
        )
    db.insert(
        AuditEvent(
            user=by if getattr(by, "is_authenticated", False) else None,
            office_id=visit.office_id,
            visitor_id=visit.visitor_id,
            visit_id=visit.pk,
            action=AuditAction.CHANGE,
            what=(what or f"visit {event.value}")[:120],
        )
    )
    # Last: moving the version locks the office's row until the commit, and every change at
    # the office waits for that lock; the shorter it is held, the more changes a second.
    queue_moved(visit.office_id)
    if texts_now:
        reminders.dispatch_soon()  # otherwise beat's round is soon enough, and no broker call


def queue_moved(office_id: int) -> None:
    """Move the office's queue version now; forget the cached copy once that commits."""
    db.increment(Office, office_id, "queue_version")  # update(F() + 1), compiled once
    transaction.on_commit(lambda: polling.forget_version_now(office_id), robust=True)


def _forget_estimate_inputs(office_id: int) -> None:
    try:
        cache.delete(selectors.estimate_inputs_key(office_id))
    except Exception:  # noqa: BLE001 — they expire by themselves within a minute
        logger.warning("cache unavailable; estimate inputs of %s not forgotten", office_id)
