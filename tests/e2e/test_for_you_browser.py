"""Hand-overs and arrivals reach a person, in a real browser: a visit handed to a colleague shows
in their own "For you" list without a reload (with an alert), a third staff member's "Call next"
does not take it, and a visitor with an appointment arriving alerts their counsellor."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.e2e.conftest import _shot, assert_accessible
from tests.factories import (
    MembershipFactory,
    OfficeFactory,
    ReasonFactory,
    UserFactory,
    VisitFactory,
    VisitorFactory,
)
from visitors import services
from visitors.followups.models import Appointment
from visitors.visits.lifecycle import Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db(transaction=True)


def _console(open_page, errors, base, office, username):
    page = open_page(errors, viewport={"width": 1440, "height": 900})
    page.goto(base + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(base + reverse("desk:console", args=[office.slug]))
    return page


def test_a_hand_over_and_an_arrival_reach_the_right_person(open_page, live_server):
    office = OfficeFactory(name="Riverside Job Center", slug="riverside")
    ReasonFactory(office=office, label_en="WIOA training")
    dana = UserFactory(username="dana", first_name="Dana", last_name="Reyes")
    wen = UserFactory(username="wen", first_name="Wen", last_name="Ortiz")
    MembershipFactory(user=dana, office=office, role="front_desk")
    MembershipFactory(user=wen, office=office, role="counsellor")
    now = timezone.now()
    first = VisitFactory(office=office, visitor__first_name="Ann", ticket_number=101,
                         checked_in_at=now - dt.timedelta(minutes=30))  # fmt: skip
    second = VisitFactory(office=office, visitor__first_name="Bea", ticket_number=102,
                          checked_in_at=now - dt.timedelta(minutes=20))  # fmt: skip
    errors: list = []
    base = live_server.url
    wens = _console(open_page, errors, base, office, "wen")
    assert wens.locator("#for-you-h").count() == 0
    danas = _console(open_page, errors, base, office, "dana")

    # Dana hands Ann over to Wen from the workspace.
    danas.goto(base + reverse("desk:visit", args=[office.slug, first.pk]))
    danas.get_by_text("Hand over to someone else or another reason").click()
    danas.get_by_label("Hand over to").select_option(label="Wen Ortiz")
    danas.get_by_role("button", name="Hand over").click()
    danas.locator(".messages", has_text="handed over").wait_for()

    # Wen's open console shows her, live, and alerts.
    wens.locator("#for-you-h", has_text="For you (1)").wait_for(timeout=6_000)
    assert "Handed over to you" in wens.locator(".for-you").inner_text()
    # A selector, not wait_for_function: a string predicate that must be polled is compiled
    # with eval, which the page's Content-Security-Policy refuses.
    wens.locator("body[data-for-you-alerts='1']").wait_for(state="attached")
    assert_accessible(wens, "console-for-you")
    _shot(wens, "docs-for-you")

    # Dana's "Call next" takes Bea, not Ann; the board shows who holds Ann.
    danas.goto(base + reverse("desk:console", args=[office.slug]))
    assert "→ Wen Ortiz" in danas.locator("#queue-board").inner_text()
    danas.get_by_label("Your desk").fill("Desk 1")
    danas.get_by_role("button", name="Call next").click()
    danas.wait_for_url("**/visits/**")
    assert Visit.objects.get(pk=second.pk).status == Status.CALLED
    assert Visit.objects.get(pk=first.pk).status == Status.WAITING

    # A visitor with an appointment with Wen checks in: her list tells her.
    imani = VisitorFactory(first_name="Imani")
    appointment = Appointment.objects.create(
        office=office, visitor=imani, staff=wen, purpose="WIOA intake",
        starts_at=timezone.now() + dt.timedelta(minutes=5),
    )  # fmt: skip
    services.visit_check_in(office=office, visitor=imani, source="desk", appointment=appointment)
    wens.locator("#for-you-h", has_text="For you (2)").wait_for(timeout=6_000)
    assert "Your appointment at" in wens.locator(".for-you").inner_text()
    wens.locator("body[data-for-you-alerts='2']").wait_for(state="attached")
    # Wen's own "Call next" takes hers first.
    wens.get_by_label("Your desk").fill("Desk 4")
    wens.get_by_role("button", name="Call next").click()
    wens.wait_for_url("**/visits/**")
    called = Visit.objects.filter(called_by=wen).get()
    assert called.visitor.first_name in ("Ann", "Imani")
    assert errors == [], errors
