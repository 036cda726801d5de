"""Making, moving and cancelling a booking: the seat, the appointment, the visitor, the texts."""

import pytest

from tests.booking.conftest import NOW, TUESDAY, last_code, local
from tests.factories import VisitorFactory
from visitors import outbox, verification
from visitors.booking import services
from visitors.booking.models import Booking, BookingSeat
from visitors.followups.models import Appointment
from visitors.messaging.models import Reminder, ReminderKind, ReminderState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

NUMBER = "+15552014477"


@pytest.fixture
def proof(booking_office, texts):
    """A number proved with the code texted to it."""
    row = verification.code_send(office=booking_office, phone=NUMBER, purpose="book", language="es")
    assert verification.code_check(row, last_code(texts)).ok
    return row


def book(kind, hhmm="09:00", **kwargs):
    defaults = {"first_name": "Rosa", "last_name": "Díaz", "made_by": "desk", "phone": NUMBER}
    return services.booking_make(
        kind=kind, starts_at=local(TUESDAY, hhmm), **{**defaults, **kwargs}
    )


def test_it_books_an_appointment_with_the_staff_member_and_a_seat(job_help, dana):
    booking = book(job_help)
    appointment = booking.appointment
    assert appointment.staff == dana
    assert appointment.purpose == "Job search help"
    assert appointment.duration_minutes == 30
    assert appointment.state == Appointment.State.SCHEDULED
    assert appointment.seat.seat_number == 1
    assert len(booking.manage_token) == 43
    assert booking.phone == NUMBER and booking.made_by == "desk"


def test_it_schedules_reminders_and_queues_the_confirmation(job_help, booking_office):
    booking = book(job_help)
    kinds = sorted(Reminder.objects.values_list("kind", flat=True))
    assert kinds == ["appointment", "appointment", "booking_confirmed"]
    confirmed = Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMED)
    assert confirmed.idempotency_key == f"booking-confirmed:{booking.pk}"
    assert confirmed.due_at == NOW and confirmed.channel == "sms"
    subject, body = outbox._render(confirmed)
    assert subject == "Booking confirmed"
    assert (
        "Riverside Job Center: you're booked for Job search help on Tuesday 3 March, 09:00" in body
    )
    assert f"http://localhost:8000/o/riverside/booking/{booking.manage_token}/" in body


def test_the_confirmation_is_in_the_visitors_language(job_help, booking_office, proof):
    booking = services.booking_make(
        kind=job_help,
        starts_at=local(TUESDAY, "09:00"),
        first_name="Rosa",
        last_name="Díaz",
        language="es",
        made_by="online",
        proof=proof,
    )
    assert booking.appointment.visitor.preferred_language == "es"
    _subject, body = outbox._render(Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMED))
    assert "Ayuda para buscar empleo" in body and "martes 3 de marzo, 09:00" in body


def test_no_text_goes_to_someone_who_did_not_agree(job_help):
    book(job_help, phone="", consent_sms=False)
    assert not Reminder.objects.exists()


def test_online_booking_needs_a_proved_unused_number(job_help, booking_office, proof):
    with pytest.raises(services.ProofUsed):
        book(job_help, made_by="online")
    book(job_help, made_by="online", proof=proof)
    with pytest.raises(services.ProofUsed):
        book(job_help, "10:00", made_by="online", proof=proof)
    assert Booking.objects.count() == 1


def test_a_taken_slot_does_not_spend_the_proof(job_help, proof):
    book(job_help)
    with pytest.raises(services.SlotTaken):
        book(job_help, made_by="online", proof=proof)
    proof.refresh_from_db()
    assert proof.used_at is None
    assert book(job_help, "09:30", made_by="online", proof=proof).phone == NUMBER


def test_a_returning_visitor_is_recognised_by_name_and_the_same_number(job_help):
    rosa = VisitorFactory(first_name="Rosa", last_name="Díaz", phone="(555) 201-4477")
    assert book(job_help).appointment.visitor == rosa
    rosa.refresh_from_db()
    assert rosa.consent_sms


def test_a_name_with_another_number_makes_a_new_visitor(job_help):
    rosa = VisitorFactory(first_name="Rosa", last_name="Díaz", phone="(555) 999-4477")
    visitor = book(job_help).appointment.visitor
    assert visitor != rosa
    assert visitor.phone == NUMBER and visitor.consent_sms


def test_cancelling_frees_the_seat_and_calls_off_the_reminders(job_help):
    booking = book(job_help)
    services.booking_cancel(booking=booking)
    booking.appointment.refresh_from_db()
    assert booking.appointment.state == Appointment.State.CANCELLED
    assert not BookingSeat.objects.exists()
    assert set(Reminder.objects.filter(kind="appointment").values_list("state", flat=True)) == {
        ReminderState.CANCELLED
    }
    changed = Reminder.objects.get(kind=ReminderKind.BOOKING_CHANGED)
    assert outbox._render(changed)[1].startswith(
        "Riverside Job Center: your booking for Job search help on Tuesday 3 March, 09:00 is "
        "cancelled."
    )
    assert book(job_help).appointment.starts_at == local(TUESDAY, "09:00")
    with pytest.raises(services.NotChangeable):
        services.booking_cancel(booking=booking)


def test_moving_takes_the_new_seat_and_frees_the_old(job_help):
    booking = book(job_help)
    services.booking_move(booking=booking, starts_at=local(TUESDAY, "10:30"))
    booking.appointment.refresh_from_db()
    assert booking.appointment.starts_at == local(TUESDAY, "10:30")
    assert BookingSeat.objects.get().starts_at == local(TUESDAY, "10:30")
    free = [s.starts_at for s in services.slots_free(job_help, TUESDAY)]
    assert local(TUESDAY, "09:00") in free and local(TUESDAY, "10:30") not in free
    scheduled = Reminder.objects.filter(kind="appointment", state="scheduled")
    assert {r.context["starts_at"] for r in scheduled} == {local(TUESDAY, "10:30").isoformat()}
    moved = Reminder.objects.get(kind=ReminderKind.BOOKING_CHANGED)
    assert "is moved to Tuesday 3 March, 10:30" in outbox._render(moved)[1]


def test_moving_to_a_taken_slot_keeps_the_booking_where_it_was(job_help):
    booking = book(job_help)
    book(job_help, "10:00", first_name="Ana")
    with pytest.raises(services.SlotTaken):
        services.booking_move(booking=booking, starts_at=local(TUESDAY, "10:00"))
    booking.appointment.refresh_from_db()
    assert booking.appointment.starts_at == local(TUESDAY, "09:00")
    assert BookingSeat.objects.get(appointment=booking.appointment).starts_at == local(
        TUESDAY, "09:00"
    )
    assert not Reminder.objects.filter(kind=ReminderKind.BOOKING_CHANGED).exists()


def test_a_past_booking_cannot_be_changed(job_help, frozen):
    booking = book(job_help)
    frozen.move_to(local(TUESDAY, "09:05"))
    with pytest.raises(services.NotChangeable):
        services.booking_cancel(booking=booking)


def test_counts_says_how_bookings_were_made_and_what_came_of_them(
    job_help, booking_office, other_office
):
    kept = book(job_help)
    missed = book(job_help, "10:00", first_name="Ana")
    cancelled = book(job_help, "10:30", first_name="Lu")
    Booking.objects.filter(pk=cancelled.pk).update(made_by="online")
    Appointment.objects.filter(pk=kept.appointment_id).update(state="kept")
    Appointment.objects.filter(pk=missed.appointment_id).update(state="missed")
    services.booking_cancel(booking=cancelled)
    start, end = booking_office.day_bounds(NOW.date())
    made = services.counts(office_ids=[booking_office.pk], start=start, end=end)
    assert made["booked"] == 3 and made["booked_online"] == 1 and made["booked_desk"] == 2
    start, end = booking_office.day_bounds(TUESDAY)
    came = services.counts(office_ids=[booking_office.pk], start=start, end=end)
    assert (came["kept"], came["missed"], came["cancelled"], came["booked"]) == (1, 1, 1, 0)
    assert services.counts(office_ids=[other_office.pk], start=start, end=end)["kept"] == 0


def test_moving_away_and_back_brings_the_reminders_back_and_texts_each_move(job_help):
    booking = book(job_help)
    services.booking_move(booking=booking, starts_at=local(TUESDAY, "10:00"))
    services.booking_move(booking=booking, starts_at=local(TUESDAY, "09:00"))
    scheduled = Reminder.objects.filter(kind="appointment", state=ReminderState.SCHEDULED)
    assert {r.context["starts_at"] for r in scheduled} == {local(TUESDAY, "09:00").isoformat()}
    assert scheduled.count() == 2  # the day before and two hours before, due again
    services.booking_move(booking=booking, starts_at=local(TUESDAY, "10:00"))
    assert Reminder.objects.filter(kind=ReminderKind.BOOKING_CHANGED).count() == 3


def test_the_same_desk_form_sent_twice_makes_one_booking(job_help):
    first = book(job_help, form_token="t" * 32)
    again = book(job_help, form_token="t" * 32)
    assert again.pk == first.pk
    assert Booking.objects.count() == 1 and Appointment.objects.count() == 1
    assert Reminder.objects.filter(kind=ReminderKind.BOOKING_CONFIRMED).count() == 1
