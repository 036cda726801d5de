"""Faults around a change: the cache (Redis) down inside a call, the broker refusing the kick.

A committed change is never answered with a 500: its texts and webhook deliveries were written
in its own transaction, and what runs after the commit (forgetting the cached queue version,
asking a worker to send now) may fail — the rows wait for the beat sweepers.
"""

import pytest
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.conftest import STOPPED_REDIS
from tests.factories import MembershipFactory, UserFactory, VisitFactory, VisitorFactory
from visitors.integrations.models import ApiToken, WebhookDelivery, WebhookSubscription
from visitors.messaging.models import Reminder
from visitors.offices.models import StaffRole
from visitors.visits.models import Visit

DEAD_REDIS = STOPPED_REDIS  # sessions, read from the cache, depend on its stand-in


@pytest.fixture
def redis_down(settings, monkeypatch):
    """The cache and the broker both refuse, as when the one Redis behind them stops."""
    settings.CACHES = DEAD_REDIS
    settings.REMINDERS_DISPATCH_ON_COMMIT = True

    def refuse(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("visitors.broker.current_app.send_task", refuse)


@pytest.fixture
def line(office):
    """Riverside with a subscriber to calls and a visitor who asked to be texted when called."""
    WebhookSubscription.objects.create(
        office=office, url="https://crm.example.org/hook", events=["visit.called"]
    )
    return VisitFactory(
        office=office,
        notify_when_called=True,
        visitor=VisitorFactory(phone="(555) 301-0004", consent_sms=True),
    )


def _rows_of_the_call(visit):
    assert Visit.objects.get(pk=visit.pk).status == "called"
    assert Reminder.objects.filter(visit=visit, kind="called_now", state="scheduled").count() == 1
    assert WebhookDelivery.objects.filter(event="visit.called", state="pending").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_call_from_the_console_with_redis_down_commits_with_its_text_and_webhook(
    client, office, counsellor, line, redis_down
):
    """The on-commit steps fail inside the request; the answer is the usual redirect."""
    client.force_login(counsellor)
    response = client.post(reverse("desk:call_next", args=[office.slug]), {"desk": "Desk 1"})
    assert response.status_code == 302
    assert response.url == reverse("desk:visit", args=[office.slug, line.pk])
    _rows_of_the_call(line)


@pytest.mark.django_db(transaction=True)
def test_a_call_through_the_api_with_redis_down_commits_with_its_text_and_webhook(
    client, office, line, redis_down
):
    admin = UserFactory(username="office_admin")
    MembershipFactory(user=admin, office=office, role=StaffRole.ADMIN)
    token = ApiToken.issue(name="CRM", offices=[office], scope="write", created_by=admin)[1]
    response = client.post(
        f"/api/v1/offices/{office.slug}/visits/{line.pk}/actions/call",
        b"", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["status"] == "called"
    _rows_of_the_call(line)


@pytest.mark.django_db(transaction=True)
def test_a_request_tries_the_broker_once_however_many_tasks_its_change_queues(
    client, office, counsellor, line, settings, monkeypatch
):
    """Five subscribers and a text: after the first refusal the request stops asking the broker
    (each attempt to a stopped Redis can take seconds); every row waits for the sweepers."""
    settings.REMINDERS_DISPATCH_ON_COMMIT = True
    for n in range(4):
        WebhookSubscription.objects.create(
            office=office, url=f"https://crm{n}.example.org/hook", events=["visit.called"]
        )
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[0])
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("visitors.broker.current_app.send_task", refuse)
    client.force_login(counsellor)
    response = client.post(reverse("desk:call_next", args=[office.slug]), {"desk": "Desk 1"})
    assert response.status_code == 302
    assert len(attempts) == 1
    assert WebhookDelivery.objects.filter(event="visit.called", state="pending").count() == 5
    assert Reminder.objects.filter(kind="called_now", state="scheduled").count() == 1
