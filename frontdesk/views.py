"""Project-level pages: the start page and the health check."""

import contextlib
import hmac
import time

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from frontdesk.celery import app, ping
from visitors.offices.models import Office, StaffMembership


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    memberships = []
    if request.user.is_authenticated:
        memberships = list(
            StaffMembership.objects.filter(user=request.user, is_active=True)
            .select_related("office")
            .order_by("office__name")
        )
    return render(
        request,
        "home.html",
        {"memberships": memberships, "office_count": Office.objects.count()},
    )


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        result = {"ok": True, **(detail or {})}
    except Exception as exc:  # a health check reports every failure, whatever its type
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _check_broker() -> dict:
    with app.connection_for_write() as conn:
        # One attempt (a new connection has nothing stale to retry): a hung Redis costs the
        # check one read timeout, not one per retry.
        conn.ensure_connection(max_retries=0, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
        return {"transport": conn.transport.driver_type}


def _check_workers() -> dict[str, dict]:
    """Ping a worker on every queue at once; wait for all answers within one timeout."""
    timeout = settings.HEALTHZ_WORKER_TIMEOUT
    started = time.perf_counter()
    asked = {}
    for queue in settings.HEALTHZ_QUEUES:
        try:
            asked[queue] = ping.apply_async(queue=queue, expires=timeout)
        except Exception as exc:  # a health check reports every failure, whatever its type
            asked[queue] = exc
    checks = {}
    for queue, result in asked.items():

        def answer(result=result) -> dict:
            if isinstance(result, Exception):
                raise result
            left = max(0.05, timeout - (time.perf_counter() - started))
            try:
                got = result.get(timeout=left, interval=0.05, disable_sync_subtasks=False)
            finally:
                with contextlib.suppress(Exception):  # nothing to forget when no answer came
                    result.forget()
            if got != "pong":
                raise RuntimeError(f"unexpected answer {got!r}")
            return {}

        checks[queue] = _timed(answer)
    return checks


@never_cache
@require_GET
def livez(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. No database, no broker (that is /healthz's job).

    Also the benchmarks' ``ceiling``: the least a request can cost on this server and
    middleware, which every other figure is compared with.
    """
    return HttpResponse("ok", content_type="text/plain")


def _check_cache() -> dict:
    backend = caches["default"]
    reach = getattr(backend, "reach", None)
    if reach is None:  # the embedded local-memory cache: nothing to reach
        return {"backend": "local memory"}
    reach()
    return {"backend": "redis"}


def _may_see_details(request: HttpRequest) -> bool:
    """Errors and timings are for Django-admin staff (is_staff) and a monitor holding
    HEALTHZ_TOKEN; they can name internal addresses."""
    token = settings.HEALTHZ_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and given and hmac.compare_digest(given.encode(), token.encode()):
        return True
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_staff)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Report the database, the cache, the broker and a live worker on each Celery queue (texts,
    webhooks, housekeeping: a real round trip each, in parallel).

    ``ok`` (200): all answer. ``degraded`` (200): the database answers but Redis, the broker or
    a queue's worker does not — the lobby works (check-in, the console, sign-in), texts and webhooks
    wait in the database until they are back. ``error`` (503): no database, nothing works.
    Anyone sees each component's ok/not ok; errors and timings only staff or HEALTHZ_TOKEN.
    """
    checks = {
        "database": _timed(_check_database),
        "cache": _timed(_check_cache),
        "broker": _timed(_check_broker),
    }
    if checks["broker"]["ok"]:
        workers = _check_workers()
    else:
        unreachable = {"ok": False, "error": "broker unreachable", "ms": 0.0}
        workers = {queue: dict(unreachable) for queue in settings.HEALTHZ_QUEUES}
    everything = [*checks.values(), *workers.values()]
    if not checks["database"]["ok"]:
        status, code = "error", 503
    elif all(check["ok"] for check in everything):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    if not _may_see_details(request):
        checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
        workers = {name: {"ok": check["ok"]} for name, check in workers.items()}
    return JsonResponse({"status": status, "checks": checks, "workers": workers}, status=code)


def rate_limited(request: HttpRequest, exception=None) -> HttpResponse:
    """Too many requests from one place: say so in both languages (a visitor at the kiosk or
    on their phone may read either), and when to try again."""
    template = (
        "rate_limited.html#message" if request.headers.get("HX-Request") else "rate_limited.html"
    )
    response = render(request, template, status=429)
    response["Retry-After"] = "60"
    return response
