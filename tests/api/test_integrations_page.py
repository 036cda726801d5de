"""/desk/<office>/integrations/: office admins make tokens and webhooks (secrets shown once),
revoke and remove them, and read each webhook's delivery log."""

import pytest

from tests.conftest import _member
from visitors.integrations.models import ApiToken, WebhookDelivery, WebhookSubscription
from visitors.offices.models import StaffRole

pytestmark = pytest.mark.django_db

PAGE = "/desk/riverside/integrations/"


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def test_an_admin_makes_a_token_and_sees_it_once(signed_in, office, other_office, api):
    response = signed_in.post(PAGE, {"make": "token", "name": "Case manager", "scope": "write",
                                     "offices": [office.pk]})  # fmt: skip
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    token = ApiToken.objects.get()
    raw = response.context["shown"]["secret"]
    assert raw.encode() in response.content
    assert (token.scope, list(token.offices.all())) == ("write", [office])
    assert raw not in signed_in.get(PAGE).content.decode()  # never again
    assert api("get", "/offices/riverside/queue", raw).status_code == 200


def test_a_token_can_cover_only_offices_where_the_admin_is_admin(signed_in, other_office):
    response = signed_in.post(PAGE, {"make": "token", "name": "x", "scope": "read",
                                     "offices": [other_office.pk]})  # fmt: skip
    assert response.status_code == 422
    assert not ApiToken.objects.exists()


def test_revoking_a_token_stops_it_at_once(signed_in, write_token, api):
    token = ApiToken.objects.get()
    response = signed_in.post(f"{PAGE}tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api("get", "/offices/riverside/queue", write_token).status_code == 401


def test_an_admin_adds_a_webhook_and_sees_its_secret_once(signed_in, office):
    response = signed_in.post(PAGE, {"make": "webhook", "url": "https://crm.example.org/in",
                                     "events": ["visit.called", "visit.checked_in"]})  # fmt: skip
    assert response.status_code == 200
    hook = WebhookSubscription.objects.get()
    assert hook.events == ["visit.checked_in", "visit.called"]
    assert hook.secret.encode() in response.content
    assert hook.secret not in signed_in.get(PAGE).content.decode()


@pytest.mark.parametrize("url", ["ftp://example.org/x", "javascript:alert(1)", "file:///etc/passwd",
                                 "not a url"])  # fmt: skip
def test_a_webhook_must_be_http_or_https(signed_in, url):
    response = signed_in.post(PAGE, {"make": "webhook", "url": url, "events": ["visit.called"]})
    assert response.status_code == 422
    assert not WebhookSubscription.objects.exists()


def test_a_webhook_needs_an_event(signed_in):
    response = signed_in.post(PAGE, {"make": "webhook", "url": "https://x.example/"})
    assert response.status_code == 422


def test_the_delivery_log_and_removing_a_webhook(signed_in, office):
    hook = WebhookSubscription.objects.create(office=office, url="https://x.example/",
                                              events=["visit.called"])  # fmt: skip
    WebhookDelivery.objects.create(subscription=hook, event="visit.called", event_id="evt_9",
                                   payload={}, state="failed", attempts=6, response_status=500,
                                   error="HTTP 500")  # fmt: skip
    page = signed_in.get(f"{PAGE}webhooks/{hook.pk}/")
    assert page.status_code == 200
    assert b"evt_9" in page.content and b"HTTP 500" in page.content
    assert signed_in.post(f"{PAGE}webhooks/{hook.pk}/delete/").status_code == 302
    assert not WebhookSubscription.objects.exists()


def test_it_never_shows_an_answer_s_body_kept_from_before(signed_in, office):
    """A row written when bodies were still kept shows its status, not the receiver's words."""
    hook = WebhookSubscription.objects.create(
        office=office, url="https://x.example/", events=["visit.called"]
    )
    WebhookDelivery.objects.create(
        subscription=hook,
        event="visit.called",
        event_id="evt_8",
        payload={},
        state="failed",
        attempts=1,
        response_status=404,
        response_excerpt="root:x:0:0:root",
        error="HTTP 404",
    )
    page = signed_in.get(f"{PAGE}webhooks/{hook.pk}/").content.decode()
    assert "HTTP 404" in page
    assert "root:x:0:0" not in page


def test_another_office_s_admin_reaches_none_of_it(client, office, other_office):
    hook = WebhookSubscription.objects.create(office=office, url="https://x.example/",
                                              events=["visit.called"])  # fmt: skip
    client.force_login(_member(other_office, "hill_admin", StaffRole.ADMIN))
    assert client.get(PAGE).status_code == 404
    assert client.get(f"{PAGE}webhooks/{hook.pk}/").status_code == 404
    assert client.post(f"{PAGE}webhooks/{hook.pk}/delete/").status_code == 404


def test_the_page_answers_only_get_and_post(signed_in):
    assert signed_in.put(PAGE).status_code == 405


def test_the_page_shows_how_to_send_a_token(signed_in):
    page = signed_in.get(PAGE).content.decode()
    assert "<code>Authorization: Bearer &lt;token&gt;</code>" in page
