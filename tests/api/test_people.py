"""Visitors (search, match, create, merge), open requests, appointments and reminders."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import VisitFactory, VisitorFactory
from visitors.followups.models import Appointment
from visitors.messaging.models import Reminder
from visitors.people.models import AuditEvent, Visitor
from visitors.visits.models import OpenRequest

pytestmark = pytest.mark.django_db

VISITORS = "/offices/riverside/visitors"


def test_search_finds_a_visitor_despite_accents_and_typos(api, read_token, office):
    wanted = VisitorFactory(first_name="José", last_name="Hernández")
    VisitFactory(office=office, visitor=wanted)
    VisitFactory(office=office, visitor__first_name="Ann", visitor__last_name="Lee")
    body = api("get", f"{VISITORS}?q=jose hernandes", read_token).json()
    assert body["results"][0]["id"] == wanted.pk
    assert {"score", "last_visit_at", "open_requests"} <= set(body["results"][0])


def test_search_by_phone_digits(api, read_token, office):
    wanted = VisitFactory(office=office, visitor__phone="(555) 867-5309").visitor
    assert [v["id"] for v in api("get", f"{VISITORS}?q=5309", read_token).json()["results"]] == [
        wanted.pk]  # fmt: skip


def test_search_needs_a_query(api, read_token):
    response = api("get", VISITORS, read_token)
    assert (response.status_code, list(response.json()["error"]["fields"])) == (422, ["q"])


@pytest.mark.parametrize(
    ("answer", "result"),
    [({"phone_last4": "4477"}, "confirmed"), ({"phone_last4": "0000"}, "none"), ({}, "none")],
)
def test_match_uses_the_kiosk_s_rules(api, write_token, answer, result):
    """A visitor only when exactly one record matches name and second factor."""
    person = VisitorFactory(first_name="William", last_name="Okafor", phone="(555) 201-4477")
    body = api("post", f"{VISITORS}/match", write_token,
               {"first_name": "Bill", "last_name": "okafor", **answer}).json()  # fmt: skip
    assert body["result"] == result
    assert (body["visitor"] or {}).get("id") == (person.pk if result == "confirmed" else None)


def test_two_sharing_name_and_digits_are_named_by_neither_until_the_birthday_tells(
    api, write_token
):
    """The kiosk's rule: "several" names nobody and says which factor to ask; sent again with
    it, the one it singles out is confirmed; a birthday that fits neither confirms no one."""
    right = VisitorFactory(first_name="Maria", last_name="Lopez", phone="(555) 201-4477",
                           birth_date=dt.date(1988, 3, 14))  # fmt: skip
    VisitorFactory(first_name="Maria", last_name="Lopez", phone="(555) 733-4477",
                   birth_date=dt.date(1979, 11, 2))  # fmt: skip
    payload = {"first_name": "Maria", "last_name": "Lopez", "phone_last4": "4477"}
    body = api("post", f"{VISITORS}/match", write_token, payload).json()
    assert body == {"result": "several", "visitor": None, "ask": "birth_month_day"}
    both = payload | {"birth_month": 3, "birth_day": 14}
    body = api("post", f"{VISITORS}/match", write_token, both).json()
    assert (body["result"], body["visitor"]["id"]) == ("confirmed", right.pk)
    neither = payload | {"birth_month": 1, "birth_day": 1}
    body = api("post", f"{VISITORS}/match", write_token, neither).json()
    assert (body["result"], body["visitor"]) == ("none", None)


def test_two_the_other_factor_cannot_tell_apart_are_several_with_nothing_to_ask(api, write_token):
    for phone in ("(555) 201-4477", "(555) 733-4477"):
        VisitorFactory(first_name="Maria", last_name="Lopez", phone=phone,
                       birth_date=dt.date(1988, 3, 14))  # fmt: skip
    payload = {"first_name": "Maria", "last_name": "Lopez", "phone_last4": "4477"}
    body = api("post", f"{VISITORS}/match", write_token, payload).json()
    assert body == {"result": "several", "visitor": None, "ask": None}


def test_match_by_birthday(api, write_token, office):
    person = VisitorFactory(first_name="Li", last_name="Wei", birth_date=dt.date(1990, 4, 2))
    payload = {"first_name": "Li", "last_name": "Wei", "birth_month": 4, "birth_day": 2}
    body = api("post", f"{VISITORS}/match", write_token, payload).json()
    assert body["visitor"]["id"] == person.pk


def test_it_creates_a_visitor(api, write_token, admin):
    response = api("post", VISITORS, write_token, {
        "first_name": "Amara", "last_name": "Osei", "phone": "555 201 9988",
        "email": "amara@example.org", "consent_sms": True, "birth_date": "1985-06-01",
        "priority_category": "veteran"})  # fmt: skip
    assert response.status_code == 201, response.content
    visitor = Visitor.objects.get(pk=response.json()["id"])
    assert (visitor.phone_last4, visitor.priority_category) == ("9988", "veteran")
    assert visitor.name_keys.exists()  # recognition finds them from now on
    assert AuditEvent.objects.get().user == admin


def test_creating_checks_the_contact_details(api, write_token):
    response = api(
        "post",
        VISITORS,
        write_token,
        {"first_name": "A", "last_name": "B", "email": "nope", "phone": "12"},
    )
    assert set(response.json()["error"]["fields"]) == {"email", "phone"}


def test_a_visitor_and_reading_it_is_audited(api, read_token, office):
    visit = VisitFactory(office=office)
    OpenRequest.objects.create(office=office, visitor=visit.visitor, raised_on=visit,
                               description="Childcare")  # fmt: skip
    body = api("get", f"{VISITORS}/{visit.visitor_id}", read_token).json()
    assert (body["id"], body["open_requests"]) == (visit.visitor_id, 1)
    assert AuditEvent.objects.get().visitor_id == visit.visitor_id


def test_merge_moves_everything_and_leaves_a_tombstone(api, write_token, office):
    keep, merge = VisitorFactory(), VisitorFactory(email="old@example.org")
    VisitFactory(office=office, visitor=merge, status="left", ended_at=timezone.now())
    Appointment.objects.create(office=office, visitor=keep, starts_at=timezone.now())
    response = api("post", f"{VISITORS}/merge", write_token,
                   {"keep_id": keep.pk, "merge_id": merge.pk})  # fmt: skip
    assert response.status_code == 200, response.content
    assert response.json()["moved"]["visits"] == 1
    assert response.json()["kept"]["email"] == "old@example.org"
    merge.refresh_from_db()
    assert merge.merged_into == keep
    assert AuditEvent.objects.filter(action="merge").count() == 2


def test_merge_refusals(api, write_token, office):
    a, b = VisitorFactory(), VisitorFactory()
    VisitFactory(office=office, visitor=a)
    VisitFactory(office=office, visitor=b)
    response = api("post", f"{VISITORS}/merge", write_token, {"keep_id": a.pk, "merge_id": b.pk})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "merge_refused")
    response = api("post", f"{VISITORS}/merge", write_token, {"keep_id": a.pk, "merge_id": 999})
    assert list(response.json()["error"]["fields"]) == ["merge_id"]


def test_open_requests_listed_and_resolved_once(api, write_token, office, other_office):
    visit = VisitFactory(office=office)
    mine = OpenRequest.objects.create(office=office, visitor=visit.visitor, raised_on=visit,
                                      description="Childcare")  # fmt: skip
    theirs_visit = VisitFactory(office=other_office)
    OpenRequest.objects.create(office=other_office, visitor=theirs_visit.visitor,
                               raised_on=theirs_visit, description="Not ours")  # fmt: skip
    body = api("get", "/offices/riverside/open-requests", write_token).json()
    assert [r["id"] for r in body["results"]] == [mine.pk]
    url = f"/offices/riverside/open-requests/{mine.pk}/resolve"
    done = api("post", url, write_token, {"resolution": "Referred to childcare"})
    assert (done.status_code, done.json()["state"]) == (200, "resolved")
    again = api("post", url, write_token, {"resolution": "Again"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_resolved")
    resolved = api("get", "/offices/riverside/open-requests?state=resolved", write_token).json()
    assert resolved["count"] == 1
    assert api("post", url, write_token, {"resolution": ""}).status_code in (409, 422)


def test_appointments_of_a_window(api, read_token, office):
    visitor = VisitorFactory()
    soon = Appointment.objects.create(office=office, visitor=visitor, purpose="Review",
                                      starts_at=timezone.now() + dt.timedelta(days=2))  # fmt: skip
    Appointment.objects.create(office=office, visitor=visitor, purpose="Far",
                               starts_at=timezone.now() + dt.timedelta(days=90))  # fmt: skip
    body = api("get", "/offices/riverside/appointments", read_token).json()
    assert [a["id"] for a in body["results"]] == [soon.pk]
    today = office.local_date()
    later = api("get", f"/offices/riverside/appointments?start={today}&end="
                f"{today + dt.timedelta(days=100)}", read_token).json()  # fmt: skip
    assert later["count"] == 2
    bad = api("get", f"/offices/riverside/appointments?start={today}&end="
              f"{today - dt.timedelta(days=1)}", read_token)  # fmt: skip
    assert list(bad.json()["error"]["fields"]) == ["end"]


def test_reminders_listed_retried_and_cancelled(api, write_token, office):
    visitor = VisitorFactory(consent_sms=True)
    failed = Reminder.objects.create(office=office, visitor=visitor, kind="appointment",
                                     channel="sms", state="failed", due_at=timezone.now(),
                                     idempotency_key="api-1")  # fmt: skip
    body = api("get", "/offices/riverside/reminders?state=failed", write_token).json()
    assert [r["id"] for r in body["results"]] == [failed.pk]
    base = f"/offices/riverside/reminders/{failed.pk}"
    assert api("post", f"{base}/retry", write_token).json()["state"] == "scheduled"
    assert api("post", f"{base}/retry", write_token).status_code == 409
    assert api("post", f"{base}/cancel", write_token).json()["state"] == "cancelled"
    assert api("post", f"{base}/cancel", write_token).status_code == 409


def test_it_refuses_a_merge_reaching_an_office_the_token_does_not(
    api, write_token, office, other_office
):
    """Merging needs every office either record has visits at: 403 and nothing merged."""
    keep, merge = VisitorFactory(), VisitorFactory()
    for where, who in [(office, keep), (office, merge), (other_office, merge)]:
        VisitFactory(office=where, visitor=who, status="left", ended_at=timezone.now())
    payload = {"keep_id": keep.pk, "merge_id": merge.pk}
    response = api("post", f"{VISITORS}/merge", write_token, payload)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "merge_not_allowed")
    merge.refresh_from_db()
    assert merge.merged_into is None


def test_it_names_a_visitor_seen_only_elsewhere_as_unknown(api, read_token, other_office):
    """A visitor who only came to Hillside is, at Riverside, an id that does not exist."""
    elsewhere = VisitFactory(office=other_office).visitor
    response = api("get", f"{VISITORS}/{elsewhere.pk}", read_token)
    assert response.status_code == 404 and "555" not in response.text
