"""The kiosk knows the office's hours and closures: outside them it says so (both languages, the
hours, when it opens next, the phone) and takes no check-in; near closing it warns, and it never
quotes a wait that runs past closing."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import VisitFactory
from visitors.offices.models import (
    WEEKDAYS,
    Office,
    validate_closed_dates,
    validate_opening_hours,
)
from visitors.visits.models import KioskFlow, Visit

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
WEEKDAYS_9_TO_5 = {d: [["09:00", "17:00"]] for d in WEEKDAYS[:5]}


def chicago(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHICAGO)


@pytest.fixture
def office(office):
    office.opening_hours = WEEKDAYS_9_TO_5
    office.phone = "(555) 201-0000"
    office.save()
    return office


def test_on_a_sunday_evening_it_says_closed_and_takes_no_check_in(tablet, office, reasons):
    with time_machine.travel(chicago(2026, 11, 29, 19, 30), tick=False):  # a Sunday
        page = tablet.home().text
        assert "We are closed now" in page and "Estamos cerrados" in page
        assert "We open again Monday 30 November at 09:00." in page
        assert "Abrimos de nuevo el lunes 30 de noviembre a las 09:00." in page
        assert "09:00–17:00" in page and "(555) 201-0000" in page
        assert 'name="language"' not in page  # no way in
        # A tablet that still shows the welcome screen from before closing: the step is refused.
        refused = tablet.start()
        assert "We are closed now" in refused.text
        assert not KioskFlow.objects.exists()
        tablet.check_in_new("Ana", "Ruiz", reasons[0])
        assert not Visit.objects.exists()


def test_a_closed_date_closes_a_weekday(tablet, office):
    office.closed_dates = ["2026-12-24"]
    office.save()
    with time_machine.travel(chicago(2026, 12, 24, 11, 0), tick=False):  # a Thursday
        page = tablet.home().text
        assert "We are closed now" in page
        assert "We open again Friday 25 December at 09:00." in page
    with time_machine.travel(chicago(2026, 12, 23, 11, 0), tick=False):
        assert "We are closed now" not in tablet.home().text


def test_near_closing_it_warns_and_quotes_no_wait_past_closing(tablet, office, reasons, clerk):
    with time_machine.travel(chicago(2026, 11, 30, 16, 30), tick=False):  # Monday, 30 min left
        for minutes in range(12):  # a long line, each visit with the default service time
            VisitFactory(
                office=office, ticket_number=500 + minutes,
                checked_in_at=timezone.now() - dt.timedelta(minutes=minutes),
            )  # fmt: skip
        welcome = tablet.home().text
        assert "We close at 17:00: if the line is long, we may not reach you today." in welcome
        ticket = tablet.check_in_new("Ana", "Ruiz", reasons[0]).text
        assert "We may not reach you today: we close at 17:00." in ticket
        assert "Estimated wait" not in ticket
        visit = Visit.objects.get(visitor__first_name="Ana")
        assert (visit.quoted_wait_min, visit.quoted_wait_max) == (None, None)


def test_in_the_morning_it_quotes_the_wait(tablet, office, reasons):
    with time_machine.travel(chicago(2026, 11, 30, 10, 0), tick=False):
        VisitFactory(office=office, ticket_number=500)
        welcome = tablet.home().text
        assert "We close at" not in welcome
        ticket = tablet.check_in_new("Ana", "Ruiz", reasons[0]).text
        assert "Estimated wait:" in ticket and "may not reach you" not in ticket
        assert Visit.objects.get(visitor__first_name="Ana").quoted_wait_max is not None


def test_spans_that_meet_at_midnight_are_one_opening():
    office = Office(time_zone="America/Chicago", opening_hours={
        "mon": [["00:00", "24:00"]], "tue": [["00:00", "12:00"]],
    })  # fmt: skip
    assert office.closes_at(chicago(2026, 11, 30, 23, 50)) == chicago(2026, 12, 1, 12, 0)
    assert office.closes_at(chicago(2026, 12, 1, 13, 0)) is None
    assert office.next_opening(chicago(2026, 12, 1, 13, 0)) == chicago(2026, 12, 7, 0, 0)
    always = Office(time_zone="UTC", opening_hours={d: [["00:00", "24:00"]] for d in WEEKDAYS})
    assert always.closes_at(timezone.now()) > timezone.now() + dt.timedelta(days=6)


def test_hours_and_closed_dates_are_validated_with_a_message():
    validate_opening_hours({"fri": [["08:00", "24:00"]]})
    with pytest.raises(ValidationError, match="opening must be before closing"):
        validate_opening_hours({"fri": [["24:00", "08:00"]]})
    validate_closed_dates(["2026-12-24"])
    with pytest.raises(ValidationError, match="is not a date like 2026-12-24"):
        validate_closed_dates(["24/12/2026"])
    with pytest.raises(ValidationError, match="must be a list"):
        validate_closed_dates("2026-12-24")


def test_the_office_chooses_a_printable_ticket(tablet, office, reasons):
    with time_machine.travel(chicago(2026, 11, 30, 10, 0), tick=False):
        ticket = tablet.check_in_new("Ana", "Ruiz", reasons[0]).text
        assert "Print my ticket" not in ticket
        office.kiosk_ticket_print = True
        office.save()
        ticket = tablet.check_in_new("Bea", "Soto", reasons[0]).text
        assert 'id="print-ticket"' in ticket and 'id="keep-ticket"' in ticket


def test_after_hours_a_call_back_request_lands_in_the_inbox(tablet, office, client, clerk):
    from django.test import Client
    from django.urls import reverse

    from tests.factories import VisitorFactory
    from visitors.messaging.models import Conversation, ConversationMessage

    known = VisitorFactory(first_name="Rosa", last_name="Díaz", phone="(555) 301-0001")
    with time_machine.travel(chicago(2026, 11, 29, 19, 30), tick=False):  # a Sunday evening
        page = tablet.home().text
        assert "Leave your number and we will call you back" in page
        refused = tablet.post("callback", name="", phone="12")
        assert refused.status_code == 422
        assert "Please type your name." in refused.text and "area code" in refused.text
        assert not ConversationMessage.objects.exists()
        for _twice in range(2):  # a double tap keeps one request
            done = tablet.post("callback", name="Rosa", phone="555-301-0001",
                               words="<b>Help</b> with my claim")  # fmt: skip
            assert "We will call you back when we open." in done.text
        message = ConversationMessage.objects.get()
        assert "Rosa, 555-301-0001: <b>Help</b> with my claim" in message.body
        thread = Conversation.objects.get()
        assert (thread.office, thread.visitor) == (office, known)
        assert thread.awaiting_reply_since is not None
        assert not Visit.objects.exists()
    staff = Client()
    staff.force_login(clerk)
    inbox = staff.get(reverse("desk:inbox", args=[office.slug])).text
    assert "Call-back requested at the kiosk after hours" in inbox
    assert "<b>Help</b>" not in inbox  # shown as text, never as markup


def test_no_call_back_when_the_office_does_not_offer_it_or_is_open(tablet, office):
    from visitors.messaging.models import ConversationMessage

    office.kiosk_after_hours_callback = False
    office.save()
    with time_machine.travel(chicago(2026, 11, 29, 19, 30), tick=False):
        assert "call you back" not in tablet.home().text
        tablet.post("callback", name="Rosa", phone="555-301-0001")
    with time_machine.travel(chicago(2026, 11, 30, 10, 0), tick=False):
        office.kiosk_after_hours_callback = True
        office.save()
        assert "Welcome" in tablet.post("callback", name="Rosa", phone="555-301-0001").text
    assert not ConversationMessage.objects.exists()
