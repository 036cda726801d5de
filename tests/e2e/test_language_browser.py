"""A Spanish speaker at the desk, in a real browser: staff see her language on the console and in
the workspace, the greeting line and "anything else?" are in Spanish with the note from last
time kept apart, and the referral printout is in Spanish with a partner that has no Spanish
description marked "English only" on screen."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.e2e.conftest import DESKTOP, _shot, assert_accessible
from tests.factories import (
    MembershipFactory,
    OfficeFactory,
    ReasonFactory,
    UserFactory,
    VisitFactory,
    VisitorFactory,
)
from visitors.offices.models import Language, ReferralPartner
from visitors.visits.lifecycle import Status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk(live_server):
    office = OfficeFactory(name="Riverside Job Center", slug="riverside", phone="555-0199")
    reason = ReasonFactory(
        office=office, label_en="Unemployment insurance", label_es="Seguro de desempleo"
    )
    clerk = UserFactory(username="dana", first_name="Dana")
    MembershipFactory(user=clerk, office=office, role="front_desk")
    rosa = VisitorFactory(first_name="Rosa", last_name="Díaz", preferred_language=Language.SPANISH)
    earlier = timezone.now() - dt.timedelta(days=20)
    past = VisitFactory(
        office=office, visitor=rosa, status=Status.LEFT, checked_in_at=earlier,
        service_date=office.local_date(earlier), note_for_next_time="Ask how the UI appeal went.",
    )  # fmt: skip
    past.reasons.set([reason])
    visit = VisitFactory(office=office, visitor=rosa, reason_other="Mi apelación")
    visit.reasons.set([reason])
    ReferralPartner.objects.create(
        name="Legal Aid", helps_with="Free legal help with benefits appeals",
        helps_with_es="Ayuda legal gratuita con apelaciones de beneficios", phone="555-0100",
    )  # fmt: skip
    ReferralPartner.objects.create(
        name="Food Bank", helps_with="Groceries this week", phone="555-0101"
    )
    return {
        "visit": visit,
        "login": live_server.url + reverse("login"),
        "console": live_server.url + reverse("desk:console", args=[office.slug]),
    }


def test_a_spanish_speaker_is_greeted_and_referred_in_spanish(open_page, desk):
    errors: list = []
    page = open_page(errors, viewport=DESKTOP)
    page.goto(desk["login"])
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(desk["console"])

    # The console row says which language to greet her in.
    row = page.locator(f"#row-{desk['visit'].pk}")
    badge = row.locator(".badge.lang")
    assert badge.inner_text() == "Español" and badge.get_attribute("lang") == "es"

    row.get_by_role("button", name="Call").click()
    page.wait_for_url("**/visits/**")
    heading = page.get_by_role("heading", level=1)
    assert heading.locator(".badge.lang").inner_text() == "Español"

    line = page.locator(".greeting-line")
    assert line.get_attribute("lang") == "es"
    assert line.inner_text() == (
        "“Hola de nuevo, Rosa — la última vez vino por Seguro de desempleo.”"
    )
    assert "appeal" not in line.inner_text()
    assert page.locator(".meaning").inner_text() == (
        "Meaning: “Welcome back, Rosa — last time you came about Unemployment insurance.”"
    )
    assert page.locator(".staff-note").inner_text() == (
        "Note from last time: Ask how the UI appeal went."
    )
    assert_accessible(page, "workspace-spanish-greeting")

    page.get_by_role("button", name="Greeted").click()
    words = page.get_by_label("What they need, in their words")
    assert words.input_value() == "Mi apelación"  # typed at the kiosk, not retyped
    page.get_by_role("button", name="Record determining").click()
    page.get_by_label("Legal Aid").check()
    page.get_by_label("Food Bank").check()
    page.get_by_role("button", name="Record responding").click()

    concluding = page.locator("#stage-concluding .greeting-line")
    assert concluding.inner_text() == "“¿Hay algo más en lo que le pueda ayudar hoy?”"
    responded = page.locator("#stage-responding")
    assert responded.locator('[lang="es"]', has_text="Ayuda legal gratuita").is_visible()
    food_bank = responded.locator("li", has_text="Food Bank")
    assert food_bank.locator(".badge", has_text="English only").is_visible()
    _shot(page, "workspace-spanish")
    assert_accessible(page, "workspace-spanish-referred")

    page.get_by_role("link", name="Print the referral details").click()
    printout = page.locator("section.printable")
    assert printout.get_attribute("lang") == "es"
    assert printout.get_by_text("Dónde le remitimos").is_visible()
    assert printout.get_by_text("Ayuda legal gratuita con apelaciones de beneficios").is_visible()
    assert printout.get_by_text("Teléfono: 555-0100").is_visible()
    assert printout.get_by_text("¿Preguntas? Llámenos: 555-0199").is_visible()
    mark = printout.locator(".no-print", has_text="English only")
    assert mark.is_visible()
    assert_accessible(page, "referrals-spanish")
    _shot(page, "referrals-spanish")

    # On paper the visitor gets the Spanish page without the staff's marks.
    page.emulate_media(media="print")
    assert not mark.is_visible()
    assert printout.get_by_text("Groceries this week").is_visible()
    assert errors == [], errors
