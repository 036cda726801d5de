"""/healthz: the database, the broker and a real round trip through a live Celery worker."""

import contextlib
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from frontdesk.celery import app, ping


@pytest.fixture
def ping_queue(settings):
    """A queue of this test's own, so that no other worker on the machine answers for ours."""
    name = f"healthz-test-{uuid.uuid4().hex[:12]}"
    settings.HEALTHZ_PING_QUEUE = name
    yield name
    # A message nobody consumed would otherwise stay on the broker; none left is fine.
    with app.connection_for_write() as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_purge(name)


@pytest.fixture
def live_worker(ping_queue):
    """A real worker in a thread. Celery's Django fix-up closes the database connections when it
    starts, so tests using it run outside a test transaction (``transaction=True``)."""
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[ping_queue]) as worker:
        # Wait until it really consumes (a loaded machine can take seconds), so the test
        # measures /healthz, not the worker's start-up.
        assert ping.apply_async(queue=ping_queue).get(timeout=30) == "pong"
        yield worker


@pytest.mark.django_db(transaction=True)
def test_it_reports_all_ok_when_a_worker_answers(client, live_worker, settings):
    """200 and every check ok, naming the database vendor and the broker's transport."""
    settings.HEALTHZ_WORKER_TIMEOUT = 10  # generous on a busy CI machine; 3 s in production
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"] == body["checks"]["database"] | {
        "ok": True,
        "vendor": connection.vendor,
    }
    assert body["checks"]["broker"]["ok"] is True
    expected_transport = "redis" if app.conf.broker_url.startswith("redis") else "filesystem"
    assert body["checks"]["broker"]["transport"] == expected_transport
    assert body["checks"]["worker"]["ok"] is True
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_it_answers_503_when_no_worker_is_listening(client, settings, ping_queue):
    settings.HEALTHZ_WORKER_TIMEOUT = 0.5
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is False
    assert "Timeout" in body["checks"]["worker"]["error"]


@pytest.mark.django_db
def test_it_answers_503_when_the_broker_is_unreachable(client, settings, ping_queue):
    """A broker that refuses connections is reported, and the worker check is not attempted."""
    settings.CELERY_BROKER_CONNECTION_TIMEOUT = 0.5
    saved = app.conf.broker_write_url
    app.conf.broker_write_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_write_url = saved
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["worker"] == {"ok": False, "error": "broker unreachable", "ms": 0.0}
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_it_only_answers_get(client):
    assert client.post("/healthz").status_code == 405
