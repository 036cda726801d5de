"""Book a time on a phone, in a real browser: choose a day and a time, prove the number with
the code from the text, get the confirmation and the reminder by text, then open the link from
the text to move the booking and to cancel it."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.e2e.conftest import DESKTOP, PHONE, _shot, assert_accessible
from tests.factories import MembershipFactory, OfficeFactory, UserFactory
from visitors import outbox, sms
from visitors.booking.models import AppointmentType, Booking, StaffAvailability
from visitors.messaging.models import Reminder, ReminderKind

pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)  # Monday 08:00 in Chicago
WEEKDAYS = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def deliver(kind: str, *, now: dt.datetime) -> list[str]:
    """Run the outbox as the periodic dispatcher would at ``now``; the bodies of ``kind`` sent."""
    for reminder_id, claim in outbox.reminders_claim(now=now):
        outbox.reminder_deliver(reminder_id=reminder_id, claim=claim, now=now)
    sent = {r.idempotency_key for r in Reminder.objects.filter(kind=kind, state="sent")}
    return [m.body for m in sms.MemoryBackend.outbox if m.idempotency_key in sent]


def test_booking_a_time_from_a_phone_then_moving_and_cancelling_it(
    open_page, live_server, settings, memory_sms
):
    settings.PUBLIC_URL = live_server.url
    office = OfficeFactory(
        name="Riverside Job Center",
        slug="riverside",
        time_zone="America/Chicago",
        remote_booking=True,
        opening_hours=WEEKDAYS,
        address="12 River Road",
    )
    dana = UserFactory(username="dana", first_name="Dana", last_name="Reyes")
    MembershipFactory(user=dana, office=office, role="counsellor")
    for weekday in range(5):
        StaffAvailability.objects.create(
            office=office, user=dana, weekday=weekday, starts=dt.time(9), ends=dt.time(12)
        )
    kind = AppointmentType.objects.create(
        office=office, name_en="Job search help", name_es="Ayuda para buscar empleo"
    )
    kind.staff.add(dana)

    errors: list = []
    with time_machine.travel(NOW, tick=True):
        page = open_page(errors, viewport=PHONE, has_touch=True)
        page.goto(live_server.url + reverse("booking:book", args=["riverside"]))
        # One type: straight to its days.
        page.get_by_role("heading", name="Job search help").wait_for()
        _shot(page, "docs-booking-1-day")
        assert_accessible(page, "booking-day")
        page.get_by_role("link", name="Tuesday 3 March").click()
        page.get_by_role("link", name="09:00").click()

        page.get_by_label("First name").fill("Rosa")
        page.get_by_label("Last name").fill("Díaz")
        page.get_by_label("Mobile number").fill("(312) 555-0199")
        page.get_by_label("Text me the code").check()
        _shot(page, "docs-booking-2-details")
        assert_accessible(page, "booking-details")
        page.get_by_role("button", name="Text me a code").click()

        page.get_by_text("We sent a code by text").wait_for()
        code_text = memory_sms[-1]
        assert code_text.to == "+13125550199"
        code = re.search(r"code is (\d{6})", code_text.body).group(1)
        page.get_by_label("Code from the text").fill(code)
        _shot(page, "docs-booking-3-code")
        assert_accessible(page, "booking-code")
        page.get_by_role("button", name="Book this time").click()

        page.get_by_role("heading", name="You're booked").wait_for()
        booking = Booking.objects.get()
        assert page.get_by_text("Tuesday 3 March 2026, 09:00").is_visible()
        assert page.get_by_role("link", name=re.compile(booking.manage_token)).is_visible()
        _shot(page, "docs-booking-4-booked")
        assert_accessible(page, "booking-booked")

    # The confirmation goes at once; the reminder the day before, at 09:00.
    confirmed = deliver(ReminderKind.BOOKING_CONFIRMED, now=NOW + dt.timedelta(minutes=1))
    manage = f"{live_server.url}/o/riverside/booking/{booking.manage_token}/"
    assert confirmed == [
        "Riverside Job Center: you're booked for Job search help on Tuesday 3 March, 09:00. "
        f"To move or cancel: {manage} Reply STOP to opt out."
    ]
    assert deliver(ReminderKind.APPOINTMENT, now=NOW + dt.timedelta(minutes=30)) == []
    day_before = deliver(ReminderKind.APPOINTMENT, now=NOW + dt.timedelta(hours=1, minutes=1))
    assert day_before == [
        "Riverside Job Center: reminder of your appointment (Job search help) on Tuesday "
        "3 March, 09:00. Reply STOP to opt out."
    ]

    link = re.search(r"https?://\S+/booking/\S+/", confirmed[0]).group(0)
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=True):
        page.goto(link)
        page.get_by_role("heading", name="Your booking").wait_for()
        assert page.get_by_text("Rosa").is_visible()
        _shot(page, "docs-booking-5-manage")
        assert_accessible(page, "booking-manage")
        page.get_by_role("link", name="Move to another time").click()
        page.get_by_role("link", name="Tuesday 3 March").click()
        page.get_by_label("10:30").check()
        page.get_by_role("button", name="Move my booking").click()
        page.get_by_role("heading", name="Your booking is moved").wait_for()
        assert page.get_by_text("Tuesday 3 March 2026, 10:30").is_visible()
        _shot(page, "docs-booking-6-moved")

        page.get_by_role("button", name="Cancel my booking").click()
        page.get_by_role("heading", name="Your booking is cancelled").wait_for()
        _shot(page, "docs-booking-7-cancelled")
        assert_accessible(page, "booking-cancelled")

    booking.appointment.refresh_from_db()
    assert booking.appointment.state == "cancelled"
    changes = deliver(ReminderKind.BOOKING_CHANGED, now=NOW + dt.timedelta(hours=2, minutes=1))
    assert changes[0].startswith(
        "Riverside Job Center: your booking for Job search help is moved to Tuesday 3 March, 10:30."
    )
    assert changes[1] == (
        "Riverside Job Center: your booking for Job search help on Tuesday 3 March, 10:30 is "
        "cancelled. Reply STOP to opt out."
    )
    # The old reminders were called off: nothing more is sent the morning of the booking.
    assert deliver(ReminderKind.APPOINTMENT, now=NOW + dt.timedelta(days=1)) == day_before
    assert errors == []


def test_the_desk_books_a_time_for_someone_and_sees_it_listed(open_page, live_server):
    office = OfficeFactory(
        name="Riverside Job Center",
        slug="riverside",
        time_zone="America/Chicago",
        opening_hours=WEEKDAYS,
    )
    dana = UserFactory(username="dana", first_name="Dana", last_name="Reyes")
    MembershipFactory(user=dana, office=office, role="counsellor")
    StaffAvailability.objects.create(
        office=office, user=dana, weekday=1, starts=dt.time(9), ends=dt.time(11)
    )
    kind = AppointmentType.objects.create(office=office, name_en="Job search help")
    kind.staff.add(dana)

    errors: list = []
    with time_machine.travel(NOW, tick=True):
        desk = open_page(errors, viewport=DESKTOP)
        desk.goto(live_server.url + reverse("login"))
        desk.get_by_label("Username").fill("dana")
        desk.get_by_label("Password").fill(PASSWORD)
        desk.get_by_role("button", name="Sign in").click()
        desk.goto(live_server.url + reverse("booking:desk_book", args=["riverside"]))
        desk.get_by_role("link", name="Tue 3 Mar").click()
        desk.get_by_label("10:00").check()
        desk.get_by_label("First name").fill("Marcus")
        desk.get_by_label("Last name").fill("Lee")
        desk.get_by_role("button", name="Book", exact=True).click()
        desk.get_by_text("Booked Marcus for Tuesday 3 March, 10:00.").wait_for()
        row = desk.get_by_role("row", name=re.compile("Marcus Lee"))
        assert "Dana Reyes" in row.inner_text() and "At the desk" in row.inner_text()
        _shot(desk, "docs-booking-desk")
        assert_accessible(desk, "booking-desk")
    assert Booking.objects.get().appointment.staff == dana
    assert errors == []
