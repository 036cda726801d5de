"""Redis hung, not stopped: it takes connections and never answers (a stopped process, a network
that drops packets). A stopped Redis refuses at once (tests/frontdesk/test_redis_down.py); a hung
one used to hold a check-in's publish, and /healthz's broker check, until gunicorn killed the
worker at 30 s — a 500 for a check-in that was saved. Every read from it now gives up within
seconds, and the request answers as it does with Redis down.

The hung server here is a socket that listens and never accepts: the kernel completes each
connection, and nothing is ever read or answered.
"""

import signal
import socket
import time

import pytest
from celery import Celery, current_app

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


@pytest.fixture
def hung_redis():
    """The URL of a "Redis" that takes connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


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
    # The failure pauses this process's publishing: the next request does not wait again.
    again, took_again = _within(1.0, lambda: broker.queue("visitors.tasks.dispatch_reminders"))
    assert again is False
    assert took_again < took


@pytest.mark.django_db(transaction=True)
def test_healthz_says_degraded_while_redis_hangs(client, settings, hung_redis):
    settings.CACHES = production_cache(hung_redis, "hung")
    settings.CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
    saved = app.conf.broker_write_url, app.conf.broker_transport_options
    app.conf.broker_write_url = hung_redis
    app.conf.broker_transport_options = settings.REDIS_BROKER_TRANSPORT_OPTIONS
    settings.HEALTHZ_TOKEN = "monitor-token-for-tests"
    try:
        response, _took = _within(
            WELL_INSIDE_THE_WORKER_TIMEOUT,
            lambda: client.get("/healthz", HTTP_AUTHORIZATION="Bearer monitor-token-for-tests"),
        )
    finally:
        app.conf.broker_write_url, app.conf.broker_transport_options = saved
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "degraded")
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert "imeout" in body["checks"]["broker"]["error"]


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
