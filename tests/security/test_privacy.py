"""Personal data: the audit trail, a visitor's data as JSON, erasure and retention."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.dashboard.test_day import visit
from tests.factories import MembershipFactory, UserFactory, VisitFactory, VisitorFactory
from visitors import dashboard, privacy, services
from visitors.followups.models import Appointment
from visitors.messaging.models import Reminder
from visitors.offices.models import StaffRole
from visitors.people.models import (
    AuditEvent,
    EqualOpportunityRecord,
    Visitor,
    VisitorMerge,
    VisitorNameKey,
)
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


NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _seen(first_name, *, days_ago, **fields):
    """A visitor with no visit, last seen ``days_ago`` before NOW."""
    at = NOW - dt.timedelta(days=days_ago)
    return VisitorFactory(first_name=first_name, first_seen_at=at, last_seen_at=at, **fields)


def _personal(visitor_ids) -> str:
    """Every name, contact and birthday field of those visitors and of their merge records."""
    fields = ["first_name", "last_name", "preferred_name", "first_key", "last_key", "phone"]
    fields += ["phone_last4", "email", "birth_date"]
    rows = Visitor.objects.filter(pk__in=visitor_ids).values_list(*fields)
    merges = VisitorMerge.objects.filter(kept__in=visitor_ids).values_list("merged_name")
    return repr([*rows, *merges])


def test_it_erases_the_records_merged_into_her_and_the_merge_records(
    client, office, admin_user, counsellor, rosa
):
    """Erasure reaches her tombstones (merged into her, transitively) and the merge records."""
    born = dt.date(1990, 5, 1)
    twin = VisitorFactory(
        first_name="Rosita",
        last_name="Díaz",
        preferred_name="Ro",
        phone="(555) 301-4444",
        email="rosita@example.org",
        birth_date=born,
    )
    older = VisitorFactory(
        first_name="Rosa María",
        last_name="Diaz",
        phone="(555) 301-5555",
        email="rosamaria@example.org",
        birth_date=born,
    )
    services.visitor_merge(keep=twin, merge=older, by=counsellor)
    services.visitor_merge(keep=rosa, merge=twin, by=counsellor)
    EqualOpportunityRecord.objects.create(visitor=rosa, recorded_by=counsellor, sex="female")
    family = [rosa.pk, twin.pk, older.pk]
    assert "Rosita" in _personal(family) and "Rosa María" in _personal(family)

    client.force_login(admin_user)
    client.post(reverse("desk:visitor_erase", args=[office.slug, rosa.pk]), {"confirm": "erase"})

    personal = _personal(family)
    for left in ("Ros", "Díaz", "Diaz", "555", "4444", "5555", "@", "1990", "Ro'"):
        assert left not in personal
    assert Visitor.objects.filter(pk__in=family, anonymised_at__isnull=True).count() == 0
    assert VisitorMerge.objects.filter(kept__in=family).count() == 2  # kept, nameless
    assert not VisitorNameKey.objects.filter(visitor__in=family).exists()
    assert not EqualOpportunityRecord.objects.filter(visitor__in=family).exists()
    erased = AuditEvent.objects.filter(action="erase").values_list("visitor_id", flat=True)
    assert sorted(erased) == sorted(family)


def test_it_erases_the_free_text_of_appointments_and_delivery_errors(
    client, office, admin_user, rosa
):
    """Appointments and a provider's delivery errors lose the free text that names her."""
    purpose = "Rosa: bring the Pérez letter"
    Appointment.objects.create(office=office, visitor=rosa, starts_at=NOW, purpose=purpose)
    Reminder.objects.filter(visitor=rosa).update(last_error="(555) 301-7777 is not reachable")
    client.force_login(admin_user)
    client.post(reverse("desk:visitor_erase", args=[office.slug, rosa.pk]), {"confirm": "erase"})
    assert "Rosa" not in Appointment.objects.get(visitor=rosa).purpose
    assert "555" not in Reminder.objects.get(visitor=rosa).last_error


def test_it_anonymises_visitors_with_no_visit_by_the_longest_retention(office, other_office):
    """With no visit there is no office whose rule is theirs: the longest one applies."""
    office.retention_months, other_office.retention_months = 12, 60
    office.save()
    other_office.save()
    long_gone = _seen("Orphan", days_ago=61 * 31, phone="(555) 111-2222")
    within_the_longest = _seen("Between", days_ago=3 * 365)
    recent = _seen("Recent", days_ago=30)

    assert privacy.visitors_anonymise_inactive(now=NOW) == 1
    assert Visitor.objects.get(pk=long_gone.pk).phone == ""
    assert Visitor.objects.get(pk=long_gone.pk).anonymised_at == NOW
    kept = Visitor.objects.filter(pk__in=[within_the_longest.pk, recent.pk])
    assert [v.anonymised_at for v in kept] == [None, None]
    assert privacy.visitors_anonymise_inactive(now=NOW) == 0  # once
    [event] = AuditEvent.objects.filter(action="anonymise")
    assert (event.visitor_id, event.office) == (long_gone.pk, None)
    assert event.what == "retention 60 months, no visit"


def test_it_keeps_a_visitor_with_no_visit_but_an_appointment_to_come(office):
    """An appointment is activity: someone booked long ago but expected next week stays."""
    booked = _seen("Booked", days_ago=40 * 31)
    next_week = NOW + dt.timedelta(days=7)
    Appointment.objects.create(office=office, visitor=booked, purpose="CV", starts_at=next_week)
    assert privacy.visitors_anonymise_inactive(now=NOW) == 0
    assert Visitor.objects.get(pk=booked.pk).anonymised_at is None


def test_it_uses_the_default_retention_when_there_is_no_office(db):
    """No office yet: the default of 36 months applies to visitors with no visit."""
    gone, kept = _seen("Gone", days_ago=37 * 31), _seen("Kept", days_ago=35 * 30)
    assert privacy.visitors_anonymise_inactive(now=NOW) == 1
    assert Visitor.objects.get(pk=gone.pk).anonymised_at == NOW
    assert Visitor.objects.get(pk=kept.pk).anonymised_at is None


def test_it_clears_tombstones_left_by_an_earlier_anonymisation(office, counsellor, rosa):
    """Records merged into someone anonymised before erasure reached tombstones are caught."""
    twin = VisitorFactory(first_name="Rosita", phone="(555) 301-4444")
    services.visitor_merge(keep=rosa, merge=twin, by=counsellor)
    earlier = {"first_name": "Anonymised", "last_name": f"#{rosa.pk}", "phone": ""}
    Visitor.objects.filter(pk=rosa.pk).update(anonymised_at=NOW, **earlier)
    assert privacy.visitors_anonymise_inactive(now=NOW) == 1
    assert "Rosita" not in _personal([rosa.pk, twin.pk])
    assert Visitor.objects.get(pk=twin.pk).anonymised_at == NOW
