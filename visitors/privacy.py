"""Personal data: the audit trail, a visitor's data as JSON, erasure, and retention.

Erasure and retention remove what identifies a person and keep what the statistics need:
visits keep their office, day, times, reasons, services, outcomes and referrals; the visitor
row stays (so counts of unduplicated visitors do not change) with its name, contact details,
birthday and free text gone, and its name keys deleted so that recognition never finds it.

They reach every row about the person, not only their record: the records merged into it
(tombstones, transitively: a record merged into one that was merged into theirs), the names
kept on the merge records, the free text of their visits (and the notes on the services and
referrals given), open requests, appointments, follow-ups and their contacts, and their
reminders' contexts and delivery errors. Their equal-opportunity record is deleted: it is the
most sensitive thing held, and a nameless visitor with dated visits is still a person to
someone who saw them come in. So the equal-opportunity aggregates of past periods lose them;
every other figure is counted from visits and stays the same. The audit trail holds ids only
and stays.

Retention: a visitor is anonymised once their last visit is older than the retention of the
office of that visit. A visitor with no visit at all (made by an integration or by staff and
never checked in, or left by a merge whose record was deleted) belongs to no office: records
are shared, and Frontdesk does not note which office made one. For them the **longest**
retention of any office applies, counted from when they were last seen (``last_seen_at``: when
the record was made, unless an import or a merge set it later), and an appointment within
that time (kept, missed or still to come) keeps them. The longest, because any office may be
the one they come to, and under a shorter rule an office would lose a record its own rule still
keeps; while every record still has an end. With no office yet, the default retention (36
months) applies. Records merged into someone anonymised before erasure reached tombstones are
cleared too.
"""

import datetime as dt

from django.db import transaction
from django.db.models import CharField, Exists, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from visitors.followups.models import Appointment, FollowUp, FollowUpContact
from visitors.messaging.models import Conversation, ConversationMessage, Reminder, ReminderState
from visitors.offices.models import Office
from visitors.people.models import (
    AuditAction,
    AuditEvent,
    EqualOpportunityRecord,
    Visitor,
    VisitorMerge,
    VisitorNameKey,
)
from visitors.visits.models import OpenRequest, Referral, ServiceGiven, Visit

DEFAULT_RETENTION_MONTHS: int = Office._meta.get_field("retention_months").default


def audit(*, user, visitor_id: int, action: str, what: str, office=None, visit_id=None) -> None:
    AuditEvent.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        office=office, visitor_id=visitor_id, visit_id=visit_id, action=action, what=what[:120],
    )  # fmt: skip


def visitor_export(visitor: Visitor) -> dict:
    """Everything Frontdesk holds about one visitor, as plain JSON-ready data."""

    def when(value):
        return value.isoformat() if value else None

    visits = visitor.visits.select_related("office").prefetch_related(
        "reasons", "services_given__service", "referrals__partner"
    )
    return {
        "visitor": {
            "id": visitor.pk, "first_name": visitor.first_name, "last_name": visitor.last_name,
            "preferred_name": visitor.preferred_name, "phone": visitor.phone,
            "email": visitor.email, "birth_date": when(visitor.birth_date),
            "preferred_language": visitor.preferred_language,
            "consent_sms": visitor.consent_sms, "consent_email": visitor.consent_email,
            "priority_category": visitor.priority_category,
            "first_seen_at": when(visitor.first_seen_at),
            "last_seen_at": when(visitor.last_seen_at),
        },
        "visits": [
            {
                "id": v.pk, "office": v.office.name, "day": when(v.service_date),
                "ticket": v.ticket_code, "status": v.status, "checked_in_at": when(v.checked_in_at),
                "called_at": when(v.called_at), "ended_at": when(v.ended_at),
                "reasons": [r.label_en for r in v.reasons.all()],
                "in_your_words": v.visitor_words, "services": [
                    f"{g.service.reporting_code} {g.service.name}" for g in v.services_given.all()],
                "referrals": [r.partner.name for r in v.referrals.all()],
                "job_leads": v.job_leads, "outcome": v.outcome, "notes": v.notes,
                "note_for_next_time": v.note_for_next_time, "rating": v.rating,
            }
            for v in visits
        ],
        "open_requests": [
            {"description": r.description, "state": r.state, "created_at": when(r.created_at),
             "resolution": r.resolution}
            for r in visitor.open_requests.all()
        ],
        "appointments": [
            {"starts_at": when(a.starts_at), "purpose": a.purpose, "state": a.state}
            for a in visitor.appointments.all()
        ],
        "reminders": [
            {"kind": r.kind, "channel": r.channel, "due_at": when(r.due_at), "state": r.state,
             "sent_at": when(r.sent_at)}
            for r in visitor.reminders.all()
        ],
        "texts": [
            {"office": m.conversation.office.name if m.conversation.office else None,
             "direction": m.direction, "at": when(m.created_at), "body": m.body}
            for m in ConversationMessage.objects.filter(conversation__visitor=visitor)
            .select_related("conversation__office").order_by("created_at", "pk")
        ],
    }  # fmt: skip


def _with_tombstones(visitor_id: int) -> list[int]:
    """The visitor's id and the ids of every record merged into theirs, transitively."""
    found, step = [visitor_id], [visitor_id]
    while step:
        step = list(
            Visitor.objects.filter(merged_into__in=step)
            .exclude(pk__in=found)
            .values_list("pk", flat=True)
        )
        found += step
    return found


def _numbered(prefix: str, field: str) -> Concat:
    return Concat(Value(prefix), Cast(field, output_field=CharField()))


def visitor_anonymise(visitor: Visitor, *, now: dt.datetime | None = None) -> list[int]:
    """Remove what identifies the person from their record, the records merged into it and
    every row about them; keep what the statistics count. Return the visitor ids anonymised."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = _with_tombstones(visitor.pk)
        Visitor.objects.filter(pk__in=ids).update(
            first_name="Anonymised", last_name=_numbered("#", "pk"), preferred_name="",
            first_key="anonymised", last_key=_numbered("#", "pk"), phone="", phone_last4="",
            email="", birth_date=None, consent_sms=False, consent_email=False,
            consent_updated_at=now, anonymised_at=now,
        )  # fmt: skip
        VisitorNameKey.objects.filter(visitor__in=ids).delete()
        EqualOpportunityRecord.objects.filter(visitor__in=ids).delete()
        VisitorMerge.objects.filter(Q(kept__in=ids) | Q(merged_visitor_id__in=ids)).update(
            merged_name=_numbered("Anonymised #", "merged_visitor_id")
        )
        Visit.objects.filter(visitor__in=ids).update(
            visitor_words="", notes="", job_leads="", note_for_next_time="", reason_other=""
        )
        ServiceGiven.objects.filter(visit__visitor__in=ids).update(note="")
        Referral.objects.filter(visit__visitor__in=ids).update(note="")
        OpenRequest.objects.filter(visitor__in=ids).update(description="(removed)", resolution="")
        Appointment.objects.filter(visitor__in=ids).update(purpose="(removed)")
        FollowUp.objects.filter(visitor__in=ids).update(note="")
        # A closed follow-up must keep a reason (a check constraint).
        FollowUp.objects.filter(visitor__in=ids).exclude(close_reason="").update(
            close_reason="(removed)"
        )
        FollowUpContact.objects.filter(follow_up__visitor__in=ids).update(outcome="")
        # A provider's error can quote the number it refused.
        ConversationMessage.objects.filter(conversation__visitor__in=ids).update(body="(removed)")
        Conversation.objects.filter(visitor__in=ids).update(phone="", number="")
        Reminder.objects.filter(visitor__in=ids).update(context={}, last_error="")
        Reminder.objects.filter(visitor__in=ids, state=ReminderState.SCHEDULED).update(
            state=ReminderState.CANCELLED, last_error="visitor anonymised"
        )
    visitor.refresh_from_db()
    return ids


def visitor_erase(visitor: Visitor, *, by, office=None) -> None:
    """Erase on request (an admin, in the visitor's presence or by letter)."""
    with transaction.atomic():
        for visitor_id in visitor_anonymise(visitor):
            audit(
                user=by,
                visitor_id=visitor_id,
                action=AuditAction.ERASE,
                what="erase",
                office=office,
            )


def _months(months: int) -> dt.timedelta:
    return dt.timedelta(days=round(months * 30.44))


def _retire(visitor: Visitor, *, now: dt.datetime, what: str, office: Office | None) -> int:
    with transaction.atomic():
        ids = visitor_anonymise(visitor, now=now)
        for visitor_id in ids:
            audit(
                user=None,
                visitor_id=visitor_id,
                action=AuditAction.ANONYMISE,
                what=what,
                office=office,
            )
    return len(ids)


def visitors_anonymise_inactive(*, now: dt.datetime | None = None) -> int:
    """Anonymise visitors gone longer than the retention that applies to them (see the module
    docstring); return how many visitor records were anonymised."""
    now = now or timezone.now()
    done = 0
    offices = list(Office.objects.all())
    people = Visitor.objects.filter(anonymised_at__isnull=True, merged_into__isnull=True)
    latest = Visit.objects.filter(visitor=OuterRef("pk")).order_by("-checked_in_at")
    visited = people.annotate(
        last_visit=Max("visits__checked_in_at"),
        last_office=Subquery(latest.values("office")[:1]),
    ).filter(last_visit__isnull=False)
    for office in offices:
        cutoff = now - _months(office.retention_months)
        for visitor in visited.filter(last_office=office.pk, last_visit__lt=cutoff).iterator():
            what = f"retention {office.retention_months} months"
            done += _retire(visitor, now=now, office=office, what=what)

    months = max((office.retention_months for office in offices), default=DEFAULT_RETENTION_MONTHS)
    cutoff = now - _months(months)
    never_visited = people.filter(
        ~Exists(Visit.objects.filter(visitor=OuterRef("pk"))),
        ~Exists(Appointment.objects.filter(visitor=OuterRef("pk"), starts_at__gte=cutoff)),
        last_seen_at__lt=cutoff,
    )
    for person in never_visited.iterator():
        what = f"retention {months} months, no visit"
        done += _retire(person, now=now, office=None, what=what)

    # Left by anonymisations from before they reached the records merged into a person.
    leftovers = Visitor.objects.filter(
        anonymised_at__isnull=True, merged_into__anonymised_at__isnull=False
    )
    for tombstone in list(leftovers):
        done += _retire(tombstone, now=now, office=None, what="merged into an anonymised record")
    return done
