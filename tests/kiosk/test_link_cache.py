"""The tablet's kiosk link and its office are read from the cache on most requests, and
forgotten as soon as either changes: a link revoked on the devices page (an UPDATE), one saved
or deleted, or its office renamed, closed or deleted shows at the tablet's very next request."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import MembershipFactory, OfficeFactory, UserFactory
from visitors.offices.models import KioskLink, StaffRole
from visitors.views.display import DISPLAY_COOKIE
from visitors.views.kiosk import KIOSK_COOKIE

pytestmark = pytest.mark.django_db


def _home(tablet, office=None):
    return tablet.client.get(reverse("kiosk:home", args=[(office or tablet.office).slug]))


def test_a_second_page_does_not_read_the_link_or_the_office(tablet):
    assert _home(tablet).status_code == 200  # read, cached, last seen now
    with CaptureQueriesContext(connection) as captured:
        assert _home(tablet).status_code == 200
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "offices_kiosklink" not in sql
    assert "offices_office" not in sql


def test_a_link_revoked_on_the_devices_page_locks_the_tablet_at_its_next_request(
    tablet, office, kiosk_link
):
    assert _home(tablet).status_code == 200
    admin = UserFactory(username="officeadmin")
    MembershipFactory(user=admin, office=office, role=StaffRole.ADMIN)
    staff = Client()
    staff.force_login(admin)
    revoked = staff.post(reverse("desk:device_revoke", args=[office.slug, kiosk_link[0].pk]))
    assert revoked.status_code == 302
    assert _home(tablet).status_code == 403


@pytest.mark.parametrize("change", ["save", "update", "delete"])
def test_a_link_changed_any_way_is_read_again(tablet, kiosk_link, change):
    assert _home(tablet).status_code == 200
    link = kiosk_link[0]
    if change == "save":
        link.revoked_at = timezone.now()
        link.save()
    elif change == "update":
        KioskLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    else:
        link.delete()
    assert _home(tablet).status_code == 403


def test_a_renamed_office_shows_its_new_name_at_once(tablet, office):
    assert "Riverside Job Center" in _home(tablet).text
    office.name = "Riverside Career Center"
    office.save()
    assert "Riverside Career Center" in _home(tablet).text


def test_a_deleted_office_s_tablet_is_not_let_in(tablet, office):
    assert _home(tablet).status_code == 200
    office.delete()
    assert _home(tablet).status_code == 404


def test_a_cached_link_opens_neither_another_office_nor_another_device_s_pages(tablet, office):
    other = OfficeFactory(name="Eastside", slug="eastside")
    assert _home(tablet).status_code == 200  # this office's link, cached
    assert _home(tablet, other).status_code == 403
    screen = Client()
    screen.cookies[DISPLAY_COOKIE] = tablet.client.cookies[KIOSK_COOKIE].value
    assert screen.get(reverse("display:board", args=[office.slug])).status_code == 403


def test_last_seen_is_written_once_a_minute_without_asking_redis_each_time(
    tablet, kiosk_link, monkeypatch
):
    from django.core.cache import cache

    asked = []
    add = cache.add
    monkeypatch.setattr(cache, "add", lambda key, *a, **k: asked.append(key) or add(key, *a, **k))
    link = kiosk_link[0]
    assert _home(tablet).status_code == 200
    link.refresh_from_db()
    assert link.last_seen_at is not None  # the first request of this link, here: written
    assert [key for key in asked if key.startswith("kiosk-link-seen")] == [
        f"kiosk-link-seen:{link.pk}"
    ]
    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            assert _home(tablet).status_code == 200
    assert len([key for key in asked if key.startswith("kiosk-link-seen")]) == 1
    assert "offices_kiosklink" not in " ".join(q["sql"] for q in captured.captured_queries)


def test_recently_remembers_a_key_for_its_seconds_only(monkeypatch):
    from frontdesk import cache as cache_module

    clock = [1000.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: clock[0])
    recently = cache_module.Recently(60, size=2)
    assert not recently.check_and_note("a")
    assert recently.check_and_note("a")
    clock[0] += 59
    assert recently.check_and_note("a")
    assert not recently.check_and_note("b")
    clock[0] += 2  # "a" noted 61 s ago
    assert not recently.check_and_note("a")
    assert not recently.check_and_note("c")  # full: starts again
    assert not recently.check_and_note("b")
