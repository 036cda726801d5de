"""Keys read ahead in one round trip (frontdesk.cache.prefetch): each answered once, from what
was read, in the same request; a write of the key, or the request's end, forgets it.

Against a stopped Redis the cache's local stand-in answers every call, so these run the same
with and without a Redis server (the PostgreSQL + Redis suite's API test below counts real
round trips)."""

import pytest
from django.core.cache import cache
from django.core.signals import request_finished

from frontdesk.cache import prefetch
from tests.conftest import STOPPED_REDIS


@pytest.fixture
def resilient(settings):
    settings.CACHES = STOPPED_REDIS
    cache.clear()
    yield cache
    cache.clear()


def test_a_prefetched_key_is_answered_once_from_what_was_read(resilient):
    resilient.set("a", "first")
    prefetch(["a", "missing"])
    resilient.stand_in.set("a", "changed behind its back")  # what another process might do
    assert resilient.get("a") == "first"  # from what was read ahead
    assert resilient.get("missing", "default") == "default"
    assert resilient.get("a") == "changed behind its back"  # once only: then asked again


def test_a_write_of_the_key_forgets_what_was_read_ahead(resilient):
    resilient.set("a", "first")
    resilient.set("b", 1)
    resilient.set("c", "kept")
    prefetch(["a", "b", "c"])
    resilient.set("a", "second")
    resilient.incr("b")
    resilient.delete("c")
    assert (resilient.get("a"), resilient.get("b"), resilient.get("c")) == ("second", 2, None)


@pytest.mark.django_db  # the end of a request also closes old database connections
def test_the_end_of_the_request_forgets_what_was_not_used(resilient):
    resilient.set("a", "first")
    prefetch(["a"])
    request_finished.send(sender=None)
    resilient.stand_in.set("a", "next request's")
    assert resilient.get("a") == "next request's"


def test_a_cache_that_cannot_read_ahead_is_simply_asked_each_time(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.set("a", "first")
    prefetch(["a"])
    cache.set("a", "second")
    assert cache.get("a") == "second"
