"""A busy morning at the staff side, in a real browser at 1440 px: fifteen people waiting with
their languages, priorities and badges; a returning Spanish speaker at a desk; her history and a
past visit opened. Every page is checked with axe-core and photographed (``make screenshots``
copies the set to docs/screenshots/)."""

import datetime as dt

import pytest
import time_machine
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
    zone_at_midday,
)
from visitors import services
from visitors.offices.models import ReferralPartner, Service
from visitors.people.models import PriorityCategory
from visitors.visits.lifecycle import Outcome, Stage, Status
from visitors.visits.models import ServiceGiven

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1440, "height": 900}
NAMES = [
    ("Aaliyah", "Brooks", "en"), ("José", "Ramírez", "es"), ("Mei", "Chen", "en"),
    ("DeShawn", "Carter", "en"), ("Guadalupe", "Torres", "es"), ("Olena", "Kovalenko", "en"),
    ("Marcus", "Johnson", "en"), ("Ana", "Flores", "es"), ("Tom", "Nguyen", "en"),
    ("Fatima", "Haddad", "en"), ("Luis", "Morales", "es"), ("Grace", "Kim", "en"),
    ("Samuel", "Okafor", "en"), ("Rosa", "Díaz", "es"), ("Kevin", "O'Brien", "en"),
]  # fmt: skip


@pytest.fixture
def morning(live_server):
    office = OfficeFactory(name="Riverside Job Center", slug="riverside",
                           time_zone=zone_at_midday())  # fmt: skip
    work = ReasonFactory(office=office, label_en="Looking for work", label_es="Busco trabajo")
    claim = ReasonFactory(office=office, label_en="Unemployment claim", label_es="Desempleo")
    training = ReasonFactory(office=office, label_en="WIOA training", label_es="Capacitación WIOA")
    service = Service.objects.create(name="Résumé review", reporting_code="BCS-105")
    partner = ReferralPartner.objects.create(
        name="Second Harvest Food Bank", helps_with="Groceries this week", phone="555-0100"
    )
    clerk = UserFactory(username="dana", first_name="Dana", last_name="Reyes")
    MembershipFactory(user=clerk, office=office, role="counsellor")
    now = timezone.now()
    # Her last visit, two weeks ago: served through the five stages with a note for next time.
    then = now - dt.timedelta(days=14, hours=2)
    with time_machine.travel(then, tick=True):
        maria = VisitorFactory(first_name="María José", last_name="Hernández",
                               preferred_language="es", phone="5552014477")  # fmt: skip
        past = VisitFactory(office=office, visitor=maria,
                            checked_in_at=then - dt.timedelta(minutes=25),
                            status=Status.IN_SERVICE, called_at=then - dt.timedelta(minutes=2),
                            called_by=clerk, reason_other="UI appeal letter")  # fmt: skip
        past.reasons.add(claim)
        for stage, data in [
            (Stage.GREETING, {}),
            (Stage.DETERMINING, {"visitor_words": "My claim was denied; I need help to appeal",
                                 "reasons": [claim]}),
            (Stage.RESPONDING, {"services": [service], "partners": [partner], "barriers": [],
                                "job_leads": "Warehouse, 2nd shift — apply online"}),
            (Stage.CONCLUDING, {"outcome": Outcome.REFERRED, "notes": "Appeal filed together",
                                "still_open": ""}),
            (Stage.FUTURE_REFERENCE, {"note_for_next_time": "Ask how the UI appeal went"}),
        ]:  # fmt: skip
            services.visit_stage_record(visit=past, stage=stage, by=clerk, data=data)
        services.visit_finish(visit=past, by=clerk)
    assert ServiceGiven.objects.filter(visit=past).exists()
    # This morning's line.
    for i, (first, last, language) in enumerate(NAMES):
        visit = VisitFactory(
            office=office, checked_in_at=now - dt.timedelta(minutes=48 - 3 * i),
            visitor=VisitorFactory(first_name=first, last_name=last, preferred_language=language,
                                   priority_category=PriorityCategory.COVERED_VETERAN if i == 3
                                   else PriorityCategory.NONE),
            priority=1 if i == 3 else 0, reason_other="Forklift licence" if i == 5 else "",
        )  # fmt: skip
        visit.reasons.add([work, claim, training][i % 3])
    today = VisitFactory(office=office, visitor=maria, checked_in_at=now - dt.timedelta(minutes=5))
    today.reasons.add(claim)
    return {"office": office, "clerk": clerk, "maria": maria, "past": past, "today": today,
            "base": live_server.url}  # fmt: skip


def test_a_busy_morning_at_1440_px(open_page, morning):
    errors: list = []
    base, office = morning["base"], morning["office"]
    page = open_page(errors, viewport=WIDE)
    page.goto(base + reverse("login"))
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/desk/**")

    # Sixteen waiting fit the board: the rows are compact and the headers stay in view.
    rows = page.locator("#queue-board section[aria-labelledby=waiting-h] tbody tr")
    assert rows.count() == 16
    assert page.locator(".badge.lang").count() == 6
    _shot(page, "docs-console")
    last_row = rows.nth(15).bounding_box()
    assert last_row["y"] + last_row["height"] <= WIDE["height"] * 1.35, last_row
    assert_accessible(page, "staff-day-console")
    page.mouse.wheel(0, 400)
    header = page.locator(
        "#queue-board section[aria-labelledby=waiting-h] thead th"
    ).first.bounding_box()
    assert header["y"] >= -1, header  # sticky: still on screen after scrolling

    # Her row: the language badge; the desk calls her and the workspace greets her in Spanish.
    page.get_by_label("Your desk").fill("Desk 3")
    maria_row = page.locator(
        "#queue-board section[aria-labelledby=waiting-h] tbody tr", has_text="María José"
    )
    assert maria_row.locator(".badge.lang").inner_text() == "Español"
    maria_row.get_by_role("button", name="Call").click()
    page.wait_for_url("**/visits/**")
    greeting = page.locator(".greeting-line").first
    assert "María José" in greeting.inner_text()
    assert greeting.get_attribute("lang") == "es" or page.locator(".greeting-line[lang=es]").count()
    assert_accessible(page, "staff-day-workspace")
    _shot(page, "docs-workspace")

    # Her history, and last visit opened: stages with who and when, her words, the notes.
    page.goto(base + reverse("desk:visitor", args=[office.slug, morning["maria"].pk]))
    assert_accessible(page, "staff-day-history")
    _shot(page, "docs-history")
    page.get_by_role("link", name=morning["past"].ticket_code).first.click()
    page.get_by_text("My claim was denied; I need help to appeal").wait_for()
    for text in (
        "Appeal filed together",
        "Ask how the UI appeal went",
        "Résumé review",
        "BCS-105",
        "Second Harvest Food Bank",
        "Warehouse, 2nd shift",
        "Dana Reyes",
    ):
        assert text in page.content(), text  # fmt: skip
    assert_accessible(page, "staff-day-past-visit")
    _shot(page, "docs-past-visit")
    assert errors == [], errors
