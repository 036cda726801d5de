"""What follows "Got hired!": a word of congratulation, and check-ins on how the job is going.

Workforce boards report employment in the 2nd and 4th quarter after exit; an office learns it
through two-way follow-up contacts. Concluding a visit with "Got hired!" therefore schedules one
follow-up task per day in the office's ``hire_check_in_days`` (30 and 90 unless it chose
others), for the staff member who concluded it, and, when staff ask and the visitor agreed to
be written to, one congratulation with what the office offers next, through the outbox (consent
and quiet hours apply there as to every text).

Called inside the concluding stage's transaction (``services.visit_stage_record``), so the
check-ins and the text commit with the outcome, from the workspace and the API alike.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from visitors import reminders
from visitors.followups.models import FollowUp, FollowUpKind
from visitors.messaging.models import Reminder, ReminderKind
from visitors.offices.models import Office, is_english_only, text_for
from visitors.visits.models import Visit


def check_in_days(office: Office) -> list[int]:
    """The office's check-in days, in order: whole positive numbers only (it is a JSON list
    an administrator types)."""
    days = office.hire_check_in_days if isinstance(office.hire_check_in_days, list) else []
    return sorted({d for d in days if isinstance(d, int) and not isinstance(d, bool) and d > 0})


def check_in_note(days: int) -> str:
    return _("Check in on the new job (%(n)s days)") % {"n": days}


def follow_through(
    visit: Visit, *, by, text: bool | None = False, now: dt.datetime | None = None
) -> list[FollowUp]:
    """Schedule the new-job check-ins and, if ``text``, the congratulation; return the
    check-ins. Once: a second call finds what the first made and makes nothing new."""
    now = now or timezone.now()
    office = visit.office
    concluded_on = office.local_date(now)
    assigned = by if getattr(by, "pk", None) is not None else None
    check_ins = []
    for days in check_in_days(office):
        follow_up, _created = FollowUp.objects.get_or_create(
            promised_on=visit,
            kind=FollowUpKind.HIRE_CHECK_IN,
            check_in_days=days,
            defaults={
                "office_id": visit.office_id,
                "visitor_id": visit.visitor_id,
                "assigned_to": assigned,
                "due_on": concluded_on + dt.timedelta(days=days),
                "note": check_in_note(days),
            },
        )
        check_ins.append(follow_up)
    if text:
        congratulate(visit, by=assigned, now=now)
    return check_ins


def congratulate(visit: Visit, *, by=None, now: dt.datetime | None = None) -> Reminder | None:
    """Queue the congratulation (text first, else email, as the visitor agreed); None when they
    agreed to neither. One per visit."""
    channel = reminders.channel_for(visit.visitor)
    if channel is None:
        return None
    reminder, created = Reminder.objects.get_or_create(
        idempotency_key=f"hired:{visit.pk}",
        defaults={
            "office_id": visit.office_id,
            "visitor_id": visit.visitor_id,
            "visit": visit,
            "kind": ReminderKind.HIRED,
            "channel": channel,
            "due_at": now or timezone.now(),
            "context": {"sent_by": by.pk if by is not None else None},
        },
    )
    if created:
        reminders.dispatch_soon()
    return reminder


def offer_for(office: Office, language: str) -> str:
    """What the office offers a new hire, in ``language`` when it has that version."""
    return text_for(language, office.hire_offer_en, office.hire_offer_es)


def offer_is_english_only(office: Office, language: str) -> bool:
    return is_english_only(language, office.hire_offer_en, office.hire_offer_es)


@dataclass(frozen=True)
class FollowThrough:
    """What a "Got hired!" visit set in motion, for the staff member's screen."""

    check_ins: list[FollowUp]
    congratulation: Reminder | None


def follow_through_of(visit: Visit) -> FollowThrough:
    check_ins: QuerySet[FollowUp] = visit.follow_ups_promised.filter(
        kind=FollowUpKind.HIRE_CHECK_IN
    ).select_related("assigned_to")
    congratulation = visit.reminders.filter(kind=ReminderKind.HIRED).first()
    return FollowThrough(
        check_ins=list(check_ins.order_by("check_in_days")), congratulation=congratulation
    )
