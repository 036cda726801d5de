"""Personal data: the audit trail, a visitor's data as JSON, erasure, and retention.

Erasure and retention remove what identifies a person and keep what the statistics need:
visits keep their office, day, times, reasons, services, outcomes and referrals; the visitor
row stays (so counts of unduplicated visitors do not change) with its name, contact details,
birthday and free text gone, and its name keys deleted so that recognition never finds it.
"""

import datetime as dt

from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from visitors.followups.models import FollowUp
from visitors.messaging.models import Reminder, ReminderState
from visitors.offices.models import Office
from visitors.people.models import AuditAction, AuditEvent, Visitor, VisitorNameKey
from visitors.visits.models import OpenRequest, Visit


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
    }  # fmt: skip


def visitor_anonymise(visitor: Visitor, *, now: dt.datetime | None = None) -> None:
    """Remove what identifies the person; keep what the statistics count."""
    now = now or timezone.now()
    with transaction.atomic():
        Visitor.objects.filter(pk=visitor.pk).update(
            first_name="Anonymised", last_name=f"#{visitor.pk}", preferred_name="",
            first_key="anonymised", last_key=f"#{visitor.pk}", phone="", phone_last4="",
            email="", birth_date=None, consent_sms=False, consent_email=False,
            consent_updated_at=now, anonymised_at=now,
        )  # fmt: skip
        VisitorNameKey.objects.filter(visitor=visitor).delete()
        Visit.objects.filter(visitor=visitor).update(
            visitor_words="", notes="", job_leads="", note_for_next_time="", reason_other=""
        )
        OpenRequest.objects.filter(visitor=visitor).update(description="(removed)", resolution="")
        FollowUp.objects.filter(visitor=visitor).update(note="")
        Reminder.objects.filter(visitor=visitor, state=ReminderState.SCHEDULED).update(
            state=ReminderState.CANCELLED, last_error="visitor anonymised"
        )
        Reminder.objects.filter(visitor=visitor).update(context={})
    visitor.refresh_from_db()


def visitor_erase(visitor: Visitor, *, by, office=None) -> None:
    """Erase on request (an admin, in the visitor's presence or by letter)."""
    visitor_anonymise(visitor)
    audit(user=by, visitor_id=visitor.pk, action=AuditAction.ERASE, what="erase", office=office)


def visitors_anonymise_inactive(*, now: dt.datetime | None = None) -> int:
    """Anonymise visitors whose last visit was at an office longer ago than its retention."""
    now = now or timezone.now()
    latest = Visit.objects.filter(visitor=OuterRef("pk")).order_by("-checked_in_at")
    candidates = Visitor.objects.filter(anonymised_at__isnull=True, merged_into__isnull=True)
    candidates = candidates.annotate(
        last_visit=Max("visits__checked_in_at"),
        last_office=Subquery(latest.values("office")[:1]),
    ).filter(last_visit__isnull=False)
    done = 0
    for office in Office.objects.all():
        cutoff = now - dt.timedelta(days=round(office.retention_months * 30.44))
        for visitor in candidates.filter(last_office=office.pk, last_visit__lt=cutoff).iterator():
            visitor_anonymise(visitor, now=now)
            audit(user=None, visitor_id=visitor.pk, action=AuditAction.ANONYMISE,
                  what=f"retention {office.retention_months} months", office=office)  # fmt: skip
            done += 1
    return done
