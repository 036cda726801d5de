"""Places for booking tests: Riverside offers "Book a time" with one counsellor, Dana, who
takes "Job search help" (30 minutes, one person a slot) on weekday mornings.

The clock is held at Monday 2 March 2026, 08:00 in Chicago (14:00 UTC): the office has just
opened, and today's 09:00 is still more than the hour's cut-off away.
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import MembershipFactory, UserFactory
from visitors import sms
from visitors.booking.models import AppointmentType, StaffAvailability
from visitors.offices.models import StaffRole

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)  # Monday 08:00 in Chicago
TUESDAY = dt.date(2026, 3, 3)
WEEKDAY_HOURS = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def local(day: dt.date, hhmm: str, zone="America/Chicago") -> dt.datetime:
    """``day`` at ``hhmm`` on Riverside's clock, in UTC."""
    at = dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=ZoneInfo(zone))
    return at.astimezone(dt.UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def booking_office(office):
    """Riverside, open 08:00–17:00 on weekdays, offering online booking."""
    office.remote_booking = True
    office.opening_hours = WEEKDAY_HOURS
    office.save()
    return office


@pytest.fixture
def dana(booking_office):
    """A counsellor at Riverside who takes bookings 09:00–12:00 on weekdays."""
    user = UserFactory(username="dana", first_name="Dana", last_name="Reyes")
    MembershipFactory(user=user, office=booking_office, role=StaffRole.COUNSELLOR)
    for weekday in range(5):
        StaffAvailability.objects.create(
            office=booking_office,
            user=user,
            weekday=weekday,
            starts=dt.time(9),
            ends=dt.time(12),
        )
    return user


@pytest.fixture
def job_help(booking_office, dana):
    kind = AppointmentType.objects.create(
        office=booking_office,
        name_en="Job search help",
        name_es="Ayuda para buscar empleo",
        duration_minutes=30,
    )
    kind.staff.add(dana)
    return kind


def last_code(outbox) -> str:
    """The six-digit code in the last text sent."""
    match = re.search(r"\b(\d{6})\b", outbox[-1].body)
    assert match, outbox[-1].body
    return match.group(1)


@pytest.fixture
def texts(memory_sms):
    return sms.MemoryBackend.outbox
