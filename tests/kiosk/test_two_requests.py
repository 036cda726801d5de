"""A check-in in two requests: "who are you" (identify) and "what for" (finish).

The welcome screen carries the name screen in both languages and the tablet turns the pages
itself (static/js/kiosk.js; the browser tests drive it). These tests post what it posts."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests.factories import OfficeFactory, ReasonFactory, VisitFactory
from visitors.offices.models import KioskLink
from visitors.views.kiosk import FLAG_WRONG_ANSWERS
from visitors.visits.lifecycle import Status
from visitors.visits.models import KioskFlow, Visit

pytestmark = pytest.mark.django_db


def test_the_welcome_screen_carries_the_name_screen_in_both_languages(tablet):
    page = tablet.home().text
    assert page.count("<template data-identify=") == 2
    english = page.split('<template data-identify="en">')[1].split("</template>")[0]
    spanish = page.split('<template data-identify="es">')[1].split("</template>")[0]
    assert "What is your name?" in english and 'name="lang" value="en"' in english
    assert "¿Cómo se llama?" in spanish and 'name="lang" value="es"' in spanish
    for screen in (english, spanish):
        assert 'name="step" value="identify"' in screen
        assert 'name="state" value=""' in screen  # no flow until the name is sent
    assert KioskFlow.objects.count() == 0


def test_a_new_visitor_checks_in_with_two_requests(tablet, reasons):
    screen = tablet.identify("Aaliyah", "Brooks", language="es")
    assert screen.status_code == 200
    assert "¿Qué le trae por aquí hoy?" in screen.text  # reasons, in Spanish
    assert 'name="step" value="finish"' in screen.text and tablet.state
    ticket = tablet.finish(reasons[0], phone="(555) 201-3344", notify_when_called="on")
    assert ticket.status_code == 200 and 'class="ticket"' in ticket.text
    visit = Visit.objects.get()
    assert visit.visitor.first_name == "Aaliyah"
    assert visit.visitor.preferred_language == "es"
    assert list(visit.reasons.all()) == [reasons[0]]
    assert visit.notify_when_called is True
    assert ticket.text.count(visit.ticket_code) >= 1


def test_a_returning_visitor_is_found_and_greeted_in_one_request(tablet, jose, reasons):
    screen = tablet.identify("jose", "GARCIA", phone_last4="4477")
    assert "Welcome back, José!" in screen.text
    marked = [line for line in screen.text.splitlines() if "last time" in line]
    assert len(marked) == 1 and f'value="{reasons[1].pk}"' in marked[0]
    tablet.finish(reasons[1])
    assert Visit.objects.get(status=Status.WAITING).visitor == jose


def test_a_wrong_answer_is_asked_again_and_counts_on_the_flow(tablet, jose, reasons):
    wrong = tablet.identify("José", "García", phone_last4="9999")
    assert wrong.status_code == 422
    assert "We could not find you with that." in wrong.text
    assert 'name="step" value="verify"' in wrong.text  # asked again on its own screen
    assert tablet.verify(phone_last4="1111").status_code == 422
    on_as_new = tablet.verify(phone_last4="2222")  # the third wrong answer: on as new
    assert "Welcome back" not in on_as_new.text and "What brings you in today?" in on_as_new.text
    assert KioskFlow.objects.get().attempts == 3
    tablet.finish(reasons[0])
    visit = Visit.objects.get(status=Status.WAITING)
    assert visit.visitor != jose and visit.identity_flag == FLAG_WRONG_ANSWERS


def test_the_same_words_for_a_wrong_answer_whether_or_not_the_name_is_known(tablet, jose):
    known = tablet.identify("José", "García", phone_last4="9999")
    unknown = tablet.identify("Nobody", "Atall", phone_last4="9999")
    assert known.status_code == unknown.status_code == 422
    strip = lambda text: text.replace(tablet.state, "")  # noqa: E731
    assert len(strip(known.text).split("csrfmiddlewaretoken")) == len(
        strip(unknown.text).split("csrfmiddlewaretoken")
    )
    assert "José" not in known.text and "Nobody" not in unknown.text


def test_a_name_left_out_is_asked_for_with_what_was_typed_kept(tablet):
    screen = tablet.identify("  ", "Brooks", language="es", phone_last4="12")
    assert screen.status_code == 422
    assert "Por favor, escriba su nombre aquí." in screen.text
    assert 'value="Brooks"' in screen.text
    assert 'name="lang" value="es"' in screen.text and 'name="state" value=""' in screen.text
    assert KioskFlow.objects.count() == 0  # nothing kept of a name not given


def test_a_malformed_answer_is_shown_on_its_page(tablet):
    screen = tablet.identify("Ana", "Ruiz", phone_last4="12ab")
    assert screen.status_code == 422
    assert "Please type exactly 4 digits." in screen.text
    assert KioskFlow.objects.count() == 0


def test_a_language_it_does_not_speak_starts_over(tablet):
    screen = tablet.identify("Ana", "Ruiz", language="xx")
    assert 'data-screen="welcome"' in screen.text
    assert KioskFlow.objects.count() == 0


def test_after_hours_the_name_screen_starts_nothing(tablet, office):
    office.opening_hours = {"mon": [["09:00", "17:00"]]}
    office.save()
    sunday_night = dt.datetime(2026, 11, 29, 23, 0, tzinfo=office.zone)
    with time_machine.travel(sunday_night, tick=False):
        screen = tablet.identify("Ana", "Ruiz")
    assert 'data-screen="closed"' in screen.text
    assert KioskFlow.objects.count() == 0 and Visit.objects.count() == 0


def test_another_tablet_s_key_starts_over(tablet, client, office):
    other_link, _token = KioskLink.issue(office=office, label="Other")
    other = KioskFlow.start(link=other_link, data={"lang": "en"})
    tablet.state = other.key
    screen = tablet.identify("Ana", "Ruiz")
    assert 'data-screen="welcome"' in screen.text


def test_nothing_chosen_is_asked_for_and_nothing_is_made(tablet, reasons):
    tablet.identify("Ana", "Ruiz")
    screen = tablet.finish(phone="(555) 201-3344")
    assert screen.status_code == 422
    assert "Please choose at least one reason, or tell us below." in screen.text
    assert 'value="(555) 201-3344"' in screen.text  # the contact page keeps what was typed
    assert Visit.objects.count() == 0
    contact = tablet.finish(reasons[0], notify_when_called="on")  # texts without a number
    assert contact.status_code == 422 and "Type your mobile number" in contact.text
    assert f'value="{reasons[0].pk}" checked' in contact.text
    assert Visit.objects.count() == 0
    assert tablet.finish(reasons[0]).status_code == 200
    assert Visit.objects.count() == 1


def test_the_last_request_sent_ten_times_makes_one_visit(tablet, reasons):
    tablet.identify("Ana", "Ruiz")
    state = tablet.state
    for _ in range(10):
        tablet.state = state
        assert 'class="ticket"' in tablet.finish(reasons[0]).text
    assert Visit.objects.count() == 1


def test_a_returning_visitor_already_in_line_is_told_so_and_shown_nothing_of_it(
    tablet, jose, office
):
    """Whoever knows a name and four digits must not get that visit's ticket or status link
    (which can take it out of the line)."""
    waiting = VisitFactory(office=office, visitor=jose, status=Status.WAITING)
    screen = tablet.identify("José", "García", phone_last4="4477")
    assert "You are already in line." in screen.text
    assert waiting.ticket_code not in screen.text
    assert waiting.status_token not in screen.text
    assert Visit.objects.filter(visitor=jose, status=Status.WAITING).count() == 1


def test_without_javascript_the_same_screens_post_one_at_a_time(tablet, reasons):
    """The language button posts (the tablet did not turn the page): the name screen comes
    from the server with a flow, and the same identify and finish steps go on from it."""
    screen = tablet.start("es")
    assert 'name="step" value="identify"' in screen.text and tablet.state
    flows = KioskFlow.objects.count()
    tablet.identify("Ana", "Ruiz", language="en")  # the flow's language wins
    assert KioskFlow.objects.count() == flows
    tablet.finish(reasons[0])
    assert Visit.objects.get().visitor.preferred_language == "es"


def test_the_kiosk_s_screens_link_back_to_the_welcome_screen(tablet):
    screen = tablet.identify("Ana", "Ruiz")
    assert reverse("kiosk:home", args=[tablet.office.slug]) in screen.text


def test_another_office_s_reason_is_refused_and_nothing_is_made(tablet, reasons):
    theirs = ReasonFactory(office=OfficeFactory(slug="hillside"), label_en="Their reason")
    tablet.identify("Ana", "Ruiz")
    screen = tablet.finish(theirs)
    assert screen.status_code == 422
    assert "Their reason" not in screen.text
    assert Visit.objects.count() == 0


def test_a_returning_visitor_s_last_request_sent_again_shows_the_same_ticket(tablet, jose, reasons):
    """Not "already in line": the visit in line is this very form's, so it is a repeat."""
    tablet.identify("José", "García", phone_last4="4477")
    state = tablet.state
    screens = []
    for _ in range(3):
        tablet.state = state
        screens.append(tablet.finish(reasons[0]))
    visit = Visit.objects.get(visitor=jose, status=Status.WAITING)
    for screen in screens:
        assert screen.status_code == 200
        assert "You are already in line." not in screen.text
        assert visit.ticket_code in screen.text
