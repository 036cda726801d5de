"""More of the console: broadcast, closing a reason, hand-over, appointments, the visitor's
history with open requests, the veterans' screening, and query counts in the workspace."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import ReasonFactory, VisitFactory, VisitorFactory
from visitors import services
from visitors.followups.models import Appointment
from visitors.forms import TransferForm
from visitors.messaging.models import Reminder
from visitors.offices.models import ReferralPartner
from visitors.people.models import PriorityCategory
from visitors.visits.lifecycle import Stage, Status
from visitors.visits.models import OpenRequest, Referral, Visit

pytestmark = pytest.mark.django_db


def test_a_broadcast_goes_through_the_outbox_to_those_who_agreed(client, office, clerk):
    texting = VisitFactory(
        office=office, visitor=VisitorFactory(phone="(555) 201-1111", consent_sms=True)
    )
    emailing = VisitFactory(
        office=office, visitor=VisitorFactory(email="a@example.org", consent_email=True)
    )
    VisitFactory(office=office, visitor=VisitorFactory(phone="(555) 201-2222"))  # no consent
    client.force_login(clerk)
    response = client.post(
        reverse("desk:broadcast", args=[office.slug]),
        {"message": "We're running 20 minutes behind."}, follow=True,
    )  # fmt: skip
    assert "queued for 2 waiting visitor(s) who agreed" in response.text
    rows = {r.visit_id: r.channel for r in Reminder.objects.filter(kind=Reminder.Kind.BROADCAST)}
    assert rows == {texting.pk: "sms", emailing.pk: "email"}
    empty = client.post(reverse("desk:broadcast", args=[office.slug]), {"message": ""}, follow=True)
    assert "This field is required." in empty.text


def test_closing_a_reason_for_the_day_shows_on_the_kiosk(client, office, clerk):
    from visitors.forms import ReasonsForm

    reason = ReasonFactory(office=office, label_en="WIOA training")
    client.force_login(clerk)
    client.post(
        reverse("desk:reason_close", args=[office.slug]),
        {"reason": reason.pk, "note": "Programme full"},
    )
    reason.refresh_from_db()
    assert (reason.closed_on, reason.closed_note) == (office.local_date(), "Programme full")
    kiosk_form = ReasonsForm(office=office, day=office.local_date())
    assert reason not in kiosk_form.fields["reasons"].queryset
    client.post(
        reverse("desk:reason_close", args=[office.slug]), {"reason": reason.pk, "reopen": "1"}
    )
    reason.refresh_from_db()
    assert reason.closed_on is None


def test_a_visit_is_handed_over_to_another_staff_member_and_reason(
    client, office, clerk, counsellor
):
    visit = VisitFactory(office=office)
    other_reason = ReasonFactory(office=office)
    client.force_login(clerk)
    client.post(
        reverse("desk:visit_transfer", args=[office.slug, visit.pk]),
        {"to_staff": counsellor.pk, "reasons": [other_reason.pk]},
    )
    visit.refresh_from_db()
    assert visit.assigned_to == counsellor
    assert list(visit.reasons.all()) == [other_reason]
    assert visit.status == Status.WAITING  # keeps its place in line


def test_a_transfer_to_staff_of_another_office_is_refused(client, office, clerk, outsider):
    visit = VisitFactory(office=office)
    client.force_login(clerk)
    client.post(
        reverse("desk:visit_transfer", args=[office.slug, visit.pk]), {"to_staff": outsider.pk}
    )
    visit.refresh_from_db()
    assert visit.assigned_to is None


def test_a_visitor_with_an_appointment_today_is_marked_at_check_in(office, counsellor):
    visitor = VisitorFactory()
    start, _end = office.day_bounds(office.local_date())
    appointment = Appointment.objects.create(
        office=office, visitor=visitor, staff=counsellor, purpose="Résumé review",
        starts_at=max(timezone.now(), start) + dt.timedelta(minutes=1),
    )  # fmt: skip
    visit = services.visit_check_in(office=office, visitor=visitor)
    assert visit.appointment == appointment
    assert visit.assigned_to == counsellor


def test_the_visitor_history_resolves_open_requests_once(client, office, clerk):
    visit = VisitFactory(office=office, status=Status.LEFT)
    request = OpenRequest.objects.create(
        office=office, visitor=visit.visitor, raised_on=visit, description="Call back"
    )
    client.force_login(clerk)
    page = client.get(reverse("desk:visitor", args=[office.slug, visit.visitor_id]))
    assert "Call back" in page.text
    url = reverse("desk:request_resolve", args=[office.slug, request.pk])
    assert client.post(url, {"resolution": "Called, hearing on Friday"}).status_code == 302
    request.refresh_from_db()
    assert (request.state, request.resolved_by) == ("resolved", clerk)
    again = client.post(url, {"resolution": "twice"}, follow=True)
    assert "already resolved" in again.text


def test_a_veteran_with_barriers_is_referred_to_the_veterans_specialist(office, counsellor):
    specialist = ReferralPartner.objects.create(
        name="DVOP", helps_with="Veterans", is_veterans_specialist=True
    )
    veteran = VisitorFactory(priority_category=PriorityCategory.COVERED_VETERAN)
    visit = VisitFactory(office=office, visitor=veteran)
    services.visit_call(visit=visit, staff=counsellor)
    for stage, data in [
        (Stage.GREETING, {}),
        (Stage.DETERMINING, {"visitor_words": "Work", "reasons": []}),
    ]:
        services.visit_stage_record(visit=visit, stage=stage, by=counsellor, data=data)
    services.visit_stage_record(
        visit=visit, stage=Stage.RESPONDING, by=counsellor,
        data={"job_leads": "", "barriers": ["homeless"], "services": [], "partners": []},
    )  # fmt: skip
    assert Referral.objects.get(visit=visit).partner == specialist
    assert Visit.objects.get(pk=visit.pk).barriers == ["homeless"]


def test_the_workspace_costs_the_same_queries_with_few_or_many_past_visits(client, office, clerk):
    visitor = VisitorFactory()
    client.force_login(clerk)
    client.get(reverse("desk:console", args=[office.slug]))  # the user is now in the cache

    def queries_with(n):
        Visit.objects.filter(visitor=visitor).delete()
        for i in range(n):
            past = VisitFactory(
                office=office, visitor=visitor, status=Status.LEFT,
                service_date=office.local_date() - dt.timedelta(days=i + 1),
                checked_in_at=timezone.now() - dt.timedelta(days=i + 1),
            )  # fmt: skip
            OpenRequest.objects.create(
                office=office, visitor=visitor, raised_on=past, description=f"r{i}"
            )
        visit = VisitFactory(office=office, visitor=visitor)
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("desk:visit", args=[office.slug, visit.pk]))
        OpenRequest.objects.filter(visitor=visitor).delete()
        return len(captured)

    assert queries_with(2) == queries_with(20)


def test_the_hand_over_list_names_people_not_user_names(office, clerk, counsellor):
    counsellor.first_name, counsellor.last_name = "Marisol", "Ortega"
    counsellor.save()
    labels = [label for _value, label in TransferForm(office=office).fields["to_staff"].choices]
    assert "Marisol Ortega" in labels and "counsellor" not in labels
    assert (clerk.get_full_name() or clerk.username) in labels  # no name set: the user name
