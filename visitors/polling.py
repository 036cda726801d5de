"""Open consoles ask every 2 seconds whether the queue changed; almost always it has not.

The answer to "still version N?" is a bodiless 204 that reveals nothing but "no change", so it
can come from the cache instead of the database, before the session, the user and the
membership are loaded (``frontdesk.middleware.unchanged_poll``), provided that:

- this browser session was let through the full check (signed in, second factor, active
  membership of this office) by the queue view within the last ``PERMIT_SECONDS``: the view
  leaves a *permit* for (session, office) in the cache; signing out removes it;
- the cache holds the office's current queue version. Every change to the queue deletes it when
  its transaction commits; the full view puts it back. A change that races with a reader
  putting an older value back is bounded by ``VERSION_SECONDS``.

Anything else — no permit, no cached version, another version, not a GET — goes through the
full view, which answers with the queue region, a sign-in redirect or a 404 as before. So a
member who loses access keeps getting "no change" for at most ``PERMIT_SECONDS``, and sees
nothing more; the next change or the permit's end sends them through the full check.
"""

import hashlib
import logging
import re
import secrets

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

PERMIT_SECONDS = 30
VERSION_SECONDS = 3
QUEUE_PATH = re.compile(r"^/desk/(?P<slug>[-a-zA-Z0-9_]+)/queue/$")


def _permit_key(session_key: str) -> str:
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:40]
    return f"poll-permit:{digest}"


def _version_key(office_id: int) -> str:
    return f"queue-version:{office_id}"


def grant(request: HttpRequest, *, office_id: int, slug: str, version: int) -> None:
    """After the full check passed: let this session's next unchanged polls be cheap."""
    session_key = getattr(request, "session", None) and request.session.session_key
    if not session_key:
        return
    key = _permit_key(session_key)
    permits = cache.get(key) or {}
    if permits.get(slug) != office_id:
        cache.set(key, permits | {slug: office_id}, PERMIT_SECONDS)
    cache.set(_version_key(office_id), version, VERSION_SECONDS)


def revoke(session_key: str | None) -> None:
    if session_key:
        cache.delete(_permit_key(session_key))


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs) -> None:
    if request is not None and getattr(request, "session", None) is not None:
        revoke(request.session.session_key)


def forget_version_now(office_id: int) -> None:
    """The queue changed and that is committed: polls must ask the database again.

    A cache outage must not fail the change: the cached version expires by itself within
    ``VERSION_SECONDS``, and polls fall back to the database while the cache is down.
    """
    try:
        cache.delete(_version_key(office_id))
    except Exception:  # noqa: BLE001 - any cache failure
        logger.warning("cache unavailable; queue version of %s not forgotten", office_id,
                       exc_info=True)  # fmt: skip


def answer_unchanged(request: HttpRequest) -> HttpResponse | None:
    """The 204 for a permitted session whose version is still current; None otherwise."""
    if request.method != "GET":
        return None
    match = QUEUE_PATH.match(request.path_info)
    seen = request.GET.get("v", "")
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if match is None or not seen.isdecimal() or not session_key:
        return None
    office_id = (cache.get(_permit_key(session_key)) or {}).get(match["slug"])
    if office_id is None or cache.get(_version_key(office_id)) != int(seen):
        return None
    return HttpResponse(status=204)


# --- The console's office panel -----------------------------------------------------------------
# Today's appointments, the messages to everyone waiting and the reasons (views.console): the
# same for every member of staff, so the rendered panel is cached per office and *generation*.
# A save or delete of any of those rows moves the generation on (at once, and again when its
# transaction commits, so that a reader who cached the old rows in between is passed over too);
# the few queryset updates that bypass signals call ``panel_changed`` themselves. Anything else
# shown there (a visitor's or a counsellor's name) is at most PANEL_SECONDS old.
PANEL_SECONDS = 60


def _panel_key(office_id: int) -> str:
    return f"console-panel-generation:{office_id}"


def panel_generation(office_id: int) -> str:
    try:
        return cache.get(_panel_key(office_id)) or "0"
    except Exception:  # noqa: BLE001 - no cache: nothing cached to pass over either
        return "0"


def _move_on(office_id: int) -> None:
    try:
        cache.set(_panel_key(office_id), secrets.token_hex(6), 24 * 3600)
    except Exception:  # noqa: BLE001 - the panel expires by itself within PANEL_SECONDS
        logger.warning("cache unavailable; console panel of %s not renewed", office_id)


def panel_changed(office_id: int) -> None:
    _move_on(office_id)
    transaction.on_commit(lambda: _move_on(office_id))


def _panel_rows_changed(sender, instance, **kwargs) -> None:
    if instance.office_id is not None:
        panel_changed(instance.office_id)


def _connect_panel_signals() -> None:
    from visitors.followups.models import Appointment
    from visitors.messaging.models import OfficeMessage
    from visitors.offices.models import ReasonForVisit

    for model in (Appointment, OfficeMessage, ReasonForVisit):
        for name, signal in (("saved", post_save), ("deleted", post_delete)):
            uid = f"console-panel-{model.__name__}-{name}"
            signal.connect(_panel_rows_changed, sender=model, dispatch_uid=uid)


_connect_panel_signals()
