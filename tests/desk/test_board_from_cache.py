"""The queue board is rendered once per change and served from the cache to every console;
what is one person's own ("For you") is worked out per request, apart from it."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory, VisitorFactory
from visitors import services
from visitors.offices.models import StaffRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_consoles(office):
    dana = UserFactory(username="dana", first_name="Dana")
    wen = UserFactory(username="wen", first_name="Wen")
    for user in (dana, wen):
        MembershipFactory(user=user, office=office, role=StaffRole.COUNSELLOR)
    consoles = []
    for user in (dana, wen):
        client = Client()
        client.force_login(user)
        consoles.append(client)
    return dana, wen, consoles


def _changed_poll(client, office):
    return client.get(
        reverse("desk:queue", args=[office.slug]) + "?v=0", headers={"HX-Request": "true"}
    )


def test_the_second_console_gets_the_board_from_the_cache(office, two_consoles):
    _dana, _wen, (first, second) = two_consoles
    for n in range(12):
        services.visit_check_in(office=office, visitor=VisitorFactory(first_name=f"Ann{n}"))
    with CaptureQueriesContext(connection) as built:
        one = _changed_poll(first, office)
    with CaptureQueriesContext(connection) as cached:
        two = _changed_poll(second, office)
    assert one.status_code == two.status_code == 200
    assert "Ann11" in two.text and two.text.count('id="row-') == 12
    # The rows' queries (the board's querysets) are not run again for the second console.
    assert len(cached) < len(built) - 3, (len(built), len(cached))
    assert not any("visits_visit_reasons" in q["sql"] for q in cached.captured_queries)


def test_a_change_is_seen_at_once_by_every_console(office, two_consoles):
    _dana, _wen, (first, second) = two_consoles
    services.visit_check_in(office=office, visitor=VisitorFactory(first_name="Ann"))
    _changed_poll(first, office)
    services.visit_check_in(office=office, visitor=VisitorFactory(first_name="Bea"))
    after = _changed_poll(second, office)
    assert "Ann" in after.text and "Bea" in after.text


def test_the_shared_board_carries_no_csrf_token_and_nothing_of_one_person(office, two_consoles):
    dana, _wen, (first, second) = two_consoles
    handed = services.visit_check_in(office=office, visitor=VisitorFactory(first_name="Cy"))
    services.visit_transfer(visit=handed, to_staff=dana, by=dana)
    danas = _changed_poll(first, office).text
    wens = _changed_poll(second, office).text
    assert 'id="for-you-h"' in danas and 'id="for-you-h"' not in wens
    shared = wens[wens.index('aria-labelledby="waiting-h"') :]
    assert "csrfmiddlewaretoken" not in shared
    # Dana's own "For you" rows keep their forms' tokens (they are hers alone).
    assert "csrfmiddlewaretoken" in danas[: danas.index('aria-labelledby="waiting-h"')]


def test_consoles_in_another_language_get_their_own_board(office, two_consoles):
    _dana, _wen, (first, second) = two_consoles
    services.visit_check_in(office=office, visitor=VisitorFactory(first_name="Ann"))
    english = _changed_poll(first, office).text
    spanish = second.get(
        reverse("desk:queue", args=[office.slug]) + "?v=0",
        headers={"HX-Request": "true", "Accept-Language": "es"},
    ).text
    assert ">Waiting (1)<" in english and ">En espera (1)<" in spanish
    assert ">En espera (1)<" not in english
