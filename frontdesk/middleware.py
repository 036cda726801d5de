"""Project middleware."""

from django.utils import timezone


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
