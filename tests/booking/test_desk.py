"""Booking at the desk: staff of the office pick a slot and type a name and a number."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.booking.conftest import TUESDAY, local
from visitors.booking import services
from visitors.booking.models import Booking
from visitors.messaging.models import Reminder

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def at(hhmm: str) -> str:
    return str(int(local(TUESDAY, hhmm).timestamp()))


def desk_url() -> str:
    return reverse("booking:desk_book", args=["riverside"])


def test_staff_see_the_picker_and_the_upcoming_bookings(client, clerk, job_help):
    client.force_login(clerk)
    page = client.get(desk_url(), {"type": job_help.pk, "day": TUESDAY.isoformat()})
    assert page.status_code == 200
    assert 'name="at"' in page.text and "09:00" in page.text


def test_staff_book_without_a_code(client, clerk, job_help, dana, memory_sms):
    client.force_login(clerk)
    done = client.post(
        desk_url() + f"?type={job_help.pk}&day={TUESDAY.isoformat()}",
        {
            "type": job_help.pk,
            "at": at("09:30"),
            "first_name": "Rosa",
            "last_name": "Díaz",
            "phone": "(312) 555-0100",
            "consent_sms": "on",
        },
    )
    assert done.status_code == 302
    booking = Booking.objects.get()
    assert booking.made_by == "desk" and booking.by == clerk
    assert booking.appointment.staff == dana
    assert booking.appointment.visitor.consent_sms
    assert Reminder.objects.filter(kind="booking_confirmed").exists()
    page = client.get(done["Location"])
    assert "Booked Rosa for Tuesday 3 March, 09:30" in page.text
    assert "Rosa Díaz" in page.text  # the upcoming list


def test_without_consent_no_texts_are_queued(client, clerk, job_help):
    client.force_login(clerk)
    client.post(
        desk_url(),
        {
            "type": job_help.pk,
            "at": at("09:30"),
            "first_name": "Rosa",
            "last_name": "Díaz",
            "phone": "(312) 555-0100",
        },
    )
    assert Booking.objects.get().appointment.visitor.consent_sms is False
    assert not Reminder.objects.exists()


def test_a_taken_slot_is_refused_with_a_reason(client, clerk, job_help):
    services.booking_make(
        kind=job_help,
        starts_at=local(TUESDAY, "09:30"),
        first_name="Bo",
        last_name="Lin",
        made_by="desk",
    )
    client.force_login(clerk)
    response = client.post(
        desk_url(),
        {"type": job_help.pk, "at": at("09:30"), "first_name": "Rosa", "last_name": "Díaz"},
    )
    assert response.status_code == 422
    assert "just been taken" in response.text
    assert Booking.objects.count() == 1


def test_staff_cancel_a_booking(client, clerk, job_help):
    booking = services.booking_make(
        kind=job_help,
        starts_at=local(TUESDAY, "09:30"),
        first_name="Bo",
        last_name="Lin",
        made_by="desk",
    )
    client.force_login(clerk)
    url = reverse("booking:desk_cancel", args=["riverside", booking.pk])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    booking.appointment.refresh_from_db()
    assert booking.appointment.state == "cancelled"


def test_anonymous_visitors_sign_in_first_and_other_offices_staff_get_a_404(
    client, outsider, job_help
):
    booking = services.booking_make(
        kind=job_help,
        starts_at=local(TUESDAY, "09:30"),
        first_name="Bo",
        last_name="Lin",
        made_by="desk",
    )
    cancel = reverse("booking:desk_cancel", args=["riverside", booking.pk])
    for response in (client.get(desk_url()), client.post(cancel)):
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Booking.objects.filter(pk=booking.pk, appointment__state="cancelled").exists()
    client.force_login(outsider)
    assert client.get(desk_url()).status_code == 404
    assert client.post(cancel).status_code == 404
    # Hillside's own desk page does not reach Riverside's booking either.
    other = reverse("booking:desk_cancel", args=["hillside", booking.pk])
    assert client.post(other).status_code == 404
    booking.appointment.refresh_from_db()
    assert booking.appointment.state == "scheduled"


def test_the_wrong_method_is_refused(client, clerk, job_help):
    client.force_login(clerk)
    assert client.put(desk_url()).status_code == 405


def test_the_upcoming_list_reads_a_fixed_number_of_queries(
    client, clerk, job_help, django_assert_max_num_queries
):
    """Two dozen bookings cost no more queries than three: the list is read in one go."""
    client.force_login(clerk)
    for n, hhmm in enumerate(["09:00", "09:30", "10:00"]):
        services.booking_make(
            kind=job_help,
            starts_at=local(TUESDAY, hhmm),
            first_name=f"P{n}",
            last_name="Lo",
            made_by="desk",
        )
    with django_assert_max_num_queries(25) as few:
        assert client.get(desk_url()).status_code == 200
    weekdays = [TUESDAY + dt.timedelta(days=n) for n in range(1, 10)]
    for day in [d for d in weekdays if d.weekday() < 5]:
        for hhmm in ("09:00", "09:30", "10:00"):
            services.booking_make(
                kind=job_help,
                starts_at=local(day, hhmm),
                first_name="Q",
                last_name="Lo",
                made_by="desk",
            )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(desk_url())
    assert page.text.count("<td>Q Lo</td>") == 21  # seven weekdays, three each


def test_admins_set_up_types_and_hours_in_the_admin(client, superuser, job_help):
    client.force_login(superuser)
    for model in ("appointmenttype", "staffavailability", "availabilityexception"):
        assert client.get(reverse(f"admin:booking_{model}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:booking_{model}_add")).status_code == 200
    change = reverse("admin:booking_appointmenttype_change", args=[job_help.pk])
    assert "Job search help" in client.get(change).text
