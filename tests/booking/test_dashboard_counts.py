"""The managers' dashboard counts what came of bookings made with "Book a time"."""

import pytest

from tests.booking.conftest import TUESDAY, local
from visitors import dashboard
from visitors.booking import services
from visitors.followups.models import Appointment

pytestmark = pytest.mark.django_db


def test_the_day_counts_bookings_kept_missed_and_cancelled(frozen, booking_office, job_help):
    made = [
        services.booking_make(
            kind=job_help,
            starts_at=local(TUESDAY, hhmm),
            first_name=f"Ana{n}",
            last_name="Díaz",
            phone=f"(312) 555-01{n:02d}",
            made_by="desk",
        )  # fmt: skip
        for n, hhmm in enumerate(["09:00", "09:30", "10:00", "10:30"])
    ]
    Appointment.objects.filter(pk=made[0].appointment_id).update(state=Appointment.State.KEPT)
    Appointment.objects.filter(pk=made[1].appointment_id).update(state=Appointment.State.MISSED)
    services.booking_cancel(booking=made[2])
    # An appointment made by hand, not through booking: counted among appointments only.
    Appointment.objects.create(office=booking_office, visitor=made[0].appointment.visitor,
                               starts_at=local(TUESDAY, "15:00"), purpose="By hand")  # fmt: skip
    figures = dashboard.day_figures([booking_office], TUESDAY, now=local(TUESDAY, "18:00"))
    booked = figures.bookings
    assert booked["total"] == 4
    assert (booked["kept"], booked["missed"], booked["cancelled"], booked["scheduled"]) == (
        1,
        1,
        1,
        1,
    )
    assert figures.appointments["scheduled"] == 2
