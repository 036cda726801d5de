"""Who is asking: an integration token, acting for the office admin who made it.

A token reaches an office only while (1) the office is one of the token's, and (2) the person who
made it still holds an active membership there; what it may do there is what that membership's
role may do on the web (the dashboard needs a manager or an office admin). A read token may only
read (GET); a write token may also change things.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_ratelimit.core import get_usage
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from frontdesk.cache import prefetch
from visitors.access import Membership, memberships_key, memberships_of
from visitors.api.errors import ApiError
from visitors.integrations.models import ApiToken
from visitors.offices.models import Office

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
TOUCH_EVERY = dt.timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer fd_…``: an active token whose maker is still an active user."""

    def authenticate(self, request, token: str) -> ApiToken | None:
        match = request.resolver_match
        slug = match.kwargs.get("office") if match is not None else None
        found = ApiToken.find_active(
            token.strip(), office_slug=slug if isinstance(slug, str) else None
        )
        if found is None or not found.created_by.is_active:
            return None
        if request.method not in SAFE_METHODS and not found.can_write:
            raise ApiError(
                403, "This token may only read; ask an office admin for a read-and-write token.",
                code="insufficient_scope",
            )  # fmt: skip
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > TOUCH_EVERY:
            found.touch(now)
        return found


class TokenThrottle(BaseThrottle):
    """RATELIMIT_API requests per token and window, counted like every other limit here: one
    counter in the cache (Redis in production), raised atomically (django-ratelimit's add and
    incr). Ten requests at once cannot all take the last place, and a count costs the same at any
    rate. (ninja's SimpleRateThrottle keeps every request's time in one cached list, read and
    written back whole: it grows with the rate, and two requests at once each write their own.)
    """

    def allow_request(self, request) -> bool:
        token = getattr(request, "auth", None)
        if token is None:
            return True
        usage = get_usage(
            request, group="api:token", key=_token_key, rate=settings.RATELIMIT_API,
            increment=True,
        )  # fmt: skip
        if usage is None:  # RATELIMIT_ENABLE off
            return True
        request.api_retry_after = max(usage["time_left"], 1)
        return not usage["should_limit"]

    def wait(self) -> float | None:
        return None  # Retry-After is set by the API's handler for Throttled (request-local)


def _token_key(group: str, request) -> str:
    return str(request.auth.pk)


def office_access(request, slug: str, *, roles=None, ahead=None) -> tuple[Office, Membership]:
    """The office named in the path, as this token may reach it; 404/403 otherwise.

    ``ahead``: a function giving, for the office's id, the cache keys the request will read
    next; they are read with the maker's memberships, in one round trip."""
    token: ApiToken = request.auth
    office = token.office(slug)  # cached briefly with the token, forgotten on a change
    if office is None:
        raise ApiError(404, "This token has no office with that slug.")
    if ahead is not None:
        prefetch([memberships_key(token.created_by.pk), *ahead(office.pk)])
    # The maker's memberships as every staff page has them (cached, forgotten on a change).
    membership = memberships_of(token.created_by).get(office.pk)
    if membership is None:
        raise ApiError(
            403, "The person who made this token no longer works at this office; ask an "
            "office admin there for a new token.", code="membership_ended",
        )  # fmt: skip
    if roles and membership.role not in roles:
        raise ApiError(
            403, "This token's maker does not have the role this needs at this office.",
            code="role_required",
        )  # fmt: skip
    timezone.activate(office.zone)
    return office, membership


def actor(request):
    """The user the token acts for (recorded as who called, recorded a stage, merged…)."""
    return request.auth.created_by
