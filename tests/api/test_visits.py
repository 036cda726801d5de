"""Check-in, queue, call next, visits and their status actions and five stages, through the API:
the same services and forms as the console, so the same rules."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import ReasonFactory, VisitFactory, VisitorFactory
from visitors.offices.models import ReferralPartner, Service
from visitors.people.models import AuditEvent
from visitors.visits.models import OpenRequest, Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(midday_office):  # its visits are backdated by the hour: today's at any hour of the run
    return midday_office


CHECK_IN = "/offices/riverside/check-ins"


@pytest.fixture
def reason(office):
    return ReasonFactory(office=office, label_en="Résumé help")


def test_it_checks_in_a_new_visitor_with_position_and_estimate(api, write_token, reason):
    response = api("post", CHECK_IN, write_token, {
        "first_name": "María", "last_name": "García", "language": "es",
        "reason_ids": [reason.pk]})  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["source"], body["position"]) == ("waiting", "api", 1)
    assert body["wait"]["ahead"] == 0
    assert [r["label_en"] for r in body["reasons"]] == ["Résumé help"]
    visit = Visit.objects.get(pk=body["id"])
    assert (visit.visitor.first_name, visit.visitor.preferred_language) == ("María", "es")


def test_a_check_in_s_place_and_wait_are_those_the_queue_then_shows(
    api, write_token, read_token, reason, office
):
    """The answer's place and wait come from the quote made at check-in, not a second read of
    the line: they must be what the queue itself says."""
    for n in range(2):
        VisitFactory(office=office, ticket_number=500 + n).reasons.set([reason])
    # A covered veteran, ahead by the office's rule.
    VisitFactory(office=office, ticket_number=502, priority=1)
    response = api("post", CHECK_IN, write_token, {
        "first_name": "Ana", "last_name": "Ruiz", "reason_ids": [reason.pk]})  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    queue = api("get", "/offices/riverside/queue", read_token).json()
    [listed] = [v for v in queue["waiting"] if v["id"] == body["id"]]
    assert body["position"] == listed["position"] == 4
    assert body["wait"]["ahead"] == 3
    assert body["wait"]["low_minutes"] <= body["wait"]["high_minutes"]
    # What the check-in answered (from the row it wrote) is what reading the visit gives.
    detail = api("get", f"/offices/riverside/visits/{body['id']}", read_token).json()
    for name in ("ticket_code", "status", "source", "service_date", "visitor_id", "priority",
                 "served_ahead", "identity_flag", "reasons", "reason_other", "checked_in_at",
                 "called_at", "desk", "ended_at", "outcome", "allowed_actions"):  # fmt: skip
        assert body[name] == detail[name], name
    repeat = api("post", CHECK_IN, write_token, {
        "visitor_id": body["visitor_id"], "reason_ids": [reason.pk]})  # fmt: skip
    assert repeat.status_code == 409


def test_it_checks_in_a_returning_visitor_by_id(api, write_token, reason):
    visitor = VisitorFactory(preferred_language="es")
    response = api("post", CHECK_IN, write_token,
                   {"visitor_id": visitor.pk, "reason_other": "Unemployment claim"})  # fmt: skip
    assert response.status_code == 201
    assert response.json()["visitor_id"] == visitor.pk
    visitor.refresh_from_db()
    assert visitor.preferred_language == "es"


def test_an_unknown_visitor_id_is_named(api, write_token, reason):
    response = api("post", CHECK_IN, write_token, {"visitor_id": 999, "reason_ids": [reason.pk]})
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["visitor_id"]


def test_the_same_idempotency_key_returns_the_same_visit(api, write_token, reason):
    payload = {"first_name": "Ana", "last_name": "Ruiz", "reason_ids": [reason.pk],
               "idempotency_key": "crm-123"}  # fmt: skip
    first = api("post", CHECK_IN, write_token, payload)
    again = api("post", CHECK_IN, write_token, payload)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Visit.objects.count() == 1


def test_someone_already_in_line_is_a_409(api, write_token, office, reason):
    visit = VisitFactory(office=office)
    response = api("post", CHECK_IN, write_token,
                   {"visitor_id": visit.visitor_id, "reason_ids": [reason.pk]})  # fmt: skip
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_waiting"
    assert visit.ticket_code in response.json()["error"]["message"]


def test_a_reason_of_another_office_is_refused(api, write_token, other_office):
    theirs = ReasonFactory(office=other_office)
    response = api("post", CHECK_IN, write_token,
                   {"first_name": "A", "last_name": "B", "reason_ids": [theirs.pk]})  # fmt: skip
    assert response.status_code == 422
    assert "reason_ids" in response.json()["error"]["fields"]


def test_the_queue_is_in_calling_order_with_positions(api, read_token, office):
    now = timezone.now()
    early = VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=30))
    veteran = VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=5), priority=1)
    called = VisitFactory(office=office, status="called", called_at=now)
    body = api("get", "/offices/riverside/queue", read_token).json()
    assert [(v["id"], v["position"]) for v in body["waiting"]] == [(veteran.pk, 1), (early.pk, 2)]
    assert [v["id"] for v in body["serving"]] == [called.pk]
    assert body["version"] >= 0


def test_call_next_calls_the_first_in_line_or_says_nobody(api, write_token, admin, office):
    assert api("post", "/offices/riverside/queue/call-next", write_token, {}).json() == {
        "visit": None
    }
    visit = VisitFactory(office=office)
    body = api("post", "/offices/riverside/queue/call-next", write_token, {"desk": "Desk 2"})
    assert (body.json()["visit"]["id"], body.json()["visit"]["desk"]) == (visit.pk, "Desk 2")
    visit.refresh_from_db()
    assert (visit.status, visit.called_by) == ("called", admin)


def test_visits_of_a_day_are_listed_latest_first(api, read_token, office):
    now = timezone.now()
    older = VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=10))
    newer = VisitFactory(office=office, checked_in_at=now, status="left")
    body = api("get", "/offices/riverside/visits", read_token).json()
    assert [v["id"] for v in body["results"]] == [newer.pk, older.pk]
    body = api("get", "/offices/riverside/visits?status=left", read_token).json()
    assert [v["id"] for v in body["results"]] == [newer.pk]
    past = (office.local_date() - dt.timedelta(days=1)).isoformat()
    assert api("get", f"/offices/riverside/visits?date={past}", read_token).json()["count"] == 0


def test_a_visit_shows_its_stages_and_reading_it_is_audited(api, read_token, admin, office):
    visit = VisitFactory(office=office)
    body = api("get", f"/offices/riverside/visits/{visit.pk}", read_token).json()
    assert [s["stage"] for s in body["stages"]] == [
        "greeting", "determining", "responding", "concluding", "future_reference"]  # fmt: skip
    assert not any(s["done"] for s in body["stages"])
    assert body["allowed_actions"] == ["call", "mark_left", "mark_no_show"]
    event = AuditEvent.objects.get()
    assert (event.user, event.visit_id, event.action) == (admin, visit.pk, "view")


def test_another_office_s_visit_is_a_404(api, read_token, other_office):
    visit = VisitFactory(office=other_office)
    assert api("get", f"/offices/riverside/visits/{visit.pk}", read_token).status_code == 404


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [("waiting", "call", "called"), ("called", "recall", "called"),
     ("called", "start_service", "in_service"), ("called", "return_to_queue", "waiting"),
     ("waiting", "mark_left", "left"), ("called", "mark_no_show", "no_show")],
)  # fmt: skip
def test_each_status_action(api, write_token, office, start, action, end):
    called_at = timezone.now() if start == "called" else None
    visit = VisitFactory(office=office, status=start, called_at=called_at)
    response = api("post", f"/offices/riverside/visits/{visit.pk}/actions/{action}", write_token)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == end


def test_an_action_the_status_does_not_allow_is_a_409(api, write_token, office):
    visit = VisitFactory(office=office, status="left", ended_at=timezone.now())
    response = api("post", f"/offices/riverside/visits/{visit.pk}/actions/call", write_token)
    assert response.status_code == 409
    assert "left" in response.json()["error"]["message"]


def test_an_unknown_action_is_a_422(api, write_token, office):
    visit = VisitFactory(office=office)
    response = api("post", f"/offices/riverside/visits/{visit.pk}/actions/teleport", write_token)
    assert response.status_code == 422
    assert "action" in response.json()["error"]["fields"]


def test_the_five_stages_then_finish(api, write_token, admin, office, reason, settings):
    """The whole visit through the API, each stage recorded by the token's maker."""
    service = Service.objects.create(name="Job search", reporting_code="BCS-101")
    partner = ReferralPartner.objects.create(name="Legal Aid", helps_with="Legal questions")
    visit = VisitFactory(office=office, status="called", called_at=timezone.now())
    base = f"/offices/riverside/visits/{visit.pk}"
    tomorrow = office.local_date() + dt.timedelta(days=1)
    steps = [
        ("greeting", None),
        ("determining", {"reason_ids": [reason.pk], "visitor_words": "Needs a résumé"}),
        ("responding", {"service_ids": [service.pk], "partner_ids": [partner.pk],
                        "job_leads": "Warehouse, 3rd shift"}),
        ("concluding", {"outcome": "follow_up", "still_open": "Bring ID next time"}),
        ("future_reference", {"follow_up_on": tomorrow.isoformat(), "follow_up_note": "Call"}),
    ]  # fmt: skip
    for stage, payload in steps:
        response = api("post", f"{base}/stages/{stage}", write_token, payload)
        assert response.status_code == 200, (stage, response.content)
    body = response.json()
    assert all(s["done"] and s["by"] == admin.username for s in body["stages"])
    assert body["services"] == [{"reporting_code": "BCS-101", "name": "Job search",
                                 "staff_assisted": True}]  # fmt: skip
    assert [r["partner"] for r in body["referrals"]] == ["Legal Aid"]
    assert OpenRequest.objects.get().description == "Bring ID next time"
    assert AuditEvent.objects.filter(action="change").count() == 5
    finished = api("post", f"{base}/actions/finish", write_token)
    assert finished.json()["status"] == "done"


def test_a_stage_out_of_order_is_a_409_and_a_stage_s_rules_a_422(api, write_token, office):
    visit = VisitFactory(office=office, status="called", called_at=timezone.now())
    base = f"/offices/riverside/visits/{visit.pk}/stages"
    response = api("post", f"{base}/concluding", write_token, {"outcome": "resolved"})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "stage_refused")
    api("post", f"{base}/greeting", write_token)
    response = api("post", f"{base}/determining", write_token, {})
    assert response.status_code == 422
    assert "non_field" in response.json()["error"]["fields"]
    response = api("post", f"{base}/concluding", write_token, {"outcome": "maybe"})
    assert "outcome" in response.json()["error"]["fields"]


def test_future_reference_books_an_appointment_in_the_future_only(api, write_token, office):
    visit = VisitFactory(office=office, status="in_service", called_at=timezone.now(),
                         greeted_at=timezone.now(), determined_at=timezone.now(),
                         responded_at=timezone.now(), concluded_at=timezone.now(),
                         outcome="resolved")  # fmt: skip
    url = f"/offices/riverside/visits/{visit.pk}/stages/future_reference"
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    response = api("post", url, write_token, {"appointment_at": past, "appointment_purpose": "x"})
    assert "appointment_at" in response.json()["error"]["fields"]
    naive = "2030-01-01T10:00:00"
    assert "appointment_at" in api("post", url, write_token, {"appointment_at": naive}).json()[
        "error"]["fields"]  # fmt: skip
    soon = (timezone.now() + dt.timedelta(days=3)).isoformat()
    response = api("post", url, write_token, {"appointment_at": soon,
                                              "appointment_purpose": "Résumé review"})  # fmt: skip
    assert response.status_code == 200, response.content
    assert visit.appointments_booked.get().purpose == "Résumé review"
