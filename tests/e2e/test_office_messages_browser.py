"""A message to everyone waiting, in a real browser: sent from the console, it appears on an open
status page (in the visitor's language) and on the lobby display within their poll, and goes
when staff take it down."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE, TV, _shot, assert_accessible
from tests.factories import (
    MembershipFactory,
    OfficeFactory,
    UserFactory,
    VisitFactory,
    VisitorFactory,
)
from visitors.offices.models import KioskLink

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_message_reaches_open_status_pages_and_the_display(open_page, live_server):
    office = OfficeFactory(name="Riverside Job Center", slug="riverside")
    clerk = UserFactory(username="dana", first_name="Dana")
    MembershipFactory(user=clerk, office=office, role="front_desk")
    visit = VisitFactory(office=office, visitor=VisitorFactory(preferred_language="es"))
    _d, display_token = KioskLink.issue(office=office, label="TV", capability="display")
    base = live_server.url
    errors: list = []

    phone = open_page(errors, viewport=PHONE, has_touch=True, is_mobile=True)
    phone.goto(base + reverse("status:page", args=[visit.status_token]))
    phone.get_by_role("heading", name="Usted es la próxima persona en la fila.").wait_for()
    display = open_page(errors, viewport=TV)
    display.goto(base + reverse("display:open", args=[office.slug, display_token]))
    display.evaluate("window.__sameDocument = true")

    console = open_page(errors, viewport={"width": 1366, "height": 900})
    console.goto(base + reverse("login"))
    console.get_by_label("Username").fill("dana")
    console.get_by_label("Password").fill(PASSWORD)
    console.get_by_role("button", name="Sign in").click()
    console.goto(base + reverse("desk:console", args=[office.slug]))
    console.get_by_text("Today's appointments, messages and closed reasons").click()
    console.get_by_label("Message to everyone waiting").fill("Running 20 minutes behind today.")
    console.get_by_label("The same in Spanish (optional)").fill("Vamos 20 minutos atrasados hoy.")
    console.get_by_label("Show it for").select_option("30")
    console.get_by_role("button", name="Send to everyone waiting").click()
    console.locator(".messages", has_text="Message shown on the status pages").wait_for()

    # Within the polls (5 s on the phone, 2 s on the display), without a reload.
    phone.locator(".office-message", has_text="Vamos 20 minutos atrasados hoy.").wait_for(
        timeout=8_000
    )
    display.locator(".office-messages", has_text="Running 20 minutes behind today.").wait_for(
        timeout=5_000
    )
    assert "Vamos 20 minutos atrasados hoy." in display.locator(".office-messages").inner_text()
    assert display.evaluate("window.__sameDocument") is True
    assert_accessible(phone, "status-office-message")
    _shot(phone, "docs-status-office-message")
    _shot(display, "docs-display-office-message")

    console.get_by_text("Today's appointments, messages and closed reasons").click()
    console.get_by_role("button", name="Take down").click()
    console.locator(".messages", has_text="no longer shown").wait_for()
    display.locator(".office-messages").wait_for(state="detached", timeout=5_000)
    phone.locator(".office-message").wait_for(state="detached", timeout=8_000)
    assert errors == [], errors
