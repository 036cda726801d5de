"""A new-job check-in's result, recorded from the follow-up page: still employed or no longer
employed is a two-way contact and closes it; no answer keeps it open. And a hired visit may
still promise an ordinary follow-up at its future-reference stage.

Personas (tests/conftest.py): ``counsellor`` serves at Riverside; ``outsider`` works at Hillside
only.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import VisitFactory, VisitorFactory
from visitors import services
from visitors.followups.models import FollowUp
from visitors.visits.lifecycle import Outcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def hired(client, office, counsellor):
    """Rosa's visit, concluded "Got hired!" from the workspace."""
    visit = VisitFactory(office=office, visitor=VisitorFactory(first_name="Rosa"))
    services.visit_call(visit=visit, staff=counsellor, desk="Desk 2")
    client.force_login(counsellor)
    for stage, data in [
        ("greeting", {}),
        ("determining", {"visitor_words": "Has an offer"}),
        ("responding", {"job_leads": "Warehouse"}),
        ("concluding", {"outcome": Outcome.HIRED}),
    ]:  # fmt: skip
        url = reverse("desk:visit_stage", args=[office.slug, visit.pk, stage])
        assert client.post(url, data).status_code == 302, stage
    return visit


@pytest.fixture
def check_in(hired):
    return FollowUp.objects.get(promised_on=hired, check_in_days=30)


def test_the_page_asks_how_the_new_job_is_going(client, office, check_in):
    page = client.get(reverse("desk:follow_up", args=[office.slug, check_in.pk]))
    assert "How is the new job going?" in page.text
    assert 'value="still_employed"' in page.text and 'value="reached"' not in page.text


def test_no_answer_keeps_it_open_and_still_employed_closes_it(client, office, counsellor, check_in):
    url = reverse("desk:follow_up_contact", args=[office.slug, check_in.pk])
    page = client.post(url, {"method": "phone", "result": "no_answer"}, follow=True)
    assert "stays open" in page.text
    check_in.refresh_from_db()
    assert check_in.state == "open"
    answer = {"method": "phone", "result": "still_employed", "outcome": "Likes it; bus pass?"}
    page = client.post(url, answer, follow=True)
    assert "the follow-up is done" in page.text
    check_in.refresh_from_db()
    assert (check_in.state, check_in.closed_by) == ("done", counsellor)


def test_no_longer_employed_is_a_two_way_contact_too(client, office, check_in):
    url = reverse("desk:follow_up_contact", args=[office.slug, check_in.pk])
    client.post(url, {"method": "phone", "result": "not_employed"})
    check_in.refresh_from_db()
    assert check_in.state == "done"


def test_a_general_follow_up_refuses_a_job_result(client, office, counsellor):
    visit = VisitFactory(office=office, visitor=VisitorFactory(first_name="Lupe"))
    services.visit_call(visit=visit, staff=counsellor)
    client.force_login(counsellor)
    for stage, data in [
        ("greeting", {}),
        ("determining", {"visitor_words": "Needs work"}),
        ("responding", {"job_leads": "Warehouse"}),
        ("concluding", {"outcome": Outcome.FOLLOW_UP}),
        ("future_reference", {"follow_up_on": office.local_date().isoformat()}),
    ]:  # fmt: skip
        url = reverse("desk:visit_stage", args=[office.slug, visit.pk, stage])
        client.post(url, data)
    general = FollowUp.objects.get(promised_on=visit)
    url = reverse("desk:follow_up_contact", args=[office.slug, general.pk])
    assert client.post(url, {"method": "phone", "result": "still_employed"}).status_code == 422


def test_another_office_cannot_record_a_check_in(client, office, outsider, check_in):
    client.force_login(outsider)
    url = reverse("desk:follow_up_contact", args=[office.slug, check_in.pk])
    assert client.post(url, {"method": "phone", "result": "still_employed"}).status_code == 404
    check_in.refresh_from_db()
    assert check_in.state == "open"


def test_a_hired_visit_may_still_promise_a_call_back(client, office, hired):
    """The check-ins do not stand in for the future-reference stage's own follow-up."""
    day = office.local_date() + dt.timedelta(days=7)
    url = reverse("desk:visit_stage", args=[office.slug, hired.pk, "future_reference"])
    response = client.post(url, {"follow_up_on": day.isoformat(), "follow_up_note": "Bus pass"})
    assert response.status_code == 302
    rows = FollowUp.objects.filter(promised_on=hired)
    assert sorted(rows.values_list("kind", "due_on")) == sorted([
        ("general", day),
        ("hire_check_in", timezone.localdate(timezone.now(), office.zone) + dt.timedelta(days=30)),
        ("hire_check_in", timezone.localdate(timezone.now(), office.zone) + dt.timedelta(days=90)),
    ])  # fmt: skip
