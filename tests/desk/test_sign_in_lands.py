"""Signing in lands on the console of the staff member's office, not the site's front page."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_signing_in_lands_on_the_console(client, office):
    clerk = UserFactory(username="lee")
    MembershipFactory(user=clerk, office=office, role="front_desk")
    response = client.post(reverse("login"), {"username": "lee", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("desk:console", args=[office.slug])
