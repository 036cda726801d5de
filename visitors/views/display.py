"""The lobby display on a TV: "Now serving A-014 → Desk 3" and the next tickets, live.

Opened with a display link (a device token bound to one office and to the display capability).
It never shows a full name: ticket codes only, or with first name and last initial when the
office chooses so, and never why anyone is served ahead.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET

from visitors import remote, selectors
from visitors.offices.models import KioskLink, Office
from visitors.views.kiosk import device_open
from visitors.visits.lifecycle import Status
from visitors.visits.models import Visit

DISPLAY_COOKIE = "frontdesk_display"
NEXT_COUNT = 6


def _label(visit: Visit, office: Office) -> str:
    if not office.display_names:
        return visit.ticket_code
    initial = visit.visitor.last_name[:1]
    return f"{visit.ticket_code} · {visit.visitor.display_name} {initial}."


@require_GET
def display_open(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    return device_open(
        request, slug=slug, token=token, capability=KioskLink.Capability.DISPLAY,
        cookie=DISPLAY_COOKIE, home="display:board", prefix="display",
    )  # fmt: skip


@require_GET
def board(request: HttpRequest, slug: str) -> HttpResponse:
    office = get_object_or_404(Office, slug=slug)
    token = request.COOKIES.get(DISPLAY_COOKIE, "")
    if KioskLink.find_active(office=office, token=token, capability="display") is None:
        return render(request, "kiosk/locked.html", {"office": office}, status=403)
    timezone.activate(office.zone)
    seen = request.GET.get("v", "")
    live = selectors.office_messages_live(office_id=office.pk)
    # The version the page holds covers the queue and the messages (one that expires changes it).
    version = str(selectors.queue_version(office_id=office.pk))
    if live:
        version += f".{live[0].pk}.{len(live)}"
    if office.remote_join:
        # The lobby code for "I'm here" changes every few minutes: so does the page.
        version += f".c{remote.lobby_code_window()}"
    if request.htmx and seen == version:
        return HttpResponse(status=204)
    day = office.local_date()
    called = (
        Visit.objects.filter(office=office, service_date=day, status=Status.CALLED)
        .select_related("visitor")
        .order_by("-called_at")[:4]
    )
    waiting = selectors.queue_waiting(office=office).select_related("visitor")[:NEXT_COUNT]
    context = {
        "office": office,
        "version": version,
        "office_messages": live,
        "lobby_code": remote.lobby_code(office) if office.remote_join else "",
        "serving": [{"label": _label(v, office), "desk": v.desk, "id": v.pk} for v in called],
        "next": [_label(v, office) for v in waiting],
    }
    template = "display/board.html#display-board" if request.htmx else "display/board.html"
    response = render(request, template, context)
    add_never_cache_headers(response)
    return response
