"""Staff sessions end after inactivity: a person's requests renew them, automatic polls do not."""

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_a_page_renews_the_session_but_a_queue_poll_does_not(client, clerk, office, settings):
    client.force_login(clerk)
    client.get(reverse("desk:console", args=[office.slug]))
    after_page = _expiry(client)
    client.get(reverse("desk:queue", args=[office.slug]), {"v": "0"}, headers={"HX-Request": "1"})
    assert _expiry(client) == after_page
    client.get(reverse("desk:console", args=[office.slug]))
    assert _expiry(client) > after_page
