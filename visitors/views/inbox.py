"""The office's inbox of texts from visitors: read a thread, answer it, attach an unknown
number to a person (office admins), or note that it was answered another way."""

import secrets

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from visitors import access, conversations, privacy
from visitors.forms import VisitorSearchForm
from visitors.messaging.models import Conversation
from visitors.offices.models import Office

PAGE_SIZE = 50


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Your reply"),
        max_length=conversations.MAX_REPLY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Sent as you write it, after the office's name and yours."),
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=32)

    @classmethod
    def fresh(cls) -> "ReplyForm":
        return cls(initial={"token": secrets.token_hex(16)})


class AttachForm(forms.Form):
    visitor = forms.IntegerField(min_value=1)


def _thread(request: HttpRequest, slug: str, pk: int) -> tuple[Office, Conversation, bool]:
    """The office and one of its threads (a thread of no office yet only for its admins)."""
    office = access.office_for_staff(request, slug)
    admin = access.is_office_admin(request.user, office)
    thread = conversations.thread_for_staff(office, request.user, pk, admin=admin)
    if thread is None:
        raise Http404
    return office, thread, admin


@login_required
@require_GET
def inbox(request: HttpRequest, slug: str) -> HttpResponse:
    office = access.office_for_staff(request, slug)
    admin = access.is_office_admin(request.user, office)
    waiting = request.GET.get("show", "waiting") != "all"
    threads = conversations.inbox_threads(
        office, request.user, waiting_only=waiting, unassigned=admin
    )
    page = Paginator(threads, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "desk/inbox.html",
        {"office": office, "page": page, "waiting": waiting,
         "unread": conversations.unread_for(office, request.user)},
    )  # fmt: skip


def _render_thread(request, office, thread, admin, *, form=None, status=200) -> HttpResponse:
    search = VisitorSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    unknown = thread.visitor_id is None
    return render(
        request,
        "desk/inbox_thread.html",
        {
            "office": office, "thread": thread, "admin": admin,
            "messages_in_thread": conversations.thread_messages(thread),
            "form": form or ReplyForm.fresh(), "now": timezone.now(),
            "query": query,
            "results": access.visitor_search(office=office, query=query)
            if admin and unknown and query else [],
        },
        status=status,
    )  # fmt: skip


@login_required
@require_GET
def inbox_thread(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office, thread, admin = _thread(request, slug, pk)
    if thread.visitor_id:
        privacy.audit(user=request.user, visitor_id=thread.visitor_id, action="view",
                      what="texts", office=office)  # fmt: skip
    conversations.conversation_mark_read(conversation=thread, user=request.user)
    return _render_thread(request, office, thread, admin)


@login_required
@require_POST
def inbox_reply(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office, thread, admin = _thread(request, slug, pk)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _render_thread(request, office, thread, admin, form=form, status=422)
    try:
        message = conversations.conversation_reply(
            conversation=thread, by=request.user, body=form.cleaned_data["body"],
            token=form.cleaned_data["token"],
        )  # fmt: skip
    except conversations.ReplyRefused as refused:
        form.add_error(None, str(refused))
        return _render_thread(request, office, thread, admin, form=form, status=422)
    assert message.reminder is not None  # a staff reply always rides on an outbox row
    due = timezone.localtime(message.reminder.due_at)
    if due > timezone.now():
        messages.info(
            request,
            _("It is quiet hours at the office: your reply will be sent at %(time)s.")
            % {"time": due.strftime("%H:%M")},
        )
    else:
        messages.success(request, _("Your reply is on its way."))
    return redirect("desk:inbox_thread", slug=office.slug, pk=thread.pk)


@login_required
@require_POST
def inbox_attach(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office = access.office_for_admin(request, slug)
    _office, thread, _admin = _thread(request, slug, pk)
    form = AttachForm(request.POST)
    if thread.visitor_id is not None or not form.is_valid():
        messages.error(request, _("Choose the person this number belongs to."))
        return redirect("desk:inbox_thread", slug=office.slug, pk=thread.pk)
    visitor = access.visitor_for_office(request.user, office, form.cleaned_data["visitor"])
    thread = conversations.conversation_attach(conversation=thread, visitor=visitor, office=office)
    messages.success(
        request,
        _("The texts from this number are now %(name)s's.") % {"name": visitor.display_name},
    )
    return redirect("desk:inbox_thread", slug=office.slug, pk=thread.pk)


@login_required
@require_POST
def inbox_answered(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    office, thread, _admin = _thread(request, slug, pk)
    if conversations.conversation_mark_answered(conversation=thread):
        messages.success(request, _("Marked as answered."))
    return redirect("desk:inbox_thread", slug=office.slug, pk=thread.pk)
