"""Rates for django-ratelimit read from settings when a request comes, not at import."""

from collections.abc import Callable, Sequence

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit import ALL
from django_ratelimit.core import get_usage, is_ratelimited
from django_ratelimit.decorators import ratelimit
from django_ratelimit.exceptions import Ratelimited


def rate(name: str):
    """A rate callable for ``@ratelimit(rate=…)``: the value of ``settings.<name>``."""

    def current(group, request) -> str:
        return getattr(settings, name)

    return current


def count(
    request,
    *,
    group: str,
    key: str | Callable[[str, HttpRequest], str],
    name: str,
    method: str | Sequence[str | None] = ALL,
) -> None:
    """Count ``request`` in ``group``'s bucket for ``key`` at ``settings.<name>``; over it, raise
    Ratelimited (answered with RATELIMIT_VIEW's 429).

    For requests a view sorts into buckets only once it has looked at them (the kiosk's posts
    without a paired device's cookie), which ``@ratelimit`` around the whole view cannot do.
    """
    if is_ratelimited(
        request, group=group, key=key, rate=rate(name), method=method, increment=True
    ):
        raise Ratelimited()


def used_up(request, *, group: str, key: str, name: str) -> bool:
    """Whether ``key``'s bucket in ``group`` is full at ``settings.<name>``, without counting
    this request (False while RATELIMIT_ENABLE is off)."""
    usage = get_usage(request, group=group, key=lambda _g, _r: key, rate=rate(name))
    return usage is not None and usage["count"] >= usage["limit"]


def add(request, *, group: str, key: str, name: str) -> None:
    """Count one in ``key``'s bucket in ``group`` at ``settings.<name>``."""
    get_usage(request, group=group, key=lambda _g, _r: key, rate=rate(name), increment=True)


def public_page(group: str):
    """The office's public pages (/o/…): reading and sending forms, each counted per address in
    a bucket of its own (``group`` and ``group.post``)."""

    def decorate(view):
        view = ratelimit(
            group=f"{group}.post", key="ip", rate=rate("RATELIMIT_PUBLIC_POST"), method="POST",
            block=True,
        )(view)  # fmt: skip
        return ratelimit(
            group=group, key="ip", rate=rate("RATELIMIT_PUBLIC"), method="GET", block=True
        )(view)

    return decorate
