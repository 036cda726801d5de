"""The visitor's language on the staff side: a badge wherever staff meet them, and everything
said or handed to them — the greeting line, "anything else?", the referral printout and text —
in their language, with an "English only" mark where staff wrote no Spanish version."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests.factories import ReasonFactory, VisitFactory, VisitorFactory, aware
from visitors import outbox, services
from visitors.followups.models import FollowUp
from visitors.messaging.models import Reminder
from visitors.offices.models import Language, ReasonForVisit, ReferralPartner
from visitors.visits.lifecycle import Status

pytestmark = pytest.mark.django_db

NOW = aware(2026, 3, 2, 15, 0)  # 09:00 in Riverside (Chicago): open, outside quiet hours
BADGE = '<span class="badge lang" lang="es"'


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def rosa(office):
    """A Spanish speaker who came before about unemployment insurance."""
    visitor = VisitorFactory(
        first_name="Rosa", last_name="Díaz", preferred_language=Language.SPANISH,
        phone="(555) 404-1212", consent_sms=True,
    )  # fmt: skip
    reason = ReasonFactory(
        office=office, label_en="Unemployment insurance", label_es="Seguro de desempleo"
    )
    past = VisitFactory(
        office=office, visitor=visitor, status=Status.LEFT,
        checked_in_at=NOW - dt.timedelta(days=20),
        service_date=office.local_date(NOW - dt.timedelta(days=20)),
        note_for_next_time="Ask how the UI appeal went.",
    )  # fmt: skip
    past.reasons.set([reason])
    return visitor


@pytest.fixture
def called(office, counsellor, rosa):
    visit = VisitFactory(office=office, visitor=rosa)
    services.visit_call(visit=visit, staff=counsellor, desk="Desk 2")
    return visit


@pytest.fixture
def partners():
    return {
        "translated": ReferralPartner.objects.create(
            name="Legal Aid", helps_with="Free legal help with benefits appeals",
            helps_with_es="Ayuda legal gratuita con apelaciones de beneficios",
            phone="555-0100",
        ),
        "english_only": ReferralPartner.objects.create(
            name="Food Bank", helps_with="Groceries this week", phone="555-0101"
        ),
    }  # fmt: skip


def _workspace(client, office, visit, **headers):
    return client.get(reverse("desk:visit", args=[office.slug, visit.pk]), headers=headers).text


def _stage(client, office, visit, stage, data=None, **headers):
    url = reverse("desk:visit_stage", args=[office.slug, visit.pk, stage])
    return client.post(url, data or {}, headers=headers)


def _referred(client, office, visit, partners):
    _stage(client, office, visit, "greeting")
    _stage(client, office, visit, "determining", {"visitor_words": "Apelación"})
    partner_ids = [p.pk for p in partners.values()]
    assert _stage(client, office, visit, "responding", {"partners": partner_ids}).status_code == 302


# --- The greeting line ---------------------------------------------------------------------------


def test_it_greets_a_spanish_speaker_in_spanish_with_the_reason_as_labelled(
    client, office, counsellor, called
):
    """The line is in Spanish, marked lang="es", with the Spanish label in its own case; its
    meaning is under it for staff who read English."""
    client.force_login(counsellor)
    page = _workspace(client, office, called)
    assert (
        '<p class="greeting-line" lang="es">“Hola de nuevo, Rosa — la última vez vino por '
        "Seguro de desempleo.”</p>"
    ) in page
    assert "Meaning: “Welcome back, Rosa — last time you came about Unemployment insurance.”" in (
        page
    )
    assert "your last visit" not in page and "su última visita" not in page


def test_the_note_from_last_time_is_for_staff_beside_the_line_not_in_it(
    client, office, counsellor, called
):
    """The note left for the next greeting is shown as a staff note, outside the quotation."""
    client.force_login(counsellor)
    page = _workspace(client, office, called)
    assert "<strong>Note from last time:</strong> Ask how the UI appeal went." in page
    quoted = page.split('class="greeting-line"')[1].split("</p>")[0]
    assert "appeal" not in quoted


def test_a_last_visit_without_reasons_gets_a_line_without_about(client, office, counsellor):
    """No "your last visit" filler: a returning visitor with no reason on record is welcomed
    back and asked how to help."""
    visitor = VisitorFactory(first_name="Tomás")
    VisitFactory(
        office=office, visitor=visitor, status=Status.LEFT,
        checked_in_at=NOW - dt.timedelta(days=3),
        service_date=office.local_date(NOW - dt.timedelta(days=3)),
    )  # fmt: skip
    visit = VisitFactory(office=office, visitor=visitor)
    services.visit_call(visit=visit, staff=counsellor)
    client.force_login(counsellor)
    page = _workspace(client, office, visit)
    assert "“Welcome back, Tomás — good to see you again. How can I help today?”" in page
    assert "last time you came about" not in page and "your last visit" not in page


def test_several_reasons_are_joined_in_the_visitor_s_language(client, office, counsellor, called):
    """Two reasons read "A y B" in Spanish, in the office's order of reasons."""
    previous = called.visitor.visits.exclude(pk=called.pk).get()
    previous.reasons.add(
        ReasonFactory(office=office, label_en="Help with my résumé", label_es="Mi currículum")
    )
    client.force_login(counsellor)
    page = _workspace(client, office, called)
    assert "la última vez vino por Mi currículum y Seguro de desempleo." in page


def test_a_reason_with_no_spanish_label_is_marked_english_only(client, office, counsellor, called):
    """The English label stands in the Spanish line, and staff are told so."""
    previous = called.visitor.visits.exclude(pk=called.pk).get()
    previous.reasons.add(ReasonFactory(office=office, label_en="WIOA training"))
    client.force_login(counsellor)
    page = _workspace(client, office, called)
    assert "Seguro de desempleo y WIOA training." in page
    assert "English only</span> No Spanish label yet for WIOA training." in page


def test_no_meaning_is_shown_when_staff_and_visitor_share_a_language(client, office, counsellor):
    visitor = VisitorFactory(first_name="Ann")
    visit = VisitFactory(office=office, visitor=visitor)
    services.visit_call(visit=visit, staff=counsellor)
    client.force_login(counsellor)
    page = _workspace(client, office, visit)
    assert '<p class="greeting-line" lang="en">“Welcome, Ann' in page
    assert "Meaning:" not in page


def test_staff_working_in_spanish_see_an_english_speaker_s_line_and_its_meaning(
    client, office, counsellor
):
    """The line follows the visitor, the meaning the staff member's own language."""
    visit = VisitFactory(office=office, visitor=VisitorFactory(first_name="Ann"))
    services.visit_call(visit=visit, staff=counsellor)
    client.force_login(counsellor)
    page = _workspace(client, office, visit, accept_language="es")
    assert '<p class="greeting-line" lang="en">“Welcome, Ann — I\'m glad you came in.' in (
        page.replace("&#x27;", "'")
    )
    assert "Significado: “Le doy la bienvenida, Ann" in page


def test_anything_else_is_asked_in_the_visitor_s_language_also_after_an_htmx_swap(
    client, office, counsellor, called
):
    client.force_login(counsellor)
    _stage(client, office, called, "greeting")
    _stage(client, office, called, "determining", {"visitor_words": "Apelación"})
    swapped = _stage(client, office, called, "responding", {"job_leads": "Two"}, hx_request="true")
    assert "<html" not in swapped.text
    assert '<p class="greeting-line" lang="es">“¿Hay algo más en lo que le pueda ayudar hoy?”' in (
        swapped.text
    )
    assert "Meaning: “Is there anything else I can do for you today?”" in swapped.text


# --- In their words ------------------------------------------------------------------------------


def test_in_their_words_starts_with_what_they_typed_at_the_kiosk(client, office, counsellor):
    """Staff do not retype the kiosk's free text; recording the stage keeps it."""
    visit = VisitFactory(office=office, reason_other="Necesito ayuda con mi apelación")
    services.visit_call(visit=visit, staff=counsellor)
    client.force_login(counsellor)
    _stage(client, office, visit, "greeting")
    page = _workspace(client, office, visit)
    assert "Necesito ayuda con mi apelación</textarea>" in page
    _stage(
        client, office, visit, "determining", {"visitor_words": "Necesito ayuda con mi apelación"}
    )
    visit.refresh_from_db()
    assert visit.visitor_words == "Necesito ayuda con mi apelación"


def test_words_already_on_the_visit_are_kept_with_the_kiosk_s(client, office, counsellor):
    visit = VisitFactory(office=office, reason_other="Apelación", visitor_words="Hearing on Friday")
    services.visit_call(visit=visit, staff=counsellor)
    client.force_login(counsellor)
    _stage(client, office, visit, "greeting")
    assert "Apelación\nHearing on Friday</textarea>" in _workspace(client, office, visit)


# --- Badges --------------------------------------------------------------------------------------


def test_the_workspace_shows_the_language_of_a_spanish_speaker(client, office, counsellor, called):
    client.force_login(counsellor)
    page = _workspace(client, office, called)
    heading = page.split("<h1>")[1].split("</h1>")[0]
    assert BADGE in heading and ">Español</span>" in heading


def test_an_english_speaker_gets_no_badge(client, office, counsellor):
    visit = VisitFactory(office=office)
    services.visit_call(visit=visit, staff=counsellor)
    client.force_login(counsellor)
    assert 'class="badge lang"' not in _workspace(client, office, visit)


def test_follow_ups_show_the_language_of_a_spanish_speaker(client, office, counsellor, rosa):
    follow_up = FollowUp.objects.create(
        office=office, visitor=rosa, promised_on=rosa.visits.get(), assigned_to=counsellor,
        due_on=office.local_date(), note="Call about the appeal",
    )  # fmt: skip
    FollowUp.objects.create(
        office=office, visitor=VisitorFactory(first_name="Ann"), promised_on=VisitFactory(
            office=office, status=Status.LEFT), assigned_to=counsellor,
        due_on=office.local_date(), note="Call Ann",
    )  # fmt: skip
    client.force_login(counsellor)
    listing = client.get(reverse("desk:follow_ups", args=[office.slug])).text
    rows = listing.split("<tbody>")[1].split("</tr>")
    assert [BADGE in row for row in rows if "Call" in row] == [True, False]
    page = client.get(reverse("desk:follow_up", args=[office.slug, follow_up.pk])).text
    assert BADGE in page.split("<h1>")[1].split("</h1>")[0]
    assert '<dd lang="es">Español</dd>' in page


# --- Referrals -----------------------------------------------------------------------------------


def test_the_referral_printout_is_in_the_visitor_s_language(
    client, office, counsellor, called, partners
):
    """Headings, date and descriptions in Spanish; a description with no Spanish version is
    printed in English, marked for staff on screen only; the staff's own page stays theirs."""
    client.force_login(counsellor)
    _referred(client, office, called, partners)
    page = client.get(reverse("desk:visit_referrals", args=[office.slug, called.pk])).text
    assert '<html lang="en">' in page and "Sign out" in page
    printable = page.split('<section class="card printable" lang="es">')[1].split("</section>")[0]
    assert "Dónde le remitimos — 2 de marzo de 2026" in printable
    assert "<p>Ayuda legal gratuita con apelaciones de beneficios</p>" in printable
    assert "Teléfono: 555-0100" in printable
    assert (
        '<p><span lang="en">Groceries this week</span> '
        '<small class="no-print badge flag" lang="en">English only</small></p>'
    ) in printable
    assert "Free legal help" not in printable


def test_an_english_speaker_s_printout_has_no_english_only_mark(
    client, office, counsellor, partners
):
    visit = VisitFactory(office=office)
    services.visit_call(visit=visit, staff=counsellor)
    client.force_login(counsellor)
    _referred(client, office, visit, partners)
    page = client.get(reverse("desk:visit_referrals", args=[office.slug, visit.pk])).text
    assert "Free legal help with benefits appeals" in page and "Groceries this week" in page
    assert "English only" not in page


def test_the_workspace_lists_referrals_in_the_visitor_s_language(
    client, office, counsellor, called, partners
):
    client.force_login(counsellor)
    _referred(client, office, called, partners)
    page = _workspace(client, office, called)
    assert '<span lang="es">Ayuda legal gratuita con apelaciones de beneficios</span>' in page
    assert (
        '<span lang="en">Groceries this week</span> <span class="badge flag">English only</span>'
    ) in page


def _text_sent(office, memory_sms) -> str:
    [(pk, claim)] = outbox.reminders_claim(now=NOW)
    assert outbox.reminder_deliver(reminder_id=pk, claim=claim, now=NOW) == "sent"
    return memory_sms[-1].body


def test_the_referral_text_describes_each_partner_in_english_for_an_english_speaker(
    office, counsellor, partners, memory_sms
):
    visitor = VisitorFactory(phone="(555) 404-1313", consent_sms=True)
    visit = VisitFactory(office=office, visitor=visitor)
    for partner in partners.values():
        visit.referrals.create(partner=partner)
    assert services.visit_send_referrals(visit=visit, by=counsellor)
    body = _text_sent(office, memory_sms)
    assert "Legal Aid: Free legal help with benefits appeals 555-0100" in body
    assert "Food Bank: Groceries this week 555-0101" in body


def test_the_referral_text_describes_partners_only_in_spanish_for_a_spanish_speaker(
    office, rosa, partners, memory_sms
):
    """A description with no Spanish version is left out of a Spanish text: the name and the
    phone number still say where to go."""
    visit = rosa.visits.get()
    partner_rows = [
        {"name": p.name, "phone": p.phone, "website": p.website, "address": p.address,
         "helps_with": p.helps_with, "helps_with_es": p.helps_with_es}
        for p in partners.values()
    ]  # fmt: skip
    Reminder.objects.create(
        office=office, visitor=rosa, visit=visit, kind=Reminder.Kind.REFERRAL_DETAILS,
        channel="sms", due_at=NOW, idempotency_key="referral-details:test",
        context={"partners": partner_rows},
    )  # fmt: skip
    body = _text_sent(office, memory_sms)
    assert "Legal Aid: Ayuda legal gratuita con apelaciones de beneficios 555-0100" in body
    assert "Food Bank 555-0101" in body
    assert "Groceries" not in body and "Free legal help" not in body


def test_a_long_description_is_cut_short_for_a_text(office, counsellor, memory_sms):
    visitor = VisitorFactory(phone="(555) 404-1313", consent_sms=True)
    visit = VisitFactory(office=office, visitor=visitor)
    partner = ReferralPartner.objects.create(name="Adult School", helps_with="Classes " * 40)
    visit.referrals.create(partner=partner)
    services.visit_send_referrals(visit=visit, by=counsellor)
    line = next(x for x in _text_sent(office, memory_sms).splitlines() if "Adult School" in x)
    assert len(line) <= len("Adult School: ") + 80 and line.endswith("…")


# --- The texts staff enter with a Spanish version -------------------------------------------------


def test_texts_fall_back_to_english_and_say_so_only_for_a_spanish_speaker(office):
    partner = ReferralPartner(name="X", helps_with="Legal help")
    reason = ReasonForVisit(office=office, label_en="Training", closed_note="Full today")
    assert partner.helps_with_for("es") == "Legal help"
    assert partner.helps_with_is_english_only("es") and not partner.helps_with_is_english_only("en")
    partner.helps_with_es = "Ayuda legal"
    assert (partner.helps_with_for("es"), partner.helps_with_for("en")) == (
        "Ayuda legal", "Legal help"
    )  # fmt: skip
    assert not partner.helps_with_is_english_only("es")
    assert (reason.closed_note_for("es"), reason.closed_note_is_english_only("es")) == (
        "Full today", True
    )  # fmt: skip
    reason.closed_note_es = "Lleno hoy"
    assert reason.closed_note_for("es") == "Lleno hoy" and reason.closed_note_for("en") == (
        "Full today"
    )
    assert not reason.label_is_english_only("en") and reason.label_is_english_only("es")


def test_the_printout_is_for_this_office_s_staff(client, office, outsider, called):
    url = reverse("desk:visit_referrals", args=[office.slug, called.pk])
    assert client.get(url).status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 404
