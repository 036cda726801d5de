"""The staff console: live queue with version polling, call next, actions, the lobby display."""

import datetime as dt
import threading

import pytest
from django.db import close_old_connections, connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    MembershipFactory,
    ReasonFactory,
    UserFactory,
    VisitFactory,
    VisitorFactory,
)
from visitors import services
from visitors.messaging.models import Reminder
from visitors.offices.models import KioskLink, Office
from visitors.visits.lifecycle import Status
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db


def _console(office):
    return reverse("desk:console", args=[office.slug])


def _action(office, visit, action):
    return reverse("desk:visit_action", args=[office.slug, visit.pk, action])


def test_the_console_is_for_this_office_s_staff(client, office, outsider, clerk):
    assert client.get(_console(office)).status_code == 302
    client.force_login(outsider)
    assert client.get(_console(office)).status_code == 404
    client.force_login(clerk)
    assert client.get(_console(office)).status_code == 200


def test_desk_home_takes_single_office_staff_to_their_console(client, office, clerk):
    client.force_login(clerk)
    assert client.get(reverse("desk:home"))["Location"] == _console(office)


def test_it_shows_waiting_visitors_with_badges_staff_only(client, office, clerk):
    reason = ReasonFactory(office=office, label_en="Résumé help")
    veteran = VisitorFactory(first_name="Marcus", priority_category="veteran")
    VisitFactory(
        office=office,
        visitor=veteran,
        service_date=office.local_date() - dt.timedelta(days=3),
        status=Status.LEFT,
    )
    visit = VisitFactory(office=office, visitor=veteran, priority=1)
    visit.reasons.set([reason])
    client.force_login(clerk)
    page = client.get(_console(office)).text
    assert visit.ticket_code in page and "Marcus" in page
    assert "Priority" in page and "Returning" in page and "Résumé help" in page


def test_an_unchanged_queue_poll_is_an_empty_204(
    client, office, clerk, django_capture_on_commit_callbacks
):
    client.force_login(clerk)
    version = Office.objects.get(pk=office.pk).queue_version
    url = reverse("desk:queue", args=[office.slug])
    unchanged = client.get(url, {"v": version}, headers={"HX-Request": "true"})
    assert unchanged.status_code == 204 and unchanged.content == b""
    with django_capture_on_commit_callbacks(execute=True):  # the check-in commits
        visit = services.visit_check_in(office=office, visitor=VisitorFactory(first_name="Newt"))
    changed = client.get(url, {"v": version}, headers={"HX-Request": "true"})
    assert changed.status_code == 200
    assert visit.ticket_code in changed.text and "<html" not in changed.text
    assert f"?v={version + 1}" in changed.text


def test_the_console_costs_the_same_queries_with_5_or_50_waiting(client, office, clerk):
    client.force_login(clerk)
    reason = ReasonFactory(office=office)
    # The signed-in user and the office's side panel are now in the cache, as on any page.
    client.get(_console(office))

    def queries_with(n):
        Visit.objects.filter(office=office).delete()
        for _ in range(n):
            VisitFactory(office=office).reasons.set([reason])
        # The factory writes rows directly; the services would have moved the queue's version.
        Office.objects.filter(pk=office.pk).update(queue_version=F("queue_version") + 1)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(_console(office)).status_code == 200
        return len(captured)

    assert queries_with(5) == queries_with(50)


def test_call_next_follows_the_queue_rule(client, office, clerk):
    first = VisitFactory(office=office)
    veteran = VisitFactory(office=office, priority=1)
    client.force_login(clerk)
    response = client.post(reverse("desk:call_next", args=[office.slug]), {"desk": "Desk 3"})
    assert response["Location"] == reverse("desk:visit", args=[office.slug, veteran.pk])
    called = Visit.objects.get(pk=veteran.pk)
    assert (called.status, called.desk, called.called_by) == (Status.CALLED, "Desk 3", clerk)
    assert called.served_ahead  # a covered person called ahead of someone who came earlier
    assert Visit.objects.get(pk=first.pk).status == Status.WAITING


def test_call_next_with_nobody_waiting_says_so(client, office, clerk):
    client.force_login(clerk)
    response = client.post(reverse("desk:call_next", args=[office.slug]), follow=True)
    assert "Nobody is waiting." in response.text


def test_calling_a_consenting_visitor_queues_the_called_text(office, clerk):
    visitor = VisitorFactory(phone="(555) 201-4477", consent_sms=True)
    visit = VisitFactory(office=office, visitor=visitor, notify_when_called=True)
    services.visit_call(visit=visit, staff=clerk, desk="Desk 2")
    reminder = Reminder.objects.get()
    assert (reminder.kind, reminder.channel, reminder.visit) == ("called_now", "sms", visit)
    assert reminder.context["desk"] == "Desk 2"
    silent = VisitFactory(office=office, visitor=VisitorFactory(consent_sms=False))
    services.visit_call(visit=silent, staff=clerk)
    assert Reminder.objects.count() == 1


@pytest.mark.parametrize(
    ("start", "action", "expected"),
    [
        (Status.WAITING, "call", Status.CALLED),
        (Status.CALLED, "recall", Status.CALLED),
        (Status.CALLED, "start", Status.IN_SERVICE),
        (Status.CALLED, "back", Status.WAITING),
        (Status.WAITING, "left", Status.LEFT),
        (Status.CALLED, "no_show", Status.NO_SHOW),
    ],
)
def test_each_action_moves_the_visit(client, office, clerk, start, action, expected):
    called_at = timezone.now() if start != Status.WAITING else None
    visit = VisitFactory(office=office, status=start, called_at=called_at)
    client.force_login(clerk)
    assert client.post(_action(office, visit, action)).status_code == 302
    assert Visit.objects.get(pk=visit.pk).status == expected


def test_an_action_on_a_visit_that_moved_on_gets_a_message_not_an_error(client, office, clerk):
    visit = VisitFactory(office=office, status=Status.LEFT, ended_at=timezone.now())
    client.force_login(clerk)
    response = client.post(_action(office, visit, "call"), follow=True)
    assert response.status_code == 200
    assert "Cannot call: this visit is left before being served." in response.text


def test_unknown_actions_and_other_offices_visits_are_404(client, office, other_office, clerk):
    mine, theirs = VisitFactory(office=office), VisitFactory(office=other_office)
    client.force_login(clerk)
    assert client.post(_action(office, mine, "teleport")).status_code == 404
    assert client.post(_action(office, theirs, "call")).status_code == 404
    assert client.get(_action(office, mine, "call")).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_twenty_staff_calling_next_over_ten_visitors_call_each_exactly_once(office, clerk):
    """The database decides: no visitor is called twice, nobody gets an error."""
    visits = [VisitFactory(office=office) for _ in range(10)]
    barrier = threading.Barrier(20)
    results = [None] * 20

    def press(i):
        try:
            barrier.wait()
            called = services.queue_call_next(office=office, staff=clerk, desk=f"Desk {i}")
            results[i] = called.pk if called else "nobody"
        except Exception as exc:  # collected and asserted on below
            results[i] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=press, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    called = [r for r in results if isinstance(r, int)]
    assert sorted(called) == sorted(v.pk for v in visits), results
    assert results.count("nobody") == 10, results
    assert Visit.objects.filter(status=Status.CALLED).count() == 10


# --- Lobby display -------------------------------------------------------------------------------


def _display(client, office, capability="display"):
    _link, token = KioskLink.issue(office=office, label="TV", capability=capability)
    return client.get(reverse("display:open", args=[office.slug, token]), follow=True)


def test_the_display_needs_a_display_link(client, office):
    assert client.get(reverse("display:board", args=[office.slug])).status_code == 403
    assert _display(client, office, capability="check_in").status_code == 404


def test_the_display_shows_the_call_and_no_names(client, office, clerk):
    visitor = VisitorFactory(first_name="Priscilla", last_name="Quintero")
    visit = VisitFactory(office=office, visitor=visitor)
    waiting = VisitFactory(office=office)
    services.visit_call(visit=visit, staff=clerk, desk="Desk 3")
    page = _display(client, office)
    assert page.status_code == 200
    assert visit.ticket_code in page.text and "Desk 3" in page.text
    assert waiting.ticket_code in page.text
    assert "Priscilla" not in page.text and "Quintero" not in page.text
    office.display_names = True
    office.save()
    named = client.get(reverse("display:board", args=[office.slug]))
    assert "Priscilla Q." in named.text and "Quintero" not in named.text


def test_the_display_poll_is_204_until_the_queue_moves(client, office, clerk):
    _display(client, office)
    url = reverse("display:board", args=[office.slug])
    version = Office.objects.get(pk=office.pk).queue_version
    assert client.get(url, {"v": version}, headers={"HX-Request": "true"}).status_code == 204
    visit = VisitFactory(office=office)
    services.visit_call(visit=visit, staff=clerk, desk="Desk 1")
    moved = client.get(url, {"v": version}, headers={"HX-Request": "true"})
    assert moved.status_code == 200 and visit.ticket_code in moved.text


def test_office_admins_reach_devices_and_integrations_from_the_console(client, office, clerk):
    admin = UserFactory(username="boss")
    MembershipFactory(user=admin, office=office, role="admin")
    devices = reverse("desk:devices", args=[office.slug])
    integrations = reverse("desk:integrations", args=[office.slug])
    client.force_login(admin)
    page = client.get(_console(office)).text
    assert devices in page and integrations in page
    client.force_login(clerk)
    page = client.get(_console(office)).text
    assert devices not in page and integrations not in page
