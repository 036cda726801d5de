"""Every transition of a visit, from every entry point that can cause it, writes the same rows.

One table: (transition, entry point) → what must follow, in the change's transaction — the
office's queue version moved, the texts queued where the visitor agreed to them ("you're being
called"; "N ahead" for someone whose line moved), the webhook deliveries, the audit event.
The entry points are the real surfaces: the console, the visit workspace, the JSON API, the
kiosk, the visitor's status page, the desk's hand check-in, and beat's end-of-day sweep.
"""

import datetime as dt
from dataclasses import dataclass, field

import pytest
import time_machine
from django.urls import reverse

from tests.api.conftest import API, Api
from tests.factories import (
    MembershipFactory,
    ReasonFactory,
    UserFactory,
    VisitFactory,
    VisitorFactory,
)
from tests.kiosk.conftest import Tablet
from visitors import tasks
from visitors.integrations.models import (
    ApiToken,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from visitors.messaging.models import Reminder
from visitors.offices.models import KioskLink, Office, StaffRole
from visitors.people.models import AuditEvent
from visitors.views.kiosk import KIOSK_COOKIE
from visitors.visits.models import Visit

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)  # 09:00 in Chicago, a Monday

# The visit each case changes starts in one of these states.
CALLED = {"status": "called"}
IN_SERVICE = {"status": "in_service", "greeted_at": NOW}
STAGED = {
    "greeting": CALLED,
    "determining": IN_SERVICE,
    "responding": IN_SERVICE | {"determined_at": NOW},
    "concluding": IN_SERVICE | {"determined_at": NOW, "responded_at": NOW},
    "future_reference": IN_SERVICE
    | {"determined_at": NOW, "responded_at": NOW, "concluded_at": NOW, "outcome": "resolved"},
}
FINISHABLE = STAGED["future_reference"]


@dataclass
class Case:
    transition: str
    entry: str
    start: dict | None  # None: the transition makes the visit (a check-in)
    texts: set = field(default_factory=set)  # reminder kinds queued
    webhooks: set = field(default_factory=set)  # webhook events recorded
    audit: str = ""  # the audit event's "what"
    status: str = ""  # the visit's status afterwards

    @property
    def id(self) -> str:
        return f"{self.transition}-via-{self.entry}"


CASES = [
    Case("check_in", "kiosk", None, webhooks={"visit.checked_in"},
         audit="visit checked_in", status="waiting"),
    Case("check_in", "desk", None, webhooks={"visit.checked_in"},
         audit="visit checked_in", status="waiting"),
    Case("check_in", "api", None, webhooks={"visit.checked_in"},
         audit="visit checked_in", status="waiting"),
    Case("check_in", "appointment", None, webhooks={"visit.checked_in"},
         audit="visit checked_in", status="waiting"),
    Case("call", "console", {}, texts={"called_now", "queue_position"},
         webhooks={"visit.called"}, audit="visit called", status="called"),
    Case("call", "console_call_next", {}, texts={"called_now", "queue_position"},
         webhooks={"visit.called"}, audit="visit called", status="called"),
    Case("call", "api", {}, texts={"called_now", "queue_position"},
         webhooks={"visit.called"}, audit="visit called", status="called"),
    Case("call", "api_call_next", {}, texts={"called_now", "queue_position"},
         webhooks={"visit.called"}, audit="visit called", status="called"),
    Case("recall", "console", CALLED, texts={"called_now"}, webhooks={"visit.called"},
         audit="visit recalled", status="called"),
    Case("recall", "api", CALLED, texts={"called_now"}, webhooks={"visit.called"},
         audit="visit recalled", status="called"),
    Case("start", "console", CALLED, audit="visit started", status="in_service"),
    Case("start", "api", CALLED, audit="visit started", status="in_service"),
    Case("back", "console", CALLED, audit="visit returned", status="waiting"),
    Case("back", "api", CALLED, audit="visit returned", status="waiting"),
    Case("left", "console", {}, texts={"queue_position"}, audit="visit left", status="left"),
    Case("left", "api", {}, texts={"queue_position"}, audit="visit left", status="left"),
    Case("left", "status_page", {}, texts={"queue_position"},
         audit="visitor left (status page)", status="left"),
    Case("left", "beat", {"stale": True}, audit="closed at the end of the day", status="left"),
    Case("no_show", "console", {}, texts={"queue_position"}, audit="visit no_show",
         status="no_show"),
    Case("no_show", "api", {}, texts={"queue_position"}, audit="visit no_show",
         status="no_show"),
    Case("no_show", "beat", CALLED | {"stale": True}, audit="closed at the end of the day",
         status="no_show"),
    Case("hand_over", "console", {}, audit="visit handed_over", status="waiting"),
    Case("place_back", "console", {"status": "no_show"}, audit="visit placed_back",
         status="waiting"),
    Case("place_back", "api", {"status": "left"}, audit="visit placed_back", status="waiting"),
    *[
        Case(stage, entry, STAGED[stage], audit=f"stage {stage}", status="in_service",
             webhooks={"visit.concluded"} if stage == "concluding" else set())
        for stage in STAGED
        for entry in ("workspace", "api")
    ],
    Case("finish", "workspace", FINISHABLE, audit="visit finished", status="done"),
    Case("finish", "api", FINISHABLE, audit="visit finished", status="done"),
]  # fmt: skip

STAGE_WEB_DATA = {
    "determining": {"visitor_words": "Needs a résumé"},
    "responding": {"job_leads": "Warehouse, 3rd shift"},
    "concluding": {"outcome": "resolved"},
    "future_reference": {"note_for_next_time": "Ask about the course"},
}
API_ACTIONS = {"call": "call", "recall": "recall", "start": "start_service",
               "back": "return_to_queue", "left": "mark_left", "no_show": "mark_no_show",
               "finish": "finish", "place_back": "place_back"}  # fmt: skip


class World:
    """Riverside with a subject visit, a line behind it, and a subscriber to every event."""

    def __init__(self, client, case: Case):
        self.client, self.case = client, case
        self.office = Office.objects.create(
            name="Riverside Job Center", slug="riverside", time_zone="America/Chicago"
        )
        self.staff = UserFactory(username="counsellor")
        MembershipFactory(user=self.staff, office=self.office, role=StaffRole.COUNSELLOR)
        self.reason = ReasonFactory(office=self.office, label_en="Job search")
        WebhookSubscription.objects.create(
            office=self.office, url="https://crm.example.org/hook", events=WebhookEvent.values
        )
        self.token = ApiToken.issue(
            name="CRM", offices=[self.office], scope="write", created_by=self.staff
        )[1]
        start = case.start
        day = self.office.local_date(NOW) - dt.timedelta(days=1 if start and "stale" in start
                                                          else 0)  # fmt: skip
        at = NOW - dt.timedelta(days=1) if start and "stale" in start else NOW

        tickets = iter(range(101, 110))

        def visit(minutes_ago, **fields):
            return VisitFactory(
                office=self.office, service_date=day, ticket_number=next(tickets),
                checked_in_at=at - dt.timedelta(minutes=minutes_ago),
                visitor=VisitorFactory(phone="(555) 201-4477", consent_sms=True), **fields,
            )  # fmt: skip

        self.subject = None
        if start is not None:
            fields = {k: v for k, v in start.items() if k != "stale"}
            if fields.get("status") in ("called", "in_service"):
                fields.setdefault("called_at", at)
            self.subject = visit(30, notify_when_called=True, **fields)
        # A line in which the last asked to hear when one person is ahead: two are ahead of
        # them, so only the subject leaving the line brings them to one.
        if self.subject is None or self.subject.status != "waiting":
            visit(25)
        self.middle = visit(20)
        self.watcher = visit(10, notify_when_ahead=1)
        self.version = Office.objects.get(pk=self.office.pk).queue_version

    def api(self, method, path, data=None):
        return Api(self.client)(method, f"{API}/offices/riverside{path}", self.token, data)

    def act(self) -> Visit:
        """Cause the case's transition through its entry point; return the visit it changed."""
        case, client, office = self.case, self.client, self.office
        slug, subject = office.slug, self.subject
        if case.transition == "check_in":
            return self._check_in()
        if case.entry == "beat":
            tasks.close_stale_visits.apply()
        elif case.entry == "status_page":
            client.post(reverse("status:leave", args=[subject.status_token]))
        elif case.entry in ("api", "api_call_next"):
            if case.entry == "api_call_next":
                response = self.api("post", "/queue/call-next", {"desk": "Desk 7"})
            elif case.transition in STAGED:
                data = dict(STAGE_WEB_DATA.get(case.transition, {}))
                response = self.api("post", f"/visits/{subject.pk}/stages/{case.transition}",
                                    data or None)  # fmt: skip
            else:
                action = API_ACTIONS[case.transition]
                response = self.api("post", f"/visits/{subject.pk}/actions/{action}")
            assert response.status_code == 200, response.content
        else:
            client.force_login(self.staff)
            if case.entry == "console_call_next":
                url = reverse("desk:call_next", args=[slug])
                data = {"desk": "Desk 7"}
            elif case.transition == "hand_over":
                url = reverse("desk:visit_transfer", args=[slug, subject.pk])
                data = {"to_staff": self.staff.pk}
            elif case.transition in STAGED:
                url = reverse("desk:visit_stage", args=[slug, subject.pk, case.transition])
                data = STAGE_WEB_DATA.get(case.transition, {})
            elif case.transition == "finish":
                url = reverse("desk:visit_finish", args=[slug, subject.pk])
                data = {}
            else:
                url = reverse("desk:visit_action", args=[slug, subject.pk, case.transition])
                data = {"desk": "Desk 7"}
            response = client.post(url, data)
            assert response.status_code == 302, response.content
        return Visit.objects.get(pk=subject.pk)

    def _check_in(self) -> Visit:
        client, office, entry = self.client, self.office, self.case.entry
        before = set(Visit.objects.values_list("pk", flat=True))
        if entry == "kiosk":
            client.cookies[KIOSK_COOKIE] = KioskLink.issue(office=office, label="Lobby")[1]
            tablet = Tablet(client, office)
            response = tablet.check_in_new("Rosa", "Parks", self.reason, phone="")
            assert response.status_code == 200, response.text
        elif entry == "desk":
            client.force_login(self.staff)
            response = client.post(
                reverse("desk:check_in", args=[office.slug]),
                {"first_name": "Rosa", "last_name": "Parks", "reasons": [self.reason.pk],
                 "priority_category": "none", "ahead_count": "3"},
            )  # fmt: skip
            assert response.status_code in (200, 302), response.content
        elif entry == "api":
            response = self.api(
                "post",
                "/check-ins",
                {"first_name": "Rosa", "last_name": "Parks", "reason_ids": [self.reason.pk]},
            )
            assert response.status_code == 201, response.content
        elif entry == "appointment":
            client.force_login(self.staff)
            visitor = VisitorFactory(first_name="Rosa", last_name="Parks")
            office.appointments.create(
                visitor=visitor, staff=self.staff, starts_at=NOW + dt.timedelta(minutes=30),
                purpose="Résumé review",
            )  # fmt: skip
            self.api("post", "/check-ins", {"visitor_id": visitor.pk,
                                            "reason_ids": [self.reason.pk]})  # fmt: skip
        (made,) = set(Visit.objects.values_list("pk", flat=True)) - before
        visit = Visit.objects.get(pk=made)
        if entry == "appointment":
            assert visit.appointment is not None
        return visit


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_it_writes_what_follows_from_every_transition_at_every_entry_point(client, db, case):
    """The same rows follow a transition whichever surface caused it."""
    with time_machine.travel(NOW, tick=False):
        world = World(client, case)
        visit = world.act()
    assert visit.status == case.status
    office = Office.objects.get(pk=world.office.pk)
    assert office.queue_version > world.version, "the queue version did not move"
    texts = set(Reminder.objects.filter(office=office).values_list("kind", flat=True))
    assert texts == case.texts
    if "called_now" in case.texts:
        assert Reminder.objects.get(kind="called_now").visit_id == visit.pk
    if "queue_position" in case.texts:
        assert Reminder.objects.get(kind="queue_position").visit_id == world.watcher.pk
    events = set(WebhookDelivery.objects.values_list("event", flat=True))
    assert events == case.webhooks
    audit = AuditEvent.objects.filter(visit_id=visit.pk, action="change")
    assert list(audit.values_list("what", flat=True)) == [case.audit]


def test_it_keeps_a_text_the_visitor_did_not_agree_to_out_of_the_outbox(client, db):
    """Consent decides: a call of someone who asked for a text but withdrew consent queues
    nothing for them."""
    case = next(c for c in CASES if c.id == "call-via-console")
    with time_machine.travel(NOW, tick=False):
        world = World(client, case)
        world.subject.visitor.consent_sms = False
        world.subject.visitor.save()
        world.act()
    assert not Reminder.objects.filter(kind="called_now").exists()
    assert Reminder.objects.filter(kind="queue_position").exists()  # the watcher agreed


@pytest.mark.parametrize("entry", ["desk", "api"])
def test_a_merge_through_either_surface_writes_its_audit_once_and_moves_the_queue(
    client, db, entry
):
    """Merging a duplicate of someone waiting: the kept record's office sees the change (the
    queue version moves) and the audit trail has one merge event per record, whichever
    surface merged."""
    case = Case("merge", entry, {})
    with time_machine.travel(NOW, tick=False):
        world = World(client, case)
        keep = world.subject.visitor
        duplicate = VisitorFactory(first_name=keep.first_name, last_name=keep.last_name)
        VisitFactory(office=world.office, visitor=duplicate, status="left", ticket_number=300)
        if entry == "desk":
            client.force_login(world.staff)
            response = client.post(
                reverse("desk:merge", args=[world.office.slug]),
                {"keep": keep.pk, "merge": duplicate.pk},
            )
            assert response.status_code == 302
        else:
            response = world.api(
                "post", "/visitors/merge", {"keep_id": keep.pk, "merge_id": duplicate.pk}
            )
            assert response.status_code == 200, response.content
    assert Office.objects.get(pk=world.office.pk).queue_version > world.version
    merges = AuditEvent.objects.filter(action="merge")
    assert sorted(merges.values_list("visitor_id", flat=True)) == sorted([keep.pk, duplicate.pk])


def test_a_call_again_within_the_same_second_texts_again(client, db):
    """Call, then call again a moment later: two calls, two "you're being called" texts."""
    case = next(c for c in CASES if c.id == "call-via-api")
    with time_machine.travel(NOW, tick=False):
        world = World(client, case)
        world.act()
        response = world.api("post", f"/visits/{world.subject.pk}/actions/recall")
        assert response.status_code == 200
    assert Reminder.objects.filter(kind="called_now", visit=world.subject).count() == 2


def test_a_finished_visit_is_not_handed_over(client, db):
    """Hand-over of a visit that is over: a message, and nothing written."""
    case = next(c for c in CASES if c.id == "hand_over-via-console")
    with time_machine.travel(NOW, tick=False):
        world = World(client, case)
        Visit.objects.filter(pk=world.subject.pk).update(status="left", ended_at=NOW)
        client.force_login(world.staff)
        response = client.post(
            reverse("desk:visit_transfer", args=[world.office.slug, world.subject.pk]),
            {"to_staff": world.staff.pk}, follow=True,
        )  # fmt: skip
    assert "cannot be handed over" in response.text
    assert Visit.objects.get(pk=world.subject.pk).assigned_to is None
    assert Office.objects.get(pk=world.office.pk).queue_version == world.version
    assert not AuditEvent.objects.filter(visit_id=world.subject.pk, action="change").exists()
