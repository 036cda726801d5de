"""Webhooks: an office's events, signed and POSTed to the addresses its admins subscribed.

``emit`` is called by the domain where a visit checks in, is called or is concluded, and where a
reminder fails. It writes one delivery row per matching subscription in the caller's
transaction, and asks a Celery worker to send each only once that transaction commits: a change
that rolls back leaves no row and sends nothing. ``webhook_deliver`` sends one row; the task
retries failures with exponential backoff, and each attempt is recorded on the row (the
delivery log an office admin reads).

Every request carries ``X-Frontdesk-Signature: t=<unix time>,v1=<hex>``, where ``<hex>`` is
HMAC-SHA256 with the subscription's secret over ``f"{t}.{body}"``. Receivers recompute it and
refuse old timestamps (docs/api.md shows how).
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from functools import partial

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from visitors import broker
from visitors.integrations.models import (
    DeliveryState,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from visitors.messaging.models import Reminder
from visitors.offices.models import Office
from visitors.visits.models import Visit

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Frontdesk-Signature"
USER_AGENT = "Frontdesk-Webhooks/1"
EXCERPT = 500
# Answers worth another try; any other 4xx means the receiver refused this event for good.
RETRY_STATUSES = {408, 409, 425, 429}
# An attempt holds its row for the request's timeout and this much more.
LEASE_MARGIN_SECONDS = 60
# A retry that Celery runs a moment before its due time (clocks of two hosts) still counts.
EARLY_SECONDS = 5


class DeliveryFailed(Exception):
    """An attempt failed and another is due in ``countdown`` seconds."""

    def __init__(self, message: str, *, retry: bool, countdown: int = 0):
        super().__init__(message)
        self.retry = retry
        self.countdown = countdown


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(*, secret: str, header: str, body: bytes, tolerance: int = 300, now=None) -> bool:
    """Check a signature header as a receiver would (used by the tests and in docs/api.md)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- What is sent ----------------------------------------------------------------------------


def visit_data(visit: Visit) -> dict:
    """A visit as an event carries it: ids and state, no personal data (ask the API for that)."""
    return {
        "visit": {
            "id": visit.pk,
            "ticket_code": visit.ticket_code,
            "status": visit.status,
            "source": visit.source,
            "service_date": visit.service_date,
            "visitor_id": visit.visitor_id,
            "checked_in_at": visit.checked_in_at,
            "called_at": visit.called_at,
            "desk": visit.desk,
            "concluded_at": visit.concluded_at,
            "outcome": visit.outcome or None,
        }
    }


def reminder_data(reminder: Reminder) -> dict:
    return {
        "reminder": {
            "id": reminder.pk,
            "kind": reminder.kind,
            "channel": reminder.channel,
            "state": reminder.state,
            "attempts": reminder.attempts,
            "last_error": reminder.last_error[:EXCERPT],
            "visitor_id": reminder.visitor_id,
            "visit_id": reminder.visit_id,
            "due_at": reminder.due_at,
        }
    }


# --- Emitting ----------------------------------------------------------------------------------


def emit(event: str, *, office_id: int, data: dict) -> int:
    """Record ``event`` for the office's subscribers; send once the transaction commits.

    Returns how many deliveries were recorded (0 when nobody subscribed: one query).
    """
    event = WebhookEvent(event)
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(office_id=office_id, is_active=True)
        if event.value in s.events
    ]
    if not subscriptions:
        return 0
    office = Office.objects.only("slug").get(pk=office_id)
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = json.loads(
        json.dumps(
            {"id": event_id, "type": event.value, "created_at": timezone.now(),
             "office": office.slug, "data": data},
            cls=DjangoJSONEncoder,
        )
    )  # fmt: skip
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(subscription=s, event=event.value, event_id=event_id, payload=payload)
            for s in subscriptions
        ]
    )
    for delivery in deliveries:
        transaction.on_commit(partial(_enqueue, delivery.pk), robust=True)
    return len(deliveries)


def _enqueue(delivery_id: int) -> None:
    broker.queue("visitors.tasks.deliver_webhook", delivery_id)


# --- Delivering ------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: never follow a receiver elsewhere."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, *, body: bytes, headers: dict) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, response.read(EXCERPT).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(EXCERPT).decode("utf-8", "replace")


def webhook_deliver(*, delivery_id: int, final: bool | None = None) -> str:
    """Send one pending delivery; return its state. Raises DeliveryFailed to be retried.

    The attempt first takes the row with a compare-and-set on ``next_attempt_at`` (a lease
    as long as the request may take), so a task queued twice — by the commit and by the
    sweeper, or a retry that was only late — sends it once. ``final`` marks the last attempt
    (by default: the row's attempts reach WEBHOOK_MAX_ATTEMPTS); a failure then fails the row.
    """
    now = timezone.now()
    lease = dt.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
    taken = WebhookDelivery.objects.filter(
        pk=delivery_id,
        state=DeliveryState.PENDING,
        next_attempt_at__lte=now + dt.timedelta(seconds=EARLY_SECONDS),
    ).update(next_attempt_at=now + lease)
    if not taken:
        return "skipped"  # delivered, failed, not due yet, or being sent by another task
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    if final is None:
        final = delivery.attempts + 1 >= settings.WEBHOOK_MAX_ATTEMPTS
    subscription = delivery.subscription
    if not subscription.is_active:
        _record(delivery, state=DeliveryState.FAILED, error="subscription turned off")
        return DeliveryState.FAILED
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    now = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Frontdesk-Event": delivery.event,
        "X-Frontdesk-Delivery": str(delivery.pk),
        "X-Frontdesk-Event-Id": delivery.event_id,
        SIGNATURE_HEADER: sign(
            secret=subscription.secret, timestamp=int(now.timestamp()), body=body
        ),
    }
    try:
        status, excerpt = _post(subscription.url, body=body, headers=headers)
    except (OSError, ValueError) as error:  # refused, timed out, DNS, bad address
        return _failed(delivery, now, final=final, retry=True, error=str(error) or repr(error))
    if 200 <= status < 300:
        _record(delivery, state=DeliveryState.DELIVERED, at=now, delivered_at=now,
                response_status=status, response_excerpt=excerpt, error="")  # fmt: skip
        return DeliveryState.DELIVERED
    retry = status >= 500 or status in RETRY_STATUSES
    return _failed(
        delivery, now, final=final, retry=retry, error=f"HTTP {status}",
        response_status=status, response_excerpt=excerpt,
    )  # fmt: skip


def _failed(delivery, now, *, final: bool, retry: bool, error: str, **fields) -> str:
    if retry and not final:
        countdown = retry_countdown(delivery.attempts)
        due = now + dt.timedelta(seconds=countdown)
        _record(delivery, at=now, error=error[:EXCERPT], next_attempt_at=due, **fields)
        raise DeliveryFailed(error, retry=True, countdown=countdown)
    _record(delivery, state=DeliveryState.FAILED, at=now, error=error[:EXCERPT], **fields)
    return DeliveryState.FAILED


def _record(delivery: WebhookDelivery, *, at: dt.datetime | None = None, **fields) -> None:
    if at is not None:
        fields |= {"attempts": F("attempts") + 1, "last_attempt_at": at}
    WebhookDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(**fields)


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries whose task was lost: past their due time by more than the grace.

    A web process that died after its commit, a broker that was down when the change
    committed, a worker killed mid-attempt: each leaves a pending row that nobody will send.
    """
    now = now or timezone.now()
    grace = dt.timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    return list(
        WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lt=now - grace)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def retry_countdown(retries: int) -> int:
    """Seconds before attempt ``retries + 2``: the base, doubled each time, at most 30 minutes."""
    # At most 30 minutes: a Redis broker redelivers unacked messages after an hour.
    return min(1800, settings.WEBHOOK_RETRY_BACKOFF_SECONDS * 2**retries)
