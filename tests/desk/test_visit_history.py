"""A visitor's history opens each past visit: its stages with who and when, their words, the
notes, job leads, services by name and code, referrals, and what came of the follow-up."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory, VisitFactory, VisitorFactory, aware
from visitors import privacy
from visitors.followups.models import (
    Appointment,
    FollowUp,
    FollowUpContact,
    Workshop,
    WorkshopSignup,
)
from visitors.offices.models import ReasonForVisit, ReferralPartner, Service, StaffRole
from visitors.people.models import AuditEvent
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import OpenRequest, Referral, ServiceGiven, Visit

pytestmark = pytest.mark.django_db

# Riverside is on Chicago time: 15:05 UTC on 2 March 2026 is 09:05 there.
DAY = dt.date(2026, 3, 2)


@pytest.fixture
def lena(office):
    """A counsellor at Riverside with a full name: the stages she recorded show it."""
    user = UserFactory(username="lena", first_name="Lena", last_name="Ortiz")
    MembershipFactory(user=user, office=office, role=StaffRole.COUNSELLOR)
    return user


@pytest.fixture
def rosa():
    return VisitorFactory(first_name="Rosa", last_name="Quintero", phone="(555) 301-7777")


def served(office, visitor, *, by, called_by=None, at=(2026, 3, 2), ticket=7, **fields):
    """A finished visit with all five stages recorded by ``by`` (the call by ``called_by``)."""
    day = dt.date(*at)

    def t(hour, minute):
        return aware(*at, hour, minute)

    return VisitFactory(
        office=office, visitor=visitor, service_date=day, ticket_number=ticket,
        ticket_code=f"A-{ticket:03d}", status=Status.DONE, checked_in_at=t(14, 50),
        called_at=t(15, 2), called_by=called_by or by, desk="Desk 3",
        service_started_at=t(15, 5), ended_at=t(15, 35),
        greeted_at=t(15, 5), greeted_by=by, determined_at=t(15, 10), determined_by=by,
        responded_at=t(15, 20), responded_by=by, concluded_at=t(15, 30), concluded_by=by,
        future_reference_at=t(15, 32), future_reference_by=by, outcome=Outcome.FOLLOW_UP,
        **fields,
    )  # fmt: skip


@pytest.fixture
def past_visit(office, clerk, lena, rosa):
    """Rosa's visit of 2 March: called by the clerk, served by Lena, a follow-up done since."""
    visit = served(
        office, rosa, by=lena, called_by=clerk, rating=5,
        reason_other="Forklift licence?",
        visitor_words="I lost my warehouse job and need forklift work",
        job_leads="Acme Logistics: forklift operator, apply by Friday",
        notes="Has a forklift certificate that runs out in May",
        note_for_next_time="Ask how the Acme interview went", barriers=["homeless"],
    )  # fmt: skip
    # The last stage was recorded by someone without a name on their account.
    helper = UserFactory(username="jdoe", first_name="", last_name="")
    MembershipFactory(user=helper, office=office)
    Visit.objects.filter(pk=visit.pk).update(future_reference_by=helper)
    visit.reasons.add(ReasonForVisit.objects.create(office=office, label_en="Looking for work"))
    job_search = Service.objects.create(name="Job search help", reporting_code="BCS-105")
    ServiceGiven.objects.create(visit=visit, service=job_search, given_by=lena)
    goodwill = ReferralPartner.objects.create(name="Goodwill Careers", helps_with="Training")
    Referral.objects.create(visit=visit, partner=goodwill, note="Ask for Tanya", referred_by=lena)
    follow_up = FollowUp.objects.create(
        office=office, visitor=rosa, promised_on=visit, assigned_to=lena,
        due_on=dt.date(2026, 3, 16), note="Call about the Acme interview",
    )  # fmt: skip
    FollowUpContact.objects.create(
        follow_up=follow_up, result=FollowUpContact.Result.REACHED,
        outcome="Got the job at Acme, starts Monday", by=lena, at=aware(2026, 3, 16, 16, 0),
    )  # fmt: skip
    Appointment.objects.create(
        office=office, visitor=rosa, staff=lena, starts_at=aware(2026, 3, 9, 15, 0),
        purpose="Résumé review", booked_on=visit,
    )  # fmt: skip
    OpenRequest.objects.create(
        office=office, visitor=rosa, raised_on=visit, description="Funding for the licence"
    )
    return visit


def _page(client, office, visit, visitor=None):
    visitor_id = visitor.pk if visitor else visit.visitor_id
    return client.get(reverse("desk:visitor_visit", args=[office.slug, visitor_id, visit.pk]))


def _stage(text: str, stage: str) -> str:
    """The HTML of one stage's list item."""
    return text.split(f'id="stage-{stage}"', 1)[1].split("</li>\n", 1)[0]


# --- What the page shows -------------------------------------------------------------------------


def test_it_shows_each_stage_with_who_and_when_in_the_office_s_time(
    client, clerk, office, past_visit
):
    """Each of the five stages names who recorded it (full name, else username) and when,
    in Riverside's time (Chicago), not UTC."""
    client.force_login(clerk)
    response = _page(client, office, past_visit)
    assert response.status_code == 200
    text = response.text
    for stage, at, who in [
        ("greeting", "09:05", "Lena Ortiz"),
        ("determining", "09:10", "Lena Ortiz"),
        ("responding", "09:20", "Lena Ortiz"),
        ("concluding", "09:30", "Lena Ortiz"),
        ("future_reference", "09:32", "jdoe"),
    ]:
        part = _stage(text, stage)
        assert at in part and who in part, stage
    assert "15:05" not in text  # not UTC
    assert "A-007" in text and "Monday 2 March 2026" in text and office.name in text


def test_it_shows_their_words_the_notes_job_leads_and_services_by_name_and_code(
    client, clerk, office, past_visit
):
    client.force_login(clerk)
    text = _page(client, office, past_visit).text
    determining = _stage(text, "determining")
    assert "Looking for work" in determining
    assert "Forklift licence?" in determining  # what they typed at the kiosk
    assert "I lost my warehouse job and need forklift work" in determining
    responding = _stage(text, "responding")
    assert "Job search help (BCS-105)" in responding
    assert "Acme Logistics: forklift operator, apply by Friday" in responding
    assert "Homeless or at risk" in responding
    concluding = _stage(text, "concluding")
    assert "Follow-up needed" in concluding
    assert "Has a forklift certificate that runs out in May" in concluding
    assert "Funding for the licence" in concluding  # left open on this visit
    assert "Ask how the Acme interview went" in _stage(text, "future_reference")


def test_it_shows_referrals_and_what_came_of_the_follow_up(client, clerk, office, past_visit):
    """The referral with its note and who made it; the follow-up with each contact's result."""
    client.force_login(clerk)
    text = _page(client, office, past_visit).text
    responding = _stage(text, "responding")
    assert "Goodwill Careers" in responding and "Ask for Tanya" in responding
    assert "Lena Ortiz" in responding
    follow_up = text.split('id="follow-up-h"', 1)[1]
    assert "Due 2026-03-16" in follow_up and "Call about the Acme interview" in follow_up
    assert "Reached them" in follow_up and "Got the job at Acme, starts Monday" in follow_up
    promised = past_visit.follow_ups_promised.get()
    assert reverse("desk:follow_up", args=[office.slug, promised.pk]) in follow_up


def test_it_shows_what_was_booked_the_rating_the_call_and_the_times(
    client, clerk, office, past_visit
):
    """The appointment and the workshop seat booked on the visit, the visitor's rating, who
    called them to which desk, how long they waited and were served."""
    workshop = Workshop.objects.create(
        office=office, title="Interview skills", starts_at=aware(2026, 3, 12, 19, 0), capacity=9
    )
    WorkshopSignup.objects.create(
        workshop=workshop, visitor=past_visit.visitor, signed_up_on=past_visit
    )
    client.force_login(clerk)
    text = _page(client, office, past_visit).text
    future = _stage(text, "future_reference")
    assert "2026-03-09 10:00" in future and "Résumé review" in future  # Chicago is on CDT
    assert "2026-03-12 14:00" in future and "Interview skills" in future
    assert "5 out of 5" in text
    clerk_name = clerk.get_full_name() or clerk.username
    assert f"by {clerk_name}" in text and "Desk 3" in text
    assert "waited 12 min" in text  # 08:50 to 09:02
    assert "30 min" in text  # served 09:05 to 09:35


def test_a_visit_that_was_never_served_shows_its_stages_as_not_recorded(
    client, clerk, office, rosa
):
    left = VisitFactory(office=office, visitor=rosa, status=Status.LEFT, reason_other="Claim")
    client.force_login(clerk)
    response = _page(client, office, left)
    assert response.status_code == 200
    assert response.text.count("Not recorded") == 5
    assert "Left before being served" in response.text and "Claim" in response.text
    assert "No follow-up was promised on this visit." in response.text


def test_viewing_a_past_visit_is_audited(client, clerk, office, past_visit):
    client.force_login(clerk)
    _page(client, office, past_visit)
    event = AuditEvent.objects.get(what="past visit")
    assert (event.user, event.visitor_id, event.visit_id, event.action) == (
        clerk,
        past_visit.visitor_id,
        past_visit.pk,
        "view",
    )


def test_the_page_reads_a_fixed_number_of_queries(client, clerk, lena, office, past_visit):
    """However many services, referrals and contacts a visit holds, the page reads the same
    number of queries (no query per row)."""
    client.force_login(clerk)
    _page(client, office, past_visit)  # the signed-in user is now in the cache, as on any page
    with CaptureQueriesContext(connection) as few:
        assert _page(client, office, past_visit).status_code == 200
    for n in range(5):
        service = Service.objects.create(name=f"Service {n}", reporting_code=f"X-{n}")
        ServiceGiven.objects.create(visit=past_visit, service=service, given_by=lena)
        partner = ReferralPartner.objects.create(name=f"Partner {n}", helps_with="-")
        Referral.objects.create(visit=past_visit, partner=partner, referred_by=lena)
        FollowUpContact.objects.create(
            follow_up=past_visit.follow_ups_promised.get(), result="no_answer", by=lena
        )
    with CaptureQueriesContext(connection) as many:
        assert _page(client, office, past_visit).status_code == 200
    assert len(many) == len(few)
    assert len(few) <= 24, [q["sql"] for q in few.captured_queries]


# --- The history links each visit ---------------------------------------------------------------


def test_the_history_links_each_visit_and_names_its_services(client, clerk, office, past_visit):
    """Each row opens its visit; services read "name (code)"; an excerpt of their words."""
    older = served(office, past_visit.visitor, by=clerk, at=(2026, 1, 12), ticket=2)
    client.force_login(clerk)
    response = client.get(reverse("desk:visitor", args=[office.slug, past_visit.visitor_id]))
    text = response.text
    for visit in (past_visit, older):
        url = reverse("desk:visitor_visit", args=[office.slug, visit.visitor_id, visit.pk])
        assert f'href="{url}"' in text
    assert "Job search help (BCS-105)" in text
    assert "I lost my warehouse job and need forklift work" in text


def test_the_history_reads_a_fixed_number_of_queries(
    client, clerk, office, rosa, django_assert_max_num_queries
):
    """Fifty visits with services and referrals: the history reads a fixed number of queries,
    not one per visit."""
    service = Service.objects.create(name="Job search help", reporting_code="BCS-105")
    partner = ReferralPartner.objects.create(name="Goodwill Careers", helps_with="Training")
    for n in range(50):
        day = DAY - dt.timedelta(days=n)
        visit = served(office, rosa, by=clerk, at=(day.year, day.month, day.day), ticket=n + 1)
        ServiceGiven.objects.create(visit=visit, service=service)
        Referral.objects.create(visit=visit, partner=partner)
    client.force_login(clerk)
    with django_assert_max_num_queries(25):
        response = client.get(reverse("desk:visitor", args=[office.slug, rosa.pk]))
    assert response.text.count("Job search help (BCS-105)") == 50


# --- Who may open what -------------------------------------------------------------------------


def test_it_is_for_signed_in_staff_and_only_reads(client, clerk, office, past_visit):
    url = reverse("desk:visitor_visit", args=[office.slug, past_visit.visitor_id, past_visit.pk])
    assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(clerk)
    assert client.post(url).status_code == 405


def test_another_visitor_s_visit_is_not_found(client, clerk, office, past_visit):
    """A visit opens only under its own visitor: another visitor's id in the URL is a 404."""
    someone_else = VisitorFactory(first_name="Kwame")
    VisitFactory(office=office, visitor=someone_else, status=Status.LEFT)
    client.force_login(clerk)
    response = _page(client, office, past_visit, visitor=someone_else)
    assert response.status_code == 404
    assert "forklift" not in response.text


def test_staff_of_another_office_get_nothing_of_it(
    client, outsider, office, other_office, past_visit
):
    """Hillside's staff: Riverside's URL is a 404, and so is Hillside's own with Riverside's
    ids (Rosa never came to Hillside)."""
    client.force_login(outsider)
    assert _page(client, office, past_visit).status_code == 404
    response = _page(client, other_office, past_visit)
    assert response.status_code == 404 and "forklift" not in response.text


@pytest.fixture
def hillside_visit(other_office, rosa, past_visit):
    """Rosa also came to Hillside (Denver time), where the clerk has no role."""
    hillside_staff = UserFactory(username="hank", first_name="Hank", last_name="Moss")
    MembershipFactory(user=hillside_staff, office=other_office)
    return served(
        other_office, rosa, by=hillside_staff, at=(2026, 2, 20), ticket=4,
        visitor_words="Hillside words", notes="Hillside notes",
    )  # fmt: skip


def test_a_visit_at_an_office_where_you_have_no_role_is_listed_but_does_not_open(
    client, clerk, office, hillside_visit
):
    """The history lists it, without a link and without their words or the notes; its URL
    is a 404 like any id the clerk may not see."""
    client.force_login(clerk)
    history = client.get(reverse("desk:visitor", args=[office.slug, hillside_visit.visitor_id]))
    assert "Hillside Job Center" in history.text
    assert "Hillside words" not in history.text and "Hillside notes" not in history.text
    url = reverse(
        "desk:visitor_visit", args=[office.slug, hillside_visit.visitor_id, hillside_visit.pk]
    )
    assert url not in history.text
    assert "do not open" in history.text
    assert _page(client, office, hillside_visit).status_code == 404


def test_staff_of_both_offices_open_it_in_that_office_s_time(
    client, clerk, office, other_office, hillside_visit
):
    """With a role at Hillside too, the clerk opens it from Riverside's history; its times are
    Hillside's (Denver: 15:05 UTC is 08:05)."""
    MembershipFactory(user=clerk, office=other_office)
    client.force_login(clerk)
    response = _page(client, office, hillside_visit)
    assert response.status_code == 200
    assert "Hillside words" in response.text and "Hank Moss" in response.text
    assert "08:05" in _stage(response.text, "greeting")


def test_an_anonymised_visitor_s_visit_still_shows_what_was_done(client, clerk, office, past_visit):
    """After erasure the page still opens: the stages, who and when, the services; no words,
    notes or leads, and a notice saying why."""
    privacy.visitor_erase(past_visit.visitor, by=clerk, office=office)
    client.force_login(clerk)
    response = _page(client, office, past_visit)
    assert response.status_code == 200
    text = response.text
    assert "Personal data removed on" in text
    assert "Rosa" not in text and "forklift" not in text.lower() and "Acme" not in text
    assert "Job search help (BCS-105)" in text and "Lena Ortiz" in _stage(text, "greeting")
    assert "Funding for the licence" not in text
