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

Events go only to the public internet: ``check_destination`` owns the rule (no credentials in
the address, https unless DEBUG, and every address the host resolves to public), and is applied
when an admin subscribes and again at each send, where the request goes to the very addresses
that were checked (a name that resolves elsewhere a moment later changes nothing). Hosts named
in WEBHOOK_ALLOWED_HOSTS may be private, for development and tests. Only the status of the
receiver's answer is kept, never its body: the far side's words are not ours to show.
"""

import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

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
# Names private by convention (RFC 6761, mDNS, ICANN's .internal): refused without asking DNS.
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits (RFC 6052).
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class DestinationRefused(Exception):
    """A webhook address Frontdesk will not send to; the message says why, for its admin."""


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


# Every change to a visit asks which of its office's subscriptions want the event; almost
# always none do. The answer is kept in the cache for SUBSCRIPTIONS_SECONDS and forgotten the
# moment a subscription is saved or deleted (at once and again when that commits). A
# subscription switched off meanwhile is still checked when its delivery is sent.
SUBSCRIPTIONS_SECONDS = 60


def subscriptions_key(office_id: int) -> str:
    return f"webhook-subscriptions:{office_id}"


def _active_subscriptions(office_id: int) -> list[tuple[int, list]]:
    """(id, events) of the office's active subscriptions."""
    found = None
    with contextlib.suppress(Exception):  # no cache: ask the database
        found = cache.get(subscriptions_key(office_id))
    if found is None:
        found = list(
            WebhookSubscription.objects.filter(office_id=office_id, is_active=True)
            .order_by("pk")
            .values_list("pk", "events")
        )
        with contextlib.suppress(Exception):
            cache.set(subscriptions_key(office_id), found, SUBSCRIPTIONS_SECONDS)
    return found


def _forget_subscriptions(office_id: int) -> None:
    try:
        cache.delete(subscriptions_key(office_id))
    except Exception:  # noqa: BLE001 — it expires by itself within SUBSCRIPTIONS_SECONDS
        logger.warning("cache unavailable; webhook subscriptions of %s not forgotten", office_id)


@receiver(post_save, sender=WebhookSubscription, dispatch_uid="webhook-subscriptions-saved")
@receiver(post_delete, sender=WebhookSubscription, dispatch_uid="webhook-subscriptions-deleted")
def _subscription_changed(sender, instance, **kwargs) -> None:
    office_id = instance.office_id
    _forget_subscriptions(office_id)
    transaction.on_commit(lambda: _forget_subscriptions(office_id), robust=True)


def emit(event: str, *, office_id: int, data: dict) -> int:
    """Record ``event`` for the office's subscribers; send once the transaction commits.

    Returns how many deliveries were recorded (0 when nobody subscribed: no query at all
    while the office's subscriptions are in the cache).
    """
    event = WebhookEvent(event)
    subscriptions = [pk for pk, events in _active_subscriptions(office_id) if event.value in events]
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
            WebhookDelivery(
                subscription_id=pk, event=event.value, event_id=event_id, payload=payload
            )  # fmt: skip
            for pk in subscriptions
        ]
    )
    for delivery in deliveries:
        transaction.on_commit(partial(_enqueue, delivery.pk), robust=True)
    return len(deliveries)


def _enqueue(delivery_id: int) -> None:
    broker.queue("visitors.tasks.deliver_webhook", delivery_id)


# --- Where it may go -------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """A webhook address taken apart, with the addresses its host resolved to when checked."""

    scheme: str
    host: str
    port: int
    target: str
    addresses: tuple[str, ...]


def is_public_address(address: str) -> bool:
    """Whether ``address`` is on the public internet, also when IPv6 carries an IPv4 address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    # is_global alone lets multicast and some reserved ranges through.
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def _resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address ``host`` has now, in the resolver's order (raises OSError if none)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


def check_destination(url: str) -> Destination:
    """Where a webhook may send: ``url`` with its host resolved once and every address checked.

    Raises DestinationRefused when the rule refuses it: credentials in the address, http while
    DEBUG is off, or a host that is (or resolves to) a private, loopback, link-local, multicast,
    reserved or unspecified address — unless it is one of WEBHOOK_ALLOWED_HOSTS. Raises OSError
    when the host does not resolve now.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DestinationRefused(_("This is not a valid address.")) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise DestinationRefused(_("Use an http or https address."))
    if scheme != "https" and not settings.DEBUG:
        raise DestinationRefused(_("Use an https address."))
    if "@" in parts.netloc:
        raise DestinationRefused(_("Leave the user name and password out of the address."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise DestinationRefused(_("This address names no host."))
    port = port or (443 if scheme == "https" else 80)
    allowed = host in {h.lower().strip("[]").rstrip(".") for h in settings.WEBHOOK_ALLOWED_HOSTS}
    private = _("Frontdesk sends webhooks only to public addresses, not to a private network.")
    if not allowed and (host == "localhost" or host.endswith(LOCAL_SUFFIXES)):
        raise DestinationRefused(private)
    addresses = _resolve(host, port)
    if not allowed and not all(is_public_address(a) for a in addresses):
        raise DestinationRefused(private)
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return Destination(scheme=scheme, host=host, port=port, target=target, addresses=addresses)


# --- Delivering ------------------------------------------------------------------------------

_tls = ssl.create_default_context()


def _open_socket(addresses: tuple[str, ...], port: int, timeout: float | None) -> socket.socket:
    """Connect to the first of the checked ``addresses`` that answers; never look the name up."""
    error = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as failed:
            error = failed
    raise error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the checked addresses, with the host's name in the Host header."""

    def __init__(self, destination: Destination, *, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout)
        self.addresses = destination.addresses

    def connect(self) -> None:
        self.sock = _open_socket(self.addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked addresses; SNI and the certificate checked against the host's name."""

    def __init__(self, destination: Destination, *, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout, context=_tls)
        self.addresses = destination.addresses

    def connect(self) -> None:
        sock = _open_socket(self.addresses, self.port, self.timeout)
        try:
            self.sock = _tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _post(url: str, *, body: bytes, headers: dict) -> int:
    """POST ``body`` to ``url`` if ``check_destination`` allows it; return the answer's status.

    http.client follows no redirects: a redirect is an answer, not an instruction. The answer's
    body is never read.
    """
    destination = check_destination(url)
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    connection: http.client.HTTPConnection
    if destination.scheme == "https":
        connection = _PinnedHTTPSConnection(destination, timeout=timeout)
    else:
        connection = _PinnedHTTPConnection(destination, timeout=timeout)
    try:
        connection.request("POST", destination.target, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


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
        status = _post(subscription.url, body=body, headers=headers)
    except DestinationRefused as refused:
        # The rule refuses this address: another attempt would be refused the same way.
        return _failed(delivery, now, final=True, retry=False, error=_("Not sent: %s") % refused)
    except (OSError, ValueError, http.client.HTTPException) as error:  # refused, timed out, DNS
        return _failed(delivery, now, final=final, retry=True, error=str(error) or repr(error))
    if 200 <= status < 300:
        _record(delivery, state=DeliveryState.DELIVERED, at=now, delivered_at=now,
                response_status=status, response_excerpt="", error="")  # fmt: skip
        return DeliveryState.DELIVERED
    retry = status >= 500 or status in RETRY_STATUSES
    return _failed(
        delivery, now, final=final, retry=retry, error=f"HTTP {status}",
        response_status=status, response_excerpt="",
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
