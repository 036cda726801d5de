"""Two-way texts: a visitor's replies reach a person, and staff answer them.

Every inbound text that is not a keyword lands in a thread (``messaging.Conversation``; its
docstring says which office and person a number's thread belongs to). A reply to the referral
follow-up text ("did you reach …?") attaches to that follow-up, counts as two-way contact on it,
and alerts the staff member who promised it: an unread count for the console, and an email when
they are off shift. Staff answer from the office's inbox through the outbox, so consent, STOP and
quiet hours hold as for every other text; the author of each reply is kept.

The visitor's words are kept like a staff note (and erased with their record); logs never carry
them.
"""

import datetime as dt
import logging
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from visitors import reminders, services
from visitors.followups.models import ContactResult, FollowUp, FollowUpContact
from visitors.messaging.models import (
    Conversation,
    ConversationMessage,
    ConversationRead,
    MessageDirection,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderState,
)
from visitors.offices.models import WEEKDAYS, Office
from visitors.people.models import Visitor
from visitors.people.recognition import phone_digits
from visitors.visits.models import Visit

logger = logging.getLogger(__name__)

MAX_PHONE_LENGTH = 32  # as long as Visitor.phone; anything longer matches nobody
MAX_INBOUND_LENGTH = 1600  # Twilio's longest message; anything past it is not a text
MAX_REPLY_LENGTH = 480  # three text segments, with the office's name before it
# A reply this long after the follow-up text is still an answer to it.
FOLLOW_UP_REPLY_DAYS = 14
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # PostgreSQL refuses NUL in text
_TOKEN = re.compile(r"[0-9a-f]{16,32}")
NEVER = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # read before anything was written


class ReplyRefused(Exception):
    """A staff reply that cannot go out; the message says why, for the person who wrote it."""


# --- Numbers ------------------------------------------------------------------------------------


def national(phone: str) -> str:
    """The digits of ``phone`` without a leading US country code: "+1 (555) 301-0001" and
    "555.301.0001" both give "5553010001"."""
    digits = phone_digits(phone)
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def visitors_with_phone(phone: str) -> list[Visitor]:
    """Visitors whose phone on file is ``phone`` (as Twilio sends it, e.g. "+15553010001")."""
    if not phone or len(phone) > MAX_PHONE_LENGTH:
        return []
    number = national(phone)
    if len(number) < 7:  # short codes and empty senders match nobody (nor every blank phone)
        return []
    candidates = Visitor.objects.filter(phone_last4=number[-4:]).order_by("-last_seen_at", "pk")
    return [visitor for visitor in candidates if national(visitor.phone) == number]


def clean_text(body: str, *, limit: int) -> str:
    """``body`` without control characters (newlines and tabs stay), at most ``limit`` long."""
    return _CONTROL.sub("", body or "")[:limit].strip()


# --- Inbound ------------------------------------------------------------------------------------


def _route(*, sender: str, to: str) -> tuple[Office | None, Visitor | None]:
    """The office and the person a text from ``sender`` belongs to (see Conversation)."""
    found = visitors_with_phone(sender)
    ids = {visitor.merged_into_id or visitor.pk for visitor in found}
    if ids:
        text = (
            Reminder.objects.filter(
                visitor__in=ids, channel=ReminderChannel.SMS, state=ReminderState.SENT
            )
            .select_related("office", "visitor")
            .order_by("-sent_at", "-pk")
            .first()
        )
        if text is not None:
            return text.office, text.visitor
        visit = (
            Visit.objects.filter(visitor__in=ids)
            .select_related("office", "visitor")
            .order_by("-checked_in_at", "-pk")
            .first()
        )
        if visit is not None:
            return visit.office, visit.visitor
    earlier = (
        Conversation.objects.filter(number=national(sender))
        .select_related("office", "visitor")
        .order_by("-last_message_at", "-pk")
        .first()
    )
    if earlier is not None:
        return earlier.office, earlier.visitor
    ours = national(to)
    if len(ours) >= 7:
        for office in Office.objects.exclude(phone="").order_by("pk"):
            if national(office.phone) == ours:
                return office, None
    offices = list(Office.objects.order_by("pk")[:2])
    return (offices[0] if len(offices) == 1 else None), None


def _follow_up_answered(*, office: Office, visitor: Visitor, now: dt.datetime) -> FollowUp | None:
    """The follow-up a text from ``visitor`` answers: the last text we sent them here was its
    "did you reach …?" text (or a staff reply in a thread about it), within the last days."""
    last = (
        Reminder.objects.filter(
            visitor=visitor, office=office, channel=ReminderChannel.SMS,
            state=ReminderState.SENT,
            sent_at__gte=now - dt.timedelta(days=FOLLOW_UP_REPLY_DAYS),
        )
        .exclude(kind__in=[ReminderKind.CALLED_NOW, ReminderKind.QUEUE_POSITION])
        .order_by("-sent_at", "-pk")
        .first()
    )  # fmt: skip
    if last is None:
        return None
    # The referral's own follow-up; a new-job check-in on the same visit has its own results.
    related = FollowUp.objects.select_related("assigned_to", "visitor").filter(
        kind=FollowUp.Kind.GENERAL
    )
    if last.kind == ReminderKind.REFERRAL_FOLLOW_UP and last.visit_id:
        return related.filter(promised_on_id=last.visit_id, visitor=visitor).first()
    if last.kind == ReminderKind.REPLY:
        return related.filter(messages__reminder=last).first()
    return None


def inbound_receive(
    *, sender: str, to: str = "", body: str, message_sid: str = "", now: dt.datetime | None = None
) -> ConversationMessage | None:
    """Keep a text that is not a keyword in its thread; None for a sender we cannot answer
    (a short code, no number). A text Twilio posts twice (same MessageSid) is kept once."""
    now = now or timezone.now()
    number = national(sender)
    if len(number) < 7 or len(sender) > MAX_PHONE_LENGTH:
        return None
    sid = (message_sid or "")[:64]
    if sid and ConversationMessage.objects.filter(provider_message_id=sid).exists():
        return ConversationMessage.objects.get(provider_message_id=sid)
    office, visitor = _route(sender=sender, to=to)
    follow_up = (
        _follow_up_answered(office=office, visitor=visitor, now=now)
        if office is not None and visitor is not None
        else None
    )
    words = clean_text(body, limit=MAX_INBOUND_LENGTH) or "…"
    key = Conversation.key_for(
        office_id=office.pk if office else None, visitor_id=visitor.pk if visitor else None,
        number=number,
    )  # fmt: skip
    try:
        with transaction.atomic():
            conversation, _created = Conversation.objects.get_or_create(
                key=key,
                defaults={"office": office, "visitor": visitor, "phone": sender,
                          "number": number, "created_at": now, "last_message_at": now},
            )  # fmt: skip
            message = ConversationMessage.objects.create(
                conversation=conversation, direction=MessageDirection.INBOUND, body=words,
                follow_up=follow_up, provider_message_id=sid, created_at=now,
            )  # fmt: skip
            Conversation.objects.filter(pk=conversation.pk).update(
                phone=sender, number=number, last_message_at=now, last_inbound_at=now,
                awaiting_reply_since=Coalesce(F("awaiting_reply_since"), Value(now)),
            )  # fmt: skip
            if follow_up is not None:
                _follow_up_replied(follow_up=follow_up, message=message, now=now)
    except IntegrityError:
        if sid:  # the same text, posted twice at once: the other request kept it
            return ConversationMessage.objects.get(provider_message_id=sid)
        raise
    return message


CALLBACK_REPEAT = dt.timedelta(minutes=30)


def kiosk_callback_request(
    *, office: Office, name: str, phone: str, words: str = "", now: dt.datetime | None = None
) -> ConversationMessage:
    """A call-back asked for at the kiosk outside opening hours: it lands in the office's inbox
    as a message in the thread of that number (the visitor's, when the number is theirs), waiting
    for a reply. The same request sent again within half an hour is kept once."""
    now = now or timezone.now()
    number = national(phone)
    matches = [v for v in visitors_with_phone(phone) if v.merged_into_id is None]
    visitor = matches[0] if len(matches) == 1 else None
    body = clean_text(
        _("Call-back requested at the kiosk after hours — %(name)s, %(phone)s: %(words)s")
        % {"name": name, "phone": phone, "words": words or "—"},
        limit=MAX_INBOUND_LENGTH,
    )
    key = Conversation.key_for(
        office_id=office.pk, visitor_id=visitor.pk if visitor else None, number=number
    )
    with transaction.atomic():
        conversation, _created = Conversation.objects.get_or_create(
            key=key,
            defaults={"office": office, "visitor": visitor, "phone": phone, "number": number,
                      "created_at": now, "last_message_at": now},
        )  # fmt: skip
        repeat = conversation.messages.filter(
            direction=MessageDirection.INBOUND, body=body, created_at__gte=now - CALLBACK_REPEAT
        ).first()
        if repeat is not None:
            return repeat
        message = ConversationMessage.objects.create(
            conversation=conversation, direction=MessageDirection.INBOUND, body=body,
            created_at=now,
        )  # fmt: skip
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message_at=now, last_inbound_at=now,
            awaiting_reply_since=Coalesce(F("awaiting_reply_since"), Value(now)),
        )  # fmt: skip
    return message


def _follow_up_replied(*, follow_up: FollowUp, message: ConversationMessage, now) -> None:
    """A reply to the follow-up text is two-way contact (once per follow-up), and the staff
    member who promised the follow-up hears of it."""
    earlier = follow_up.messages.filter(direction=MessageDirection.INBOUND).exclude(pk=message.pk)
    if not earlier.exists():
        services.follow_up_log_contact(
            follow_up=follow_up, by=None, method=FollowUpContact.Method.TEXT,
            result=ContactResult.REACHED,
            outcome=_("Replied to the follow-up text: “%(words)s”")
            % {"words": message.body[:500]},
        )  # fmt: skip
    promised_by = follow_up.assigned_to
    office = follow_up.office
    if promised_by is None or not promised_by.is_active or not promised_by.email:
        return
    if on_shift(promised_by, office=office, now=now):
        return  # the console's badge tells them
    path = reverse("desk:inbox_thread", args=[office.slug, message.conversation_id])
    visitor = follow_up.visitor
    Reminder.objects.get_or_create(
        idempotency_key=(
            f"reply-received:{message.conversation_id}:{office.local_date(now)}:{promised_by.pk}"
        ),
        defaults={
            "office": office, "recipient_user": promised_by, "kind": ReminderKind.REPLY_RECEIVED,
            "channel": ReminderChannel.EMAIL, "due_at": now,
            "context": {"name": f"{visitor.display_name} {visitor.last_name[:1]}.".strip(),
                        "url": settings.PUBLIC_URL + path},
        },
    )  # fmt: skip
    reminders.dispatch_soon()


def on_shift(user, *, office: Office, now: dt.datetime) -> bool:
    """Whether ``user`` is at work now: the office is open and they signed in within a
    session's length (a staff session lasts one shift)."""
    recent = now - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return office.is_open_at(now) and user.last_login is not None and user.last_login >= recent


# --- Staff replies ------------------------------------------------------------------------------


def reply_due_at(office: Office, now: dt.datetime) -> dt.datetime:
    """When a staff reply written now goes out: now, or when quiet hours end."""
    return office.quiet_hours_end_after(now) if office.in_quiet_hours(now) else now


def conversation_reply(
    *, conversation: Conversation, by, body: str, token: str, now: dt.datetime | None = None
) -> ConversationMessage:
    """Queue a staff reply in the outbox; raise ReplyRefused when it may not go out.

    ``token`` comes with the form: the same form sent twice (a double click) queues one text.
    """
    now = now or timezone.now()
    words = clean_text(body, limit=MAX_REPLY_LENGTH)
    if not words:
        raise ReplyRefused(_("Write your reply first."))
    if not _TOKEN.fullmatch(token or ""):
        raise ReplyRefused(_("The form ran out; please send your reply again."))
    office, visitor = conversation.office, conversation.visitor
    if office is None or visitor is None:
        raise ReplyRefused(
            _("We do not know whose number this is: attach it to a person before replying.")
        )
    visitor.refresh_from_db(fields=["phone", "consent_sms", "merged_into"])
    name = visitor.display_name
    if not visitor.phone:
        raise ReplyRefused(_("Not sent: %(name)s has no phone number on file.") % {"name": name})
    if not reminders.may_text(visitor):
        raise ReplyRefused(
            _(
                "Not sent: %(name)s has stopped texts from the office (they replied STOP, or "
                "never agreed to texts). Call them instead; they can text START to get texts "
                "again."
            )
            % {"name": name}
        )
    answering = (
        conversation.messages.filter(direction=MessageDirection.INBOUND)
        .order_by("-created_at", "-pk")
        .values_list("follow_up", flat=True)
        .first()
    )
    author = (by.first_name or by.username) if by else ""
    with transaction.atomic():
        reminder, created = Reminder.objects.get_or_create(
            idempotency_key=f"reply:{conversation.pk}:{token}",
            defaults={
                "office": office, "visitor": visitor, "kind": ReminderKind.REPLY,
                "channel": ReminderChannel.SMS, "due_at": reply_due_at(office, now),
                "context": {"body": words, "author": author},
            },
        )  # fmt: skip
        if not created:
            return ConversationMessage.objects.get(reminder=reminder)
        message = ConversationMessage.objects.create(
            conversation=conversation, direction=MessageDirection.OUTBOUND, body=words,
            author=by, reminder=reminder, follow_up_id=answering, created_at=now,
        )  # fmt: skip
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message_at=now, awaiting_reply_since=None
        )
        conversation_mark_read(conversation=conversation, user=by, now=now)
        reminders.dispatch_soon()
    return message


def conversation_mark_answered(*, conversation: Conversation) -> bool:
    """The visitor was answered another way (a call, at the desk): the thread waits no more."""
    return bool(
        Conversation.objects.filter(pk=conversation.pk, awaiting_reply_since__isnull=False).update(
            awaiting_reply_since=None
        )
    )


def conversation_mark_read(*, conversation: Conversation, user, now: dt.datetime | None = None):
    ConversationRead.objects.update_or_create(
        conversation=conversation, user=user, defaults={"read_at": now or timezone.now()}
    )


def conversation_attach(
    *, conversation: Conversation, visitor: Visitor, office: Office
) -> Conversation:
    """An unknown sender is ``visitor``: their thread moves to ``visitor``'s thread at
    ``office`` (joining one that is already there), and a number is saved for a visitor who
    had none. Later texts from the number come to this thread."""
    with transaction.atomic():
        stray = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if stray.visitor_id is not None:
            return stray
        key = Conversation.key_for(office_id=office.pk, visitor_id=visitor.pk, number="")
        thread = Conversation.objects.select_for_update().filter(key=key).first()
        if thread is None:
            stray.office, stray.visitor, stray.key = office, visitor, key
            stray.save(update_fields=["office", "visitor", "key"])
            thread = stray
        else:
            stray.messages.update(conversation=thread)
            waiting = [t for t in (thread.awaiting_reply_since, stray.awaiting_reply_since) if t]
            thread.awaiting_reply_since = min(waiting) if waiting else None
            thread.last_message_at = max(thread.last_message_at, stray.last_message_at)
            inbound = [t for t in (thread.last_inbound_at, stray.last_inbound_at) if t]
            thread.last_inbound_at = max(inbound) if inbound else None
            thread.number, thread.phone = stray.number, stray.phone
            thread.save()
            stray.delete()
        if not visitor.phone and thread.phone:
            visitor.phone = thread.phone
            visitor.save(update_fields=["phone", "updated_at"])
    return thread


# --- What the screens read ----------------------------------------------------------------------


def inbox_threads(office: Office, user, *, waiting_only: bool = False, unassigned: bool = False):
    """The office's threads, those waiting for a reply first, each with ``unread`` for ``user``
    and its latest message. ``unassigned``: also threads of no office (for office admins)."""
    where = Q(office=office) | Q(office__isnull=True) if unassigned else Q(office=office)
    threads = Conversation.objects.filter(where)
    if waiting_only:
        threads = threads.filter(awaiting_reply_since__isnull=False)
    read_at = ConversationRead.objects.filter(conversation=OuterRef("pk"), user=user)
    latest = ConversationMessage.objects.filter(conversation=OuterRef("pk")).order_by(
        "-created_at", "-pk"
    )
    return (
        threads.select_related("visitor", "office")
        .annotate(
            read_at=Subquery(read_at.values("read_at")[:1]),
            last_body=Subquery(latest.values("body")[:1]),
            last_direction=Subquery(latest.values("direction")[:1]),
            follow_up_id=Subquery(
                ConversationMessage.objects.filter(conversation=OuterRef("pk"))
                .exclude(follow_up=None)
                .order_by("-created_at", "-pk")
                .values("follow_up")[:1]
            ),
        )
        .annotate(
            unread=Q(last_inbound_at__isnull=False)
            & (Q(read_at__isnull=True) | Q(last_inbound_at__gt=F("read_at")))
        )
        .order_by(F("awaiting_reply_since").asc(nulls_last=True), "-last_message_at", "-pk")
    )


def thread_for_staff(office: Office, user, pk: int, *, admin: bool) -> Conversation | None:
    """One of the office's threads (or, for an office admin, one of no office yet)."""
    where = Q(office=office) | Q(office__isnull=True) if admin else Q(office=office)
    return Conversation.objects.filter(where, pk=pk).select_related("visitor", "office").first()


def thread_messages(conversation: Conversation) -> QuerySet[ConversationMessage]:
    return conversation.messages.select_related("author", "reminder", "follow_up")


def unread_for(office: Office, user) -> dict[str, int]:
    """For the console's badge: threads of ``office`` with a text ``user`` has not read
    (``total``), and of those, the ones with an unread reply to a follow-up ``user`` promised
    (``mine``: the alert)."""
    read_at = ConversationRead.objects.filter(conversation=OuterRef("pk"), user=user).values(
        "read_at"
    )[:1]
    unread = (
        Conversation.objects.filter(office=office, last_inbound_at__isnull=False)
        .annotate(since=Coalesce(Subquery(read_at), Value(NEVER)))
        .filter(last_inbound_at__gt=F("since"))
    )
    mine = Exists(
        ConversationMessage.objects.filter(
            conversation=OuterRef("pk"), direction=MessageDirection.INBOUND,
            follow_up__assigned_to=user, created_at__gt=OuterRef("since"),
        )
    )  # fmt: skip
    counts = unread.annotate(is_mine=mine).aggregate(
        total=Count("pk"), mine=Count("pk", filter=Q(is_mine=True))
    )
    return {"total": counts["total"], "mine": counts["mine"]}


def unanswered_threads(office_ids, older_than: dt.datetime) -> QuerySet[Conversation]:
    """Threads of these offices waiting for a reply since before ``older_than``, oldest first:
    for the manager's dashboard ("a question nobody answered")."""
    return (
        Conversation.objects.filter(office__in=office_ids, awaiting_reply_since__lt=older_than)
        .select_related("visitor", "office")
        .order_by("awaiting_reply_since", "pk")
    )


def one_business_day_before(office: Office, now: dt.datetime) -> dt.datetime:
    """The same time on the office's previous open day (a Monday's is Friday's for an office
    closed at weekends): a thread waiting since before then waited a whole business day."""
    local = now.astimezone(office.zone)
    for back in range(1, 8):
        day = local - dt.timedelta(days=back)
        if office.opening_hours.get(WEEKDAYS[day.weekday()]) or back == 7:
            return day.astimezone(dt.UTC)
    return (local - dt.timedelta(days=1)).astimezone(dt.UTC)  # pragma: no cover


def threads_for_visitor(office: Office, visitor: Visitor) -> list[Conversation]:
    return list(Conversation.objects.filter(office=office, visitor=visitor))


def follow_up_messages(follow_up: FollowUp) -> QuerySet[ConversationMessage]:
    return follow_up.messages.select_related("author", "reminder", "conversation")
