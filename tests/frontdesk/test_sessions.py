"""Staff sessions end after inactivity: a person's requests renew them (at most once a minute),
automatic polls do not."""

import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_a_page_renews_the_session_but_a_queue_poll_does_not(client, clerk, office, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(clerk)
        client.get(reverse("desk:console", args=[office.slug]))
        after_page = _expiry(client)
    with time_machine.travel(start + dt.timedelta(minutes=5), tick=False):
        client.get(
            reverse("desk:queue", args=[office.slug]), {"v": "0"}, headers={"HX-Request": "1"}
        )
        assert _expiry(client) == after_page
        client.get(reverse("desk:console", args=[office.slug]))
        assert _expiry(client) > after_page


def test_clicks_within_a_minute_cost_no_session_write(client, clerk, office):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(clerk)
        client.get(reverse("desk:console", args=[office.slug]))
        renewed = _expiry(client)
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("desk:console", args=[office.slug]))
        assert not any('"django_session"' in q["sql"] for q in captured.captured_queries)
        assert _expiry(client) == renewed
    with time_machine.travel(start + dt.timedelta(seconds=90), tick=False):
        client.get(reverse("desk:console", args=[office.slug]))
        assert _expiry(client) > renewed
