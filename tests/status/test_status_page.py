"""The visitor's status page: live position, the call, "I had to leave", expiry, both languages."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import VisitFactory, VisitorFactory
from visitors.visits.lifecycle import Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db


def _url(visit, name="status:page"):
    return reverse(name, args=[visit.status_token])


@pytest.fixture
def queue(office):
    """Three people waiting at Riverside today; the third is ours."""
    return [VisitFactory(office=office) for _ in range(3)]


def test_it_shows_the_position_and_an_estimate(client, queue):
    response = client.get(_url(queue[2]))
    assert response.status_code == 200
    assert queue[2].ticket_code in response.text
    assert "You are number 3 in line." in response.text
    assert "Estimated wait" in response.text
    assert "no-store" in response["Cache-Control"]
    assert queue[2].visitor.first_name not in response.text  # no personal data on the page


def test_it_updates_itself_with_an_htmx_partial(client, queue):
    page = client.get(_url(queue[2]))
    assert 'hx-trigger="every 5s"' in page.text
    queue[0].mark_left()
    partial = client.get(_url(queue[2]), headers={"HX-Request": "true"})
    assert "<html" not in partial.text
    assert "You are number 2 in line." in partial.text


def test_it_says_where_to_go_when_called(client, queue, clerk):
    queue[2].mark_called(by=clerk, desk="Desk 3")
    assert "Now go to Desk 3." in client.get(_url(queue[2])).text


def test_it_speaks_the_visitor_s_language_and_switches(client, office):
    visit = VisitFactory(office=office, visitor=VisitorFactory(preferred_language="es"))
    assert "Usted es la próxima persona en la fila." in client.get(_url(visit)).text
    assert "You are next in line." in client.get(_url(visit) + "?lang=en").text


def test_i_had_to_leave_takes_the_visitor_out_of_the_line(client, queue):
    response = client.post(_url(queue[2], "status:leave"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "You have left the line." in response.text
    assert Visit.objects.get(pk=queue[2].pk).status == Status.LEFT
    again = client.post(_url(queue[2], "status:leave"), headers={"HX-Request": "true"})
    assert "nothing was changed" in again.text


def test_leaving_without_htmx_redirects_back_to_the_page(client, queue):
    response = client.post(_url(queue[0], "status:leave"))
    assert response.status_code == 302
    assert response["Location"].startswith(_url(queue[0]))


def test_the_link_expires_at_the_end_of_the_office_day(client, office):
    yesterday = VisitFactory(office=office, service_date=office.local_date() - dt.timedelta(days=1))
    expired = client.get(_url(yesterday))
    unknown = client.get(reverse("status:page", args=["A" * 43]))
    assert expired.status_code == unknown.status_code == 404
    assert expired.content == unknown.content  # nothing tells a real old link from a guess
    assert client.post(_url(yesterday, "status:leave")).status_code == 404


def test_the_token_is_long_and_random(office):
    tokens = {VisitFactory(office=office).status_token for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(t) >= 43 for t in tokens)  # 32 random bytes, URL-safe: 256 bits


def test_it_only_accepts_get_and_post(client, queue):
    assert client.put(_url(queue[0])).status_code == 405
    assert client.get(_url(queue[0], "status:leave")).status_code == 405


def _finished(office):
    at = timezone.now()
    stages = {f"{s}_at": at for s in ("called", "service_started", "greeted", "determined",
                                      "responded", "concluded", "ended")}  # fmt: skip
    return VisitFactory(office=office, status=Status.DONE, outcome="resolved", **stages)


def test_a_visitor_rates_a_finished_visit_once(client, office):
    visit = _finished(office)
    page = client.get(_url(visit))
    assert "How did we do today?" in page.text
    assert client.post(_url(visit, "status:rate"), {"rating": "4"}).status_code == 302
    assert Visit.objects.get(pk=visit.pk).rating == 4
    client.post(_url(visit, "status:rate"), {"rating": "1"})  # a second try changes nothing
    assert Visit.objects.get(pk=visit.pk).rating == 4
    assert "Thank you for your rating." in client.get(_url(visit)).text


@pytest.mark.parametrize("bad", ["0", "6", "", "five", "4<script>", "9" * 500])
def test_a_bad_rating_is_refused_with_a_message(client, office, bad):
    visit = _finished(office)
    response = client.post(_url(visit, "status:rate"), {"rating": bad},
                           headers={"HX-Request": "true"})  # fmt: skip
    assert response.status_code == 422
    assert "Choose a number from 1 to 5." in response.text
    assert Visit.objects.get(pk=visit.pk).rating is None


def test_a_visit_still_waiting_cannot_be_rated(client, office):
    visit = VisitFactory(office=office)
    client.post(_url(visit, "status:rate"), {"rating": "5"})
    assert Visit.objects.get(pk=visit.pk).rating is None
