"""frontdesk.db.insert writes the row save() would, on SQLite and PostgreSQL alike."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from frontdesk import db
from tests.factories import OfficeFactory, ReasonFactory, VisitorFactory
from visitors.offices.models import Office
from visitors.people.models import AuditAction, AuditEvent, Visitor, VisitorNameKey
from visitors.visits.models import Source, Visit

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 30, 15, 4, 5, 123456, tzinfo=dt.UTC)


def _visit(office, visitor, number: int) -> Visit:
    return Visit(
        office=office,
        visitor=visitor,
        service_date=AT.date(),
        ticket_number=number,
        ticket_code=f"A-{number:03d}",
        source=Source.API,
        reason_other="Ünïcode <b>markup</b>",
        checked_in_at=AT,
        checkin_token=f"token-{number}",
        notify_when_ahead=3,
    )


def _columns(row) -> dict:
    found = model_to_dict(row, exclude=["id", "status_token", "checkin_token", "reasons"])
    return found | {"ticket_number": None, "ticket_code": None, "visitor": None}


def test_a_visit_inserted_reads_back_as_the_same_row_save_writes(office):
    saved = _visit(office, VisitorFactory(), 1)
    saved.save(force_insert=True)
    inserted = db.insert(_visit(office, VisitorFactory(), 2))
    assert inserted.pk is not None and inserted.pk != saved.pk
    assert not inserted._state.adding
    again_saved, again_inserted = Visit.objects.get(pk=saved.pk), Visit.objects.get(pk=inserted.pk)
    assert _columns(again_inserted) == _columns(again_saved)
    assert again_inserted.ticket_code == "A-002"
    assert again_inserted.status_token and again_inserted.status_token != again_saved.status_token
    assert again_inserted.checked_in_at == AT


def test_an_insert_is_one_statement(office):
    visitor = VisitorFactory()
    with CaptureQueriesContext(connection) as queries:
        db.insert(AuditEvent(office=office, visitor_id=visitor.pk, action=AuditAction.CHANGE))
    assert len(queries) == 1
    assert queries[0]["sql"].startswith("INSERT INTO")


def test_a_new_visitor_is_written_with_its_keys_and_name_rows():
    visitor = Visitor(first_name="José", last_name="Núñez", phone="(555) 010-4321")
    visitor.save()
    row = Visitor.objects.get(pk=visitor.pk)
    assert (row.first_key, row.last_key, row.phone_last4) == ("jose", "nunez", "4321")
    assert row.created_at is not None
    assert VisitorNameKey.objects.filter(visitor=visitor).exists()


def test_a_related_row_saved_after_it_was_assigned_is_referred_to_by_its_id(office):
    visitor = Visitor(first_name="Ada", last_name="Late")
    visit = _visit(office, visitor, 1)
    with pytest.raises(ValueError, match="not saved"):
        db.insert(visit)
    assert not Visit.objects.exists()
    visitor.save()
    db.insert(visit)
    assert Visit.objects.get(pk=visit.pk).visitor_id == visitor.pk


def test_a_row_that_breaks_a_constraint_is_refused_and_nothing_is_written(office):
    visitor = VisitorFactory()
    db.insert(_visit(office, visitor, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        db.insert(_visit(office, VisitorFactory(), 1))  # the same ticket code that day
    assert Visit.objects.filter(office=office).count() == 1


def test_a_visit_s_reasons_go_in_as_one_statement_and_read_back(office):
    visit = db.insert(_visit(office, VisitorFactory(), 1))
    reasons = [ReasonFactory(office=office) for _ in range(3)]
    through = Visit.reasons.through
    with CaptureQueriesContext(connection) as queries:
        db.insert_rows(through(visit_id=visit.pk, reasonforvisit_id=r.pk) for r in reasons)
        db.insert_rows([])  # nothing to write: no statement
    assert len(queries) == 1
    assert set(visit.reasons.values_list("pk", flat=True)) == {r.pk for r in reasons}


def test_many_rows_are_written_as_bulk_create_writes_them():
    visitors = [VisitorFactory() for _ in range(db.ROWS_AT_ONCE + 5)]
    rows = [
        VisitorNameKey(visitor_id=v.pk, key=f"zz{n}", phone_last4="", birth_month_day=None)
        for n, v in enumerate(visitors)
    ]
    db.insert_rows(rows)
    assert VisitorNameKey.objects.filter(key__startswith="zz").count() == len(visitors)


def test_increment_adds_to_one_row_s_counter_in_one_statement(office):
    other = OfficeFactory(name="Elsewhere", slug="elsewhere")
    before, other_before = office.queue_version, other.queue_version
    with CaptureQueriesContext(connection) as queries:
        changed = db.increment(Office, office.pk, "queue_version")
        db.increment(Office, office.pk, "queue_version", by=2)
    assert changed == 1
    assert len(queries) == 2 and queries[0]["sql"].startswith("UPDATE")
    office.refresh_from_db()
    other.refresh_from_db()
    assert office.queue_version == before + 3
    assert other.queue_version == other_before  # only the row asked for
    assert db.increment(Office, 10**9, "queue_version") == 0  # no such row: nothing changed
