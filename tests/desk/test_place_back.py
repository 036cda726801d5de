"""Slips undone and places given back: Left and No-show offer Undo, a visitor who left or missed
their call and walks back in the same day gets their place back by a staff action, recorded."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.concurrency import together
from tests.factories import ReasonFactory, VisitFactory, VisitorFactory
from visitors import selectors, services
from visitors.messaging.models import Reminder
from visitors.people.models import AuditEvent
from visitors.visits.lifecycle import Status, TransitionNotAllowed
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(midday_office):  # its visits are backdated by the hour: today's at any hour of the run
    return midday_office


def _line(office, n=3):
    now = timezone.now()
    return [
        VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=30 - 5 * i))
        for i in range(n)
    ]


def _order(office):
    return [v.ticket_code for v in selectors.queue_waiting(office=office)]


def test_undo_after_no_show_puts_the_visitor_back_at_their_place(client, office, clerk):
    first, second, third = _line(office)
    before = _order(office)
    client.force_login(clerk)
    client.post(reverse("desk:visit_action", args=[office.slug, first.pk, "call"]), {"desk": "4"})
    response = client.post(
        reverse("desk:visit_action", args=[office.slug, first.pk, "no_show"]), follow=True
    )
    first.refresh_from_db()
    assert first.status == Status.NO_SHOW
    page = response.text
    assert f"{first.ticket_code} marked as a no-show." in page
    undo_url = reverse("desk:visit_action", args=[office.slug, first.pk, "place_back"])
    assert f'action="{undo_url}"' in page and ">Undo<" in page

    response = client.post(undo_url, follow=True)
    assert f"{first.ticket_code} is back in line at their place." in response.text
    first.refresh_from_db()
    assert first.status == Status.WAITING
    assert (first.ended_at, first.called_at, first.desk) == (None, None, "")
    assert first.placed_back_by == clerk and first.placed_back_at is not None
    assert _order(office) == before  # first again, ahead of the two who came later
    assert AuditEvent.objects.filter(
        visit_id=first.pk, what__startswith="visit placed_back"
    ).exists()
    # The undo is offered once: the console after it has no toast, and a second press is refused.
    assert ">Undo<" not in client.get(reverse("desk:console", args=[office.slug])).text
    again = client.post(undo_url, follow=True)
    assert "Cannot give their place back: this visit is waiting." in again.text
    assert Visit.objects.get(pk=first.pk).status == Status.WAITING


def test_left_offers_undo_and_the_done_list_keeps_give_place_back(client, office, clerk):
    visit, *_ = _line(office)
    client.force_login(clerk)
    page = client.post(
        reverse("desk:visit_action", args=[office.slug, visit.pk, "left"]), follow=True
    ).text
    assert f"{visit.ticket_code} marked as left." in page
    # Later (the toast gone), the Done list still offers the place back.
    page = client.get(reverse("desk:console", args=[office.slug])).text
    assert ">Undo<" not in page
    assert f'id="placeback-{visit.pk}"' in page
    client.post(reverse("desk:visit_action", args=[office.slug, visit.pk, "place_back"]))
    assert Visit.objects.get(pk=visit.pk).status == Status.WAITING


def test_an_undo_from_another_office_console_is_not_shown(client, office, other_office, clerk):
    from tests.factories import MembershipFactory

    MembershipFactory(user=clerk, office=other_office)
    visit, *_ = _line(office, 1)
    client.force_login(clerk)
    client.post(reverse("desk:visit_action", args=[office.slug, visit.pk, "left"]))
    assert ">Undo<" not in client.get(reverse("desk:console", args=[other_office.slug])).text


def test_a_no_show_who_checks_in_again_gets_the_old_place_and_one_ticket(client, office, clerk):
    job, training = ReasonFactory(office=office), ReasonFactory(office=office)
    maria = VisitorFactory(first_name="María", last_name="Hernández", phone="5552014477",
                           consent_sms=True)  # fmt: skip
    old, *others = [
        VisitFactory(office=office, visitor=maria,
                     checked_in_at=timezone.now() - dt.timedelta(minutes=40)),
        VisitFactory(office=office, checked_in_at=timezone.now() - dt.timedelta(minutes=30)),
        VisitFactory(office=office, checked_in_at=timezone.now() - dt.timedelta(minutes=20)),
    ]  # fmt: skip
    old.reasons.add(job)
    services.visit_call(visit=old, staff=clerk, desk="2")
    services.visit_mark_no_show(visit=old, by=clerk)
    # She walks back in and checks in again: a new ticket, at the end of the line.
    new = VisitFactory(office=office, visitor=maria, reason_other="I was in the restroom",
                       notify_when_called=True)  # fmt: skip
    new.reasons.add(training)
    Reminder.objects.create(
        office=office, visitor=maria, visit=new, kind=Reminder.Kind.QUEUE_POSITION,
        channel="sms", due_at=timezone.now(), idempotency_key="position-test",
    )  # fmt: skip
    assert _order(office)[-1] == new.ticket_code
    client.force_login(clerk)
    page = client.get(reverse("desk:console", args=[office.slug])).text
    assert f"No-show earlier as {old.ticket_code}" in page
    give_back = reverse("desk:visit_action", args=[office.slug, old.pk, "place_back"])
    assert f'action="{give_back}"' in page

    client.post(give_back)
    old.refresh_from_db()
    assert old.status == Status.WAITING
    assert not Visit.objects.filter(pk=new.pk).exists()
    assert _order(office) == [old.ticket_code] + [v.ticket_code for v in others]
    assert set(old.reasons.all()) == {job, training}
    assert old.reason_other == "I was in the restroom" and old.notify_when_called
    # Her status page and texts follow the ticket she holds now.
    assert old.status_token == new.status_token
    assert Reminder.objects.get(kind=Reminder.Kind.QUEUE_POSITION).visit_id == old.pk
    status = client.get(reverse("status:page", args=[new.status_token]))
    assert status.status_code == 200 and old.ticket_code in status.text
    event = AuditEvent.objects.get(visit_id=old.pk, what__startswith="visit placed_back")
    assert new.ticket_code in event.what and event.user == clerk


def test_no_place_back_while_the_new_ticket_is_being_served(client, office, clerk):
    visitor = VisitorFactory()
    old = VisitFactory(
        office=office, visitor=visitor, checked_in_at=timezone.now() - dt.timedelta(hours=1)
    )
    services.visit_mark_left(visit=old, by=clerk)
    new = VisitFactory(office=office, visitor=visitor)
    services.visit_call(visit=new, staff=clerk, desk="1")
    client.force_login(clerk)
    page = client.post(
        reverse("desk:visit_action", args=[office.slug, old.pk, "place_back"]), follow=True
    ).text
    assert f"already with staff on ticket {new.ticket_code}" in page
    assert Visit.objects.get(pk=old.pk).status == Status.LEFT
    assert Visit.objects.get(pk=new.pk).status == Status.CALLED


def test_only_today_and_only_left_or_no_show(client, office, clerk):
    yesterday = timezone.now() - dt.timedelta(days=1)
    old = VisitFactory(office=office, checked_in_at=yesterday, status=Status.NO_SHOW,
                       ended_at=yesterday)  # fmt: skip
    with pytest.raises(TransitionNotAllowed, match="Only today's visits"):
        services.visit_place_back(visit=old, by=clerk)
    assert Visit.objects.get(pk=old.pk).status == Status.NO_SHOW
    waiting = VisitFactory(office=office)
    client.force_login(clerk)
    page = client.post(
        reverse("desk:visit_action", args=[office.slug, waiting.pk, "place_back"]), follow=True
    ).text
    assert "Cannot give their place back: this visit is waiting." in page


def test_another_office_ids_are_not_found(client, office, other_office, clerk):
    theirs = VisitFactory(office=other_office, status=Status.NO_SHOW, ended_at=timezone.now())
    client.force_login(clerk)
    response = client.post(
        reverse("desk:visit_action", args=[office.slug, theirs.pk, "place_back"])
    )
    assert response.status_code == 404
    assert Visit.objects.get(pk=theirs.pk).status == Status.NO_SHOW


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_place_backs_fold_once(office, clerk):
    visitor = VisitorFactory()
    old = VisitFactory(
        office=office, visitor=visitor, checked_in_at=timezone.now() - dt.timedelta(hours=1)
    )
    services.visit_mark_no_show(visit=old, by=clerk)
    new = VisitFactory(office=office, visitor=visitor)

    def give_back(i):
        mine = Visit.objects.select_related("visitor", "office").get(pk=old.pk)
        services.visit_place_back(visit=mine, by=clerk)
        return "placed"

    results = together(10, give_back)
    assert results.count("placed") == 1, results
    assert all(isinstance(r, TransitionNotAllowed) for r in results if r != "placed"), results
    assert list(Visit.objects.filter(visitor=visitor).values_list("pk", "status")) == [
        (old.pk, Status.WAITING)
    ]
    assert not Visit.objects.filter(pk=new.pk).exists()
    assert (
        AuditEvent.objects.filter(visit_id=old.pk, what__startswith="visit placed_back").count()
        == 1
    )
