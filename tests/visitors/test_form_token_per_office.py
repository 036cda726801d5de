"""A check-in form's token (the kiosk's, the desk's, an integration's idempotency key) replays
only its own office's visit.

Found by an outside probe: the desk's token was stored as ``desk:<token>`` for every office, so
a token sent at Riverside that had already checked someone in at Hillside answered Riverside's
staff with Hillside's visitor ("Hidden is in line as B-003") and checked nobody in. Tokens are
now per office where they are made, and the core never hands back another office's visit.
"""

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import _member
from tests.factories import MembershipFactory, ReasonFactory
from visitors import services
from visitors.integrations.models import ApiToken
from visitors.offices.models import StaffRole
from visitors.people.models import Visitor
from visitors.visits.models import Source, Visit


def _check_in(office, token, first="Alice", last="Riverperson"):
    data = services.KioskCheckIn(first_name=first, last_name=last)
    return services.kiosk_check_in(office=office, data=data, token=token, source=Source.DESK)


def test_the_core_refuses_a_token_that_made_another_office_s_visit(office, other_office):
    theirs = _check_in(other_office, "shared", "Hidden", "Hillsider")
    with pytest.raises(services.FormUsedElsewhere):
        _check_in(office, "shared")
    assert list(Visit.objects.values_list("pk", flat=True)) == [theirs.pk]
    assert not Visitor.objects.filter(first_name="Alice").exists()  # rolled back whole
    # At its own office the token still replays its visit.
    again = _check_in(other_office, "shared", "Hidden", "Hillsider")
    assert (again.pk, again.replayed) == (theirs.pk, True)


def test_the_same_desk_token_at_two_offices_checks_in_at_each(client, office, other_office):
    hillside_desk = _member(other_office, "desk_b", StaffRole.FRONT_DESK)
    riverside_desk = _member(office, "desk_a", StaffRole.FRONT_DESK)
    form = {"token": "probe-shared-token", "ahead_count": "3", "priority_category": "none"}
    hillside = Client()  # another person's browser
    hillside.force_login(hillside_desk)
    hillside.post(
        reverse("desk:check_in", args=[other_office.slug]),
        form | {"first_name": "Hidden", "last_name": "Hillsider",
                "reasons": [ReasonFactory(office=other_office).pk]},
    )  # fmt: skip
    client.force_login(riverside_desk)
    response = client.post(
        reverse("desk:check_in", args=[office.slug]),
        form | {"first_name": "Alice", "last_name": "Riverperson",
                "reasons": [ReasonFactory(office=office).pk]},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    assert "Hidden" not in response.text
    assert "Alice is in line as" in response.text
    assert Visit.objects.get(visitor__first_name="Alice").office == office
    assert Visit.objects.get(visitor__first_name="Hidden").office == other_office


def test_the_same_idempotency_key_at_two_offices_is_two_check_ins(client, office, other_office):
    admin = _member(office, "office_admin", StaffRole.ADMIN)
    MembershipFactory(user=admin, office=other_office, role=StaffRole.ADMIN)  # both offices
    token = ApiToken.issue(
        name="CRM", offices=[office, other_office], scope="write", created_by=admin
    )[1]
    answers = {}
    for place in (office, other_office):
        answers[place.slug] = client.post(
            f"/api/v1/offices/{place.slug}/check-ins",
            {"first_name": "Ana", "last_name": "Ruiz", "idempotency_key": "crm-7",
             "reason_ids": [ReasonFactory(office=place).pk]},
            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
        )  # fmt: skip
    assert [a.status_code for a in answers.values()] == [201, 201]
    for place in (office, other_office):
        visit = Visit.objects.get(pk=answers[place.slug].json()["id"])
        assert visit.office == place
