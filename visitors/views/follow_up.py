"""Follow-up tasks (promised at the future-reference stage) and the office's reminder outbox."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from visitors import access, conversations, services
from visitors.followups.models import FollowUp
from visitors.forms import FollowUpCloseForm, FollowUpContactForm
from visitors.messaging.models import Reminder, ReminderKind, ReminderState

PAGE_SIZE = 50


@login_required
@require_GET
def follow_ups(request: HttpRequest, slug: str) -> HttpResponse:
    office = access.office_for_staff(request, slug)
    state = request.GET.get("state", FollowUp.State.OPEN)
    if state not in FollowUp.State.values:
        state = FollowUp.State.OPEN
    mine = request.GET.get("mine", "1") == "1"
    rows = office.follow_ups.filter(state=state).select_related("visitor", "assigned_to")
    if mine:
        rows = rows.filter(assigned_to=request.user)
    page = Paginator(rows.order_by("due_on", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "desk/follow_ups.html",
        {"office": office, "page": page, "state": state, "mine": mine,
         "states": FollowUp.State.choices, "today": office.local_date()},
    )  # fmt: skip


def _follow_up(request: HttpRequest, slug: str, pk: int):
    office = access.office_for_staff(request, slug)
    follow_up = get_object_or_404(
        FollowUp.objects.select_related("visitor", "assigned_to", "promised_on"),
        pk=pk, office=office,
    )  # fmt: skip
    return office, follow_up


def _render_follow_up(request, office, follow_up, contact_form=None, close_form=None, status=200):
    return render(
        request,
        "desk/follow_up.html",
        {
            "office": office, "follow_up": follow_up,
            "contacts": follow_up.contacts.select_related("by"),
            "reminders": follow_up.promised_on.reminders.all(),
            "texts": conversations.follow_up_messages(follow_up),
            "contact_form": contact_form or FollowUpContactForm(follow_up=follow_up),
            "close_form": close_form or FollowUpCloseForm(),
        },
        status=status,
    )  # fmt: skip


@login_required
@require_GET
def follow_up(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office, follow_up = _follow_up(request, slug, pk)
    return _render_follow_up(request, office, follow_up)


@login_required
@require_POST
def follow_up_contact(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office, follow_up = _follow_up(request, slug, pk)
    form = FollowUpContactForm(request.POST, follow_up=follow_up)
    if not form.is_valid():
        return _render_follow_up(request, office, follow_up, contact_form=form, status=422)
    services.follow_up_log_contact(follow_up=follow_up, by=request.user, **form.cleaned_data)
    if follow_up.state == FollowUp.State.DONE:
        messages.success(request, _("Contact logged; the follow-up is done."))
    else:
        messages.info(request, _("Contact logged; the follow-up stays open."))
    return redirect("desk:follow_up", slug=office.slug, pk=follow_up.pk)


@login_required
@require_POST
def follow_up_close(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office, follow_up = _follow_up(request, slug, pk)
    form = FollowUpCloseForm(request.POST)
    if not form.is_valid():
        return _render_follow_up(request, office, follow_up, close_form=form, status=422)
    if services.follow_up_close(
        follow_up=follow_up, by=request.user, reason=form.cleaned_data["reason"]
    ):
        messages.success(request, _("Follow-up closed."))
    else:
        messages.info(request, _("This follow-up was already closed."))
    return redirect("desk:follow_up", slug=office.slug, pk=follow_up.pk)


@login_required
@require_GET
def reminders(request: HttpRequest, slug: str) -> HttpResponse:
    office = access.office_for_staff(request, slug)
    rows = office.reminders.select_related("visitor", "recipient_user").order_by("-due_at", "-pk")
    state = request.GET.get("state", "")
    if state in ReminderState.values:
        rows = rows.filter(state=state)
    kind = request.GET.get("kind", "")
    if kind in ReminderKind.values:
        rows = rows.filter(kind=kind)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "desk/reminders.html",
        {"office": office, "page": page, "state": state, "kind": kind,
         "states": ReminderState.choices, "kinds": ReminderKind.choices},
    )  # fmt: skip


@login_required
@require_http_methods(["POST"])
def reminder_action(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    office = access.office_for_staff(request, slug)
    reminder = get_object_or_404(Reminder, pk=pk, office=office)
    if action == "retry":
        if services.reminder_retry(reminder=reminder):
            messages.success(request, _("The reminder will be sent again now."))
        else:
            messages.error(request, _("Only failed or cancelled reminders can be sent again."))
    elif action == "cancel":
        if services.reminder_cancel(reminder=reminder, by=request.user):
            messages.success(request, _("Reminder cancelled."))
        else:
            messages.error(request, _("Only scheduled reminders can be cancelled."))
    else:
        return HttpResponse(status=404)
    back = request.POST.get("next", "")
    if back.startswith(f"/desk/{office.slug}/"):
        return redirect(back)
    return redirect("desk:reminders", slug=office.slug)
