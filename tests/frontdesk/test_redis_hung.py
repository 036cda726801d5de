"""Redis hung, not stopped: it takes connections and never answers (a stopped process, a network
that drops packets). A stopped Redis refuses at once (tests/frontdesk/test_redis_down.py); a hung
one used to hold a check-in's publish, and /healthz's broker check, until gunicorn killed the
worker at 30 s — a 500 for a check-in that was saved. Every read from it now gives up within
seconds, and the request answers as it does with Redis down.

The hung server here is a socket that listens and never accepts: the kernel completes each
connection, and nothing is ever read or answered.
"""

import contextlib
import signal
import socket
import threading
import time

import pytest
from celery import Celery, current_app
from django.core.cache import caches

from frontdesk import cache as cache_backend
from frontdesk.celery import app
from tests.conftest import production_cache
from tests.factories import MembershipFactory, ReasonFactory, UserFactory
from visitors import broker
from visitors.integrations.models import ApiToken
from visitors.messaging.models import Reminder
from visitors.offices.models import StaffRole
from visitors.visits.models import Visit

# gunicorn's worker timeout (Dockerfile, gunicorn_conf.py): an answer must come well inside it.
WELL_INSIDE_THE_WORKER_TIMEOUT = 15.0


class HungRedis:
    """A "Redis" that takes connections and never answers; it counts the connections."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.url = f"redis://127.0.0.1:{self.server.getsockname()[1]}/0"
        self.held: list[socket.socket] = []
        self.received = b""
        threading.Thread(target=self._take, daemon=True).start()

    def _take(self):
        while True:
            try:
                conn, _address = self.server.accept()
            except OSError:  # closed
                return
            self.held.append(conn)  # kept open and read from, never answered
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        with contextlib.suppress(OSError):
            while chunk := conn.recv(65536):
                self.received += chunk

    @property
    def pings(self) -> int:
        """The PING commands sent to it: one per attempt to reach it."""
        return self.received.count(b"PING")

    def close(self):
        self.server.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def hung():
    server = HungRedis()
    yield server
    server.close()


@pytest.fixture
def hung_redis(hung):
    """The URL of a "Redis" that takes connections and never answers."""
    return hung.url


@pytest.fixture
def hung_broker(hung_redis, settings):
    """Celery's current app publishing to the hung Redis, with production's broker options."""
    hung = Celery("hung-broker", set_as_current=False)
    hung.conf.update(
        broker_url=hung_redis,
        broker_transport_options=settings.REDIS_BROKER_TRANSPORT_OPTIONS,
        task_ignore_result=True,
    )
    previous = current_app._get_current_object()
    hung.set_current()
    yield hung
    previous.set_current()


class StillWaiting(BaseException):
    """Raised into a call still waiting on the hung Redis (a BaseException, so that no
    ``except Exception`` on the way swallows it)."""


def _within(seconds: float, call):
    """``call()``'s result and how long it took, or a failure once it has waited ``seconds``
    (a timer signal interrupts the wait, so a regression fails instead of holding the suite)."""

    def interrupt(_signum, _frame):
        raise StillWaiting(f"still waiting on the hung Redis after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        value = call()
    except StillWaiting as waited:
        pytest.fail(str(waited))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return value, time.monotonic() - started


def test_a_task_queued_while_redis_hangs_gives_up_within_seconds(hung_broker):
    queued, took = _within(
        WELL_INSIDE_THE_WORKER_TIMEOUT, lambda: broker.queue("visitors.tasks.dispatch_reminders")
    )
    assert queued is False  # the rows wait for beat's sweepers
    # The failure pauses this process's publishing: the next request does not wait again, and
    # a failure that waited out a timeout pauses it longer than a refusal does.
    again, took_again = _within(1.0, lambda: broker.queue("visitors.tasks.dispatch_reminders"))
    assert again is False
    assert took_again < took
    assert broker._paused_until - time.monotonic() > broker.PAUSE_SECONDS


def test_the_cache_waits_longer_before_trying_a_hung_redis_again(settings, hung_redis):
    settings.CACHES = production_cache(hung_redis, "hung")
    assert caches["default"].get("anything", "stand-in") == "stand-in"
    assert cache_backend._down_until - time.monotonic() > cache_backend.RETRY_SECONDS


@pytest.mark.django_db(transaction=True)
def test_healthz_says_degraded_while_redis_hangs(client, settings, hung_redis):
    """And asks the broker once: every retry would cost its read timeout again (three tries
    made /healthz take 7 s, close to docker-compose's 8 s probe)."""
    settings.CACHES = production_cache(hung_redis, "hung")
    broker_server = HungRedis()
    saved = app.conf.broker_write_url, app.conf.broker_transport_options
    app.conf.broker_write_url = broker_server.url
    app.conf.broker_transport_options = settings.REDIS_BROKER_TRANSPORT_OPTIONS
    settings.HEALTHZ_TOKEN = "monitor-token-for-tests"
    try:
        response, _took = _within(
            WELL_INSIDE_THE_WORKER_TIMEOUT,
            lambda: client.get("/healthz", HTTP_AUTHORIZATION="Bearer monitor-token-for-tests"),
        )
    finally:
        app.conf.broker_write_url, app.conf.broker_transport_options = saved
        broker_server.close()
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "degraded")
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert "imeout" in body["checks"]["broker"]["error"]
    assert broker_server.pings == 1


@pytest.mark.django_db(transaction=True)
def test_an_api_check_in_that_asks_for_a_text_answers_201_while_redis_hangs(
    client, office, settings, hung_redis, hung_broker
):
    """The probe's case: a check-in with "text me when called" queues its text after the commit.
    The visit, its ticket and the text row are written, and the answer is the usual 201."""
    settings.CACHES = production_cache(hung_redis, "hung")
    settings.REMINDERS_DISPATCH_ON_COMMIT = True
    admin = UserFactory(username="office_admin")
    MembershipFactory(user=admin, office=office, role=StaffRole.ADMIN)
    token = ApiToken.issue(name="CRM", offices=[office], scope="write", created_by=admin)[1]
    reason = ReasonFactory(office=office)
    body = {
        "first_name": "Longhang",
        "last_name": "Texter",
        "reason_ids": [reason.pk],
        "phone": "(555) 222-3333",
        "notify_when_called": True,
        "consent_reminders": True,
    }
    response, _took = _within(
        WELL_INSIDE_THE_WORKER_TIMEOUT,
        lambda: client.post(
            f"/api/v1/offices/{office.slug}/check-ins",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        ),
    )
    assert response.status_code == 201, response.content[:300]
    visit = Visit.objects.get(pk=response.json()["id"])
    assert visit.ticket_code == response.json()["ticket_code"]
    assert Reminder.objects.filter(visit=visit, state="scheduled").exists()
