"""A visitor's history in a real browser: opening a past visit from the history shows its stages
with who and when, their words and the notes."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.desk.test_visit_history import served
from tests.e2e.conftest import DESKTOP, _shot, assert_accessible
from tests.factories import MembershipFactory, OfficeFactory, UserFactory, VisitorFactory
from visitors.offices.models import Service, StaffRole
from visitors.visits.models import ServiceGiven

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def history(live_server):
    """Dana at the front desk; Rosa, served by the counsellor Lena Ortiz on 2 March."""
    office = OfficeFactory(
        name="Riverside Job Center", slug="riverside", time_zone="America/Chicago"
    )
    dana = UserFactory(username="dana", first_name="Dana", last_name="Reyes")
    MembershipFactory(user=dana, office=office, role=StaffRole.FRONT_DESK)
    lena = UserFactory(username="lena", first_name="Lena", last_name="Ortiz")
    MembershipFactory(user=lena, office=office, role=StaffRole.COUNSELLOR)
    rosa = VisitorFactory(first_name="Rosa", last_name="Quintero")
    visit = served(
        office, rosa, by=lena, called_by=dana,
        visitor_words="I lost my warehouse job and need forklift work",
        notes="Has a forklift certificate that runs out in May",
    )  # fmt: skip
    service = Service.objects.create(name="Job search help", reporting_code="BCS-105")
    ServiceGiven.objects.create(visit=visit, service=service, given_by=lena)
    served(office, rosa, by=dana, at=(2026, 1, 12), ticket=2, notes="First time here")
    return {
        "login": live_server.url + reverse("login"),
        "visitor": live_server.url + reverse("desk:visitor", args=[office.slug, rosa.pk]),
    }


def test_opening_a_past_visit_from_the_history_shows_its_stages_and_notes(open_page, history):
    errors: list = []
    page = open_page(errors, viewport=DESKTOP)
    page.goto(history["login"])
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/desk/**")

    page.goto(history["visitor"])
    visits = page.get_by_role("table", name="This visitor's visits")
    assert "Job search help (BCS-105)" in visits.inner_text()
    assert_accessible(page, "visitor-history")
    _shot(page, "visitor-history")

    visits.get_by_role("link", name="2026-03-02 A-007").click()
    page.wait_for_url("**/visits/**")
    greeting = page.locator("#stage-greeting")
    assert "09:05" in greeting.inner_text() and "Lena Ortiz" in greeting.inner_text()
    stages = page.locator("ol.stages > li")
    assert stages.count() == 5
    for n in range(5):
        assert "Lena Ortiz" in stages.nth(n).inner_text(), n
    determining = page.locator("#stage-determining").inner_text()
    assert "I lost my warehouse job and need forklift work" in determining
    concluding = page.locator("#stage-concluding").inner_text()
    assert "Has a forklift certificate that runs out in May" in concluding
    assert "First time here" not in page.content()  # the other visit's notes stay on its page
    assert_accessible(page, "past-visit")
    _shot(page, "past-visit")

    page.get_by_role("link", name="History of Rosa Quintero").click()
    page.wait_for_url(history["visitor"])
    assert errors == [], errors
