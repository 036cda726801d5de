"""Booking a time: which slots are free, and taking, moving and cancelling a seat.

Free slots are worked out in the office's time zone: each staff member's weekly hours, minus
their time off and the office's, plus extra hours, inside the office's opening hours, cut into
slots of the type's length; then the seats already held are taken off. That reading only decides
what is *offered*: taking a seat is an insert the database refuses when the seat is held (see
``BookingSeat``), so two people sent the same last seat get one booking and one ``SlotTaken``.
"""

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import formats, timezone, translation

from visitors import polling, reminders, verification
from visitors.booking.models import (
    AppointmentType,
    AvailabilityException,
    Booking,
    BookingSeat,
    MadeBy,
    StaffAvailability,
)
from visitors.followups.models import Appointment
from visitors.identify import Answer, identify
from visitors.messaging.models import Reminder, ReminderChannel, ReminderKind
from visitors.offices.models import Language, Office
from visitors.people.models import PhoneVerification, Visitor
from visitors.people.recognition import phone_digits

Span = tuple[dt.datetime, dt.datetime]


class BookingError(Exception):
    """A booking could not be made or changed; the message says why, to the person."""


class SlotTaken(BookingError):
    """The slot filled (or stopped being offered) between showing it and taking it."""


class ProofUsed(BookingError):
    """The phone number's proof is missing, stale or already made a booking."""


class NotChangeable(BookingError):
    """The booking was cancelled or has already happened."""


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    free: int


# --- Free slots ----------------------------------------------------------------------------------


def _subtract(spans: list[Span], cut: Span) -> list[Span]:
    out = []
    for start, end in spans:
        if cut[1] <= start or cut[0] >= end:
            out.append((start, end))
            continue
        if start < cut[0]:
            out.append((start, cut[0]))
        if cut[1] < end:
            out.append((cut[1], end))
    return out


def _intersect(spans: list[Span], limits: list[Span]) -> list[Span]:
    return [
        (max(s, ls), min(e, le)) for s, e in spans for ls, le in limits if max(s, ls) < min(e, le)
    ]


class _Calendar:
    """The availability, exceptions and held seats of one type over a run of days, read once."""

    def __init__(self, kind: AppointmentType, first: dt.date, last: dt.date, *, moving=None):
        self.kind = kind
        self.office: Office = kind.office
        self.zone = self.office.zone
        self.staff_ids = sorted(kind.staff.values_list("pk", flat=True))
        self.weekly: dict[tuple[int, int], list] = defaultdict(list)
        for hours in StaffAvailability.objects.filter(
            office=self.office, user_id__in=self.staff_ids
        ):
            self.weekly[(hours.user_id, hours.weekday)].append((hours.starts, hours.ends))
        self.exceptions: dict[dt.date, list[AvailabilityException]] = defaultdict(list)
        for exception in AvailabilityException.objects.filter(
            office=self.office, date__gte=first, date__lte=last
        ).filter(Q(user__isnull=True) | Q(user_id__in=self.staff_ids)):
            self.exceptions[exception.date].append(exception)
        start, _ = self.office.day_bounds(first)
        _, end = self.office.day_bounds(last)
        self.seats = list(
            BookingSeat.objects.filter(
                starts_at__gte=start - dt.timedelta(hours=8), starts_at__lt=end
            )
            .filter(
                Q(staff_id__in=self.staff_ids)
                if self.staff_ids
                else Q(appointment_type=kind, staff__isnull=True)
            )
            .exclude(appointment_id=moving)
            .values_list(
                "staff_id",
                "starts_at",
                "seat_number",
                "appointment__duration_minutes",
                "appointment_type_id",
            )
        )

    def _at(self, day: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, time, tzinfo=self.zone)

    def _hours(self, day: dt.date, row: AvailabilityException) -> Span:
        # The exception_hours_in_order constraint: hours given are both given.
        assert row.starts is not None and row.ends is not None
        return self._at(day, row.starts), self._at(day, row.ends)

    def windows(self, day: dt.date) -> dict[int | None, list[Span]]:
        """Each staff member's bookable spans that day (one key, None, for a group session)."""
        opening = self.office.spans_on(day)
        exceptions = self.exceptions.get(day, [])
        people: list[int | None] = list(self.staff_ids) or [None]
        result = {}
        for person in people:
            if person is None:
                spans = list(opening)
            else:
                spans = [
                    (self._at(day, starts), self._at(day, ends))
                    for starts, ends in self.weekly.get((person, day.weekday()), [])
                ]
                for row in exceptions:
                    if row.available and row.user_id == person:
                        spans.append(self._hours(day, row))
                spans = _intersect(spans, opening)
            for row in exceptions:
                if row.available or (row.user_id is not None and row.user_id != person):
                    continue
                # Time off without hours is the whole day.
                spans = [] if row.starts is None else _subtract(spans, self._hours(day, row))
            result[person] = sorted(spans)
        return result

    def _held(self, person: int | None, start: dt.datetime, end: dt.datetime) -> tuple[set, bool]:
        """Seat numbers held at exactly ``start``, and whether another booking overlaps."""
        same, other = set(), False
        for staff_id, starts_at, number, minutes, kind_id in self.seats:
            if staff_id != person:
                continue
            if starts_at == start and kind_id == self.kind.pk:
                same.add(number)
            elif starts_at < end and start < starts_at + dt.timedelta(minutes=minutes):
                other = True
        return same, other

    def slots(self, day: dt.date, *, now: dt.datetime) -> list[tuple[dt.datetime, list]]:
        """Every slot start that day still open for booking, with its free seats as
        (staff id or None, seat number) pairs in the order they are taken."""
        kind = self.kind
        length = dt.timedelta(minutes=kind.duration_minutes)
        earliest = now + dt.timedelta(minutes=kind.same_day_cutoff_minutes)
        starts: dict[dt.datetime, list] = defaultdict(list)
        for person, spans in self.windows(day).items():
            for span_start, span_end in spans:
                at = span_start
                while at + length <= span_end:
                    if at >= earliest:
                        held, clash = self._held(person, at, at + length)
                        if not clash:
                            starts[at].extend(
                                (person, n)
                                for n in range(1, kind.capacity_per_slot + 1)
                                if n not in held
                            )
                    at += length
        return sorted(starts.items())


def _bookable_days(kind: AppointmentType, now: dt.datetime) -> tuple[dt.date, dt.date]:
    today = kind.office.local_date(now)
    return today, today + dt.timedelta(days=kind.book_ahead_days)


def slots_free(
    kind: AppointmentType, day: dt.date, *, now: dt.datetime | None = None
) -> list[Slot]:
    """The slots of ``day`` (the office's local date) with a free seat, earliest first."""
    now = now or timezone.now()
    first, last = _bookable_days(kind, now)
    if not (first <= day <= last) or not kind.is_active:
        return []
    calendar = _Calendar(kind, day, day)
    return [Slot(at, len(seats)) for at, seats in calendar.slots(day, now=now) if seats]


def days_with_slots(kind: AppointmentType, *, now: dt.datetime | None = None) -> list[dt.date]:
    """The days, from today to the end of the booking window, that have a free slot."""
    now = now or timezone.now()
    first, last = _bookable_days(kind, now)
    if not kind.is_active:
        return []
    calendar = _Calendar(kind, first, last)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [day for day in days if any(seats for _at, seats in calendar.slots(day, now=now))]


def _free_seats(kind: AppointmentType, starts_at: dt.datetime, now: dt.datetime, moving) -> list:
    """The free seats of the slot starting at ``starts_at``; none when it is not a slot. The
    seat of the appointment ``moving`` there does not count against it."""
    day = kind.office.local_date(starts_at)
    first, last = _bookable_days(kind, now)
    if not kind.is_active or not (first <= day <= last):
        return []
    for at, seats in _Calendar(kind, day, day, moving=moving).slots(day, now=now):
        if at == starts_at:
            return seats
    return []


def _seat_take(*, kind, appointment, starts_at, now, seat: BookingSeat | None = None):
    """Hold a free seat of the slot for ``appointment`` (moving ``seat`` there when given).

    Each try is an insert or update inside a savepoint: the unique constraints refuse a seat
    someone else holds, committed or not yet, and the next one is tried.
    """
    moving = seat.appointment_id if seat is not None else None
    # The unique constraints hold seats at the same start; a staff member's appointments at
    # overlapping times (a 60-minute type at 09:00, a 30-minute one at 09:30) are kept apart by
    # taking their rows' locks first (in id order: no deadlock), so that the free seats below are
    # read after any booking that is being made for them has committed. A group session with no
    # staff locks its type instead. (SQLite's IMMEDIATE transactions are one at a time anyway.)
    staff_ids = sorted(kind.staff.values_list("pk", flat=True))
    if staff_ids:
        list(
            get_user_model()
            .objects.select_for_update()
            .filter(pk__in=staff_ids)
            .order_by("pk")
            .values_list("pk")
        )
    else:
        list(AppointmentType.objects.select_for_update().filter(pk=kind.pk).values_list("pk"))
    for staff_id, number in _free_seats(kind, starts_at, now, moving):
        try:
            with transaction.atomic():
                if seat is None:
                    return BookingSeat.objects.create(
                        appointment_type=kind,
                        starts_at=starts_at,
                        staff_id=staff_id,
                        seat_number=number,
                        appointment=appointment,
                    )
                seat.starts_at, seat.staff_id, seat.seat_number = starts_at, staff_id, number
                seat.save(update_fields=["starts_at", "staff", "seat_number"])
                return seat
        except IntegrityError:
            continue
    raise SlotTaken(
        translation.gettext("Sorry, that time has just been taken. Please choose another.")
    )


# --- Making, moving and cancelling ---------------------------------------------------------------


def _visitor_for(
    *, first_name: str, last_name: str, phone: str, language: str, consent_sms: bool
) -> Visitor:
    """The returning visitor this is — same name and the number just proved — or a new one."""
    if phone:
        found = identify(
            first_name=first_name,
            last_name=last_name,
            answer=Answer.of(phone_last4=phone_digits(phone)[-4:]),
        )
        visitor = found.visitor
        if (
            found.result == "confirmed"
            and visitor
            and verification.normalise(visitor.phone) == phone
        ):
            if consent_sms and not visitor.consent_sms:
                visitor.consent_sms = True
                visitor.consent_updated_at = timezone.now()
                visitor.save(update_fields=["consent_sms", "consent_updated_at"])
            return visitor
    return Visitor.objects.create(
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        preferred_language=language if language in Language.values else Language.ENGLISH,
        consent_sms=bool(phone) and consent_sms,
        consent_updated_at=timezone.now() if phone else None,
    )


def manage_url(booking: Booking) -> str:
    path = reverse("booking:manage", args=[booking.appointment.office.slug, booking.manage_token])
    return settings.PUBLIC_URL + path


def when_text(starts_at: dt.datetime, office: Office, language: str) -> str:
    """The time of a booking as a visitor reads it: their language, the office's clock."""
    with translation.override(language):
        local = timezone.localtime(starts_at, office.zone)
        # "martes 3 de marzo, 09:00" in Spanish; "Tuesday 3 March, 09:00" in English.
        pattern = r"l j \d\e F, H:i" if language == "es" else "l j F, H:i"
        return formats.date_format(local, pattern)


def _text(booking: Booking, *, kind: str, key: str, **context) -> None:
    """Queue a text about the booking to its visitor, due now, if they agreed to texts."""
    appointment = booking.appointment
    visitor = appointment.visitor
    if not reminders.may_text(visitor):
        return
    office = appointment.office
    Reminder.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "office": office,
            "visitor": visitor,
            "kind": kind,
            "channel": ReminderChannel.SMS,
            "due_at": timezone.now(),
            "context": {
                "when": when_text(appointment.starts_at, office, visitor.preferred_language),
                "what": booking.appointment_type.name_for(visitor.preferred_language),
                "manage_url": manage_url(booking),
                **context,
            },
        },
    )
    reminders.dispatch_soon()


def booking_make(
    *,
    kind: AppointmentType,
    starts_at: dt.datetime,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    language: str = Language.ENGLISH,
    consent_sms: bool = True,
    made_by: str,
    visitor: Visitor | None = None,
    proof: PhoneVerification | None = None,
    by=None,
    now: dt.datetime | None = None,
    form_token: str | None = None,
) -> Booking:
    """Book a seat of the slot at ``starts_at`` and tell the visitor.

    Online, ``proof`` is the verified number's row: it is used up here, in the same transaction
    as the seat, so one proof makes one booking and a slot taken meanwhile does not spend it.
    At the desk, ``form_token`` does the same for a form sent twice: the booking it made.
    """
    now = now or timezone.now()
    if form_token:
        made = Booking.objects.filter(form_token=form_token).first()
        if made is not None:
            return made
        try:
            return _booking_make(kind=kind, starts_at=starts_at, first_name=first_name,
                                 last_name=last_name, phone=phone, language=language,
                                 consent_sms=consent_sms, made_by=made_by, visitor=visitor,
                                 proof=proof, by=by, now=now, form_token=form_token)  # fmt: skip
        except IntegrityError:
            made = Booking.objects.filter(form_token=form_token).first()
            if made is None:
                raise
            return made
    return _booking_make(kind=kind, starts_at=starts_at, first_name=first_name,
                         last_name=last_name, phone=phone, language=language,
                         consent_sms=consent_sms, made_by=made_by, visitor=visitor,
                         proof=proof, by=by, now=now)  # fmt: skip


def _booking_make(
    *, kind, starts_at, first_name, last_name, phone, language, consent_sms, made_by, visitor,
    proof, by, now, form_token=None,
) -> Booking:  # fmt: skip
    if made_by == MadeBy.ONLINE:
        if proof is None or proof.verified_at is None or proof.office_id != kind.office_id:
            raise ProofUsed(translation.gettext("Please prove your number with a code first."))
        phone = proof.phone
    with transaction.atomic():
        if proof is not None and not verification.consume(proof):
            raise ProofUsed(
                translation.gettext("That code was already used for a booking. Ask for a new one.")
            )
        if visitor is None:
            visitor = _visitor_for(
                first_name=first_name,
                last_name=last_name,
                phone=phone,
                language=language,
                consent_sms=consent_sms,
            )
        appointment = Appointment.objects.create(
            office=kind.office,
            visitor=visitor,
            starts_at=starts_at,
            duration_minutes=kind.duration_minutes,
            purpose=kind.name_en[:200],
        )
        seat = _seat_take(kind=kind, appointment=appointment, starts_at=starts_at, now=now)
        if seat.staff_id:
            appointment.staff_id = seat.staff_id
            appointment.save(update_fields=["staff"])
        booking = Booking.objects.create(
            appointment=appointment, appointment_type=kind, phone=phone, made_by=made_by, by=by,
            form_token=form_token,
        )  # fmt: skip
        reminders.appointment_schedule(appointment, now=now)
        _text(booking, kind=ReminderKind.BOOKING_CONFIRMED, key=f"booking-confirmed:{booking.pk}")
    return booking


def _changeable(booking: Booking, now: dt.datetime) -> Appointment:
    appointment = booking.appointment
    if appointment.state != Appointment.State.SCHEDULED or appointment.starts_at <= now:
        raise NotChangeable(
            translation.gettext("This booking can no longer be changed. Please call the office.")
        )
    return appointment


def booking_cancel(*, booking: Booking, now: dt.datetime | None = None) -> None:
    """Cancel: the seat is freed at once, the reminders called off, the visitor told."""
    now = now or timezone.now()
    appointment = _changeable(booking, now)
    with transaction.atomic():
        cancelled = Appointment.objects.filter(
            pk=appointment.pk, state=Appointment.State.SCHEDULED
        ).update(state=Appointment.State.CANCELLED)
        if not cancelled:  # cancelled by someone else meanwhile
            raise NotChangeable(translation.gettext("This booking was already cancelled."))
        polling.panel_changed(appointment.office_id)
        BookingSeat.objects.filter(appointment=appointment).delete()
        reminders.appointment_cancel(appointment)
        _text(
            booking,
            kind=ReminderKind.BOOKING_CHANGED,
            key=f"booking-cancelled:{booking.pk}",
            change="cancelled",
        )


def booking_move(
    *, booking: Booking, starts_at: dt.datetime, now: dt.datetime | None = None
) -> Booking:
    """Move to another free slot of the same type: the seat moves in one transaction (the old
    one is free only if the new one was taken), the reminders follow, the visitor is told."""
    now = now or timezone.now()
    appointment = _changeable(booking, now)
    if starts_at == appointment.starts_at:
        return booking
    with transaction.atomic():
        # The compare-and-set on the old time: two moves sent at once make one move.
        moved = Appointment.objects.filter(
            pk=appointment.pk, state=Appointment.State.SCHEDULED, starts_at=appointment.starts_at
        ).update(starts_at=starts_at)
        if not moved:
            raise NotChangeable(translation.gettext("This booking was changed meanwhile."))
        polling.panel_changed(appointment.office_id)
        seat = BookingSeat.objects.get(appointment=appointment)
        seat = _seat_take(
            kind=booking.appointment_type,
            appointment=appointment,
            starts_at=starts_at,
            now=now,
            seat=seat,
        )
        appointment.staff_id = seat.staff_id or appointment.staff_id
        appointment.save(update_fields=["staff"])
        reminders.appointment_move(appointment, starts_at=starts_at)
        _text(
            booking,
            kind=ReminderKind.BOOKING_CHANGED,
            # One text per move: back to a time moved away from earlier is a move of its own.
            key=f"booking-moved:{booking.pk}:{starts_at.timestamp():.0f}:{uuid.uuid4().hex}",
            change="moved",
        )
    return booking


# --- Reading ------------------------------------------------------------------------------------


def booking_for_token(*, office: Office, token: str) -> Booking | None:
    if not token or len(token) > 64:
        return None
    return (
        Booking.objects.select_related("appointment", "appointment__visitor", "appointment_type")
        .filter(manage_token=token, appointment__office=office)
        .first()
    )


def bookings_upcoming(*, office: Office, now: dt.datetime | None = None, limit: int = 200):
    """The office's scheduled bookings from now on, soonest first (for the desk)."""
    now = now or timezone.now()
    return (
        Booking.objects.filter(
            appointment__office=office,
            appointment__state=Appointment.State.SCHEDULED,
            appointment__starts_at__gte=now - dt.timedelta(hours=1),
        )
        .select_related(
            "appointment", "appointment__visitor", "appointment__staff", "appointment_type"
        )
        .order_by("appointment__starts_at", "pk")[:limit]
    )


def counts(*, office_ids, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Booking figures for the managers' dashboard over [start, end).

    ``booked``, ``booked_online`` and ``booked_desk``: bookings *made* in the range.
    ``kept``, ``missed``, ``cancelled``, ``scheduled``: booked appointments that *start* in the
    range, by what came of them.
    """
    made = Booking.objects.filter(
        appointment__office_id__in=office_ids, created_at__gte=start, created_at__lt=end
    ).aggregate(
        booked=Count("pk"),
        booked_online=Count("pk", filter=Q(made_by=MadeBy.ONLINE)),
        booked_desk=Count("pk", filter=Q(made_by=MadeBy.DESK)),
    )
    State = Appointment.State
    outcome = Booking.objects.filter(
        appointment__office_id__in=office_ids,
        appointment__starts_at__gte=start,
        appointment__starts_at__lt=end,
    ).aggregate(
        **{
            state.value: Count("pk", filter=Q(appointment__state=state))
            for state in (State.KEPT, State.MISSED, State.CANCELLED, State.SCHEDULED)
        }
    )
    return {**made, **outcome}
