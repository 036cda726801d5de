"""Joining the line from a phone, in a real browser on a phone's screen: the office's public page,
the form, the code by text, the status page, "time to head in", "I'm here" with the code on the
lobby display, and the call. Then a returning visitor, recognised only once the code proves the
number. Pages are checked with axe-core and photographed (docs-public-*, docs-join-*)."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.e2e.conftest import PHONE, TV, _shot, assert_accessible
from tests.factories import (
    MembershipFactory,
    OfficeFactory,
    ReasonFactory,
    UserFactory,
    VisitFactory,
    VisitorFactory,
    zone_at_midday,
)
from visitors import services, sms
from visitors.messaging.models import Reminder, ReminderKind
from visitors.offices.models import KioskLink
from visitors.visits.lifecycle import Status
from visitors.visits.models import Source, Visit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(live_server, settings):
    settings.SMS_BACKEND = "visitors.sms.MemoryBackend"
    sms.MemoryBackend.outbox = []
    office = OfficeFactory(
        name="Riverside Job Center", slug="riverside", time_zone=zone_at_midday(), remote_join=True,
        address="100 River St, Springfield", phone="555-0100",
    )  # fmt: skip
    ReasonFactory(office=office, label_en="Looking for work", label_es="Busco trabajo")
    ReasonFactory(office=office, label_en="Unemployment claim", label_es="Desempleo")
    dana = UserFactory(username="dana", first_name="Dana")
    MembershipFactory(user=dana, office=office, role="front_desk")
    return {"office": office, "base": live_server.url, "dana": dana}


def _code() -> str:
    return re.search(r"code is (\d{6})", sms.MemoryBackend.outbox[-1].body).group(1)


def _join(page, base, office, *, first, last, phone, travel="About 20 minutes", shots=False):
    page.goto(base + reverse("public:office", args=[office.slug]))
    if shots:
        assert_accessible(page, "public office page")
        _shot(page, "docs-public-office")
    page.get_by_role("link", name="Join the line now").click()
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Looking for work").check()
    page.get_by_label("How long will it take you to get here?").select_option(label=travel)
    page.get_by_label("Mobile number").fill(phone)
    page.get_by_label("Text me a code now").check()
    if shots:
        assert_accessible(page, "join form")
        _shot(page, "docs-join-form")
    page.get_by_role("button", name="Text me a code").click()
    page.get_by_label("The 6-digit code we texted you").wait_for()
    if shots:
        assert_accessible(page, "join code")
        _shot(page, "docs-join-code")
    page.get_by_label("The 6-digit code we texted you").fill(_code())
    page.get_by_role("button", name="Keep my place").click()
    page.locator("#status-panel").wait_for()


def test_a_phone_joins_heads_in_says_i_m_here_and_is_called(open_page, world):
    office, base = world["office"], world["base"]
    now = timezone.now()
    # Six people are here already: at twelve minutes each, far longer than a 20-minute trip.
    ahead = [
        VisitFactory(
            office=office, ticket_number=100 + n, checked_in_at=now - dt.timedelta(minutes=30 - n)
        )
        for n in range(6)
    ]
    errors: list = []
    phone = open_page(errors, viewport=PHONE, is_mobile=True, has_touch=True)
    _join(phone, base, office, first="Rosa", last="Delgado", phone="(312) 555-0199", shots=True)

    visit = Visit.objects.get(source=Source.REMOTE)
    assert visit.on_the_way and visit.head_in_at is None
    assert phone.get_by_text("You are on your way").is_visible()
    assert phone.get_by_text("You are number 7 in line.").is_visible()
    assert_accessible(phone, "status page on the way")
    _shot(phone, "docs-join-on-the-way")

    # The line moves: five called. The estimate falls under 20 minutes: "time to head in".
    for _ in range(5):
        services.queue_call_next(office=office, staff=world["dana"])
    visit.refresh_from_db()
    assert visit.head_in_at is not None
    head_in = Reminder.objects.get(visit=visit, kind=ReminderKind.HEAD_IN)
    assert head_in.context["ticket"] == visit.ticket_code
    phone.get_by_text("It is time to head in.").wait_for(timeout=15_000)

    # In the lobby: the display shows the code; "I'm here" on the phone takes it.
    _link, token = KioskLink.issue(office=office, label="TV", capability="display")
    tv = open_page(errors, viewport=TV)
    tv.goto(base + reverse("display:open", args=[office.slug, token]))
    code = tv.locator("#lobby-code").inner_text().strip()
    assert re.fullmatch(r"\d{4}", code)
    _shot(tv, "docs-join-lobby-code")
    phone.get_by_label("The 4-digit code on the lobby screen").fill(code)
    phone.get_by_role("button", name="I'm here").click()
    phone.get_by_text("You are on your way").wait_for(state="detached")
    visit.refresh_from_db()
    assert not visit.on_the_way and visit.arrived_by == "lobby_code"

    # The last one ahead is called, then Rosa: her phone says so.
    services.queue_call_next(office=office, staff=world["dana"])
    called = services.queue_call_next(office=office, staff=world["dana"], desk="Desk 2")
    assert called == visit
    phone.get_by_text("Now go to Desk 2.").wait_for(timeout=15_000)
    _shot(phone, "docs-join-called")
    assert [v.status for v in Visit.objects.filter(pk__in=[a.pk for a in ahead])] == [
        Status.CALLED
    ] * 6
    assert errors == []


def test_a_returning_visitor_is_greeted_by_name_only_after_the_code(open_page, world):
    office, base = world["office"], world["base"]
    known = VisitorFactory(first_name="Guadalupe", last_name="Ramírez", phone="312-555-0142",
                           preferred_name="Lupe")  # fmt: skip
    errors: list = []
    phone = open_page(errors, viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(base + reverse("public:office", args=[office.slug]))
    phone.get_by_role("link", name="Join the line now").click()
    phone.get_by_label("First name").fill("Guadalupe")
    phone.get_by_label("Last name").fill("Ramirez")
    phone.get_by_label("Looking for work").check()
    phone.get_by_label("Mobile number").fill("312 555 0142")
    phone.get_by_label("Text me a code now").check()
    phone.get_by_role("button", name="Text me a code").click()
    phone.get_by_label("The 6-digit code we texted you").wait_for()
    # Before the code: nothing says the name is known.
    assert "Lupe" not in phone.content()
    phone.get_by_label("The 6-digit code we texted you").fill(_code())
    phone.get_by_role("button", name="Keep my place").click()
    phone.locator("#status-panel").wait_for()
    assert Visit.objects.get().visitor == known
    assert phone.get_by_text("Welcome back, Lupe").is_visible()
    assert errors == []
