"""Rate limits on the public pages: codes by text per number and per address, places per office,
lobby-code guesses per ticket, and reading per address."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from tests.remote.conftest import ask_code, join, join_data, last_code, proof_of
from visitors.people.models import PhoneVerification
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits_on(settings):
    """Limits on, a clean count, and the clock held still (limits count in fixed windows)."""
    settings.RATELIMIT_ENABLE = True
    cache.clear()
    with time_machine.travel(dt.datetime(2026, 3, 2, 15, 0, 30, tzinfo=dt.UTC), tick=False):
        yield
    cache.clear()


def test_codes_to_one_number_are_limited_however_it_is_typed(
    client, remote_office, memory_sms, settings
):
    settings.RATELIMIT_VERIFY_NUMBER = "2/h"
    assert ask_code(client, remote_office)[0].status_code == 200
    assert ask_code(client, remote_office, **{"j-phone": "312.555.0199"})[0].status_code == 200
    limited = client.post(
        reverse("public:join", args=[remote_office.slug]),
        join_data(remote_office, **{"j-phone": "+1 312 555 0199"}),
        REMOTE_ADDR="203.0.113.7",  # another address: the number's limit holds all the same
    )
    assert limited.status_code == 429
    assert "Please wait" in limited.text and "Espere" in limited.text
    assert len(memory_sms) == 2
    other = ask_code(client, remote_office, **{"j-phone": "(312) 555-0100"})[0]
    assert other.status_code == 200


def test_codes_from_one_address_are_limited(client, remote_office, memory_sms, settings):
    settings.RATELIMIT_VERIFY_IP = "3/h"
    for n in range(3):
        phone = f"(312) 555-01{n:02d}"
        assert ask_code(client, remote_office, **{"j-phone": phone})[0].status_code == 200
    assert ask_code(client, remote_office, **{"j-phone": "(312) 555-0150"})[0].status_code == 429
    elsewhere = client.post(
        reverse("public:join", args=[remote_office.slug]),
        join_data(remote_office, **{"j-phone": "(312) 555-0151"}),
        REMOTE_ADDR="198.51.100.4",
    )
    assert elsewhere.status_code == 200
    assert PhoneVerification.objects.count() == 4


def test_places_per_office_are_limited(client, remote_office, memory_sms, settings):
    settings.RATELIMIT_REMOTE_OFFICE = "1/h"
    assert join(client, remote_office, memory_sms).status_code == 302
    second = join(client, remote_office, memory_sms, **{"j-phone": "(312) 555-0100",
                                                         "j-first_name": "Bo"})  # fmt: skip
    assert second.status_code == 429
    assert Visit.objects.count() == 1


def test_lobby_code_guesses_are_limited_per_ticket_from_any_address(
    client, remote_office, memory_sms, settings
):
    settings.RATELIMIT_LOBBY_CODE = "3/h"
    join(client, remote_office, memory_sms)
    visit = Visit.objects.get()
    url = reverse("status:here", args=[visit.status_token])
    codes = [client.post(url, {"code": "0000"}, REMOTE_ADDR=f"203.0.113.{n}").status_code
             for n in range(4)]  # fmt: skip
    assert codes == [422, 422, 422, 429]
    visit.refresh_from_db()
    assert visit.on_the_way


def test_reading_the_public_page_is_limited_per_address(client, remote_office, settings):
    settings.RATELIMIT_PUBLIC = "3/m"
    url = reverse("public:office", args=[remote_office.slug])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    assert client.get(url).status_code == 429
    assert client.get(url, REMOTE_ADDR="198.51.100.4").status_code == 200


def test_a_code_s_proof_cannot_be_reused_for_a_second_place(client, remote_office, memory_sms):
    sent, data = ask_code(client, remote_office)
    final = {**data, "step": "verify", "proof": proof_of(sent), "code": last_code(memory_sms)}
    url = reverse("public:join", args=[remote_office.slug])
    assert client.post(url, final).status_code == 302
    # The same proof with another name: the place it made, never a second one.
    again = client.post(url, {**final, "j-first_name": "Someone", "j-last_name": "Else"})
    assert again.status_code == 302
    assert Visit.objects.count() == 1
