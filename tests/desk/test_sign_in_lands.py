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


def test_a_page_one_may_not_open_says_so_in_one_s_language(client, office):
    """A front-desk clerk is not a manager: the dashboard answers 403 with a page that says why
    and where to go (not a bare English "403 Forbidden")."""
    clerk = UserFactory(username="lee")
    MembershipFactory(user=clerk, office=office, role="front_desk")
    client.force_login(clerk)
    page = client.get(reverse("dashboard:day"))
    assert page.status_code == 403
    assert "You can't open this page" in page.text and reverse("desk:home") in page.text
    spanish = client.get(reverse("dashboard:day"), headers={"accept-language": "es"})
    assert spanish.status_code == 403 and "No puede abrir esta página" in spanish.text
