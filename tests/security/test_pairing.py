"""Pairing a lobby device by a short code that an office admin approves, and revoking it."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory
from visitors import tasks
from visitors.offices.models import DevicePairing, KioskLink, StaffRole

pytestmark = pytest.mark.django_db

CODE = re.compile(r'class="pairing-code"[^>]*>([A-Z0-9]{6})<')


@pytest.fixture
def office_admin(office):
    user = UserFactory(username="officeadmin")
    MembershipFactory(user=user, office=office, role=StaffRole.ADMIN)
    return user


def _code(response) -> str:
    return CODE.search(response.text).group(1)


def _ask_for_code(device: Client):
    """The device's "Show a pairing code" button, then the page it lands on."""
    return device.post(reverse("pair"), follow=True)


def test_a_tablet_shows_a_code_an_admin_approves_it_and_it_opens_the_kiosk(
    client, office, office_admin
):
    tablet = Client()
    first = _ask_for_code(tablet)
    code = _code(first)
    assert tablet.get(reverse("pair")).status_code == 200
    assert _code(tablet.get(reverse("pair"))) == code  # the same code while it waits
    assert tablet.get(reverse("kiosk:home", args=[office.slug])).status_code == 403

    client.force_login(office_admin)
    approved = client.post(reverse("desk:devices", args=[office.slug]),
                           {"code": code.lower(), "label": "Lobby left",
                            "capability": "check_in"})  # fmt: skip
    assert approved.status_code == 302
    link = KioskLink.objects.get(office=office, label="Lobby left")
    assert link.created_by == office_admin

    opened = tablet.get(reverse("pair"))
    assert opened.status_code == 302
    assert opened["Location"] == reverse("kiosk:home", args=[office.slug])
    assert tablet.get(reverse("kiosk:home", args=[office.slug])).status_code == 200
    assert not DevicePairing.objects.exists()  # used once

    client.post(reverse("desk:device_revoke", args=[office.slug, link.pk]))
    assert tablet.get(reverse("kiosk:home", args=[office.slug])).status_code == 403


def test_a_display_is_paired_as_a_display_and_opens_only_the_board(client, office, office_admin):
    screen = Client()
    code = _code(_ask_for_code(screen))
    client.force_login(office_admin)
    client.post(reverse("desk:devices", args=[office.slug]),
                {"code": code, "label": "Waiting room", "capability": "display"})  # fmt: skip
    screen.get(reverse("pair"))
    assert screen.get(reverse("display:board", args=[office.slug])).status_code == 200
    assert screen.get(reverse("kiosk:home", args=[office.slug])).status_code == 403


def test_a_wrong_or_expired_code_is_refused_with_a_message(client, office, office_admin):
    tablet = Client()
    code = _code(_ask_for_code(tablet))
    client.force_login(office_admin)
    url = reverse("desk:devices", args=[office.slug])
    wrong = client.post(url, {"code": "ZZZZZZ", "label": "x", "capability": "check_in"})
    assert wrong.status_code == 422 and "No device is showing that code" in wrong.text
    DevicePairing.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    late = client.post(url, {"code": code, "label": "x", "capability": "check_in"})
    assert late.status_code == 422
    assert not KioskLink.objects.exists()
    assert "Show a pairing code" in tablet.get(reverse("pair")).text  # the code ran out
    assert _code(_ask_for_code(tablet)) != code  # a fresh one on asking


def test_only_an_office_admin_pairs_or_revokes(client, office, clerk, manager):
    for user in (clerk, manager):
        client.force_login(user)
        assert client.get(reverse("desk:devices", args=[office.slug])).status_code == 403
    link, _ = KioskLink.issue(office=office, label="Lobby")
    client.force_login(clerk)
    client.post(reverse("desk:device_revoke", args=[office.slug, link.pk]))
    assert KioskLink.objects.get(pk=link.pk).revoked_at is None


def test_the_devices_page_lists_last_seen(client, office, office_admin):
    link, _ = KioskLink.issue(office=office, label="Lobby right")
    KioskLink.objects.filter(pk=link.pk).update(last_seen_at=timezone.now())
    client.force_login(office_admin)
    page = client.get(reverse("desk:devices", args=[office.slug]))
    assert "Lobby right" in page.text
    # The page shows the office's local date, which differs from UTC's around midnight.
    assert office.local_date().strftime("%Y-%m-%d") in page.text


def test_a_visit_to_the_pairing_page_makes_no_code_until_the_device_asks(client):
    """A crawler, a link preview, a reload: GET /pair/ without a cookie makes no row."""
    for _ in range(5):
        page = client.get(reverse("pair"))
        assert page.status_code == 200 and "Show a pairing code" in page.text
    assert not DevicePairing.objects.exists()
    shown = _ask_for_code(client)
    assert DevicePairing.objects.count() == 1
    assert _code(client.post(reverse("pair"), follow=True)) == _code(shown)  # a second tap
    assert DevicePairing.objects.count() == 1


def test_expired_pairings_are_swept(client):
    """Codes that ran out, used or not, are deleted by the housekeeping round."""
    _ask_for_code(client)
    later = timezone.now() + dt.timedelta(minutes=11)
    with time_machine.travel(later):
        tasks.close_stale_visits.apply()
    assert not DevicePairing.objects.exists()


def test_the_page_s_own_checks_are_not_counted_against_the_address(client, settings):
    """Devices pairing behind one lobby address poll every 3 s: only asking for a code counts."""
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_KIOSK = "3/m"
    _ask_for_code(client)
    assert all(client.get(reverse("pair")).status_code == 200 for _ in range(10))
