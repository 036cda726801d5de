"""Delivering the reminder outbox: claim due rows with a lease, send each once, record it.

A periodic dispatcher claims due rows (``SKIP LOCKED`` on PostgreSQL, one compare-and-set
UPDATE for the round everywhere) by moving them to *sending* with a random claim and a lease; a
send task delivers a small batch of them, each row only while it still holds that claim (a
compare-and-set just before the provider call, renewing its lease), and marks each sent with a
compare-and-set on its claim.
A worker that dies mid-send leaves the row in *sending* until its lease expires; the dispatcher
then claims it again (a retry), so nothing is lost. Rows wait in the database while the broker is
down: no long-delayed broker messages exist to lose or to deliver twice.
"""

import datetime as dt
import logging
import secrets
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.template import Context, engines
from django.utils import timezone, translation

from visitors import reminders, sms, webhooks
from visitors.messaging.models import Reminder, ReminderChannel, ReminderKind, ReminderState

# Texts that matter only while the visitor is in the office: no quiet hours for them.
IMMEDIATE = {
    ReminderKind.CALLED_NOW,
    ReminderKind.QUEUE_POSITION,
    ReminderKind.BROADCAST,
    ReminderKind.CHECKED_IN,
    ReminderKind.APPOINTMENT_ARRIVED,
    # Answers to what someone just did on the public page, and news of their place today.
    ReminderKind.HEAD_IN,
    ReminderKind.PLACE_RELEASED,
    ReminderKind.BOOKING_CONFIRMED,
    ReminderKind.BOOKING_CHANGED,
}

logger = logging.getLogger(__name__)


class TransientError(Exception):
    """Sending failed in a way that retrying may fix."""


def reminders_claim(*, now: dt.datetime | None = None, limit: int = 500) -> list[tuple[int, str]]:
    """Claim due reminders; return (id, claim) pairs, in due order, to hand to send tasks.

    One claim (a random token) for all the rows taken in this round, set with one UPDATE: a row
    claimed again after its lease gets another round's token, so a stale holder can no longer
    finish it. The rows are locked first (``SKIP LOCKED``: an overlapping dispatcher takes
    others) on PostgreSQL; SQLite's IMMEDIATE transaction holds the write lock throughout.
    """
    now = now or timezone.now()
    lease = dt.timedelta(seconds=settings.REMINDER_LEASE_SECONDS)
    reminders_recover(now=now, limit=limit)
    with transaction.atomic():
        due = Reminder.objects.filter(state=ReminderState.SCHEDULED, due_at__lte=now).order_by(
            "due_at", "pk"
        )
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        pks = list(due.values_list("pk", flat=True)[:limit])
        if not pks:
            return []
        claim = secrets.token_hex(8)
        taken = Reminder.objects.filter(pk__in=pks, state=ReminderState.SCHEDULED).update(
            state=ReminderState.SENDING,
            claim=claim,
            lease_expires_at=now + lease,
            attempts=F("attempts") + 1,
        )
        if taken < len(pks):  # changed since it was read (cannot happen under the locks above)
            mine = set(
                Reminder.objects.filter(pk__in=pks, claim=claim).values_list("pk", flat=True)
            )
            pks = [pk for pk in pks if pk in mine]
    return [(pk, claim) for pk in pks]


def reminders_recover(*, now: dt.datetime, limit: int = 500) -> dict[str, int]:
    """Rows whose lease ran out: the worker holding them stopped. Settle each before anyone
    sends it again.

    - It never reached the provider (no ``provider_attempted_at``): back to scheduled.
    - It may have (a text handed over, then the worker died): ask the provider. Found → sent,
      with the provider's id, and not sent again. Not found → scheduled. The provider cannot be
      asked now → left as it is for the next round: never sent again blind.
    - An email may have reached the SMTP server: no server can be asked, so it is sent again
      (at least once).
    """
    settled = {"rescheduled": 0, "found_sent": 0, "waiting": 0}
    lapsed = Reminder.objects.filter(
        state=ReminderState.SENDING, lease_expires_at__lt=now
    ).select_related("visitor", "office", "recipient_user", "appointment", "workshop")
    for reminder in lapsed[:limit]:
        still_lapsed = Reminder.objects.filter(
            pk=reminder.pk, state=ReminderState.SENDING, lease_expires_at__lt=now
        )
        found = ""
        if reminder.provider_attempted_at and reminder.channel == ReminderChannel.SMS:
            try:
                found = _find_sent(reminder) or ""
            except sms.SmsError:
                settled["waiting"] += 1
                continue
        if found:
            settled["found_sent"] += still_lapsed.update(
                state=ReminderState.SENT, sent_at=reminder.provider_attempted_at, claim="",
                lease_expires_at=None, provider_message_id=found[:120],
                last_error="found at the provider after a worker stopped mid-send",
            )  # fmt: skip
        else:
            # Only as it was read: a worker that has since handed it to the provider renewed
            # its lease, and it is asked about next round instead.
            settled["rescheduled"] += still_lapsed.filter(
                provider_attempted_at=reminder.provider_attempted_at
            ).update(state=ReminderState.SCHEDULED, claim="")
    return settled


def _find_sent(reminder: Reminder) -> str | None:
    """The provider's id if an earlier attempt at this text reached it (see find_sent)."""
    attempted = reminder.provider_attempted_at
    if attempted is None or reminder.visitor is None or not reminder.visitor.phone:
        return None
    _subject, body = _render(reminder)
    return sms.find_sent(
        to=reminder.visitor.phone, body=body, idempotency_key=reminder.idempotency_key,
        since=attempted,
    )  # fmt: skip


def _finish(reminder_id: int, claim: str, **fields) -> bool:
    finished = bool(
        Reminder.objects.filter(pk=reminder_id, state=ReminderState.SENDING, claim=claim).update(
            claim="", lease_expires_at=None, **fields
        )
    )
    if finished and fields.get("state") == ReminderState.FAILED:
        # Tell subscribed integrations, so someone can reach the visitor another way.
        reminder = Reminder.objects.get(pk=reminder_id)
        webhooks.emit(
            "reminder.failed", office_id=reminder.office_id, data=webhooks.reminder_data(reminder)
        )
    return finished


def render_text(name: str, context: dict) -> str:
    """A plain-text template rendered without HTML escaping: a text message or an email's
    plain part is not HTML, so "We're late & sorry" must arrive as typed, not as entities."""
    engine = engines["django"].engine  # type: ignore[attr-defined]  # DjangoTemplates' Engine
    return engine.get_template(name).render(Context(context, autoescape=False))


def _render(reminder: Reminder) -> tuple[str, str]:
    """The subject line and body, from templates/reminders/<kind>.txt, in the visitor's
    language and the office's time zone."""
    language = reminder.visitor.preferred_language if reminder.visitor else "en"
    context = {"reminder": reminder, "office": reminder.office, **reminder.context}
    if reminder.visit_id:
        context["visit"] = reminder.visit
    if reminder.appointment_id:
        context["appointment"] = reminder.appointment
    if reminder.workshop_id:
        context["workshop"] = reminder.workshop
    with translation.override(language), timezone.override(reminder.office.zone):
        text = render_text(f"reminders/{reminder.kind}.txt", context).strip()
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip() or subject.strip()


def _consented(reminder: Reminder) -> bool:
    visitor = reminder.visitor
    if reminder.channel == ReminderChannel.CONSOLE:
        return True
    if visitor is None:
        return reminder.recipient_user is not None and bool(reminder.recipient_user.email)
    if reminder.channel == ReminderChannel.SMS:
        return reminders.may_text(visitor)
    return reminders.may_email(visitor)


def _called_off(reminder: Reminder) -> str:
    """Why this reminder should no longer go out, checked just before sending: catches an
    appointment cancelled or moved, or a workshop cancelled, however it was changed."""
    appointment = reminder.appointment
    if appointment is not None:
        if appointment.state != appointment.State.SCHEDULED:
            return f"appointment {appointment.get_state_display().lower()}"
        booked = reminder.context.get("starts_at")
        if booked and booked != appointment.starts_at.isoformat():
            return "appointment moved"
    if reminder.workshop is not None and reminder.workshop.is_cancelled:
        return "workshop cancelled"
    return ""


# What rendering and the checks before sending read: loaded with the row, in one statement.
RELATED = ("visitor", "office", "recipient_user", "appointment", "workshop")


def reminder_deliver(*, reminder_id: int, claim: str, now: dt.datetime | None = None) -> str:
    """Deliver one claimed reminder; return what happened. Raises TransientError to retry."""
    reminder = Reminder.objects.select_related(*RELATED).filter(pk=reminder_id).first()
    return _deliver(reminder, claim, now or timezone.now())


def reminders_deliver(
    claimed: Iterable[tuple[int, str]],
) -> Iterator[tuple[int, str, str | TransientError]]:
    """Deliver a small batch of claimed reminders one after another; yield (id, claim, what
    happened), a TransientError standing for "retry this one".

    The rows are read in one statement; everything else stays per row, exactly as
    reminder_deliver does it: each is handed to the provider only after a compare-and-set on
    its own claim (which also renews its lease), under its own idempotency key, and marked sent
    by another compare-and-set on that claim right after. A worker that dies mid-batch leaves
    the rows already sent *sent*, the one in the provider's hands to be asked about
    (reminders_recover), and the rest *sending* until their lease runs out, then claimed again.
    A row that fails unexpectedly is logged and left to its lease; the others still go.
    """
    claimed = [(int(pk), str(claim)) for pk, claim in claimed]
    loaded = Reminder.objects.select_related(*RELATED).in_bulk([pk for pk, _ in claimed])
    held = _HeldMark()
    try:
        for reminder_id, claim in claimed:
            outcome: str | TransientError
            try:
                outcome = _deliver(loaded.get(reminder_id), claim, timezone.now(), held)
            except TransientError as error:
                outcome = error
            except Exception:
                logger.exception("reminder %s failed; retried once its lease runs out",
                                 reminder_id)  # fmt: skip
                outcome = "error"
            yield reminder_id, claim, outcome
    finally:
        held.write()


class _HeldMark:
    """A batch's last *sent* mark, held back only until the next statement: on PostgreSQL it
    goes in the same statement as the next row's hand-over (one round trip for both, both or
    neither). It is written before anything else leaves the process (the provider, an SMTP
    server), so a worker that dies leaves at most the one text it just sent unmarked — as
    when it dies between sending and marking — and the next round finds it at the provider.
    """

    def __init__(self):
        self.sent: tuple[int, str, dt.datetime, str] | None = None  # id, claim, sent at, its id

    def write(self) -> None:
        if self.sent is not None:
            reminder_id, claim, sent_at, provider_id = self.sent
            self.sent = None
            _finish(reminder_id, claim, state=ReminderState.SENT, sent_at=sent_at,
                    provider_message_id=provider_id, last_error="")  # fmt: skip


def _hand_over(reminder_id: int, claim: str, now: dt.datetime, held: "_HeldMark | None") -> bool:
    """Record that this row goes to the provider now, renewing its lease — only while this
    claim still holds it (the row read may be a batch's start old; its lease may have run out
    and the row been claimed again). With a held mark on PostgreSQL, that mark is written in
    the same statement; elsewhere just before."""
    lease_end = now + dt.timedelta(seconds=settings.REMINDER_LEASE_SECONDS)
    if held is None or held.sent is None or connection.vendor != "postgresql":
        if held is not None:
            held.write()
        return bool(
            Reminder.objects.filter(
                pk=reminder_id, state=ReminderState.SENDING, claim=claim
            ).update(provider_attempted_at=now, lease_expires_at=lease_end)
        )
    done_id, done_claim, sent_at, provider_id = held.sent
    table = connection.ops.quote_name(Reminder._meta.db_table)
    with connection.cursor() as cursor:
        # A data-modifying WITH runs to completion whether or not it is read; the two rows
        # differ, and the statement commits both changes or neither.
        cursor.execute(
            f"""WITH done AS (
                    UPDATE {table} SET state = %s, claim = '', lease_expires_at = NULL,
                        sent_at = %s, provider_message_id = %s, last_error = ''
                    WHERE id = %s AND state = %s AND claim = %s
                )
                UPDATE {table} SET provider_attempted_at = %s, lease_expires_at = %s
                WHERE id = %s AND state = %s AND claim = %s""",
            [
                ReminderState.SENT, sent_at, provider_id, done_id, ReminderState.SENDING,
                done_claim, now, lease_end, reminder_id, ReminderState.SENDING, claim,
            ],
        )  # fmt: skip
        taken = cursor.rowcount
    held.sent = None
    return bool(taken)


def _deliver(
    reminder: Reminder | None, claim: str, now: dt.datetime, held: _HeldMark | None = None
) -> str:
    if reminder is None or reminder.state != ReminderState.SENDING or reminder.claim != claim:
        return "skipped"  # sent, cancelled, or claimed again by someone else meanwhile
    reminder_id = reminder.pk
    called_off = _called_off(reminder)
    if called_off:
        _finish(reminder_id, claim, state=ReminderState.CANCELLED, last_error=called_off)
        return "cancelled"
    if not _consented(reminder):
        _finish(reminder_id, claim, state=ReminderState.CANCELLED, last_error="no consent")
        return "cancelled"
    office = reminder.office
    if (
        reminder.channel == ReminderChannel.SMS
        and reminder.kind not in IMMEDIATE
        and office.in_quiet_hours(now)
    ):
        _finish(
            reminder_id, claim, state=ReminderState.SCHEDULED,
            due_at=office.quiet_hours_end_after(now), attempts=F("attempts") - 1,
        )  # fmt: skip
        return "deferred"
    if reminder.channel == ReminderChannel.CONSOLE:
        _finish(reminder_id, claim, state=ReminderState.SENT, sent_at=now)
        return "sent"  # shown in the staff member's console; nothing leaves the building
    subject, body = _render(reminder)
    try:
        if reminder.channel == ReminderChannel.SMS:
            assert reminder.visitor is not None  # _consented() checked it
            # A retry after an error that may have come after the provider took the text (a
            # timeout on its answer): ask before sending again.
            if reminder.provider_attempted_at and held is not None:
                held.write()  # nothing waits on the provider unwritten
            found = _find_sent(reminder)
            if found:
                _finish(reminder_id, claim, state=ReminderState.SENT, sent_at=now,
                        provider_message_id=found[:120], last_error="")  # fmt: skip
                return "sent"
        # From here the provider may have it: a worker that dies now leaves a row that is
        # checked with the provider (reminders_recover) before it is sent again.
        if not _hand_over(reminder_id, claim, now, held):
            return "skipped"  # its lease ran out and it was settled or claimed again
        if reminder.channel == ReminderChannel.SMS:
            assert reminder.visitor is not None
            provider_id = sms.send_sms(
                to=reminder.visitor.phone, body=body, idempotency_key=reminder.idempotency_key
            )
        else:
            recipient = reminder.visitor or reminder.recipient_user
            assert recipient is not None  # the reminder_has_recipient constraint
            to = recipient.email
            send_mail(subject, body, None, [to])
            provider_id = ""
    except sms.SmsError as error:
        if error.permanent or reminder.attempts >= settings.REMINDER_MAX_ATTEMPTS:
            _finish(reminder_id, claim, state=ReminderState.FAILED, last_error=str(error)[:2000])
            return "failed"
        Reminder.objects.filter(pk=reminder_id).update(last_error=str(error)[:2000])
        raise TransientError(str(error)) from error
    except OSError as error:  # SMTP and network failures
        Reminder.objects.filter(pk=reminder_id).update(last_error=str(error)[:2000])
        raise TransientError(str(error)) from error
    if held is not None:
        held.sent = (reminder_id, claim, now, provider_id[:120])  # with the next statement
    else:
        _finish(
            reminder_id, claim, state=ReminderState.SENT, sent_at=now,
            provider_message_id=provider_id[:120], last_error="",
        )  # fmt: skip
    return "sent"


def reminder_extend_lease(*, reminder_id: int, claim: str, seconds: int) -> None:
    Reminder.objects.filter(pk=reminder_id, state=ReminderState.SENDING, claim=claim).update(
        lease_expires_at=timezone.now() + dt.timedelta(seconds=seconds)
    )


def reminder_give_up(*, reminder_id: int, claim: str, error: str) -> None:
    _finish(reminder_id, claim, state=ReminderState.FAILED, last_error=error[:2000])
