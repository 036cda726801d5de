"""Front-desk lookup as you type, check-in by hand, and merging duplicate records."""

import pytest
from django.urls import reverse

from tests.factories import (
    MembershipFactory,
    ReasonFactory,
    VisitFactory,
    VisitorFactory,
    aware,
)
from visitors.people.models import Visitor, VisitorMerge
from visitors.selectors import visitor_match
from visitors.visits.lifecycle import Status
from visitors.visits.models import OpenRequest, Source, Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(office):
    """Three visitors who came to Riverside; María has an open request there."""
    maria = VisitorFactory(first_name="María", last_name="García López", phone="(555) 222-1111")
    mario = VisitorFactory(first_name="Mario", last_name="Garza", phone="(555) 333-2222")
    kwame = VisitorFactory(first_name="Kwame", last_name="Mensah", phone="(555) 444-3333")
    for someone in (mario, kwame):
        VisitFactory(office=office, visitor=someone, status=Status.LEFT)
    visit = VisitFactory(office=office, visitor=maria, status=Status.LEFT)
    OpenRequest.objects.create(
        office=office, visitor=maria, raised_on=visit, description="Call back about training"
    )
    return maria


def _search(client, office, q, htmx=True):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.get(reverse("desk:visitors", args=[office.slug]), {"q": q}, headers=headers)


def test_it_finds_a_visitor_despite_a_typo_with_last_visit_and_open_requests(
    client, clerk, office, people
):
    client.force_login(clerk)
    response = _search(client, office, "maria garcai")
    assert response.status_code == 200
    assert "<html" not in response.text
    rows = response.text.split("<tr>")[2:]
    assert "María García López" in rows[0]
    assert "…1111" in rows[0] and "222-1111" not in rows[0]
    assert "<td>1</td>" in rows[0]  # one open request
    assert "Kwame" not in response.text


def test_it_finds_a_visitor_by_phone_digits(client, clerk, office, people):
    client.force_login(clerk)
    assert "Kwame Mensah" in _search(client, office, "3333").text


def test_the_search_page_works_without_htmx(client, clerk, office, people):
    client.force_login(clerk)
    page = _search(client, office, "Mensah", htmx=False)
    assert "<html" in page.text and "Kwame Mensah" in page.text


def test_the_lookup_is_for_this_office_s_staff_only(client, outsider, office, people):
    url = reverse("desk:visitors", args=[office.slug])
    assert client.get(url, {"q": "maria"}).status_code == 302  # anonymous: to the login
    client.force_login(outsider)
    assert client.get(url, {"q": "maria"}).status_code == 404


def test_it_checks_in_a_new_visitor_by_hand_once(client, clerk, office):
    reason = ReasonFactory(office=office)
    client.force_login(clerk)
    url = reverse("desk:check_in", args=[office.slug])
    form = {
        "first_name": "Tomás", "last_name": "Ruiz", "reasons": [reason.pk], "token": "t-1",
        "phone": "(555) 777-1234", "notify_when_called": "on", "priority_category": "spouse",
        "ahead_count": "3",
    }  # fmt: skip
    assert client.post(url, form).status_code == 302
    assert client.post(url, form).status_code == 302  # a double click
    visit = Visit.objects.get()
    assert Visitor.objects.count() == 1  # not a second record either
    assert visit.source == Source.DESK
    assert visit.visitor.first_name == "Tomás"
    assert visit.notify_when_called and visit.visitor.consent_sms
    assert visit.priority == 1 and visit.visitor.priority_category == "spouse"


def test_it_checks_in_a_found_visitor_and_refuses_a_second_ticket(client, clerk, office, people):
    reason = ReasonFactory(office=office)
    client.force_login(clerk)
    url = reverse("desk:check_in", args=[office.slug])
    client.post(url, {"visitor": people.pk, "reasons": [reason.pk], "token": "a"})
    response = client.post(
        url, {"visitor": people.pk, "reasons": [reason.pk], "token": "b"}, follow=True
    )
    assert "is already in line" in response.text
    assert Visit.objects.filter(visitor=people, status=Status.WAITING).count() == 1


def test_merging_moves_everything_and_records_it(client, clerk, office, people):
    duplicate = VisitorFactory(first_name="Maria", last_name="Garcia", phone="")
    VisitFactory(office=office, visitor=duplicate)
    client.force_login(clerk)
    url = reverse("desk:merge", args=[office.slug])
    confirm = client.get(url, {"keep": people.pk, "merge": duplicate.pk})
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    response = client.post(url, {"keep": people.pk, "merge": duplicate.pk})
    assert response.status_code == 302
    assert Visit.objects.filter(visitor=people).count() == 2
    assert Visit.objects.filter(visitor=duplicate).count() == 0
    record = VisitorMerge.objects.get()
    assert (record.kept, record.merged_visitor_id, record.merged_by) == (
        people,
        duplicate.pk,
        clerk,
    )
    assert record.moved["visits"] == 1
    assert Visitor.objects.get(pk=duplicate.pk).merged_into == people
    found = [c.visitor.pk for c in visitor_match(first_name="Maria", last_name="Garcia")]
    assert found[0] == people.pk and duplicate.pk not in found  # the tombstone is never matched


def test_merging_is_refused_when_both_are_in_line_here(client, clerk, office, people):
    other = VisitorFactory(first_name="Maria", last_name="Garcia")
    VisitFactory(office=office, visitor=people)
    VisitFactory(office=office, visitor=other)
    client.force_login(clerk)
    response = client.post(
        reverse("desk:merge", args=[office.slug]), {"keep": people.pk, "merge": other.pk},
        follow=True,
    )  # fmt: skip
    assert "finish one visit first" in response.text
    assert VisitorMerge.objects.count() == 0
    assert Visitor.objects.get(pk=other.pk).merged_into is None


def test_it_refuses_a_merge_that_would_move_another_office_s_records(
    client, clerk, office, other_office, people
):
    """Merging needs a role at every office where either record has visits: 403, no merge."""
    twin = VisitorFactory(first_name="Maria", last_name="Garcia")
    VisitFactory(office=office, visitor=twin, status=Status.LEFT)
    VisitFactory(office=other_office, visitor=twin, status=Status.LEFT)
    client.force_login(clerk)
    url = reverse("desk:merge", args=[office.slug])
    response = client.post(url, {"keep": people.pk, "merge": twin.pk})
    assert response.status_code == 403
    assert Visitor.objects.get(pk=twin.pk).merged_into is None


def test_it_merges_records_of_two_offices_for_staff_of_both(
    client, clerk, office, other_office, people
):
    """Someone on staff at both offices may merge a record that has visits at both."""
    MembershipFactory(user=clerk, office=other_office)
    twin = VisitorFactory(first_name="Maria", last_name="Garcia")
    VisitFactory(office=office, visitor=twin, status=Status.LEFT)
    VisitFactory(office=other_office, visitor=twin, status=Status.LEFT)
    client.force_login(clerk)
    url = reverse("desk:merge", args=[office.slug])
    assert client.post(url, {"keep": people.pk, "merge": twin.pk}).status_code == 302
    assert Visitor.objects.get(pk=twin.pk).merged_into == people


def test_it_does_not_prefill_someone_who_never_came_here(client, outsider, other_office, people):
    """Hand check-in at Hillside with a Riverside-only visitor's id: 404, no phone shown."""
    client.force_login(outsider)
    url = reverse("desk:check_in", args=[other_office.slug])
    response = client.get(url, {"visitor": people.pk})
    assert response.status_code == 404 and "222-1111" not in response.text


def test_search_shows_the_last_visit_here_not_at_another_office(
    client, clerk, office, other_office
):
    """When someone last came to another office is that office's business."""
    rosa = VisitorFactory(first_name="Rosa", last_name="Quintero")
    VisitFactory(office=office, visitor=rosa, status=Status.LEFT,
                 checked_in_at=aware(2026, 1, 5, 15, 0))  # fmt: skip
    VisitFactory(office=other_office, visitor=rosa, status=Status.LEFT,
                 checked_in_at=aware(2026, 2, 20, 15, 0))  # fmt: skip
    client.force_login(clerk)
    response = client.get(reverse("desk:visitors", args=[office.slug]), {"q": "Quintero"})
    assert "2026-01-05" in response.text
    assert "2026-02-20" not in response.text
