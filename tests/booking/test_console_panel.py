"""A booking moved or cancelled (queryset updates, no model signal) shows on the console's
cached side panel at the next page."""

import re

import pytest
from django.urls import reverse

from tests.booking.conftest import NOW, local
from visitors.booking import services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def _panel(client, office) -> str:
    page = client.get(reverse("desk:console", args=[office.slug]))
    return re.search(r'<details class="card">.*?</details>', page.text, re.S).group(0)


def test_a_booking_moved_then_cancelled_shows_at_once(client, job_help, booking_office, dana):
    today = NOW.astimezone(booking_office.zone).date()
    booking = services.booking_make(
        kind=job_help, starts_at=local(today, "10:00"), first_name="Rosa", last_name="Díaz",
        made_by="desk", phone="+15552014477",
    )  # fmt: skip
    client.force_login(dana)
    panel = _panel(client, booking_office)
    assert "10:00" in panel and "Rosa" in panel and "Scheduled" in panel
    services.booking_move(booking=booking, starts_at=local(today, "11:00"))
    panel = _panel(client, booking_office)
    assert "11:00" in panel and "10:00" not in panel
    booking.appointment.refresh_from_db()
    services.booking_cancel(booking=booking)
    assert "Cancelled" in _panel(client, booking_office)
