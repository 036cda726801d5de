"""The optional second factor (TOTP) for managers and office admins."""

import re
import time

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD

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
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_front_desk_staff_do_not_get_it_and_are_never_asked(client, office, clerk):
    client.force_login(clerk)
    assert client.get(reverse("two_factor")).status_code == 403
    assert client.get(reverse("desk:console", args=[office.slug])).status_code == 200
