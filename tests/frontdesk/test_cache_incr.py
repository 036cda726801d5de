"""The production cache's ``incr`` (every rate-limit count) is Django's — the new value, or
ValueError for a key that is not there — in one round trip to Redis, not two.

In the PostgreSQL + Redis suite this runs against the real Redis and counts its commands; in
the SQLite suite, against a stopped one, whose local stand-in answers."""

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from redis import Redis

from tests.conftest import production_cache

REAL = bool(django_settings.REDIS_URL)


@pytest.fixture
def redis_cache(settings, monkeypatch):
    settings.CACHES = production_cache(settings.REDIS_URL, "incr-test")
    cache.clear()
    sent: list = []
    execute = Redis.execute_command

    def counting(self, *args, **options):
        sent.append(args[0])
        return execute(self, *args, **options)

    monkeypatch.setattr(Redis, "execute_command", counting)
    yield cache, sent
    cache.clear()


def test_incr_counts_an_existing_key_in_one_round_trip(redis_cache):
    cache, sent = redis_cache
    assert cache.add("count", 1, 60)
    assert cache.incr("count") == 2  # (a server new to the script loads it once, here)
    sent.clear()
    assert cache.incr("count", 5) == 7
    if REAL:
        assert sent == ["EVALSHA"]  # one command, not EXISTS then INCRBY
    assert cache.get("count") == 7


def test_incr_of_a_missing_key_raises_and_writes_nothing(redis_cache):
    cache, sent = redis_cache
    with pytest.raises(ValueError):
        cache.incr("never-set")
    assert cache.get("never-set") is None
    assert cache.add("never-set", 1, 60)  # still free: the failed incr made no key


def test_ten_counts_at_once_each_get_their_own_number(redis_cache):
    from concurrent.futures import ThreadPoolExecutor

    cache, _sent = redis_cache
    cache.add("together", 0, 60)
    with ThreadPoolExecutor(max_workers=10) as pool:
        numbers = list(pool.map(lambda _n: cache.incr("together"), range(10)))
    assert sorted(numbers) == list(range(1, 11))


def test_a_restarted_redis_that_lost_the_script_still_counts(redis_cache):
    cache, sent = redis_cache
    cache.add("count", 1, 60)
    assert cache.incr("count") == 2
    if REAL:  # as after a restart: the server no longer knows the script
        Redis.from_url(django_settings.REDIS_URL).script_flush()
    assert cache.incr("count") == 3
