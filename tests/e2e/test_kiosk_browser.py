"""A new and a returning visitor check in on the kiosk in a real browser (tablet viewport)."""

import datetime as dt
import re

import pytest
import zxingcpp
from django.urls import reverse
from django.utils import timezone

from tests.e2e.conftest import _shot, assert_accessible, kiosk_to_contact_page
from tests.factories import OfficeFactory, ReasonFactory, VisitFactory, VisitorFactory
from visitors.offices.models import KioskLink
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db(transaction=True)

MODULE = re.compile(r"M(\d+),(\d+)l5,0")


def _scanned(page) -> str | None:
    """What a phone reads from the QR code the tablet drew: its dark modules (5 px squares
    after 10 px of margin, in the SVG's path) painted 4 px each on white and decoded by
    zxing-cpp, as a scanner would."""
    path = page.locator(".qr svg path").get_attribute("d")
    dark = [((int(y) - 10) // 5, (int(x) - 10) // 5) for x, y in MODULE.findall(path)]
    modules = max(max(r, c) for r, c in dark) + 1
    scale, quiet = 4, 4
    size = (modules + 2 * quiet) * scale
    pixels = bytearray([255]) * (size * size)
    for r, c in dark:
        for dy in range(scale):
            start = ((r + quiet) * scale + dy) * size + (c + quiet) * scale
            pixels[start : start + scale] = bytes(scale)
    found = zxingcpp.read_barcode(memoryview(bytes(pixels)).cast("B", (size, size)))
    return found.text if found is not None else None


@pytest.fixture
def kiosk(live_server):
    office = OfficeFactory(name="Riverside Job Center", slug="riverside", kiosk_reset_seconds=3)
    reasons = [
        ReasonFactory(office=office, label_en="Looking for work", label_es="Busco trabajo"),
        ReasonFactory(
            office=office, label_en="Help with my résumé", label_es="Ayuda con mi currículum"
        ),
    ]
    _link, token = KioskLink.issue(office=office, label="Lobby")
    url = live_server.url + reverse("kiosk:open", args=[office.slug, token])
    return office, reasons, url


def test_a_new_visitor_checks_in_without_a_page_reload(tablet_page, kiosk):
    office, reasons, url = kiosk
    page = tablet_page
    page.goto(url)
    page.evaluate("window.__sameDocument = true")  # lost if any step reloads the page
    _shot(page, "kiosk-welcome")
    kiosk_to_contact_page(page)
    page.get_by_role("radio", name="No").check()
    page.get_by_role("button", name="Check in").tap()
    page.get_by_role("heading", name="You are checked in!").wait_for()
    assert page.locator(".ticket").inner_text() == "A-001"
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator(".qr svg").count() == 1
    visit = Visit.objects.get()
    status_url = page.url.split("/kiosk/")[0] + reverse("status:page", args=[visit.status_token])
    assert _scanned(page) == status_url  # the tablet drew this visit's status page
    _shot(page, "kiosk-ticket")
    # After the confirmation the kiosk starts over by itself, leaving nothing behind.
    page.get_by_role("heading", name="Welcome · Bienvenido").wait_for(timeout=10_000)
    assert "Aaliyah" not in page.content() and "A-001" not in page.content()
    assert page.evaluate("history.length") <= 2
    visit = Visit.objects.get()
    assert (visit.visitor.first_name, visit.status) == ("Aaliyah", Status.WAITING)


def test_a_returning_visitor_is_greeted_by_name_in_spanish(tablet_page, kiosk):
    office, reasons, url = kiosk
    jose = VisitorFactory(first_name="José", last_name="García", phone="(555) 201-4477")
    past = VisitFactory(
        office=office, visitor=jose, status=Status.DONE,
        service_date=timezone.localdate() - dt.timedelta(days=14), called_at=timezone.now(),
        greeted_at=timezone.now(), determined_at=timezone.now(), responded_at=timezone.now(),
        concluded_at=timezone.now(), outcome=Outcome.RESOLVED,
    )  # fmt: skip
    past.reasons.set([reasons[1]])
    page = tablet_page
    page.goto(url)
    page.get_by_role("button", name="Registrarse Español").tap()
    page.get_by_label("Nombre", exact=True).fill("jose")
    page.get_by_label("Apellido").fill("garcia")
    page.get_by_role("button", name="Siguiente").tap()
    page.locator("input[name=phone_last4]").fill("4477")
    page.get_by_role("button", name="Buscarme").tap()
    page.get_by_role("heading", name="¡Hola de nuevo, José!").wait_for()
    usual = page.locator("label.toggle", has_text="Ayuda con mi currículum")
    assert "la última vez" in usual.inner_text()  # his usual reason, marked
    assert not page.get_by_role(
        "checkbox", name="Ayuda con mi currículum", exact=False
    ).is_checked()
    _shot(page, "kiosk-welcome-back")
    usual.tap()  # he chooses it himself
    page.get_by_role("button", name="Siguiente").tap()
    page.get_by_role("button", name="Registrar llegada").tap()
    page.locator(".ticket").wait_for()
    visit = Visit.objects.get(status=Status.WAITING)
    assert visit.visitor == jose
    assert page.locator(".ticket").inner_text() == visit.ticket_code


def test_an_abandoned_kiosk_starts_over_by_itself(tablet_page, kiosk):
    office, _reasons, url = kiosk
    office.kiosk_idle_seconds = 2
    office.save()
    page = tablet_page
    page.goto(url)
    page.get_by_role("button", name="Check in English").tap()
    page.get_by_label("First name").fill("Walked")
    page.get_by_label("Last name").fill("Away")
    page.get_by_role("heading", name="Welcome · Bienvenido").wait_for(timeout=10_000)
    assert "Walked" not in page.content()
    assert page.locator("input[name=first_name]").count() == 0
    page.go_back()  # nothing to go back to: the reset replaced the page, it did not add one
    assert "Walked" not in page.content()


def test_a_mistake_is_shown_on_the_screen_in_place(tablet_page, kiosk):
    """Error answers (422) are swapped in by htmx, so the visitor sees what to fix."""
    _office, _reasons, url = kiosk
    page = tablet_page
    page.goto(url)
    page.get_by_role("button", name="Check in English").tap()
    page.get_by_label("Last name").fill("Brooks")
    page.get_by_role("button", name="Next").tap()
    page.get_by_text("Please type your name here.").wait_for(timeout=5_000)
    assert page.get_by_label("Last name").input_value() == "Brooks"  # nothing typed is lost


def test_the_ticket_can_be_kept_on_screen_where_the_office_offers_it(tablet_page, kiosk):
    office, reasons, url = kiosk
    office.kiosk_ticket_print = True
    office.save()
    page = tablet_page
    page.goto(url)
    kiosk_to_contact_page(page)
    page.get_by_role("radio", name="No").check()
    page.get_by_role("button", name="Check in").tap()
    page.get_by_role("heading", name="You are checked in!").wait_for()
    assert_accessible(page, "kiosk-ticket-print")
    page.get_by_role("button", name="Keep this on screen").tap()
    page.wait_for_timeout(4_500)  # longer than the office's 3 s ticket time
    assert page.locator(".ticket").inner_text() == "A-001"
    # Printed, the ticket page hides the buttons and the footer.
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Print my ticket").is_visible()
    assert page.locator(".ticket").is_visible()


def test_outside_hours_the_kiosk_says_closed(tablet_page, kiosk):
    office, _reasons, url = kiosk
    office.opening_hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    office.closed_dates = [office.local_date().isoformat(),
                           (office.local_date() + dt.timedelta(days=1)).isoformat()]  # fmt: skip
    office.save()
    page = tablet_page
    page.goto(url)
    page.get_by_role("heading", name="We are closed now · Estamos cerrados").wait_for()
    assert page.get_by_role("button", name="Check in English").count() == 0
    assert_accessible(page, "kiosk-closed")
    _shot(page, "kiosk-closed")
    page.get_by_label("Your name · Su nombre").fill("Rosa")
    page.get_by_label("Your phone number · Su teléfono").fill("555-301-0001")
    page.get_by_role("button", name="Call me back · Llámenme").tap()
    page.get_by_text("Thank you. We will call you back when we open.").wait_for()
    assert_accessible(page, "kiosk-closed-called-back")


def test_a_check_in_is_two_requests_and_the_pages_turn_on_the_tablet(tablet_page, kiosk):
    """The tablet turns the language, name and contact pages itself: the server sees "who are
    you" and "what for", nothing else; Back keeps what was typed."""
    office, reasons, url = kiosk
    page = tablet_page
    page.goto(url)
    posts = []
    page.on("request", lambda r: posts.append(r.post_data) if r.method == "POST" else None)
    page.get_by_role("button", name="Registrarse Español").tap()
    page.get_by_role("heading", name="¿Cómo se llama?").wait_for()
    assert page.locator("html").get_attribute("lang") == "es"
    page.get_by_role("button", name="Siguiente").tap()  # nothing typed: asked, not sent
    page.get_by_text("Por favor, escriba su nombre aquí.").first.wait_for()
    page.get_by_label("Nombre", exact=True).fill("Marisol")
    page.get_by_label("Apellido").fill("Vega")
    page.get_by_role("button", name="Siguiente").tap()
    page.get_by_role("button", name="Atrás").tap()  # back to the name, still there
    assert page.get_by_label("Nombre", exact=True).input_value() == "Marisol"
    page.get_by_role("button", name="Siguiente").tap()
    assert posts == []
    page.get_by_role("button", name="Es mi primera visita").tap()
    page.get_by_text("Busco trabajo").tap()
    page.get_by_role("button", name="Siguiente").tap()
    contact = "¿Podemos enviarle mensajes de texto o correos electrónicos?"
    page.get_by_role("heading", name=contact).wait_for()
    page.get_by_role("button", name="Registrar llegada").tap()
    page.locator(".ticket").wait_for()
    assert len(posts) == 2, posts
    assert "step=identify" in posts[0] and "step=finish" in posts[1]
    visit = Visit.objects.get()
    assert visit.visitor.preferred_language == "es"
    assert list(visit.reasons.all()) == [reasons[0]]


def test_a_mistake_on_the_second_page_opens_on_that_page(tablet_page, kiosk):
    """The server's answer to a bad contact page comes back on the contact page, the reasons
    ticked kept; a fixed answer then checks in."""
    _office, _reasons, url = kiosk
    page = tablet_page
    page.goto(url)
    kiosk_to_contact_page(page)
    page.get_by_label("Text me when I'm called").check()
    page.get_by_role("button", name="Check in").tap()
    page.get_by_text("Type your mobile number").first.wait_for()
    assert page.get_by_label("Mobile number (optional)").is_visible()
    assert not page.get_by_text("Looking for work").is_visible()
    page.get_by_role("button", name="Back").tap()
    assert page.get_by_role("checkbox", name="Looking for work").is_checked()
    page.get_by_role("button", name="Next").tap()
    page.get_by_label("Mobile number (optional)").fill("(555) 201-3344")
    page.get_by_role("button", name="Check in").tap()
    page.get_by_role("heading", name="You are checked in!").wait_for()
    assert Visit.objects.get().notify_when_called is True
