"""'Got hired!' celebrated and followed through: a line for staff to say in the visitor's
language, congratulations on the status page and in an optional text, and check-ins on the new
job (30 and 90 days unless the office chose others) as two-way staff tasks, counted on the
dashboard.

Personas (tests/conftest.py): ``counsellor`` serves at Riverside; ``manager`` reads its
dashboard; ``outsider`` works at Hillside only.
"""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests.api.conftest import Api
from tests.conftest import _member
from tests.factories import VisitFactory, VisitorFactory, aware
from visitors import dashboard, hires, outbox, services
from visitors.followups.models import FollowUp, FollowUpContact
from visitors.forms import FollowUpContactForm
from visitors.integrations.models import ApiToken
from visitors.messaging.models import Reminder
from visitors.offices.models import StaffRole
from visitors.visits.lifecycle import Outcome, Status

pytestmark = pytest.mark.django_db

# A Monday, 10:00 in Chicago (Riverside's zone): inside opening hours, outside quiet hours.
NOW = aware(2026, 3, 2, 16, 0)
TODAY = dt.date(2026, 3, 2)
OFFER_EN = "We are here for your first weeks too: call us about childcare or transport."
OFFER_ES = "También le acompañamos en las primeras semanas: llámenos por el cuidado o transporte."


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def offering(office):
    office.hire_offer_en, office.hire_offer_es = OFFER_EN, OFFER_ES
    office.save(update_fields=["hire_offer_en", "hire_offer_es"])
    return office


def _serving(office, counsellor, **visitor_fields):
    """A visit with the counsellor, greeted, determined and responded: next is concluding."""
    visitor = VisitorFactory(first_name="Rosa", last_name="Díaz", **visitor_fields)
    visit = VisitFactory(office=office, visitor=visitor)
    services.visit_call(visit=visit, staff=counsellor, desk="Desk 2")
    for stage, data in [
        ("greeting", {}),
        ("determining", {"reasons": [], "visitor_words": "Warehouse interview tomorrow"}),
        ("responding", {"services": [], "partners": [], "job_leads": "Warehouse",
                        "barriers": False}),
    ]:  # fmt: skip
        services.visit_stage_record(visit=visit, stage=stage, by=counsellor, data=data)
    return visit


def _conclude(client, office, visit, **data):
    url = reverse("desk:visit_stage", args=[office.slug, visit.pk, "concluding"])
    return client.post(url, {"outcome": Outcome.HIRED, **data}, headers={"HX-Request": "true"})


@pytest.fixture
def hired(client, offering, counsellor):
    """Rosa, who agreed to texts, concluded "Got hired!" with the text ticked."""
    visit = _serving(offering, counsellor, consent_sms=True)
    client.force_login(counsellor)
    assert _conclude(client, offering, visit, text_congratulations="on").status_code == 200
    return visit


def test_it_schedules_the_30_and_90_day_check_ins_for_whoever_concluded(hired, counsellor):
    """One check-in per office day after the hire, due that many days on, each a task for the
    staff member who recorded it."""
    rows = FollowUp.objects.filter(promised_on=hired).order_by("due_on")
    assert [(f.kind, f.check_in_days, f.due_on, f.assigned_to, f.state) for f in rows] == [
        ("hire_check_in", 30, TODAY + dt.timedelta(days=30), counsellor, "open"),
        ("hire_check_in", 90, TODAY + dt.timedelta(days=90), counsellor, "open"),
    ]
    assert rows[0].note == "Check in on the new job (30 days)"


def test_the_office_chooses_the_days_and_none_is_a_choice(client, office, counsellor):
    """[14] makes one check-in two weeks on; [] makes none (the outcome is still recorded)."""
    client.force_login(counsellor)
    office.hire_check_in_days = [14]
    office.save(update_fields=["hire_check_in_days"])
    two_weeks = _serving(office, counsellor)
    _conclude(client, office, two_weeks)
    assert list(two_weeks.follow_ups_promised.values_list("due_on", flat=True)) == [
        TODAY + dt.timedelta(days=14)
    ]
    office.hire_check_in_days = []
    office.save(update_fields=["hire_check_in_days"])
    none = VisitFactory(office=office, visitor=VisitorFactory(first_name="Lupe"))
    services.visit_call(visit=none, staff=counsellor)
    for stage, data in [("greeting", {}), ("determining", {"reasons": [], "visitor_words": "x"}),
                        ("responding", {"services": [], "partners": [], "job_leads": "y",
                                        "barriers": False})]:  # fmt: skip
        services.visit_stage_record(visit=none, stage=stage, by=counsellor, data=data)
    _conclude(client, office, none)
    none.refresh_from_db()
    assert (none.outcome, none.follow_ups_promised.count()) == (Outcome.HIRED, 0)


def test_following_through_again_makes_nothing_new(hired, counsellor):
    """The check-ins and the text are made once: a second call finds them."""
    before = (FollowUp.objects.count(), Reminder.objects.filter(kind="hired").count())
    again = hires.follow_through(hired, by=counsellor, text=True)
    assert len(again) == 2
    assert (FollowUp.objects.count(), Reminder.objects.filter(kind="hired").count()) == before
    assert before == (2, 1)


def test_a_second_concluding_record_is_refused_and_adds_nothing(client, hired, offering):
    response = _conclude(client, offering, hired, text_congratulations="on")
    assert response.status_code == 422
    assert FollowUp.objects.filter(promised_on=hired).count() == 2
    assert Reminder.objects.filter(visit=hired, kind="hired").count() == 1


def test_staff_see_a_line_to_congratulate_them_in_their_language_with_its_meaning(
    client, offering, counsellor
):
    """A Spanish speaker: the line in Spanish, its meaning in English for staff, the office's
    offer in Spanish, and the check-ins with their dates."""
    visit = _serving(offering, counsellor, preferred_language="es")
    client.force_login(counsellor)
    page = _conclude(client, offering, visit)
    assert "<html" not in page.text  # the htmx partial
    assert '<p class="greeting-line" lang="es">“' in page.text
    assert "Meaning: “Congratulations on the new job, Rosa! That is wonderful news.”" in page.text
    assert f'<span lang="es">{OFFER_ES}</span>' in page.text
    assert "Wed 1 Apr 2026" in page.text and "Sun 31 May 2026" in page.text
    follow_up = visit.follow_ups_promised.get(check_in_days=30)
    assert reverse("desk:follow_up", args=[offering.slug, follow_up.pk]) in page.text


def test_other_outcomes_show_no_congratulation_and_schedule_nothing(client, office, counsellor):
    visit = _serving(office, counsellor, consent_sms=True)
    client.force_login(counsellor)
    page = _conclude(client, office, visit, outcome=Outcome.RESOLVED, text_congratulations="on")
    assert page.status_code == 200
    assert "congratulate them" not in page.text
    assert FollowUp.objects.count() == 0
    assert not Reminder.objects.filter(kind="hired").exists()


def test_the_text_box_is_ticked_for_someone_who_agreed_to_texts_and_absent_otherwise(
    client, office, counsellor
):
    client.force_login(counsellor)
    agreed = _serving(office, counsellor, consent_sms=True)
    page = client.get(reverse("desk:visit", args=[office.slug, agreed.pk]))
    assert 'name="text_congratulations"' in page.text
    assert "Text them congratulations" in page.text
    assert page.context["forms"]["concluding"]["text_congratulations"].initial is True
    other = _serving(office, counsellor, consent_sms=False, email="")
    page = client.get(reverse("desk:visit", args=[office.slug, other.pk]))
    assert 'name="text_congratulations"' not in page.text


def test_ticked_it_queues_one_text_in_their_language_with_the_offer(client, offering, counsellor):
    """A Spanish speaker who agreed to texts: one text, now, in Spanish, with the office's
    offer in Spanish, delivered through the outbox."""
    visit = _serving(offering, counsellor, consent_sms=True, preferred_language="es")
    client.force_login(counsellor)
    _conclude(client, offering, visit, text_congratulations="on")
    reminder = Reminder.objects.get(kind="hired")
    assert (reminder.visit, reminder.channel, reminder.due_at) == (visit, "sms", NOW)
    subject, body = outbox._render(reminder)
    assert subject and body.startswith(f"{offering.name}: ")
    assert OFFER_ES in body and OFFER_EN not in body


def test_unticked_or_without_consent_no_text_is_queued(client, office, counsellor):
    """Not ticked: no text. Ticked by a forged post for someone who never agreed: no text
    either (consent is checked where the text is made, and again when it is sent)."""
    client.force_login(counsellor)
    _conclude(client, office, _serving(office, counsellor, consent_sms=True))
    forged = _serving(office, counsellor, consent_sms=False, email="")
    _conclude(client, office, forged, text_congratulations="on")
    assert not Reminder.objects.filter(kind="hired").exists()
    assert FollowUp.objects.filter(kind="hire_check_in").count() == 4


def test_the_text_waits_for_the_end_of_quiet_hours(hired, offering, memory_sms):
    """Concluded at 21:00 the office's time: the text goes the next morning, not at night."""
    reminder = Reminder.objects.get(kind="hired")
    night = aware(2026, 3, 3, 3, 0)  # 21:00 in Chicago
    Reminder.objects.filter(pk=reminder.pk).update(
        state="sending", claim="c", due_at=night, attempts=1
    )
    assert outbox.reminder_deliver(reminder_id=reminder.pk, claim="c", now=night) == "deferred"
    assert memory_sms == []
    reminder.refresh_from_db()
    assert reminder.due_at == aware(2026, 3, 3, 14, 0)  # 08:00 in Chicago


def test_the_api_stage_endpoint_schedules_the_same_check_ins(client, office):
    """Concluding "hired" through the API follows through in the same transaction."""
    user = _member(office, "office_admin", StaffRole.ADMIN)
    _made, token = ApiToken.issue(name="Case manager", offices=[office], scope="write",
                                  created_by=user)  # fmt: skip
    visit = VisitFactory(office=office, status="called", called_at=NOW)
    base = f"/offices/riverside/visits/{visit.pk}/stages"
    api = Api(client)
    for stage, payload in [
        ("greeting", None),
        ("determining", {"visitor_words": "Got an offer"}),
        ("responding", {"job_leads": "Warehouse"}),
        ("concluding", {"outcome": "hired"}),
    ]:
        assert api("post", f"{base}/{stage}", token, payload).status_code == 200, stage
    assert sorted(visit.follow_ups_promised.values_list("check_in_days", flat=True)) == [30, 90]
    assert not Reminder.objects.filter(kind="hired").exists()  # not asked for


def test_the_status_page_says_congratulations_with_the_offer_and_keeps_the_rating(
    client, hired, offering, counsellor
):
    hired.refresh_from_db()
    services.visit_finish(visit=hired, by=counsellor)
    page = client.get(reverse("status:page", args=[hired.status_token]))
    assert "Congratulations on the new job!" in page.text
    assert OFFER_EN in page.text
    assert reverse("status:rate", args=[hired.status_token]) in page.text
    spanish = client.get(reverse("status:page", args=[hired.status_token]), {"lang": "es"})
    assert f'<p class="hire-offer" lang="es">{OFFER_ES}</p>' in spanish.text


def test_another_finished_visit_is_only_thanked(client, office, counsellor):
    visit = _finished(office, Outcome.RESOLVED)
    page = client.get(reverse("status:page", args=[visit.status_token]))
    assert "Thank you for visiting." in page.text
    assert "Congratulations" not in page.text


def test_a_hired_visit_still_with_staff_is_not_yet_congratulated_on_the_status_page(client, hired):
    """The page says so once the visit is finished (staff say it in person before)."""
    page = client.get(reverse("status:page", args=[hired.status_token]))
    assert "You are being helped now." in page.text
    assert "Congratulations" not in page.text


def test_a_check_in_asks_how_the_job_is_going_and_a_general_follow_up_does_not(hired, office):
    check_in = FollowUp.objects.filter(promised_on=hired).first()
    asks = FollowUpContactForm(follow_up=check_in)
    assert [v for v, _label in asks.fields["result"].choices] == [
        "still_employed", "not_employed", "no_answer", "voicemail", "wrong_number"]  # fmt: skip
    general = FollowUpContactForm()
    assert "still_employed" not in [v for v, _label in general.fields["result"].choices]
    assert not FollowUpContactForm({"method": "phone", "result": "still_employed"}).is_valid()
    posted = FollowUpContactForm({"method": "phone", "result": "still_employed"},
                                 follow_up=check_in)  # fmt: skip
    assert posted.is_valid(), posted.errors


def test_the_follow_ups_list_marks_new_job_check_ins(client, hired, office):
    page = client.get(reverse("desk:follow_ups", args=[office.slug]))
    assert page.text.count('<span class="badge hire">New-job check-in</span>') == 2


def _finished(office, outcome, name="Ana"):
    """A visit served and finished today with ``outcome``."""
    return VisitFactory(
        office=office, visitor=VisitorFactory(first_name=name), status=Status.DONE,
        outcome=outcome, called_at=NOW, greeted_at=NOW, determined_at=NOW, responded_at=NOW,
        concluded_at=NOW, ended_at=NOW,
    )  # fmt: skip


def _check_in(visit, days):
    return FollowUp.objects.get(promised_on=visit, check_in_days=days)


def _log(follow_up, result, *, close=False):
    FollowUpContact.objects.create(follow_up=follow_up, result=result, at=NOW)
    if close:
        FollowUp.objects.filter(pk=follow_up.pk).update(state="done", closed_at=NOW)


@pytest.fixture
def hires_of_the_day(office, counsellor):
    """Four hires today at Riverside: their 30-day check-ins still employed, no longer, tried
    without an answer, and closed without contact; every 90-day one not yet due."""
    made = []
    for name in ("Ana", "Beto", "Chuy", "Lupe"):
        visit = _finished(office, Outcome.HIRED, name)
        hires.follow_through(visit, by=counsellor, now=NOW - dt.timedelta(days=31))
        made.append(visit)
    _log(_check_in(made[0], 30), "still_employed", close=True)
    _log(_check_in(made[1], 30), "not_employed", close=True)
    _log(_check_in(made[2], 30), "no_answer")
    services.follow_up_close(follow_up=_check_in(made[3], 30), by=counsellor, reason="Moved")
    _finished(office, Outcome.RESOLVED, "Pepe")
    return made


def test_the_day_counts_hires_and_their_check_ins_by_result(office, hires_of_the_day):
    figures = dashboard.day_figures([office], TODAY, now=NOW)
    assert figures.hires["hired"] == 4
    assert figures.hires["check_ins"] == [
        {"check_in_days": 30, "total": 4, "still_employed": 1, "not_employed": 1,
         "no_answer": 2, "due": 0, "not_yet_due": 0},
        {"check_in_days": 90, "total": 4, "still_employed": 0, "not_employed": 0,
         "no_answer": 0, "due": 0, "not_yet_due": 4},
    ]  # fmt: skip


def test_a_check_in_due_and_not_tried_is_counted_as_due(office, counsellor):
    visit = _finished(office, Outcome.HIRED)
    hires.follow_through(visit, by=counsellor, now=NOW - dt.timedelta(days=30))
    figures = dashboard.day_figures([office], TODAY, now=NOW)
    assert [(r["check_in_days"], r["due"], r["not_yet_due"]) for r in figures.hires["check_ins"]
            ] == [(30, 1, 0), (90, 0, 1)]  # fmt: skip


def test_the_dashboard_pages_show_the_check_ins(client, office, manager, hires_of_the_day):
    client.force_login(manager)
    day = client.get(reverse("dashboard:day"), {"date": TODAY.isoformat()})
    assert "4 visitors got hired." in day.text
    assert ('<tr><th scope="row">30 days</th><td>1</td><td>1</td><td>2</td><td>0</td>'
            "<td>0</td></tr>") in day.text  # fmt: skip
    week = client.get(reverse("dashboard:range"), {"period": "week", "date": TODAY.isoformat()})
    assert week.context["figures"].hires["hired"] == 4
    assert '<tr><th scope="row">90 days</th><td>0</td><td>0</td><td>0</td><td>0</td>' in (week.text)
    elsewhere = dashboard.range_figures([office], TODAY + dt.timedelta(days=1),
                                        TODAY + dt.timedelta(days=7), now=NOW)  # fmt: skip
    assert elsewhere.hires == {"hired": 0, "check_ins": []}


def test_a_check_in_reached_without_word_on_the_job_is_not_counted_as_no_answer(office, counsellor):
    """Done by a plain "reached" (a text reply): a two-way contact, but no employment result."""
    visit = _finished(office, Outcome.HIRED)
    hires.follow_through(visit, by=counsellor, now=NOW - dt.timedelta(days=31))
    _log(_check_in(visit, 30), "reached", close=True)
    figures = dashboard.day_figures([office], TODAY, now=NOW)
    row = figures.hires["check_ins"][0]
    assert (row["total"], row["no_answer"], row["still_employed"], row["due"]) == (1, 0, 0, 0)
