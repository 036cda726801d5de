"""The Django admin for an office admin given ``is_staff`` (to make kiosk links): only their
own office's rows, only their own office as a choice, and another office's row refused.
A superuser still sees everything."""

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory, VisitFactory, VisitorFactory
from visitors.offices.models import KioskLink, StaffRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_admin(office):
    """Office admin at Riverside with access to the Django admin."""
    user = UserFactory(username="riverside_admin", is_staff=True)
    MembershipFactory(user=user, office=office, role=StaffRole.ADMIN)
    return user


@pytest.fixture
def rows(office, other_office):
    """A visit and a kiosk link at each office; the Hillside visitor never came to Riverside."""
    return {
        "mine": VisitFactory(office=office, visitor=VisitorFactory(last_name="Riverton")),
        "theirs": VisitFactory(office=other_office, visitor=VisitorFactory(last_name="Hillman")),
        "my_link": KioskLink.issue(office=office, label="River lobby")[0],
        "their_link": KioskLink.issue(office=other_office, label="Hill lobby")[0],
    }


def test_it_lists_only_the_admin_s_office_visits(client, office_admin, rows):
    """The visits list holds Riverside's visit and not Hillside's."""
    client.force_login(office_admin)
    page = client.get(reverse("admin:visits_visit_changelist"))
    assert page.status_code == 200
    assert rows["mine"].ticket_code in page.text and "Hillman" not in page.text


def test_it_lists_only_visitors_seen_at_the_admin_s_office(client, office_admin, rows):
    """The visitors list holds only people with a record at Riverside."""
    client.force_login(office_admin)
    page = client.get(reverse("admin:people_visitor_changelist"))
    assert page.status_code == 200
    assert "Riverton" in page.text and "Hillman" not in page.text


def test_it_lists_only_the_admin_s_office_kiosk_links(client, office_admin, rows):
    """The kiosk links list holds Riverside's link and not Hillside's."""
    client.force_login(office_admin)
    page = client.get(reverse("admin:offices_kiosklink_changelist"))
    assert page.status_code == 200
    assert "River lobby" in page.text and "Hill lobby" not in page.text


THEIR_ROWS = [
    ("admin:visits_visit_change", lambda rows: rows["theirs"]),
    ("admin:people_visitor_change", lambda rows: rows["theirs"].visitor),
    ("admin:offices_kiosklink_change", lambda rows: rows["their_link"]),
]


@pytest.mark.parametrize(("url_name", "pick"), THEIR_ROWS, ids=[n for n, _p in THEIR_ROWS])
def test_it_refuses_another_office_s_object(client, office_admin, rows, url_name, pick):
    """Opening Hillside's row by its id is answered as a row that does not exist."""
    row = pick(rows)
    client.force_login(office_admin)
    response = client.get(reverse(url_name, args=[row.pk]))
    assert (response.status_code, response["Location"]) == (302, reverse("admin:index"))


def test_it_offers_only_the_admin_s_office_for_a_kiosk_link(
    client, office_admin, office, other_office
):
    """The new-link form lists Riverside only."""
    client.force_login(office_admin)
    page = client.get(reverse("admin:offices_kiosklink_add"))
    assert page.status_code == 200
    assert office.name in page.text and other_office.name not in page.text


def test_it_refuses_a_kiosk_link_for_another_office(client, office_admin, other_office):
    """A kiosk link for Hillside, posted by Riverside's admin, is not made."""
    client.force_login(office_admin)
    response = client.post(
        reverse("admin:offices_kiosklink_add"),
        {"office": other_office.pk, "label": "Sneaky", "capability": "check_in"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert not KioskLink.objects.filter(label="Sneaky").exists()


def test_it_shows_a_superuser_every_office(client, superuser, rows):
    """A superuser's visits list holds both offices' visits."""
    client.force_login(superuser)
    page = client.get(reverse("admin:visits_visit_changelist"))
    assert rows["mine"].ticket_code in page.text and "Hillman" in page.text
