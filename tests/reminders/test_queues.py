"""Texts, webhooks and housekeeping run on queues of their own, each with its own workers: a
webhook receiver that takes its time holds up its own queue, never "you're being called"."""

import http.server
import threading

import pytest

from frontdesk.celery import HOUSEKEEPING, TEXTS, WEBHOOKS, app
from tests import workers
from tests.factories import VisitFactory, VisitorFactory
from visitors import services, tasks
from visitors.integrations.models import WebhookDelivery, WebhookSubscription
from visitors.messaging.models import Reminder
from visitors.sms import FileBackend


class SlowReceiver:
    """A webhook endpoint that holds every request until the test lets go."""

    def __init__(self):
        self.release = threading.Event()
        self.arrived = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.arrived += 1
                receiver.release.wait(timeout=120)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_every_task_has_a_queue_of_its_kind():
    """Texts and their dispatcher on one queue, webhooks and their sweeper on another, the
    rest on the housekeeping queue: the routes cover every task the worker knows."""
    routes = app.conf.task_routes
    ours = sorted(f"visitors.tasks.{name}" for name, task in vars(tasks).items()
                  if hasattr(task, "delay"))  # fmt: skip
    assert sorted(routes) == ours
    assert routes["visitors.tasks.send_reminder"]["queue"] == TEXTS
    assert routes["visitors.tasks.deliver_webhook"]["queue"] == WEBHOOKS
    assert routes["visitors.tasks.close_stale_visits"]["queue"] == HOUSEKEEPING


@pytest.mark.django_db(transaction=True)
def test_a_slow_webhook_receiver_does_not_hold_up_a_called_text(
    office, counsellor, settings, tmp_path
):
    """Eleven check-ins whose webhooks hang on a slow receiver; then a call: the visitor's
    text is sent while the webhook worker is still waiting on the first of them."""
    settings.REMINDERS_DISPATCH_ON_COMMIT = True
    settings.DEBUG, settings.WEBHOOK_ALLOWED_HOSTS = True, ["127.0.0.1"]
    allowed = {"DEBUG": "1", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
    texts = hooks = None
    with SlowReceiver() as receiver:
        WebhookSubscription.objects.create(
            office=office, url=receiver.url, events=["visit.checked_in"]
        )
        try:
            hooks = workers.start(tmp_path, "webhooks", queues=[WEBHOOKS], **allowed)
            texts = workers.start(tmp_path, "texts", queues=[TEXTS],
                                  SMS_BACKEND="visitors.sms.FileBackend")  # fmt: skip
            for _ in range(11):
                services.visit_check_in(office=office, visitor=VisitorFactory(phone=""))
            workers.wait_for(lambda: receiver.arrived >= 1, seconds=60,
                             what="the first webhook to reach the receiver",
                             tmp_path=tmp_path)  # fmt: skip
            caller = VisitFactory(
                office=office, notify_when_called=True, ticket_number=500,
                visitor=VisitorFactory(phone="(555) 301-0077", consent_sms=True),
            )  # fmt: skip
            services.visit_call(visit=caller, staff=counsellor, desk="Desk 2")
            workers.wait_for(
                lambda: Reminder.objects.filter(kind="called_now", state="sent").exists(),
                seconds=60, what="the called text", tmp_path=tmp_path,
            )  # fmt: skip
            assert receiver.arrived == 1  # the webhook worker is still on the first one
            assert WebhookDelivery.objects.filter(state="pending").count() == 11
        finally:
            receiver.release.set()
            workers.stop(texts)
            workers.stop(hooks)
    (sent,) = FileBackend.read(tmp_path / "provider")
    assert "Desk 2" in sent["body"]
