"""The visit workspace: the five stages in order, with what each records, and the finish."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ReasonFactory, VisitFactory, VisitorFactory
from visitors import services
from visitors.followups.models import Appointment, Workshop, WorkshopSignup
from visitors.messaging.models import Reminder
from visitors.offices.models import ReferralPartner, Service
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import OpenRequest, Referral, ServiceGiven, Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def called(office, counsellor):
    visitor = VisitorFactory(first_name="Rosa", last_name="Díaz")
    visit = VisitFactory(office=office, visitor=visitor)
    services.visit_call(visit=visit, staff=counsellor, desk="Desk 2")
    return visit


@pytest.fixture
def catalogue(office):
    return {
        "reason": ReasonFactory(office=office, label_en="Help with my résumé"),
        "service": Service.objects.create(name="Résumé assistance", reporting_code="BCS-108"),
        "partner": ReferralPartner.objects.create(name="Legal Aid", helps_with="Legal help"),
        "workshop": Workshop.objects.create(
            office=office,
            title="Interview practice",
            capacity=1,
            starts_at=timezone.now() + dt.timedelta(days=3),
        ),  # fmt: skip
    }


def _stage(client, office, visit, stage, data=None):
    url = reverse("desk:visit_stage", args=[office.slug, visit.pk, stage])
    return client.post(url, data or {})


def test_it_takes_a_visit_through_all_five_stages(client, office, counsellor, called, catalogue):
    client.force_login(counsellor)
    page = client.get(reverse("desk:visit", args=[office.slug, called.pk]))
    assert "Welcome, Rosa" in page.text
    assert _stage(client, office, called, "greeting").status_code == 302
    assert Visit.objects.get(pk=called.pk).status == Status.IN_SERVICE
    words = "Needs a résumé for a warehouse job"
    _stage(client, office, called, "determining",
           {"reasons": [catalogue["reason"].pk], "visitor_words": words})  # fmt: skip
    _stage(client, office, called, "responding",
           {"services": [catalogue["service"].pk], "partners": [catalogue["partner"].pk],
            "job_leads": "Amazon fulfilment, night shift"})  # fmt: skip
    _stage(client, office, called, "concluding",
           {"outcome": Outcome.FOLLOW_UP, "still_open": "Bring references"})  # fmt: skip
    when = (timezone.localtime() + dt.timedelta(days=7)).strftime("%Y-%m-%dT10:00")
    _stage(client, office, called, "future_reference",
           {"appointment_at": when, "appointment_purpose": "Résumé review",
            "workshop": catalogue["workshop"].pk,
            "follow_up_on": (office.local_date() + dt.timedelta(days=2)).isoformat(),
            "note_for_next_time": "Ask how the interview went"})  # fmt: skip
    finish = client.post(reverse("desk:visit_finish", args=[office.slug, called.pk]))
    assert finish["Location"] == reverse("desk:console", args=[office.slug])
    visit = Visit.objects.get(pk=called.pk)
    assert visit.status == Status.DONE and visit.outcome == Outcome.FOLLOW_UP
    assert {visit.greeted_by, visit.determined_by, visit.concluded_by} == {counsellor}
    assert list(visit.reasons.all()) == [catalogue["reason"]]
    assert ServiceGiven.objects.get(visit=visit).service.reporting_code == "BCS-108"
    assert Referral.objects.get(visit=visit).partner == catalogue["partner"]
    assert OpenRequest.objects.get(raised_on=visit).description == "Bring references"
    assert Appointment.objects.get(booked_on=visit).purpose == "Résumé review"
    assert WorkshopSignup.objects.get(visitor=visit.visitor).workshop == catalogue["workshop"]
    call_back = Reminder.objects.get(kind=Reminder.Kind.CALL_BACK_DUE)
    assert call_back.recipient_user == counsellor
    assert visit.note_for_next_time == "Ask how the interview went"


def test_a_stage_out_of_order_is_refused_with_a_message(client, office, counsellor, called):
    client.force_login(counsellor)
    _stage(client, office, called, "greeting")
    response = client.post(
        reverse("desk:visit_stage", args=[office.slug, called.pk, "concluding"]),
        {"outcome": Outcome.RESOLVED}, follow=True,
    )  # fmt: skip
    assert "Record responding before concluding." in response.text
    assert Visit.objects.get(pk=called.pk).concluded_at is None


def _up_to(client, office, visit, catalogue, last):
    steps = [
        ("greeting", {}),
        ("determining", {"visitor_words": "Looking for work"}),
        ("responding", {"job_leads": "Two leads"}),
        ("concluding", {"outcome": Outcome.FOLLOW_UP}),
    ]
    for stage, data in steps[: [s for s, _d in steps].index(last) + 1]:
        assert _stage(client, office, visit, stage, data).status_code == 302, stage


def test_concluding_needs_an_outcome(client, office, counsellor, called, catalogue):
    client.force_login(counsellor)
    _up_to(client, office, called, catalogue, "responding")
    response = _stage(client, office, called, "concluding", {"outcome": ""})
    assert response.status_code == 422
    assert "Choose an outcome to conclude the visit." in response.text


def test_follow_up_needed_requires_a_follow_up(client, office, counsellor, called, catalogue):
    client.force_login(counsellor)
    _up_to(client, office, called, catalogue, "concluding")
    early = client.post(reverse("desk:visit_finish", args=[office.slug, called.pk]), follow=True)
    assert "record the next step" in early.text
    empty = _stage(client, office, called, "future_reference", {})
    assert empty.status_code == 422
    assert "book an appointment or schedule a follow-up" in empty.text
    assert Visit.objects.get(pk=called.pk).status == Status.IN_SERVICE


def test_a_full_workshop_is_refused_and_nothing_half_recorded(
    client, office, counsellor, called, catalogue
):
    WorkshopSignup.objects.create(workshop=catalogue["workshop"], visitor=VisitorFactory())
    client.force_login(counsellor)
    _up_to(client, office, called, catalogue, "concluding")
    response = _stage(
        client, office, called, "future_reference",
        {"workshop": catalogue["workshop"].pk, "follow_up_on": office.local_date().isoformat()},
    )  # fmt: skip
    assert response.status_code == 302
    assert Visit.objects.get(pk=called.pk).future_reference_at is None
    assert not Reminder.objects.filter(kind=Reminder.Kind.CALL_BACK_DUE).exists()


def test_the_greeting_offers_the_line_for_a_returning_visitor(client, office, counsellor):
    visitor = VisitorFactory(first_name="José")
    reason = ReasonFactory(office=office, label_en="Unemployment insurance")
    past = VisitFactory(
        office=office, visitor=visitor, status=Status.LEFT,
        checked_in_at=timezone.now() - dt.timedelta(days=20),
        service_date=office.local_date() - dt.timedelta(days=20),
        note_for_next_time="Ask whether the appeal hearing was scheduled.",
    )  # fmt: skip
    past.reasons.set([reason])
    visit = VisitFactory(office=office, visitor=visitor)
    services.visit_call(visit=visit, staff=counsellor)
    client.force_login(counsellor)
    page = client.get(reverse("desk:visit", args=[office.slug, visit.pk])).text
    assert "“Welcome back, José — last time you came about Unemployment insurance.”" in page
    assert (
        "<strong>Note from last time:</strong> Ask whether the appeal hearing was scheduled."
        in page
    )


def test_the_workspace_is_for_this_office_s_staff(client, office, outsider, called):
    url = reverse("desk:visit", args=[office.slug, called.pk])
    assert client.get(url).status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_staff_screens_show_the_office_s_local_time(client, office, counsellor, called):
    """Stored in UTC, shown in Chicago time for a Chicago office."""
    client.force_login(counsellor)
    _stage(client, office, called, "greeting")
    visit = Visit.objects.get(pk=called.pk)
    page = client.get(reverse("desk:visit", args=[office.slug, called.pk])).text
    local = visit.greeted_at.astimezone(office.zone).strftime("%H:%M")
    utc = visit.greeted_at.strftime("%H:%M")
    assert f"Greeted {local}" in page and local != utc


def test_stages_swap_in_place_with_htmx(client, office, counsellor, called):
    client.force_login(counsellor)
    htmx = {"HX-Request": "true"}
    url = reverse("desk:visit_stage", args=[office.slug, called.pk, "greeting"])
    greeted = client.post(url, headers=htmx)
    assert greeted.status_code == 200
    assert '<div id="stages">' in greeted.text and "<html" not in greeted.text
    url = reverse("desk:visit_stage", args=[office.slug, called.pk, "determining"])
    refused = client.post(url, {"visitor_words": ""}, headers=htmx)
    assert refused.status_code == 422
    assert "Choose a reason or write down what they need." in refused.text
    assert "<html" not in refused.text


def test_referral_details_are_printed_or_sent_through_the_outbox(
    client, office, counsellor, called, catalogue
):
    called.visitor.phone, called.visitor.consent_sms = "(555) 404-1212", True
    called.visitor.save()
    client.force_login(counsellor)
    _stage(client, office, called, "greeting")
    _stage(client, office, called, "determining", {"visitor_words": "Legal trouble"})
    _stage(client, office, called, "responding", {"partners": [catalogue["partner"].pk]})
    url = reverse("desk:visit_referrals", args=[office.slug, called.pk])
    printable = client.get(url)
    assert "Legal Aid" in printable.text and "Legal help" in printable.text
    client.post(url)
    client.post(url)  # a second click sends nothing more
    sent = Reminder.objects.get(kind=Reminder.Kind.REFERRAL_DETAILS)
    assert sent.channel == "sms" and sent.context["partners"][0]["name"] == "Legal Aid"
