"""Rates for django-ratelimit read from settings when a request comes, not at import."""

from django.conf import settings


def rate(name: str):
    """A rate callable for ``@ratelimit(rate=…)``: the value of ``settings.<name>``."""

    def current(group, request) -> str:
        return getattr(settings, name)

    return current
