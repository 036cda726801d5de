"""Scheduling reminders: which rows go into the outbox, when, and when they are called off.

Delivery is ``visitors.outbox``; this module only decides. Every row has an idempotency key
built from what it reminds of (and, for appointments, the time), so scheduling twice makes
one row, and a moved appointment gets fresh rows while the old ones are cancelled.
"""

import datetime as dt
import logging
import uuid
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone

from visitors import broker
from visitors.followups.models import Appointment, WorkshopSignup
from visitors.messaging.models import Reminder, ReminderChannel, ReminderKind, ReminderState
from visitors.offices.models import Office, StaffMembership, StaffRole
from visitors.people.models import Visitor
from visitors.selectors import line_estimates, queue_waiting
from visitors.visits.lifecycle import Status
from visitors.visits.models import Referral, Visit

logger = logging.getLogger(__name__)

# Appointment and workshop reminders: the day before and two hours before.
BEFORE = (("day-before", dt.timedelta(days=1)), ("2h", dt.timedelta(hours=2)))


def may_text(visitor: Visitor) -> bool:
    """Whether we may text this visitor: they gave a number and agreed to texts."""
    return bool(visitor.phone) and visitor.consent_sms


def may_email(visitor: Visitor) -> bool:
    return bool(visitor.email) and visitor.consent_email


def channel_for(visitor: Visitor) -> str | None:
    """The channel this visitor agreed to (texts first), or None."""
    if may_text(visitor):
        return ReminderChannel.SMS
    if may_email(visitor):
        return ReminderChannel.EMAIL
    return None


def dispatch_soon() -> None:
    """Ask a worker to run the dispatcher once this transaction commits.

    Beat runs it every minute anyway; this makes "you're being called" immediate. A broker
    that is down must not fail the request: the rows wait and the next beat sends them.
    """
    if not settings.REMINDERS_DISPATCH_ON_COMMIT:
        return

    transaction.on_commit(lambda: broker.queue("visitors.tasks.dispatch_reminders"), robust=True)


def cancel(reminders, reason: str) -> int:
    """Call off scheduled rows (rows being sent finish; sent rows stay as they are)."""
    return reminders.filter(state=ReminderState.SCHEDULED).update(
        state=ReminderState.CANCELLED, last_error=reason[:2000]
    )


def _schedule_before(*, key: str, starts_at, visitor: Visitor, office_id: int, now, **fields):
    channel = channel_for(visitor)
    if channel is None:
        return []
    made = []
    for label, before in BEFORE:
        due = starts_at - before
        if due <= now:
            continue  # booked later than that: no "tomorrow" text an hour before
        reminder, created = Reminder.objects.get_or_create(
            idempotency_key=f"{key}:{starts_at.timestamp():.0f}:{label}",
            defaults={
                "office_id": office_id, "visitor": visitor, "channel": channel,
                "due_at": due, "context": {"starts_at": starts_at.isoformat()}, **fields,
            },
        )  # fmt: skip
        if not created and reminder.state == ReminderState.CANCELLED:
            # Moved away and back to this time: the rows the first move called off are due again.
            Reminder.objects.filter(pk=reminder.pk, state=ReminderState.CANCELLED).update(
                state=ReminderState.SCHEDULED, due_at=due, last_error="", channel=channel
            )
            reminder.refresh_from_db()
        made.append(reminder)
    return made


def appointment_schedule(appointment: Appointment, *, now: dt.datetime | None = None) -> list:
    if appointment.state != Appointment.State.SCHEDULED:
        return []
    return _schedule_before(
        key=f"appointment:{appointment.pk}", starts_at=appointment.starts_at,
        visitor=appointment.visitor, office_id=appointment.office_id, now=now or timezone.now(),
        kind=ReminderKind.APPOINTMENT, appointment=appointment,
    )  # fmt: skip


def appointment_cancel(appointment: Appointment) -> None:
    with transaction.atomic():
        appointment.state = Appointment.State.CANCELLED
        appointment.save(update_fields=["state"])  # a save: the console's panel hears of it
        cancel(appointment.reminders.all(), "appointment cancelled")


def appointment_move(appointment: Appointment, *, starts_at: dt.datetime) -> list:
    """Move an appointment: the old reminders are cancelled and new ones scheduled."""
    with transaction.atomic():
        cancel(appointment.reminders.all(), "appointment moved")
        appointment.starts_at = starts_at
        appointment.save(update_fields=["starts_at"])
        return appointment_schedule(appointment)


def workshop_schedule(signup: WorkshopSignup, *, now: dt.datetime | None = None) -> list:
    workshop = signup.workshop
    if workshop.is_cancelled:
        return []
    return _schedule_before(
        key=f"workshop:{workshop.pk}:{signup.visitor_id}", starts_at=workshop.starts_at,
        visitor=signup.visitor, office_id=workshop.office_id, now=now or timezone.now(),
        kind=ReminderKind.WORKSHOP, workshop=workshop,
    )  # fmt: skip


def referral_follow_up_schedule(referral: Referral, *, now: dt.datetime | None = None) -> bool:
    """ "Did you reach …?" some days after a referral, at 10:00 the office's time."""
    visit = referral.visit
    visitor = visit.visitor
    channel = channel_for(visitor)
    if channel is None:
        return False
    office = visit.office
    now = now or timezone.now()
    day = office.local_date(now) + dt.timedelta(days=settings.REFERRAL_FOLLOW_UP_DAYS)
    Reminder.objects.get_or_create(
        idempotency_key=f"referral:{referral.pk}",
        defaults={
            "office": office, "visitor": visitor, "visit": visit, "channel": channel,
            "kind": ReminderKind.REFERRAL_FOLLOW_UP,
            "due_at": dt.datetime.combine(day, dt.time(10), tzinfo=office.zone),
            "context": {"partner": referral.partner.name},
        },
    )  # fmt: skip
    return True


def visitor_came_back(visit: Visit) -> int:
    """A visitor checked in: texts about things they are here for now are called off —
    referral follow-ups (staff can ask in person) and reminders of an appointment today."""
    office = visit.office
    start, end = office.day_bounds(visit.service_date)
    today = Q(kind=ReminderKind.APPOINTMENT, appointment__starts_at__lt=end)
    return cancel(
        Reminder.objects.filter(visitor_id=visit.visitor_id, office_id=visit.office_id).filter(
            Q(kind=ReminderKind.REFERRAL_FOLLOW_UP) | today
        ),
        "the visitor came back",
    )


def checked_in(visit: Visit) -> bool:
    """One text at check-in with the ticket and the status page's link, to a visitor who
    agreed to texts: the ticket screen goes after a few seconds, the link stays with them."""
    if not may_text(visit.visitor):
        return False
    path = reverse("status:page", args=[visit.status_token])
    _, created = Reminder.objects.get_or_create(
        idempotency_key=f"checked-in:{visit.pk}",
        defaults={
            "office_id": visit.office_id, "visitor": visit.visitor, "visit": visit,
            "kind": ReminderKind.CHECKED_IN, "channel": ReminderChannel.SMS,
            "due_at": timezone.now(),
            "context": {"ticket": visit.ticket_code, "status_url": settings.PUBLIC_URL + path},
        },
    )  # fmt: skip
    return created


def appointment_arrived(visit: Visit) -> bool:
    """An email to the counsellor whose appointment's visitor just checked in, where the office
    asked for it; no personal data beyond a first name and initial, and a link to the visit."""
    appointment = visit.appointment
    if appointment is None or appointment.staff is None or not appointment.staff.email:
        return False
    if not Office.objects.filter(pk=visit.office_id, email_staff_on_arrival=True).exists():
        return False
    path = reverse("desk:visit", args=[visit.office.slug, visit.pk])
    visitor = visit.visitor
    _, created = Reminder.objects.get_or_create(
        idempotency_key=f"arrived:{visit.pk}",
        defaults={
            "office_id": visit.office_id, "recipient_user": appointment.staff, "visit": visit,
            "kind": ReminderKind.APPOINTMENT_ARRIVED, "channel": ReminderChannel.EMAIL,
            "due_at": timezone.now(),
            "context": {"name": f"{visitor.display_name} {visitor.last_name[:1]}.".strip(),
                        "ticket": visit.ticket_code, "purpose": appointment.purpose,
                        "url": settings.PUBLIC_URL + path},
        },
    )  # fmt: skip
    return created


def called_now(visit: Visit) -> bool:
    """ "You're being called" to a visitor who asked for it, once per call."""
    visitor = visit.visitor
    if not (visit.notify_when_called and may_text(visitor)) or visit.called_at is None:
        return False
    _, created = Reminder.objects.get_or_create(
        # One text per call: each call (and each call again, even within the same second) is
        # its own transition, written once by its compare-and-set, so it gets its own key.
        idempotency_key=f"called:{visit.pk}:{uuid.uuid4().hex}",
        defaults={
            "office_id": visit.office_id, "visitor": visitor, "visit": visit,
            "kind": ReminderKind.CALLED_NOW, "channel": ReminderChannel.SMS,
            "due_at": timezone.now(), "context": {"desk": visit.desk, "ticket": visit.ticket_code},
        },
    )  # fmt: skip
    return created


def call_back_schedule(visit: Visit, *, by, due_on: dt.date, note: str, now: dt.datetime):
    """A console reminder for the staff member who promised a call-back, at 09:00 that day."""
    office = visit.office
    due = dt.datetime.combine(due_on, dt.time(9), tzinfo=office.zone)
    return Reminder.objects.get_or_create(
        idempotency_key=f"call-back:{visit.pk}",
        defaults={
            "office": office, "visitor_id": visit.visitor_id, "recipient_user": by,
            "visit": visit, "kind": ReminderKind.CALL_BACK_DUE, "channel": ReminderChannel.CONSOLE,
            "due_at": max(due, now), "context": {"note": note},
        },
    )[0]  # fmt: skip


def line_moved(office: Office, *, day: dt.date) -> int:
    """After a change that moved the line: "N ahead" and "time to head in", both from one
    query for who might be owed either (on most days and most changes, nobody)."""
    rows = list(
        Visit.objects.filter(office_id=office.pk, service_date=day, status=Status.WAITING)
        .filter(
            Q(notify_when_ahead__isnull=False)
            | Q(on_the_way=True, travel_minutes__isnull=False, head_in_at__isnull=True)
        )
        .values_list("pk", "notify_when_ahead", "on_the_way", "travel_minutes", "head_in_at")
    )
    furthest = max((ahead for _pk, ahead, *_rest in rows if ahead), default=0)
    travelling = {
        pk: travel
        for pk, _ahead, on_the_way, travel, head_in_at in rows
        if on_the_way and travel is not None and head_in_at is None
    }
    made = queue_position_notify(office, day=day, furthest=furthest) if furthest else 0
    if travelling:
        made += head_in_notify(office, day=day, travelling=travelling)
    return made


def queue_position_notify(
    office: Office, *, day: dt.date | None = None, furthest: int | None = None
) -> int:
    """Text waiting visitors who asked to hear when at most N people are ahead of them.

    ``furthest``: the largest N asked for, when the caller already knows it."""
    # Only the first (largest N asked for + 1) places can qualify: read no further than that.
    # A long line (thousands on a busy day) must not make every call load all of it.
    if furthest is None:
        furthest = queue_waiting(office=office, day=day).aggregate(n=Max("notify_when_ahead"))["n"]
    if not furthest:
        return 0
    if office._state.adding:  # callers may hold only its id (effects): the queue rule is its own
        office = Office.objects.get(pk=office.pk)
    waiting = list(queue_waiting(office=office, day=day).select_related("visitor")[: furthest + 1])
    made = 0
    now = timezone.now()
    for ahead, visit in enumerate(waiting):
        if not visit.notify_when_ahead or ahead > visit.notify_when_ahead:
            continue
        visitor = visit.visitor
        if not may_text(visitor):
            continue
        _, created = Reminder.objects.get_or_create(
            idempotency_key=f"ahead:{visit.pk}",
            defaults={
                "office": office, "visitor": visitor, "visit": visit,
                "kind": ReminderKind.QUEUE_POSITION, "channel": ReminderChannel.SMS,
                "due_at": now, "context": {"ahead": ahead, "ticket": visit.ticket_code},
            },
        )  # fmt: skip
        made += created
    return made


def daily_summary(office: Office, day: dt.date) -> str:
    """A few plain lines on how the office's day went, for the managers' email."""
    visits = Visit.objects.filter(office=office, service_date=day)
    counts = visits.aggregate(
        total=Count("pk"),
        visitors=Count("visitor", distinct=True),
        done=Count("pk", filter=Q(status=Status.DONE)),
        left=Count("pk", filter=Q(status=Status.LEFT)),
        no_show=Count("pk", filter=Q(status=Status.NO_SHOW)),
        follow_up=Count("pk", filter=Q(outcome="follow_up")),
    )
    start, end = office.day_bounds(day)
    sent = Reminder.objects.filter(office=office, sent_at__gte=start, sent_at__lt=end).count()
    failed = Reminder.objects.filter(
        office=office, state=ReminderState.FAILED, created_at__lt=end
    ).count()
    open_requests = office.open_requests.filter(state="open").count()
    lines = [
        f"{office.name} — {day:%A %d %B %Y}",
        f"Visits: {counts['total']} ({counts['visitors']} people)",
        f"Served: {counts['done']}; left before being served: {counts['left']}; "
        f"no-shows: {counts['no_show']}",
        f"Follow-up needed: {counts['follow_up']}; open requests: {open_requests}",
        f"Reminders sent: {sent}; failed (need a look): {failed}",
    ]
    return "\n".join(lines)


def daily_summaries_schedule(*, now: dt.datetime | None = None) -> int:
    """Once an office's day is over (after SUMMARY_HOUR local), email each of its managers."""
    now = now or timezone.now()
    made = 0
    for office in Office.objects.all():
        local = timezone.localtime(now, office.zone)
        if local.hour < settings.DAILY_SUMMARY_HOUR:
            continue
        day = local.date()
        managers = StaffMembership.objects.filter(
            office=office, role=StaffRole.MANAGER, is_active=True, user__is_active=True
        ).exclude(user__email="")
        summary = None
        for membership in managers.select_related("user"):
            key = f"summary:{office.pk}:{day.isoformat()}:{membership.user_id}"
            if Reminder.objects.filter(idempotency_key=key).exists():
                continue
            summary = summary or daily_summary(office, day)
            _, created = Reminder.objects.get_or_create(
                idempotency_key=key,
                defaults={
                    "office": office, "recipient_user": membership.user,
                    "kind": ReminderKind.DAILY_SUMMARY, "channel": ReminderChannel.EMAIL,
                    "due_at": now, "context": {"summary": summary},
                },
            )  # fmt: skip
            made += created
    return made


# --- Joined from a phone: time to head in; place released --------------------------------------


def head_in_notify(
    office: Office,
    *,
    day: dt.date | None = None,
    travelling: Mapping[int, int | None] | None = None,
) -> int:
    """Text each person on the way whose estimated wait has fallen to their travel time.

    Asked after every change that moves the line: with nobody on the way it is one query; with
    some, the line's estimates are worked out once for all of them. ``travelling``: those on
    the way not yet told (visit id: travel minutes), when the caller already read them.
    """
    day = day or office.local_date()
    if travelling is None:
        travelling = dict(
            Visit.objects.filter(
                office_id=office.pk, service_date=day, status=Status.WAITING, on_the_way=True,
                travel_minutes__isnull=False, head_in_at__isnull=True,
            ).values_list("pk", "travel_minutes")
        )  # fmt: skip
    if not travelling:
        return 0
    office = Office.objects.get(pk=office.pk)  # callers may hold only its id (effects)
    estimates = line_estimates(office=office, day=day, upto=set(travelling))
    due = [pk for pk, travel in travelling.items() if pk in estimates
           and estimates[pk].low <= travel]  # fmt: skip
    made = 0
    for visit in Visit.objects.filter(pk__in=due).select_related("visitor"):
        if not Visit.objects.filter(pk=visit.pk, head_in_at__isnull=True).update(
            head_in_at=timezone.now()
        ):
            continue  # told by a concurrent change
        estimate = estimates[visit.pk]
        made += remote_text(visit, ReminderKind.HEAD_IN, key=f"head-in:{visit.pk}",
                      context={"ahead": estimate.ahead, "low": estimate.low,
                               "high": estimate.high})  # fmt: skip
    return made


def head_in_if_near(visit: Visit, estimate) -> int:
    """Just joined from a phone, with ``estimate`` quoted: "time to head in" at once when the
    wait is already within their travel time (then later changes need not ask again)."""
    if not (visit.on_the_way and visit.travel_minutes) or estimate is None:
        return 0
    if estimate.low > visit.travel_minutes:
        return 0
    if not Visit.objects.filter(pk=visit.pk, head_in_at__isnull=True).update(
        head_in_at=timezone.now()
    ):
        return 0
    visit.head_in_at = timezone.now()
    return remote_text(visit, ReminderKind.HEAD_IN, key=f"head-in:{visit.pk}",
                       context={"ahead": estimate.ahead, "low": estimate.low,
                                "high": estimate.high})  # fmt: skip


def remote_text(visit: Visit, kind: str, *, key: str, context: dict) -> int:
    path = reverse("status:page", args=[visit.status_token])
    _reminder, created = Reminder.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "office_id": visit.office_id, "visitor": visit.visitor, "visit": visit,
            "kind": kind, "channel": ReminderChannel.SMS, "due_at": timezone.now(),
            "context": {"ticket": visit.ticket_code, "status_url": settings.PUBLIC_URL + path,
                        **context},
        },
    )  # fmt: skip
    return int(created)
