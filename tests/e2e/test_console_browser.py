"""The console in a real browser: a kiosk check-in appears live, a visit goes through the five
stages, and the lobby display shows the call."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.e2e.conftest import TABLET, _shot, assert_accessible, kiosk_to_contact_page
from tests.factories import (
    MembershipFactory,
    OfficeFactory,
    ReasonFactory,
    UserFactory,
    VisitFactory,
)
from visitors import services
from visitors.offices.models import KioskLink, Service
from visitors.visits.lifecycle import Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def office_setup(live_server):
    office = OfficeFactory(name="Riverside Job Center", slug="riverside", kiosk_reset_seconds=30)
    ReasonFactory(office=office, label_en="Looking for work")
    Service.objects.create(name="Job search assistance", reporting_code="BCS-102")
    clerk = UserFactory(username="dana", first_name="Dana")
    MembershipFactory(user=clerk, office=office, role="front_desk")
    _k, kiosk_token = KioskLink.issue(office=office, label="Lobby")
    _d, display_token = KioskLink.issue(office=office, label="TV", capability="display")
    base = live_server.url
    return {
        "office": office,
        "console": base + reverse("desk:console", args=[office.slug]),
        "login": base + reverse("login"),
        "kiosk": base + reverse("kiosk:open", args=[office.slug, kiosk_token]),
        "display": base + reverse("display:open", args=[office.slug, display_token]),
        "base": base,
    }


def _console_signed_in(open_page, errors: list, office_setup):
    """A browser signed in as the clerk Dana, on the office's console."""
    console = open_page(errors, viewport={"width": 1366, "height": 900})
    console.goto(office_setup["login"])
    console.get_by_label("Username").fill("dana")
    console.get_by_label("Password").fill(PASSWORD)
    console.get_by_role("button", name="Sign in").click()
    console.goto(office_setup["console"])
    return console


def test_check_in_call_serve_and_display(open_page, office_setup):
    errors: list = []
    console = _console_signed_in(open_page, errors, office_setup)
    console.evaluate("window.__sameDocument = true")
    desk = console.get_by_label("Your desk")
    desk.fill("Desk 7")
    desk.focus()

    kiosk = open_page(errors, viewport=TABLET, has_touch=True)
    kiosk.goto(office_setup["kiosk"])
    kiosk_to_contact_page(kiosk)
    kiosk.get_by_role("button", name="Check in").tap()
    kiosk.locator(".ticket").wait_for()

    # The check-in shows on the open console within the poll, without a reload, and the
    # half-typed desk name and the focus are where they were.
    console.locator("#queue-board", has_text="Aaliyah").wait_for(timeout=5_000)
    assert console.evaluate("window.__sameDocument") is True
    assert desk.input_value() == "Desk 7"
    assert console.evaluate("document.activeElement.id") == "desk-name"
    _shot(console, "console")

    display = open_page(errors, viewport={"width": 1280, "height": 720})
    display.goto(office_setup["display"])
    console.get_by_role("button", name="Call next").click()
    display.locator(".now", has_text="A-001").wait_for(timeout=5_000)
    assert "Desk 7" in display.locator(".now").inner_text()
    assert "Aaliyah" not in display.content()
    _shot(display, "display")

    console.get_by_role("button", name="Greeted").click()
    console.get_by_label("What they need, in their words").fill("Warehouse work")
    console.get_by_role("button", name="Record determining").click()
    console.get_by_label("Job search assistance (BCS-102)").check()
    console.get_by_role("button", name="Record responding").click()
    console.get_by_label("Resolved").check()
    console.get_by_role("button", name="Record concluding").click()
    console.get_by_label("Note for the next greeting").fill("Ask about the interview")
    console.get_by_role("button", name="Record future reference").click()
    _shot(console, "workspace")
    console.get_by_role("button", name="Finish visit").click()
    console.locator("#done-h", has_text="(1)").wait_for()
    visit = Visit.objects.get()
    assert (visit.status, visit.outcome, visit.desk) == (Status.DONE, "resolved", "Desk 7")
    assert visit.recorded_stages and len(visit.recorded_stages) == 5
    assert errors == [], errors


def test_a_row_s_call_takes_the_desk_typed_in_the_toolbar(open_page, office_setup):
    """Typed in the toolbar, never submitted there: a row's own Call still records it, so the
    lobby display and the visitor's status page send them to that desk."""
    office = office_setup["office"]
    waiting = VisitFactory(office=office, visitor__first_name="Bea")
    errors: list = []
    console = _console_signed_in(open_page, errors, office_setup)
    assert "Not set" in console.locator("#desk-hint").inner_text()
    console.get_by_label("Your desk").fill("Desk 5")
    console.locator("#queue-board tr", has_text="Bea").get_by_role("button", name="Call").click()
    console.wait_for_url("**/visits/**")
    waiting.refresh_from_db()
    assert (waiting.status, waiting.desk) == (Status.CALLED, "Desk 5")

    display = open_page(errors, viewport={"width": 1280, "height": 720})
    display.goto(office_setup["display"])
    assert "Desk 5" in display.locator(".now").inner_text()
    status = open_page(errors, viewport={"width": 390, "height": 844})
    status.goto(office_setup["base"] + reverse("status:page", args=[waiting.status_token]))
    assert "Desk 5" in status.content()
    console.goto(office_setup["console"])
    assert console.get_by_label("Your desk").input_value() == "Desk 5"  # kept for the session
    assert errors == []


def _three_waiting(office):
    now = timezone.now()
    return [
        VisitFactory(office=office, visitor__first_name=name,
                     checked_in_at=now - dt.timedelta(minutes=30 - 5 * i))
        for i, name in enumerate(["Ann", "Bea", "Cal"])
    ]  # fmt: skip


WAITING_ROWS = "#queue-board section[aria-labelledby=waiting-h] tbody tr"


def _waiting_names(console) -> list[str]:
    return console.locator(f"{WAITING_ROWS} td:nth-child(2) a").all_inner_texts()


def test_undo_after_a_no_show_puts_the_visitor_back_at_their_place(open_page, office_setup):
    ann, _bea, _cal = _three_waiting(office_setup["office"])
    errors: list = []
    console = _console_signed_in(open_page, errors, office_setup)
    console.get_by_label("Your desk").fill("Desk 2")
    console.locator("#queue-board tr", has_text="Ann").get_by_role("button", name="Call").click()
    console.wait_for_url("**/visits/**")
    console.goto(office_setup["console"])
    assert [n.split()[0] for n in _waiting_names(console)] == ["Bea", "Cal"]

    # Put back asks first; saying no changes nothing.
    console.once("dialog", lambda dialog: dialog.dismiss())
    console.locator("#queue-board tr", has_text="Ann").get_by_role(
        "button", name="Put back in line"
    ).click()
    console.wait_for_timeout(300)
    assert Visit.objects.get(pk=ann.pk).status == Status.CALLED

    console.locator("#queue-board tr", has_text="Ann").get_by_role("button", name="No-show").click()
    toast = console.locator(".toast")
    toast.wait_for()
    assert f"{ann.ticket_code} marked as a no-show." in toast.inner_text()
    assert Visit.objects.get(pk=ann.pk).status == Status.NO_SHOW
    assert_accessible(console, "console-undo")
    _shot(console, "console-undo")
    toast.get_by_role("button", name="Undo").click()
    console.locator(".messages", has_text="back in line at their place").wait_for()
    assert [n.split()[0] for n in _waiting_names(console)] == ["Ann", "Bea", "Cal"]
    assert Visit.objects.get(pk=ann.pk).status == Status.WAITING
    assert errors == [], errors


def test_a_no_show_who_comes_back_gets_their_place_back(open_page, office_setup):
    office = office_setup["office"]
    ann, _bea, _cal = _three_waiting(office)
    clerk = office.memberships.get().user
    services.visit_call(visit=ann, staff=clerk, desk="Desk 2")
    services.visit_mark_no_show(visit=ann, by=clerk)
    again = VisitFactory(office=office, visitor=ann.visitor)  # checked in again: a new ticket
    errors: list = []
    console = _console_signed_in(open_page, errors, office_setup)
    assert [n.split()[0] for n in _waiting_names(console)] == ["Bea", "Cal", "Ann"]
    row = console.locator(WAITING_ROWS, has_text="Ann")
    assert f"No-show earlier as {ann.ticket_code}" in row.inner_text()
    row.get_by_role("button", name=f"Give back place {ann.ticket_code}").click()
    console.locator(".messages", has_text="back in line at their place").wait_for()
    assert [n.split()[0] for n in _waiting_names(console)] == ["Ann", "Bea", "Cal"]
    assert console.locator("#queue-board tbody th", has_text=again.ticket_code).count() == 0
    assert errors == [], errors


def test_focus_stays_on_the_control_when_the_queue_changes(open_page, office_setup):
    office = office_setup["office"]
    ann, bea, cal = _three_waiting(office)
    clerk = office.memberships.get().user
    errors: list = []
    console = _console_signed_in(open_page, errors, office_setup)
    console.locator(f"#call-{bea.pk}").focus()
    services.visit_mark_left(visit=cal, by=clerk)  # the queue moves under the staff member
    console.locator("#waiting-h", has_text="(2)").wait_for(timeout=6_000)
    assert console.evaluate("document.activeElement.id") == f"call-{bea.pk}"
    # Their row goes (someone else called Bea): focus lands on the list's heading, not <body>.
    services.visit_call(visit=bea, staff=clerk, desk="Desk 9")
    console.locator("#waiting-h", has_text="(1)").wait_for(timeout=6_000)
    console.wait_for_timeout(200)
    assert console.evaluate("document.activeElement.id") == "waiting-h"
    console.keyboard.press("Tab")
    assert console.evaluate("document.activeElement.tagName") != "BODY"
    assert errors == [], errors
