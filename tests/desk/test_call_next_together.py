"""Staff pressing "call next" at the same moment: each visitor is called once, by one of them,
in line order, and nobody waits behind another's transaction to be told so."""

import pytest

from tests.concurrency import together
from tests.factories import MembershipFactory, UserFactory, VisitFactory
from visitors import services
from visitors.offices.models import Office, StaffRole
from visitors.visits.lifecycle import Status
from visitors.visits.models import Visit


@pytest.mark.django_db(transaction=True)
def test_ten_staff_at_once_over_six_waiting_call_six_visitors_once_each(office):
    staff = []
    for n in range(10):
        user = UserFactory(username=f"desk{n}")
        MembershipFactory(user=user, office=office, role=StaffRole.FRONT_DESK)
        staff.append(user)
    waiting = [VisitFactory(office=office, ticket_number=700 + n) for n in range(6)]

    def press(i):
        fresh = Office.objects.get(pk=office.pk)
        visit = services.queue_call_next(office=fresh, staff=staff[i], desk=f"Desk {i}")
        return None if visit is None else visit.pk

    results = together(10, press)
    called = [r for r in results if r is not None]
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(called) == sorted(v.pk for v in waiting), results
    assert results.count(None) == 4
    rows = Visit.objects.filter(pk__in=called)
    assert {row.status for row in rows} == {Status.CALLED}
    # Each called by the one who was handed them, at that person's desk.
    for i, pk in enumerate(results):
        if pk is not None:
            row = rows.get(pk=pk)
            assert (row.called_by_id, row.desk) == (staff[i].pk, f"Desk {i}")
    office.refresh_from_db()
    assert office.queue_version >= 6


@pytest.mark.django_db(transaction=True)
def test_someone_s_own_visitor_is_theirs_even_when_the_line_is_busy(office):
    dana, sam = UserFactory(username="dana"), UserFactory(username="sam")
    for user in (dana, sam):
        MembershipFactory(user=user, office=office, role=StaffRole.COUNSELLOR)
    first = VisitFactory(office=office, ticket_number=801)
    handed = VisitFactory(office=office, ticket_number=802, assigned_to=dana)
    called = services.queue_call_next(office=office, staff=sam)
    assert called.pk == first.pk  # Sam is never offered Dana's
    assert services.queue_call_next(office=office, staff=sam) is None
    assert services.queue_call_next(office=office, staff=dana).pk == handed.pk
