"""Once means once: a stage, a form, an idempotency key, a broadcast — however often it arrives.

The concurrent tests start real threads on real connections (PostgreSQL in CI's second run,
SQLite's file with IMMEDIATE transactions in the first) and let the database decide.
"""

import datetime as dt
import json
from collections import Counter

import pytest
from django.db import IntegrityError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.concurrency import together
from tests.factories import (
    MembershipFactory,
    ReasonFactory,
    VisitFactory,
    VisitorFactory,
)
from tests.kiosk.conftest import Tablet
from visitors import outbox, services
from visitors.followups.models import Appointment
from visitors.integrations.models import ApiToken, WebhookDelivery, WebhookSubscription
from visitors.messaging.models import Reminder
from visitors.offices.models import KioskLink, StaffRole
from visitors.people.models import Visitor
from visitors.views.kiosk import KIOSK_COOKIE
from visitors.visits.lifecycle import Stage, TransitionNotAllowed
from visitors.visits.models import OpenRequest, Visit

CONCLUDED = {"status": "in_service", "greeted_at": "now", "determined_at": "now",
             "responded_at": "now", "concluded_at": "now", "outcome": "follow_up"}  # fmt: skip
RESPONDED = {"status": "in_service", "greeted_at": "now", "determined_at": "now",
             "responded_at": "now"}  # fmt: skip


def _visit(office, fields, **more):
    now = timezone.now()
    values = {k: (now if v == "now" else v) for k, v in fields.items()}
    return VisitFactory(office=office, called_at=now, **values, **more)


# --- A stage is recorded once --------------------------------------------------------------


def test_it_refuses_a_second_record_of_a_stage_and_keeps_the_first(office, counsellor):
    """Concluding twice: the second is refused with a message; one request, the first outcome."""
    visit = _visit(office, RESPONDED)
    data = {"outcome": "follow_up", "notes": "", "still_open": "Bring ID"}
    services.visit_stage_record(visit=visit, stage=Stage.CONCLUDING, by=counsellor, data=data)
    again = Visit.objects.get(pk=visit.pk)
    with pytest.raises(TransitionNotAllowed, match="already recorded"):
        services.visit_stage_record(
            visit=again, stage=Stage.CONCLUDING, by=counsellor,
            data=data | {"outcome": "resolved", "still_open": "Something else"},
        )  # fmt: skip
    visit.refresh_from_db()
    assert visit.outcome == "follow_up"
    assert list(OpenRequest.objects.values_list("description", flat=True)) == ["Bring ID"]


def test_the_api_refuses_greeting_after_future_reference(client, office, counsellor):
    """A stage recorded again through the API is a 409 with a clear message, nothing changed."""
    visit = _visit(office, CONCLUDED | {"outcome": "resolved", "future_reference_at": "now"})
    token = ApiToken.issue(name="CRM", offices=[office], scope="write", created_by=counsellor)[1]
    greeted = Visit.objects.get(pk=visit.pk).greeted_at
    response = client.post(
        f"/api/v1/offices/{office.slug}/visits/{visit.pk}/stages/greeting",
        b"", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.status_code == 409
    assert "already recorded" in response.json()["error"]["message"]
    assert Visit.objects.get(pk=visit.pk).greeted_at == greeted


def test_the_workspace_says_a_stage_was_already_recorded(client, office, counsellor):
    """Submitting a stage form a second time (another tab) shows why nothing happened."""
    visit = _visit(office, RESPONDED)
    client.force_login(counsellor)
    url = reverse("desk:visit_stage", args=[office.slug, visit.pk, "concluding"])
    client.post(url, {"outcome": "resolved"})
    response = client.post(url, {"outcome": "hired"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "already recorded" in response.text
    assert Visit.objects.get(pk=visit.pk).outcome == "resolved"


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_future_references_book_one_appointment(office, counsellor):
    """Of ten concurrent records of the same stage exactly one wins: one appointment, its two
    reminders; the nine others are told the visit moved on."""
    visit = _visit(office, CONCLUDED, visitor=VisitorFactory(consent_sms=True))
    starts = timezone.now() + dt.timedelta(days=3)
    data = {"note_for_next_time": "", "appointment_at": starts, "appointment_purpose": "Résumé",
            "follow_up_on": office.local_date() + dt.timedelta(days=1)}  # fmt: skip

    def record(_i):
        mine = Visit.objects.select_related("visitor", "office").get(pk=visit.pk)
        services.visit_stage_record(
            visit=mine, stage=Stage.FUTURE_REFERENCE, by=counsellor, data=data
        )
        return "recorded"

    results = together(10, record)
    assert results.count("recorded") == 1, results
    assert all(isinstance(r, TransitionNotAllowed) for r in results if r != "recorded"), results
    assert Appointment.objects.count() == 1
    assert Reminder.objects.filter(kind="appointment").count() == 2
    assert Reminder.objects.filter(kind="call_back_due").count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_conclusions_make_one_request_and_one_webhook(office, counsellor):
    WebhookSubscription.objects.create(
        office=office, url="https://crm.example.org/hook", events=["visit.concluded"]
    )
    visit = _visit(office, RESPONDED)

    def conclude(i):
        mine = Visit.objects.select_related("visitor", "office").get(pk=visit.pk)
        data = {"outcome": "follow_up", "notes": f"try {i}", "still_open": f"Need {i}"}
        services.visit_stage_record(visit=mine, stage=Stage.CONCLUDING, by=counsellor, data=data)
        return i

    results = together(10, conclude)
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1, results
    assert list(OpenRequest.objects.values_list("description", flat=True)) == [f"Need {winners[0]}"]
    assert WebhookDelivery.objects.filter(event="visit.concluded").count() == 1
    assert Visit.objects.get(pk=visit.pk).notes == f"try {winners[0]}"


# --- A form or an idempotency key makes one visitor and one visit ------------------------------


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_kiosk_final_steps_make_one_visitor_and_one_visit(office):
    """A tablet's last step sent ten times at once with the same state: one person, one
    ticket, and every answer shows that ticket."""
    reason = ReasonFactory(office=office)
    _link, token = KioskLink.issue(office=office, label="Lobby")
    tablet_client = Client()
    tablet_client.cookies[KIOSK_COOKIE] = token
    tablet = Tablet(tablet_client, office)
    tablet.start()
    tablet.name("Zora", "Hurston")
    tablet.first_visit()
    tablet.reasons(reason)
    state = tablet.state
    assert state

    def submit(_i):
        mine = Client()
        mine.cookies[KIOSK_COOKIE] = token
        response = mine.post(
            reverse("kiosk:step", args=[office.slug]),
            {"step": "contact", "state": state, "priority_category": "none", "ahead_count": "3"},
            headers={"HX-Request": "true"},
        )
        return response.status_code, response.text

    results = together(10, submit)
    assert [r[0] for r in results] == [200] * 10, results
    visit = Visit.objects.get()
    assert Visitor.objects.filter(last_name="Hurston").count() == 1
    assert all(visit.ticket_code in text for _status, text in results)


@pytest.mark.django_db(transaction=True)
def test_ten_api_check_ins_with_one_key_make_one_visit_answered_201_once(office):
    """The same idempotency key ten times at once: one 201, nine 200, one id, one visitor."""
    admin = MembershipFactory(office=office, role=StaffRole.ADMIN).user
    token = ApiToken.issue(name="CRM", offices=[office], scope="write", created_by=admin)[1]
    body = json.dumps({"first_name": "Rosa", "last_name": "Parks", "reason_other": "Résumé",
                       "idempotency_key": "crm-4471"})  # fmt: skip

    def check_in(_i):
        response = Client().post(
            f"/api/v1/offices/{office.slug}/check-ins", body,
            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
        )  # fmt: skip
        return response.status_code, response.json().get("id")

    results = together(10, check_in)
    assert Counter(status for status, _id in results) == {201: 1, 200: 9}, results
    assert len({visit_id for _status, visit_id in results}) == 1
    assert Visit.objects.count() == 1
    assert Visitor.objects.filter(last_name="Parks").count() == 1


def test_a_kiosk_check_in_that_loses_the_race_for_its_visitor_hears_already_waiting(
    office, monkeypatch
):
    """visit_check_in leaves a lost race to kiosk_check_in (no savepoint of its own inside the
    form's transaction): the unique index's IntegrityError, caught outside the rolled-back
    transaction, becomes AlreadyWaiting with the visit that won."""
    reason = ReasonFactory(office=office)
    visitor = VisitorFactory(first_name="Ada", last_name="Lovelace")
    winner = VisitFactory(office=office, visitor=visitor)

    def lost(**_kwargs):  # the insert refused by visit_one_active_per_visitor
        raise IntegrityError("visit_one_active_per_visitor")

    monkeypatch.setattr(services, "visit_check_in", lost)
    data = services.KioskCheckIn(first_name="Ada", last_name="Lovelace", visitor_id=visitor.pk,
                                 reason_ids=[reason.pk])  # fmt: skip
    with pytest.raises(services.AlreadyWaiting) as already:
        services.kiosk_check_in(office=office, data=data, token="race-1")
    assert already.value.visit.pk == winner.pk
    assert Visit.objects.filter(visitor=visitor).count() == 1


def test_a_returning_visitor_already_in_line_is_told_by_the_index_and_nothing_is_kept(office):
    """The kiosk does not look for the visitor's active visit before its writes: the index of
    one active visit per visitor refuses the INSERT, the whole check-in is rolled back (their
    record as it was, no ticket used) and they hear which visit they already have."""
    reason = ReasonFactory(office=office)
    visitor = VisitorFactory(first_name="Ada", last_name="Lovelace", phone="(555) 301-1111")
    winner = VisitFactory(office=office, visitor=visitor, ticket_number=500)
    data = services.KioskCheckIn(first_name="Ada", last_name="Lovelace", visitor_id=visitor.pk,
                                 reason_ids=[reason.pk], phone="(555) 301-2222")  # fmt: skip
    with (
        CaptureQueriesContext(connection) as captured,
        pytest.raises(services.AlreadyWaiting) as already,
    ):
        services.kiosk_check_in(office=office, data=data, token="second-form")
    assert already.value.visit.pk == winner.pk
    # Not looked for first: the visit's INSERT was tried, and refused.
    assert any('INSERT INTO "visits_visit"' in q["sql"] for q in captured.captured_queries)
    visitor.refresh_from_db()
    assert visitor.phone == "(555) 301-1111"
    assert set(visitor.name_keys.values_list("phone_last4", flat=True)) == {"1111"}
    assert Visit.objects.filter(visitor=visitor).count() == 1
    data.visitor_id = VisitorFactory(first_name="Ada", last_name="King").pk
    assert services.kiosk_check_in(office=office, data=data, token="third").ticket_number == 1


def test_a_returning_visitor_s_record_is_written_once_and_its_keys_only_for_a_new_phone(office):
    reason = ReasonFactory(office=office)
    visitor = VisitorFactory(first_name="Ada", last_name="Lovelace", phone="(555) 301-1111",
                             first_seen_at=timezone.now() - dt.timedelta(days=99),
                             last_seen_at=timezone.now() - dt.timedelta(days=9))  # fmt: skip
    keys = set(visitor.name_keys.values_list("pk", flat=True))
    data = services.KioskCheckIn(first_name="Ada", last_name="Lovelace", visitor_id=visitor.pk,
                                 reason_ids=[reason.pk], language="es")  # fmt: skip
    with CaptureQueriesContext(connection) as captured:
        visit = services.kiosk_check_in(office=office, data=data, token="one")
    writes = [q["sql"] for q in captured.captured_queries if '"people_visitor' in q["sql"]]
    assert sum(w.startswith("UPDATE") for w in writes) == 1
    assert not any("people_visitornamekey" in w for w in writes)
    visitor.refresh_from_db()
    assert (visitor.preferred_language, visitor.last_seen_at) == ("es", visit.checked_in_at)
    assert set(visitor.name_keys.values_list("pk", flat=True)) == keys  # untouched
    services.visit_mark_left(visit=visit, by=None)
    data.phone, data.consent_reminders = "(555) 301-2222", True
    services.kiosk_check_in(office=office, data=data, token="two")
    visitor.refresh_from_db()
    assert (visitor.phone, visitor.consent_sms) == ("(555) 301-2222", True)
    assert set(visitor.name_keys.values_list("phone_last4", flat=True)) == {"2222"}


# --- Broadcasts ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_broadcasts_at_once_both_reach_everyone(office, clerk, memory_sms):
    """Two staff send a message in the same second: each waiting visitor gets both."""
    phones = [f"(555) 301-10{i:02d}" for i in range(4)]
    for phone in phones:
        VisitFactory(office=office, visitor=VisitorFactory(phone=phone, consent_sms=True))
    messages = ["The second floor is open.", "Bring your ID to the desk."]
    counts = together(
        2, lambda i: services.queue_broadcast(office=office, message=messages[i], by=clerk)
    )
    assert counts == [4, 4]
    for reminder_id, claim in outbox.reminders_claim():
        assert outbox.reminder_deliver(reminder_id=reminder_id, claim=claim) == "sent"
    received = Counter((m.to, m.body) for m in memory_sms)
    digits = {"".join(c for c in p if c.isdigit()) for p in phones}
    assert {"".join(c for c in to if c.isdigit())[-10:] for to, _ in received} == digits
    for message in messages:
        assert sum(1 for (_to, body) in received if message in body) == 4


# --- The same person at the kiosk and at the desk at once ------------------------------------


def test_a_known_visitor_s_row_is_taken_before_the_day_s_ticket_counter(office):
    """Every check-in of someone already on record locks their row before the ticket counter,
    as the kiosk does (it locks the visitor it updates first): two check-ins of the same person
    that took them in opposite orders could each hold what the other waits for."""
    three_days_ago = timezone.now() - dt.timedelta(days=3)
    visitor = VisitorFactory(first_seen_at=three_days_ago, last_seen_at=three_days_ago)
    with CaptureQueriesContext(connection) as captured:
        services.visit_check_in(office=office, visitor=visitor)
    statements = [q["sql"] for q in captured.captured_queries]
    touched = next(
        i for i, sql in enumerate(statements) if sql.startswith('UPDATE "people_visitor"')
    )
    counter = next(i for i, sql in enumerate(statements) if "visits_ticketcounter" in sql)
    assert touched < counter, statements


@pytest.mark.django_db(transaction=True)
def test_the_kiosk_and_the_desk_checking_the_same_person_in_at_once_make_one_visit(office):
    """Five rounds of a kiosk check-in (by the second factor) and a desk check-in of the same
    person released together: one visit each round, the other hears AlreadyWaiting — never a
    deadlock or another error."""
    reason = ReasonFactory(office=office)
    for round_ in range(5):
        visitor = VisitorFactory(first_name="Grace", last_name=f"Hopper{round_}")
        data = services.KioskCheckIn(first_name="Grace", last_name=visitor.last_name,
                                     visitor_id=visitor.pk, reason_ids=[reason.pk])  # fmt: skip

        def check_in(i, visitor=visitor, data=data, round_=round_):
            if i == 0:
                return services.kiosk_check_in(office=office, data=data, token=f"k-{round_}")
            return services.visit_check_in(office=office, visitor=visitor, source="desk")

        results = together(2, check_in)
        errors = [r for r in results if isinstance(r, Exception)]
        assert all(isinstance(e, services.AlreadyWaiting) for e in errors), results
        assert Visit.objects.filter(visitor=visitor, status="waiting").count() == 1
