"""Project middleware."""

import time
from urllib.parse import unquote_to_bytes

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils import timezone

from visitors.polling import answer_unchanged

NUL_MESSAGE = "The request contains a NUL character, which no field accepts."
# A NUL as it arrives in a body that no Django form reads: raw, or escaped in JSON.
NUL_FORMS = (b"\x00", b"\\u0000")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(request) -> bool:
    if "\x00" in request.path or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS") or request.content_type in FORM_TYPES:
        return False
    try:
        body = request.body.lower()
    except RequestDataTooBig:
        # Not this check's to answer: the view reads the body again and refuses it in its own
        # shape (the API: 413 ``too_large``).
        return False
    return any(form in body for form in NUL_FORMS)


def refuse_nul_bytes(get_response):
    """Refuse a NUL byte in the address or in a body no form reads, before any view sees it.

    PostgreSQL refuses NUL in text, so a NUL reaching a query (a status token in the URL, a
    search in the query string, a field in the API's JSON) used to be a 500; no field has a
    use for one: 400 with a message, JSON on the API. Form posts are left to their Django form,
    whose every text field refuses NUL with a message shown in the page (all input goes
    through a form, the desk name included), so a kiosk step keeps its screen.
    """

    def middleware(request):
        if _has_nul(request):
            if request.path.startswith("/api/"):
                error = {"code": "bad_request", "message": NUL_MESSAGE}
                return JsonResponse({"error": error}, status=400)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware


def reset_time_zone(get_response):
    """Start every request in UTC; views for an office activate the office's own zone.

    timezone.activate() is per thread, so without this a server thread would carry the last
    office's zone into the next request.
    """

    def middleware(request):
        timezone.deactivate()
        try:
            return get_response(request)
        finally:
            timezone.deactivate()

    return middleware


def mark_as_poll(request) -> None:
    """An automatic refresh, not a person's activity: it must not keep a session alive."""
    request.frontdesk_poll = True


# A person's requests renew the session at most this often: the timeout (hours) loses at most
# this much precision, and a busy desk's clicks cost no session write each.
SESSION_RENEW_SECONDS = 60
SEEN_KEY = "_frontdesk_renewed"


def session_activity(get_response):
    """Renew a signed-in session's inactivity timeout on a person's requests, not on automatic
    polls, and at most once a minute (each renewal is a session write).

    Polls stay cheap too: no session write for a 204.
    """

    def middleware(request):
        response = get_response(request)
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if (
            session is not None
            and not getattr(request, "frontdesk_poll", False)
            and user is not None
            and user.is_authenticated
        ):
            now = int(time.time())
            if now - session.get(SEEN_KEY, 0) >= SESSION_RENEW_SECONDS:
                session[SEEN_KEY] = now  # modifies the session: saved, its expiry moved on
        return response

    return middleware


def unchanged_poll(get_response):
    """Answer a console's "still version N?" from the cache when it may be (visitors.polling):
    no session, user or database for the poll that 500 open consoles make every 2 seconds."""

    def middleware(request):
        return answer_unchanged(request) or get_response(request)

    return middleware
