"""A nonce-based Content-Security-Policy on every page, and oversize bodies refused."""

import re

import pytest
from django.urls import reverse

from tests.factories import VisitFactory
from visitors.offices.models import KioskLink
from visitors.views.display import DISPLAY_COOKIE
from visitors.views.kiosk import KIOSK_COOKIE

pytestmark = pytest.mark.django_db


def _pages(office, visit):
    return {
        "home": (None, reverse("home")),
        "login": (None, reverse("login")),
        "status": (None, reverse("status:page", args=[visit.status_token])),
        "kiosk": ("kiosk", reverse("kiosk:home", args=[office.slug])),
        "display": ("display", reverse("display:board", args=[office.slug])),
        "console": ("manager", reverse("desk:console", args=[office.slug])),
        "workspace": ("manager", reverse("desk:visit", args=[office.slug, visit.pk])),
        "visitor": ("manager", reverse("desk:visitor", args=[office.slug, visit.visitor_id])),
        "follow-ups": ("manager", reverse("desk:follow_ups", args=[office.slug])),
        "reminders": ("manager", reverse("desk:reminders", args=[office.slug])),
        "dashboard": ("manager", reverse("dashboard:day")),
        "range": ("manager", reverse("dashboard:range")),
        "admin": ("superuser", reverse("admin:index")),
    }


def test_every_page_has_a_csp_with_a_nonce_that_its_scripts_carry(
    client, office, manager, superuser
):
    visit = VisitFactory(office=office)
    _, kiosk = KioskLink.issue(office=office, label="Lobby")
    _, display = KioskLink.issue(office=office, label="Screen", capability="display")
    for name, (who, url) in _pages(office, visit).items():
        client.logout()
        client.cookies.clear()
        if who == "kiosk":
            client.cookies[KIOSK_COOKIE] = kiosk
        elif who == "display":
            client.cookies[DISPLAY_COOKIE] = display
        elif who:
            client.force_login({"manager": manager, "superuser": superuser}[who])
        response = client.get(url)
        assert response.status_code == 200, name
        policy = response["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", policy)
        assert nonce, name
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, name
        scripts = re.findall(r"<script\b[^>]*>", response.text)
        assert all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts), (name, scripts)


def test_an_oversize_body_is_refused_before_any_view_reads_it(client, office, clerk):
    client.force_login(clerk)
    huge = "x" * (300 * 1024)
    response = client.post(reverse("desk:broadcast", args=[office.slug]), {"message": huge})
    assert response.status_code == 400
