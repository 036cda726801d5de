"""The optional second factor (TOTP) for managers and office admins."""

import re
import time

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, UserFactory
from visitors.offices.models import StaffRole

pytestmark = pytest.mark.django_db


def _code(device, *, later=0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + later
    return f"{totp.token():0{device.digits}d}"


def _sign_in(client, username):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD})


def test_a_manager_turns_it_on_and_then_every_sign_in_asks_for_a_code(client, office, manager):
    client.force_login(manager)
    page = client.get(reverse("two_factor"))
    assert page.status_code == 200 and "<svg" in page.text
    secret = re.search(r"<code>([A-Z2-7]+)</code>", page.text).group(1)
    device = TOTPDevice.objects.get(user=manager)
    assert not device.confirmed and len(secret) >= 16
    wrong = client.post(reverse("two_factor"), {"code": "000000"})
    assert wrong.status_code == 422 and not TOTPDevice.objects.get(pk=device.pk).confirmed
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)  # no waiting
    client.post(reverse("two_factor"), {"code": _code(device)})
    assert TOTPDevice.objects.get(pk=device.pk).confirmed

    client.logout()
    assert _sign_in(client, "manager").status_code == 302
    console = reverse("desk:console", args=[office.slug])
    held = client.get(console)
    assert held.status_code == 302 and held["Location"].startswith(reverse("two_factor_verify"))
    refused = client.post(reverse("two_factor_verify"), {"code": "123456", "next": console})
    assert refused.status_code == 422 and "not right" in refused.text
    assert client.get(console).status_code == 302  # still held
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)  # no waiting
    device.refresh_from_db()
    ok = client.post(reverse("two_factor_verify"), {"code": _code(device, later=30),
                                                    "next": console})  # fmt: skip
    assert ok.status_code == 302 and ok["Location"] == console
    assert client.get(console).status_code == 200


def test_the_code_page_never_sends_anyone_off_site(client, office, manager):
    device = TOTPDevice.objects.create(user=manager, name="app", confirmed=True)
    _sign_in(client, "manager")
    response = client.post(reverse("two_factor_verify"),
                           {"code": _code(device), "next": "https://evil.example/"})  # fmt: skip
    assert response.status_code == 302 and response["Location"] == reverse("desk:home")


def test_front_desk_staff_do_not_get_it_and_are_never_asked(client, office, clerk):
    client.force_login(clerk)
    assert client.get(reverse("two_factor")).status_code == 403
    assert client.get(reverse("desk:console", args=[office.slug])).status_code == 200


def _signed_in(username) -> Client:
    session = Client()
    assert _sign_in(session, username).status_code == 302
    return session


def _is_signed_out(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_signs_out_the_other_sessions_when_the_second_factor_is_turned_on(office, manager):
    """A session signed in before enrolment must sign in again; the enrolling one goes on."""
    dashboard = reverse("dashboard:day")
    before, enrolling = _signed_in("manager"), _signed_in("manager")
    assert before.get(dashboard).status_code == 200
    enrolling.get(reverse("two_factor"))
    device = TOTPDevice.objects.get(user=manager)
    enrolling.post(reverse("two_factor"), {"code": _code(device)})
    assert TOTPDevice.objects.get(pk=device.pk).confirmed

    assert enrolling.get(dashboard).status_code == 200
    assert _is_signed_out(before.get(dashboard))
    assert _sign_in(before, "manager").status_code == 302  # and now it asks for a code
    held = before.get(dashboard)
    assert held.status_code == 302 and held["Location"].startswith(reverse("two_factor_verify"))


def test_it_signs_out_the_other_sessions_when_the_password_changes(office):
    """A password change ends the user's other sessions; the one that changed it goes on."""
    admin = UserFactory(username="officeadmin", is_staff=True)
    MembershipFactory(user=admin, office=office, role=StaffRole.ADMIN)
    console = reverse("desk:console", args=[office.slug])
    before, changing = _signed_in("officeadmin"), _signed_in("officeadmin")
    assert before.get(console).status_code == 200
    new = "a brand new and long passphrase"
    form = {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    changed = changing.post(reverse("admin:password_change"), form)
    assert changed.status_code == 302

    assert changing.get(console).status_code == 200
    assert _is_signed_out(before.get(console))
