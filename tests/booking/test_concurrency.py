"""Twenty people sent the last free seat at the same moment: the database lets one have it."""

import datetime as dt
import time

import pytest
import time_machine

from tests.booking.conftest import NOW, TUESDAY, local
from tests.concurrency import together
from tests.factories import MembershipFactory, OfficeFactory, UserFactory
from visitors.booking import services
from visitors.booking.models import AppointmentType, Booking, BookingSeat, StaffAvailability
from visitors.followups.models import Appointment
from visitors.people.models import PhoneVerification

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def last_seat():
    """A type with one slot on Tuesday (Dana, 09:00–09:30) and one proved number per person."""
    office = OfficeFactory(slug="riverside", remote_booking=True, time_zone="America/Chicago")
    dana = UserFactory(username="dana")
    MembershipFactory(user=dana, office=office, role="counsellor")
    StaffAvailability.objects.create(
        office=office, user=dana, weekday=TUESDAY.weekday(), starts=dt.time(9), ends=dt.time(9, 30)
    )
    kind = AppointmentType.objects.create(office=office, name_en="Job search help")
    kind.staff.add(dana)
    proofs = [
        PhoneVerification.objects.create(
            office=office,
            purpose="book",
            phone=f"+1555201{n:04d}",
            code_hash="-",
            token=f"token-{n}",
            expires_at=NOW + dt.timedelta(minutes=10),
            verified_at=NOW,
        )
        for n in range(20)
    ]
    return kind, proofs


def test_twenty_people_booking_the_last_seat_make_exactly_one_booking(last_seat):
    kind, proofs = last_seat
    at = local(TUESDAY, "09:00")
    assert [s.starts_at for s in services.slots_free(kind, TUESDAY, now=NOW)] == [at]

    def work(i):
        return services.booking_make(
            kind=kind,
            starts_at=at,
            first_name=f"Person{i}",
            last_name="Race",
            made_by="online",
            proof=proofs[i],
            now=NOW,
        )

    with time_machine.travel(NOW, tick=False):
        results = together(20, work)
    booked = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, services.SlotTaken)]
    assert len(booked) == 1, results
    assert len(refused) == 19, results
    assert BookingSeat.objects.count() == 1
    assert Appointment.objects.count() == 1
    # Only the winner's proof is spent; the others may choose another time.
    assert PhoneVerification.objects.filter(used_at__isnull=False).count() == 1
    assert services.slots_free(kind, TUESDAY, now=NOW) == []


def test_one_proof_sent_ten_times_at_once_makes_one_booking(last_seat):
    """The same form sent again and again (a double tap, a retrying phone): one booking."""
    kind, proofs = last_seat
    StaffAvailability.objects.update(ends=dt.time(12))  # six slots, 09:00–12:00
    times = [local(TUESDAY, f"{9 + n // 2:02d}:{30 * (n % 2):02d}") for n in range(6)]

    def work(i):
        return services.booking_make(
            kind=kind,
            starts_at=times[i % 6],
            first_name="Rosa",
            last_name="Díaz",
            made_by="online",
            proof=proofs[0],
            now=NOW,
        )

    with time_machine.travel(NOW, tick=False):
        results = together(10, work)
    assert len([r for r in results if isinstance(r, Booking)]) == 1, results
    assert all(isinstance(r, Booking | services.BookingError) for r in results), results
    assert Booking.objects.count() == 1


def test_one_counsellor_is_not_booked_twice_at_overlapping_times(frozen_now, monkeypatch):
    """An hour-long type at 09:00 and a half-hour one at 09:30, both Dana's, booked at once:
    the seats differ (their start times do), the lock on Dana's row keeps her to one. Each
    booking pauses between reading the free seats and taking one, so that without the lock
    every one of them would read "free"."""
    read_free_seats = services._free_seats

    def slow_free_seats(*args, **kwargs):
        seats = read_free_seats(*args, **kwargs)
        time.sleep(0.2)
        return seats

    monkeypatch.setattr(services, "_free_seats", slow_free_seats)
    office = OfficeFactory(slug="riverside", remote_booking=True, time_zone="America/Chicago")
    dana = UserFactory(username="dana")
    MembershipFactory(user=dana, office=office, role="counsellor")
    StaffAvailability.objects.create(
        office=office, user=dana, weekday=TUESDAY.weekday(), starts=dt.time(9), ends=dt.time(11)
    )
    long = AppointmentType.objects.create(office=office, name_en="Intake", duration_minutes=60)
    short = AppointmentType.objects.create(office=office, name_en="CV check", duration_minutes=30)
    long.staff.add(dana)
    short.staff.add(dana)
    wanted = [(long, local(TUESDAY, "09:00")), (short, local(TUESDAY, "09:30"))] * 4

    def work(i):
        kind, at = wanted[i]
        return services.booking_make(kind=kind, starts_at=at, first_name=f"P{i}",
                                     last_name="Race", made_by="desk", now=NOW)  # fmt: skip

    results = together(len(wanted), work)
    made = [r for r in results if isinstance(r, Booking)]
    assert len(made) == 1, results
    assert all(isinstance(r, services.SlotTaken) for r in results if r not in made), results
    assert Appointment.objects.filter(state="scheduled").count() == 1


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield
