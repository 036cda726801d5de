"""Check-in, ticket numbering and closing stale visits, including under concurrent requests."""

import datetime as dt

import pytest
import time_machine

from tests.concurrency import together
from tests.factories import OfficeFactory, ReasonFactory, VisitFactory, VisitorFactory, aware
from visitors import services
from visitors.people.models import PriorityCategory, Visitor
from visitors.visits.lifecycle import Status, TransitionNotAllowed
from visitors.visits.models import Source, TicketCounter, Visit

NOW = aware(2026, 3, 2, 15, 0)  # Monday 09:00 in Chicago


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_it_numbers_tickets_per_office_day_from_one():
    """Each office's tickets start at A-001 every local day and count up."""
    office, other = OfficeFactory(), OfficeFactory(ticket_prefix="B")
    codes = [
        services.visit_check_in(office=office, visitor=VisitorFactory()).ticket_code
        for _ in range(3)
    ]
    other_code = services.visit_check_in(office=other, visitor=VisitorFactory()).ticket_code
    tomorrow = services.visit_check_in(
        office=office, visitor=VisitorFactory(), at=NOW + dt.timedelta(days=1)
    )
    assert codes == ["A-001", "A-002", "A-003"]
    assert other_code == "B-001"
    assert (tomorrow.ticket_code, tomorrow.service_date) == ("A-001", dt.date(2026, 3, 3))


@pytest.mark.django_db
def test_it_dates_a_check_in_by_the_office_s_own_day():
    """At 23:30 in Chicago it is already tomorrow in UTC; the visit belongs to Chicago's day."""
    office = OfficeFactory(time_zone="America/Chicago")
    late = aware(2026, 3, 3, 5, 30)  # 23:30 on 2 March in Chicago
    visit = services.visit_check_in(office=office, visitor=VisitorFactory(), at=late)
    assert visit.service_date == dt.date(2026, 3, 2)


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_it_checks_in_with_reasons_priority_and_source():
    office = OfficeFactory()
    reasons = [ReasonFactory(office=office), ReasonFactory(office=office)]
    veteran = VisitorFactory(priority_category=PriorityCategory.COVERED_VETERAN)
    visit = services.visit_check_in(
        office=office, visitor=veteran, reasons=reasons, reason_other="", source=Source.DESK
    )
    visit.refresh_from_db()
    assert visit.status == Status.WAITING
    assert visit.priority == 1
    assert visit.source == Source.DESK
    assert set(visit.reasons.all()) == set(reasons)
    assert Visitor.objects.get(pk=veteran.pk).last_seen_at == NOW


@pytest.mark.django_db
def test_it_refuses_a_second_check_in_while_the_first_is_active():
    """A double tap on the kiosk gives the visitor their existing ticket, not a second one."""
    office, visitor = OfficeFactory(), VisitorFactory()
    first = services.visit_check_in(office=office, visitor=visitor)
    with pytest.raises(services.AlreadyWaiting) as again:
        services.visit_check_in(office=office, visitor=visitor)
    assert again.value.visit == first
    assert Visit.objects.filter(visitor=visitor).count() == 1
    assert TicketCounter.objects.get(office=office).last_number == 1


@pytest.mark.django_db
def test_it_checks_in_again_once_the_last_visit_is_over():
    office, visitor = OfficeFactory(), VisitorFactory()
    first = services.visit_check_in(office=office, visitor=visitor)
    first.mark_left()
    second = services.visit_check_in(office=office, visitor=visitor)
    assert (first.ticket_code, second.ticket_code) == ("A-001", "A-002")


@pytest.mark.django_db
def test_it_closes_yesterday_s_open_visits_and_leaves_today_s_and_those_in_service():
    """Overnight, waiting becomes left and called becomes no-show; in service waits for staff."""
    office = OfficeFactory(time_zone="America/Chicago")
    yesterday, today = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
    waiting = VisitFactory(office=office, service_date=yesterday)
    called = VisitFactory(
        office=office, service_date=yesterday, status=Status.CALLED, called_at=NOW
    )
    serving = VisitFactory(
        office=office, service_date=yesterday, status=Status.IN_SERVICE, called_at=NOW
    )
    current = VisitFactory(office=office, service_date=today)
    assert services.visits_close_stale(now=NOW) == 2
    statuses = dict(Visit.objects.values_list("pk", "status"))
    assert statuses == {
        waiting.pk: Status.LEFT,
        called.pk: Status.NO_SHOW,
        serving.pk: Status.IN_SERVICE,
        current.pk: Status.WAITING,
    }
    assert Visit.objects.get(pk=waiting.pk).ended_at == NOW


# --- Concurrency: real threads, real connections, the database decides ---------------------------


@pytest.mark.django_db(transaction=True)
def test_it_never_hands_out_the_same_ticket_twice_under_concurrent_check_ins():
    office = OfficeFactory()
    people = [VisitorFactory() for _ in range(8)]
    results = together(
        8, lambda i: services.visit_check_in(office=office, visitor=people[i]).ticket_number
    )
    assert sorted(results) == list(range(1, 9)), results


@pytest.mark.django_db(transaction=True)
def test_it_gives_one_ticket_when_the_same_visitor_submits_twice_at_once():
    office, visitor = OfficeFactory(), VisitorFactory()

    def check_in(_i):
        try:
            return services.visit_check_in(office=office, visitor=visitor).pk
        except services.AlreadyWaiting as exc:
            return ("already", exc.visit.pk)

    results = together(4, check_in)
    created = [r for r in results if isinstance(r, int)]
    assert len(created) == 1, results
    refused = [r for r in results if not isinstance(r, int)]
    assert refused == [("already", created[0])] * 3, results
    assert Visit.objects.filter(visitor=visitor).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_lets_only_one_of_several_staff_call_the_same_visitor():
    visit = VisitFactory()

    def call(i):
        mine = Visit.objects.get(pk=visit.pk)
        mine.mark_called(by=None, desk=f"Desk {i}")
        return mine.desk

    results = together(4, call)
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1, results
    assert all(isinstance(r, TransitionNotAllowed) for r in results if r not in winners)
    assert Visit.objects.get(pk=visit.pk).desk == winners[0]
