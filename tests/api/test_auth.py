"""Tokens: who may reach what. Each row is one token situation × one endpoint kind.

The web's rules, through a token: the office must be one of the token's and one where its maker
still works; the dashboard needs a manager or an office admin; a read token only reads.
"""

import pytest
import time_machine
from django.utils import timezone

from tests.conftest import _member
from visitors.integrations.models import ApiToken
from visitors.offices.models import StaffMembership, StaffRole

pytestmark = pytest.mark.django_db

QUEUE = "/offices/riverside/queue"
CALL_NEXT = "/offices/riverside/queue/call-next"
DASHBOARD = "/offices/riverside/dashboard/day"


def _error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_it_refuses_a_request_without_a_token(api):
    """401 in the error shape, with a WWW-Authenticate challenge."""
    response = api("get", QUEUE)
    _error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer fd_nope_nope", "Bearer ", "Basic dXNlcjpwYXNz", "fd_x", "Bearer " + "x" * 500],
)
def test_it_refuses_a_token_it_does_not_know(client, header):
    _error(client.get(f"/api/v1{QUEUE}", HTTP_AUTHORIZATION=header), 401, "unauthorized")


def test_it_refuses_a_revoked_token(api, admin, office):
    token, raw = ApiToken.issue(name="Old", offices=[office], scope="write", created_by=admin)
    assert api("get", QUEUE, raw).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    _error(api("get", QUEUE, raw), 401, "unauthorized")


def test_a_token_of_a_deactivated_user_stops_working(api, admin, write_token):
    admin.is_active = False
    admin.save()
    _error(api("get", QUEUE, write_token), 401, "unauthorized")


def test_a_read_token_reads(api, read_token):
    assert api("get", QUEUE, read_token).status_code == 200


@pytest.mark.parametrize(
    "path",
    [CALL_NEXT, "/offices/riverside/check-ins", "/offices/riverside/visitors",
     "/offices/riverside/visitors/match", "/offices/riverside/visits/1/stages/greeting"],
)  # fmt: skip
def test_a_read_token_may_not_write(api, read_token, path):
    """403 insufficient_scope before anything is read or validated."""
    _error(api("post", path, read_token, {}), 403, "insufficient_scope")


def test_a_write_token_writes(api, write_token):
    assert api("post", CALL_NEXT, write_token, {}).status_code == 200


def test_a_token_for_another_office_gets_404(api, other_token, office):
    """As on the web: another office's URLs answer 404, whatever exists there."""
    _error(api("get", QUEUE, other_token), 404, "not_found")
    _error(api("get", "/offices/nowhere/queue", other_token), 404, "not_found")


def test_a_token_stops_at_an_office_where_its_maker_no_longer_works(api, admin, write_token):
    StaffMembership.objects.filter(user=admin).update(is_active=False)
    _error(api("get", QUEUE, write_token), 403, "membership_ended")
    assert api("get", "/token", write_token).json()["offices"] == []


def test_a_token_never_exceeds_its_maker_s_current_role(api, admin, write_token):
    """An admin demoted to front desk: their token still serves the queue, not the dashboard."""
    StaffMembership.objects.filter(user=admin).update(role=StaffRole.FRONT_DESK)
    assert api("get", QUEUE, write_token).status_code == 200
    _error(api("get", DASHBOARD, write_token), 403, "role_required")


def test_the_dashboard_is_for_managers_and_office_admins(api, write_token, office):
    assert api("get", DASHBOARD, write_token).status_code == 200
    manager = _member(office, "manager_bob", StaffRole.MANAGER)
    _, raw = ApiToken.issue(name="M", offices=[office], scope="read", created_by=manager)
    assert api("get", DASHBOARD, raw).status_code == 200
    counsellor = _member(office, "counsellor_kim", StaffRole.COUNSELLOR)
    _, raw = ApiToken.issue(name="C", offices=[office], scope="read", created_by=counsellor)
    _error(api("get", DASHBOARD, raw), 403, "role_required")


def test_it_stores_only_a_hash_and_records_when_a_token_was_used(api, write_token):
    token = ApiToken.objects.get()
    assert write_token not in {token.token_hash, token.prefix, token.name}
    assert token.token_hash == ApiToken.hash_token(write_token)
    assert write_token.startswith(token.prefix + "_")
    assert token.last_used_at is None
    api("get", QUEUE, write_token)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_token_describes_itself_and_its_offices(api, write_token):
    body = api("get", "/token", write_token).json()
    assert body["scope"] == "write"
    assert [(o["slug"], o["role"]) for o in body["offices"]] == [("riverside", "admin")]


def test_it_limits_the_rate_per_token(api, write_token, read_token, settings):
    """Over RATELIMIT_API: 429 in the error shape with Retry-After; other tokens unaffected."""
    from django.core.cache import cache

    cache.clear()
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_API = "3/m"
    for _ in range(3):
        assert api("get", QUEUE, write_token).status_code == 200
    response = api("get", QUEUE, write_token)
    _error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    assert api("get", QUEUE, read_token).status_code == 200
    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_twelve_requests_at_once_for_the_last_four_places_let_exactly_four_through(
    write_token, settings
):
    """The count is one atomic increment: requests at once cannot each take the last place (a
    list of times read and written back let several through)."""
    from django.core.cache import cache
    from django.test import Client

    from tests.api.conftest import Api
    from tests.concurrency import together

    cache.clear()
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_API = "5/m"
    # The clock held still: the window cannot turn between the requests.
    with time_machine.travel(timezone.now(), tick=False):
        # One first, alone: the token's "last used" is written then, not by twelve at once.
        assert Api(Client())("get", QUEUE, write_token).status_code == 200
        codes = together(12, lambda i: Api(Client())("get", QUEUE, write_token).status_code)
    assert sorted(codes) == [200] * 4 + [429] * 8
    cache.clear()


def test_issue_api_token_makes_a_working_token_for_an_office_admin_only(api, admin, clerk):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("issue_api_token", "office_admin", office=["riverside"], scope="read", stdout=out)
    assert api("get", QUEUE, out.getvalue().strip()).status_code == 200
    with pytest.raises(CommandError):
        call_command("issue_api_token", "clerk", office=["riverside"], stdout=StringIO())
