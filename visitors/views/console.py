"""The staff console: the live queue, call next, the actions on a visit, and the workspace.

The queue region polls every 2 s with the office's queue version; while it has not moved the
answer is an empty 204 (one primary-key lookup), so hundreds of open consoles cost little and
nothing on the page is swapped: scroll, focus and half-typed text stay as they are.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from frontdesk.middleware import mark_as_poll
from visitors import conversations, polling, remote, selectors, services
from visitors.access import is_office_admin, memberships_of, office_for_staff, visit_for_office
from visitors.forms import BroadcastForm, CloseReasonForm, DeskForm, TransferForm
from visitors.messaging.models import OfficeMessage
from visitors.offices.models import StaffMembership
from visitors.visits.lifecycle import Action, TransitionNotAllowed

DESK_SESSION_KEY = "frontdesk_desk"


@login_required
@require_GET
def desk_home(request: HttpRequest) -> HttpResponse:
    """Straight to the console of the staff member's office; a choice when they have several."""
    memberships = list(
        StaffMembership.objects.filter(user=request.user, is_active=True)
        .select_related("office")
        .order_by("office__name")
    )
    if len(memberships) == 1:
        return redirect("desk:console", slug=memberships[0].office.slug)
    return render(request, "desk/offices.html", {"memberships": memberships})


# A board stays in the cache a little while after its version has passed: a console that asks
# with an old version gets the current one, never an old board (the key names the version).
BOARD_SECONDS = 60


def _office_key(office) -> str:
    # The office's creation time in the key too: a database put back from a backup (or a test
    # database made again) restarts ids and versions, and must not meet an older board.
    return f"{office.pk}.{office.created_at.timestamp():.6f}"


def office_panel(office) -> str:
    """Today's appointments, messages and reasons as HTML, the same for every member of staff:
    built once per (office, generation, day, language), see ``polling.panel_generation``."""
    today = office.local_date()
    key = (
        f"console-panel:{_office_key(office)}:{polling.panel_generation(office.pk)}:"
        f"{today.isoformat()}:{get_language() or 'en'}"
    )
    now = timezone.now()
    cached = cache.get(key)
    # A message leaves the panel when it ends, not when the entry expires (the entry keeps
    # the earliest end of the messages it shows).
    if isinstance(cached, tuple) and (cached[1] is None or now < cached[1]):
        return mark_safe(cached[0])  # noqa: S308 — our own template's output
    start, end = office.day_bounds(today)
    office_messages = selectors.office_messages_live(office_id=office.pk)
    context = {
        "office": office,
        "today": today,
        "appointments": office.appointments.filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("visitor", "staff")
        .order_by("starts_at"),
        "reasons": office.reasons.filter(is_active=True),
        "broadcast_form": BroadcastForm(),
        "office_messages": office_messages,
    }
    html = render_to_string("desk/_office_panel.html", context)
    ends = min((m.expires_at for m in office_messages), default=None)
    cache.set(key, (html, ends), polling.PANEL_SECONDS)
    return mark_safe(html)  # noqa: S308 — our own template's output


def shared_board(request: HttpRequest, office, *, version: int | None = None) -> tuple[int, str]:
    """The office's queue board as HTML, the same for every console: built once per (office,
    queue version, language) and then served from the cache. Returns (version, html); also
    notes on the request whose waiting visits are someone's own ("For you")."""
    language = get_language() or "en"
    if version is None:
        version = office.queue_version  # as office_for_staff just read it
    cached = cache.get(f"board:{_office_key(office)}:{version}:{language}")
    if cached is None:
        board = selectors.console_board(office=office)
        html = render_to_string("desk/_board.html", {"office": office, "board": board})
        version = board.version
        owners = {v.assigned_to_id for v in board.waiting if v.assigned_to_id} | {
            v.appointment.staff_id
            for v in board.waiting
            if not v.assigned_to_id and v.appointment_id and v.appointment.staff_id
        }
        cached = (html, owners)
        cache.set(f"board:{_office_key(office)}:{version}:{language}", cached, BOARD_SECONDS)
    html, owners = cached
    request.board_owners = owners
    return version, mark_safe(html)  # noqa: S308 — our own template's output


def for_you(request: HttpRequest, office) -> list:
    """This staff member's own waiting visits; no query for someone who has none on the board."""
    owners = getattr(request, "board_owners", None)
    if owners is not None and request.user.pk not in owners:
        return []
    return selectors.for_you_waiting(office=office, user=request.user)


@login_required
@require_GET
def console(request: HttpRequest, slug: str) -> HttpResponse:
    office = office_for_staff(request, slug)
    version, board_html = shared_board(request, office)
    undo = request.session.pop(UNDO_SESSION_KEY, None)
    if undo and (
        undo.get("office") != office.pk or undo.get("until", 0) < timezone.now().timestamp()
    ):
        undo = None
    context = {
        "inbox": conversations.unread_for(office, request.user),
        "for_you": for_you(request, office),
        "undo": undo,
        "office": office,
        "board_version": version,
        "board_html": board_html,
        "is_office_admin": is_office_admin(request.user, office),
        "desk": request.session.get(DESK_SESSION_KEY, ""),
        "other_offices": [
            m for m in memberships_of(request.user).values() if m.office_id != office.pk
        ],
        "office_panel": office_panel(office),
        "today": office.local_date(),
        "follow_ups": office.follow_ups.filter(state="open", assigned_to=request.user)
        .select_related("visitor")
        .order_by("due_on", "pk")[:10],
    }
    return render(request, "desk/console.html", context)


@login_required
@require_GET
def queue(request: HttpRequest, slug: str) -> HttpResponse:
    """The queue region: 204 while the version the page holds is still current."""
    mark_as_poll(request)
    office = office_for_staff(request, slug)
    seen = request.GET.get("v", "")
    version = office.queue_version  # read with the membership, in the same statement
    polling.grant(request, office_id=office.pk, slug=office.slug, version=version)
    if seen.isdecimal() and int(seen) == version:
        return HttpResponse(status=204)
    version, board_html = shared_board(request, office, version=version)
    context = {
        "office": office,
        "board_version": version,
        "board_html": board_html,
        "for_you": for_you(request, office),
    }
    return render(request, "desk/console.html#queue-board", context)


@login_required
@require_POST
def call_next(request: HttpRequest, slug: str) -> HttpResponse:
    office = office_for_staff(request, slug)
    desk = _remember_desk(request)
    if desk is None:
        return _back(request, reverse("desk:console", args=[office.slug]))
    visit = services.queue_call_next(office=office, staff=request.user, desk=desk)
    if visit is None:
        messages.info(request, _("Nobody is waiting."))
        return _back(request, reverse("desk:console", args=[office.slug]))
    return _back(request, reverse("desk:visit", args=[office.slug, visit.pk]))


# The console's button names, each a transition service.
ACTIONS = {
    "call": services.VISIT_ACTIONS[Action.CALL],
    "recall": services.VISIT_ACTIONS[Action.RECALL],
    "start": services.VISIT_ACTIONS[Action.START_SERVICE],
    "back": services.VISIT_ACTIONS[Action.RETURN_TO_QUEUE],
    "left": services.VISIT_ACTIONS[Action.MARK_LEFT],
    "no_show": services.VISIT_ACTIONS[Action.MARK_NO_SHOW],
    "place_back": services.VISIT_ACTIONS[Action.PLACE_BACK],
    "release": lambda *, visit, by, desk="": services.visit_release(visit=visit, by=by),
    # Someone who joined from a phone is here (they told the desk, not the lobby screen).
    "arrived": lambda *, visit, by, desk="": remote.visit_arrive(
        visit=visit, how=remote.ArrivedBy.STAFF, by=by
    ),
}
# After these the console offers Undo for a while (the same "place back" stays on the row of
# the Done list for the rest of the day).
UNDOABLE = {
    "left": _lazy("%(ticket)s marked as left."),
    "no_show": _lazy("%(ticket)s marked as a no-show."),
}
UNDO_SESSION_KEY = "frontdesk_undo"
UNDO_SECONDS = 120


@login_required
@require_POST
def visit_action(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    office = office_for_staff(request, slug)
    visit = visit_for_office(office, pk)
    if action not in ACTIONS:
        return HttpResponse(status=404)
    desk = "" if action in ("place_back", "release", "arrived") else _remember_desk(request)
    if desk is None:
        return _back(request, reverse("desk:console", args=[office.slug]))
    try:
        ACTIONS[action](visit=visit, by=request.user, desk=desk)
    except TransitionNotAllowed as refused:
        messages.warning(request, str(refused))
        return _back(request, reverse("desk:console", args=[office.slug]))
    if action in UNDOABLE:
        request.session[UNDO_SESSION_KEY] = {
            "pk": visit.pk,
            "office": office.pk,
            "text": str(UNDOABLE[action] % {"ticket": visit.ticket_code}),
            "until": (timezone.now().timestamp() + UNDO_SECONDS),
        }
    elif action == "place_back":
        request.session.pop(UNDO_SESSION_KEY, None)
        messages.success(
            request,
            _("%(ticket)s is back in line at their place.") % {"ticket": visit.ticket_code},
        )
    if action in ("call", "recall", "start"):
        return _back(request, reverse("desk:visit", args=[office.slug, visit.pk]))
    return _back(request, reverse("desk:console", args=[office.slug]))


def _remember_desk(request: HttpRequest) -> str | None:
    """The desk typed now or remembered for the session; None (with a message) when refused."""
    form = DeskForm({"desk": request.POST.get("desk") or request.session.get(DESK_SESSION_KEY, "")})
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return None
    if request.session.get(DESK_SESSION_KEY) != form.cleaned_data["desk"]:
        # Written only when it changes: a call with the same desk costs no session write.
        request.session[DESK_SESSION_KEY] = form.cleaned_data["desk"]
    return form.cleaned_data["desk"]


def _back(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@login_required
@require_POST
def broadcast(request: HttpRequest, slug: str) -> HttpResponse:
    office = office_for_staff(request, slug)
    form = BroadcastForm(request.POST)
    if form.is_valid():
        count = services.queue_broadcast(
            office=office,
            message=form.cleaned_data["message"],
            message_es=form.cleaned_data["message_es"],
            minutes=form.cleaned_data["minutes"],
            by=request.user,
        )
        messages.success(
            request,
            _("Message shown on the status pages and the lobby display, and queued for "
              "%(count)d waiting visitor(s) who agreed to messages.") % {"count": count},
        )  # fmt: skip
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("desk:console", slug=office.slug)


@login_required
@require_POST
def message_take_down(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office = office_for_staff(request, slug)
    message = get_object_or_404(OfficeMessage, pk=pk, office=office)
    if services.office_message_take_down(message=message):
        messages.success(request, _("The message is no longer shown."))
    return redirect("desk:console", slug=office.slug)


@login_required
@require_POST
def reason_close(request: HttpRequest, slug: str) -> HttpResponse:
    office = office_for_staff(request, slug)
    form = CloseReasonForm(request.POST, office=office)
    if not form.is_valid():
        messages.error(request, _("Choose a reason to close."))
        return redirect("desk:console", slug=office.slug)
    reason = form.cleaned_data["reason"]
    if request.POST.get("reopen"):
        services.reason_reopen(reason=reason)
        messages.success(request, _("%(reason)s is open again.") % {"reason": reason})
    else:
        services.reason_close_for_today(
            reason=reason, note=form.cleaned_data["note"], note_es=form.cleaned_data["note_es"]
        )
        messages.success(request, _("%(reason)s is closed for today.") % {"reason": reason})
    return redirect("desk:console", slug=office.slug)


@login_required
@require_POST
def visit_transfer(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office = office_for_staff(request, slug)
    visit = visit_for_office(office, pk)
    form = TransferForm(request.POST, office=office)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            services.visit_transfer(
                visit=visit,
                to_staff=form.cleaned_data["to_staff"],
                reasons=form.cleaned_data["reasons"] or None,
                by=request.user,
            )
        except TransitionNotAllowed as refused:
            messages.warning(request, str(refused))
        else:
            messages.success(request, _("%(ticket)s handed over.") % {"ticket": visit.ticket_code})
    return redirect("desk:visit", slug=office.slug, pk=visit.pk)
