"""Joining the line from a phone: an office that offers it, and a phone that joins."""

import re

import pytest
from django.urls import reverse

from tests.factories import OfficeFactory, ReasonFactory

PHONE = "(312) 555-0199"
E164 = "+13125550199"


@pytest.fixture
def remote_office(db):
    office = OfficeFactory(
        name="Riverside Job Center", slug="riverside", time_zone="America/Chicago",
        remote_join=True,
    )  # fmt: skip
    ReasonFactory(office=office, label_en="Looking for work", label_es="Busco trabajo")
    ReasonFactory(office=office, label_en="Unemployment claim", label_es="Desempleo")
    return office


def join_data(office, **overrides) -> dict:
    reason = office.reasons.first()
    data = {
        "step": "send", "lang": "en", "j-first_name": "Ana", "j-last_name": "Díaz",
        "j-reasons": [reason.pk], "j-other": "", "j-travel_minutes": "20", "j-phone": PHONE,
        "j-consent": "on",
    }  # fmt: skip
    data.update(overrides)
    return data


def last_code(outbox) -> str:
    return re.search(r"code is (\d{6})", outbox[-1].body).group(1)


def proof_of(response) -> str:
    return re.search(r'name="proof" value="([^"]+)"', response.text).group(1)


def ask_code(client, office, **overrides):
    """Send the form; return (response, data) for the code step."""
    data = join_data(office, **overrides)
    response = client.post(reverse("public:join", args=[office.slug]), data)
    return response, data


def join(client, office, outbox, **overrides):
    """The whole join: the form, the code from the text, the place. Returns the last response."""
    sent, data = ask_code(client, office, **overrides)
    assert sent.status_code == 200, sent.text
    return client.post(
        reverse("public:join", args=[office.slug]),
        {**data, "step": "verify", "proof": proof_of(sent), "code": last_code(outbox)},
    )
