"""Staff pages show an office's times on its own clock, as the console does: the devices page,
the pairing page (which belongs to no office yet) and the Django admin — where an admin of
offices in several zones sees each row as its own office's clock shows it."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory, VisitFactory, VisitorFactory
from visitors.followups.models import Appointment, Workshop
from visitors.offices.models import KioskLink, StaffRole
from visitors.people.models import Visitor

pytestmark = pytest.mark.django_db

# 15:05 UTC on a Tuesday after the clocks went forward: 10:05 CDT in Chicago (Riverside),
# 09:05 MDT in Denver (Hillside).
AT = dt.datetime(2026, 3, 10, 15, 5, tzinfo=dt.UTC)


@pytest.fixture
def office_admin(office):
    """Office admin at Riverside (Chicago), with the Django admin."""
    user = UserFactory(username="riverside_admin", is_staff=True)
    MembershipFactory(user=user, office=office, role=StaffRole.ADMIN)
    return user


@pytest.fixture
def two_zone_admin(office, other_office):
    """Office admin at Riverside (Chicago) and Hillside (Denver), with the Django admin."""
    user = UserFactory(username="regional_admin", is_staff=True)
    for where in (office, other_office):
        MembershipFactory(user=user, office=where, role=StaffRole.ADMIN)
    return user


def _row(page_text: str, marker: str) -> str:
    """The changelist row that holds ``marker``."""
    return next(r for r in re.findall(r"<tr.*?</tr>", page_text, re.S) if marker in r)


# --- The console's devices page and the pairing page ------------------------------------------


def test_the_devices_page_shows_times_on_the_office_s_clock_and_says_so(client, office):
    link, _token = KioskLink.issue(office=office, label="Lobby left")
    KioskLink.objects.filter(pk=link.pk).update(created_at=AT, last_seen_at=AT, revoked_at=AT)
    admin = UserFactory(username="officeadmin")
    MembershipFactory(user=admin, office=office, role=StaffRole.ADMIN)
    client.force_login(admin)
    page = client.get(reverse("desk:devices", args=[office.slug]))
    assert "2026-03-10 10:05 CDT" in page.text
    assert "15:05" not in page.text
    assert "local times (America/Chicago)." in page.text


def test_the_pairing_page_gives_the_code_s_life_in_minutes_not_a_utc_clock(client):
    """The device belongs to no office yet, so no clock time could be in its zone."""
    with time_machine.travel(AT, tick=False):
        page = client.post(reverse("pair"), follow=True)
        assert "Valid for 10 more minutes." in page.text
        assert "UTC" not in page.text
    with time_machine.travel(AT + dt.timedelta(minutes=9, seconds=30), tick=False):
        check = client.get(reverse("pair"), headers={"HX-Request": "true"})
        assert "Valid for 1 more minute." in check.text


# --- The Django admin -----------------------------------------------------------------------


def test_a_list_shows_each_row_on_its_own_office_s_clock(
    client, office, other_office, two_zone_admin
):
    """Visits of two offices at the same instant: 10:05 CDT at Riverside, 9:05 MDT at
    Hillside, each labelled."""
    VisitFactory(office=office, visitor=VisitorFactory(last_name="Riverton"), checked_in_at=AT)
    VisitFactory(office=other_office, visitor=VisitorFactory(last_name="Hillman"),
                 checked_in_at=AT)  # fmt: skip
    client.force_login(two_zone_admin)
    page = client.get(reverse("admin:visits_visit_changelist"))
    assert page.status_code == 200
    assert "March 10, 2026, 10:05 a.m. CDT" in _row(page.text, "Riverton")
    assert "March 10, 2026, 9:05 a.m. MDT" in _row(page.text, "Hillman")


def _link(office):
    link, _token = KioskLink.issue(office=office, label="Lobby")
    KioskLink.objects.filter(pk=link.pk).update(created_at=AT, last_seen_at=AT)


def _workshop(office):
    Workshop.objects.create(office=office, title="Résumé basics", starts_at=AT, capacity=5)


def _visit(office):
    VisitFactory(office=office, checked_in_at=AT)


@pytest.mark.parametrize(
    ("url_name", "make"),
    [("admin:offices_kiosklink_changelist", _link),
     ("admin:followups_workshop_changelist", _workshop),
     ("admin:visits_visit_changelist", _visit)],
)  # fmt: skip
def test_lists_of_an_office_s_rows_are_on_its_clock(client, office, office_admin, url_name, make):
    make(office)
    client.force_login(office_admin)
    page = client.get(reverse(url_name))
    assert page.status_code == 200
    assert "10:05 a.m. CDT" in page.text and "3:05 p.m." not in page.text


def test_a_visitor_is_shown_in_the_zone_of_the_admin_s_offices(
    client, office, office_admin, two_zone_admin, other_office
):
    """A visitor belongs to no one office: one zone's admin sees it, several zones' see UTC."""
    visitor = VisitorFactory(last_name="Riverton")
    Visitor.objects.filter(pk=visitor.pk).update(first_seen_at=AT, last_seen_at=AT)
    VisitFactory(office=office, visitor=visitor, checked_in_at=AT)
    client.force_login(office_admin)
    page = client.get(reverse("admin:people_visitor_changelist"))
    assert "10:05 a.m. CDT" in _row(page.text, "Riverton")
    client.force_login(two_zone_admin)
    page = client.get(reverse("admin:people_visitor_changelist"))
    assert "3:05 p.m. UTC" in _row(page.text, "Riverton")


def test_a_form_shows_and_reads_times_on_its_office_s_clock(
    client, office, other_office, superuser
):
    """A Hillside workshop's form shows 09:05 (Denver) and says so; saved as 10:30, it starts
    at 10:30 in Denver."""
    workshop = Workshop.objects.create(office=other_office, title="Interview practice",
                                       starts_at=AT, capacity=5)  # fmt: skip
    client.force_login(superuser)  # of every office: Chicago's and Denver's
    url = reverse("admin:followups_workshop_change", args=[workshop.pk])
    page = client.get(url)
    assert 'value="2026-03-10"' in page.text and 'value="09:05:00"' in page.text
    assert "Times on this page are Hillside Job Center&#x27;s local times (America/Denver)." in (
        page.text
    )
    response = client.post(url, {
        "office": other_office.pk, "title": "Interview practice", "starts_at_0": "2026-03-10",
        "starts_at_1": "10:30", "duration_minutes": 60, "capacity": 5, "location": "",
        "signups-TOTAL_FORMS": 0, "signups-INITIAL_FORMS": 0,
    })  # fmt: skip
    assert response.status_code == 302, response.content
    workshop.refresh_from_db()
    assert workshop.starts_at == dt.datetime(2026, 3, 10, 10, 30, tzinfo=other_office.zone)


def test_a_new_row_s_times_are_read_in_the_office_chosen_on_the_form(
    client, office, other_office, superuser
):
    """An admin of Chicago and Denver adds a Denver workshop at 14:00: 14:00 in Denver."""
    client.force_login(superuser)
    url = reverse("admin:followups_workshop_add")
    assert "Times you enter are read as local times of the office you choose" in (
        client.get(url).text
    )
    response = client.post(url, {
        "office": other_office.pk, "title": "Computer basics", "starts_at_0": "2026-03-20",
        "starts_at_1": "14:00", "duration_minutes": 60, "capacity": 8, "location": "",
        "signups-TOTAL_FORMS": 0, "signups-INITIAL_FORMS": 0,
    })  # fmt: skip
    assert response.status_code == 302, response.content
    made = Workshop.objects.get(title="Computer basics")
    assert made.starts_at == dt.datetime(2026, 3, 20, 14, 0, tzinfo=other_office.zone)


def test_a_form_posted_for_another_s_office_is_not_read_in_its_zone(
    client, office, other_office, office_admin
):
    """Riverside's admin posting Hillside's id: the form refuses the office, and the page
    stays on Riverside's clock."""
    visitor = VisitFactory(office=office).visitor
    client.force_login(office_admin)
    response = client.post(reverse("admin:followups_appointment_add"), {
        "office": other_office.pk, "visitor": visitor.pk, "starts_at_0": "2026-03-20",
        "starts_at_1": "14:00", "duration_minutes": 30, "purpose": "Sneaky",
        "state": "scheduled", "created_at_0": "2026-03-10", "created_at_1": "09:00",
    })  # fmt: skip
    assert response.status_code == 200  # the form did not save
    assert not Appointment.objects.filter(purpose="Sneaky").exists()
    assert "America/Chicago" in response.text and "America/Denver" not in response.text
    assert timezone.get_current_timezone_name() == "UTC"  # the request left no zone behind
