"""Personal data: the audit trail, a visitor's data as JSON, erasure and retention."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.dashboard.test_day import visit
from tests.factories import MembershipFactory, UserFactory, VisitFactory, VisitorFactory
from visitors import dashboard, privacy
from visitors.messaging.models import Reminder
from visitors.offices.models import StaffRole
from visitors.people.models import AuditEvent, Visitor, VisitorNameKey
from visitors.selectors import visitor_match
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import OpenRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(office):
    user = UserFactory(username="officeadmin")
    MembershipFactory(user=user, office=office, role=StaffRole.ADMIN)
    return user


@pytest.fixture
def rosa(office, counsellor):
    person = VisitorFactory(first_name="Rosa", last_name="Díaz", phone="(555) 301-7777",
                            email="rosa@example.org", consent_sms=True)  # fmt: skip
    day = dt.date(2025, 3, 4)
    words = "Lost my job at the cannery; my landlord is Mr. Pérez"
    served = visit(office, person, day, (9, 0), called=(9, 10), service=((9, 10), (9, 30)),
                   outcome=Outcome.FOLLOW_UP, by=counsellor, visitor_words=words)  # fmt: skip
    OpenRequest.objects.create(office=office, visitor=person, raised_on=served,
                               description="Call Rosa about the Pérez eviction")  # fmt: skip
    Reminder.objects.create(office=office, visitor=person, kind="appointment", channel="sms",
                            due_at=timezone.now() + dt.timedelta(days=3),
                            idempotency_key="rosa-1",
                            context={"note": "Rosa's eviction"})  # fmt: skip
    return person


def test_viewing_and_changing_a_visitor_leaves_an_audit_trail(client, office, counsellor, rosa):
    client.force_login(counsellor)
    client.get(reverse("desk:visitor", args=[office.slug, rosa.pk]))
    waiting = VisitFactory(office=office, visitor=VisitorFactory())
    client.get(reverse("desk:visit", args=[office.slug, waiting.pk]))
    trail = list(AuditEvent.objects.order_by("at", "pk").values_list(
        "user__username", "visitor_id", "action", "what"))  # fmt: skip
    assert trail == [("counsellor", rosa.pk, "view", "profile"),
                     ("counsellor", waiting.visitor_id, "view", "visit workspace")]  # fmt: skip


def test_only_an_office_admin_exports_a_visitor_s_data(client, office, counsellor, admin_user,
                                                       rosa):  # fmt: skip
    url = reverse("desk:visitor_export", args=[office.slug, rosa.pk])
    client.force_login(counsellor)
    assert client.get(url).status_code == 403
    client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["visitor"]["email"] == "rosa@example.org"
    assert data["visits"][0]["in_your_words"].startswith("Lost my job")
    assert data["open_requests"][0]["description"] == "Call Rosa about the Pérez eviction"
    assert AuditEvent.objects.filter(action="export", visitor_id=rosa.pk,
                                     user=admin_user).exists()  # fmt: skip


def test_an_admin_of_another_office_cannot_reach_the_visitor(client, other_office, rosa):
    stranger = UserFactory(username="stranger")
    MembershipFactory(user=stranger, office=other_office, role=StaffRole.ADMIN)
    client.force_login(stranger)
    url = reverse("desk:visitor_export", args=[other_office.slug, rosa.pk])
    assert client.get(url).status_code == 404  # Rosa never came to Hillside


def test_erasure_removes_what_identifies_her_and_keeps_the_statistics(
    client, office, admin_user, rosa
):
    day = dt.date(2025, 3, 4)
    before = dashboard.day_figures([office], day, now=timezone.now())
    client.force_login(admin_user)
    url = reverse("desk:visitor_erase", args=[office.slug, rosa.pk])
    assert "Erase" in client.get(url).text
    client.post(url, {})  # not confirmed
    assert Visitor.objects.get(pk=rosa.pk).anonymised_at is None
    client.post(url, {"confirm": "erase"})
    gone = Visitor.objects.get(pk=rosa.pk)
    assert gone.anonymised_at is not None
    assert (gone.first_name, gone.phone, gone.email) == ("Anonymised", "", "")
    assert not gone.consent_sms
    assert not VisitorNameKey.objects.filter(visitor=gone).exists()
    assert gone.visits.get().visitor_words == ""
    assert OpenRequest.objects.get(visitor=gone).description == "(removed)"
    reminder = Reminder.objects.get(visitor=gone)
    assert (reminder.state, reminder.context) == ("cancelled", {})
    assert visitor_match(first_name="Rosa", last_name="Díaz") == []  # never recognised again
    after = dashboard.day_figures([office], day, now=timezone.now())
    assert after.headline == before.headline and after.outcomes == before.outcomes
    assert AuditEvent.objects.filter(action="erase", visitor_id=rosa.pk).exists()
    page = client.get(reverse("desk:visitor", args=[office.slug, rosa.pk]))
    assert "Rosa" not in page.text and "Personal data removed" in page.text


def test_someone_in_line_is_not_erased_mid_visit(client, office, admin_user, rosa):
    VisitFactory(office=office, visitor=rosa, status=Status.WAITING)
    client.force_login(admin_user)
    page = client.post(reverse("desk:visitor_erase", args=[office.slug, rosa.pk]),
                       {"confirm": "erase"}, follow=True)  # fmt: skip
    assert "finish the visit first" in page.text
    assert Visitor.objects.get(pk=rosa.pk).anonymised_at is None


def test_retention_anonymises_only_those_gone_longer_than_the_office_keeps(office, rosa):
    office.retention_months = 12
    office.save()
    recent = VisitorFactory(first_name="Recent")
    visit(office, recent, timezone.localdate() - dt.timedelta(days=30), (9, 0),
          status=Status.LEFT)  # fmt: skip
    now = timezone.now()
    assert privacy.visitors_anonymise_inactive(now=now) == 1  # Rosa: last visit March 2025
    assert Visitor.objects.get(pk=rosa.pk).anonymised_at is not None
    assert Visitor.objects.get(pk=recent.pk).anonymised_at is None
    assert privacy.visitors_anonymise_inactive(now=now) == 0  # once
    [event] = AuditEvent.objects.filter(action="anonymise")
    assert (event.visitor_id, event.user) == (rosa.pk, None)
    office.retention_months = 60
    office.save()
    assert privacy.visitors_anonymise_inactive(now=now) == 0
