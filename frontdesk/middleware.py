"""Project middleware."""

from django.utils import timezone

from visitors.polling import answer_unchanged


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


def session_activity(get_response):
    """Renew a signed-in session's inactivity timeout on each request but automatic polls.

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
            session.modified = True
        return response

    return middleware


def unchanged_poll(get_response):
    """Answer a console's "still version N?" from the cache when it may be (visitors.polling):
    no session, user or database for the poll that 500 open consoles make every 2 seconds."""

    def middleware(request):
        return answer_unchanged(request) or get_response(request)

    return middleware
