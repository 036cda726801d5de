"""Webhooks through a real Celery worker (the run's broker: the filesystem transport, or Redis)
to a real HTTP receiver on 127.0.0.1 that checks the signature as an integrator would."""

import http.server
import json
import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from frontdesk.celery import QUEUES, app
from tests.factories import VisitorFactory
from visitors import services, tasks, webhooks
from visitors.integrations.models import WebhookDelivery, WebhookSubscription


class Receiver:
    """A local endpoint: answers with the next of ``statuses`` (then 200) and keeps every
    request it received, with whether its signature was valid."""

    def __init__(self, secret: str, statuses=()):
        self.secret = secret
        self.statuses = list(statuses)
        self.received: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = webhooks.verify(
                    secret=receiver.secret,
                    header=self.headers.get("X-Frontdesk-Signature", ""),
                    body=body,
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append({"event": self.headers["X-Frontdesk-Event"],
                                          "valid": valid, "payload": json.loads(body),
                                          "status": status})  # fmt: skip
                self.send_response(status if valid else 401)
                self.end_headers()
                self.wfile.write(b"thanks" if status < 300 else b"try again")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/frontdesk"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _worker():
    # Name the queue: an earlier test worker's queue selection stays on the shared app.
    return start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=30,
        queues=[*QUEUES, app.conf.task_default_queue],
    )  # fmt: skip


def _wait_for(predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_RETRY_BACKOFF_SECONDS = 0
    settings.WEBHOOK_TIMEOUT_SECONDS = 5


@pytest.fixture(autouse=True)
def local_receiver(settings):
    """Let deliveries reach the receiver on 127.0.0.1 over http, as in development."""
    settings.DEBUG = True
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_a_signed_event_the_receiver_verifies(
    api, write_token, office, fast_retries
):
    """Check-in through the API → visit.checked_in, signed, delivered once, logged."""
    subscription = WebhookSubscription.objects.create(
        office=office, url="http://placeholder", events=["visit.checked_in", "visit.called"]
    )
    with Receiver(subscription.secret) as receiver, _worker():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(url=receiver.url)
        made = api(
            "post",
            "/offices/riverside/check-ins",
            write_token,
            {"first_name": "Rosa", "last_name": "Parks", "reason_other": "Résumé"},
        )
        assert made.status_code == 201
        called = api("post", "/offices/riverside/queue/call-next", write_token, {"desk": "3"})
        assert called.json()["visit"]["id"] == made.json()["id"]
        assert _wait_for(lambda: len(receiver.received) == 2)
    events = sorted(r["event"] for r in receiver.received)
    assert events == ["visit.called", "visit.checked_in"]
    assert all(r["valid"] for r in receiver.received)
    payload = next(r["payload"] for r in receiver.received if r["event"] == "visit.called")
    assert payload["type"] == "visit.called"
    assert payload["office"] == "riverside"
    assert payload["data"]["visit"]["id"] == made.json()["id"]
    assert payload["data"]["visit"]["desk"] == "3"
    assert "first_name" not in json.dumps(payload)  # events carry ids, not personal data
    log = WebhookDelivery.objects.filter(subscription=subscription)
    assert {(d.state, d.attempts, d.response_status) for d in log} == {("delivered", 1, 200)}


@pytest.mark.django_db(transaction=True)
def test_a_failed_delivery_is_retried_with_backoff_until_it_succeeds(office, clerk, fast_retries):
    """The receiver answers 500 twice, then 200: three attempts, one delivery, all logged."""
    subscription = WebhookSubscription.objects.create(
        office=office, url="http://placeholder", events=["visit.checked_in"]
    )
    with Receiver(subscription.secret, statuses=[500, 503]) as receiver, _worker():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(url=receiver.url)
        services.visit_check_in(office=office, visitor=VisitorFactory())
        assert _wait_for(
            lambda: WebhookDelivery.objects.filter(state="delivered").exists(), seconds=60
        )
    assert [r["status"] for r in receiver.received] == [500, 503, 200]
    assert len({r["payload"]["id"] for r in receiver.received}) == 1  # the same event each time
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.response_status) == ("delivered", 3, 200)


@pytest.mark.django_db(transaction=True)
def test_a_change_that_rolls_back_sends_nothing(office, fast_retries):
    """The check-in's transaction fails after the event was emitted: no row, no request."""
    subscription = WebhookSubscription.objects.create(
        office=office, url="http://placeholder", events=["visit.checked_in"]
    )
    with Receiver(subscription.secret) as receiver, _worker():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(url=receiver.url)
        with pytest.raises(RuntimeError), transaction.atomic():
            services.visit_check_in(office=office, visitor=VisitorFactory())
            assert WebhookDelivery.objects.count() == 1  # recorded inside the transaction…
            raise RuntimeError("something later in the same change failed")
        # …and a change that does commit afterwards is delivered: the worker was listening.
        services.visit_check_in(office=office, visitor=VisitorFactory(first_name="Later"))
        assert _wait_for(lambda: len(receiver.received) == 1)
        time.sleep(0.5)
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_delivery_whose_task_was_lost_is_sent_once_by_the_sweeper(
    office, fast_retries, settings, monkeypatch
):
    """The web process dies after its commit, before it queued the send: the delivery stays
    pending. The beat sweeper queues it again — twice, as two beats would — and the receiver
    gets it exactly once."""
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    subscription = WebhookSubscription.objects.create(
        office=office, url="http://placeholder", events=["visit.checked_in"]
    )
    monkeypatch.setattr(webhooks, "_enqueue", lambda delivery_id: None)  # the process died
    with Receiver(subscription.secret) as receiver, _worker():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(url=receiver.url)
        services.visit_check_in(office=office, visitor=VisitorFactory())
        delivery = WebhookDelivery.objects.get()
        assert (delivery.state, delivery.attempts) == ("pending", 0)
        time.sleep(0.5)
        assert receiver.received == []  # nothing was queued: lost
        tasks.sweep_webhook_deliveries.delay()
        tasks.sweep_webhook_deliveries.delay()
        assert _wait_for(lambda: len(receiver.received) == 1)
        time.sleep(1.5)  # the second sweep's send, had it gone, would have arrived by now
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 1)
