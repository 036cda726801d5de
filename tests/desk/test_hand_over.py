"""Hand-overs and arrivals reach a person: a visit handed to a colleague waits in their own
"for you" list and nobody else's "call next" takes it until it is released; a visitor with an
appointment shows in their counsellor's list and is offered to them first."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory, VisitFactory, VisitorFactory
from visitors import services
from visitors.followups.models import Appointment
from visitors.visits.lifecycle import Stage, Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(midday_office):  # its visits are backdated by the hour: today's at any hour of the run
    return midday_office


@pytest.fixture
def colleague(office):
    user = UserFactory(username="wioa", first_name="Wen", last_name="Ortiz")
    MembershipFactory(user=user, office=office, role="counsellor")
    return user


def _line(office, n):
    now = timezone.now()
    return [
        VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=40 - 5 * i))
        for i in range(n)
    ]


def _console(client, office):
    return client.get(reverse("desk:console", args=[office.slug])).text


def test_a_visit_handed_over_in_service_waits_for_the_colleague(
    client, office, clerk, counsellor, colleague
):
    first, second = _line(office, 2)
    services.visit_call(visit=first, staff=counsellor, desk="Desk 2")
    services.visit_stage_record(visit=first, stage=Stage.GREETING, by=counsellor, data={})
    client.force_login(counsellor)
    page = client.post(
        reverse("desk:visit_transfer", args=[office.slug, first.pk]),
        {"to_staff": colleague.pk}, follow=True,
    ).text  # fmt: skip
    assert f"{first.ticket_code} handed over." in page
    first.refresh_from_db()
    assert (first.status, first.assigned_to, first.called_by, first.desk) == (
        Status.WAITING, colleague, None, "",
    )  # fmt: skip
    assert first.greeted_at is not None  # what was recorded stays
    # The board shows who holds it; only the colleague has it in "For you".
    board = _console(client, office)
    assert "→ Wen Ortiz" in board and "For you" not in board
    client.force_login(colleague)
    mine = _console(client, office)
    assert "For you (1)" in mine and "Handed over to you" in mine
    assert f'id="mine-{first.pk}"' in mine


def test_call_next_never_takes_someone_else_s_hand_over(client, office, clerk, colleague):
    first, second = _line(office, 2)
    services.visit_transfer(visit=first, to_staff=colleague, by=clerk)
    # The front desk's call next skips it and takes the shared line's first.
    assert services.queue_call_next(office=office, staff=clerk, desk="1") == second
    assert services.queue_call_next(office=office, staff=clerk, desk="1") is None
    client.force_login(clerk)
    page = client.post(reverse("desk:call_next", args=[office.slug]), {"desk": "1"}, follow=True)
    assert "Nobody is waiting." in page.text
    assert Visit.objects.get(pk=first.pk).status == Status.WAITING
    # The colleague's call next takes theirs first, ahead of anyone earlier in the line.
    third = VisitFactory(office=office, checked_in_at=timezone.now() - dt.timedelta(hours=2))
    called = services.queue_call_next(office=office, staff=colleague, desk="7")
    assert called == first and third.pk != called.pk


def test_released_it_goes_back_to_the_shared_line(client, office, clerk, colleague):
    (visit,) = _line(office, 1)
    services.visit_transfer(visit=visit, to_staff=colleague, by=clerk)
    client.force_login(colleague)
    client.post(reverse("desk:visit_action", args=[office.slug, visit.pk, "release"]))
    assert Visit.objects.get(pk=visit.pk).assigned_to is None
    assert services.queue_call_next(office=office, staff=clerk, desk="1") == visit
    # Releasing again, or a visit that was never handed over, changes nothing and says nothing.
    assert services.visit_release(visit=visit, by=colleague) is False


def test_an_appointment_arrival_is_the_counsellor_s(client, office, clerk, counsellor):
    early, _later = _line(office, 2)
    visitor = VisitorFactory(first_name="Imani")
    appointment = Appointment.objects.create(
        office=office, visitor=visitor, staff=counsellor, purpose="WIOA intake",
        starts_at=timezone.now() + dt.timedelta(minutes=10),
    )  # fmt: skip
    arrived = VisitFactory(office=office, visitor=visitor, appointment=appointment)
    client.force_login(counsellor)
    page = _console(client, office)
    assert "For you (1)" in page and "Your appointment at" in page
    assert services.queue_call_next(office=office, staff=counsellor, desk="4") == arrived
    # For anyone else it is an ordinary place in the line (nobody is left waiting for an
    # absent counsellor).
    client.force_login(clerk)
    assert "For you" not in _console(client, office)
    assert services.queue_call_next(office=office, staff=clerk, desk="1") == early


def test_hand_over_to_another_office_s_staff_is_refused(client, office, clerk, outsider):
    (visit,) = _line(office, 1)
    client.force_login(clerk)
    page = client.post(
        reverse("desk:visit_transfer", args=[office.slug, visit.pk]),
        {"to_staff": outsider.pk}, follow=True,
    ).text  # fmt: skip
    assert "Select a valid choice" in page
    assert Visit.objects.get(pk=visit.pk).assigned_to is None
