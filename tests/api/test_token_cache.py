"""The token and the office in the path are read from the cache on most requests, and forgotten
as soon as what they were read from changes: a revoked token, an office taken off a token, a
renamed office or a deactivated maker is refused at the very next request."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from visitors.integrations.models import ApiToken

pytestmark = pytest.mark.django_db

QUEUE = "/offices/riverside/queue"


def _tables_read(call) -> str:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.content
    return " ".join(q["sql"] for q in captured.captured_queries)


def test_a_second_request_reads_neither_the_token_nor_the_office(api, write_token):
    api("get", QUEUE, write_token)
    sql = _tables_read(lambda: api("get", QUEUE, write_token))
    assert "integrations_apitoken" not in sql
    assert '"offices_office"."slug" =' not in sql


def test_a_token_revoked_on_the_integrations_page_is_refused_at_the_next_request(
    api, client, admin, office, write_token
):
    assert api("get", QUEUE, write_token).status_code == 200  # now cached
    token = ApiToken.objects.get()
    client.force_login(admin)
    revoked = client.post(reverse("desk:token_revoke", args=[office.slug, token.pk]))
    assert revoked.status_code == 302
    assert api("get", QUEUE, write_token).status_code == 401


def test_a_deleted_token_is_refused_at_the_next_request(api, write_token):
    assert api("get", QUEUE, write_token).status_code == 200
    ApiToken.objects.get().delete()
    assert api("get", QUEUE, write_token).status_code == 401


def test_a_token_of_a_maker_deactivated_since_it_was_cached_is_refused(api, admin, write_token):
    assert api("get", QUEUE, write_token).status_code == 200
    admin.is_active = False
    admin.save()
    assert api("get", QUEUE, write_token).status_code == 401


def test_a_token_is_refused_at_once_at_an_office_taken_off_it(api, office, write_token):
    assert api("get", QUEUE, write_token).status_code == 200
    ApiToken.objects.get().offices.remove(office)
    assert api("get", QUEUE, write_token).status_code == 404


def test_an_office_taking_itself_off_its_tokens_is_refused_at_once(api, office, write_token):
    assert api("get", QUEUE, write_token).status_code == 200
    office.api_tokens.clear()
    assert api("get", QUEUE, write_token).status_code == 404


def test_an_office_added_to_a_token_is_reached_at_once(api, other_office, write_token):
    hillside = "/offices/hillside/queue"
    assert api("get", hillside, write_token).status_code == 404
    other_office.api_tokens.add(ApiToken.objects.get())
    # The token reaches it; its maker does not work there (403), which is asked afresh.
    assert api("get", hillside, write_token).status_code == 403


def test_a_renamed_office_is_not_found_under_its_old_slug(api, office, write_token):
    assert api("get", QUEUE, write_token).status_code == 200
    office.slug = "riverbend"
    office.save()
    assert api("get", QUEUE, write_token).status_code == 404
    assert api("get", "/offices/riverbend/queue", write_token).status_code == 200


def test_a_changed_office_is_read_again(office, write_token):
    assert ApiToken.find_active(write_token).office("riverside").time_zone == "America/Chicago"
    office.time_zone = "Pacific/Kiritimati"
    office.save()
    assert ApiToken.find_active(write_token).office("riverside").time_zone == "Pacific/Kiritimati"
