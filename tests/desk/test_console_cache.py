"""What the console serves from the cache — the office's side panel, a person's memberships —
is never older than the change that someone just made, on whichever path it was made."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import MembershipFactory, OfficeFactory, ReasonFactory, VisitorFactory
from visitors import reminders
from visitors.access import can_open_dashboard, is_office_admin
from visitors.followups.models import Appointment
from visitors.messaging.models import OfficeMessage
from visitors.offices.models import StaffMembership, StaffRole

pytestmark = pytest.mark.django_db


def _console(office):
    return reverse("desk:console", args=[office.slug])


def _panel(response) -> str:
    match = re.search(r'<details class="card">.*?</details>', response.text, re.S)
    assert match, "no office panel on the page"
    return match.group(0)


def _statements(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_the_panel_is_built_once_then_served_from_the_cache(client, office, clerk):
    ReasonFactory(office=office, label_en="Looking for work")
    client.force_login(clerk)
    first = _statements(client, _console(office))
    again = _statements(client, _console(office))
    assert any("offices_reasonforvisit" in sql for sql in first)
    assert not any("offices_reasonforvisit" in sql for sql in again)
    assert not any("followups_appointment" in sql for sql in again)
    assert not any("messaging_officemessage" in sql for sql in again)
    assert len(again) < len(first)


def test_the_cached_panel_holds_no_one_s_token_and_its_forms_still_post(client, office, clerk):
    reason = ReasonFactory(office=office, label_en="Looking for work")
    client.force_login(clerk)
    panel = _panel(client.get(_console(office)))
    assert "csrfmiddlewaretoken" not in panel
    assert reverse("desk:reason_close", args=[office.slug]) in panel
    # The page carries its token for console.js to add to each form it submits.
    page = client.get(_console(office)).text
    assert "X-CSRFToken" in page
    client.post(reverse("desk:reason_close", args=[office.slug]), {"reason": reason.pk})
    reason.refresh_from_db()
    assert reason.closed_on == office.local_date()


def test_closing_and_reopening_a_reason_show_on_the_next_page(client, office, clerk):
    reason = ReasonFactory(office=office, label_en="Looking for work")
    client.force_login(clerk)
    assert "closed today" not in _panel(client.get(_console(office)))
    url = reverse("desk:reason_close", args=[office.slug])
    page = client.post(url, {"reason": reason.pk, "note": "Programme full"}, follow=True)
    assert "closed today" in _panel(page) and "Programme full" in _panel(page)
    page = client.post(url, {"reason": reason.pk, "reopen": "1"}, follow=True)
    assert "closed today" not in _panel(page) and "Close for today" in _panel(page)


def test_a_message_shows_at_once_and_leaves_at_once_when_taken_down(client, office, clerk):
    client.force_login(clerk)
    client.get(_console(office))
    page = client.post(
        reverse("desk:broadcast", args=[office.slug]),
        {"message": "Running 20 minutes behind", "minutes": "30"},
        follow=True,
    )
    assert "Running 20 minutes behind" in _panel(page)
    message = OfficeMessage.objects.get(office=office)
    page = client.post(
        reverse("desk:message_take_down", args=[office.slug, message.pk]), follow=True
    )
    assert "Running 20 minutes behind" not in _panel(page)


def test_a_message_leaves_the_panel_when_it_ends(client, office, clerk, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    client.force_login(clerk)
    OfficeMessage.objects.create(
        office=office, text_en="Back in five", created_by=clerk,
        expires_at=timezone.now() + dt.timedelta(seconds=20),
    )  # fmt: skip
    assert "Back in five" in _panel(client.get(_console(office)))
    time_machine.shift(dt.timedelta(seconds=21))
    assert "Back in five" not in _panel(client.get(_console(office)))


def test_an_appointment_made_or_called_off_shows_on_the_next_page(client, office, clerk):
    client.force_login(clerk)
    assert "Marisol" not in _panel(client.get(_console(office)))
    start, _end = office.day_bounds(office.local_date())
    appointment = Appointment.objects.create(
        office=office, visitor=VisitorFactory(first_name="Marisol", last_name="Quintero"),
        starts_at=start + dt.timedelta(hours=23), purpose="Résumé review",
    )  # fmt: skip
    panel = _panel(client.get(_console(office)))
    assert "Marisol" in panel and "Scheduled" in panel
    reminders.appointment_cancel(appointment)
    assert "Cancelled" in _panel(client.get(_console(office)))


def test_an_office_admin_demoted_loses_the_admin_links_at_once(client, office, clerk):
    membership = StaffMembership.objects.get(user=clerk, office=office)
    membership.role = StaffRole.ADMIN
    membership.save()
    client.force_login(clerk)
    devices = reverse("desk:devices", args=[office.slug])
    assert devices in client.get(_console(office)).text
    assert is_office_admin(clerk, office) and can_open_dashboard(clerk)
    membership.role = StaffRole.FRONT_DESK
    membership.save()
    assert devices not in client.get(_console(office)).text
    assert client.get(devices).status_code == 403
    assert not is_office_admin(clerk, office) and not can_open_dashboard(clerk)


def test_another_office_s_link_comes_and_goes_with_the_membership(client, office, clerk):
    hillside = OfficeFactory(name="Hillside Job Center", slug="hillside")
    client.force_login(clerk)
    other = reverse("desk:console", args=[hillside.slug])
    assert other not in client.get(_console(office)).text
    membership = MembershipFactory(user=clerk, office=hillside, role=StaffRole.FRONT_DESK)
    assert other in client.get(_console(office)).text
    hillside.name = "Hillside Career Center"
    hillside.save()
    assert "Hillside Career Center" in client.get(_console(office)).text
    membership.is_active = False
    membership.save()
    assert other not in client.get(_console(office)).text
    assert client.get(other).status_code == 404
