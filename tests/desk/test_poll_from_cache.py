"""An unchanged console poll is answered from the cache (visitors.polling): no database, no
session, no user — but only for a session the full check let through, only while the version
is current, and never with anything in the answer."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import VisitorFactory
from visitors import services
from visitors.offices.models import Office, StaffMembership

HTMX = {"HX-Request": "true"}


@pytest.fixture
def poll(client, office, clerk):
    client.force_login(clerk)
    url = reverse("desk:queue", args=[office.slug])

    def get(version=None):
        version = Office.objects.get(pk=office.pk).queue_version if version is None else version
        return client.get(url, {"v": version}, headers=HTMX)

    return get


def test_after_one_full_check_unchanged_polls_touch_no_database(poll):
    assert poll().status_code == 204  # the full check: session, user, membership, version
    version = Office.objects.get().queue_version
    with CaptureQueriesContext(connection) as captured:
        answers = {poll(version).status_code for _ in range(5)}
    assert answers == {204}
    assert len(captured) == 0


def test_a_committed_change_is_seen_at_the_next_poll(
    poll, office, django_capture_on_commit_callbacks
):
    version = Office.objects.get().queue_version
    assert poll(version).status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        visit = services.visit_check_in(office=office, visitor=VisitorFactory(first_name="Ada"))
    changed = poll(version)
    assert changed.status_code == 200 and visit.ticket_code in changed.text


def test_another_session_without_a_permit_goes_through_the_full_check(poll, client, office):
    version = Office.objects.get().queue_version
    assert poll(version).status_code == 204  # the clerk's session holds a permit
    client.logout()  # the permit ends with the session
    answer = client.get(reverse("desk:queue", args=[office.slug]), {"v": version}, headers=HTMX)
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_a_member_who_lost_access_learns_nothing_and_is_refused_at_the_next_change(
    poll, office, clerk, django_capture_on_commit_callbacks
):
    version = Office.objects.get().queue_version
    assert poll(version).status_code == 204
    StaffMembership.objects.filter(user=clerk).update(is_active=False)
    unchanged = poll(version)  # within the permit: still only "no change", an empty body
    assert unchanged.status_code == 204 and unchanged.content == b""
    with django_capture_on_commit_callbacks(execute=True):
        services.visit_check_in(office=office, visitor=VisitorFactory(first_name="Ada"))
    assert poll(version).status_code == 404  # the full check again: no membership


def test_a_permit_is_for_one_office(poll, client, office, other_office):
    version = Office.objects.get(pk=office.pk).queue_version
    assert poll(version).status_code == 204
    other = Office.objects.get(pk=other_office.pk).queue_version
    answer = client.get(reverse("desk:queue", args=[other_office.slug]), {"v": other},
                        headers=HTMX)  # fmt: skip
    assert answer.status_code == 404
