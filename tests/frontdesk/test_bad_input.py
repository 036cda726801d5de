"""Input no field can take is refused in one place, before any view: NUL bytes, impossible
dates. Each used to be a 500 (PostgreSQL refuses NUL in text; the ends of the calendar
overflow)."""

import pytest
from django.urls import reverse

from tests.factories import VisitFactory
from visitors.integrations.models import ApiToken
from visitors.visits.models import Visit


@pytest.mark.parametrize(
    "path", ["/status/%00/", "/desk/riverside/visitors/?q=a%00b", "/kiosk/river%00side/"]
)
def test_it_refuses_a_nul_in_the_address_with_a_400(client, office, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "NUL" in response.text


def test_it_refuses_a_desk_name_with_a_nul_with_a_message_and_calls_nobody(client, office, clerk):
    """The desk name goes through a form like every input: its NUL is refused in the page."""
    visit = VisitFactory(office=office)
    client.force_login(clerk)
    response = client.post(
        reverse("desk:call_next", args=[office.slug]), {"desk": "D\x00"}, follow=True
    )
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.text
    assert Visit.objects.get(pk=visit.pk).status == "waiting"


def test_the_api_answers_a_nul_in_json_with_its_error_shape(client, office, clerk):
    token = ApiToken.issue(name="CRM", offices=[office], scope="write", created_by=clerk)[1]
    response = client.post(
        f"/api/v1/offices/{office.slug}/check-ins",
        '{"first_name": "Ro\\u0000sa", "last_name": "Parks", "reason_other": "x"}',
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert not Visit.objects.exists()


def test_the_api_answers_a_body_too_large_with_its_413_not_an_html_400(client, office, clerk):
    """The NUL check reads the body first; a body over DATA_UPLOAD_MAX_MEMORY_SIZE is left for
    the API to answer in its own shape (docs/api.md: 413 ``too_large``)."""
    token = ApiToken.issue(name="CRM", offices=[office], scope="write", created_by=clerk)[1]
    huge = '{"first_name": "Rosa", "last_name": "Parks", "reason_other": "' + "x" * 3_000_000
    response = client.post(
        f"/api/v1/offices/{office.slug}/check-ins", huge + '"}',
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Visit.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        {"date": "9999-12-31"},
        {"date": "0001-01-01"},
        {"period": "custom", "start": "0001-01-01", "end": "9999-12-31"},
    ],
)
def test_the_dashboard_refuses_dates_off_the_calendar_with_a_message(client, manager, query):
    url = reverse("dashboard:range" if "period" in query else "dashboard:day")
    client.force_login(manager)
    response = client.get(url, query)
    assert response.status_code == 200
    assert "must be between 2000-01-01 and 2100-12-31" in response.text


def test_the_export_refuses_dates_off_the_calendar(client, manager):
    """The CSV export says why it made no file: a 400 with the message."""
    client.force_login(manager)
    response = client.get(reverse("dashboard:export"), {"start": "0001-01-01", "end": "9999-12-31"})
    assert response.status_code == 400
    assert "must be between 2000-01-01 and 2100-12-31" in response.text
