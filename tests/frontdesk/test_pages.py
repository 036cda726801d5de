"""The start page, staff sign-in, the admin for every configuration model, and page headers."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.conftest import PASSWORD
from visitors.followups.models import Workshop
from visitors.offices.models import (
    Office,
    ReasonForVisit,
    ReferralPartner,
    Service,
    StaffMembership,
)
from visitors.people.models import EqualOpportunityRecord

pytestmark = pytest.mark.django_db

CONFIG_MODELS = [
    Office,
    StaffMembership,
    ReasonForVisit,
    Service,
    ReferralPartner,
    Workshop,
]


def test_it_invites_an_anonymous_visitor_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 200
    assert reverse("login") in response.text
    assert "Your offices" not in response.text


def test_it_lists_a_staff_member_s_offices_and_roles(client, clerk, office, other_office):
    client.force_login(clerk)
    response = client.get("/")
    assert "Riverside Job Center" in response.text
    assert "Front desk" in response.text
    assert "Hillside Job Center" not in response.text


def test_it_signs_staff_in_and_out(client, clerk):
    response = client.post(reverse("login"), {"username": "clerk", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").context["user"] == clerk
    client.post(reverse("logout"))
    assert not client.get("/").context["user"].is_authenticated


def test_it_says_clearly_when_a_sign_in_fails_and_escapes_what_was_typed(client, clerk):
    response = client.post(
        reverse("login"), {"username": "<script>alert(1)</script>", "password": "nope"}
    )
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_it_sends_a_nonce_csp_that_the_htmx_script_carries(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "'unsafe-inline'" not in policy
    assert f'nonce="{nonce}"' in response.text
    assert "vendor/htmx/htmx.min.js" in response.text
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("model", CONFIG_MODELS, ids=lambda m: m.__name__)
def test_every_configuration_model_has_a_working_admin(client, superuser, model, office):
    """An office admin can list and add offices, roles, reasons, services, partners, workshops."""
    assert admin.site.is_registered(model)
    client.force_login(superuser)
    meta = model._meta
    changelist = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    add = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    assert (changelist.status_code, add.status_code) == (200, 200)


def test_the_admin_is_closed_to_anonymous_users_and_to_non_staff(client, clerk):
    url = reverse("admin:offices_office_changelist")
    assert client.get(url).status_code == 302
    client.force_login(clerk)
    assert client.get(url).status_code == 302


def test_an_office_is_created_through_the_admin_with_validation(client, superuser):
    client.force_login(superuser)
    url = reverse("admin:offices_office_add")
    form = {
        "name": "Eastside",
        "slug": "eastside",
        "time_zone": "Mars/Base",
        "address": "",
        "phone": "",
        "opening_hours": '{"mon": [["08:00", "17:00"]]}',
        "ticket_prefix": "E",
        "wait_target_minutes": "20",
        "retention_months": "36",
        "second_factor": "phone_last4",
        "kiosk_idle_seconds": "45",
        "kiosk_reset_seconds": "15",
        "queue_rule": "priority_first",
        "quiet_hours_start": "20:00",
        "quiet_hours_end": "08:00",
        "remote_grace_minutes": "10",
        "remote_daily_cap": "60",
        "remote_no_show_limit": "0",
        "priority_notice_en": "Veterans are served first.",
        "priority_notice_es": "Los veteranos tienen prioridad.",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "reasons-TOTAL_FORMS": "0",
        "reasons-INITIAL_FORMS": "0",
    }
    refused = client.post(url, form)
    assert refused.status_code == 200
    assert "is not a known time zone" in refused.text
    assert not Office.objects.filter(slug="eastside").exists()
    accepted = client.post(url, form | {"time_zone": "America/New_York"})
    assert accepted.status_code == 302, accepted.text[:2000]
    assert Office.objects.get(slug="eastside").zone.key == "America/New_York"


def test_the_admin_never_offers_equal_opportunity_records(superuser, client):
    """Equal-opportunity answers are shown only in aggregate, never record by record."""
    assert not admin.site.is_registered(EqualOpportunityRecord)
