"""Multi-row and side-effecting work on visits: each a keyword-only function in a transaction.

Every change of a visit, from every surface, goes through one function here per transition
(check-in, call, call again, start, back to the line, left, no-show, finish, hand-over, each of
the five stages, merge). Each makes its compare-and-set change and calls
``effects.visit_changed`` in the same transaction, which writes what follows from it (queue
version, texts, webhook deliveries, audit event); see ``visitors.effects``.
"""

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from frontdesk import db
from visitors import effects, hires, polling, reminders
from visitors.effects import Event
from visitors.followups.models import Appointment, FollowUp, FollowUpContact, WorkshopSignup
from visitors.messaging.models import Conversation, OfficeMessage, Reminder
from visitors.offices.models import (
    DevicePairing,
    Office,
    ReasonForVisit,
    ReferralPartner,
    active_reasons,
    reasons_key,
)
from visitors.people.models import (
    AuditAction,
    AuditEvent,
    EqualOpportunityRecord,
    PriorityCategory,
    Visitor,
    VisitorMerge,
)
from visitors.selectors import estimate_inputs_key, queue_waiting, wait_estimate
from visitors.visits import lifecycle
from visitors.visits.lifecycle import ACTIVE_STATUSES, Action, Stage, Status, TransitionNotAllowed
from visitors.visits.models import (
    KioskFlow,
    OpenRequest,
    Referral,
    ServiceGiven,
    Source,
    TicketCounter,
    Visit,
)
from visitors.webhooks import subscriptions_key


class AlreadyWaiting(Exception):
    """The visitor already has an active visit at this office; ``visit`` is that one."""

    def __init__(self, visit: Visit):
        super().__init__(f"already checked in as {visit.ticket_code}")
        self.visit = visit


class FormUsedElsewhere(Exception):
    """This form's token (``checkin_token``) already made a visit at another office.

    A token is unique across offices, so the form was sent to the wrong one: a client reusing
    its idempotency key, a form's token copied from another office's page. Never answered with
    that visit, which belongs to the other office; the caller refuses the request instead.
    """


def made_by_form(token: str, office_id: int) -> Visit | None:
    """The visit this form's ``token`` already made at the office, or None; FormUsedElsewhere
    when it made one at another office."""
    made = Visit.objects.filter(checkin_token=token).first()
    if made is not None and made.office_id != office_id:
        raise FormUsedElsewhere(token)
    return made


class DuplicateSubmission(Exception):
    """This form (``checkin_token``) already made ``visit``: the caller answers with it.

    Raised rather than returned so that the surrounding transaction rolls back whatever the
    repeat had written before it found out (a second visitor row, above all).
    """

    def __init__(self, visit: Visit):
        super().__init__(f"already made {visit.ticket_code}")
        self.visit = visit


def ticket_allocate(*, office: Office, service_date: dt.date) -> int:
    """Return the next ticket number for the office's day, safe under concurrent check-ins.

    One statement (``INSERT … ON CONFLICT DO UPDATE SET n = n + 1 RETURNING n``, on PostgreSQL
    and SQLite alike) makes the day's counter or moves it on and reads the number; the row stays
    locked until the surrounding transaction ends, so two check-ins never get the same number.
    """
    table = connection.ops.quote_name(TicketCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (office_id, service_date, last_number) VALUES (%s, %s, 1) "
            "ON CONFLICT (office_id, service_date) "
            f"DO UPDATE SET last_number = {table}.last_number + 1 RETURNING last_number",
            [office.pk, service_date],
        )
        return cursor.fetchone()[0]


def ticket_code(*, office: Office, number: int) -> str:
    return f"{office.ticket_prefix}-{number:03d}"


def visit_check_in(
    *,
    office: Office,
    visitor: Visitor,
    reasons: Iterable[ReasonForVisit] = (),
    reason_other: str = "",
    source: str = Source.KIOSK,
    at: dt.datetime | None = None,
    checkin_token: str | None = None,
    **options,
) -> Visit:
    """Put a visitor in the office's queue with a new ticket, or raise AlreadyWaiting.

    ``options`` are further Visit fields (notification wishes, identity flag, ``by``: the
    staff member checking them in). A repeated ``checkin_token`` raises DuplicateSubmission
    with the visit it already made.
    """
    at = at or timezone.now()
    by = options.pop("by", None)
    # A record made in this very check-in (kiosk_check_in, which has also just looked for its
    # form's token) has no other visit, appointment or reminder to look for.
    new_visitor = options.pop("new_visitor", False)
    token_checked = options.pop("token_checked", False)
    # Inside a caller's transaction that turns an IntegrityError into a replay or AlreadyWaiting
    # itself, outside its atomic block (kiosk_check_in): no savepoint of our own. (Without one,
    # an IntegrityError spoils the caller's whole transaction — on PostgreSQL nothing more can
    # be asked in it — so only a handler outside that transaction may look up the winner.)
    callers_conflicts = options.pop("callers_conflicts", False)
    # The caller has already marked the visitor seen at ``at`` (kiosk_check_in, with the rest
    # of what it writes to the record): one UPDATE of the row, not two.
    visitor_seen = options.pop("visitor_seen", False)
    # Quote the wait (kiosk_check_in): worked out before the ticket is taken and stored with
    # the visit, in its INSERT.
    quote = options.pop("quote", False)
    service_date = office.local_date(at)
    if checkin_token and not token_checked:
        made = made_by_form(checkin_token, office.pk)
        if made is not None:
            raise DuplicateSubmission(made)
    if not new_visitor and not callers_conflicts:
        # (A caller that handles conflicts is told by the index of one active visit per visitor
        # and office instead, which also holds under a concurrent check-in: a SELECT less.)
        existing = Visit.objects.filter(
            office=office,
            visitor=visitor,
            status__in=ACTIVE_STATUSES,
        ).first()
        if existing is not None:
            if checkin_token and existing.checkin_token == checkin_token:
                raise DuplicateSubmission(existing)  # this very form, sent again
            raise AlreadyWaiting(existing)
    if new_visitor:
        options.setdefault("appointment", None)
    if "appointment" not in options:
        # A visitor with an appointment here today is marked, and their staff member sees it.
        start, end = office.day_bounds(service_date)
        options["appointment"] = (
            Appointment.objects.filter(
                office=office,
                visitor=visitor,
                state=Appointment.State.SCHEDULED,
                starts_at__gte=start,
                starts_at__lt=end,
            )
            .order_by("starts_at")
            .first()
        )
        if options["appointment"] is not None and options["appointment"].staff_id:
            options.setdefault("assigned_to_id", options["appointment"].staff_id)
    try:
        with transaction.atomic(savepoint=not callers_conflicts):
            if not new_visitor and not visitor_seen:
                # The visitor's row before the day's ticket counter, as the kiosk takes them
                # (it locks the visitor it updates first): a kiosk and a desk checking the same
                # person in at once then wait for each other instead of deadlocking.
                Visitor.objects.filter(pk=visitor.pk, last_seen_at__lt=at).update(last_seen_at=at)
            priority = 1 if visitor.priority_category != PriorityCategory.NONE else 0
            visit = Visit(
                office=office,
                visitor=visitor,
                service_date=service_date,
                priority=priority,
                source=source,
                reason_other=reason_other,
                checked_in_at=at,
                checkin_token=checkin_token,
                **options,
            )
            estimate = None
            if quote:
                # Before the ticket counter's lock, which every check-in at the office waits
                # for: reading the line under it (O(line)) made them wait for each other's reads
                # (API check-ins 102 → 75 a second with a long line in bench_http).
                estimate = wait_estimate(visit)
                # A wait that may run past closing is not quoted: "we may not reach you".
                if estimate is not None and not estimate.past_closing:
                    visit.quoted_wait_min, visit.quoted_wait_max = estimate.low, estimate.high
            number = ticket_allocate(office=office, service_date=service_date)
            visit.ticket_number = number
            visit.ticket_code = ticket_code(office=office, number=number)
            db.insert(visit)  # the ORM's row, without compiling its 51 columns each time
            if quote:
                visit.wait_estimate = estimate  # the ticket screen shows the same figures
            # A new visit has no reasons yet: one INSERT for all of them.
            db.insert_rows(
                Visit.reasons.through(visit_id=visit.pk, reasonforvisit_id=reason.pk)
                for reason in reasons
            )
            visit.new_visitor = new_visitor
            effects.visit_changed(visit, Event.CHECKED_IN, by=by)
    except IntegrityError:
        if callers_conflicts:
            raise
        # A concurrent check-in of the same visitor (or the same form, twice) won the race.
        if checkin_token:
            made = made_by_form(checkin_token, office.pk)
            if made is not None:
                raise DuplicateSubmission(made) from None
        existing = Visit.objects.filter(
            office=office,
            visitor=visitor,
            status__in=ACTIVE_STATUSES,
        ).first()
        if existing is None:
            raise
        raise AlreadyWaiting(existing) from None
    return visit


def visits_close_stale(*, now: dt.datetime | None = None) -> int:
    """Close visits still waiting or called from an earlier office day; return how many.

    Waiting visitors from a past day walked away (left); called ones did not come (no-show).
    Visits in service are left for staff to conclude: only they know the outcome. Each goes
    through its transition, like a click on the console would.
    """
    now = now or timezone.now()
    closed = 0
    for office in Office.objects.all():
        stale = Visit.objects.filter(
            office=office,
            service_date__lt=office.local_date(now),
            status__in=[Status.WAITING, Status.CALLED],
        ).select_related("visitor")
        for visit in stale:
            close = visit_mark_left if visit.status == Status.WAITING else visit_mark_no_show
            try:
                close(visit=visit, by=None, what="closed at the end of the day", at=now)
            except TransitionNotAllowed:
                continue  # moved on meanwhile
            closed += 1
    return closed


def check_in_cache_keys(office_id: int) -> list[str]:
    """What a check-in at the office reads from the cache (after its office): the reasons
    offered, the wait estimate's inputs and the webhook subscriptions, for a caller to read
    ahead in one round trip (``frontdesk.cache.prefetch``)."""
    return [reasons_key(office_id), estimate_inputs_key(office_id), subscriptions_key(office_id)]


@dataclass
class KioskCheckIn:
    """What the visitor told the kiosk, gathered over its steps."""

    first_name: str
    last_name: str
    preferred_name: str = ""
    language: str = "en"
    visitor_id: int | None = None  # a returning visitor, confirmed by the second factor
    identity_flag: str = ""
    reason_ids: list[int] = field(default_factory=list)
    reason_other: str = ""
    phone: str = ""
    email: str = ""
    notify_when_called: bool = False
    notify_when_ahead: int | None = None
    consent_reminders: bool = False
    priority_category: str = PriorityCategory.NONE


def kiosk_check_in(
    *,
    office: Office,
    data: KioskCheckIn,
    token: str,
    source: str = Source.KIOSK,
    by=None,
    extra: dict | None = None,
    reasons: Iterable[ReasonForVisit] | None = None,
) -> Visit:
    """Create or update the visitor and check them in, once per form (``token``): the kiosk's,
    the front desk's when staff check someone in by hand (``by``), or an integration's
    idempotency key.

    A repeated ``token`` — also ten at once — makes no second visitor and no second visit: it
    returns the first visit with ``replayed`` set, and raises FormUsedElsewhere when that
    visit is at another office. Raises AlreadyWaiting when the visitor already has an active
    visit here. The token is not looked for first: a first submission (nearly all of them) pays
    nothing for it. A repeat is found by the unique token on the visit (or, for someone on
    record, as their active visit), its transaction rolled back whole.

    ``reasons``: the office's active reasons among ``data.reason_ids``, as the caller read them
    in this same request (a form's validation); otherwise they are read here. (Read here they
    are no fresher: nothing locks a reason between that read and the insert either.) A form
    filled over earlier requests (the kiosk's steps) must leave them to be read here, so a
    reason switched off meanwhile is dropped.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            visitor = _kiosk_visitor(data, now)
            if reasons is None:
                wanted = set(data.reason_ids)
                reasons = [r for r in active_reasons(office) if r.pk in wanted]
            visit = visit_check_in(
                new_visitor=data.visitor_id is None,
                token_checked=True,
                callers_conflicts=True,
                visitor_seen=True,
                quote=True,
                office=office,
                visitor=visitor,
                reasons=reasons,
                reason_other=data.reason_other,
                source=source,
                at=now,
                checkin_token=token,
                notify_when_called=data.notify_when_called and bool(visitor.phone),
                notify_when_ahead=data.notify_when_ahead if visitor.phone else None,
                identity_flag=data.identity_flag,
                by=by,
                **(extra or {}),
            )
    except DuplicateSubmission as repeat:
        repeat.visit.replayed = True
        return repeat.visit
    except IntegrityError:
        # Lost a race, and the transaction is rolled back (this handler is outside it, so it
        # may ask again): the same form, committed by a concurrent request after this one
        # began, or the same visitor checked in elsewhere meanwhile (the desk, a phone).
        made = made_by_form(token, office.pk)
        if made is not None:
            made.replayed = True
            return made
        if data.visitor_id is not None:
            existing = Visit.objects.filter(
                office=office, visitor_id=data.visitor_id, status__in=ACTIVE_STATUSES
            ).first()
            if existing is not None:
                raise AlreadyWaiting(existing) from None
        raise
    visit.replayed = False
    return visit


def _kiosk_visitor(data: KioskCheckIn, now: dt.datetime) -> Visitor:
    """The visitor the check-in is for: a new record, or the returning one's row, locked, with
    what they told the kiosk today and seen now. A returning visitor's row is written once, and
    only what changed (their name keys are rebuilt only when the phone did)."""
    returning = data.visitor_id is not None
    if data.visitor_id is not None:
        visitor = Visitor.objects.select_for_update().get(pk=data.visitor_id)
    else:
        visitor = Visitor(
            first_name=data.first_name,
            last_name=data.last_name,
            first_seen_at=now,
            last_seen_at=now,
        )
    before = {name: getattr(visitor, name) for name in _KIOSK_FIELDS}
    visitor.preferred_name = data.preferred_name or visitor.preferred_name
    visitor.preferred_language = data.language
    visitor.phone = data.phone or visitor.phone
    visitor.email = data.email or visitor.email
    wants_texts = data.notify_when_called or data.notify_when_ahead is not None
    if data.phone:
        visitor.consent_sms = data.consent_reminders or wants_texts
    if data.email:
        visitor.consent_email = data.consent_reminders
    if data.phone or data.email:
        visitor.consent_updated_at = now
    if data.priority_category != PriorityCategory.NONE or not returning:
        visitor.priority_category = data.priority_category
    if not returning:
        visitor.save()
        return visitor
    changed = [name for name in _KIOSK_FIELDS if getattr(visitor, name) != before[name]]
    if visitor.last_seen_at < now:
        visitor.last_seen_at = now  # visit_check_in is told (visitor_seen) not to do it again
        changed.append("last_seen_at")
    if changed:
        visitor.save(update_fields=[*changed, "updated_at"])
    return visitor


# What the kiosk may change on a returning visitor's record.
_KIOSK_FIELDS = (
    "preferred_name",
    "preferred_language",
    "phone",
    "email",
    "consent_sms",
    "consent_email",
    "consent_updated_at",
    "priority_category",
)


def _move_conversations(*, merge: Visitor, keep: Visitor) -> int:
    """The merged record's text threads become the kept one's; where the kept person already
    has a thread at that office, the messages join it (one thread per person and office)."""
    moved = 0
    for stray in Conversation.objects.select_for_update().filter(visitor=merge):
        key = Conversation.key_for(office_id=stray.office_id, visitor_id=keep.pk, number="")
        thread = Conversation.objects.select_for_update().filter(key=key).first()
        if thread is None:
            stray.visitor, stray.key = keep, key
            stray.save(update_fields=["visitor", "key"])
        else:
            stray.messages.update(conversation=thread)
            waiting = [t for t in (thread.awaiting_reply_since, stray.awaiting_reply_since) if t]
            inbound = [t for t in (thread.last_inbound_at, stray.last_inbound_at) if t]
            thread.awaiting_reply_since = min(waiting) if waiting else None
            thread.last_inbound_at = max(inbound) if inbound else None
            thread.last_message_at = max(thread.last_message_at, stray.last_message_at)
            thread.save()
            stray.delete()  # its read marks go with it (the merged thread shows as unread)
        moved += 1
    return moved


def visitor_create(*, office: Office, first_name: str, last_name: str, **fields) -> Visitor:
    """A new visitor record made at ``office`` before any visit (an integration; the kiosk
    makes its own as it checks in): that office alone sees it until the person has records
    elsewhere."""
    now = timezone.now()
    fields["registered_at"] = office
    if fields.get("phone") or fields.get("email"):
        fields.setdefault("consent_updated_at", now)
    visitor = Visitor(
        first_name=first_name, last_name=last_name, first_seen_at=now, last_seen_at=now, **fields
    )
    visitor.save()
    return visitor


class MergeRefused(Exception):
    pass


def visitor_merge(
    *, keep: Visitor, merge: Visitor, by, office: Office | None = None
) -> VisitorMerge:
    """Move everything of ``merge`` onto ``keep`` and leave ``merge`` as a tombstone.

    Refused when both have an active visit at the same office (one of them must be closed first).
    Its audit events (one per record, at ``office`` when given) are written with it.
    """
    if keep.pk == merge.pk:
        raise MergeRefused(_("Choose two different visitors to merge."))
    if merge.merged_into_id is not None or keep.merged_into_id is not None:
        raise MergeRefused(_("One of these records has already been merged."))
    with transaction.atomic():
        keep, merge = (
            Visitor.objects.select_for_update().get(pk=keep.pk),
            Visitor.objects.select_for_update().get(pk=merge.pk),
        )
        active = ACTIVE_STATUSES
        both_active = set(
            Visit.objects.filter(visitor=keep, status__in=active).values_list("office", flat=True)
        ) & set(
            Visit.objects.filter(visitor=merge, status__in=active).values_list("office", flat=True)
        )
        if both_active:
            raise MergeRefused(
                _("Both visitors are in line at the same office; finish one visit first.")
            )
        taken = set(WorkshopSignup.objects.filter(visitor=keep).values_list("workshop", flat=True))
        moved = {
            "visits": Visit.objects.filter(visitor=merge).update(visitor=keep),
            "open_requests": OpenRequest.objects.filter(visitor=merge).update(visitor=keep),
            "appointments": Appointment.objects.filter(visitor=merge).update(visitor=keep),
            "reminders": Reminder.objects.filter(visitor=merge).update(visitor=keep),
            "follow_ups": merge.follow_ups.update(visitor=keep),
            "workshop_signups": WorkshopSignup.objects.filter(visitor=merge)
            .exclude(workshop__in=taken)
            .update(visitor=keep),
        }
        WorkshopSignup.objects.filter(visitor=merge).delete()  # duplicates of keep's sign-ups
        moved["conversations"] = _move_conversations(merge=merge, keep=keep)
        if not EqualOpportunityRecord.objects.filter(visitor=keep).exists():
            EqualOpportunityRecord.objects.filter(visitor=merge).update(visitor=keep)
        EqualOpportunityRecord.objects.filter(visitor=merge).delete()
        for name in ("phone", "email", "birth_date", "preferred_name"):
            if not getattr(keep, name) and getattr(merge, name):
                setattr(keep, name, getattr(merge, name))
        keep.first_seen_at = min(keep.first_seen_at, merge.first_seen_at)
        keep.last_seen_at = max(keep.last_seen_at, merge.last_seen_at)
        if keep.priority_category == PriorityCategory.NONE:
            keep.priority_category = merge.priority_category
        if keep.registered_at_id is None:  # the office that made the merged record sees on
            keep.registered_at_id = merge.registered_at_id
        keep.save()
        record = VisitorMerge.objects.create(
            kept=keep,
            merged_visitor_id=merge.pk,
            merged_name=f"{merge.first_name} {merge.last_name}"[:210],
            moved=moved,
            merged_by=by,
        )
        merge.merged_into = keep
        merge.save(update_fields=["merged_into"])
        merge.name_keys.all().delete()
        for visit in Visit.objects.filter(visitor=keep, status__in=active):
            # Consoles show the kept name on the visit that moved.
            effects.queue_moved(visit.office_id)
        what = f"merge #{merge.pk} into #{keep.pk}"
        AuditEvent.objects.bulk_create(
            AuditEvent(user=by if getattr(by, "is_authenticated", False) else None,
                       office=office, visitor_id=visitor_id, action=AuditAction.MERGE, what=what)
            for visitor_id in (keep.pk, merge.pk)
        )  # fmt: skip
    return record


CALL_NEXT_BATCH = 20


def visit_call(*, visit: Visit, staff, desk: str = "") -> Visit:
    """Call one visitor (compare-and-set: raises TransitionNotAllowed if they moved on)."""
    with transaction.atomic():
        _call(visit, staff=staff, desk=desk)
    return visit


def _call(visit: Visit, *, staff, desk: str) -> None:
    # The compare-and-set writes nothing when it fails: a caller may go on in its transaction.
    visit.mark_called(by=staff, desk=desk)
    _note_served_ahead(visit)
    effects.visit_changed(visit, Event.CALLED, by=staff)


def queue_call_next(*, office: Office, staff, desk: str = "") -> Visit | None:
    """Call the first waiting visitor by the queue rule, or return None when nobody waits.

    Each candidate is taken with a compare-and-set on its status, so when several staff press
    "call next" together the database gives each visitor to exactly one of them. On PostgreSQL
    the candidate is also locked with SKIP LOCKED: staff pressing at the same moment are each
    handed a different visitor at once, instead of all queueing behind the first one's
    transaction and then moving on together to the next. On SQLite (one writer at a time) the
    compare-and-set alone decides, and a caller who lost tries the next candidate.

    A staff member's own come first (handed over to them, or their appointment's visitor);
    visits handed over to someone else are never offered to them.
    """
    waiting = queue_waiting(office=office)
    if not office.remote_call_on_the_way:
        # Joined from a phone and not here yet: they keep their place, are not called.
        waiting = waiting.filter(on_the_way=False)
    # Theirs first (in line order): handed over to them, or their appointment; then the shared
    # line (in line order). A visit handed to someone else is theirs until it is released.
    if getattr(staff, "pk", None) is not None:
        mine = Q(assigned_to=staff) | Q(assigned_to__isnull=True, appointment__staff=staff)
        waiting = (
            waiting.filter(mine | Q(assigned_to__isnull=True))
            .alias(theirs=Case(When(mine, then=Value(0)), default=Value(1)))
            .order_by("theirs", *waiting.query.order_by)
        )
    else:
        waiting = waiting.filter(assigned_to__isnull=True)
    # The id only: on a busy day thousands wait, and the sort needs none of their rows' other
    # columns (nor their visitors'); the one about to be called is loaded on its own.
    first = waiting.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)
    for _attempt in range(CALL_NEXT_BATCH):
        with transaction.atomic():
            pk = first.first()
            if pk is None:
                return None
            visit = Visit.objects.select_related("visitor").get(pk=pk)
            try:
                _call(visit, staff=staff, desk=desk)
            except TransitionNotAllowed:
                continue  # someone else called this one a moment ago (SQLite)
            return visit
    return None


def _note_served_ahead(visit: Visit) -> None:
    """Record that a covered person was served ahead of someone who came earlier."""
    if visit.priority == 0:
        return
    earlier = Visit.objects.filter(
        office_id=visit.office_id,
        service_date=visit.service_date,
        status=Status.WAITING,
        priority__lt=visit.priority,
        checked_in_at__lt=visit.checked_in_at,
    ).exists()
    if earlier:
        Visit.objects.filter(pk=visit.pk).update(served_ahead=True)
        visit.served_ahead = True


def visit_recall(*, visit: Visit, by, desk: str = "") -> Visit:
    """Call the same visitor again (they did not hear): a fresh "you're being called" text."""
    with transaction.atomic():
        visit.recall(by=by)
        effects.visit_changed(visit, Event.RECALLED, by=by)
    return visit


def visit_start(*, visit: Visit, by, desk: str = "") -> Visit:
    with transaction.atomic():
        visit.start_service(by=by)
        effects.visit_changed(visit, Event.STARTED, by=by)
    return visit


def visit_return_to_queue(*, visit: Visit, by, desk: str = "") -> Visit:
    """Put a called or served visitor back in line; they keep their place."""
    with transaction.atomic():
        visit.return_to_queue()
        effects.visit_changed(visit, Event.RETURNED, by=by)
    return visit


def visit_mark_left(
    *, visit: Visit, by, desk: str = "", what: str = "", at: dt.datetime | None = None
) -> Visit:
    """The visitor left before being served: staff saw it, they said so, or the day ended."""
    with transaction.atomic():
        visit.mark_left(at=at)
        effects.visit_changed(visit, Event.LEFT, by=by, what=what)
    return visit


def visit_mark_no_show(
    *, visit: Visit, by, desk: str = "", what: str = "", at: dt.datetime | None = None
) -> Visit:
    with transaction.atomic():
        visit.mark_no_show(at=at)
        effects.visit_changed(visit, Event.NO_SHOW, by=by, what=what)
    return visit


def visit_place_back(*, visit: Visit, by, desk: str = "") -> Visit:
    """Give a visitor who left or was marked a no-show today their place back.

    The undo after a slip on the console, and the staff action for someone who walks back in.
    If they have meanwhile checked in again (a new ticket, still waiting and not yet served),
    that ticket is folded into this one: its reasons and words join this visit, its status page
    and texts now follow this ticket, and the new row goes; the audit trail keeps both numbers.
    """
    with transaction.atomic():
        office = visit.office
        lifecycle.check_action(Action.PLACE_BACK, visit.status)
        newer = (
            Visit.objects.select_for_update()
            .filter(office_id=visit.office_id, visitor_id=visit.visitor_id)
            .filter(status__in=ACTIVE_STATUSES)
            .exclude(pk=visit.pk)
            .first()
        )
        fields: dict = {}
        what = ""
        if newer is not None:
            if newer.status != Status.WAITING or newer.recorded_stages:
                raise TransitionNotAllowed(
                    _("%(name)s is already with staff on ticket %(ticket)s: no place to give back.")
                    % {"name": visit.visitor.display_name, "ticket": newer.ticket_code},
                    current=visit.status,
                )
            fields = _fold_into(visit, newer)
            what = f"visit placed_back; {newer.ticket_code} folded in"
        try:
            with transaction.atomic():
                visit.place_back(by=by, day=office.local_date(), **fields)
        except IntegrityError:  # they checked in again this very moment
            raise TransitionNotAllowed(
                _("%(name)s has just checked in again; give the place back from the new ticket.")
                % {"name": visit.visitor.display_name},
                current=visit.status,
            ) from None
        effects.visit_changed(visit, Event.PLACED_BACK, by=by, what=what)
    return visit


def _fold_into(visit: Visit, newer: Visit) -> dict:
    """Move what a second check-in said onto ``visit``; delete ``newer``; the fields to set."""
    visit.reasons.add(*newer.reasons.all())
    Reminder.objects.filter(visit=newer).update(visit=visit)
    words = [w for w in (visit.visitor_words, newer.visitor_words) if w]
    others = [w for w in (visit.reason_other, newer.reason_other) if w]
    fields = {
        "visitor_words": "\n".join(dict.fromkeys(words)),
        "reason_other": " · ".join(dict.fromkeys(others))[:200],
        "notify_when_called": visit.notify_when_called or newer.notify_when_called,
        "notify_when_ahead": newer.notify_when_ahead or visit.notify_when_ahead,
        # The visitor holds the new ticket's status page and form token: both now lead here.
        "status_token": newer.status_token,
        "checkin_token": newer.checkin_token,
    }
    newer.delete()
    return fields


def visit_finish(*, visit: Visit, by, desk: str = "") -> Visit:
    """Finish a visit concluded with an outcome (and its next step, if follow-up is needed)."""
    with transaction.atomic():
        visit.finish()
        effects.visit_changed(visit, Event.FINISHED, by=by)
    return visit


# One function per status action, with one signature, for surfaces that map an action name.
VISIT_ACTIONS: dict[Action, Callable[..., Visit]] = {
    Action.CALL: lambda *, visit, by, desk="": visit_call(visit=visit, staff=by, desk=desk),
    Action.RECALL: visit_recall,
    Action.START_SERVICE: visit_start,
    Action.RETURN_TO_QUEUE: visit_return_to_queue,
    Action.MARK_LEFT: visit_mark_left,
    Action.MARK_NO_SHOW: visit_mark_no_show,
    Action.FINISH: visit_finish,
    Action.PLACE_BACK: visit_place_back,
}


class WorkshopFull(Exception):
    pass


STAGE_EVENTS = {
    Stage.GREETING: Event.GREETED,
    Stage.DETERMINING: Event.DETERMINED,
    Stage.RESPONDING: Event.RESPONDED,
    Stage.CONCLUDING: Event.CONCLUDED,
    Stage.FUTURE_REFERENCE: Event.FUTURE_REFERENCE,
}


def visit_stage_record(*, visit: Visit, stage: str, by, data: dict) -> None:
    """Record a stage with what was done in it (cleaned form ``data``), all or nothing, once.

    The stage's own compare-and-set comes first: a second record of the same stage (a double
    submit, another tab, ten at once) changes nothing and raises TransitionNotAllowed before
    any appointment, request or reminder is written.
    """
    stage = Stage(stage)
    now = timezone.now()
    with transaction.atomic():
        if stage == Stage.GREETING:
            visit.record_stage(Stage.GREETING, by=by)
        elif stage == Stage.DETERMINING:
            visit.record_stage(Stage.DETERMINING, by=by, visitor_words=data["visitor_words"])
            visit.reasons.set(data["reasons"])
        elif stage == Stage.RESPONDING:
            visit.record_stage(
                Stage.RESPONDING, by=by, job_leads=data["job_leads"], barriers=data["barriers"]
            )
            _record_responding(visit, by=by, data=data, now=now)
        elif stage == Stage.CONCLUDING:
            visit.record_stage(
                Stage.CONCLUDING, by=by, outcome=data["outcome"], notes=data["notes"]
            )
            if data["still_open"]:
                OpenRequest.objects.create(
                    office_id=visit.office_id,
                    visitor_id=visit.visitor_id,
                    raised_on=visit,
                    description=data["still_open"],
                )
            if data["outcome"] == lifecycle.Outcome.HIRED:
                hires.follow_through(visit, by=by, now=now, text=data.get("text_congratulations"))
        elif stage == Stage.FUTURE_REFERENCE:
            visit.record_stage(
                Stage.FUTURE_REFERENCE, by=by, note_for_next_time=data["note_for_next_time"]
            )
            _record_future_reference(visit, by=by, data=data, now=now)
        effects.visit_changed(visit, STAGE_EVENTS[stage], by=by, what=f"stage {stage.value}")


def _record_responding(visit: Visit, *, by, data: dict, now: dt.datetime) -> None:
    ServiceGiven.objects.bulk_create(
        [ServiceGiven(visit=visit, service=s, given_by=by) for s in data["services"]],
        ignore_conflicts=True,
    )
    partners = list(data["partners"])
    if data["barriers"] and visit.visitor.is_covered_person:
        # A veteran with significant barriers is referred to a veterans' specialist.
        specialist = ReferralPartner.objects.filter(
            is_veterans_specialist=True, is_active=True
        ).first()
        if specialist is not None and specialist not in partners:
            partners.append(specialist)
    Referral.objects.bulk_create(
        [Referral(visit=visit, partner=p, referred_by=by) for p in partners],
        ignore_conflicts=True,
    )
    for referral in visit.referrals.select_related("partner", "visit__office"):
        reminders.referral_follow_up_schedule(referral, now=now)


def _record_future_reference(visit: Visit, *, by, data: dict, now: dt.datetime) -> None:
    if data.get("appointment_at"):
        appointment = Appointment.objects.create(
            office_id=visit.office_id,
            visitor_id=visit.visitor_id,
            staff=by,
            starts_at=data["appointment_at"],
            purpose=data["appointment_purpose"],
            booked_on=visit,
        )
        reminders.appointment_schedule(appointment, now=now)
    workshop = data.get("workshop")
    if workshop is not None:
        locked = type(workshop).objects.select_for_update().get(pk=workshop.pk)
        if locked.signups.count() >= locked.capacity:
            raise WorkshopFull(_("That workshop is full."))
        signup, _created = WorkshopSignup.objects.get_or_create(
            workshop=locked,
            visitor_id=visit.visitor_id,
            defaults={"signed_up_on": visit},
        )
        reminders.workshop_schedule(signup, now=now)
    if data.get("follow_up_on"):
        FollowUp.objects.get_or_create(
            promised_on=visit,
            kind=FollowUp.Kind.GENERAL,
            defaults={
                "office_id": visit.office_id, "visitor_id": visit.visitor_id,
                "assigned_to": by, "due_on": data["follow_up_on"],
                "note": data.get("follow_up_note", ""),
            },
        )  # fmt: skip
        reminders.call_back_schedule(
            visit, by=by, due_on=data["follow_up_on"], note=data.get("follow_up_note", ""), now=now
        )


def queue_broadcast(
    *, office: Office, message: str, by, message_es: str = "", minutes: int = 60
) -> int:
    """Tell everyone waiting: the message shows on their status pages and the lobby display
    until it expires, and goes by text or email to those who agreed; return how many of those.

    Each broadcast has its own id, so two sent in the same second both reach everyone.
    """
    now = timezone.now()
    broadcast_id = uuid.uuid4().hex
    waiting = Visit.objects.filter(
        office=office, service_date=office.local_date(now), status=Status.WAITING
    ).select_related("visitor")
    rows = []
    for visit in waiting:
        channel = reminders.channel_for(visit.visitor)
        if channel is None:
            continue
        rows.append(
            Reminder(
                office=office,
                visitor=visit.visitor,
                visit=visit,
                kind=Reminder.Kind.BROADCAST,
                channel=channel,
                due_at=now,
                idempotency_key=f"broadcast:{broadcast_id}:{visit.pk}",
                context={"message": message, "message_es": message_es,
                         "sent_by": by.pk if by else None, "broadcast": broadcast_id},
            )
        )  # fmt: skip
    with transaction.atomic():
        OfficeMessage.objects.create(
            office=office, text_en=message, text_es=message_es, created_by=by, created_at=now,
            expires_at=now + dt.timedelta(minutes=minutes),
        )  # fmt: skip
        Reminder.objects.bulk_create(rows)
        effects.queue_moved(office.pk)  # open displays and status pages show it at once
        reminders.dispatch_soon()
    return len(rows)


def office_message_take_down(*, message: OfficeMessage) -> bool:
    """End a message now (it was wrong, or the delay is over); False if it had already ended."""
    now = timezone.now()
    with transaction.atomic():
        ended = OfficeMessage.objects.filter(pk=message.pk, expires_at__gt=now).update(
            expires_at=max(now, message.created_at + dt.timedelta(microseconds=1))
        )
        if ended:
            effects.queue_moved(message.office_id)
            polling.panel_changed(message.office_id)
    return bool(ended)


def reason_close_for_today(*, reason, note: str = "", note_es: str = "") -> None:
    """Close a reason at its office for today (a programme is full); the kiosk then says so,
    in Spanish too when staff gave the note in Spanish."""
    with transaction.atomic():
        reason.closed_on = reason.office.local_date()
        reason.closed_note = note
        reason.closed_note_es = note_es
        reason.save(update_fields=["closed_on", "closed_note", "closed_note_es"])
        effects.queue_moved(reason.office_id)


def reason_reopen(*, reason) -> None:
    with transaction.atomic():
        reason.closed_on = None
        reason.closed_note = reason.closed_note_es = ""
        reason.save(update_fields=["closed_on", "closed_note", "closed_note_es"])
        effects.queue_moved(reason.office_id)


def visit_transfer(*, visit: Visit, to_staff=None, reasons=None, by=None) -> None:
    """Hand a visit to another staff member and/or another reason; it keeps its place.

    Handed to a colleague, a visitor who was called or with someone goes back in line (their
    place kept, the stages recorded so far kept) and waits for that colleague: it shows in
    their own "for you" list, and nobody else's "call next" takes it until it is released.
    Only an active visit is handed over (compare-and-set on its status): a finished one, or one
    that ended meanwhile, raises TransitionNotAllowed.
    """
    with transaction.atomic():
        active = Visit.objects.select_for_update().filter(pk=visit.pk, status__in=ACTIVE_STATUSES)
        current = active.values_list("status", flat=True).first()
        if current is None:
            current = Visit.objects.filter(pk=visit.pk).values_list("status", flat=True).first()
            raise TransitionNotAllowed(
                _("This visit is over, so it cannot be handed over."), current=current
            )
        if to_staff is not None:
            fields: dict = {"assigned_to": to_staff}
            if current != Status.WAITING and to_staff != by:
                fields.update(status=Status.WAITING, called_at=None, called_by=None, desk="",
                              service_started_at=None)  # fmt: skip
            active.update(**fields)
            for name, value in fields.items():
                setattr(visit, name, value)
        if reasons is not None:
            visit.reasons.set(reasons)
        effects.visit_changed(visit, Event.HANDED_OVER, by=by)


def visit_release(*, visit: Visit, by) -> bool:
    """Give a handed-over visit back to the shared line (anyone's "call next" may take it)."""
    with transaction.atomic():
        released = Visit.objects.filter(
            pk=visit.pk, status=Status.WAITING, assigned_to__isnull=False
        ).update(assigned_to=None)
        if released:
            visit.assigned_to = None
            effects.visit_changed(visit, Event.HANDED_OVER, by=by, what="visit released")
    return bool(released)


def open_request_resolve(*, request, by, resolution: str, visit=None) -> bool:
    """Resolve an open request once; False when it was already resolved."""
    changed = OpenRequest.objects.filter(pk=request.pk, state=OpenRequest.State.OPEN).update(
        state=OpenRequest.State.RESOLVED,
        resolved_at=timezone.now(),
        resolved_by=by,
        resolved_on=visit,
        resolution=resolution,
    )
    return changed == 1


def visit_send_referrals(*, visit: Visit, by) -> bool:
    """Queue the visit's referral details to the visitor (text or email, as they agreed)."""
    visitor = visit.visitor
    partners = [
        {"name": r.partner.name, "phone": r.partner.phone, "website": r.partner.website,
         "address": r.partner.address, "helps_with": r.partner.helps_with,
         "helps_with_es": r.partner.helps_with_es}
        for r in visit.referrals.select_related("partner")
    ]  # fmt: skip
    if not partners:
        return False
    channel = reminders.channel_for(visitor)
    if channel is None:
        return False
    reminders.dispatch_soon()
    Reminder.objects.get_or_create(
        idempotency_key=f"referral-details:{visit.pk}:{len(partners)}",
        defaults={
            "office_id": visit.office_id,
            "visitor": visitor,
            "visit": visit,
            "kind": Reminder.Kind.REFERRAL_DETAILS,
            "channel": channel,
            "due_at": timezone.now(),
            "context": {"partners": partners, "sent_by": by.pk if by else None},
        },
    )
    return True


def follow_up_log_contact(*, follow_up, by, method: str, result: str, outcome: str = ""):
    """Log one attempt to reach the visitor; reaching them (two-way contact) closes the task."""
    now = timezone.now()
    with transaction.atomic():
        contact = FollowUpContact.objects.create(
            follow_up=follow_up, by=by, method=method, result=result, outcome=outcome, at=now
        )
        if result in FollowUpContact.TWO_WAY:
            FollowUp.objects.filter(pk=follow_up.pk, state=FollowUp.State.OPEN).update(
                state=FollowUp.State.DONE, closed_at=now, closed_by=by
            )
            # The promised call-back happened: its console reminder is no longer due.
            follow_up.promised_on.reminders.filter(kind="call_back_due", state="scheduled").update(
                state="cancelled", last_error="contact made"
            )
    follow_up.refresh_from_db()
    return contact


def follow_up_close(*, follow_up, by, reason: str) -> bool:
    """Close an open follow-up without contact; a reason is required. False if not open."""
    if not reason.strip():
        raise ValueError("a reason is required")
    closed = FollowUp.objects.filter(pk=follow_up.pk, state=FollowUp.State.OPEN).update(
        state=FollowUp.State.CLOSED, closed_at=timezone.now(), closed_by=by, close_reason=reason
    )
    follow_up.refresh_from_db()
    return bool(closed)


def reminder_retry(*, reminder) -> bool:
    """Send a failed or cancelled reminder again, now (it still goes through consent)."""
    again = Reminder.objects.filter(
        pk=reminder.pk, state__in=[Reminder.State.FAILED, Reminder.State.CANCELLED]
    ).update(state=Reminder.State.SCHEDULED, due_at=timezone.now(), attempts=0, last_error="")
    if again:
        reminders.dispatch_soon()
    return bool(again)


def reminder_cancel(*, reminder, by) -> bool:
    name = (by.get_full_name() or by.username) if by else "staff"
    return bool(reminders.cancel(Reminder.objects.filter(pk=reminder.pk), f"cancelled by {name}"))


def kiosk_flows_forget_expired(*, now: dt.datetime | None = None) -> int:
    """Delete the kiosk check-ins in progress whose time ran out; return how many.

    A lapsed flow is already refused (KioskFlow.find); this only keeps what visitors typed from
    staying in the table longer than a check-in takes.
    """
    deleted, _by_model = KioskFlow.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


def pairings_forget_expired(*, now: dt.datetime | None = None) -> int:
    """Delete device pairings whose code ran out; return how many. An approved one the device
    never came back for goes too: its cookie lasted no longer than the code (the kiosk link
    approval made stays, for the admin to revoke)."""
    deleted, _by_model = DevicePairing.objects.filter(
        expires_at__lte=now or timezone.now()
    ).delete()
    return deleted
