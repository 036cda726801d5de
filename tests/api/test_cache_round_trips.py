"""An API check-in, and the kiosk's last step, ask the cache (Redis in production) in as few
round trips as they can. The API reads the token with its office, then the maker's memberships
with everything the check-in reads (the reasons, the wait estimate's inputs, the webhook
subscriptions); then come the rate-limit count and, once it commits, the queue version
forgotten."""

from collections import Counter

import pytest
from django.core.cache import cache

from frontdesk.cache import ResilientRedisCache
from tests.conftest import production_cache
from tests.factories import ReasonFactory
from tests.kiosk.conftest import Tablet
from visitors.offices.models import KioskLink
from visitors.views.kiosk import KIOSK_COOKIE
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted(settings, monkeypatch):
    """The production cache class: the real Redis in the PostgreSQL + Redis suite, a stopped
    one (its stand-in answering) otherwise; every call to it counted by operation."""
    settings.CACHES = production_cache(settings.REDIS_URL, "round-trips-test")
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


def test_the_kiosk_s_last_step_reads_what_the_check_in_needs_in_one_round_trip(
    client, office, counted, django_capture_on_commit_callbacks
):
    """The tablet's "what for" step: its reasons, the wait estimate's inputs and the webhook
    subscriptions in one read, not one each."""
    client.cookies[KIOSK_COOKIE] = KioskLink.issue(office=office, label="Lobby")[1]
    tablet = Tablet(client, office)
    reason = ReasonFactory(office=office)
    for first, last in (("Ana", "Ruiz"), ("Sol", "Vega")):
        assert tablet.identify(first, last).status_code == 200
        if last == "Vega":
            counted.clear()
        with django_capture_on_commit_callbacks(execute=True):
            finished = tablet.finish(reason)
        assert finished.status_code == 200, finished.content[:300]
    assert Visit.objects.filter(visitor__last_name="Vega").exists()
    # The kiosk's link, then one read for the rest (it was four reads); the tablet's rate
    # limit; the queue version forgotten on commit.
    assert dict(counted) == {"get": 1, "get_many": 1, "add": 1, "incr": 1, "delete": 1}
