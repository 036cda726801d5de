"""Rate limits on booking: pages per address, codes per number, per address and per office."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.booking.conftest import TUESDAY, local

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture(autouse=True)
def _limits_on(settings):
    """Limits on with a clean count (the clock is held still by ``frozen``)."""
    settings.RATELIMIT_ENABLE = True
    cache.clear()
    yield
    cache.clear()


def send(client, kind, phone="(312) 555-0199", **extra):
    data = {
        "step": "send",
        "lang": "en",
        "type": kind.pk,
        "first_name": "Ana",
        "last_name": "Díaz",
        "phone": phone,
        "consent": "on",
        "at": str(int(local(TUESDAY, "09:00").timestamp())),
    }
    return client.post(reverse("booking:book", args=["riverside"]), data, **extra).status_code


def test_codes_to_one_number_are_limited_however_it_is_written(
    client, settings, job_help, memory_sms
):
    settings.RATELIMIT_VERIFY_NUMBER = "2/h"
    codes = [
        send(client, job_help, phone)
        for phone in ("(312) 555-0199", "312 555 0199", "+1 312-555-0199")
    ]
    assert codes == [200, 200, 429]
    assert len(memory_sms) == 2
    assert send(client, job_help, "(312) 555-0100") == 200  # another number is not held back


def test_codes_from_one_address_are_limited(client, settings, job_help, memory_sms):
    settings.RATELIMIT_VERIFY_IP = "2/h"
    codes = [send(client, job_help, f"(312) 555-01{n:02d}") for n in range(3)]
    assert codes == [200, 200, 429]
    assert send(client, job_help, "(312) 555-0150", REMOTE_ADDR="203.0.113.9") == 200


def test_codes_for_one_office_are_limited(client, settings, job_help, memory_sms):
    settings.RATELIMIT_REMOTE_OFFICE = "2/h"
    codes = [
        send(client, job_help, f"(312) 555-01{n:02d}", REMOTE_ADDR=f"203.0.113.{n}")
        for n in range(3)
    ]
    assert codes == [200, 200, 429]


def test_pages_and_posts_from_one_address_are_limited(client, settings, job_help):
    settings.RATELIMIT_PUBLIC = "2/m"
    settings.RATELIMIT_PUBLIC_POST = "1/m"
    url = reverse("booking:book", args=["riverside"])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
    assert [send(client, job_help, "") for _ in range(2)] == [422, 429]
