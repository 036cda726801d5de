"""Webhooks: which events are recorded where, enqueued only on commit, signed, and what a
delivery attempt records (the worker and a real receiver: test_webhook_worker.py)."""

import datetime as dt
import json
import time
from unittest import mock

import pytest
import time_machine
from django.test import TestCase
from django.utils import timezone

from tests.factories import (
    MembershipFactory,
    OfficeFactory,
    UserFactory,
    VisitFactory,
    VisitorFactory,
)
from visitors import outbox, services, webhooks
from visitors.integrations.models import WebhookDelivery, WebhookSubscription
from visitors.messaging.models import Reminder
from visitors.offices.models import StaffRole
from visitors.visits.lifecycle import Stage

ALL = ["visit.checked_in", "visit.called", "visit.concluded", "reminder.failed"]


class EmitTests(TestCase):
    """Each transition records its event once per matching subscription, sent after commit."""

    def setUp(self):
        self.office = OfficeFactory(slug="riverside")
        self.staff = UserFactory(username="clerk")
        MembershipFactory(user=self.staff, office=self.office, role=StaffRole.FRONT_DESK)
        self.hook = WebhookSubscription.objects.create(
            office=self.office, url="https://crm.example.org/hook", events=ALL
        )

    def test_it_records_check_in_and_enqueues_it_on_commit(self):
        with mock.patch("visitors.broker.current_app.send_task") as enqueue:
            with self.captureOnCommitCallbacks(execute=False) as callbacks:
                visit = services.visit_check_in(office=self.office, visitor=VisitorFactory())
            enqueue.assert_not_called()  # not before the commit
            for callback in callbacks:
                callback()
        delivery = WebhookDelivery.objects.get()
        assert delivery.event == "visit.checked_in"
        assert delivery.payload["data"]["visit"]["id"] == visit.pk
        assert delivery.payload["data"]["visit"]["visitor_id"] == visit.visitor_id
        enqueue.assert_called_once_with(
            "visitors.tasks.deliver_webhook", (delivery.pk,), retry=False, ignore_result=True
        )

    def test_it_records_called_and_concluded(self):
        visit = VisitFactory(office=self.office)
        with self.captureOnCommitCallbacks():
            services.visit_call(visit=visit, staff=self.staff, desk="2")
            for stage, data in [
                (Stage.GREETING, {}),
                (Stage.DETERMINING, {"reasons": [], "visitor_words": "help"}),
                (Stage.RESPONDING, {"job_leads": "x", "barriers": [], "services": [],
                                    "partners": []}),
                (Stage.CONCLUDING, {"outcome": "resolved", "notes": "", "still_open": ""}),
            ]:  # fmt: skip
                services.visit_stage_record(visit=visit, stage=stage, by=self.staff, data=data)
        events = list(WebhookDelivery.objects.order_by("pk").values_list("event", flat=True))
        assert events == ["visit.called", "visit.concluded"]
        concluded = WebhookDelivery.objects.get(event="visit.concluded").payload
        assert concluded["data"]["visit"]["outcome"] == "resolved"

    def test_it_records_a_failed_reminder(self):
        reminder = Reminder.objects.create(
            office=self.office, visitor=VisitorFactory(), kind="appointment", channel="sms",
            due_at=timezone.now(), state="sending", claim="c1", idempotency_key="k",
        )  # fmt: skip
        outbox.reminder_give_up(reminder_id=reminder.pk, claim="c1", error="invalid number")
        delivery = WebhookDelivery.objects.get()
        assert delivery.event == "reminder.failed"
        assert delivery.payload["data"]["reminder"]["last_error"] == "invalid number"

    def test_only_subscribed_events_of_the_office(self):
        self.hook.events = ["visit.called"]
        self.hook.save()
        other = OfficeFactory(slug="hillside")
        WebhookSubscription.objects.create(office=other, url="https://x.example", events=ALL)
        WebhookSubscription.objects.create(
            office=self.office, url="https://off.example", events=ALL, is_active=False
        )
        services.visit_check_in(office=self.office, visitor=VisitorFactory())
        assert not WebhookDelivery.objects.exists()

    def test_no_subscription_costs_one_query(self):
        WebhookSubscription.objects.all().delete()
        with self.assertNumQueries(1):
            assert webhooks.emit("visit.called", office_id=self.office.pk, data={}) == 0


def test_a_signature_verifies_and_a_tampered_body_or_old_time_does_not():
    body = b'{"type":"visit.called"}'
    now = int(time.time())
    header = webhooks.sign(secret="whsec_x", timestamp=now, body=body)
    assert header.startswith(f"t={now},v1=")
    assert webhooks.verify(secret="whsec_x", header=header, body=body)
    assert not webhooks.verify(secret="whsec_y", header=header, body=body)
    assert not webhooks.verify(secret="whsec_x", header=header, body=body + b" ")
    assert not webhooks.verify(secret="whsec_x", header=header, body=body, now=now + 3600)
    assert not webhooks.verify(secret="whsec_x", header="garbage", body=body)


@pytest.fixture
def delivery(office):
    hook = WebhookSubscription.objects.create(
        office=office, url="https://crm.example.org/hook", events=ALL
    )
    return WebhookDelivery.objects.create(
        subscription=hook, event="visit.called", event_id="evt_1", payload={"id": "evt_1"}
    )


@pytest.fixture
def local_receiver(settings):
    """Let deliveries reach a receiver on this machine over http, as in development."""
    settings.DEBUG = True
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


def _answer(status):
    return mock.patch.object(webhooks, "_post", return_value=status)


@pytest.mark.django_db
def test_a_2xx_marks_the_delivery_delivered_with_its_signature(delivery):
    with mock.patch.object(webhooks, "_post", return_value=204) as post:
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "delivered"
    headers = post.call_args.kwargs["headers"]
    body = post.call_args.kwargs["body"]
    assert json.loads(body) == {"id": "evt_1"}
    assert headers["X-Frontdesk-Event"] == "visit.called"
    assert webhooks.verify(secret=delivery.subscription.secret,
                           header=headers["X-Frontdesk-Signature"], body=body)  # fmt: skip
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.response_status) == ("delivered", 1, 204)
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "skipped"  # once


@pytest.mark.django_db
@pytest.mark.parametrize("status", [500, 503, 429, 408])
def test_a_server_error_or_busy_receiver_is_retried(delivery, status):
    with _answer(status), pytest.raises(webhooks.DeliveryFailed):
        webhooks.webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.error) == ("pending", 1, f"HTTP {status}")
    assert delivery.response_status == status


@pytest.mark.django_db
def test_a_refusal_fails_at_once_and_the_last_attempt_fails_for_good(delivery):
    with _answer(400):
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "failed"
    delivery.state = "pending"
    delivery.save()
    with _answer(500):
        assert webhooks.webhook_deliver(delivery_id=delivery.pk, final=True) == "failed"


@pytest.mark.django_db
def test_an_unreachable_receiver_is_retried(delivery, settings, local_receiver):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(
        url="http://127.0.0.1:9/closed"
    )
    with pytest.raises(webhooks.DeliveryFailed):
        webhooks.webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.error and delivery.attempts == 1


@pytest.mark.django_db
def test_a_redirect_is_not_followed(delivery, local_receiver):
    """A receiver answering 302 does not send the event elsewhere; it counts as a refusal."""
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(
            url=f"http://127.0.0.1:{server.server_address[1]}/"
        )
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "failed"
    finally:
        server.shutdown()
        server.server_close()
    delivery.refresh_from_db()
    assert delivery.response_status == 302


def test_backoff_doubles_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BACKOFF_SECONDS = 30
    assert [webhooks.retry_countdown(n) for n in range(8)] == [
        30, 60, 120, 240, 480, 960, 1800, 1800]  # fmt: skip


@pytest.mark.django_db
def test_the_task_retries_then_gives_up(delivery, settings):
    """Celery's retry with the backoff countdown; the last allowed attempt fails the row."""
    from visitors.tasks import deliver_webhook

    settings.WEBHOOK_MAX_ATTEMPTS = 2
    retry = mock.patch.object(deliver_webhook, "retry", side_effect=RuntimeError)
    with _answer(500), retry as r, pytest.raises(RuntimeError):
        deliver_webhook.apply(args=(delivery.pk,), throw=True)
    assert r.call_args.kwargs["countdown"] == settings.WEBHOOK_RETRY_BACKOFF_SECONDS
    due = timezone.now() + dt.timedelta(seconds=settings.WEBHOOK_RETRY_BACKOFF_SECONDS)
    with _answer(500), time_machine.travel(due):
        deliver_webhook.apply(args=(delivery.pk,), retries=1, throw=True)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 2)


@pytest.mark.django_db
def test_a_delivery_for_a_turned_off_subscription_is_not_sent(delivery):
    WebhookSubscription.objects.update(is_active=False)
    with mock.patch.object(webhooks, "_post") as post:
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "failed"
    post.assert_not_called()


@pytest.mark.django_db
def test_it_sends_nothing_while_another_attempt_holds_the_row(delivery):
    """A second task for the same delivery (the commit's and the sweeper's) that runs while
    the first is sending finds the row taken by the first attempt's lease and skips it."""
    meanwhile = []

    def post(url, *, body, headers):
        meanwhile.append(webhooks.webhook_deliver(delivery_id=delivery.pk))
        return 200

    with mock.patch.object(webhooks, "_post", side_effect=post) as sent:
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "delivered"
    assert meanwhile == ["skipped"]
    assert sent.call_count == 1


@pytest.mark.django_db
def test_a_retry_is_not_sent_before_it_is_due(delivery):
    with _answer(500) as post, pytest.raises(webhooks.DeliveryFailed):
        webhooks.webhook_deliver(delivery_id=delivery.pk)
    with _answer(200) as again:
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "skipped"
    assert post.call_count == 1
    again.assert_not_called()


@pytest.mark.django_db
def test_the_sweeper_finds_only_deliveries_past_their_due_time(delivery, settings):
    """Pending and overdue by more than the grace: queued again; delivered or due: left."""
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 60
    assert webhooks.deliveries_due() == []  # just made: its own task is on its way
    later = timezone.now() + dt.timedelta(seconds=61)
    assert webhooks.deliveries_due(now=later) == [delivery.pk]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="delivered")
    assert webhooks.deliveries_due(now=later) == []


@pytest.mark.django_db
def test_subscriptions_are_asked_once_and_a_change_is_heard_at_once(django_assert_num_queries):
    """The office's subscriptions come from the cache after the first event; one added,
    switched off or deleted counts from the very next event."""
    office = OfficeFactory(slug="lakeside")
    data = {"visit": {"id": 1}}
    assert webhooks.emit("visit.called", office_id=office.pk, data=data) == 0
    with django_assert_num_queries(0):
        assert webhooks.emit("visit.called", office_id=office.pk, data=data) == 0
    hook = WebhookSubscription.objects.create(
        office=office, url="https://crm.example.org/hook", events=["visit.called"]
    )
    assert webhooks.emit("visit.called", office_id=office.pk, data=data) == 1
    assert webhooks.emit("visit.checked_in", office_id=office.pk, data=data) == 0
    hook.is_active = False
    hook.save()
    assert webhooks.emit("visit.called", office_id=office.pk, data=data) == 0
    hook.is_active = True
    hook.save()
    assert webhooks.emit("visit.called", office_id=office.pk, data=data) == 1
    hook.delete()
    assert webhooks.emit("visit.called", office_id=office.pk, data=data) == 0
    assert WebhookDelivery.objects.filter(event="visit.called").count() == 0  # went with it
