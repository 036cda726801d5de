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
    settings.HEALTHZ_QUEUES = [name]
    yield name
    # A message nobody consumed would otherwise stay on the broker; none left is fine.
    with app.connection_for_write() as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_purge(name)


@pytest.fixture
def monitor(settings):
    """The Authorization header of a monitor holding the health token (it sees details)."""
    settings.HEALTHZ_TOKEN = "monitor-token-for-tests"
    return {"HTTP_AUTHORIZATION": "Bearer monitor-token-for-tests"}


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
def test_it_reports_all_ok_when_a_worker_answers(client, live_worker, settings, monitor):
    """200 and every check ok, naming the database vendor and the broker's transport."""
    settings.HEALTHZ_WORKER_TIMEOUT = 10  # generous on a busy CI machine; 3 s in production
    response = client.get("/healthz", **monitor)
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
    assert [w["ok"] for w in body["workers"].values()] == [True]
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_it_says_degraded_when_no_worker_is_listening(client, settings, ping_queue, monitor):
    """The lobby works without a worker (texts wait): degraded, not down."""
    settings.HEALTHZ_WORKER_TIMEOUT = 0.5
    response = client.get("/healthz", **monitor)
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    (worker,) = body["workers"].values()
    assert worker["ok"] is False
    assert "Timeout" in worker["error"]


@pytest.mark.django_db
def test_it_says_degraded_when_the_broker_is_unreachable(client, settings, ping_queue, monitor):
    """A broker that refuses connections is reported, and the worker check is not attempted."""
    settings.CELERY_BROKER_CONNECTION_TIMEOUT = 0.5
    saved = app.conf.broker_write_url
    app.conf.broker_write_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz", **monitor)
    finally:
        app.conf.broker_write_url = saved
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "degraded")
    assert body["checks"]["broker"]["ok"] is False
    assert list(body["workers"].values()) == [
        {"ok": False, "error": "broker unreachable", "ms": 0.0}
    ]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_it_only_answers_get(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_it_tells_the_public_only_which_components_answer(client, settings, ping_queue):
    """Without the token or a staff sign-in: ok / not ok per component, no error text (it
    named internal addresses), no timings."""
    settings.HEALTHZ_WORKER_TIMEOUT = 0.5
    body = client.get("/healthz").json()
    assert body["workers"] == {ping_queue: {"ok": False}}
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert all(set(check) == {"ok"} for check in body["checks"].values())


@pytest.mark.django_db
def test_staff_see_the_details(client, settings, ping_queue, superuser):
    settings.HEALTHZ_WORKER_TIMEOUT = 0.5
    client.force_login(superuser)
    body = client.get("/healthz").json()
    assert "Timeout" in body["workers"][ping_queue]["error"]


@pytest.mark.django_db
def test_it_says_degraded_when_redis_is_down_for_the_cache(client, settings, ping_queue, monitor):
    """The cache's Redis refusing connections: degraded (the stand-in answers), not an error."""
    settings.HEALTHZ_WORKER_TIMEOUT = 0.5
    settings.CACHES = {"default": {"BACKEND": "frontdesk.cache.ResilientRedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # fmt: skip
    body = client.get("/healthz", **monitor).json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["ok"] is False
    assert "127.0.0.1:1" in body["checks"]["cache"]["error"]


@pytest.mark.django_db(transaction=True)
def test_it_judges_each_queue_s_workers(client, settings, monitor):
    """A worker on one queue and none on another: that queue is named, the rest is ok."""
    served, idle = (f"healthz-test-{uuid.uuid4().hex[:12]}" for _ in range(2))
    settings.HEALTHZ_QUEUES = [served, idle]
    settings.HEALTHZ_WORKER_TIMEOUT = 3
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[served]):
        assert ping.apply_async(queue=served).get(timeout=30) == "pong"
        body = client.get("/healthz", **monitor).json()
    assert body["status"] == "degraded"
    assert body["workers"][served]["ok"] is True
    assert body["workers"][idle]["ok"] is False
    with app.connection_for_write() as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_purge(idle)
