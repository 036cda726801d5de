"""The kiosk and the console driven by keyboard alone: Tab to move, Enter and Space to act,
arrow keys inside a radio group — no mouse, no touch. Every control reached shows where the
focus is (an outline or a ring), and each step's new screen takes the focus."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.e2e.conftest import DESKTOP, TABLET, assert_accessible
from tests.factories import MembershipFactory, OfficeFactory, ReasonFactory, UserFactory
from visitors.offices.models import KioskLink, Service
from visitors.people.models import Visitor
from visitors.services import visit_check_in
from visitors.visits.lifecycle import Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db(transaction=True)

FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return {name: "", tag: "body", type: "", ring: false};
    const style = getComputedStyle(e);
    const label = (e.labels && e.labels.length) ? e.labels[0].innerText : "";
    return {
        name: (e.getAttribute("aria-label") || label || e.innerText || e.value || "").trim(),
        tag: e.tagName.toLowerCase(), type: e.type || "",
        ring: style.outlineStyle !== "none" && style.outlineWidth !== "0px"
              || style.boxShadow !== "none",
    };
}"""


def tab_to(page, name: str, *, limit: int = 60, backwards: bool = False) -> dict:
    """Press Tab until the focused control's name contains ``name``; fail if it never does."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focused = page.evaluate(FOCUSED)
        seen.append(focused["name"][:40])
        if name in focused["name"]:
            assert focused["ring"], f"no visible focus on {focused}"
            return focused
    raise AssertionError(f"Tab never reached {name!r}; went through {seen}")


def choose_radio(page, name: str, *, limit: int = 10) -> None:
    """Inside a focused radio group, arrow down until the radio named ``name`` is checked."""
    for _ in range(limit):
        focused = page.evaluate(FOCUSED)
        if name in focused["name"]:
            page.keyboard.press("Space")
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no radio {name!r} in the group")


@pytest.fixture
def office(live_server):
    office = OfficeFactory(name="Riverside Job Center", slug="riverside", kiosk_reset_seconds=60)
    ReasonFactory(office=office, label_en="Looking for work")
    ReasonFactory(office=office, label_en="Unemployment claim")
    Service.objects.create(name="Job search assistance", reporting_code="BCS-102")
    return office


def test_the_kiosk_by_keyboard_alone(open_page, live_server, office):
    errors: list = []
    _link, token = KioskLink.issue(office=office, label="Lobby")
    page = open_page(errors, viewport=TABLET)
    page.goto(live_server.url + reverse("kiosk:open", args=[office.slug, token]))
    tab_to(page, "Check in")
    page.keyboard.press("Enter")
    page.get_by_label("First name").wait_for()
    tab_to(page, "First name")
    page.keyboard.type("Keisha")
    page.keyboard.press("Tab")
    page.keyboard.type("Okafor")
    tab_to(page, "Next")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="This is my first visit").wait_for()
    tab_to(page, "This is my first visit")
    page.keyboard.press("Enter")
    page.get_by_text("Unemployment claim").wait_for()
    tab_to(page, "Unemployment claim")
    page.keyboard.press("Space")
    tab_to(page, "Next")
    page.keyboard.press("Enter")
    page.get_by_label("Mobile number (optional)").wait_for()
    tab_to(page, "Text me when I'm called")
    tab_to(page, "Check in")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="You are checked in!").wait_for()
    assert_accessible(page, "keyboard-kiosk-ticket")
    visit = Visit.objects.get()
    assert (visit.visitor.first_name, visit.visitor.last_name) == ("Keisha", "Okafor")
    assert list(visit.reasons.values_list("label_en", flat=True)) == ["Unemployment claim"]
    assert errors == [], errors


def test_the_console_by_keyboard_alone(open_page, live_server, office):
    errors: list = []
    clerk = UserFactory(username="dana")
    MembershipFactory(user=clerk, office=office, role="front_desk")
    visit_check_in(office=office, visitor=Visitor.objects.create(first_name="Tom", last_name="Li"))
    page = open_page(errors, viewport=DESKTOP)
    page.goto(live_server.url + reverse("login"))
    tab_to(page, "Username")
    page.keyboard.type("dana")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(live_server.url + reverse("desk:console", args=[office.slug]))
    tab_to(page, "Your desk")
    page.keyboard.type("Desk 2")
    tab_to(page, "Call next")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Greeted").wait_for()
    tab_to(page, "Greeted")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Record determining").wait_for()
    tab_to(page, "What they need")
    page.keyboard.type("A forklift licence")
    tab_to(page, "Record determining")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Record responding").wait_for()
    tab_to(page, "Job search assistance")
    page.keyboard.press("Space")
    tab_to(page, "Record responding")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Record concluding").wait_for()
    tab_to(page, "Resolved")  # the outcome group: Tab enters it, arrows move inside it
    choose_radio(page, "Resolved")
    tab_to(page, "Record concluding")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Record future reference").wait_for()
    tab_to(page, "Record future reference")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Finish visit").wait_for()
    tab_to(page, "Finish visit")
    page.keyboard.press("Enter")
    page.locator("#done-h", has_text="(1)").wait_for()
    assert_accessible(page, "keyboard-console-done")
    visit = Visit.objects.get()
    assert (visit.status, visit.outcome, visit.desk) == (Status.DONE, "resolved", "Desk 2")
    assert visit.visitor_words == "A forklift licence"
    assert [s.service.name for s in visit.services_given.all()] == ["Job search assistance"]
    assert errors == [], errors
