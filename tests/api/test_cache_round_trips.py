"""An API check-in asks the cache (Redis in production) in as few round trips as it can: the
token with its office, then the maker's memberships with everything the check-in reads (the
reasons, the wait estimate's inputs, the webhook subscriptions), the rate-limit count, and the
queue version forgotten once it commits."""

from collections import Counter

import pytest
from django.core.cache import cache

from frontdesk.cache import ResilientRedisCache
from tests.factories import ReasonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted(settings, monkeypatch):
    """The production cache class: the real Redis in the PostgreSQL + Redis suite, a stopped
    one (its stand-in answering) otherwise; every call to it counted by operation."""
    settings.CACHES = {
        "default": {
            "BACKEND": "frontdesk.cache.ResilientRedisCache",
            "LOCATION": settings.REDIS_URL or "redis://127.0.0.1:1/0",
            "KEY_PREFIX": "round-trips-test",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.RATELIMIT_ENABLE = True
    cache.clear()
    calls: Counter = Counter()
    either = ResilientRedisCache._either

    def counting(self, name, *args, **kwargs):
        calls[name] += 1
        return either(self, name, *args, **kwargs)

    monkeypatch.setattr(ResilientRedisCache, "_either", counting)
    yield calls
    cache.clear()


def test_a_check_in_reads_the_cache_in_two_round_trips_and_writes_in_three(
    api, write_token, office, counted, django_capture_on_commit_callbacks
):
    reason = ReasonFactory(office=office)
    body = {"first_name": "Ana", "last_name": "Ruiz", "reason_ids": [reason.pk]}
    first = api("post", "/offices/riverside/check-ins", write_token, body)
    assert first.status_code == 201, first.content  # fills the cache
    counted.clear()
    with django_capture_on_commit_callbacks(execute=True):  # as when the request commits
        again = api(
            "post", "/offices/riverside/check-ins", write_token, body | {"last_name": "Sol"}
        )
    assert again.status_code == 201, again.content
    assert dict(counted) == {"get_many": 2, "add": 1, "incr": 1, "delete": 1}
