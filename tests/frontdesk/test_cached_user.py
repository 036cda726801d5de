"""The signed-in user comes from the cache, and a change to the user row is seen at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _user_reads(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return response.status_code, sum('FROM "auth_user"' in q["sql"] for q in captured)


def test_a_second_request_does_not_read_the_user_row(client, office, clerk):
    client.force_login(clerk)
    url = reverse("desk:console", args=[office.slug])
    client.get(url)
    status, reads = _user_reads(client, url)
    assert status == 200 and reads == 0


def test_a_deactivated_user_is_out_at_once(client, office, clerk):
    client.force_login(clerk)
    url = reverse("desk:console", args=[office.slug])
    assert client.get(url).status_code == 200
    clerk.is_active = False
    clerk.save()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_changed_password_ends_the_other_sessions_at_once(client, office, clerk):
    client.force_login(clerk)
    url = reverse("desk:console", args=[office.slug])
    assert client.get(url).status_code == 200
    clerk.set_password(PASSWORD + " changed")
    clerk.save()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_renamed_user_shows_the_new_name_at_once(client, office, clerk):
    client.force_login(clerk)
    url = reverse("desk:console", args=[office.slug])
    client.get(url)
    clerk.first_name = "Zebedee"
    clerk.save()
    assert "Zebedee" in client.get(url).text
