"""Which slots are offered: weekly hours, time off and extra hours, opening hours, the
same-day cut-off, the booking window, capacity and seats already held."""

import datetime as dt

import pytest

from tests.booking.conftest import NOW, TUESDAY, local
from tests.factories import MembershipFactory, UserFactory
from visitors.booking import services
from visitors.booking.models import AppointmentType, AvailabilityException, StaffAvailability

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def local_times(slots, office) -> list[str]:
    return [s.starts_at.astimezone(office.zone).strftime("%H:%M") for s in slots]


def test_it_cuts_the_weekly_hours_into_slots_of_the_types_length(job_help, booking_office):
    slots = services.slots_free(job_help, TUESDAY)
    assert local_times(slots, booking_office) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]
    assert all(s.free == 1 for s in slots)


def test_it_offers_nothing_outside_opening_hours(job_help, dana, booking_office):
    """Hours from 07:00 are clipped to the 08:00 opening; a closed day offers nothing."""
    StaffAvailability.objects.filter(user=dana, weekday=1).update(starts=dt.time(7))
    assert local_times(services.slots_free(job_help, TUESDAY), booking_office)[:3] == [
        "08:00",
        "08:30",
        "09:00",
    ]
    StaffAvailability.objects.create(
        office=booking_office, user=dana, weekday=5, starts=dt.time(9), ends=dt.time(12)
    )
    assert services.slots_free(job_help, dt.date(2026, 3, 7)) == []  # Saturday: closed
    booking_office.closed_dates = [TUESDAY.isoformat()]
    booking_office.save()
    job_help.refresh_from_db()
    assert services.slots_free(job_help, TUESDAY) == []


def test_time_off_takes_hours_away_and_extra_hours_add_them(job_help, dana, booking_office):
    AvailabilityException.objects.create(
        office=booking_office, user=dana, date=TUESDAY, starts=dt.time(10), ends=dt.time(11)
    )
    AvailabilityException.objects.create(
        office=booking_office,
        user=dana,
        date=TUESDAY,
        starts=dt.time(14),
        ends=dt.time(15),
        available=True,
    )
    assert local_times(services.slots_free(job_help, TUESDAY), booking_office) == [
        "09:00",
        "09:30",
        "11:00",
        "11:30",
        "14:00",
        "14:30",
    ]


def test_a_day_off_or_the_offices_day_off_leaves_no_slots(job_help, dana, booking_office):
    AvailabilityException.objects.create(office=booking_office, user=dana, date=TUESDAY)
    AvailabilityException.objects.create(
        office=booking_office, user=None, date=TUESDAY + dt.timedelta(days=1)
    )
    assert services.slots_free(job_help, TUESDAY) == []
    assert services.slots_free(job_help, TUESDAY + dt.timedelta(days=1)) == []
    assert services.slots_free(job_help, TUESDAY + dt.timedelta(days=2)) != []


def test_today_offers_only_slots_after_the_cut_off(job_help, booking_office, frozen):
    today = NOW.date()
    assert local_times(services.slots_free(job_help, today), booking_office)[0] == "09:00"
    frozen.move_to(local(today, "08:45"))
    assert local_times(services.slots_free(job_help, today), booking_office)[0] == "10:00"


def test_it_offers_days_within_the_booking_window_only(job_help):
    job_help.book_ahead_days = 3
    job_help.save()
    days = services.days_with_slots(job_help)
    assert days == [
        NOW.date(),
        TUESDAY,
        TUESDAY + dt.timedelta(days=1),
        TUESDAY + dt.timedelta(days=2),
    ]
    assert services.slots_free(job_help, NOW.date() + dt.timedelta(days=4)) == []
    assert services.slots_free(job_help, NOW.date() - dt.timedelta(days=1)) == []


def test_an_inactive_type_offers_nothing(job_help):
    job_help.is_active = False
    job_help.save()
    assert services.slots_free(job_help, TUESDAY) == []
    assert services.days_with_slots(job_help) == []


def test_capacity_is_per_staff_member_and_falls_as_seats_are_taken(job_help, booking_office):
    other = UserFactory(username="lee")
    MembershipFactory(user=other, office=booking_office, role="counsellor")
    StaffAvailability.objects.create(
        office=booking_office, user=other, weekday=1, starts=dt.time(9), ends=dt.time(10)
    )
    job_help.staff.add(other)
    job_help.capacity_per_slot = 2
    job_help.save()
    nine = local(TUESDAY, "09:00")
    assert services.slots_free(job_help, TUESDAY)[0].free == 4
    services.booking_make(
        kind=job_help, starts_at=nine, first_name="Ana", last_name="Ruiz", made_by="desk"
    )
    assert services.slots_free(job_help, TUESDAY)[0].free == 3
    assert [s.free for s in services.slots_free(job_help, TUESDAY)][2] == 2  # 10:00: Dana only


def test_a_group_session_without_staff_runs_in_opening_hours(booking_office):
    kind = AppointmentType.objects.create(
        office=booking_office, name_en="Resume workshop", duration_minutes=60, capacity_per_slot=3
    )
    slots = services.slots_free(kind, TUESDAY)
    assert local_times(slots, booking_office) == [f"{h:02d}:00" for h in range(8, 17)]
    assert slots[0].free == 3
    for n in range(3):
        services.booking_make(
            kind=kind,
            starts_at=slots[0].starts_at,
            first_name=f"P{n}",
            last_name="Lo",
            made_by="desk",
        )
    assert local_times(services.slots_free(kind, TUESDAY), booking_office)[0] == "09:00"
    with pytest.raises(services.SlotTaken):
        services.booking_make(
            kind=kind,
            starts_at=slots[0].starts_at,
            first_name="Late",
            last_name="Lo",
            made_by="desk",
        )


def test_a_staff_member_is_not_offered_twice_at_the_same_time_across_types(
    job_help, dana, booking_office
):
    cv = AppointmentType.objects.create(
        office=booking_office, name_en="CV review", duration_minutes=60
    )
    cv.staff.add(dana)
    services.booking_make(
        kind=cv,
        starts_at=local(TUESDAY, "09:00"),
        first_name="Ana",
        last_name="Ruiz",
        made_by="desk",
    )
    # The hour-long CV review covers 09:00 and 09:30 of the half-hour type.
    assert local_times(services.slots_free(job_help, TUESDAY), booking_office)[:2] == [
        "10:00",
        "10:30",
    ]
    with pytest.raises(services.SlotTaken):
        services.booking_make(
            kind=job_help,
            starts_at=local(TUESDAY, "09:30"),
            first_name="Bo",
            last_name="Lin",
            made_by="desk",
        )


def test_a_time_that_is_not_a_slot_cannot_be_booked(job_help):
    with pytest.raises(services.SlotTaken):
        services.booking_make(
            kind=job_help,
            starts_at=local(TUESDAY, "09:10"),
            first_name="A",
            last_name="B",
            made_by="desk",
        )
    with pytest.raises(services.SlotTaken):  # Dana's hours end at 12:00
        services.booking_make(
            kind=job_help,
            starts_at=local(TUESDAY, "12:00"),
            first_name="A",
            last_name="B",
            made_by="desk",
        )
