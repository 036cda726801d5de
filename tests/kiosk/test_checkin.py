"""The kiosk's check-in, screen by screen, through the real views and database."""

import datetime as dt

import pytest
import segno
from django.urls import reverse
from django.utils import timezone

from tests.factories import VisitFactory, VisitorFactory
from visitors.offices.models import KioskLink
from visitors.people.models import PriorityCategory, Visitor
from visitors.selectors import visitor_match
from visitors.views.kiosk import FLAG_SEVERAL, FLAG_WRONG_ANSWERS, KIOSK_COOKIE
from visitors.visits.lifecycle import Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db


# --- The kiosk link ------------------------------------------------------------------------------


def test_it_stays_locked_without_a_kiosk_link(client, office):
    response = client.get(reverse("kiosk:home", args=[office.slug]))
    assert response.status_code == 403
    assert "not set up" in response.text


def test_it_binds_a_tablet_with_its_link_and_refuses_a_wrong_one(client, office, kiosk_link):
    _link, token = kiosk_link
    wrong = client.get(reverse("kiosk:open", args=[office.slug, "x" * 43]))
    assert wrong.status_code == 404
    opened = client.get(reverse("kiosk:open", args=[office.slug, token]))
    assert opened.status_code == 302
    cookie = opened.cookies[KIOSK_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert client.get(opened["Location"]).status_code == 200


def test_a_revoked_link_locks_the_tablet_again(tablet, kiosk_link):
    assert tablet.home().status_code == 200
    KioskLink.objects.filter(pk=kiosk_link[0].pk).update(revoked_at=timezone.now())
    assert tablet.home().status_code == 403


def test_a_link_for_one_office_does_not_open_another(client, kiosk_link, other_office):
    client.cookies[KIOSK_COOKIE] = kiosk_link[1]
    assert client.get(reverse("kiosk:home", args=[other_office.slug])).status_code == 403


def test_a_staff_login_does_not_open_the_kiosk(client, office, clerk):
    client.force_login(clerk)
    assert client.get(reverse("kiosk:home", args=[office.slug])).status_code == 403


# --- A new visitor -------------------------------------------------------------------------------


def test_it_checks_in_a_new_visitor_in_english(tablet, reasons, office):
    welcome = tablet.home()
    assert "Check in" in welcome.text and "Registrarse" in welcome.text
    name = tablet.start("en")
    assert "What is your name?" in name.text
    assert "<html" not in name.text  # an htmx partial, not a page
    verify = tablet.name("Aaliyah", "Brooks")
    assert "Have you been here before?" in verify.text
    choose = tablet.first_visit()
    assert "What brings you in today?" in choose.text
    assert "Looking for work" in choose.text
    contact = tablet.reasons(reasons[0], other="Forklift licence")
    assert "Can we text or email you?" in contact.text
    ticket = tablet.contact(phone="(555) 310-2288", notify_when_called="on", email="")
    assert ticket.status_code == 200
    visit = Visit.objects.get()
    assert visit.ticket_code == "A-001"
    assert visit.ticket_code in ticket.text
    assert "You are next in line." in ticket.text
    assert "Estimated wait" in ticket.text
    status_url = "http://testserver" + reverse("status:page", args=[visit.status_token])
    # The tablet draws the QR code of this visit's status page (kiosk.js; the browser tests
    # scan it), but there is no tappable link on a shared tablet.
    assert f'data-qr="{status_url}"' in ticket.text and "<svg" not in ticket.text
    assert "href=" not in ticket.text.replace(f'href="/kiosk/{office.slug}/"', "")
    assert (visit.visitor.first_name, visit.visitor.last_name) == ("Aaliyah", "Brooks")
    assert list(visit.reasons.all()) == [reasons[0]]
    assert visit.reason_other == "Forklift licence"
    assert visit.notify_when_called and visit.visitor.consent_sms
    assert visit.quoted_wait_min is not None


def test_it_checks_in_in_spanish(tablet, reasons):
    name = tablet.start("es")
    assert "¿Cómo se llama?" in name.text
    assert 'lang="es"' in name.text
    tablet.name("María", "López")
    choose = tablet.first_visit()
    assert "Busco trabajo" in choose.text
    tablet.reasons(reasons[0])
    ticket = tablet.contact()
    assert "¡Listo, ya tiene su turno!" in ticket.text
    assert Visit.objects.get().visitor.preferred_language == "es"


def test_it_works_without_htmx_as_plain_pages(client, office, kiosk_link, reasons):
    from tests.kiosk.conftest import Tablet

    client.cookies[KIOSK_COOKIE] = kiosk_link[1]
    plain = Tablet(client, office, htmx=False)
    page = plain.start()
    assert "<html" in page.text and "What is your name?" in page.text
    ticket = plain.check_in_new("Sam", "Lee", reasons[0])
    visit = Visit.objects.get(visitor__first_name="Sam")
    # No script to draw the QR code: the server draws it.
    status_url = "http://testserver" + reverse("status:page", args=[visit.status_token])
    qr = segno.make(status_url, error="m", mask=0).svg_inline(scale=5, border=2, title="QR")
    assert qr in ticket.text and "data-qr=" not in ticket.text


def test_it_records_priority_of_service_with_the_office_notice(tablet, reasons, office):
    tablet.start()
    tablet.name("Marcus", "Bell")
    tablet.first_visit()
    contact = tablet.reasons(reasons[0])
    assert "armed forces" in contact.text
    assert office.priority_notice_en[:40] in contact.text
    tablet.contact(priority_category=PriorityCategory.COVERED_VETERAN)
    visit = Visit.objects.get()
    assert visit.priority == 1
    assert visit.visitor.priority_category == PriorityCategory.COVERED_VETERAN


# --- A returning visitor -------------------------------------------------------------------------


def test_it_greets_a_returning_visitor_by_name_after_the_second_factor(tablet, jose, reasons):
    tablet.start()
    tablet.name("jose", "GARCIA")
    welcome = tablet.verify(phone_last4="4477")
    assert "Welcome back, José!" in welcome.text
    # His usual reason is marked "last time", and nothing is ticked for him.
    reasons_page = welcome.text.split('<fieldset class="reasons">')[1].split("</fieldset>")[0]
    assert 'name="reasons"' in reasons_page and " checked" not in reasons_page
    marked = [line for line in welcome.text.splitlines() if "last time" in line]
    assert len(marked) == 1 and f'value="{reasons[1].pk}"' in marked[0]
    tablet.reasons(reasons[1])
    tablet.contact()
    assert Visitor.objects.count() == 1
    assert Visit.objects.filter(visitor=jose, status=Status.WAITING).count() == 1


def test_it_says_the_same_for_a_wrong_answer_whether_or_not_a_record_exists(
    tablet, jose, client, office
):
    """The kiosk never reveals that someone by that name has been here."""
    tablet.start()
    tablet.name("José", "García")
    known = tablet.verify(phone_last4="9999")
    tablet.start()
    tablet.name("Nobody", "Atall")
    unknown = tablet.verify(phone_last4="9999")
    assert known.status_code == unknown.status_code == 422
    assert "We could not find you with that" in known.text

    def visible(text):  # leave out the per-response tokens
        return "\n".join(
            line
            for line in text.splitlines()
            if 'name="state"' not in line and "csrfmiddlewaretoken" not in line
        )

    assert visible(known.text) == visible(unknown.text)
    assert "José" not in known.text


def test_it_continues_as_new_and_flags_after_three_wrong_answers(tablet, jose, reasons):
    tablet.start()
    tablet.name("Jose", "Garcia")
    tablet.verify(phone_last4="1111")
    tablet.verify(phone_last4="2222")
    third = tablet.verify(phone_last4="3333")
    assert "What brings you in today?" in third.text
    assert "Welcome back" not in third.text
    tablet.reasons(reasons[0])
    tablet.contact()
    visit = Visit.objects.get(status=Status.WAITING)
    assert visit.visitor != jose
    assert visit.identity_flag == FLAG_WRONG_ANSWERS


def test_it_tells_a_visitor_already_waiting_without_showing_the_ticket(tablet, jose, office):
    waiting = VisitFactory(office=office, visitor=jose, ticket_number=7, ticket_code="A-007")
    tablet.start()
    tablet.name("José", "García")
    screen = tablet.verify(phone_last4="4477")
    assert "You are already in line." in screen.text
    assert "A-007" not in screen.text and waiting.status_token not in screen.text
    assert "ask at the front desk" in screen.text
    assert Visit.objects.filter(visitor=jose, status=Status.WAITING).get() == waiting


# --- Bad input -----------------------------------------------------------------------------------


def test_it_asks_for_a_name_when_it_is_empty_in_the_visitor_s_language(tablet):
    tablet.start("es")
    response = tablet.name("   ", "")
    assert response.status_code == 422
    assert "Por favor, escriba su nombre aquí." in response.text


def test_it_refuses_an_over_long_name_with_a_message(tablet):
    tablet.start()
    response = tablet.name("A" * 101, "Smith")
    assert response.status_code == 422
    assert "at most 100 characters" in response.text


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("王", "小明"),
        ("محمد", "الحسن"),
        ("Zoë 🌻", "O’Brien-Núñez"),
        ("<script>alert(1)</script>", "X"),
    ],
)
def test_it_keeps_names_in_any_script_exactly_and_shows_them_inert(tablet, reasons, first, last):
    tablet.start()
    tablet.name(first, last)
    tablet.first_visit()
    tablet.reasons(reasons[0])
    ticket = tablet.contact()
    assert ticket.status_code == 200
    visitor = Visitor.objects.get()
    assert (visitor.first_name, visitor.last_name) == (first, last)
    assert "<script>alert(1)</script>" not in ticket.text


def test_a_double_tapped_check_in_makes_one_visit(tablet, reasons):
    tablet.start()
    tablet.name("Dana", "Cole")
    tablet.first_visit()
    tablet.reasons(reasons[0])
    state = tablet.state
    first = tablet.contact()
    tablet.state = state
    second = tablet.contact()
    assert Visit.objects.count() == 1 and Visitor.objects.count() == 1
    code = Visit.objects.get().ticket_code
    assert code in first.text and code in second.text


def test_a_tampered_or_stale_form_starts_over_quietly(tablet, reasons):
    tablet.start()
    tablet.state = tablet.state[:-3] + "abc"
    response = tablet.name("Eve", "Mallory")
    assert "Check in" in response.text and "Registrarse" in response.text
    assert Visitor.objects.count() == 0


def test_it_needs_a_reason_or_words(tablet, reasons):
    tablet.start()
    tablet.name("Ana", "Ruiz")
    tablet.first_visit()
    response = tablet.reasons()
    assert response.status_code == 422
    assert "Please choose at least one reason" in response.text


def test_a_reason_closed_for_the_day_is_shown_but_cannot_be_chosen(tablet, reasons, office):
    reasons[2].closed_on = office.local_date()
    reasons[2].closed_note = "Programme full"
    reasons[2].save()
    tablet.start()
    tablet.name("Ana", "Ruiz")
    screen = tablet.first_visit()
    assert "Unemployment insurance — full today: Programme full" in screen.text
    reasons_page = screen.text.split('<fieldset class="reasons">')[1].split("</fieldset>")[0]
    assert f'value="{reasons[0].pk}"' in reasons_page
    assert f'value="{reasons[2].pk}"' not in reasons_page
    refused = tablet.reasons(reasons[2])
    assert refused.status_code == 422


def test_texting_needs_a_phone_number(tablet, reasons):
    tablet.check_in_new("Ana", "Ruiz", reasons[0], notify_when_called="on")
    assert tablet.last.status_code == 422
    assert "Type your mobile number" in tablet.last.text
    assert Visit.objects.count() == 0


# --- Reset: nothing of the last visitor stays -----------------------------------------------


def test_it_keeps_nothing_of_the_visitor_in_the_browser(tablet, reasons):
    ticket = tablet.check_in_new("Priscilla", "Quintero", reasons[0], phone="(555) 877-1234")
    assert 'data-reset-after="15"' in ticket.text
    assert "no-store" in ticket["Cache-Control"]
    welcome = tablet.home()
    assert "no-store" in welcome["Cache-Control"]
    for trace in ("Priscilla", "Quintero", "877-1234", 'name="state" value="ey'):
        assert trace not in welcome.text
    assert 'autocomplete="off"' in tablet.start().text


def test_the_idle_timeout_comes_from_the_office(tablet, office):
    office.kiosk_idle_seconds = 30
    office.save()
    assert 'data-idle-seconds="30"' in tablet.home().text


HEADINGS = {
    "en": [
        "What is your name?", "Have you been here before?", "What brings you in today?",
        "Can we text or email you?", "You are checked in!",
    ],
    "es": [
        "¿Cómo se llama?", "¿Ha venido antes?", "¿Qué le trae por aquí hoy?",
        "¿Podemos enviarle mensajes de texto o correos electrónicos?", "¡Listo, ya tiene su turno!",
    ],
}  # fmt: skip


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_screen_speaks_the_chosen_language(tablet, reasons, language):
    screens = [
        tablet.start(language),
        tablet.name("Lucía", "Méndez"),
        tablet.first_visit(),
        tablet.reasons(reasons[0]),
        tablet.contact(),
    ]
    for screen, heading in zip(screens, HEADINGS[language], strict=True):
        assert screen.status_code == 200
        assert f">{heading}</h1>" in screen.text
        assert f'lang="{language}"' in screen.text


# --- Two people who both fit: never greet one of them -------------------------------------------


@pytest.fixture
def two_hannahs(office):
    """Two people a typed "Hannah Alvarez" fits, whose phones end the same way, in a crowd: a
    dozen other Alvarez share those four digits (1 in 10,000 is ordinary in a state's
    population) and fifty other Hannah Alvarez came before the second one, so she is far down
    any shortlist ranked by name alone."""
    figueroa = VisitorFactory(
        first_name="Hannah",
        last_name="Figueroa Alvarez",
        phone="(555) 777-3344",
        birth_date=dt.date(1985, 9, 30),
    )
    for n in range(12):
        VisitorFactory(first_name=f"Zed{n}", last_name="Alvarez", phone=f"(555) 4{n:02d}-3344")
    for n in range(50):
        VisitorFactory(first_name="Hannah", last_name="Alvarez", phone=f"(555) 600-{n:04d}")
    castillo = VisitorFactory(
        first_name="Hannah",
        last_name="Alvarez Castillo",
        phone="(555) 201-3344",
        birth_date=dt.date(1990, 4, 12),
    )
    return castillo, figueroa


def _birthday_screen(page) -> bool:
    return 'name="birth_month"' in page.text and 'name="phone_last4"' not in page.text


def test_two_sharing_a_name_and_the_digits_are_told_apart_by_the_birthday(
    tablet, two_hannahs, reasons
):
    """Neither is greeted on the digits: the kiosk asks the birth month and day, in the words it
    always uses for them, and greets the one they single out."""
    castillo, figueroa = two_hannahs
    tablet.start()
    tablet.name("Hannah", "Alvarez")
    asked = tablet.verify(phone_last4="3344")
    assert "Welcome back" not in asked.text and "Hannah" not in asked.text
    assert _birthday_screen(asked)
    assert "choose your birth month and day so we can find you" in asked.text
    assert "several" not in asked.text.lower()
    greeted = tablet.verify(birth_month="4", birth_day="12")
    assert "Welcome back, Hannah" in greeted.text
    tablet.reasons(reasons[0])
    tablet.contact()
    visit = Visit.objects.get()
    assert (visit.visitor, visit.identity_flag) == (castillo, "")


def test_a_birthday_that_fits_neither_can_be_tried_again_then_goes_on_as_new_and_flagged(
    tablet, two_hannahs, reasons
):
    tablet.start()
    tablet.name("Hannah", "Alvarez")
    tablet.verify(phone_last4="3344")
    wrong = tablet.verify(birth_month="1", birth_day="1")
    assert wrong.status_code == 422 and "We could not find you with that" in wrong.text
    assert _birthday_screen(wrong)
    on = tablet.verify(birth_month="2", birth_day="2")  # the third try: on as new
    assert "Welcome back" not in on.text and 'name="reasons"' in on.text
    tablet.reasons(reasons[0])
    tablet.contact()
    visit = Visit.objects.get()
    assert visit.visitor not in two_hannahs  # a new record, for the desk to merge
    assert visit.identity_flag == FLAG_SEVERAL


def test_two_the_other_factor_cannot_tell_apart_go_on_as_new_and_flagged(
    tablet, two_hannahs, reasons
):
    """No birthday on file for either: asking it could single out nobody, so nobody is asked."""
    for person in two_hannahs:
        person.birth_date = None
        person.save()
    tablet.start()
    tablet.name("Hannah", "Alvarez")
    answered = tablet.verify(phone_last4="3344")
    assert "Welcome back" not in answered.text and 'name="reasons"' in answered.text
    assert "several" not in answered.text.lower()
    tablet.reasons(reasons[0])
    tablet.contact()
    visit = Visit.objects.get()
    assert visit.visitor not in two_hannahs
    assert visit.identity_flag == FLAG_SEVERAL


def test_at_a_birthday_office_two_sharing_the_birthday_are_asked_the_phone_digits(
    tablet, office, two_hannahs, reasons
):
    castillo, figueroa = two_hannahs
    office.second_factor = "birth_month_day"
    office.save(update_fields=["second_factor"])
    figueroa.birth_date, figueroa.phone = castillo.birth_date, "(555) 777-9999"
    figueroa.save()
    tablet.start()
    tablet.name("Hannah", "Alvarez")
    asked = tablet.verify(birth_month="4", birth_day="12")
    assert 'name="phone_last4"' in asked.text and "Welcome back" not in asked.text
    assert "type the last 4 digits of your phone number so we can find you" in asked.text
    assert "Welcome back, Hannah" in tablet.verify(phone_last4="3344").text


def test_both_factors_given_must_both_agree(two_hannahs):
    """The phone digits and a birthday together tell the two apart: only the one whose record
    has both is confirmed; digits with another's birthday confirm nobody."""
    castillo, figueroa = two_hannahs
    found = visitor_match(first_name="Hannah", last_name="Alvarez", phone_last4="3344",
                          birth_month_day=(4, 12))  # fmt: skip
    assert [c.visitor for c in found if c.confirmed] == [castillo]
    mixed = visitor_match(first_name="Hannah", last_name="Alvarez Castillo",
                          phone_last4="3344", birth_month_day=(9, 30))  # fmt: skip
    assert not [c for c in mixed if c.confirmed and c.visitor == castillo]
