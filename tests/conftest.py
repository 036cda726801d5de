"""Shared personas and places.

Personas, and what each may reach once the staff views exist:
- ``clerk``: front desk at Riverside — the queue and visits of Riverside only.
- ``counsellor``: counsellor at Riverside — serves visitors, records the five stages.
- ``manager``: manager at Riverside — the dashboard and reports of Riverside.
- ``outsider``: front desk at Hillside — nothing of Riverside's.
"""

import pytest
from django.core.cache import caches
from django.core.cache.backends import locmem
from django.core.cache.backends.locmem import LocMemCache

from frontdesk import cache as cache_backend
from tests.factories import MembershipFactory, OfficeFactory, UserFactory, zone_at_midday
from visitors import broker, sms
from visitors.offices.models import StaffRole

PASSWORD = "correct horse battery staple"

# The production cache pointed at a stopped Redis: nothing listens on port 1, so every call is
# refused at once, as by a Redis that stopped, and the local stand-in answers
# (frontdesk/cache.py).
STOPPED_REDIS = {
    "default": {
        "BACKEND": "frontdesk.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def production_cache(redis_url: str | None, prefix: str) -> dict:
    """CACHES with the production cache class: the real Redis in the PostgreSQL + Redis suite
    (``redis_url``), the stopped one above (its stand-in answering) otherwise."""
    default = STOPPED_REDIS["default"] | {"KEY_PREFIX": prefix}
    if redis_url:
        default["LOCATION"] = redis_url
    return {"default": default}


@pytest.fixture
def office(db):
    return OfficeFactory(name="Riverside Job Center", slug="riverside", time_zone="America/Chicago")


@pytest.fixture
def midday_office(db):
    """Riverside in a zone where it is midday now, for a module that backdates today's visits by
    the hour: in Chicago, just past midnight, they would be yesterday's. Such a module's own
    ``office`` fixture returns this one, and every persona of the module works there."""
    return OfficeFactory(name="Riverside Job Center", slug="riverside", time_zone=zone_at_midday())


@pytest.fixture
def other_office(db):
    return OfficeFactory(name="Hillside Job Center", slug="hillside", time_zone="America/Denver")


def _member(office, username, role):
    user = UserFactory(username=username)
    MembershipFactory(user=user, office=office, role=role)
    return user


@pytest.fixture
def clerk(office):
    return _member(office, "clerk", StaffRole.FRONT_DESK)


@pytest.fixture
def counsellor(office):
    return _member(office, "counsellor", StaffRole.COUNSELLOR)


@pytest.fixture
def manager(office):
    return _member(office, "manager", StaffRole.MANAGER)


@pytest.fixture
def outsider(other_office):
    return _member(other_office, "outsider", StaffRole.FRONT_DESK)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def memory_sms(settings):
    """Texts go to a list instead of a provider; the list is returned."""
    settings.SMS_BACKEND = "visitors.sms.MemoryBackend"
    sms.MemoryBackend.outbox = []
    return sms.MemoryBackend.outbox


@pytest.fixture(autouse=True)
def _broker_and_cache_not_paused():
    """A test that made the broker or the cache's Redis fail must not leave the next test's
    queueing paused or its cache on the stand-in."""
    broker.resume()
    cache_backend.reset()
    # SQLite gives a rolled-back test's ids out again: what an earlier test cached under an id
    # (memberships, subscriptions) must not meet this test's rows. (PostgreSQL never reuses
    # an id; its suite's Redis keeps entries that no later test can reach.)
    if isinstance(caches["default"], LocMemCache):
        caches["default"].clear()
    # The same for the stand-in a test with Redis down answered from (one per process, kept
    # by name): a later test of that kind must not meet an earlier one's subscriptions.
    for name in [n for n in locmem._caches if n.startswith("frontdesk-stand-in:")]:
        LocMemCache(name, {}).clear()
    yield
    broker.resume()
    cache_backend.reset()


@pytest.fixture(autouse=True)
def _test_sms_backends_allowed(settings):
    """pytest-django runs with DEBUG=False, where a test SMS backend is refused; the suite
    sends through them on purpose (tests/frontdesk/test_checks.py turns the refusal back on)."""
    settings.SMS_ALLOW_TEST_BACKEND = True


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hash test passwords cheaply; the real hasher's cost is for production, not the suite."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_dispatch_on_commit(settings):
    """Requests do not kick the dispatcher in tests: a kick left on the broker would be
    taken by the next test's real worker. Tests of the kick turn it back on."""
    settings.REMINDERS_DISPATCH_ON_COMMIT = False


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Rate limits count per address in the cache, across tests; tests of the limits
    (tests/security) turn them back on with a clean count."""
    settings.RATELIMIT_ENABLE = False


@pytest.fixture(autouse=True)
def _worker_threads_close_their_connections():
    """In-process test workers run tasks in a thread of this process: there, Celery's Django
    fixup must close the task's connection as it did before CELERY_DB_REUSE_MAX (kept
    connections are for worker processes; see docs/performance.md)."""
    from frontdesk.celery import app

    saved = app.conf.get("CELERY_DB_REUSE_MAX")
    app.conf["CELERY_DB_REUSE_MAX"] = 0
    yield
    app.conf["CELERY_DB_REUSE_MAX"] = saved
