"""The cache in production: Redis, with a local-memory stand-in while Redis cannot be reached.

Everything Frontdesk keeps in the cache is a convenience, never the truth: rate-limit counters,
the API throttle, the console poll's "still version N?" answers and permits. So when Redis
stops, the lobby must not: each operation that fails to reach Redis is answered by a
per-process local-memory cache instead, and for ``RETRY_SECONDS`` this process does not try
Redis again (a stopped Redis answers at once, but an unreachable host would cost a timeout on
every call). After a timeout (a Redis that takes connections and never answers) it waits
``HUNG_RETRY_SECONDS``: each try costs a request the whole read timeout.

Why a stand-in rather than failing open (no limits at all) or a database fallback: limits stay
in force during an outage, counted per process (with N web processes an address gets at most N
times its allowance, still a limit), and the database — the one thing the lobby cannot work
without — gets no extra write on every kiosk step and every poll. What the stand-in holds is
forgotten when Redis returns: counters start again, polls ask the database once, both harmless.
``degraded()`` tells /healthz that the stand-in is in use.
"""

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.core.signals import request_finished, request_started
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
HUNG_RETRY_SECONDS = 30.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)

_lock = threading.Lock()
_down_until = 0.0
_down_since: float | None = None


def degraded() -> bool:
    """Whether the local stand-in answers for Redis right now (for /healthz)."""
    return _down_since is not None and time.monotonic() < _down_until + RETRY_SECONDS


def _mark_down(error: Exception) -> None:
    global _down_until, _down_since
    with _lock:
        if _down_since is None:
            _down_since = time.monotonic()
            logger.warning("cache: Redis unreachable (%s); using local memory", error)
        hung = isinstance(error, (RedisTimeoutError, TimeoutError))
        # After a timeout, spread (±25 %): processes that timed out together would otherwise
        # all try again at the same moment, each holding a request for the timeout.
        wait = HUNG_RETRY_SECONDS * random.uniform(0.75, 1.25) if hung else RETRY_SECONDS
        _down_until = time.monotonic() + wait


def _mark_up() -> None:
    global _down_since
    if _down_since is not None:
        with _lock:
            if _down_since is not None:
                logger.warning("cache: Redis back after %.0f s", time.monotonic() - _down_since)
                _down_since = None


def reset() -> None:
    """Forget an outage (tests)."""
    global _down_until, _down_since
    with _lock:
        _down_until, _down_since = 0.0, None


# Django's incr asks EXISTS, then INCRBY: two round trips for every rate-limit count (a kiosk
# step, an API request). The same check and count in one script on the server: one.
_INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false
"""


class _OneClientPerPool(RedisCacheClient):
    """Django's Redis client makes a new ``redis.Redis`` object for every operation (~0.2 ms of
    Python each; a console poll does six); one per connection pool does (they are thread-safe
    and share the pool's connections). Its ``incr`` is one round trip, not two."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._incr_scripts: dict[int, Any] = {}

    def incr(self, key, delta):
        """As Django's: the key's new value, or ValueError when it does not exist (then nothing
        is written); the check and the count are one script, atomic on the server."""
        client = self.get_client(key, write=True)
        script = self._incr_scripts.get(id(client))
        if script is None:  # EVALSHA, loading the script once per server (redis-py's Script)
            script = self._incr_scripts[id(client)] = client.register_script(_INCR_EXISTING)
        value = script(keys=[key], args=[delta])
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._client(connection_pool=pool)  # type: ignore[attr-defined]
            self._clients[index] = client
        return client


class ResilientRedisCache(RedisCache):
    """Django's Redis cache; while Redis is unreachable, a local-memory cache answers."""

    def __init__(self, server: str, params: dict) -> None:
        super().__init__(server, params)
        self._class = _OneClientPerPool
        # One stand-in per process and server: Django makes a cache object per thread.
        self.stand_in = LocMemCache(
            f"frontdesk-stand-in:{server}",
            {"TIMEOUT": params.get("TIMEOUT", 300), "OPTIONS": {"MAX_ENTRIES": 20_000}},
        )

    def _either(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() >= _down_until:
            method: Callable = getattr(super(), name)
            try:
                answer = method(*args, **kwargs)
            except UNREACHABLE as error:
                _mark_down(error)
            else:
                _mark_up()
                return answer
        return getattr(self.stand_in, name)(*args, **kwargs)

    def prefetch(self, keys) -> None:
        """Read ``keys`` in one round trip: this thread's next ``get`` of each (in this request)
        is answered from what was read, once; any write of a key drops it first. For a request
        that knows which several keys it will read one after the other (an API check-in: its
        office, the office's reasons, wait-estimate inputs and webhook subscriptions)."""
        keys = list(keys)
        found = self.get_many(keys)
        memo = _prefetched.__dict__.setdefault("values", {})
        for key in keys:
            memo[key] = found.get(key, _MISSING)

    def _drop(self, key) -> None:
        memo = _prefetched.__dict__.get("values")
        if memo:
            memo.pop(key, None)

    # Every operation Frontdesk and its libraries use goes through _either.
    def add(self, key, *args, **kwargs):
        self._drop(key)
        return self._either("add", key, *args, **kwargs)

    def get(self, key, default=None, version=None):
        memo = _prefetched.__dict__.get("values")
        if memo and version is None and key in memo:
            value = memo.pop(key)
            return default if value is _MISSING else value
        return self._either("get", key, default, version)

    def set(self, key, *args, **kwargs):
        self._drop(key)
        return self._either("set", key, *args, **kwargs)

    def touch(self, key, *args, **kwargs):
        return self._either("touch", key, *args, **kwargs)

    def delete(self, key, *args, **kwargs):
        self._drop(key)
        return self._either("delete", key, *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._either("get_many", *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._either("has_key", *args, **kwargs)

    def incr(self, key, *args, **kwargs):
        self._drop(key)
        return self._either("incr", key, *args, **kwargs)

    def set_many(self, data, *args, **kwargs):
        for key in data:
            self._drop(key)
        return self._either("set_many", data, *args, **kwargs)

    def delete_many(self, keys, *args, **kwargs):
        keys = list(keys)
        for key in keys:
            self._drop(key)
        return self._either("delete_many", keys, *args, **kwargs)

    def clear(self, *args, **kwargs):
        forget_prefetched()
        return self._either("clear", *args, **kwargs)

    def reach(self) -> None:
        """Ask Redis itself (not the stand-in) for a key; raise when it cannot be reached."""
        try:
            super().get("frontdesk:reach")
        except UNREACHABLE as error:
            _mark_down(error)
            raise
        _mark_up()


# What ResilientRedisCache.prefetch read, per thread, until used or the request ends.
_prefetched = threading.local()
_MISSING = object()


def forget_prefetched(**kwargs) -> None:
    """Drop what was prefetched and not used (connected to request_started and _finished)."""
    _prefetched.__dict__.pop("values", None)


request_started.connect(forget_prefetched, dispatch_uid="cache-prefetched-started")
request_finished.connect(forget_prefetched, dispatch_uid="cache-prefetched-finished")


def prefetch(keys) -> None:
    """Read ``keys`` from the default cache in one round trip for this request's next ``get``
    of each (see ResilientRedisCache.prefetch). A cache that cannot, or a failure: nothing is
    read ahead, and each ``get`` asks for itself."""
    from django.core.cache import cache

    ahead = getattr(cache, "prefetch", None)
    if ahead is not None:
        with contextlib.suppress(Exception):
            ahead(keys)


def forget(keys, *, what: str) -> None:
    """Delete cached copies of rows that are changing: now, and again once the change commits
    (a request between the two may have read the rows as they were, and cached them again).
    Without Redis they are left to expire by themselves; ``what`` names them in the warning."""
    from django.core.cache import cache
    from django.db import transaction

    keys = list(keys)
    if not keys:
        return

    def delete() -> None:
        try:
            cache.delete_many(keys)
        except Exception:  # noqa: BLE001 — they expire by themselves
            logger.warning("cache unavailable; cached %s not forgotten", what)

    delete()
    transaction.on_commit(delete, robust=True)


class Recently:
    """What this process did within the last ``seconds``, by key: in front of a cache mark that
    says the same for every process ("last seen" written at most once a minute), so a busy
    device or token costs no round trip to Redis on each request either. Keys must be unique for
    the thing's whole life (a token's hash, not a row id a test database may give again)."""

    def __init__(self, seconds: float, *, size: int = 10_000) -> None:
        self.seconds, self.size = seconds, size
        self._at: dict[str, float] = {}

    def check_and_note(self, key: str) -> bool:
        """True when ``key`` was noted within ``seconds``; otherwise note it now."""
        now = time.monotonic()
        at = self._at.get(key)
        if at is not None and now - at < self.seconds:
            return True
        if len(self._at) >= self.size:
            self._at.clear()  # long-lived processes see many tokens: start again, cheaply
        self._at[key] = now
        return False

    def due(self, key: str, mark: str) -> bool:
        """Whether a write done at most once per ``seconds`` is due now: not done by this
        process (``key``) nor, by the cache's ``mark``, by any other. Without a cache: due."""
        if self.check_and_note(key):
            return False
        from django.core.cache import cache

        try:
            return bool(cache.add(mark, True, int(self.seconds)))
        except Exception:  # noqa: BLE001 — no cache: written now
            return True
